/*
 * Bulk reply classification by a JSON scanner over the received body. No
 * tree is built and nothing is allocated: each item is copied into a
 * caller's fixed-size struct, texts cut to size, and gets one outcome from
 * its own status and error, across reply formats from Elasticsearch 0.90
 * to 8.x.
 */
#include "outputs/elasticsearch/es_reply.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdint.h>
#include <string.h>

enum {
    HTTP_STATUS_MIN = 100,
    HTTP_NOT_FOUND = 404,
    HTTP_CONFLICT = 409,
    HTTP_TOO_MANY_REQUESTS = 429,
    HTTP_SERVER_ERROR = 500,
    HTTP_SERVICE_UNAVAILABLE = 503,
    HTTP_GATEWAY_TIMEOUT = 504,
    HTTP_STATUS_END = 600, /* statuses past 599 are not HTTP */
};

/* Objects and arrays nested deeper than this make a reply malformed. */
enum { JSON_DEPTH_MAX = 32 };

/*
 * Member names are compared after being copied into this many bytes. A
 * longer name is cut, so it can never equal one of the short names read.
 */
enum { KEY_SIZE = 32 };

/* A status with more digits is not an HTTP status. */
enum { STATUS_DIGITS_MAX = 9 };

/*
 * Status of an item whose `status` member is present but not an integer
 * from 100 to 599, while it is read. Such an item is retried, because the
 * reply does not say whether it was stored.
 */
enum { STATUS_INVALID = -1 };

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

struct scanner {
    const char *p;
    const char *end;
};

/* Destination of a JSON string: at most `size` - 1 bytes and a NUL. */
struct text {
    char *buf; /* NULL to discard the string */
    size_t size;
    size_t len;
    bool full; /* something did not fit: later bytes are dropped too */
};

static bool type_in(const char *type, const char *const *types, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- scanning ---- */

static void skip_space(struct scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) {
        s->p++;
    }
}

/* Skips white space, then consumes `c` if it comes next. */
static bool take(struct scanner *s, char c)
{
    skip_space(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static bool peek(struct scanner *s, char c)
{
    skip_space(s);
    return s->p < s->end && *s->p == c;
}

static bool take_literal(struct scanner *s, const char *literal)
{
    size_t n = strlen(literal);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, literal, n) != 0) {
        return false;
    }
    s->p += n;
    return true;
}

/* Appends one whole character, or nothing once the text is full. */
static void text_append(struct text *t, const char *bytes, size_t n)
{
    if (t->buf == NULL || t->full) {
        return;
    }
    if (n >= t->size - t->len) {
        t->full = true;
        return;
    }
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
}

/*
 * Appends what fits of a run of raw bytes. A character cut in two is
 * trimmed when the string ends.
 */
static void text_append_run(struct text *t, const char *bytes, size_t n)
{
    size_t room;

    if (t->buf == NULL || t->full || n == 0) {
        return;
    }
    room = t->size - 1 - t->len;
    if (n > room) {
        n = room;
        t->full = true;
    }
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
}

/* Drops a UTF-8 sequence left incomplete at the end by a cut. */
static void text_trim_partial(struct text *t)
{
    size_t start = t->len;
    unsigned char lead;
    size_t need;

    while (start > 0 && start + 4 > t->len &&
           ((unsigned char)t->buf[start - 1] & 0xC0) == 0x80) {
        start--;
    }
    if (start == 0) {
        return;
    }
    lead = (unsigned char)t->buf[start - 1];
    need = 1;
    if (lead >= 0xF0) {
        need = 4;
    } else if (lead >= 0xE0) {
        need = 3;
    } else if (lead >= 0xC0) {
        need = 2;
    }
    if (start - 1 + need > t->len) {
        t->len = start - 1;
    }
}

static void append_utf8(struct text *t, uint32_t cp)
{
    char out[4];
    size_t n;

    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    text_append(t, out, n);
}

static bool read_hex4(struct scanner *s, uint32_t *out)
{
    uint32_t v = 0;

    if (s->end - s->p < 4) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        char c = *s->p++;

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return false;
        }
    }
    *out = v;
    return true;
}

/*
 * Reads "\uXXXX" after the backslash and 'u', joining a surrogate pair. A
 * lone surrogate becomes U+FFFD, as it cannot be written in UTF-8.
 */
static bool read_unicode_escape(struct scanner *s, struct text *t)
{
    uint32_t cp;
    uint32_t low;

    if (!read_hex4(s, &cp)) {
        return false;
    }
    if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
        s->p[1] == 'u') {
        struct scanner ahead = {s->p + 2, s->end};

        if (read_hex4(&ahead, &low) && low >= 0xDC00 && low < 0xE000) {
            s->p = ahead.p;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
    }
    if (cp >= 0xD800 && cp < 0xE000) {
        cp = 0xFFFD;
    }
    append_utf8(t, cp);
    return true;
}

/* Reads a JSON string, the opening quote next, into `t`. */
static bool read_string(struct scanner *s, struct text *t)
{
    static const char escapes[] = "\"\\/bfnrt";
    static const char decoded[] = "\"\\/\b\f\n\r\t";

    if (!take(s, '"')) {
        return false;
    }
    while (s->p < s->end) {
        const char *run = s->p;
        unsigned char c;
        const char *e;

        while (s->p < s->end && *s->p != '"' && *s->p != '\\' &&
               (unsigned char)*s->p >= 0x20) {
            s->p++;
        }
        text_append_run(t, run, (size_t)(s->p - run));
        if (s->p == s->end) {
            return false;
        }
        c = (unsigned char)*s->p++;
        if (c == '"') {
            if (t->buf != NULL) {
                if (t->full) {
                    text_trim_partial(t);
                }
                t->buf[t->len] = '\0';
            }
            return true;
        }
        if (c < 0x20) {
            return false;
        }
        if (s->p == s->end) {
            return false;
        }
        c = (unsigned char)*s->p++;
        if (c == 'u') {
            if (!read_unicode_escape(s, t)) {
                return false;
            }
            continue;
        }
        e = c != '\0' ? strchr(escapes, c) : NULL;
        if (e == NULL) {
            return false;
        }
        text_append(t, &decoded[e - escapes], 1);
    }
    return false;
}

static bool read_string_into(struct scanner *s, char *buf, size_t size)
{
    struct text t = {buf, size, 0, false};

    return read_string(s, &t);
}

/*
 * Reads a member name. A name with an escaped NUL ("status\u0000x")
 * reads as "", so that it never equals a name the reader looks for.
 */
static bool read_key(struct scanner *s, char *buf, size_t size)
{
    struct text t = {buf, size, 0, false};

    if (!read_string(s, &t)) {
        return false;
    }
    if (strlen(buf) != t.len) {
        buf[0] = '\0';
    }
    return true;
}

static bool skip_digits(struct scanner *s)
{
    const char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }
    return s->p > start;
}

/*
 * Reads a JSON number. Stores its value in `*status` when it is a
 * non-negative integer of at most STATUS_DIGITS_MAX digits, written with
 * or without a fraction of zeros ("429.0"), else STATUS_INVALID.
 */
static bool read_number(struct scanner *s, int *status)
{
    const char *start;
    const char *digits;
    const char *fraction;
    bool integer = true;
    int value = 0;

    skip_space(s);
    start = s->p;
    if (s->p < s->end && *s->p == '-') {
        s->p++;
        integer = false;
    }
    digits = s->p;
    if (!skip_digits(s)) {
        return false;
    }
    if (*digits == '0' && s->p - digits > 1) {
        return false; /* JSON writes no leading zeros */
    }
    if (s->p - start > STATUS_DIGITS_MAX) {
        integer = false;
    }
    for (const char *d = start; integer && d < s->p; d++) {
        value = value * 10 + (*d - '0');
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        fraction = s->p;
        if (!skip_digits(s)) {
            return false;
        }
        for (const char *d = fraction; d < s->p; d++) {
            if (*d != '0') {
                integer = false;
            }
        }
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        integer = false;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (!skip_digits(s)) {
            return false;
        }
    }
    *status = integer ? value : STATUS_INVALID;
    return true;
}

static bool skip_value(struct scanner *s, int depth);

/* Skips the members of an object, its '{' already taken. */
static bool skip_members(struct scanner *s, int depth)
{
    if (take(s, '}')) {
        return true;
    }
    do {
        struct text discard = {NULL, 0, 0, false};

        if (!read_string(s, &discard) || !take(s, ':') ||
            !skip_value(s, depth)) {
            return false;
        }
    } while (take(s, ','));
    return take(s, '}');
}

static bool skip_elements(struct scanner *s, int depth)
{
    if (take(s, ']')) {
        return true;
    }
    do {
        if (!skip_value(s, depth)) {
            return false;
        }
    } while (take(s, ','));
    return take(s, ']');
}

/* Skips one value of any type; `depth` counts the enclosing containers. */
static bool skip_value(struct scanner *s, int depth)
{
    int ignored;

    skip_space(s);
    if (s->p == s->end) {
        return false;
    }
    switch (*s->p) {
    case '{':
    case '[':
        if (depth >= JSON_DEPTH_MAX) {
            return false;
        }
        return *s->p++ == '{' ? skip_members(s, depth + 1)
                              : skip_elements(s, depth + 1);
    case '"':
        return read_string_into(s, NULL, 0);
    case 't':
        return take_literal(s, "true");
    case 'f':
        return take_literal(s, "false");
    case 'n':
        return take_literal(s, "null");
    default:
        return read_number(s, &ignored);
    }
}

/* Reads a string member's value, or skips a value of another type. */
static bool read_string_member(struct scanner *s, char *buf, size_t size,
                               int depth)
{
    if (peek(s, '"')) {
        return read_string_into(s, buf, size);
    }
    return skip_value(s, depth);
}

/*
 * Reads the members of an object, its '{' already taken, and passes each
 * member name to `read_member`, which must consume the value. `ctx` is
 * passed on.
 */
typedef bool (*member_fn)(struct scanner *s, const char *key, void *ctx,
                          int depth);

static bool read_members(struct scanner *s, member_fn read_member, void *ctx,
                         int depth)
{
    char key[KEY_SIZE];

    if (depth > JSON_DEPTH_MAX) {
        return false;
    }
    if (take(s, '}')) {
        return true;
    }
    do {
        if (!read_key(s, key, sizeof(key)) || !take(s, ':') ||
            !read_member(s, key, ctx, depth)) {
            return false;
        }
    } while (take(s, ','));
    return take(s, '}');
}

/* ---- items ---- */

static bool read_cause_member(struct scanner *s, const char *key, void *ctx,
                              int depth)
{
    struct lf_es_item_result *item = ctx;

    if (strcmp(key, "reason") == 0) {
        return read_string_member(s, item->cause_reason,
                                  sizeof(item->cause_reason), depth);
    }
    return skip_value(s, depth);
}

static bool read_error_member(struct scanner *s, const char *key, void *ctx,
                              int depth)
{
    struct lf_es_item_result *item = ctx;

    if (strcmp(key, "type") == 0) {
        return read_string_member(s, item->error_type, sizeof(item->error_type),
                                  depth);
    }
    if (strcmp(key, "reason") == 0) {
        return read_string_member(s, item->error_reason,
                                  sizeof(item->error_reason), depth);
    }
    if (strcmp(key, "caused_by") == 0 && take(s, '{')) {
        return read_members(s, read_cause_member, item, depth + 1);
    }
    return skip_value(s, depth);
}

/*
 * Reads an item's `error`: an object with `type` and `reason`, or an
 * old-style string "EsRejectedExecutionException[rejected execution ...]"
 * whose type is the text before '[' and whose reason is the whole string.
 * null is no error; an error of another shape still fails the item.
 */
static bool read_error(struct scanner *s, struct lf_es_item_result *item,
                       int depth)
{
    static const char unknown[] = "unknown_error";
    size_t type_len;
    bool ok;

    if (peek(s, 'n')) {
        return take_literal(s, "null");
    }
    if (peek(s, '"')) {
        ok =
            read_string_into(s, item->error_reason, sizeof(item->error_reason));
        type_len = strcspn(item->error_reason, "[");
        if (type_len >= sizeof(item->error_type)) {
            type_len = sizeof(item->error_type) - 1;
        }
        memcpy(item->error_type, item->error_reason, type_len);
        item->error_type[type_len] = '\0';
    } else if (take(s, '{')) {
        ok = read_members(s, read_error_member, item, depth + 1);
    } else {
        ok = skip_value(s, depth);
    }
    if (item->error_type[0] == '\0') {
        memcpy(item->error_type, unknown, sizeof(unknown));
    }
    return ok;
}

static bool read_item_member(struct scanner *s, const char *key, void *ctx,
                             int depth)
{
    struct lf_es_item_result *item = ctx;

    if (strcmp(key, "status") == 0) {
        skip_space(s);
        if (s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
            if (!read_number(s, &item->status)) {
                return false;
            }
            if (item->status < HTTP_STATUS_MIN ||
                item->status >= HTTP_STATUS_END) {
                item->status = STATUS_INVALID;
            }
            return true;
        }
        item->status = STATUS_INVALID;
        return skip_value(s, depth);
    }
    if (strcmp(key, "error") == 0) {
        item->error_type[0] = '\0';
        item->error_reason[0] = '\0';
        item->cause_reason[0] = '\0';
        return read_error(s, item, depth);
    }
    if (strcmp(key, "ok") == 0) {
        if (peek(s, 't')) {
            item->ok = take_literal(s, "true");
            return item->ok;
        }
        return skip_value(s, depth);
    }
    if (strcmp(key, "_index") == 0) {
        return read_string_member(s, item->index, sizeof(item->index), depth);
    }
    if (strcmp(key, "_id") == 0) {
        return read_string_member(s, item->id, sizeof(item->id), depth);
    }
    return skip_value(s, depth);
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
    if (item->error_type[0] != '\0') {
        return LF_ES_ITEM_REJECTED;
    }

    /*
     * No error: replies older than 1.0 carry no status and mark success
     * with "ok": true, and a `delete` of a missing document returns 404
     * without an error. An item with neither a valid status nor that mark,
     * such as {"create":{}}, gives no result for the document.
     */
    if (status == STATUS_INVALID || (status == 0 && !item->ok)) {
        return LF_ES_ITEM_RETRY;
    }
    if (status == 0 || (status >= 200 && status < 300)) {
        return LF_ES_ITEM_INDEXED;
    }
    if (status == HTTP_NOT_FOUND && strcmp(item->action, "delete") == 0) {
        return LF_ES_ITEM_INDEXED;
    }
    return LF_ES_ITEM_REJECTED;
}

static void clear_item(struct lf_es_item_result *item)
{
    item->status = 0;
    item->ok = false;
    item->action[0] = '\0';
    item->index[0] = '\0';
    item->id[0] = '\0';
    item->error_type[0] = '\0';
    item->error_reason[0] = '\0';
    item->cause_reason[0] = '\0';
}

/*
 * Reads {"create":{"status":2xx}} written without spaces: the item of the
 * output's filter_path reply when it succeeded, most items by far.
 */
static bool read_compact_success(struct scanner *s,
                                 struct lf_es_item_result *item)
{
    static const char head[] = "{\"create\":{\"status\":2";
    static const char tail[] = "}}";
    const char *p = s->p;
    size_t left = (size_t)(s->end - p);
    size_t size = LF_STRLEN(head) + 2 + LF_STRLEN(tail);

    if (left < size || memcmp(p, head, LF_STRLEN(head)) != 0) {
        return false;
    }
    p += LF_STRLEN(head);
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
        memcmp(p + 2, tail, LF_STRLEN(tail)) != 0) {
        return false;
    }
    item->status = 200 + (p[0] - '0') * 10 + (p[1] - '0');
    memcpy(item->action, "create", sizeof("create"));
    item->outcome = LF_ES_ITEM_INDEXED;
    s->p += size;
    return true;
}

/*
 * Reads one item, {"create":{...}}: an object with one member named after
 * the action.
 */
static bool read_item(struct scanner *s, struct lf_es_item_result *item)
{
    enum { ITEM_DEPTH = 3 }; /* inside the reply object and its list */
    static const char invalid_status[] =
        "the item's status is not an HTTP status";
    static const char no_status[] =
        "the item has neither a status nor an error";

    clear_item(item);
    skip_space(s);
    if (read_compact_success(s, item)) {
        return true;
    }
    if (!take(s, '{') ||
        !read_string_into(s, item->action, sizeof(item->action)) ||
        !take(s, ':') || !take(s, '{') ||
        !read_members(s, read_item_member, item, ITEM_DEPTH + 1) ||
        !take(s, '}')) {
        return false;
    }
    item->outcome = classify(item);
    if (item->status == STATUS_INVALID) {
        item->status = 0;
        if (item->error_reason[0] == '\0') {
            memcpy(item->error_reason, invalid_status, sizeof(invalid_status));
        }
    } else if (item->outcome == LF_ES_ITEM_RETRY && item->status == 0 &&
               item->error_type[0] == '\0') {
        memcpy(item->error_reason, no_status, sizeof(no_status));
    }
    return true;
}

/* ---- the reply ---- */

/*
 * Moves past the members before "items" to the first byte inside its
 * list. Returns false when the body has no item list there.
 */
static bool find_items(struct scanner *s)
{
    char key[KEY_SIZE];

    if (!take(s, '{')) {
        return false;
    }
    if (take(s, '}')) {
        return false;
    }
    do {
        if (!read_key(s, key, sizeof(key)) || !take(s, ':')) {
            return false;
        }
        if (strcmp(key, "items") == 0) {
            return take(s, '[');
        }
        if (!skip_value(s, 1)) {
            return false;
        }
    } while (take(s, ','));
    return false;
}

/*
 * Counts the items that read completely, up to `limit` + 1, stopping at
 * the first one that does not. Sets `*closed` when the list ended with
 * ']', and `*more` when a separator after item `limit` starts another.
 */
static size_t count_items(struct scanner *s, size_t limit, bool *closed,
                          bool *more)
{
    struct lf_es_item_result scratch;
    size_t n = 0;

    *closed = take(s, ']');
    *more = false;
    while (!*closed && n <= limit && read_item(s, &scratch)) {
        n++;
        if (take(s, ']')) {
            *closed = true;
        } else if (!take(s, ',')) {
            break;
        } else if (n == limit) {
            *more = true;
        }
    }
    return n;
}

int lf_es_reply_open(struct lf_es_reply *reply, const char *body, size_t len,
                     size_t item_count)
{
    struct scanner s = {body, body + len};
    size_t results;
    bool closed;
    bool more;

    memset(reply, 0, sizeof(*reply));
    if (!find_items(&s)) {
        return LF_EPROTO;
    }
    reply->pos = s.p;
    reply->end = s.end;

    /*
     * The whole list is read once before any item is handed out, so that
     * no result is reported from a reply that turns out to belong to
     * another request: too many items, or a list filtered to failures.
     * Bytes after a closed list of the right length do not matter.
     */
    results = count_items(&s, item_count, &closed, &more);
    if (results > item_count || more || (closed && results != item_count)) {
        return LF_EPROTO;
    }
    if (results == 0 && item_count > 0) {
        return LF_EPROTO;
    }
    reply->item_count = item_count;
    reply->result_count = results;
    return 0;
}

bool lf_es_reply_next(struct lf_es_reply *reply, struct lf_es_item_result *item)
{
    static const char no_result[] = "the reply has no result for this item";
    struct scanner s = {reply->pos, reply->end};

    if (reply->next >= reply->item_count) {
        return false;
    }
    if (reply->next < reply->result_count &&
        (reply->next == 0 || take(&s, ',')) && read_item(&s, item)) {
        reply->pos = s.p;
    } else {
        /* lf_es_reply_open() counted the items that read: these did not. */
        if (reply->result_count > reply->next) {
            reply->result_count = reply->next;
        }
        clear_item(item);
        item->outcome = LF_ES_ITEM_RETRY;
        memcpy(item->error_reason, no_result, sizeof(no_result));
    }
    reply->next++;
    reply->count[item->outcome]++;
    return true;
}

size_t lf_es_reply_missing(const struct lf_es_reply *reply)
{
    return reply->item_count - reply->result_count;
}

bool lf_es_item_overloaded(const struct lf_es_item_result *item)
{
    return item->status == HTTP_TOO_MANY_REQUESTS ||
           item->status == HTTP_SERVICE_UNAVAILABLE ||
           item->status == HTTP_GATEWAY_TIMEOUT ||
           type_in(item->error_type, rejected_execution_types,
                   LF_ARRAY_SIZE(rejected_execution_types));
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
