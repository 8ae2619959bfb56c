/*
 * Bulk item encoder. The action line of every item shares its start, so
 * that start is escaped once when the output starts and copied per item.
 * Documents are written by lf_json_append_event_cached() straight into
 * the body.
 */
#include "outputs/elasticsearch/es_encode.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <string.h>

void lf_es_encoder_init(struct lf_es_encoder *enc, const char *index)
{
    static const char start[] = "{\"create\":{";
    static const char index_key[] = "\"_index\":";

    lf_buf_init(&enc->action_prefix);
    lf_buf_append(&enc->action_prefix, start, LF_STRLEN(start));
    enc->has_index = index != NULL;
    if (enc->has_index) {
        lf_buf_append(&enc->action_prefix, index_key, LF_STRLEN(index_key));
        lf_json_append_string(&enc->action_prefix, index, strlen(index));
    }
    enc->shapes = lf_json_shape_cache_new();
}

void lf_es_encoder_cleanup(struct lf_es_encoder *enc)
{
    lf_buf_cleanup(&enc->action_prefix);
    lf_json_shape_cache_free(enc->shapes);
    enc->shapes = NULL;
}

int lf_es_encode_item(struct lf_es_encoder *enc, struct lf_buf *buf,
                      const char *doc_id, const struct lf_event *ev)
{
    static const char id_key[] = ",\"_id\":";
    static const char action_end[] = "}}\n";
    size_t id_len = doc_id == NULL ? 0 : strlen(doc_id);
    /* Without an index, `_id` is the first member: no comma. */
    size_t id_skip = enc->has_index ? 0 : 1;
    size_t prefix_len = enc->action_prefix.len;

    if (id_len > LF_ES_ID_MAX_BYTES) {
        return LF_ETOOBIG;
    }

    lf_buf_reserve(buf, prefix_len + LF_STRLEN(id_key));
    memcpy(buf->data + buf->len, enc->action_prefix.data, prefix_len);
    buf->len += prefix_len;
    if (doc_id != NULL) {
        memcpy(buf->data + buf->len, id_key + id_skip,
               LF_STRLEN(id_key) - id_skip);
        buf->len += LF_STRLEN(id_key) - id_skip;
        lf_json_append_string(buf, doc_id, id_len);
    }
    lf_buf_append(buf, action_end, LF_STRLEN(action_end));
    lf_json_append_event_cached(buf, enc->shapes, ev);
    lf_buf_append_char(buf, '\n');
    return 0;
}
