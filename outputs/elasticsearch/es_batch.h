/*
 * A batch of bulk items: the NDJSON body, where each item sits in it and
 * whose acknowledgement it carries, and the gzip copy that is sent. Items
 * keep their encoded bytes, so a retry or a split copies bytes instead of
 * encoding events again. No I/O and no logging: the uv_work_t is storage
 * for the output's compression job.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_BATCH_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "lf/buf.h"
#include "outputs/elasticsearch/es_output.h"

struct lf_es_gzip;
struct lf_es_output;

/* One item: its action and document lines in the body. */
struct lf_es_item {
    size_t offset; /* into lf_es_batch.body */
    size_t len;    /* both lines with their '\n' */
    struct lf_ack_ref ref;
    bool relocated; /* a mapping conflict already moved a field away */
};

enum lf_es_batch_state {
    LF_ES_BATCH_OPEN,        /* taking events */
    LF_ES_BATCH_COMPRESSING, /* on libuv's thread pool */
    LF_ES_BATCH_READY,       /* waiting for a worker or the end of backoff */
    LF_ES_BATCH_SENDING,     /* HTTP request in flight */
};

struct lf_es_batch {
    struct lf_es_output *output;
    struct lf_es_batch *next; /* in the output's send queue */
    enum lf_es_batch_state state;
    struct lf_buf body; /* NDJSON, the request body when not compressing */
    struct lf_buf gz;   /* gzip of `body`; empty when compression is off */
    struct lf_es_item *items;
    size_t count;
    size_t cap;
    size_t host;      /* index of the host of the last request */
    uint64_t sent_ms; /* loop time of the last request */
    /* While COMPRESSING, the pool thread owns the buffers and these. */
    uv_work_t work;
    struct lf_es_gzip *compressor;
    int compress_rc;
};

struct lf_es_batch *lf_es_batch_new(struct lf_es_output *output);

/* Frees the batch and its buffers; accepts NULL. */
void lf_es_batch_free(struct lf_es_batch *batch);

/* Records the item that was just encoded at `offset` to the body's end. */
void lf_es_batch_add(struct lf_es_batch *batch, size_t offset,
                     struct lf_ack_ref ref);

/*
 * Appends an item from its two lines, `action` and `doc`, each given
 * without its '\n'.
 */
void lf_es_batch_add_lines(struct lf_es_batch *batch, const char *action,
                           size_t action_len, const char *doc, size_t doc_len,
                           struct lf_ack_ref ref, bool relocated);

/* Appends item `index` of `from`, bytes, ref and flag, to `to`. */
void lf_es_batch_copy_item(struct lf_es_batch *to,
                           const struct lf_es_batch *from, size_t index);

/*
 * Moves the last item of `from` into `to`, which must be empty: used when
 * an event overflows bulk_max_bytes and starts the next batch.
 */
void lf_es_batch_move_last(struct lf_es_batch *to, struct lf_es_batch *from);

/*
 * Writes the gzip form of the body into `gz` with `compressor`. Safe to
 * run on a pool thread. Returns 0, or LF_ETOOBIG when the result does not
 * fit libdeflate's own bound, which libdeflate documents as impossible.
 */
int lf_es_batch_compress(struct lf_es_batch *batch,
                         struct lf_es_gzip *compressor);

/* Returns the bytes to send: the gzip copy when there is one. */
const struct lf_buf *lf_es_batch_payload(const struct lf_es_batch *batch);

#endif
