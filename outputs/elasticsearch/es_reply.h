/*
 * Reading a `_bulk` reply item by item in bounded memory. Pure code: no
 * I/O, no logging, no allocation.
 *
 * The top-level `errors` flag is not used, because clusters have returned
 * `"errors": false` next to rejected items. Every item is classified from
 * its own `status` and `error`.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_REPLY_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_REPLY_H

#include <stdbool.h>
#include <stddef.h>

enum lf_es_item_outcome {
    LF_ES_ITEM_INDEXED,   /* 2xx: stored */
    LF_ES_ITEM_DUPLICATE, /* 409 or "already exists": stored earlier */
    LF_ES_ITEM_RETRY,     /* 429, 5xx, rejected execution, no result */
    LF_ES_ITEM_REJECTED,  /* any other error: will never be stored */
};

#define LF_ES_ITEM_OUTCOME_COUNT 4

/*
 * Sizes of the text fields of an item, NUL included. A longer text is cut
 * at a UTF-8 character boundary. Elasticsearch limits index names to 255
 * bytes and `_id` to 512 bytes, so those two are cut only in a reply that
 * breaks those limits.
 */
#define LF_ES_REPLY_ACTION_SIZE 16
#define LF_ES_REPLY_INDEX_SIZE 256
#define LF_ES_REPLY_ID_SIZE 513
#define LF_ES_REPLY_TYPE_SIZE 128
#define LF_ES_REPLY_REASON_SIZE 512

/* One item of a reply, copied out of the body. Absent texts are "". */
struct lf_es_item_result {
    enum lf_es_item_outcome outcome;
    int status; /* HTTP status of the item, 0 when absent or invalid */
    bool ok;    /* "ok": true, the success mark of Elasticsearch 0.90 */
    char action[LF_ES_REPLY_ACTION_SIZE];   /* "create", "index", ... */
    char index[LF_ES_REPLY_INDEX_SIZE];     /* `_index`, a backing index */
    char id[LF_ES_REPLY_ID_SIZE];           /* `_id` */
    char error_type[LF_ES_REPLY_TYPE_SIZE]; /* "" unless there is an error */
    char error_reason[LF_ES_REPLY_REASON_SIZE];
    char cause_reason[LF_ES_REPLY_REASON_SIZE]; /* error.caused_by.reason */
};

/* A reader over one reply body. Callers read only `count`. */
struct lf_es_reply {
    const char *pos; /* the next item, or its separating comma */
    const char *end;
    size_t item_count;   /* items in the request */
    size_t result_count; /* leading items the reply has a result for */
    size_t next;         /* index of the item lf_es_reply_next() reads */
    size_t count[LF_ES_ITEM_OUTCOME_COUNT]; /* items read, per outcome */
};

/*
 * Checks the body of a 2xx `_bulk` reply to a request of `item_count`
 * items and prepares `reply` to read its items. Old formats are read too:
 * a string `error` without `status` (Elasticsearch 0.90) and `_type`
 * members. An item without an error reads as LF_ES_ITEM_RETRY with
 * status 0 when its `status` is present but not an integer from 100 to
 * 599, or absent without the "ok": true of those old replies.
 * Nesting deeper than 32 levels is malformed.
 *
 * A reply that breaks off inside its item list, because it was cut short
 * or continues with bytes that are not JSON, still gives the items before
 * the break. Every later item reads as LF_ES_ITEM_RETRY with status 0, and
 * the call returns 0.
 *
 * Returns LF_EPROTO when the body is not a bulk reply, when its complete
 * item list has another length than `item_count` (a reply filtered down
 * to its failed items, say), when it lists more items than were sent, or
 * when no item has a result. The whole request must then be retried.
 * The body must stay unchanged until the last lf_es_reply_next() call.
 */
int lf_es_reply_open(struct lf_es_reply *reply, const char *body, size_t len,
                     size_t item_count);

/*
 * Reads the next item into `item` and counts its outcome. Returns false,
 * leaving `item` unchanged, once all `item_count` items were read.
 */
bool lf_es_reply_next(struct lf_es_reply *reply,
                      struct lf_es_item_result *item);

/* Returns how many items have no result in the reply and are retried. */
size_t lf_es_reply_missing(const struct lf_es_reply *reply);

/*
 * Returns true when the item reports that the cluster is overloaded: status
 * 429, 503 or 504, or a rejected execution whatever the status.
 */
bool lf_es_item_overloaded(const struct lf_es_item_result *item);

/* Returns "indexed", "duplicate", "retry" or "rejected". */
const char *lf_es_item_outcome_name(enum lf_es_item_outcome outcome);

#endif
