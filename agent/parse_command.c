/*
 * `logferry parse`. Standard input stands for one file of the input: it
 * goes through the same framing, container decoding, multiline grouping
 * and line filters as a harvested file, and each event is built by the
 * pipeline's own code. Without a clock to wait on, the pending line and
 * group are flushed at the end of the input.
 */
#include "agent/parse_command.h"

#include "agent/agent.h"
#include "agent/input/line_stages.h"
#include "agent/pipeline/event_build.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/json.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536

struct parse_run {
    const struct lf_config *config;
    const struct lf_input_config *input;
    struct lf_event_origin origin;
    struct lf_event event;
    struct lf_buf out_buf;
    FILE *out;
    size_t events;
    size_t failures;
    size_t filtered; /* by include_lines and exclude_lines */
    size_t dropped;  /* by processors */
};

static int64_t wall_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int on_event(void *arg, const struct lf_line *line)
{
    struct parse_run *run = arg;
    enum lf_processor_result result;
    bool parse_failed;

    result = lf_event_build(&run->event, run->config, run->input,
                            &run->origin, line, wall_clock_ns(),
                            &parse_failed);
    if (parse_failed) {
        run->failures++;
    }
    if (result == LF_PROCESSOR_DROP) {
        run->dropped++;
        return 0;
    }
    run->events++;
    run->out_buf.len = 0;
    lf_json_append_event(&run->out_buf, &run->event);
    lf_buf_append_char(&run->out_buf, '\n');
    fwrite(run->out_buf.data, 1, run->out_buf.len, run->out);
    return 0;
}

static void on_filtered(void *arg, const struct lf_line *line)
{
    struct parse_run *run = arg;

    (void)line;
    run->filtered++;
}

static const struct lf_input_config *find_input(const struct lf_config *config,
                                                const char *id, FILE *err)
{
    if (id == NULL) {
        if (config->input_count == 1) {
            return &config->inputs[0];
        }
        fprintf(err,
                "logferry: the configuration has %zu inputs; name one "
                "with --input ID\n",
                config->input_count);
        return NULL;
    }
    for (size_t i = 0; i < config->input_count; i++) {
        if (strcmp(config->inputs[i].id, id) == 0) {
            return &config->inputs[i];
        }
    }
    fprintf(err, "logferry: no input has the id '%s'; the inputs are:", id);
    for (size_t i = 0; i < config->input_count; i++) {
        fprintf(err, "%s %s", i > 0 ? "," : "", config->inputs[i].id);
    }
    fputc('\n', err);
    return NULL;
}

/* Feeds standard input to the stages; returns 0 or a negative errno code. */
static int feed_all(struct lf_line_stages *stages, int in_fd,
                    const struct lf_line_events *events)
{
    static char chunk[READ_CHUNK];
    uint64_t rewind;

    for (;;) {
        ssize_t n = read(in_fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            break;
        }
        /* Every event is taken, so the stages never ask for a rewind. */
        lf_line_stages_feed(stages, chunk, (size_t)n, 0, events, &rewind);
    }
    lf_line_stages_drain(stages, events, &rewind);
    return 0;
}

int lf_parse_command(const struct lf_config *config, const char *input_id,
                     int in_fd, FILE *out, FILE *err)
{
    const struct lf_input_config *input = find_input(config, input_id, err);
    struct lf_line_events events = {
        .on_event = on_event,
        .on_filtered = on_filtered,
    };
    struct lf_line_stages stages;
    struct parse_run run = {0};
    char hostname[256];
    int rc;

    if (input == NULL) {
        return LF_EXIT_USAGE;
    }
    run.config = config;
    run.input = input;
    run.out = out;
    run.origin.hostname = hostname;
    run.origin.hostname_len = lf_event_hostname(hostname, sizeof(hostname));
    lf_event_init(&run.event);
    lf_buf_init(&run.out_buf);
    events.arg = &run;

    lf_line_stages_init(&stages, input, 0, false);
    rc = feed_all(&stages, in_fd, &events);
    lf_line_stages_cleanup(&stages);
    fflush(out);

    lf_buf_cleanup(&run.out_buf);
    lf_event_cleanup(&run.event);
    if (rc != 0) {
        fprintf(err, "logferry: reading standard input failed: %s\n",
                lf_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    fprintf(err,
            "%zu event%s, %zu matched no parser, %zu filtered out, %zu "
            "dropped by processors\n",
            run.events, run.events == 1 ? "" : "s", run.failures,
            run.filtered, run.dropped);
    return run.failures == 0 ? LF_EXIT_OK : LF_EXIT_FAILURE;
}
