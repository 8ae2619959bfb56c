/*
 * `_bulk` request bodies: one action line (`create` or `index`) and one
 * document line per event, in NDJSON. Pure code: no I/O, no logging.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_ENCODE_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/buf.h"
#include "lf/event.h"
#include "lf/json.h"
#include "outputs/elasticsearch/es_index.h"

/* Elasticsearch rejects an `_id` longer than 512 bytes. */
#define LF_ES_ID_MAX_BYTES 512

/*
 * The action line's fixed start, built once per output, and the shapes of
 * recent documents. Used by one thread at a time.
 */
struct lf_es_encoder {
    struct lf_buf action_prefix; /* {"create":{ or {"create":{"_index":"X" */
    bool has_index;              /* action_prefix names the index */
    struct lf_json_shape_cache *shapes;
    /* Per-event `_index` and routing; borrowed, NULL when unused. */
    const struct lf_es_template *index_template;
    const char *index_fallback;
    const struct lf_es_template *routing;
    struct lf_buf scratch; /* one event's index name or routing */
};

/* Contents of an encoder's action lines. */
struct lf_es_encoder_options {
    const char *op_type;     /* "create" (NULL too) or "index" */
    const char *index;       /* fixed `_index`, or NULL */
    /* Per-event `_index`, used instead of `index`; borrowed. */
    const struct lf_es_template *index_template;
    const char *index_fallback; /* when index_template gives no valid name */
    const struct lf_es_template *routing; /* per-event routing, or NULL */
};

/*
 * Prepares the encoder for documents into `index`, a data stream name.
 * With `index` NULL the action lines name no index, for requests sent to
 * `/<index>/_bulk`, where Elasticsearch takes the index from the path.
 */
void lf_es_encoder_init(struct lf_es_encoder *enc, const char *index);

/*
 * Prepares the encoder from `options`. Templates are borrowed and must
 * outlive the encoder. The `_index` of an event is the template's value
 * when every field it names is present and the result is a valid index
 * name, else `index_fallback`. An event without routing gets none.
 */
void lf_es_encoder_init_options(struct lf_es_encoder *enc,
                                const struct lf_es_encoder_options *options);

void lf_es_encoder_cleanup(struct lf_es_encoder *enc);

/*
 * Appends one bulk item to `buf`:
 *
 *     {"create":{"_index":"INDEX","_id":"DOC_ID","routing":"R"}}\n
 *     DOCUMENT\n
 *
 * `_index` is there only when the encoder was given an index or an index
 * template, and `routing` when a routing template gives one. `doc_id`
 * NULL leaves `_id` out, so Elasticsearch generates one (and a resend
 * makes a duplicate). Returns 0, or LF_ETOOBIG with `buf` unchanged
 * when `doc_id` is longer than LF_ES_ID_MAX_BYTES.
 */
int lf_es_encode_item(struct lf_es_encoder *enc, struct lf_buf *buf,
                      const char *doc_id, const struct lf_event *ev);

#endif
