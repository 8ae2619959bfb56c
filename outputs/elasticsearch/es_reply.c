/*
 * Bulk reply classification. A reply is read in full with jansson (the
 * output requests `filter_path=errors,items.*.error,items.*.status`, so it
 * stays small) and every item gets one outcome from its own status and
 * error, across reply formats from Elasticsearch 0.90 to 8.x.
 */
#include "outputs/elasticsearch/es_reply.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdbool.h>
#include <string.h>

enum {
    HTTP_NOT_FOUND = 404,
    HTTP_CONFLICT = 409,
    HTTP_TOO_MANY_REQUESTS = 429,
    HTTP_SERVER_ERROR = 500,
    HTTP_STATUS_END = 600, /* statuses past 599 are not HTTP */
};

/*
 * Error types of a `create` whose `_id` exists: the 5.x+ names and the
 * class names that string errors of older versions start with.
 */
static const char *const conflict_types[] = {
    "version_conflict_engine_exception",
    "document_already_exists_exception",
    "VersionConflictEngineException",
    "DocumentAlreadyExistsException",
};

/* A full write queue on a node: retry later, whatever the status. */
static const char *const rejected_execution_types[] = {
    "es_rejected_execution_exception",
    "EsRejectedExecutionException",
};

static bool type_in(const char *type, const char *const *types, size_t n)
{
    if (type == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

static const char *member_string(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

/*
 * Reads an old-style string error, "EsRejectedExecutionException[rejected
 * execution ...]": the type is the text before '[', the reason the whole
 * string.
 */
static void read_string_error(struct lf_es_reply *reply, const json_t *error,
                              struct lf_es_item_result *item)
{
    const char *text = json_string_value(error);
    json_t *type = json_stringn(text, strcspn(text, "["));

    /* On failure the array releases `type`: do not keep its text. */
    if (json_array_append_new(reply->derived, type) == 0) {
        item->error_type = json_string_value(type);
    } else {
        item->error_type = "unknown_error";
    }
    item->error_reason = text;
}

static void read_error(struct lf_es_reply *reply, const json_t *error,
                       struct lf_es_item_result *item)
{
    if (json_is_string(error)) {
        read_string_error(reply, error, item);
        return;
    }
    item->error_type = member_string(error, "type");
    item->error_reason = member_string(error, "reason");
    item->cause_reason =
        member_string(json_object_get(error, "caused_by"), "reason");
    if (item->error_type == NULL) {
        /* An error of an unknown shape still fails the item. */
        item->error_type = "unknown_error";
    }
}

static enum lf_es_item_outcome classify(const struct lf_es_item_result *item)
{
    int status = item->status;

    if (status == HTTP_CONFLICT || type_in(item->error_type, conflict_types,
                                           LF_ARRAY_SIZE(conflict_types))) {
        return LF_ES_ITEM_DUPLICATE;
    }
    if (status == HTTP_TOO_MANY_REQUESTS ||
        (status >= HTTP_SERVER_ERROR && status < HTTP_STATUS_END) ||
        type_in(item->error_type, rejected_execution_types,
                LF_ARRAY_SIZE(rejected_execution_types))) {
        return LF_ES_ITEM_RETRY;
    }
    if (item->error_type != NULL) {
        return LF_ES_ITEM_REJECTED;
    }

    /*
     * No error: replies older than 1.0 carry no status at all, and a
     * `delete` of a missing document returns 404 without an error.
     */
    if (status == 0 || (status >= 200 && status < 300)) {
        return LF_ES_ITEM_INDEXED;
    }
    if (status == HTTP_NOT_FOUND && item->action != NULL &&
        strcmp(item->action, "delete") == 0) {
        return LF_ES_ITEM_INDEXED;
    }
    return LF_ES_ITEM_REJECTED;
}

/* Reads {"create":{...}}: one member named after the action. */
static int read_item(struct lf_es_reply *reply, json_t *entry,
                     struct lf_es_item_result *item)
{
    const char *action;
    json_t *body;
    json_t *status;
    json_t *error;

    if (!json_is_object(entry) || json_object_size(entry) != 1) {
        return LF_EPROTO;
    }
    action = json_object_iter_key(json_object_iter(entry));
    body = json_object_iter_value(json_object_iter(entry));
    if (!json_is_object(body)) {
        return LF_EPROTO;
    }

    item->action = action;
    item->index = member_string(body, "_index");
    item->id = member_string(body, "_id");
    status = json_object_get(body, "status");
    if (json_is_integer(status)) {
        item->status = (int)json_integer_value(status);
    }
    error = json_object_get(body, "error");
    if (error != NULL && !json_is_null(error)) {
        read_error(reply, error, item);
    }
    item->outcome = classify(item);
    return 0;
}

/* Action names as NUL-terminated strings for replies read by scanning. */
static const char *const action_names[] = {"create", "index", "update",
                                           "delete"};

struct cursor {
    const char *p;
    const char *end;
};

static bool skip_literal(struct cursor *c, const char *literal, size_t len)
{
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, literal, len) != 0) {
        return false;
    }
    c->p += len;
    return true;
}

static const char *scan_action(struct cursor *c)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(action_names); i++) {
        size_t n = strlen(action_names[i]);

        if ((size_t)(c->end - c->p) > n &&
            memcmp(c->p, action_names[i], n) == 0 && c->p[n] == '"') {
            c->p += n + 1;
            return action_names[i];
        }
    }
    return NULL;
}

/* Reads {"ACTION":{"status":2xx}}: a success without any other member. */
static bool scan_success(struct cursor *c, struct lf_es_item_result *item)
{
    static const char status_key[] = ":{\"status\":";
    const char *action;
    const char *digits;
    int status = 0;

    if (!skip_literal(c, "{\"", 2)) {
        return false;
    }
    action = scan_action(c);
    if (action == NULL || !skip_literal(c, status_key, LF_STRLEN(status_key))) {
        return false;
    }
    digits = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - digits < 3) {
        status = status * 10 + (*c->p - '0');
        c->p++;
    }
    if (status < 200 || status >= 300 || !skip_literal(c, "}}", 2)) {
        return false;
    }
    item->outcome = LF_ES_ITEM_INDEXED;
    item->status = status;
    item->action = action;
    return true;
}

/*
 * Reads the usual reply to the output's filter_path when every item
 * succeeded, {"errors":false,"items":[{"create":{"status":201}},...]},
 * without building a jansson tree: at 1600 items per request that tree
 * costs more CPU than the rest of the reply handling. Every item's status
 * is still checked. Anything else (an error, another member, white space,
 * another item count) returns false, and the reply is parsed in full.
 */
static bool scan_all_succeeded(struct lf_es_reply *reply, const char *body,
                               size_t len, size_t item_count)
{
    static const char head[] = "{\"errors\":false,\"items\":[";
    struct cursor c = {body, body + len};
    struct lf_es_item_result *items;
    bool ok = skip_literal(&c, head, LF_STRLEN(head));

    if (!ok) {
        return false;
    }
    items = lf_calloc(item_count == 0 ? 1 : item_count, sizeof(*items));
    for (size_t i = 0; i < item_count && ok; i++) {
        ok =
            (i == 0 || skip_literal(&c, ",", 1)) && scan_success(&c, &items[i]);
    }
    ok = ok && skip_literal(&c, "]}", 2);
    while (ok && c.p < c.end && (*c.p == ' ' || *c.p == '\n')) {
        c.p++;
    }
    if (!ok || c.p != c.end) {
        lf_free(items);
        return false;
    }
    reply->items = items;
    reply->item_count = item_count;
    reply->count[LF_ES_ITEM_INDEXED] = item_count;
    return true;
}

int lf_es_reply_parse(struct lf_es_reply *reply, const char *body, size_t len,
                      size_t item_count)
{
    json_t *items;
    int rc = 0;

    memset(reply, 0, sizeof(*reply));
    if (scan_all_succeeded(reply, body, len, item_count)) {
        return 0;
    }
    /* Reasons may quote a document's value, NUL bytes included. */
    reply->root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    items = json_object_get(reply->root, "items");
    if (!json_is_array(items) || json_array_size(items) != item_count) {
        return LF_EPROTO;
    }

    reply->derived = json_array();
    reply->items =
        lf_calloc(item_count == 0 ? 1 : item_count, sizeof(*reply->items));
    reply->item_count = item_count;
    for (size_t i = 0; i < item_count && rc == 0; i++) {
        struct lf_es_item_result *item = &reply->items[i];

        rc = read_item(reply, json_array_get(items, i), item);
        if (rc == 0) {
            reply->count[item->outcome]++;
        }
    }
    return rc;
}

void lf_es_reply_cleanup(struct lf_es_reply *reply)
{
    json_decref(reply->root);
    json_decref(reply->derived);
    lf_free(reply->items);
    memset(reply, 0, sizeof(*reply));
}

const char *lf_es_item_outcome_name(enum lf_es_item_outcome outcome)
{
    switch (outcome) {
    case LF_ES_ITEM_INDEXED:
        return "indexed";
    case LF_ES_ITEM_DUPLICATE:
        return "duplicate";
    case LF_ES_ITEM_RETRY:
        return "retry";
    case LF_ES_ITEM_REJECTED:
        return "rejected";
    }
    return "unknown";
}
