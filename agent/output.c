/*
 * Dispatch to the configured output.
 */
#include "agent/output.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/cw_output.h"

#include <inttypes.h>
#include <string.h>

struct lf_output {
    const struct lf_config *config;
    struct lf_es_output *es; /* exactly one of es and cw is set */
    struct lf_cw_output *cw;
    void (*done)(void *arg);
    void *done_arg;
};

int lf_output_new(uv_loop_t *loop, const struct lf_config *config,
                  const lf_output_callbacks *callbacks, struct lf_output **out)
{
    struct lf_output *output = lf_calloc(1, sizeof(*output));
    int rc;

    output->config = config;
    if (config->use_cloudwatch) {
        struct lf_cw_output_callbacks cw_callbacks = {
            .arg = callbacks->arg,
            .on_result = callbacks->on_result,
            .on_ready = callbacks->on_ready,
        };

        rc = lf_cw_output_new(loop, &config->cw, &cw_callbacks, &output->cw);
    } else {
        rc = lf_es_output_new(loop, &config->es, callbacks, &output->es);
    }
    if (rc != 0) {
        lf_log_error("agent", "starting the %s output failed: %s",
                     config->use_cloudwatch ? "CloudWatch Logs"
                                            : "Elasticsearch",
                     lf_strerror(rc));
        lf_free(output);
        return rc;
    }
    *out = output;
    return 0;
}

int lf_output_publish(struct lf_output *output, const struct lf_event *ev,
                      const char *doc_id, struct lf_ack_ref ref)
{
    if (output->cw != NULL) {
        return lf_cw_output_publish(output->cw, ev, doc_id, ref);
    }
    return lf_es_output_publish(output->es, ev, doc_id, ref);
}

void lf_output_flush(struct lf_output *output)
{
    if (output->cw != NULL) {
        lf_cw_output_flush(output->cw);
    } else {
        lf_es_output_flush(output->es);
    }
}

size_t lf_output_pending(const struct lf_output *output)
{
    if (output->cw != NULL) {
        return lf_cw_output_pending(output->cw);
    }
    return lf_es_output_pending(output->es);
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
        " rejected_not_found=%" PRIu64 " rejected_credentials=%" PRIu64
        " requests=%" PRIu64 " request_failures=%" PRIu64 " throttled=%" PRIu64
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
        s.rejected_by_reason[LF_CW_REJECT_CREDENTIALS], s.requests_sent,
        s.requests_failed, s.throttled, s.retries, s.groups_created,
        s.streams_created, s.token_resends, s.credential_refreshes,
        s.batch.too_old_dropped, s.batch.too_old_clamped,
        s.batch.too_new_dropped, s.batch.too_new_clamped, s.batch.split_events,
        s.batch.split_parts, s.batch.truncated, s.batch.invalid_utf8);
}

void lf_output_es_stats(const struct lf_output *output, struct lf_es_stats *es)
{
    memset(es, 0, sizeof(*es));
    if (output != NULL && output->es != NULL) {
        lf_es_output_stats(output->es, es);
    }
}

void lf_output_log_summary(const struct lf_output *output)
{
    if (output != NULL && output->cw != NULL) {
        log_cw_stats(output->cw);
    }
}

const char *lf_output_name(const struct lf_output *output)
{
    return output->cw != NULL ? "cloudwatch" : "elasticsearch";
}

const char *lf_output_describe(const struct lf_output *output)
{
    if (output->cw != NULL) {
        return output->config->cw.endpoint;
    }
    return output->config->es.hosts[0];
}

static void on_closed(void *arg)
{
    struct lf_output *output = arg;
    void (*done)(void *arg) = output->done;
    void *done_arg = output->done_arg;

    lf_free(output);
    if (done != NULL) {
        done(done_arg);
    }
}

void lf_output_close(struct lf_output *output, void (*done)(void *arg),
                     void *arg)
{
    if (output == NULL) {
        return;
    }
    output->done = done;
    output->done_arg = arg;
    if (output->cw != NULL) {
        lf_cw_output_close(output->cw, on_closed, output);
    } else {
        lf_es_output_close(output->es, on_closed, output);
    }
}
