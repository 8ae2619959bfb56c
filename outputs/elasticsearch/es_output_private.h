/*
 * State of the Elasticsearch output shared by its two files: es_output.c
 * (batching, compression jobs, queue, backoff, lifecycle) and es_send.c
 * (requests, replies, results and their log lines).
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_OUTPUT_PRIVATE_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_OUTPUT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "agent/net/http_client.h"
#include "outputs/elasticsearch/es_batch.h"
#include "outputs/elasticsearch/es_encode.h"
#include "outputs/elasticsearch/es_output.h"

#define LF_ES_LOG "es"

enum lf_es_output_state {
    LF_ES_OUTPUT_RUNNING,
    LF_ES_OUTPUT_CLOSING, /* waiting for handles, requests and jobs */
};

struct lf_es_output {
    uv_loop_t *loop;
    const struct lf_es_config *config;
    struct lf_es_output_callbacks callbacks;
    enum lf_es_output_state state;
    struct lf_http_client *http;
    struct lf_es_encoder encoder;

    /* Request parts, built once by lf_es_send_init(). */
    char **urls;       /* per host: "<host>/<index>/_bulk?filter_path=..." */
    char *auth_header; /* "Authorization: ...", or NULL; never logged */
    size_t next_host;  /* round robin over config->hosts */

    struct lf_es_batch *open; /* taking events, or NULL */
    /* Closed batches in the order they are sent: compressing or ready. */
    struct lf_es_batch *queue_head;
    struct lf_es_batch *queue_tail;
    size_t closed_count; /* batches closed and not yet finished */
    size_t in_flight;    /* requests sent, reply not yet handled */
    size_t in_flight_limit; /* `workers`, less while overloaded */
    size_t compressing;  /* jobs on the thread pool */
    size_t pending_events;
    bool blocked;         /* publish returned LF_EFULL: on_ready is owed */
    bool flush_requested; /* flush requested while no batch could close */

    uv_timer_t flush_timer;
    uv_timer_t backoff_timer;
    unsigned backoff_attempt; /* failed steps in a row, 0 when healthy */
    bool backing_off;         /* no request starts until the timer fires */
    uint64_t rng_state;       /* jitter */

    struct lf_es_gzip **idle_compressors;
    size_t idle_count;
    size_t idle_cap;

    struct lf_es_stats stats;

    size_t open_handles; /* timers and client still to close */
    void (*close_done)(void *arg);
    void *close_arg;
};

/* es_output.c */

/* Queues a closed batch and starts compressing it when configured. */
void lf_es_output_submit(struct lf_es_output *output,
                         struct lf_es_batch *batch);

/* Puts a batch whose request failed back at the head of the queue. */
void lf_es_output_requeue(struct lf_es_output *output,
                          struct lf_es_batch *batch);

/*
 * Frees a batch whose every item has a result, then closes a waiting open
 * batch, sends queued ones and calls on_ready when publish may succeed.
 */
void lf_es_output_batch_done(struct lf_es_output *output,
                             struct lf_es_batch *batch);

/* Reports one event's final result and counts it. */
void lf_es_output_report(struct lf_es_output *output, struct lf_ack_ref ref,
                         enum lf_delivery result);

/*
 * Starts a backoff step unless one is running. Returns true and stores the
 * delay when a step started (the caller logs the failure once per step).
 */
bool lf_es_output_backoff(struct lf_es_output *output, uint64_t *delay_ms_out);

/*
 * Ends a run of failures after a request succeeded without an item to
 * retry, and allows one more request in flight, up to `workers`.
 */
void lf_es_output_backoff_reset(struct lf_es_output *output,
                                const struct lf_es_batch *batch);

/*
 * Halves the requests allowed in flight, down to 1, after the reply to
 * `batch` reported an overload (429, 503, 504, rejected execution).
 */
void lf_es_output_overloaded(struct lf_es_output *output,
                             const struct lf_es_batch *batch);

/* Sends queued batches while workers are free and no backoff runs. */
void lf_es_output_pump(struct lf_es_output *output);

/* es_send.c */

/* Builds the URLs and the Authorization header. Returns 0 or LF_E*. */
int lf_es_send_init(struct lf_es_output *output);

void lf_es_send_cleanup(struct lf_es_output *output);

/* Sends `batch` to the next host; a failure to start is handled inside. */
void lf_es_send_batch(struct lf_es_output *output, struct lf_es_batch *batch);

/* Returns the host URL of the batch's last request, for log lines. */
const char *lf_es_send_host(const struct lf_es_output *output,
                            const struct lf_es_batch *batch);

#endif
