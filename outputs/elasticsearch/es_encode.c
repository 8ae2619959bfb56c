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
    struct lf_es_encoder_options options = {.index = index};

    lf_es_encoder_init_options(enc, &options);
}

void lf_es_encoder_init_options(struct lf_es_encoder *enc,
                                const struct lf_es_encoder_options *options)
{
    static const char index_key[] = "\"_index\":";
    const char *op = options->op_type != NULL ? options->op_type : "create";

    memset(enc, 0, sizeof(*enc));
    lf_buf_init(&enc->action_prefix);
    lf_buf_init(&enc->scratch);
    lf_buf_appendf(&enc->action_prefix, "{\"%s\":{", op);
    enc->index_template = options->index_template;
    enc->index_fallback = options->index_fallback;
    enc->routing = options->routing;
    enc->has_index = options->index != NULL;
    if (enc->has_index && enc->index_template == NULL) {
        lf_buf_append(&enc->action_prefix, index_key, LF_STRLEN(index_key));
        lf_json_append_string(&enc->action_prefix, options->index,
                              strlen(options->index));
    }
    enc->shapes = lf_json_shape_cache_new();
}

void lf_es_encoder_cleanup(struct lf_es_encoder *enc)
{
    lf_buf_cleanup(&enc->scratch);
    lf_buf_cleanup(&enc->action_prefix);
    lf_json_shape_cache_free(enc->shapes);
    enc->shapes = NULL;
}

/* Writes the event's index name into enc->scratch. */
static void format_index(struct lf_es_encoder *enc, const struct lf_event *ev)
{
    lf_buf_reset(&enc->scratch);
    if (lf_es_template_format(enc->index_template, ev, true, &enc->scratch) !=
            0 ||
        lf_es_index_name_problem(enc->scratch.data, enc->scratch.len) !=
            NULL) {
        lf_buf_reset(&enc->scratch);
        lf_buf_append_str(&enc->scratch, enc->index_fallback);
    }
}

/* Appends `,"key":"value"`, without the comma for the first member. */
static void append_member(struct lf_buf *buf, bool *first, const char *key,
                          size_t key_len, const char *value, size_t len)
{
    if (!*first) {
        lf_buf_append_char(buf, ',');
    }
    *first = false;
    lf_buf_append(buf, key, key_len);
    lf_json_append_string(buf, value, len);
}

int lf_es_encode_item(struct lf_es_encoder *enc, struct lf_buf *buf,
                      const char *doc_id, const struct lf_event *ev)
{
    static const char index_key[] = "\"_index\":";
    static const char id_key[] = "\"_id\":";
    static const char routing_key[] = "\"routing\":";
    static const char action_end[] = "}}\n";
    size_t id_len = doc_id == NULL ? 0 : strlen(doc_id);
    bool first = !enc->has_index || enc->index_template != NULL;

    if (id_len > LF_ES_ID_MAX_BYTES) {
        return LF_ETOOBIG;
    }

    lf_buf_append(buf, enc->action_prefix.data, enc->action_prefix.len);
    if (enc->index_template != NULL) {
        format_index(enc, ev);
        append_member(buf, &first, index_key, LF_STRLEN(index_key),
                      enc->scratch.data, enc->scratch.len);
    }
    if (doc_id != NULL) {
        append_member(buf, &first, id_key, LF_STRLEN(id_key), doc_id, id_len);
    }
    if (enc->routing != NULL) {
        lf_buf_reset(&enc->scratch);
        if (lf_es_template_format(enc->routing, ev, false, &enc->scratch) ==
            0) {
            append_member(buf, &first, routing_key, LF_STRLEN(routing_key),
                          enc->scratch.data, enc->scratch.len);
        }
    }
    lf_buf_append(buf, action_end, LF_STRLEN(action_end));
    lf_json_append_event_cached(buf, enc->shapes, ev);
    lf_buf_append_char(buf, '\n');
    return 0;
}
