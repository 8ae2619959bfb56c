/*
 * State shared by cw_output.c (streams, batching, lifecycle) and
 * cw_send.c (requests, signing, replies) of the CloudWatch Logs output.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_CW_OUTPUT_PRIVATE_H
#define LF_OUTPUTS_CLOUDWATCH_CW_OUTPUT_PRIVATE_H

#include "agent/net/http_client.h"
#include "lf/buf.h"
#include "outputs/cloudwatch/aws_creds.h"
#include "outputs/cloudwatch/cw_output.h"
#include "outputs/cloudwatch/cw_sign.h"
#include "outputs/cloudwatch/sigv4.h"

#define LF_CW_LOG "cloudwatch"

/* Consecutive InvalidSequenceTokenException resends before a backoff. */
#define LF_CW_MAX_TOKEN_RESENDS 5

/* API call a stream runs now. */
enum lf_cw_op {
    LF_CW_OP_NONE,
    LF_CW_OP_PUT_LOG_EVENTS,
    LF_CW_OP_CREATE_LOG_GROUP,
    LF_CW_OP_PUT_RETENTION_POLICY,
    LF_CW_OP_CREATE_LOG_STREAM,
};

/* State of a stream's current operation. */
enum lf_cw_wait {
    LF_CW_WAIT_NONE,        /* idle, or its request is in flight */
    LF_CW_WAIT_BACKOFF,     /* the timer sends it again */
    LF_CW_WAIT_CREDENTIALS, /* sent when credentials arrive */
};

/*
 * Combined result of a split event whose parts have not all been
 * settled. Parts may be settled in different batches.
 */
struct lf_cw_split_result {
    struct lf_cw_event_ref ref;
    uint32_t parts_settled;
    bool rejected;                   /* a part was rejected for good */
    enum lf_cw_reject_reason reason; /* of the first rejected part */
    bool delivered;                  /* a part was stored by this agent */
};

struct lf_cw_stream {
    struct lf_cw_output *output;
    struct lf_cw_stream *next; /* in its hash bucket */
    char *group;               /* owned */
    char *name;                /* owned */
    uint64_t hash;
    struct lf_cw_batcher *batcher;
    size_t pending_events;     /* accepted here, without a result */
    uint64_t pending_since_ms; /* loop time the oldest pending came in,
                                  or the last batch was taken */
    size_t pending_bytes;      /* messages + overhead added since, an
                                  estimate before splits and truncation */
    struct lf_cw_batch *batch; /* in flight or waiting; NULL when idle */
    /* Split events with parts still pending or in `batch`. Usually 0 or 1
     * long, because the parts of an event are taken in order. */
    struct lf_cw_split_result *splits;
    size_t split_count;
    size_t split_cap;
    enum lf_cw_op op;
    enum lf_cw_wait wait;
    unsigned attempt; /* failed tries of the current op */
    bool refreshed;   /* credentials refreshed for this batch */
    unsigned token_resends;
    char *sequence_token; /* owned; NULL until the service
                             requires one */
    uv_timer_t timer;     /* backoff */
};

enum lf_cw_output_state {
    LF_CW_OUTPUT_RUNNING,
    LF_CW_OUTPUT_CLOSING,
};

struct lf_cw_output {
    uv_loop_t *loop;
    const struct lf_cw_config *config;
    struct lf_cw_output_callbacks callbacks;
    enum lf_cw_output_state state;
    struct lf_http_client *http;
    struct lf_aws_creds_provider *creds;
    struct lf_sigv4_signer *signer;
    struct lf_cw_signed_request signed_req; /* headers being sent */
    char *host; /* Host header: endpoint's authority */
    char *url;  /* request URL */
    char *path; /* request path, "/" */
    struct lf_cw_stream **buckets;
    size_t bucket_count;
    size_t stream_count;
    size_t pending; /* events without a result */
    bool full;      /* publish returned LF_EFULL */
    bool flushing;  /* flush asked: send partial batches */
    uv_timer_t flush_timer;
    uv_timer_t creds_timer; /* retries a failed credential lookup */
    struct lf_buf name_buf;
    struct lf_buf doc_buf;
    struct lf_buf body; /* body of the request being built */
    uint64_t rng;
    struct lf_cw_stats stats;
    unsigned open_handles; /* handles still to close on close */
    bool http_closed;
    void (*close_done)(void *arg);
    void *close_arg;
};

/* cw_output.c */

/* Reports every event of the stream's batch and frees the batch. */
void lf_cw_stream_settle(struct lf_cw_stream *stream,
                         const enum lf_cw_event_status *status,
                         enum lf_delivery accepted_as,
                         enum lf_cw_reject_reason reason);

/* Starts the next batch of an idle stream when one is due. */
void lf_cw_stream_maybe_send(struct lf_cw_stream *stream);

/* cw_send.c */

/* Sends the stream's current operation, waiting for credentials first. */
void lf_cw_send_op(struct lf_cw_stream *stream);

/* Arms the backoff timer of the stream's current operation. */
void lf_cw_backoff(struct lf_cw_stream *stream, const char *reason);

/* Sends every stream that waits for credentials. */
void lf_cw_resume_credential_waits(struct lf_cw_output *output);

#endif
