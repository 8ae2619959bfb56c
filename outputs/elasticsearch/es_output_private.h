/*
 * State of the Elasticsearch output shared by its files: es_output.c
 * (batching, compression jobs, queue, backoff, lifecycle), es_send.c
 * (requests, replies, results and their log lines) and es_hosts.c (host
 * selection and failover).
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

struct lf_es_dlq;
struct lf_es_reply;

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
    char **urls; /* per host: "<host><path>/<index>/_bulk?filter_path=..." */
    char *auth_header; /* "Authorization: ...", or NULL; never logged */
    size_t next_host;  /* round robin over config->hosts */
    struct lf_es_host_state *host_states; /* per host, es_hosts.c */
    uint64_t host_rng_state;              /* jitter of skip intervals */

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
    struct lf_es_dlq *dlq; /* dead-letter queue, or NULL when disabled */

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

/* es_hosts.c */

void lf_es_hosts_init(struct lf_es_output *output);

void lf_es_hosts_cleanup(struct lf_es_output *output);

/*
 * Returns the next live host in round robin order, or, when every host is
 * down, the one whose skip interval ends first.
 */
size_t lf_es_hosts_pick(struct lf_es_output *output);

/*
 * Marks `host` down after a connection error, timeout, TLS error or 5xx:
 * it is skipped for an interval that doubles per failure from
 * backoff.init, with jitter, up to backoff.max. Stores the new interval,
 * or 0 when the host was already down. Returns true when another host is
 * live, so the request can go there at once.
 */
bool lf_es_hosts_mark_down(struct lf_es_output *output, size_t host,
                           uint64_t *interval_ms_out);

/* Marks `host` live after it responded to a request. */
void lf_es_hosts_mark_up(struct lf_es_output *output, size_t host);

/* es_send.c */

/* Builds the URLs and the Authorization header. Returns 0 or LF_E*. */
int lf_es_send_init(struct lf_es_output *output);

void lf_es_send_cleanup(struct lf_es_output *output);

/* Sends `batch` to the next host; a failure to start is handled inside. */
void lf_es_send_batch(struct lf_es_output *output, struct lf_es_batch *batch);

/* Returns the host URL of the batch's last request, for log lines. */
const char *lf_es_send_host(const struct lf_es_output *output,
                            const struct lf_es_batch *batch);

/* es_reject.c */

/*
 * Opens the dead-letter queue when the configuration enables it. Returns
 * 0, or an LF_E* code after logging why.
 */
int lf_es_reject_open(struct lf_es_output *output);

void lf_es_reject_close(struct lf_es_output *output);

/*
 * Handles the rejected items of `reply` before they are reported: a
 * mapping conflict that can be moved aside is added to `*retry` (created
 * when NULL), every other one is written to the dead-letter queue, which
 * is then fsynced. It reads the items with a cursor of its own, so
 * `reply` is left for the caller to read. Returns NULL when the reply has
 * no rejected item.
 * Otherwise returns an array of item_count flags, true for the items
 * added to `*retry`, which must not be reported. Free it with lf_free().
 */
bool *lf_es_reject_items(struct lf_es_output *output,
                         const struct lf_es_batch *batch,
                         const struct lf_es_reply *reply,
                         struct lf_es_batch **retry);

/*
 * Writes every item of `batch` to the dead-letter queue with the status
 * and error of the request that rejected them all, and counts them.
 */
void lf_es_reject_batch(struct lf_es_output *output,
                        const struct lf_es_batch *batch,
                        enum lf_es_reject_reason reason, int status,
                        const char *error_type, const char *error_reason);

#endif
