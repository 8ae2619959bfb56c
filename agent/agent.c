/*
 * Agent lifecycle. Starting opens the registry (and its lock), the queue
 * with its spool, the output and the inputs. Stopping reads open files to
 * their end, waits for acknowledgements up to shutdown.timeout, moves
 * the memory queue to the spool, saves the registry and closes every
 * handle, so the loop ends by itself.
 */
#include "agent/agent.h"
#include "agent/input/input.h"
#include "agent/metadata_bind.h"
#include "agent/metrics/agent_http.h"
#include "agent/output.h"
#include "agent/pipeline/pipeline.h"
#include "agent/queue/queue.h"
#include "agent/registry/registry.h"
#include "agent/reload.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "lf_build_config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* While draining, how often the agent checks for outstanding events. */
#define DRAIN_CHECK_MS 50

enum agent_state {
    AGENT_RUNNING,
    AGENT_DRAINING, /* reading stopped or done, waiting for results */
    AGENT_SPOOLING, /* moving the memory queue to the spool */
    AGENT_CLOSING,
};

struct agent {
    const struct lf_config *config;
    bool once;
    enum agent_state state;
    int exit_code;
    uv_loop_t loop;
    struct lf_registry *registry;
    struct lf_pipeline *pipeline;
    struct lf_output *output;
    struct lf_queue *queue;
    struct lf_inputs *inputs;
    struct lf_metadata_binds *metadata;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t registry_timer;
    uv_timer_t prune_timer;
    uv_timer_t drain_timer;
    uint64_t drain_resolved;   /* events with a result at the last check */
    uint64_t drain_progress_ms; /* loop time of the last progress */
    uint64_t drain_started_ms;
    bool caught_up;            /* --once read every matched file */
    bool reading_rest;         /* stopping: open files read to their end */
    bool save_failed;          /* the last registry save failed */
    uv_signal_t sighup;
    struct lf_agent_http *http; /* NULL unless http.enabled */
    struct lf_reload *reload;   /* NULL until reading starts, and --once */
    double start_time_s;
};

/* Returns 0, or the error code when the registry could not be saved. */
static int save_registry(struct agent *agent)
{
    char errbuf[512];
    int rc;

    if (!lf_registry_dirty(agent->registry)) {
        return 0;
    }
    rc = lf_registry_save(agent->registry, errbuf, sizeof(errbuf));
    if (rc != 0 && !agent->save_failed) {
        lf_log_error("registry", "%s; offsets stay in memory and the save "
                     "is retried every registry.flush", errbuf);
    } else if (rc == 0 && agent->save_failed) {
        lf_log_info("registry", "saving the registry succeeds again");
    }
    agent->save_failed = rc != 0;
    return rc;
}

static void on_registry_timer(uv_timer_t *timer)
{
    struct agent *agent = timer->data;

    if (save_registry(agent) != 0 && agent->state != AGENT_CLOSING) {
        uv_timer_start(&agent->registry_timer, on_registry_timer,
                       (uint64_t)agent->config->registry_flush_ms, 0);
    }
}

/*
 * Arms a one-shot save registry.flush after the registry changes, so an
 * idle agent has no registry timer running. A failed save re-arms it.
 */
static void on_commit(void *arg)
{
    struct agent *agent = arg;

    if (agent->state != AGENT_CLOSING &&
        !uv_is_active((uv_handle_t *)&agent->registry_timer)) {
        uv_timer_start(&agent->registry_timer, on_registry_timer,
                       (uint64_t)agent->config->registry_flush_ms, 0);
    }
}

/* Removes the registry entries of files gone for registry.clean_removed. */
static void prune_registry(struct agent *agent)
{
    long long max_age_ms = agent->config->registry_clean_removed_ms;
    size_t removed;

    if (max_age_ms == 0) {
        return;
    }
    removed = lf_registry_prune(agent->registry, (int64_t)time(NULL),
                                (int64_t)(max_age_ms / 1000),
                                lf_pipeline_uses_entry, agent->pipeline);
    if (removed > 0) {
        lf_log_info("registry", "removed the entries of files gone for "
                    "registry.clean_removed removed=%zu kept=%zu", removed,
                    lf_registry_count(agent->registry));
        on_commit(agent);
    }
}

static void on_prune_timer(uv_timer_t *timer)
{
    prune_registry(timer->data);
}

/*
 * Logs what became of the events of this run: delivered (a result from
 * the output), spooled (durable in the spool, sent from there), and left
 * in files (read but neither, so the next run reads them again).
 */
static void log_shutdown_report(struct agent *agent)
{
    struct lf_pipeline_stats ps;
    struct lf_queue_stats qs;

    lf_pipeline_stats(agent->pipeline, &ps);
    lf_queue_stats(agent->queue, &qs);
    lf_log_info("agent",
                "shutdown report: output=%s delivered=%" PRIu64
                " spooled=%" PRIu64 " left_in_files=%" PRIu64
                " spool_events=%" PRIu64 " spool_delivered=%" PRIu64,
                lf_output_name(agent->output),
                ps.events_indexed + ps.events_duplicate + ps.events_rejected,
                ps.events_spooled, lf_pipeline_unresolved(agent->pipeline),
                qs.spool_records, qs.spool_delivered);
}

static void log_summary(struct agent *agent)
{
    struct lf_pipeline_stats ps;
    struct lf_input_stats is;
    struct lf_es_stats es;

    lf_pipeline_stats(agent->pipeline, &ps);
    lf_inputs_stats(agent->inputs, &is);
    lf_output_es_stats(agent->output, &es);
    lf_output_log_summary(agent->output);
    lf_log_info("agent",
                "summary: lines_read=%" PRIu64 " truncated=%" PRIu64
                " lines_filtered=%" PRIu64 " published=%" PRIu64
                " indexed=%" PRIu64 " duplicates=%" PRIu64
                " rejected=%" PRIu64 " parse_failures=%" PRIu64
                " dropped_processor=%" PRIu64
                " requests=%" PRIu64 " request_failures=%" PRIu64
                " files_opened=%" PRIu64 " files_truncated=%" PRIu64
                " truncated_bytes_lost=%" PRIu64
                " input_bytes_abandoned_total=%" PRIu64
                " paths_polled=%zu inotify_overflows=%" PRIu64
                " rejected_mapping=%" PRIu64 " rejected_item=%" PRIu64
                " rejected_too_large=%" PRIu64 " rejected_request=%" PRIu64
                " relocated=%" PRIu64 " dead_lettered=%" PRIu64
                " dead_letter_dropped=%" PRIu64,
                is.lines_read, is.lines_truncated, is.lines_filtered,
                ps.events_published, ps.events_indexed, ps.events_duplicate,
                ps.events_rejected, ps.parse_failures,
                ps.events_dropped_processor, es.requests_sent,
                es.requests_failed, is.files_opened, is.files_truncated,
                is.truncated_bytes_lost, is.bytes_abandoned, is.paths_polled,
                is.inotify_overflows,
                es.rejected_by_reason[LF_ES_REJECT_MAPPING],
                es.rejected_by_reason[LF_ES_REJECT_ITEM],
                es.rejected_by_reason[LF_ES_REJECT_TOO_LARGE],
                es.rejected_by_reason[LF_ES_REJECT_REQUEST],
                es.events_relocated, es.dead_lettered, es.dead_letter_dropped);
}

static void close_handle(uv_handle_t *handle)
{
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

static void close_any(uv_handle_t *handle, void *arg)
{
    (void)arg;
    close_handle(handle);
}

/* Saves state and closes everything; uv_run() returns afterwards. */
static void close_all(struct agent *agent)
{
    agent->state = AGENT_CLOSING;
    log_summary(agent);
    log_shutdown_report(agent);
    if (save_registry(agent) != 0) {
        lf_log_error("agent", "the acknowledged offsets could not be saved; "
                     "the next run sends again what this run shipped");
        agent->exit_code = LF_EXIT_FAILURE;
    }
    lf_reload_close(agent->reload);
    lf_inputs_close(agent->inputs);
    lf_output_close(agent->output, NULL, NULL);
    lf_queue_close(agent->queue);
    lf_metadata_binds_close(agent->metadata);
    lf_agent_http_close(agent->http);
    agent->http = NULL;
    close_handle((uv_handle_t *)&agent->sigterm);
    close_handle((uv_handle_t *)&agent->sigint);
    close_handle((uv_handle_t *)&agent->sighup);
    close_handle((uv_handle_t *)&agent->registry_timer);
    close_handle((uv_handle_t *)&agent->drain_timer);
    close_handle((uv_handle_t *)&agent->prune_timer);
}

static void on_memory_spooled(void *arg)
{
    struct agent *agent = arg;

    if (agent->state == AGENT_SPOOLING) {
        close_all(agent);
    }
}

/*
 * Stops reading, spools what waits in the memory queue when a spool is
 * configured, then closes. Called while spooling (a second signal), it
 * closes at once: records not yet synced then keep their offsets
 * uncommitted and are read again.
 */
static void finish(struct agent *agent, int exit_code)
{
    if (agent->state == AGENT_CLOSING) {
        return;
    }
    if (agent->state == AGENT_SPOOLING) {
        close_all(agent);
        return;
    }
    agent->exit_code = exit_code;
    agent->state = AGENT_SPOOLING;
    uv_timer_stop(&agent->drain_timer);
    if (agent->inputs != NULL) {
        lf_inputs_stop(agent->inputs);
    }
    if (agent->queue != NULL &&
        lf_queue_spool_memory(agent->queue, on_memory_spooled, agent) == 1) {
        return;
    }
    close_all(agent);
}

static void finish_drain(struct agent *agent)
{
    struct lf_pipeline_stats stats;
    struct lf_input_stats input_stats;

    lf_pipeline_stats(agent->pipeline, &stats);
    lf_inputs_stats(agent->inputs, &input_stats);
    if (agent->once && !agent->caught_up) {
        lf_log_error("agent", "stopped by a signal before every matched "
                     "file was read; what was read is acknowledged and the "
                     "next run continues from there");
        finish(agent, LF_EXIT_FAILURE);
        return;
    }
    if (agent->once && input_stats.files_failed > 0) {
        lf_log_error("agent", "matched files that could not be read: %" PRIu64
                     " (errors logged above)", input_stats.files_failed);
        finish(agent, LF_EXIT_FAILURE);
        return;
    }
    if (agent->once && stats.events_rejected > 0) {
        lf_log_error("agent", "events rejected by the output: %" PRIu64
                     " (reasons logged above); their lines were not "
                     "stored", stats.events_rejected);
        finish(agent, LF_EXIT_FAILURE);
        return;
    }
    lf_log_info("agent", "every event read was acknowledged");
    finish(agent, LF_EXIT_OK);
}

static void give_up_drain(struct agent *agent, uint64_t unresolved)
{
    double timeout_s = (double)agent->config->shutdown_timeout_ms / 1000.0;

    if (agent->state != AGENT_RUNNING && !agent->once &&
        lf_queue_has_spool(agent->queue)) {
        lf_log_info("agent", "events not acknowledged within "
                    "shutdown.timeout=%.3gs: %" PRIu64 "; spooling those "
                    "still in the memory queue", timeout_s, unresolved);
        finish(agent, LF_EXIT_OK);
        return;
    }
    lf_log_error("agent",
                 "events not acknowledged within shutdown.timeout=%.3gs: "
                 "%" PRIu64 "; their offsets are not saved, so the next run "
                 "sends them again",
                 timeout_s, unresolved);
    finish(agent, LF_EXIT_FAILURE);
}

/* Returns the results so far, of pipeline events and spool records. */
static uint64_t resolved_count(const struct agent *agent)
{
    struct lf_pipeline_stats stats;
    struct lf_queue_stats queue;

    lf_pipeline_stats(agent->pipeline, &stats);
    lf_queue_stats(agent->queue, &queue);
    return stats.events_indexed + stats.events_duplicate +
           stats.events_rejected + queue.spool_delivered;
}

/*
 * On stop the wait is bounded by shutdown.timeout from the signal. With
 * --once it is bounded by shutdown.timeout without progress, so a long
 * backlog may take as long as it needs while a dead cluster still ends
 * the run.
 */
static void on_drain_timer(uv_timer_t *timer)
{
    struct agent *agent = timer->data;
    uint64_t unresolved = lf_pipeline_unresolved(agent->pipeline);
    uint64_t resolved = resolved_count(agent);
    uint64_t now = uv_now(&agent->loop);
    uint64_t timeout = (uint64_t)agent->config->shutdown_timeout_ms;

    /*
     * Progress is a result arriving. The outstanding count alone does not
     * show it: under backpressure it stays at the output's capacity while
     * batches complete and are replaced.
     */
    if (resolved != agent->drain_resolved) {
        agent->drain_resolved = resolved;
        agent->drain_progress_ms = now;
    }
    if (agent->reading_rest) {
        /* Half the time is left for the acknowledgements. */
        if (now - agent->drain_started_ms < timeout / 2) {
            return;
        }
        lf_log_warn("agent", "open files not read to their end within half "
                    "of shutdown.timeout; the rest is read by the next run");
        agent->reading_rest = false;
        lf_inputs_stop(agent->inputs);
        lf_output_flush(agent->output);
    }
    if (agent->state == AGENT_RUNNING) {
        /* A --once run still reading: give up only on a stuck output. */
        if (unresolved > 0 && now - agent->drain_progress_ms >= timeout) {
            give_up_drain(agent, unresolved);
        }
        return;
    }
    /* --once also sends every record of the spool before it exits. */
    if (unresolved == 0 && (!agent->once || lf_queue_idle(agent->queue))) {
        finish_drain(agent);
        return;
    }
    if (agent->once ? now - agent->drain_progress_ms >= timeout
                    : now - agent->drain_started_ms >= timeout) {
        give_up_drain(agent, unresolved);
    }
}

static void start_drain(struct agent *agent)
{
    uint64_t now = uv_now(&agent->loop);

    lf_reload_close(agent->reload);
    agent->state = AGENT_DRAINING;
    agent->drain_started_ms = now;
    agent->drain_progress_ms = now;
    agent->drain_resolved = resolved_count(agent);
    lf_output_flush(agent->output);
    uv_timer_start(&agent->drain_timer, on_drain_timer, 0, DRAIN_CHECK_MS);
}

static void on_caught_up(void *arg)
{
    struct agent *agent = arg;

    if (agent->state == AGENT_RUNNING) {
        agent->caught_up = true;
        lf_log_info("agent", "every matched file was read to its end; "
                    "waiting for acknowledgements");
        lf_inputs_stop(agent->inputs);
        start_drain(agent);
    }
}

/* Stopping: every open file was read to its end. */
static void on_read_to_end(void *arg)
{
    struct agent *agent = arg;

    if (agent->state != AGENT_DRAINING || !agent->reading_rest) {
        return;
    }
    agent->reading_rest = false;
    lf_log_info("agent", "open files read to their end; waiting for "
                "acknowledgements");
    lf_inputs_stop(agent->inputs); /* flushes multiline groups */
    lf_output_flush(agent->output);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct agent *agent = handle->data;

    if (agent->state != AGENT_RUNNING) {
        lf_log_warn("agent", "received %s again while stopping; stopping "
                    "now without waiting", strsignal(signum));
        finish(agent, LF_EXIT_FAILURE);
        return;
    }
    if (agent->once) {
        /* --once stops reading at once and exits with status 1. */
        lf_log_info("agent", "received %s; stopping, waiting up to %.3gs "
                    "(shutdown.timeout) for acknowledgements",
                    strsignal(signum),
                    (double)agent->config->shutdown_timeout_ms / 1000.0);
        lf_inputs_stop(agent->inputs);
        start_drain(agent);
        return;
    }
    lf_log_info("agent", "received %s; stopping: reading open files to "
                "their end and waiting for acknowledgements, up to %.3gs "
                "(shutdown.timeout)", strsignal(signum),
                (double)agent->config->shutdown_timeout_ms / 1000.0);
    start_drain(agent);
    agent->reading_rest = true;
    lf_inputs_read_to_end(agent->inputs, on_read_to_end, agent);
}

static volatile sig_atomic_t early_sighup;

static void note_early_sighup(int signum)
{
    (void)signum;
    early_sighup = 1;
}

void lf_agent_defer_sighup(void)
{
    struct sigaction action;

    memset(&action, 0, sizeof(action));
    action.sa_handler = note_early_sighup;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGHUP, &action, NULL);
}

/* Reloads the configuration file; see agent/reload.c. */
static void on_sighup(uv_signal_t *handle, int signum)
{
    struct agent *agent = handle->data;

    (void)signum;
    if (agent->once) {
        lf_log_warn("agent", "received SIGHUP; a --once run does not reload "
                    "its configuration");
        return;
    }
    if (agent->reload == NULL || agent->state != AGENT_RUNNING) {
        lf_log_warn("agent", "received SIGHUP while starting or stopping; "
                    "the configuration is not reloaded");
        return;
    }
    lf_reload_request(agent->reload);
}

static void on_output_result(void *arg, struct lf_ack_ref ref,
                             enum lf_delivery result)
{
    struct agent *agent = arg;

    lf_queue_on_output_result(agent->queue, ref, result);
}

static void on_output_ready(void *arg)
{
    struct agent *agent = arg;

    lf_queue_on_output_ready(agent->queue);
}

static void on_queue_result(void *arg, struct lf_ack_ref ref,
                            enum lf_delivery result)
{
    struct agent *agent = arg;

    lf_pipeline_on_result(agent->pipeline, ref, result);
}

static void on_queue_spooled(void *arg, struct lf_ack_ref ref)
{
    struct agent *agent = arg;

    lf_pipeline_on_spooled(agent->pipeline, ref);
}

static void on_queue_ready(void *arg)
{
    struct agent *agent = arg;

    if (agent->state == AGENT_RUNNING || agent->reading_rest) {
        lf_inputs_resume(agent->inputs);
    }
}

static int publish_to_output(void *arg, const struct lf_event *ev,
                             const char *doc_id, struct lf_ack_ref ref)
{
    return lf_output_publish(arg, ev, doc_id, ref);
}

static int start_queue(struct agent *agent)
{
    struct lf_queue_callbacks callbacks = {
        .arg = agent,
        .on_result = on_queue_result,
        .on_spooled = on_queue_spooled,
        .on_ready = on_queue_ready,
    };

    return lf_queue_new(&agent->loop, &agent->config->queue, &callbacks,
                        &agent->queue);
}

static int start_http(struct agent *agent)
{
    struct lf_agent_http_sources sources = {
        .pipeline = agent->pipeline,
        .inputs = agent->inputs,
        .output = agent->output,
        .queue = agent->queue,
        .registry = agent->registry,
        .start_time_s = agent->start_time_s,
    };

    if (!agent->config->http.enabled) {
        return 0;
    }
    return lf_agent_http_start(&agent->loop, agent->config, &sources,
                               &agent->http);
}

static int start(struct agent *agent)
{
    lf_output_callbacks callbacks = {0};
    struct lf_queue_output output;
    struct lf_input_sink sink;
    char errbuf[512];
    int rc;

    rc = lf_registry_open(agent->config->data_path, &agent->registry, errbuf,
                          sizeof(errbuf));
    if (rc != 0) {
        lf_log_error("agent", "%s", errbuf);
        return rc;
    }
    agent->pipeline = lf_pipeline_new(agent->config, agent->registry);
    lf_pipeline_on_commit(agent->pipeline, on_commit, agent);
    rc = start_queue(agent);
    if (rc != 0) {
        return rc;
    }
    lf_pipeline_set_queue(agent->pipeline, agent->queue);
    /* Before the output is set: the scan uses the spool's read cursor. */
    lf_queue_scan_spool(agent->queue, lf_pipeline_add_spooled,
                        agent->pipeline);

    callbacks.arg = agent;
    callbacks.on_result = on_output_result;
    callbacks.on_ready = on_output_ready;
    rc = lf_output_new(&agent->loop, agent->config, &callbacks,
                       &agent->output);
    if (rc != 0) {
        return rc;
    }
    output.arg = agent->output;
    output.publish = publish_to_output;
    lf_queue_set_output(agent->queue, &output);

    lf_pipeline_sink(agent->pipeline, &sink, on_caught_up, agent);
    rc = lf_inputs_new(&agent->loop, agent->config, &sink, agent->once,
                       &agent->inputs);
    if (rc != 0) {
        return rc;
    }
    return start_http(agent);
}

static void init_handles(struct agent *agent)
{
    uv_signal_init(&agent->loop, &agent->sigterm);
    agent->sigterm.data = agent;
    uv_signal_init(&agent->loop, &agent->sigint);
    agent->sigint.data = agent;
    uv_signal_init(&agent->loop, &agent->sighup);
    agent->sighup.data = agent;
    uv_timer_init(&agent->loop, &agent->registry_timer);
    agent->registry_timer.data = agent;
    uv_timer_init(&agent->loop, &agent->drain_timer);
    agent->drain_timer.data = agent;
    uv_timer_init(&agent->loop, &agent->prune_timer);
    agent->prune_timer.data = agent;
}

/* Starts the inputs and the registry pruning. */
static void start_reading(void *arg)
{
    struct agent *agent = arg;
    const struct lf_config *config = agent->config;

    if (agent->state != AGENT_RUNNING) {
        return; /* stopped while the metadata was fetched */
    }
    lf_inputs_start(agent->inputs);
    lf_inputs_adopt(agent->inputs, agent->registry);
    if (!agent->once) {
        struct lf_reload_targets targets = {
            .loop = &agent->loop,
            .inputs = agent->inputs,
            .pipeline = agent->pipeline,
        };

        agent->reload = lf_reload_new(config, &targets);
        lf_agent_http_set_reload(agent->http, agent->reload);
    }
    prune_registry(agent);
    if (!agent->once && config->registry_clean_removed_ms > 0) {
        /* A gone file's entry goes by 1.5 x clean_removed after its update. */
        uint64_t period = (uint64_t)config->registry_clean_removed_ms / 2;
        uv_timer_start(&agent->prune_timer, on_prune_timer,
                       period > 0 ? period : 1, period > 0 ? period : 1);
    }
}

int lf_agent_run(const struct lf_config *config, bool once)
{
    struct agent agent;
    struct timespec now;
    int rc;

    memset(&agent, 0, sizeof(agent));
    clock_gettime(CLOCK_REALTIME, &now);
    agent.start_time_s = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    agent.config = config;
    agent.once = once;
    signal(SIGPIPE, SIG_IGN);

    rc = uv_loop_init(&agent.loop);
    if (rc != 0) {
        lf_log_error("agent", "uv_loop_init failed: %s", uv_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    init_handles(&agent);
    if (start(&agent) != 0) {
        agent.exit_code = LF_EXIT_FAILURE;
        goto out;
    }

    lf_log_info("agent", "logferry %s started inputs=%zu once=%s "
                "data=%s output=%s", LF_VERSION, config->input_count,
                once ? "true" : "false", config->data_path,
                lf_output_describe(agent.output));
    uv_signal_start(&agent.sigterm, on_signal, SIGTERM);
    uv_signal_start(&agent.sigint, on_signal, SIGINT);
    uv_signal_start(&agent.sighup, on_sighup, SIGHUP);
    if (early_sighup) {
        lf_log_warn("agent", "received SIGHUP while starting; the "
                    "configuration is not reloaded");
    }
    if (once) {
        /* Watches for a stuck output while files are still being read. */
        agent.drain_progress_ms = uv_now(&agent.loop);
        uv_timer_start(&agent.drain_timer, on_drain_timer, 1000, 1000);
    }
    /* Reading starts once the metadata processors have their fields. */
    if (lf_metadata_binds_start(&agent.loop, config, start_reading, &agent,
                                &agent.metadata) != 0) {
        finish(&agent, LF_EXIT_FAILURE);
    }
    uv_run(&agent.loop, UV_RUN_DEFAULT);
    lf_log_info("agent", "stopped");

out:
    if (agent.state != AGENT_CLOSING) {
        /* Start-up failed: close what was opened. */
        lf_agent_http_close(agent.http);
        if (agent.inputs != NULL) {
            lf_inputs_close(agent.inputs);
        }
        if (agent.output != NULL) {
            lf_output_close(agent.output, NULL, NULL);
        }
        lf_queue_close(agent.queue);
        uv_walk(&agent.loop, close_any, NULL);
        uv_run(&agent.loop, UV_RUN_DEFAULT);
    }
    lf_pipeline_free(agent.pipeline);
    lf_registry_free(agent.registry);
    lf_metadata_binds_free(agent.metadata);
    lf_reload_free(agent.reload);
    if (uv_loop_close(&agent.loop) != 0) {
        lf_log_warn("agent", "handles were still open at exit");
    }
    return agent.exit_code;
}
