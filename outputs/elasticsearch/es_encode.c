/*
 * Bulk item encoder. The action line of every item shares its start, so
 * that start is escaped once when the output starts and copied per item.
 * Documents are written by lf_json_append_event() straight into the body.
 */
#include "outputs/elasticsearch/es_encode.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"

#include <string.h>

void lf_es_encoder_init(struct lf_es_encoder *enc, const char *index)
{
    static const char start[] = "{\"create\":{\"_index\":";

    lf_buf_init(&enc->action_prefix);
    lf_buf_append(&enc->action_prefix, start, LF_STRLEN(start));
    lf_json_append_string(&enc->action_prefix, index, strlen(index));
}

void lf_es_encoder_cleanup(struct lf_es_encoder *enc)
{
    lf_buf_cleanup(&enc->action_prefix);
}

int lf_es_encode_item(const struct lf_es_encoder *enc, struct lf_buf *buf,
                      const char *doc_id, const struct lf_event *ev)
{
    static const char id_key[] = ",\"_id\":";
    static const char action_end[] = "}}\n";
    size_t id_len = doc_id == NULL ? 0 : strlen(doc_id);

    if (id_len > LF_ES_ID_MAX_BYTES) {
        return LF_ETOOBIG;
    }

    lf_buf_append(buf, enc->action_prefix.data, enc->action_prefix.len);
    if (doc_id != NULL) {
        lf_buf_append(buf, id_key, LF_STRLEN(id_key));
        lf_json_append_string(buf, doc_id, id_len);
    }
    lf_buf_append(buf, action_end, LF_STRLEN(action_end));
    lf_json_append_event(buf, ev);
    lf_buf_append_char(buf, '\n');
    return 0;
}
