/*
 * Elasticsearch output: batches events into `_bulk` requests, compresses
 * them, keeps `workers` requests in flight on the agent's loop, and reports
 * a final result for every event it accepted.
 *
 * Every accepted event is reported exactly once through on_result, after
 * Elasticsearch acknowledged it (2xx), answered 409 to its `create` (the
 * document already exists: a resend), or rejected it permanently. Items
 * answered 429 or 5xx, and whole requests that fail (connection refused,
 * timeout, 429, 5xx), are retried inside the output, on the next live host
 * or after a jittered exponential backoff, and are not reported until
 * they resolve. A rejected event is written and fsynced to the dead-letter
 * queue, when it is enabled and has room, before it is reported.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_OUTPUT_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lf/event.h"
#include "outputs/elasticsearch/es_config.h"

/* Opaque to the output: the agent's handle for one event's acknowledgement. */
struct lf_ack_ref {
    void *source;
    uint64_t ticket;
};

enum lf_delivery {
    LF_DELIVERY_INDEXED,   /* 2xx */
    LF_DELIVERY_DUPLICATE, /* 409 on create: it was indexed before */
    LF_DELIVERY_REJECTED,  /* permanent error, logged with its reason */
};

struct lf_es_output_callbacks {
    void *arg;
    /* Called once per accepted event. May be called from inside publish. */
    void (*on_result)(void *arg, struct lf_ack_ref ref,
                      enum lf_delivery result);
    /* Called when the output has room again after publish returned FULL. */
    void (*on_ready)(void *arg);
};

/* Reason of a permanent rejection, counted in lf_es_stats. */
enum lf_es_reject_reason {
    LF_ES_REJECT_MAPPING,   /* the document does not fit the mapping */
    LF_ES_REJECT_ITEM,      /* any other error of the item */
    LF_ES_REJECT_TOO_LARGE, /* 413 for a request of this document alone */
    LF_ES_REJECT_REQUEST,   /* the whole request was rejected with a 4xx */
};

#define LF_ES_REJECT_REASON_COUNT 4

/* Returns "mapping", "item", "too_large" or "request". */
const char *lf_es_reject_reason_name(enum lf_es_reject_reason reason);

/*
 * Bulk replies by status class: index 0 counts transport failures (no
 * reply), 1 to 5 count 1xx to 5xx replies.
 */
#define LF_ES_STATUS_CLASS_COUNT 6

/* Upper bounds in seconds of the bulk request latency histogram. */
#define LF_ES_LATENCY_BOUND_COUNT 11
extern const double lf_es_latency_bounds_s[LF_ES_LATENCY_BOUND_COUNT];

/* Counters since start; read with lf_es_output_stats(). */
struct lf_es_stats {
    uint64_t events_indexed;
    uint64_t events_duplicate;
    uint64_t events_rejected;
    uint64_t events_retried;   /* item-level retries (429/5xx items) */
    uint64_t requests_sent;
    uint64_t requests_failed;  /* transport errors and non-2xx replies */
    uint64_t bytes_sent;       /* request bodies after compression */
    uint64_t rejected_by_reason[LF_ES_REJECT_REASON_COUNT];
    uint64_t events_relocated; /* resent with a field moved to labels,
                                  or to index_fallback */
    uint64_t dead_lettered;    /* records written to the dead-letter queue */
    uint64_t dead_letter_dropped; /* rejected, and the queue was full or
                                     could not be written */
    uint64_t responses_by_class[LF_ES_STATUS_CLASS_COUNT];
    /*
     * Transfer time of bulk requests that got a reply, as libcurl measures
     * it: a count per bound of lf_es_latency_bounds_s (non-cumulative),
     * the last one above every bound, and their sum in seconds.
     */
    uint64_t latency_counts[LF_ES_LATENCY_BOUND_COUNT + 1];
    double latency_sum_s;
    /*
     * Loop time (uv_now) of the first failed bulk request since the last
     * 2xx reply, or 0 while the last request succeeded or none failed.
     */
    uint64_t failing_since_ms;
};

struct lf_es_output;

/*
 * Creates the output on `loop`. `config` is borrowed and must outlive the
 * output. Returns 0, or a negative LF_E* code.
 */
int lf_es_output_new(uv_loop_t *loop, const struct lf_es_config *config,
                     const struct lf_es_output_callbacks *callbacks,
                     struct lf_es_output **out);

/*
 * Encodes `ev` with `doc_id` as its `_id` into the open batch. The event is
 * copied; the caller may reset it right after. Returns 0, or LF_EFULL when
 * the output has as many batches as it may (nothing was taken: pause the
 * source and publish again after on_ready).
 */
int lf_es_output_publish(struct lf_es_output *output,
                         const struct lf_event *ev, const char *doc_id,
                         struct lf_ack_ref ref);

/*
 * Like lf_es_output_publish() for an item already encoded: its action
 * line and document, each without '\n' (`dlq replay` sends records so).
 * Both are copied. Returns 0 or LF_EFULL as publish does.
 */
int lf_es_output_publish_lines(struct lf_es_output *output, const char *action,
                               size_t action_len, const char *doc,
                               size_t doc_len, struct lf_ack_ref ref);

/* Sends the open batch now instead of waiting for flush_interval. */
void lf_es_output_flush(struct lf_es_output *output);

/* Returns the number of accepted events without a result yet. */
size_t lf_es_output_pending(const struct lf_es_output *output);

void lf_es_output_stats(const struct lf_es_output *output,
                        struct lf_es_stats *out);

/*
 * Stops sending, cancels requests in flight (their events get no result,
 * so their offsets are never committed) and frees the output once every
 * libuv handle is closed; then calls `done(arg)` if it is not NULL.
 */
void lf_es_output_close(struct lf_es_output *output,
                        void (*done)(void *arg), void *arg);

#endif
