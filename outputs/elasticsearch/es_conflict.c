/*
 * Mapping conflicts: reading the field out of Elasticsearch's error
 * reason and moving it out of the way in the document. ECS `labels` are
 * flat keyword values, so the moved value is a string under a key
 * without dots.
 */
#include "outputs/elasticsearch/es_conflict.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <jansson.h>

#include <string.h>

static const char *const conflict_types[] = {
    "mapper_parsing_exception",
    "document_parsing_exception",
    "illegal_argument_exception",
};

/*
 * Phrases that precede the field name in Elasticsearch 8 reasons, most
 * specific first. In "object mapping for [a.b] tried to parse field [b]"
 * only the first bracket has the whole path. "failed to parse date field
 * [...]" is absent on purpose because its brackets contain the value.
 * "Field [_id] is a metadata field and cannot be added inside a
 * document" names a top-level key that only the action line may set.
 */
static const char *const field_markers[] = {
    "failed to parse field [",
    "object mapping for [",
    "tried to parse field [",
    "non object mapping [",
    "mapping for field [",
    "mapper [",
    "Field [",
};

static bool is_conflict_type(const char *type)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(conflict_types); i++) {
        if (strcmp(type, conflict_types[i]) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Copies the name that ends at the ']' matching the '[' before `start`.
 * Brackets inside are counted, so a key such as `params[id]` is read
 * whole. Returns false if the name is empty, too long, unbalanced or
 * has control characters.
 */
static bool copy_field(const char *start, char *field_out)
{
    size_t depth = 1;
    size_t len = 0;

    for (; start[len] != '\0'; len++) {
        unsigned char c = (unsigned char)start[len];

        if (c < 0x20) {
            return false;
        }
        if (c == '[') {
            depth++;
        } else if (c == ']' && --depth == 0) {
            break;
        }
    }
    if (depth != 0 || len == 0 || len >= LF_ES_FIELD_MAX) {
        return false;
    }
    memcpy(field_out, start, len);
    field_out[len] = '\0';
    return true;
}

bool lf_es_conflict_field(const char *error_type, const char *reason,
                          char *field_out)
{
    if (error_type == NULL || reason == NULL ||
        !is_conflict_type(error_type)) {
        return false;
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(field_markers); i++) {
        const char *at = strstr(reason, field_markers[i]);

        if (at != NULL) {
            return copy_field(at + strlen(field_markers[i]), field_out);
        }
    }
    return false;
}

void lf_es_conflict_label(struct lf_buf *out, const char *field)
{
    lf_buf_append_str(out, "labels.");
    for (const char *p = field; *p != '\0'; p++) {
        lf_buf_append_char(out, *p == '.' ? '_' : *p);
    }
    lf_buf_append_str(out, "_raw");
}

/*
 * Removes `path` from `obj` and returns the value (a new reference), or
 * NULL. A key may itself contain dots, so each prefix that names an
 * object is tried as a level, shortest first.
 */
static json_t *take_path(json_t *obj, const char *path)
{
    json_t *value = json_object_get(obj, path);

    if (value != NULL) {
        json_incref(value);
        json_object_del(obj, path);
        return value;
    }
    for (const char *dot = strchr(path, '.'); dot != NULL;
         dot = strchr(dot + 1, '.')) {
        size_t head_len = (size_t)(dot - path);
        json_t *child = json_object_getn(obj, path, head_len);

        if (!json_is_object(child)) {
            continue;
        }
        value = take_path(child, dot + 1);
        if (value != NULL) {
            if (json_object_size(child) == 0) {
                json_object_deln(obj, path, head_len);
            }
            return value;
        }
    }
    return NULL;
}

/* Returns the member `key` of `root`, an object created when missing. */
static json_t *object_member(json_t *root, const char *key)
{
    json_t *member = json_object_get(root, key);

    if (member == NULL) {
        member = json_object();
        json_object_set_new(root, key, member);
    }
    return json_is_object(member) ? member : NULL;
}

static json_t *raw_string(json_t *value)
{
    char *text;
    json_t *str;

    if (json_is_string(value)) {
        return json_stringn(json_string_value(value),
                            json_string_length(value));
    }
    text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    str = json_string(text != NULL ? text : "");
    free(text);
    return str;
}

/*
 * Stores `value` (a new reference, taken) under `key` of `labels`. A
 * label the log line already set under that key is kept, in an array.
 */
static void add_label(json_t *labels, const char *key, json_t *value)
{
    json_t *old = json_object_get(labels, key);
    json_t *list;

    if (json_is_array(old)) {
        json_array_append_new(old, value);
        return;
    }
    if (old == NULL) {
        json_object_set_new(labels, key, value);
        return;
    }
    list = json_array();
    json_array_append(list, old);
    json_array_append_new(list, value);
    json_object_set_new(labels, key, list);
}

/* Sets error.message, keeping a message the document had as well. */
static void add_message(json_t *error, const char *message)
{
    json_t *old = json_object_get(error, "message");
    json_t *list;

    if (old == NULL) {
        json_object_set_new(error, "message", json_string(message));
        return;
    }
    if (json_is_array(old)) {
        json_array_append_new(old, json_string(message));
        return;
    }
    list = json_array();
    json_array_append(list, old);
    json_array_append_new(list, json_string(message));
    json_object_set_new(error, "message", list);
}

int lf_es_conflict_relocate(const char *doc, size_t len, const char *field,
                            const char *message, struct lf_buf *out)
{
    /* Strings may hold "\u0000": a log line can contain NUL bytes. */
    json_t *root = json_loadb(doc, len,
                              JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    json_t *value = NULL;
    json_t *labels;
    json_t *error;
    struct lf_buf key;
    char *text = NULL;
    int rc = 0;

    lf_buf_init(&key);
    if (!json_is_object(root)) {
        rc = LF_EPARSE;
        goto fail;
    }
    /*
     * The field goes first: it may be `error` or `labels` itself, or
     * empty and so remove one of them.
     */
    value = take_path(root, field);
    if (value == NULL) {
        rc = LF_ENOENT;
        goto fail;
    }
    labels = object_member(root, "labels");
    error = object_member(root, "error");
    if (labels == NULL || error == NULL) {
        rc = LF_EINVAL;
        goto fail;
    }

    /* The key sits in the flat labels object, so it has no "labels." */
    lf_es_conflict_label(&key, field);
    add_label(labels, key.data + LF_STRLEN("labels."), raw_string(value));
    add_message(error, message);
    text = json_dumps(root, JSON_COMPACT);
    if (text == NULL) {
        rc = LF_ENOMEM;
        goto fail;
    }
    lf_buf_append_str(out, text);

fail:
    free(text);
    json_decref(value);
    json_decref(root);
    lf_buf_cleanup(&key);
    return rc;
}
