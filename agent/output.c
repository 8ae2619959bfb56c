/*
 * Dispatch to the configured outputs. With two outputs, the join
 * (output_join.h) reports an event's result once both gave one.
 *
 * An event goes to the outputs in order. When the first one has no room,
 * nothing was taken and publish returns LF_EFULL. When a later one has no
 * room, the others already took the event, so it is kept encoded as the
 * carry and sent to that output after its on_ready. Publish returns
 * LF_EFULL while a carry waits, so at most one event waits there.
 */
#include "agent/output.h"
#include "agent/output_join.h"
#include "agent/queue/event_codec.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/cw_output.h"

#include <inttypes.h>
#include <string.h>

/* A publish failure of one output is logged the first time, then once
 * every this many failures, with the count. */
#define PUBLISH_FAILED_LOG_EVERY 10000

struct sink {
    struct lf_output *owner;
    const char *name;
    struct lf_es_output *es; /* exactly one of es and cw is set */
    struct lf_cw_output *cw;
    uint64_t publish_failed;
};

struct lf_output {
    const struct lf_config *config;
    lf_output_callbacks callbacks;
    struct sink sinks[LF_OUTPUT_MAX];
    size_t count;
    struct lf_output_join join;

    /* The event the outputs in carry_mask still have to take. */
    struct lf_buf carry;
    struct lf_ack_ref carry_ref;
    unsigned carry_mask;
    struct lf_event carry_event;

    bool publishing;     /* inside an output's publish */
    bool ready_deferred; /* on_ready came while publishing */
    bool want_ready;     /* publish returned LF_EFULL */
    bool closing;
    size_t open_sinks;
    char describe[512];
    void (*done)(void *arg);
    void *done_arg;
};

/* ---- one output ---- */

static int sink_publish(struct sink *sink, const struct lf_event *ev,
                        const char *doc_id, struct lf_ack_ref ref)
{
    if (sink->cw != NULL) {
        return lf_cw_output_publish(sink->cw, ev, doc_id, ref);
    }
    return lf_es_output_publish(sink->es, ev, doc_id, ref);
}

/* Records one output's result and reports the event once none is owed. */
static void settle(struct lf_output *output, struct lf_ack_ref ref,
                   enum lf_delivery result)
{
    enum lf_delivery combined;

    if (lf_output_join_settle(&output->join, ref, result, &combined)) {
        output->callbacks.on_result(output->callbacks.arg, ref, combined);
    }
}

/*
 * Reports as rejected an event that the other output took and this one
 * failed to take with error `rc`, so the join still gets a result for it.
 */
static void reject_not_taken(struct lf_output *output, struct sink *sink,
                             struct lf_ack_ref ref, int rc)
{
    sink->publish_failed++;
    if (sink->publish_failed % PUBLISH_FAILED_LOG_EVERY == 1) {
        lf_log_error("agent",
                     "output %s failed to take an event that the "
                     "other output took: %s; reported as rejected "
                     "publish_failed=%" PRIu64,
                     sink->name, lf_strerror(rc), sink->publish_failed);
    }
    settle(output, ref, LF_DELIVERY_REJECTED);
}

static void on_sink_result(void *arg, struct lf_ack_ref ref,
                           enum lf_delivery result)
{
    struct sink *sink = arg;
    struct lf_output *output = sink->owner;

    if (output->count == 1) {
        output->callbacks.on_result(output->callbacks.arg, ref, result);
        return;
    }
    settle(output, ref, result);
}

/* Sends the carry to the outputs that have not taken it yet. */
static void send_carry(struct lf_output *output)
{
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];
    struct lf_ack_ref ref = output->carry_ref;

    if (output->carry_mask == 0) {
        return;
    }
    if (lf_event_decode(output->carry.data, output->carry.len,
                        &output->carry_event, doc_id) != 0) {
        /* Only a bug can get here: the carry was encoded just before. */
        for (size_t i = 0; i < output->count; i++) {
            if (output->carry_mask & (1u << i)) {
                output->carry_mask &= ~(1u << i);
                reject_not_taken(output, &output->sinks[i], ref, LF_ECORRUPT);
            }
        }
        return;
    }
    output->publishing = true;
    for (size_t i = 0; i < output->count; i++) {
        int rc;

        if ((output->carry_mask & (1u << i)) == 0) {
            continue;
        }
        rc = sink_publish(&output->sinks[i], &output->carry_event, doc_id, ref);
        if (rc == LF_EFULL) {
            continue;
        }
        output->carry_mask &= ~(1u << i);
        if (rc != 0) {
            reject_not_taken(output, &output->sinks[i], ref, rc);
        }
    }
    output->publishing = false;
}

/*
 * Sends the carry, then calls the queue's on_ready when publish returned
 * LF_EFULL and no carry waits. An output that just returned LF_EFULL
 * calls on_ready again once it has room, so no wake-up is lost.
 */
static void on_room(struct lf_output *output)
{
    output->ready_deferred = false;
    if (output->closing) {
        return;
    }
    send_carry(output);
    if (output->carry_mask == 0 && output->want_ready) {
        output->want_ready = false;
        output->callbacks.on_ready(output->callbacks.arg);
    }
}

static void on_sink_ready(void *arg)
{
    struct sink *sink = arg;
    struct lf_output *output = sink->owner;

    if (output->count == 1) {
        output->callbacks.on_ready(output->callbacks.arg);
        return;
    }
    if (output->publishing) {
        output->ready_deferred = true;
        return;
    }
    on_room(output);
}

static int start_sink(struct lf_output *output, uv_loop_t *loop,
                      const char *name)
{
    struct sink *sink = &output->sinks[output->count];
    const struct lf_config *config = output->config;
    int rc;

    sink->owner = output;
    sink->name = name;
    if (strcmp(name, "cloudwatch") == 0) {
        struct lf_cw_output_callbacks callbacks = {
            .arg = sink,
            .on_result = on_sink_result,
            .on_ready = on_sink_ready,
        };

        rc = lf_cw_output_new(loop, &config->cw, &callbacks, &sink->cw);
    } else {
        struct lf_es_output_callbacks callbacks = {
            .arg = sink,
            .on_result = on_sink_result,
            .on_ready = on_sink_ready,
        };

        rc = lf_es_output_new(loop, &config->es, &callbacks, &sink->es);
    }
    if (rc != 0) {
        lf_log_error("agent", "starting the %s output failed: %s",
                     strcmp(name, "cloudwatch") == 0 ? "CloudWatch Logs"
                                                     : "Elasticsearch",
                     lf_strerror(rc));
        return rc;
    }
    output->count++;
    return 0;
}

static void describe_outputs(struct lf_output *output)
{
    const struct lf_config *config = output->config;
    size_t len = 0;

    output->describe[0] = '\0';
    for (size_t i = 0; i < output->count; i++) {
        const char *where = output->sinks[i].cw != NULL ? config->cw.endpoint
                                                        : config->es.hosts[0];
        int n = snprintf(output->describe + len, sizeof(output->describe) - len,
                         "%s%s", i > 0 ? "," : "", where);

        if (n < 0 || (size_t)n >= sizeof(output->describe) - len) {
            break;
        }
        len += (size_t)n;
    }
}

static void on_sink_closed(void *arg);

int lf_output_new(uv_loop_t *loop, const struct lf_config *config,
                  const lf_output_callbacks *callbacks, struct lf_output **out)
{
    struct lf_output *output = lf_calloc(1, sizeof(*output));
    int rc = 0;

    output->config = config;
    output->callbacks = *callbacks;
    lf_buf_init(&output->carry);
    lf_event_init(&output->carry_event);
    if (config->use_elasticsearch) {
        rc = start_sink(output, loop, "elasticsearch");
    }
    if (rc == 0 && config->use_cloudwatch) {
        rc = start_sink(output, loop, "cloudwatch");
    }
    if (rc != 0) {
        /* Closes the output already started, if any, and frees the rest. */
        output->open_sinks = output->count;
        output->closing = true;
        if (output->count == 0) {
            output->open_sinks = 1;
            on_sink_closed(output);
        } else {
            lf_es_output_close(output->sinks[0].es, on_sink_closed, output);
        }
        return rc;
    }
    describe_outputs(output);
    *out = output;
    return 0;
}

/* ---- calls ---- */

int lf_output_publish(struct lf_output *output, const struct lf_event *ev,
                      const char *doc_id, struct lf_ack_ref ref)
{
    int rc = 0;

    if (output->count == 1) {
        return sink_publish(&output->sinks[0], ev, doc_id, ref);
    }
    if (output->closing) {
        return LF_ESTATE;
    }
    if (output->carry_mask != 0) {
        output->want_ready = true;
        return LF_EFULL;
    }
    lf_output_join_add(&output->join, ref, (uint32_t)output->count);
    output->publishing = true;
    for (size_t i = 0; i < output->count; i++) {
        int sink_rc = sink_publish(&output->sinks[i], ev, doc_id, ref);

        if (sink_rc == 0) {
            continue;
        }
        if (i == 0) {
            /* No output took it: the queue keeps it and tries again. */
            lf_output_join_release(&output->join, ref, (uint32_t)output->count);
            rc = sink_rc;
            break;
        }
        if (sink_rc != LF_EFULL) {
            reject_not_taken(output, &output->sinks[i], ref, sink_rc);
            continue;
        }
        if (output->carry_mask == 0) {
            lf_buf_reset(&output->carry);
            sink_rc = lf_event_encode(ev, doc_id, NULL, &output->carry);
            if (sink_rc != 0) {
                reject_not_taken(output, &output->sinks[i], ref, sink_rc);
                continue;
            }
            output->carry_ref = ref;
        }
        output->carry_mask |= 1u << i;
    }
    output->publishing = false;
    if (rc == LF_EFULL) {
        output->want_ready = true;
        /* The output that returned LF_EFULL calls on_ready once it has room. */
        output->ready_deferred = false;
        return rc;
    }
    if (output->ready_deferred) {
        on_room(output);
    }
    return rc;
}

void lf_output_flush(struct lf_output *output)
{
    for (size_t i = 0; i < output->count; i++) {
        if (output->sinks[i].cw != NULL) {
            lf_cw_output_flush(output->sinks[i].cw);
        } else {
            lf_es_output_flush(output->sinks[i].es);
        }
    }
}

static size_t sink_pending(const struct sink *sink)
{
    if (sink->cw != NULL) {
        return lf_cw_output_pending(sink->cw);
    }
    return lf_es_output_pending(sink->es);
}

size_t lf_output_pending(const struct lf_output *output)
{
    if (output->count == 1) {
        return sink_pending(&output->sinks[0]);
    }
    return lf_output_join_count(&output->join);
}

size_t lf_output_count(const struct lf_output *output)
{
    return output->count;
}

const char *lf_output_name_at(const struct lf_output *output, size_t i)
{
    return output->sinks[i].name;
}

void lf_output_counts_at(const struct lf_output *output, size_t i,
                         struct lf_output_counts *counts)
{
    const struct sink *sink = &output->sinks[i];

    memset(counts, 0, sizeof(*counts));
    counts->publish_failed = sink->publish_failed;
    counts->events_pending = sink_pending(sink);
    if (sink->cw != NULL) {
        struct lf_cw_stats cw;

        lf_cw_output_stats(sink->cw, &cw);
        counts->events_delivered = cw.events_delivered;
        counts->events_duplicate = cw.events_duplicate;
        counts->events_rejected = cw.events_rejected + sink->publish_failed;
        counts->requests_sent = cw.requests_sent;
        counts->requests_failed = cw.requests_failed;
        counts->requests_retried = cw.retries;
        counts->failing_since_ms = cw.failing_since_ms;
    } else {
        struct lf_es_stats es;

        lf_es_output_stats(sink->es, &es);
        counts->events_delivered = es.events_indexed;
        counts->events_duplicate = es.events_duplicate;
        counts->events_rejected = es.events_rejected + sink->publish_failed;
        counts->events_retried = es.events_retried;
        counts->requests_sent = es.requests_sent;
        counts->requests_failed = es.requests_failed;
        counts->failing_since_ms = es.failing_since_ms;
    }
}

static void log_cw_stats(const struct lf_cw_output *cw)
{
    struct lf_cw_stats s;

    lf_cw_output_stats(cw, &s);
    lf_log_info(
        "cloudwatch",
        "summary: delivered=%" PRIu64 " duplicates=%" PRIu64
        " rejected=%" PRIu64 " rejected_too_old=%" PRIu64
        " rejected_too_new=%" PRIu64 " rejected_expired=%" PRIu64
        " rejected_policy=%" PRIu64 " rejected_request=%" PRIu64
        " rejected_not_found=%" PRIu64 " requests=%" PRIu64
        " request_failures=%" PRIu64 " throttled=%" PRIu64
        " denied=%" PRIu64
        " retries=%" PRIu64 " groups_created=%" PRIu64
        " streams_created=%" PRIu64 " token_resends=%" PRIu64
        " credential_refreshes=%" PRIu64 " too_old_dropped=%" PRIu64
        " too_old_clamped=%" PRIu64 " too_new_dropped=%" PRIu64
        " too_new_clamped=%" PRIu64 " split_events=%" PRIu64
        " split_parts=%" PRIu64 " truncated=%" PRIu64 " invalid_utf8=%" PRIu64,
        s.events_delivered, s.events_duplicate, s.events_rejected,
        s.rejected_by_reason[LF_CW_REJECT_TOO_OLD],
        s.rejected_by_reason[LF_CW_REJECT_TOO_NEW],
        s.rejected_by_reason[LF_CW_REJECT_EXPIRED],
        s.rejected_by_reason[LF_CW_REJECT_POLICY],
        s.rejected_by_reason[LF_CW_REJECT_REQUEST],
        s.rejected_by_reason[LF_CW_REJECT_NOT_FOUND],
        s.requests_sent, s.requests_failed, s.throttled, s.requests_denied,
        s.retries, s.groups_created,
        s.streams_created, s.token_resends, s.credential_refreshes,
        s.batch.too_old_dropped, s.batch.too_old_clamped,
        s.batch.too_new_dropped, s.batch.too_new_clamped, s.batch.split_events,
        s.batch.split_parts, s.batch.truncated, s.batch.invalid_utf8);
}

static const struct sink *find_sink(const struct lf_output *output,
                                    bool cloudwatch)
{
    for (size_t i = 0; output != NULL && i < output->count; i++) {
        if ((output->sinks[i].cw != NULL) == cloudwatch) {
            return &output->sinks[i];
        }
    }
    return NULL;
}

bool lf_output_cw_stats(const struct lf_output *output, struct lf_cw_stats *cw)
{
    const struct sink *sink = find_sink(output, true);

    memset(cw, 0, sizeof(*cw));
    if (sink == NULL) {
        return false;
    }
    lf_cw_output_stats(sink->cw, cw);
    return true;
}

void lf_output_es_stats(const struct lf_output *output, struct lf_es_stats *es)
{
    const struct sink *sink = find_sink(output, false);

    memset(es, 0, sizeof(*es));
    if (sink != NULL) {
        lf_es_output_stats(sink->es, es);
    }
}

void lf_output_log_summary(const struct lf_output *output)
{
    const struct sink *cw = find_sink(output, true);

    if (cw != NULL) {
        log_cw_stats(cw->cw);
    }
    if (output == NULL || output->count < 2) {
        return;
    }
    for (size_t i = 0; i < output->count; i++) {
        struct lf_output_counts c;

        lf_output_counts_at(output, i, &c);
        lf_log_info("agent",
                    "output summary: output=%s delivered=%" PRIu64
                    " duplicates=%" PRIu64 " rejected=%" PRIu64
                    " requests=%" PRIu64 " request_failures=%" PRIu64
                    " publish_failed=%" PRIu64 " pending=%" PRIu64,
                    output->sinks[i].name, c.events_delivered,
                    c.events_duplicate, c.events_rejected, c.requests_sent,
                    c.requests_failed, c.publish_failed, c.events_pending);
    }
}

const char *lf_output_name(const struct lf_output *output)
{
    if (output->count == 2) {
        return "elasticsearch,cloudwatch";
    }
    return output->sinks[0].name;
}

const char *lf_output_describe(const struct lf_output *output)
{
    return output->describe;
}

/* ---- close ---- */

static void on_sink_closed(void *arg)
{
    struct lf_output *output = arg;
    void (*done)(void *arg) = output->done;
    void *done_arg = output->done_arg;

    if (--output->open_sinks > 0) {
        return;
    }
    lf_output_join_cleanup(&output->join);
    lf_buf_cleanup(&output->carry);
    lf_event_cleanup(&output->carry_event);
    lf_free(output);
    if (done != NULL) {
        done(done_arg);
    }
}

void lf_output_close(struct lf_output *output, void (*done)(void *arg),
                     void *arg)
{
    size_t count;

    if (output == NULL) {
        return;
    }
    output->done = done;
    output->done_arg = arg;
    output->closing = true;
    output->carry_mask = 0;
    count = output->count;
    output->open_sinks = count;
    for (size_t i = 0; i < count; i++) {
        /* Close callbacks run from the loop, never inside these calls. */
        struct sink *sink = &output->sinks[i];

        if (sink->cw != NULL) {
            lf_cw_output_close(sink->cw, on_sink_closed, output);
        } else {
            lf_es_output_close(sink->es, on_sink_closed, output);
        }
    }
}
