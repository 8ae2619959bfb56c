/*
 * CloudWatch Logs output: groups events into log streams named by
 * templates over their fields, batches each stream by the PutLogEvents
 * rules (cw_batch.h), signs requests with SigV4 and sends them on the
 * agent's loop, one batch in flight per stream.
 *
 * Every accepted event is reported exactly once through on_result: as
 * indexed when the service accepted it, as duplicate when the service
 * answered DataAlreadyAcceptedException, or as rejected when the service
 * rejected it (rejectedLogEventsInfo or a client error) or a batch policy
 * dropped it. Throttling, 5xx, transport errors and missing credentials
 * are retried inside the output with jittered exponential backoff, one
 * stream at a time, and are not reported until they resolve.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_CW_OUTPUT_H
#define LF_OUTPUTS_CLOUDWATCH_CW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lf/event.h"
#include "outputs/cloudwatch/cw_batch.h"
#include "outputs/cloudwatch/cw_config.h"
/* NOTE: struct lf_ack_ref and enum lf_delivery are declared there, shared
 * by both outputs. */
#include "outputs/elasticsearch/es_output.h"

struct lf_cw_output_callbacks {
    void *arg;
    /* Called once per accepted event. May be called from inside publish. */
    void (*on_result)(void *arg, struct lf_ack_ref ref,
                      enum lf_delivery result);
    /* Called when the output has room again after publish returned FULL. */
    void (*on_ready)(void *arg);
};

/* Reason of a rejection, counted in lf_cw_stats. */
enum lf_cw_reject_reason {
    LF_CW_REJECT_TOO_OLD,     /* rejectedLogEventsInfo: too old */
    LF_CW_REJECT_TOO_NEW,     /* rejectedLogEventsInfo: too new */
    LF_CW_REJECT_EXPIRED,     /* rejectedLogEventsInfo: past retention */
    LF_CW_REJECT_POLICY,      /* dropped by out_of_window or an empty line */
    LF_CW_REJECT_REQUEST,     /* the service rejected the whole request */
    LF_CW_REJECT_NOT_FOUND,   /* group or stream missing, auto_create off */
};

#define LF_CW_REJECT_REASON_COUNT 6

/* Returns "too_old", "too_new", "expired", "policy", "request" or
 * "not_found". */
const char *lf_cw_reject_reason_name(enum lf_cw_reject_reason reason);

/* Counters since start; read with lf_cw_output_stats(). */
struct lf_cw_stats {
    uint64_t events_delivered;
    uint64_t events_duplicate; /* DataAlreadyAcceptedException */
    uint64_t events_rejected;
    uint64_t rejected_by_reason[LF_CW_REJECT_REASON_COUNT];
    uint64_t requests_sent;   /* every API call, retries included */
    uint64_t requests_failed; /* transport errors and error replies */
    uint64_t throttled;       /* throttling and 429 replies */
    /* refused for permission or signature, or still expired after a
     * refresh; retried after a backoff */
    uint64_t requests_denied;
    uint64_t retries;         /* requests sent again after a backoff */
    uint64_t bytes_sent;      /* request bodies */
    uint64_t groups_created;
    uint64_t streams_created;
    uint64_t token_resends;         /* InvalidSequenceTokenException */
    uint64_t credential_refreshes;  /* forced by an expired-token error */
    struct lf_cw_batch_stats batch; /* policies applied, all streams */
    /*
     * Loop time (uv_now) of the first failed request since the last 2xx
     * reply, or 0 while the last request succeeded or none failed.
     */
    uint64_t failing_since_ms;
};

struct lf_cw_output;

/*
 * Creates the output on `loop`. `config` is borrowed and must outlive the
 * output. Returns 0, or a negative LF_E* code.
 */
int lf_cw_output_new(uv_loop_t *loop, const struct lf_cw_config *config,
                     const struct lf_cw_output_callbacks *callbacks,
                     struct lf_cw_output **out);

/*
 * Adds `ev` to the batch of its log stream. The message is copied; the
 * caller may reset the event right after. `doc_id` is unused, because
 * CloudWatch Logs has no document ids; it keeps the call the same as the
 * Elasticsearch output's. Returns 0, or LF_EFULL when max_pending_events
 * events wait for a result (nothing was taken: publish again after
 * on_ready), or LF_ESTATE after close.
 */
int lf_cw_output_publish(struct lf_cw_output *output, const struct lf_event *ev,
                         const char *doc_id, struct lf_ack_ref ref);

/* Sends every pending event now instead of waiting for flush_interval. */
void lf_cw_output_flush(struct lf_cw_output *output);

/* Returns the number of accepted events without a result yet. */
size_t lf_cw_output_pending(const struct lf_cw_output *output);

void lf_cw_output_stats(const struct lf_cw_output *output,
                        struct lf_cw_stats *out);

/*
 * Stops sending, cancels requests in flight (their events get no result,
 * so their offsets are never committed) and frees the output once every
 * libuv handle is closed; then calls `done(arg)` if it is not NULL.
 */
void lf_cw_output_close(struct lf_cw_output *output, void (*done)(void *arg),
                        void *arg);

#endif
