/*
 * Reading a `_bulk` reply item by item. Pure code: no I/O, no logging.
 *
 * The top-level `errors` flag is not used, because clusters have returned
 * `"errors": false` next to rejected items. Every item is classified from
 * its own `status` and `error`.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_REPLY_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_REPLY_H

#include <stddef.h>

#include <jansson.h>

enum lf_es_item_outcome {
    LF_ES_ITEM_INDEXED,   /* 2xx: stored */
    LF_ES_ITEM_DUPLICATE, /* 409 or "already exists": stored earlier */
    LF_ES_ITEM_RETRY,     /* 429, 5xx, or rejected execution: send again */
    LF_ES_ITEM_REJECTED,  /* any other error: will never be stored */
};

#define LF_ES_ITEM_OUTCOME_COUNT 4

/* One item of a reply. Strings are borrowed from the reply, or NULL. */
struct lf_es_item_result {
    enum lf_es_item_outcome outcome;
    int status;               /* HTTP status of the item, 0 when absent */
    const char *action;       /* "create", "index", "update" or "delete" */
    const char *index;        /* `_index`: a backing index for data streams */
    const char *id;           /* `_id` */
    const char *error_type;   /* NULL unless the item has an error */
    const char *error_reason; /* NULL when the error has no reason */
    const char *cause_reason; /* error.caused_by.reason */
};

struct lf_es_reply {
    json_t *root;    /* the parsed body */
    json_t *derived; /* array owning strings cut out of old-style errors */
    struct lf_es_item_result *items; /* one per request item, in order */
    size_t item_count;
    size_t count[LF_ES_ITEM_OUTCOME_COUNT]; /* items per outcome */
};

/*
 * Parses the body of a 2xx `_bulk` reply to a request of `item_count`
 * items. Old formats are read too: a string `error` without `status`
 * (Elasticsearch 0.90) and `_type` members. Returns 0 with `reply` filled.
 * Returns LF_EPROTO when the body is not a bulk reply, or when it lists a
 * different number of items than were sent (a reply filtered down to its
 * failed items, or cut short). Then the whole request must be retried.
 * Call lf_es_reply_cleanup() in both cases.
 */
int lf_es_reply_parse(struct lf_es_reply *reply, const char *body, size_t len,
                      size_t item_count);

/* Frees what lf_es_reply_parse() stored; accepts a zeroed reply. */
void lf_es_reply_cleanup(struct lf_es_reply *reply);

/* Returns "indexed", "duplicate", "retry" or "rejected". */
const char *lf_es_item_outcome_name(enum lf_es_item_outcome outcome);

#endif
