/*
 * Serves the agent's counters over HTTP. Each scrape reads the stats the
 * inputs, pipeline, queue, registry and output already keep, plus the
 * process figures of /proc/self, so nothing is counted twice. Labels take
 * only input ids from the configuration and fixed output, reason and
 * status names, never file paths, so the number of series stays bounded.
 */
#include "agent/metrics/agent_http.h"
#include "agent/metrics/log_metrics.h"
#include "agent/metrics/prom.h"
#include "agent/net/http_server.h"
#include "agent/reload.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HTTP_MAX_CONNECTIONS 64
#define HTTP_IDLE_TIMEOUT_MS (10 * 1000)

struct lf_agent_http {
    uv_loop_t *loop;
    const struct lf_config *config;
    struct lf_agent_http_sources sources;
    const struct lf_reload *reload; /* NULL until reading starts */
    uint64_t ready_timeout_ms;
    struct lf_http_server *server;
};

/* Process figures from /proc/self; a field that cannot be read is 0. */
struct process_stats {
    double cpu_s;
    uint64_t resident_bytes;
    uint64_t open_fds;
};

struct snapshot {
    struct lf_pipeline_stats pipeline;
    struct lf_input_stats input;
    size_t output_count;
    const char *output_names[LF_OUTPUT_MAX];
    struct lf_output_counts outputs[LF_OUTPUT_MAX];
    bool has_es;
    struct lf_es_stats output; /* Elasticsearch details, zero without it */
    bool has_cw;
    struct lf_cw_stats cw; /* CloudWatch Logs details */
    struct lf_queue_stats queue;
    uint64_t oldest_unacked_ms;
    uint64_t registry_writes;
    struct lf_reload_stats reload;
    struct process_stats process;
};

static const char *const status_class_names[LF_ES_STATUS_CLASS_COUNT] = {
    "error", "1xx", "2xx", "3xx", "4xx", "5xx",
};

/* ---- /proc/self ---- */

/* Reads a small /proc file into `text` as a string; returns false on error. */
static bool read_proc_file(const char *path, char *text, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return false;
    }
    n = read(fd, text, size - 1);
    close(fd);
    if (n < 0) {
        return false;
    }
    text[n] = '\0';
    return true;
}

static void read_cpu(struct process_stats *out)
{
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    char text[1024];
    const char *fields;

    if (!read_proc_file("/proc/self/stat", text, sizeof(text))) {
        return;
    }
    /* The command name may hold spaces and ')'; fields follow the last. */
    fields = strrchr(text, ')');
    if (fields == NULL ||
        sscanf(fields + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
               "%llu %llu", &utime, &stime) != 2) {
        return;
    }
    out->cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void read_memory(struct process_stats *out)
{
    unsigned long long size = 0;
    unsigned long long resident = 0;
    char text[256];

    if (read_proc_file("/proc/self/statm", text, sizeof(text)) &&
        sscanf(text, "%llu %llu", &size, &resident) == 2) {
        out->resident_bytes = resident * (uint64_t)sysconf(_SC_PAGESIZE);
    }
}

static void read_open_fds(struct process_stats *out)
{
    DIR *dir = opendir("/proc/self/fd");
    const struct dirent *entry;
    uint64_t count = 0;

    if (dir == NULL) {
        return;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') {
            count++;
        }
    }
    closedir(dir);
    out->open_fds = count > 0 ? count - 1 : 0; /* minus the directory's */
}

static void take_snapshot(const struct lf_agent_http *http,
                          struct snapshot *out)
{
    const struct lf_agent_http_sources *src = &http->sources;

    memset(out, 0, sizeof(*out));
    lf_pipeline_stats(src->pipeline, &out->pipeline);
    lf_inputs_stats(src->inputs, &out->input);
    out->output_count = lf_output_count(src->output);
    for (size_t i = 0; i < out->output_count; i++) {
        out->output_names[i] = lf_output_name_at(src->output, i);
        lf_output_counts_at(src->output, i, &out->outputs[i]);
        if (strcmp(out->output_names[i], "elasticsearch") == 0) {
            out->has_es = true;
        }
    }
    lf_output_es_stats(src->output, &out->output);
    out->has_cw = lf_output_cw_stats(src->output, &out->cw);
    lf_queue_stats(src->queue, &out->queue);
    out->oldest_unacked_ms =
        lf_pipeline_oldest_unresolved_age_ms(src->pipeline);
    out->registry_writes = lf_registry_saves(src->registry);
    lf_reload_stats(http->reload, src->start_time_s, &out->reload);
    read_cpu(&out->process);
    read_memory(&out->process);
    read_open_fds(&out->process);
}

/* ---- /metrics ---- */

static void write_counter(struct lf_buf *out, const char *name,
                          const char *help, uint64_t value)
{
    lf_prom_family(out, name, "counter", help);
    lf_prom_sample_u64(out, name, NULL, 0, value);
}

static void write_gauge(struct lf_buf *out, const char *name,
                        const char *help, uint64_t value)
{
    lf_prom_family(out, name, "gauge", help);
    lf_prom_sample_u64(out, name, NULL, 0, value);
}

/* Writes the lines and bytes read by each input, labelled by input id. */
static void write_per_input(struct lf_buf *out,
                            const struct lf_agent_http *http)
{
    static const char *const lines = "logferry_input_lines_read_total";
    static const char *const bytes = "logferry_input_bytes_read_total";
    const struct lf_inputs *inputs = http->sources.inputs;
    struct lf_input_counts counts;
    struct lf_prom_label label = {"input", NULL};
    size_t i;

    lf_prom_family(out, lines, "counter",
                   "Lines read and sent on as events; a joined multiline "
                   "group counts once.");
    for (i = 0; lf_inputs_input_counts(inputs, i, &label.value, &counts);
         i++) {
        lf_prom_sample_u64(out, lines, &label, 1, counts.lines_read);
    }
    lf_prom_family(out, bytes, "counter",
                   "Bytes read from files, including filtered lines.");
    for (i = 0; lf_inputs_input_counts(inputs, i, &label.value, &counts);
         i++) {
        lf_prom_sample_u64(out, bytes, &label, 1, counts.bytes_read);
    }
}

/*
 * A line fails when no parser of its input's chain matched it, so the
 * failures are counted per input.
 */
static void write_parse_failures(struct lf_buf *out,
                                 const struct lf_agent_http *http)
{
    static const char *const name = "logferry_parse_failures_total";
    const struct lf_inputs *inputs = http->sources.inputs;
    struct lf_input_counts counts;
    struct lf_prom_label label = {"input", NULL};

    lf_prom_family(out, name, "counter",
                   "Lines no parser of their input could parse.");
    for (size_t i = 0; lf_inputs_input_counts(inputs, i, &label.value, &counts);
         i++) {
        lf_prom_sample_u64(out, name, &label, 1,
                           lf_pipeline_input_parse_failures(
                               http->sources.pipeline, label.value));
    }
}

static void write_input_metrics(struct lf_buf *out,
                                const struct lf_agent_http *http,
                                const struct snapshot *s)
{
    write_per_input(out, http);
    write_counter(out, "logferry_input_lines_truncated_total",
                  "Lines cut at max_line_bytes.", s->input.lines_truncated);
    write_counter(out, "logferry_input_files_opened_total",
                  "Files opened for reading.", s->input.files_opened);
    write_counter(out, "logferry_input_files_truncated_total",
                  "Files truncated in place while being read.",
                  s->input.files_truncated);
    write_counter(out, "logferry_input_truncated_bytes_lost_total",
                  "Bytes written before a truncation that no rotated copy "
                  "held.", s->input.truncated_bytes_lost);
    write_gauge(out, "logferry_input_harvesters_open",
                "Files open for reading.", s->input.harvesters_open);
    write_parse_failures(out, http);
    write_counter(out, "logferry_events_published_total",
                  "Events handed to the queue.",
                  s->pipeline.events_published);
}

/*
 * An event is acknowledged once it has a final result, so the offset of
 * its line may be committed. With a disk spool that result is "spooled".
 */
static void write_acknowledged(struct lf_buf *out, const struct snapshot *s)
{
    static const char *const name = "logferry_events_acknowledged_total";
    struct lf_prom_label label = {"result", NULL};

    lf_prom_family(out, name, "counter",
                   "Events with a final result, whose offsets may be "
                   "committed, by result.");
    label.value = "indexed";
    lf_prom_sample_u64(out, name, &label, 1, s->pipeline.events_indexed);
    label.value = "duplicate";
    lf_prom_sample_u64(out, name, &label, 1, s->pipeline.events_duplicate);
    label.value = "rejected";
    lf_prom_sample_u64(out, name, &label, 1, s->pipeline.events_rejected);
    label.value = "spooled";
    lf_prom_sample_u64(out, name, &label, 1, s->pipeline.events_spooled);
}

static void write_dropped(struct lf_buf *out, const struct snapshot *s)
{
    static const char *const name = "logferry_events_dropped_total";
    struct lf_prom_label label = {"reason", NULL};

    lf_prom_family(out, name, "counter",
                   "Lines and events dropped on purpose or for lack of "
                   "room, by reason.");
    label.value = "line_filter";
    lf_prom_sample_u64(out, name, &label, 1, s->input.lines_filtered);
    label.value = "processor";
    lf_prom_sample_u64(out, name, &label, 1,
                       s->pipeline.events_dropped_processor);
    label.value = "dead_letter_unavailable";
    lf_prom_sample_u64(out, name, &label, 1, s->output.dead_letter_dropped);
    label.value = "spool_full";
    lf_prom_sample_u64(out, name, &label, 1, s->queue.spool_dropped);
    label.value = "spool_corrupt";
    lf_prom_sample_u64(out, name, &label, 1,
                       s->queue.spool_skipped + s->queue.spool_corrupt);
}

/* Writes one family with a sample per output, labelled by output. */
static void write_per_output(struct lf_buf *out, const struct snapshot *s,
                             const char *name, const char *type,
                             const char *help, size_t field_offset)
{
    struct lf_prom_label label = {"output", NULL};

    lf_prom_family(out, name, type, help);
    for (size_t i = 0; i < s->output_count; i++) {
        const char *counts = (const char *)&s->outputs[i];
        uint64_t value;

        memcpy(&value, counts + field_offset, sizeof(value));
        label.value = s->output_names[i];
        lf_prom_sample_u64(out, name, &label, 1, value);
    }
}

static void write_rejected(struct lf_buf *out, const struct snapshot *s)
{
    static const char *const name = "logferry_output_events_rejected_total";
    struct lf_prom_label labels[2] = {{"output", NULL}, {"reason", NULL}};
    size_t i;

    lf_prom_family(out, name, "counter",
                   "Events rejected for good, by output and reason.");
    if (s->has_es) {
        labels[0].value = "elasticsearch";
        for (i = 0; i < LF_ES_REJECT_REASON_COUNT; i++) {
            labels[1].value = lf_es_reject_reason_name(i);
            lf_prom_sample_u64(out, name, labels, 2,
                               s->output.rejected_by_reason[i]);
        }
    }
    if (s->has_cw) {
        labels[0].value = "cloudwatch";
        for (i = 0; i < LF_CW_REJECT_REASON_COUNT; i++) {
            labels[1].value = lf_cw_reject_reason_name(i);
            lf_prom_sample_u64(out, name, labels, 2,
                               s->cw.rejected_by_reason[i]);
        }
    }
    if (s->output_count < 2) {
        return;
    }
    labels[1].value = "publish_failed";
    for (i = 0; i < s->output_count; i++) {
        labels[0].value = s->output_names[i];
        lf_prom_sample_u64(out, name, labels, 2, s->outputs[i].publish_failed);
    }
}

/* Writes the series only the Elasticsearch output keeps. */
static void write_es_metrics(struct lf_buf *out, const struct snapshot *s)
{
    static const char *const requests = "logferry_output_bulk_requests_total";
    static const char *const latency =
        "logferry_output_bulk_request_duration_seconds";
    struct lf_prom_label labels[2] = {{"output", "elasticsearch"},
                                      {"status", NULL}};

    lf_prom_family(out, "logferry_output_events_retried_total", "counter",
                   "Item-level retries after 429 or 5xx items.");
    lf_prom_sample_u64(out, "logferry_output_events_retried_total", labels, 1,
                       s->output.events_retried);
    lf_prom_family(out, "logferry_output_events_dead_lettered_total", "counter",
                   "Rejected events written to the dead-letter queue.");
    lf_prom_sample_u64(out, "logferry_output_events_dead_lettered_total",
                       labels, 1, s->output.dead_lettered);
    lf_prom_family(out, requests, "counter",
                   "Bulk requests by reply status class; error means no "
                   "reply (connection failure or timeout).");
    for (size_t i = 0; i < LF_ES_STATUS_CLASS_COUNT; i++) {
        labels[1].value = status_class_names[i];
        lf_prom_sample_u64(out, requests, labels, 2,
                           s->output.responses_by_class[i]);
    }
    lf_prom_family(out, latency, "histogram",
                   "Transfer time of bulk requests that got a reply.");
    lf_prom_histogram(out, latency, labels, 1, lf_es_latency_bounds_s,
                      s->output.latency_counts, LF_ES_LATENCY_BOUND_COUNT,
                      s->output.latency_sum_s);
}

/* Writes the series only the CloudWatch Logs output keeps. */
static void write_cw_metrics(struct lf_buf *out, const struct snapshot *s)
{
    static const struct lf_prom_label label = {"output", "cloudwatch"};

    lf_prom_family(out, "logferry_output_requests_retried_total", "counter",
                   "Requests sent again after a backoff.");
    lf_prom_sample_u64(out, "logferry_output_requests_retried_total", &label, 1,
                       s->cw.retries);
    lf_prom_family(out, "logferry_output_requests_throttled_total", "counter",
                   "Requests answered with throttling or 429.");
    lf_prom_sample_u64(out, "logferry_output_requests_throttled_total", &label,
                       1, s->cw.throttled);
    lf_prom_family(out, "logferry_output_requests_denied_total", "counter",
                   "Requests refused for permission or signature, or still "
                   "refused as expired after fetching credentials again; "
                   "their batches are sent again after a backoff.");
    lf_prom_sample_u64(out, "logferry_output_requests_denied_total", &label, 1,
                       s->cw.requests_denied);
}

static void write_output_metrics(struct lf_buf *out, const struct snapshot *s)
{
    write_per_output(out, s, "logferry_output_events_indexed_total", "counter",
                     "Events the output stored.",
                     offsetof(struct lf_output_counts, events_delivered));
    write_per_output(out, s, "logferry_output_events_duplicate_total",
                     "counter",
                     "Events the output already held (409 on create, or "
                     "DataAlreadyAcceptedException).",
                     offsetof(struct lf_output_counts, events_duplicate));
    write_rejected(out, s);
    write_per_output(out, s, "logferry_output_requests_total", "counter",
                     "Requests sent, retries included.",
                     offsetof(struct lf_output_counts, requests_sent));
    write_per_output(out, s, "logferry_output_request_failures_total",
                     "counter", "Requests that got no reply or an error reply.",
                     offsetof(struct lf_output_counts, requests_failed));
    write_per_output(out, s, "logferry_output_events_pending", "gauge",
                     "Events accepted by the output without a result yet.",
                     offsetof(struct lf_output_counts, events_pending));
    if (s->has_es) {
        write_es_metrics(out, s);
    }
    if (s->has_cw) {
        write_cw_metrics(out, s);
    }
    /*
     * NOTE: an event counts as acknowledged once its spool record is
     * durable, so with a disk spool this shows the lag before the spool,
     * not before the output.
     */
    lf_prom_family(out, "logferry_output_oldest_unacked_event_age_seconds",
                   "gauge",
                   "Time since the oldest event still waiting for its "
                   "result was published; 0 when none waits.");
    lf_prom_sample_double(out,
                          "logferry_output_oldest_unacked_event_age_seconds",
                          NULL, 0, (double)s->oldest_unacked_ms / 1000.0);
}

static void write_queue_metrics(struct lf_buf *out, const struct snapshot *s)
{
    write_gauge(out, "logferry_queue_memory_bytes",
                "Encoded events in the memory queue, in bytes.",
                s->queue.mem_bytes);
    write_gauge(out, "logferry_queue_memory_events",
                "Events in the memory queue.", s->queue.mem_events);
    write_gauge(out, "logferry_queue_spool_bytes",
                "Bytes of the spool not yet acknowledged.",
                s->queue.spool_bytes);
    write_gauge(out, "logferry_queue_spool_events",
                "Spool records not yet acknowledged.", s->queue.spool_records);
    write_counter(out, "logferry_registry_writes_total",
                  "Successful saves of the registry file.",
                  s->registry_writes);
}

/*
 * The two gauges mirror prometheus_config_last_reload_successful and
 * prometheus_config_last_reload_success_timestamp_seconds of the
 * Prometheus server, so alerts written for one fit the other.
 */
static void write_reload_metrics(struct lf_buf *out, const struct snapshot *s)
{
    static const char *const reloads = "logferry_config_reloads_total";
    static const char *const successful =
        "logferry_config_last_reload_successful";
    static const char *const last =
        "logferry_config_last_reload_success_timestamp_seconds";
    struct lf_prom_label label = {"result", NULL};

    lf_prom_family(out, reloads, "counter",
                   "Configuration reloads by result: ok when the file "
                   "validated, rejected when it did not.");
    label.value = "ok";
    lf_prom_sample_u64(out, reloads, &label, 1, s->reload.accepted);
    label.value = "rejected";
    lf_prom_sample_u64(out, reloads, &label, 1, s->reload.rejected);
    write_gauge(out, successful,
                "1 unless the last reload was rejected, else 0.",
                s->reload.last_rejected ? 0 : 1);
    lf_prom_family(out, last, "gauge",
                   "Unix time of the last accepted reload, or of the start, "
                   "in seconds.");
    lf_prom_sample_double(out, last, NULL, 0, s->reload.last_success_time_s);
}

static void write_process_metrics(struct lf_buf *out,
                                  const struct lf_agent_http *http,
                                  const struct snapshot *s)
{
    lf_prom_family(out, "process_cpu_seconds_total", "counter",
                   "User and system CPU time of the process in seconds.");
    lf_prom_sample_double(out, "process_cpu_seconds_total", NULL, 0,
                          s->process.cpu_s);
    write_gauge(out, "process_resident_memory_bytes",
                "Resident memory of the process in bytes.",
                s->process.resident_bytes);
    write_gauge(out, "process_open_fds", "Open file descriptors.",
                s->process.open_fds);
    lf_prom_family(out, "process_start_time_seconds", "gauge",
                   "Start time of the agent since the Unix epoch in "
                   "seconds.");
    lf_prom_sample_double(out, "process_start_time_seconds", NULL, 0,
                          http->sources.start_time_s);
}

static void write_metrics(const struct lf_agent_http *http, struct lf_buf *out)
{
    struct snapshot s;

    take_snapshot(http, &s);
    write_input_metrics(out, http, &s);
    write_acknowledged(out, &s);
    write_dropped(out, &s);
    write_output_metrics(out, &s);
    write_queue_metrics(out, &s);
    write_reload_metrics(out, &s);
    write_process_metrics(out, http, &s);
    lf_log_metrics_write(http->config->metrics, out);
}

/* ---- /stats ---- */

static void append_u64_field(struct lf_buf *out, const char *key,
                             uint64_t value, bool last)
{
    lf_buf_appendf(out, "\"%s\":%" PRIu64 "%s", key, value, last ? "" : ",");
}

/*
 * Writes "id":{"lines_read":N,"bytes_read":N,"parse_failures":N} for each
 * input.
 */
static void write_per_input_json(struct lf_buf *out,
                                 const struct lf_agent_http *http)
{
    const struct lf_inputs *inputs = http->sources.inputs;
    struct lf_input_counts counts;
    const char *id;
    size_t i;

    for (i = 0; lf_inputs_input_counts(inputs, i, &id, &counts); i++) {
        if (i > 0) {
            lf_buf_append_char(out, ',');
        }
        lf_json_append_string(out, id, strlen(id));
        lf_buf_append_str(out, ":{");
        append_u64_field(out, "lines_read", counts.lines_read, false);
        append_u64_field(out, "bytes_read", counts.bytes_read, false);
        append_u64_field(out, "parse_failures",
                         lf_pipeline_input_parse_failures(
                             http->sources.pipeline, id),
                         true);
        lf_buf_append_char(out, '}');
    }
}

/* Writes the counters both kinds of output keep. */
static void append_output_counts(struct lf_buf *out,
                                 const struct lf_output_counts *c)
{
    append_u64_field(out, "events_pending", c->events_pending, false);
    append_u64_field(out, "requests", c->requests_sent, false);
    append_u64_field(out, "request_failures", c->requests_failed, false);
    append_u64_field(out, "publish_failed", c->publish_failed, false);
}

static void write_es_stats_json(struct lf_buf *out, const struct snapshot *s,
                                const struct lf_output_counts *c)
{
    size_t i;

    lf_buf_append_str(out, "\"elasticsearch\":{");
    append_u64_field(out, "events_indexed", s->output.events_indexed, false);
    append_u64_field(out, "events_duplicate", s->output.events_duplicate,
                     false);
    append_u64_field(out, "events_retried", s->output.events_retried, false);
    append_u64_field(out, "events_dead_lettered", s->output.dead_lettered,
                     false);
    append_output_counts(out, c);
    lf_buf_append_str(out, "\"events_rejected\":{");
    for (i = 0; i < LF_ES_REJECT_REASON_COUNT; i++) {
        append_u64_field(out, lf_es_reject_reason_name(i),
                         s->output.rejected_by_reason[i],
                         i + 1 == LF_ES_REJECT_REASON_COUNT);
    }
    lf_buf_append_str(out, "},\"bulk_requests\":{");
    for (i = 0; i < LF_ES_STATUS_CLASS_COUNT; i++) {
        append_u64_field(out, status_class_names[i],
                         s->output.responses_by_class[i],
                         i + 1 == LF_ES_STATUS_CLASS_COUNT);
    }
    lf_buf_appendf(out, "},\"bulk_request_seconds_sum\":%.6f}",
                   s->output.latency_sum_s);
}

static void write_cw_stats_json(struct lf_buf *out, const struct snapshot *s,
                                const struct lf_output_counts *c)
{
    lf_buf_append_str(out, "\"cloudwatch\":{");
    append_u64_field(out, "events_delivered", s->cw.events_delivered, false);
    append_u64_field(out, "events_duplicate", s->cw.events_duplicate, false);
    append_u64_field(out, "requests_retried", s->cw.retries, false);
    append_u64_field(out, "requests_throttled", s->cw.throttled, false);
    append_output_counts(out, c);
    lf_buf_append_str(out, "\"events_rejected\":{");
    for (size_t i = 0; i < LF_CW_REJECT_REASON_COUNT; i++) {
        append_u64_field(out, lf_cw_reject_reason_name(i),
                         s->cw.rejected_by_reason[i],
                         i + 1 == LF_CW_REJECT_REASON_COUNT);
    }
    lf_buf_append_str(out, "}}");
}

static void write_stats(const struct lf_agent_http *http, struct lf_buf *out)
{
    struct snapshot s;
    size_t i;

    take_snapshot(http, &s);
    lf_buf_append_str(out, "{\"inputs\":{");
    write_per_input_json(out, http);
    lf_buf_append_str(out, "},\"input\":{");
    append_u64_field(out, "lines_read", s.input.lines_read, false);
    append_u64_field(out, "bytes_read", s.input.bytes_read, false);
    append_u64_field(out, "lines_truncated", s.input.lines_truncated, false);
    append_u64_field(out, "files_opened", s.input.files_opened, false);
    append_u64_field(out, "files_truncated", s.input.files_truncated, false);
    append_u64_field(out, "truncated_bytes_lost", s.input.truncated_bytes_lost,
                     false);
    append_u64_field(out, "harvesters_open", s.input.harvesters_open, false);
    append_u64_field(out, "parse_failures", s.pipeline.parse_failures, false);
    append_u64_field(out, "events_published", s.pipeline.events_published,
                     true);
    lf_buf_append_str(out, "},\"acknowledged\":{");
    append_u64_field(out, "indexed", s.pipeline.events_indexed, false);
    append_u64_field(out, "duplicate", s.pipeline.events_duplicate, false);
    append_u64_field(out, "rejected", s.pipeline.events_rejected, false);
    append_u64_field(out, "spooled", s.pipeline.events_spooled, true);
    lf_buf_append_str(out, "},\"dropped\":{");
    append_u64_field(out, "line_filter", s.input.lines_filtered, false);
    append_u64_field(out, "processor", s.pipeline.events_dropped_processor,
                     false);
    append_u64_field(out, "dead_letter_unavailable",
                     s.output.dead_letter_dropped, false);
    append_u64_field(out, "spool_full", s.queue.spool_dropped, false);
    append_u64_field(out, "spool_corrupt",
                     s.queue.spool_skipped + s.queue.spool_corrupt, true);
    lf_buf_append_str(out, "},\"output\":{");
    for (i = 0; i < s.output_count; i++) {
        if (i > 0) {
            lf_buf_append_char(out, ',');
        }
        if (strcmp(s.output_names[i], "elasticsearch") == 0) {
            write_es_stats_json(out, &s, &s.outputs[i]);
        } else {
            write_cw_stats_json(out, &s, &s.outputs[i]);
        }
    }
    lf_buf_append_str(out, "},\"queue\":{");
    append_u64_field(out, "memory_bytes", s.queue.mem_bytes, false);
    append_u64_field(out, "memory_events", s.queue.mem_events, false);
    append_u64_field(out, "spool_bytes", s.queue.spool_bytes, false);
    append_u64_field(out, "spool_events", s.queue.spool_records, false);
    lf_buf_appendf(out, "\"oldest_unacked_event_age_seconds\":%.3f",
                   (double)s.oldest_unacked_ms / 1000.0);
    lf_buf_append_str(out, "},\"registry\":{");
    append_u64_field(out, "writes", s.registry_writes, true);
    lf_buf_append_str(out, "},\"reload\":{");
    append_u64_field(out, "ok", s.reload.accepted, false);
    append_u64_field(out, "rejected", s.reload.rejected, false);
    append_u64_field(out, "last_successful", s.reload.last_rejected ? 0 : 1,
                     false);
    lf_buf_appendf(out, "\"last_success_timestamp_seconds\":%.3f",
                   s.reload.last_success_time_s);
    lf_buf_appendf(out, "},\"process\":{\"cpu_seconds\":%.3f,",
                   s.process.cpu_s);
    append_u64_field(out, "resident_memory_bytes", s.process.resident_bytes,
                     false);
    append_u64_field(out, "open_fds", s.process.open_fds, false);
    lf_buf_appendf(out, "\"start_time_seconds\":%.3f}}\n",
                   http->sources.start_time_s);
}

/* ---- /readyz ---- */

/*
 * An output is stuck when every request it sent for ready_timeout failed
 * (no reply, or a reply other than 2xx) while events wait for it. An
 * output that has nothing to send is ready even if its last request
 * failed. The agent is ready when no output is stuck, and /readyz names
 * each output that is, one per line.
 */
static int write_readiness(const struct lf_agent_http *http,
                           struct lf_buf *out)
{
    const struct lf_output *output = http->sources.output;
    struct lf_queue_stats queue;
    uint64_t now = uv_now(http->loop);
    int status = 200;

    lf_queue_stats(http->sources.queue, &queue);
    for (size_t i = 0; i < lf_output_count(output); i++) {
        struct lf_output_counts c;
        uint64_t waiting;
        uint64_t failing_ms;

        lf_output_counts_at(output, i, &c);
        if (c.failing_since_ms == 0) {
            continue;
        }
        waiting = c.events_pending + queue.mem_events + queue.spool_records;
        failing_ms = now - c.failing_since_ms;
        if (waiting > 0 && failing_ms >= http->ready_timeout_ms) {
            lf_buf_appendf(out, "output %s failing for %" PRIu64
                           "s with %" PRIu64 " events waiting\n",
                           lf_output_name_at(output, i), failing_ms / 1000,
                           waiting);
            status = 503;
        }
    }
    if (status == 200) {
        lf_buf_append_str(out, "ok\n");
    }
    return status;
}

static int handle_request(void *arg, const char *path, struct lf_buf *body,
                          const char **content_type)
{
    struct lf_agent_http *http = arg;

    if (strcmp(path, "/metrics") == 0) {
        *content_type = LF_PROM_CONTENT_TYPE;
        write_metrics(http, body);
        return 200;
    }
    if (strcmp(path, "/stats") == 0) {
        *content_type = "application/json";
        write_stats(http, body);
        return 200;
    }
    if (strcmp(path, "/healthz") == 0) {
        lf_buf_append_str(body, "ok\n");
        return 200;
    }
    if (strcmp(path, "/readyz") == 0) {
        return write_readiness(http, body);
    }
    lf_buf_append_str(body, "not found; the endpoints are /metrics, "
                      "/stats, /healthz and /readyz\n");
    return 404;
}

int lf_agent_http_start(uv_loop_t *loop, const struct lf_config *config,
                        const struct lf_agent_http_sources *sources,
                        struct lf_agent_http **out)
{
    struct lf_http_server_options server_options = {
        .host = config->http.host,
        .port = config->http.port,
        .max_connections = HTTP_MAX_CONNECTIONS,
        .idle_timeout_ms = HTTP_IDLE_TIMEOUT_MS,
    };
    struct lf_agent_http *http = lf_calloc(1, sizeof(*http));
    char errbuf[512];
    int rc;

    http->loop = loop;
    http->config = config;
    http->sources = *sources;
    http->ready_timeout_ms = (uint64_t)config->http.ready_timeout_ms;
    rc = lf_http_server_new(loop, &server_options, handle_request, http,
                            &http->server, errbuf, sizeof(errbuf));
    if (rc != 0) {
        lf_log_error("http", "%s", errbuf);
        lf_free(http);
        *out = NULL;
        return rc;
    }
    lf_log_info("http", "serving /metrics, /stats, /healthz and /readyz "
                "host=%s port=%d", config->http.host,
                lf_http_server_port(http->server));
    *out = http;
    return 0;
}

void lf_agent_http_set_reload(struct lf_agent_http *http,
                              const struct lf_reload *reload)
{
    if (http != NULL) {
        http->reload = reload;
    }
}

void lf_agent_http_close(struct lf_agent_http *http)
{
    if (http == NULL) {
        return;
    }
    lf_http_server_close(http->server);
    lf_free(http);
}
