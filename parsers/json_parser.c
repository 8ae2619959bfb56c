/*
 * The `json` parser: decodes one JSON object per line into event fields.
 * Nested objects become dotted keys. Arrays, and objects nested deeper than
 * `max_depth`, are kept whole as compact JSON text. Well-known keys of
 * logging libraries (msg, level, time, ts) fill the ECS fields that the
 * line leaves unset. The reader is iterative, so nesting depth costs heap
 * for a stack and never C stack. Strings without escapes are borrowed from
 * the line; decoded strings and keys live in the event's arena.
 */
#include "parsers/json_parser.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"
#include "parsers/level.h"
#include "parsers/number.h"
#include "parsers/timestamp.h"
#include "parsers/unicode.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
    JSON_DEFAULT_MAX_DEPTH = 32,
    JSON_MAX_DEPTH_LIMIT = 1000,
    /*
     * Elasticsearch's default index.mapping.total_fields.limit, so that a
     * line past it fails here, with the line kept, rather than as a
     * rejected document. It also bounds the event's linear key lookups.
     */
    JSON_DEFAULT_MAX_FIELDS = 1000,
    JSON_MAX_FIELDS_LIMIT = 100000,
    ERROR_MESSAGE_BYTES = 160,
};

/* Role of a member of the line, applied when the line is committed. */
enum member_role {
    ROLE_FIELD,           /* a field at its dotted key */
    ROLE_MESSAGE,         /* `message_key`: the event's message */
    ROLE_MESSAGE_ALIAS,   /* `msg`: the message unless ROLE_MESSAGE is set */
    ROLE_TIMESTAMP,       /* `@timestamp` */
    ROLE_TIMESTAMP_ALIAS, /* `time`, `ts`, `timestamp` */
    ROLE_LEVEL,           /* `log.level` */
    ROLE_LEVEL_ALIAS,     /* `level` */
};

/* A decoded member, held until the whole line is known to be valid. */
struct pending {
    const char *key; /* dotted key with the target, in the event's arena */
    struct lf_value value;
    const char *raw; /* the value's text in the line, for messages */
    size_t raw_len;
    enum member_role role;
};

struct json_parser {
    const char *target; /* "" for the root of the event; borrowed */
    size_t target_len;
    const char *message_key; /* borrowed from the configuration */
    size_t message_key_len;
    bool add_error_key;
    bool overwrite_keys;
    bool expand_keys;
    size_t max_depth;
    size_t max_fields;
    struct lf_tz tz; /* UTC, for timestamps without an offset */

    /* Scratch reused by every line, grown as needed, never shrunk. */
    struct pending *pending;
    size_t pending_count;
    size_t pending_cap;
    size_t *frames; /* per open object: length of its path, max_depth */
    char *path;     /* dotted key of the current member */
    size_t path_cap;
    struct lf_buf fragment; /* compact JSON of an array or a cut subtree */
    struct lf_buf text;     /* a decoded string inside a fragment */
    unsigned char *closers; /* ']' or '}' per container open in a fragment */
    size_t closers_cap;
};

/* Bytes that end the plain run of a string: '"', '\\' and controls. */
/* clang-format off */
#define ROW_OF(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const bool string_stop[256] = {
    ROW_OF(true), ROW_OF(true), ['"'] = true, ['\\'] = true,
};
#undef ROW_OF
/* clang-format on */

/* Position in the line and the first error found. */
struct reader {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    const char *error; /* static text, NULL while the line is valid */
    size_t error_offset;
};

/* Members found in the line that the aliases give way to. */
struct line_roles {
    bool message;
    bool timestamp;
    bool level;
};

static int fail(struct reader *r, const char *reason)
{
    if (r->error == NULL) {
        r->error = reason;
        r->error_offset = (size_t)(r->p - r->start);
    }
    return LF_EPARSE;
}

static void skip_whitespace(struct reader *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
        r->p++;
    }
}

/* Returns the next byte, or 0 at the end of the line. */
static unsigned char peek(const struct reader *r)
{
    return r->p < r->end ? *r->p : 0;
}

/* Returns `array` grown to at least `need` items of `size` bytes. */
static void *grow_array(void *array, size_t *cap, size_t need, size_t size)
{
    size_t next = *cap == 0 ? 16 : *cap;

    if (need <= *cap) {
        return array;
    }
    while (next < need) {
        next *= 2;
    }
    *cap = next;
    return lf_realloc(array, next * size);
}

/*
 * Returns true when one of the 8 bytes of `word` is '"', '\\' or below
 * 0x20. For each test, (x - 0x01..) & ~x & 0x80.. is non-zero exactly when
 * a byte of x is zero, and (x - 0x20..) & ~x & 0x80.. when a byte is below
 * 0x20: a borrow only starts at a byte that matches.
 */
static inline bool word_has_stop(uint64_t word)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t high = UINT64_C(0x8080808080808080);
    uint64_t quote = word ^ (ones * '"');
    uint64_t backslash = word ^ (ones * '\\');

    return (((word - ones * 0x20) & ~word) | ((quote - ones) & ~quote) |
            ((backslash - ones) & ~backslash)) &
           high;
}

/* Skips whole 8-byte words of a string that hold no stop byte. */
static inline const unsigned char *skip_plain_words(const unsigned char *p,
                                                    const unsigned char *end)
{
    uint64_t word;

    while (end - p >= 8) {
        memcpy(&word, p, sizeof(word));
        if (word_has_stop(word)) {
            break;
        }
        p += 8;
    }
    return p;
}

/*
 * Finds the end of the string whose opening quote is at r->p and leaves
 * r->p after its closing quote. Stores the bytes between the quotes and
 * whether they hold an escape. Raw control characters are invalid JSON.
 */
static int scan_string(struct reader *r, const unsigned char **body,
                       size_t *len, bool *escaped)
{
    const unsigned char *p = r->p + 1;

    *escaped = false;
    for (;;) {
        p = skip_plain_words(p, r->end);
        while (p < r->end && !string_stop[*p]) {
            p++;
        }
        if (p >= r->end || *p == '"') {
            break;
        }
        if (*p < 0x20) {
            r->p = p;
            return fail(r, "control character inside a string");
        }
        *escaped = true;
        p += 2; /* the backslash and the byte it escapes */
    }
    if (p >= r->end) {
        return fail(r, "string not terminated");
    }
    *body = r->p + 1;
    *len = (size_t)(p - *body);
    r->p = p + 1;
    return 0;
}

/* Reads the 4 hex digits after "\u" at `s`; returns -1 when invalid. */
static long read_hex4(const unsigned char *s, const unsigned char *end)
{
    long cp = 0;

    if (end - s < 6 || s[0] != '\\' || s[1] != 'u') {
        return -1;
    }
    for (int i = 2; i < 6; i++) {
        int digit = lf_hex_digit_value(s[i]);

        if (digit < 0) {
            return -1;
        }
        cp = cp * 16 + digit;
    }
    return cp;
}

/*
 * Decodes a "\u" escape at `*s` (a surrogate pair takes two), advancing
 * `*s`. A lone surrogate becomes U+FFFD rather than failing the line, and
 * so does U+0000 when `in_key`, because keys are NUL-terminated.
 */
static int decode_unicode(const unsigned char **s, const unsigned char *end,
                          bool in_key, unsigned long *cp_out)
{
    long cp = read_hex4(*s, end);
    long low;

    if (cp < 0) {
        return LF_EPARSE;
    }
    *s += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        low = read_hex4(*s, end);
        if (low >= 0xdc00 && low <= 0xdfff) {
            *s += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else {
            cp = 0xfffd;
        }
    } else if ((cp >= 0xdc00 && cp <= 0xdfff) || (cp == 0 && in_key)) {
        cp = 0xfffd;
    }
    *cp_out = (unsigned long)cp;
    return 0;
}

/*
 * Decodes the escapes of a string body into `out`, which has room for
 * `len` bytes: no escape decodes to more bytes than it takes. Dots become
 * '_' when `undot` is set. Returns the decoded length, or LF_EPARSE with
 * the reader's error set at the bad escape.
 */
static long decode_string(struct reader *r, const unsigned char *s, size_t len,
                          char *out, bool in_key, bool undot)
{
    const unsigned char *end = s + len;
    size_t n = 0;

    while (s < end) {
        unsigned long cp;

        if (*s != '\\') {
            out[n++] = undot && *s == '.' ? '_' : (char)*s;
            s++;
            continue;
        }
        if (s + 1 >= end) {
            r->p = s;
            return fail(r, "invalid escape in a string");
        }
        switch (s[1]) {
        case '"':
        case '\\':
        case '/':
            out[n++] = (char)s[1];
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u':
            if (decode_unicode(&s, end, in_key, &cp) != 0) {
                r->p = s;
                return fail(r, "invalid \\u escape in a string");
            }
            n += lf_utf8_encode(out + n, (uint32_t)cp);
            continue;
        default:
            r->p = s;
            return fail(r, "invalid escape in a string");
        }
        s += 2;
    }
    return (long)n;
}

/* Reads a string value: borrowed from the line unless it has escapes. */
static int read_string(struct reader *r, struct lf_event *ev, const char **out,
                       size_t *len_out)
{
    const unsigned char *body;
    size_t len;
    bool escaped;
    char *decoded;
    long n;

    if (scan_string(r, &body, &len, &escaped) != 0) {
        return LF_EPARSE;
    }
    if (!escaped) {
        *out = (const char *)body;
        *len_out = len;
        return 0;
    }
    decoded = lf_event_alloc(ev, len);
    n = decode_string(r, body, len, decoded, false, false);
    if (n < 0) {
        return LF_EPARSE;
    }
    *out = decoded;
    *len_out = (size_t)n;
    return 0;
}

/* Checks the JSON number grammar at r->p and moves past the number. */
static int scan_number(struct reader *r, bool *is_int)
{
    const unsigned char *p = r->p;

    *is_int = true;
    if (p < r->end && *p == '-') {
        p++;
    }
    if (p < r->end && *p == '0') {
        p++;
    } else if (p < r->end && *p >= '1' && *p <= '9') {
        while (p < r->end && *p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        r->p = p;
        return fail(r, "invalid number");
    }
    if (p < r->end && *p == '.') {
        *is_int = false;
        p++;
        if (p >= r->end || *p < '0' || *p > '9') {
            r->p = p;
            return fail(r, "invalid number: digit expected after '.'");
        }
        while (p < r->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        *is_int = false;
        p++;
        if (p < r->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= r->end || *p < '0' || *p > '9') {
            r->p = p;
            return fail(r, "invalid number: digit expected in the exponent");
        }
        while (p < r->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    r->p = p;
    return 0;
}

/*
 * Converts number text to an int, a float when it has a fraction or an
 * exponent or does not fit int64, or a string of its text when it does
 * not fit a double either.
 */
static void number_value(const char *s, size_t len, bool is_int,
                         struct lf_value *out)
{
    int64_t i;
    double f;

    if (is_int && lf_number_parse_int(s, len, &i) == 0) {
        out->type = LF_VALUE_INT;
        out->u.i = i;
        return;
    }
    if (lf_number_parse_float(s, len, &f) == 0) {
        out->type = LF_VALUE_FLOAT;
        out->u.f = f;
        return;
    }
    out->type = LF_VALUE_STRING;
    out->u.str.ptr = s;
    out->u.str.len = len;
}

/* Moves past `literal` at r->p, or fails. */
static int expect_literal(struct reader *r, const char *literal, size_t len)
{
    if ((size_t)(r->end - r->p) < len || memcmp(r->p, literal, len) != 0) {
        return fail(r, "invalid literal: expected true, false or null");
    }
    r->p += len;
    return 0;
}

static void push_closer(struct json_parser *p, size_t depth, unsigned char c)
{
    p->closers = grow_array(p->closers, &p->closers_cap, depth + 1, 1);
    p->closers[depth] = c;
}

/* Copies a string of a fragment, decoded and then escaped again. */
static int copy_string(struct json_parser *p, struct reader *r)
{
    const unsigned char *body;
    size_t len;
    bool escaped;
    long n;

    if (scan_string(r, &body, &len, &escaped) != 0) {
        return LF_EPARSE;
    }
    if (!escaped) {
        lf_json_append_string(&p->fragment, (const char *)body, len);
        return 0;
    }
    lf_buf_reserve(&p->text, len);
    n = decode_string(r, body, len, p->text.data, false, false);
    if (n < 0) {
        return LF_EPARSE;
    }
    lf_json_append_string(&p->fragment, p->text.data, (size_t)n);
    return 0;
}

/* Copies a scalar of a fragment: a string, number or literal. */
static int copy_scalar(struct json_parser *p, struct reader *r)
{
    const unsigned char *start = r->p;
    bool is_int;

    switch (peek(r)) {
    case '"':
        return copy_string(p, r);
    case 't':
        if (expect_literal(r, "true", LF_STRLEN("true")) != 0) {
            return LF_EPARSE;
        }
        break;
    case 'f':
        if (expect_literal(r, "false", LF_STRLEN("false")) != 0) {
            return LF_EPARSE;
        }
        break;
    case 'n':
        if (expect_literal(r, "null", LF_STRLEN("null")) != 0) {
            return LF_EPARSE;
        }
        break;
    default:
        if (scan_number(r, &is_int) != 0) {
            return LF_EPARSE;
        }
        break;
    }
    lf_buf_append(&p->fragment, (const char *)start, (size_t)(r->p - start));
    return 0;
}

enum copy_state {
    COPY_VALUE,        /* a value is expected */
    COPY_FIRST_MEMBER, /* after '{': a member name or '}' */
    COPY_MEMBER,       /* after ',' in an object: a member name */
    COPY_FIRST_ITEM,   /* after '[': a value or ']' */
    COPY_AFTER_VALUE,  /* ',' or the container's closer */
};

/* Copies the member name of a fragment's object and its ':'. */
static int copy_member_name(struct json_parser *p, struct reader *r)
{
    if (peek(r) != '"') {
        return fail(r, "expected a member name in double quotes");
    }
    if (copy_string(p, r) != 0) {
        return LF_EPARSE;
    }
    skip_whitespace(r);
    if (peek(r) != ':') {
        return fail(r, "expected ':' after a member name");
    }
    r->p++;
    lf_buf_append_char(&p->fragment, ':');
    return 0;
}

/*
 * Copies the value at r->p into p->fragment as compact JSON, with strings
 * escaped again so that the text is valid UTF-8. Iterative: open
 * containers are counted in p->closers, so any depth fits.
 */
static int copy_value(struct json_parser *p, struct reader *r,
                      size_t *max_depth_out)
{
    enum copy_state state = COPY_VALUE;
    size_t depth = 0;

    *max_depth_out = 0;
    p->fragment.len = 0;
    for (;;) {
        unsigned char c;

        skip_whitespace(r);
        c = peek(r);
        if ((state == COPY_FIRST_MEMBER && c == '}') ||
            (state == COPY_FIRST_ITEM && c == ']')) {
            state = COPY_AFTER_VALUE;
        }
        switch (state) {
        case COPY_FIRST_MEMBER:
        case COPY_MEMBER:
            if (copy_member_name(p, r) != 0) {
                return LF_EPARSE;
            }
            state = COPY_VALUE;
            break;
        case COPY_FIRST_ITEM:
        case COPY_VALUE:
            if (c == '{' || c == '[') {
                push_closer(p, depth++, c == '{' ? '}' : ']');
                if (depth > *max_depth_out) {
                    *max_depth_out = depth;
                }
                lf_buf_append_char(&p->fragment, (char)c);
                r->p++;
                state = c == '{' ? COPY_FIRST_MEMBER : COPY_FIRST_ITEM;
                break;
            }
            if (c == 0 || c == '}' || c == ']' || c == ',') {
                return fail(r, "expected a value");
            }
            if (copy_scalar(p, r) != 0) {
                return LF_EPARSE;
            }
            state = COPY_AFTER_VALUE;
            break;
        case COPY_AFTER_VALUE:
            if (depth == 0) {
                return 0;
            }
            if (c == p->closers[depth - 1]) {
                lf_buf_append_char(&p->fragment, (char)c);
                r->p++;
                depth--;
            } else if (c == ',') {
                lf_buf_append_char(&p->fragment, ',');
                r->p++;
                state = p->closers[depth - 1] == '}' ? COPY_MEMBER : COPY_VALUE;
            } else {
                return fail(r, p->closers[depth - 1] == '}'
                                   ? "expected ',' or '}' after a member"
                                   : "expected ',' or ']' after an item");
            }
            break;
        }
    }
}

struct key_alias {
    const char *key;
    size_t len;
    enum member_role role;
};

#define ALIAS(key, role)                                                       \
    {                                                                          \
        key, LF_STRLEN(key), role                                              \
    }

/*
 * Keys of logging libraries that fill ECS fields, documented in the json
 * section of docs/configuration.md: keep the two in step.
 */
/* clang-format off */
static const struct key_alias key_aliases[] = {
    ALIAS("@timestamp", ROLE_TIMESTAMP),
    ALIAS("log.level", ROLE_LEVEL),
    ALIAS("msg", ROLE_MESSAGE_ALIAS),
    ALIAS("level", ROLE_LEVEL_ALIAS),
    ALIAS("time", ROLE_TIMESTAMP_ALIAS),
    ALIAS("ts", ROLE_TIMESTAMP_ALIAS),
    ALIAS("timestamp", ROLE_TIMESTAMP_ALIAS),
};
/* clang-format on */

#undef ALIAS

/* Returns the role of the member at p->path (`len` bytes). */
static enum member_role role_of(const struct json_parser *p, size_t len)
{
    size_t skip = p->target_len == 0 ? 0 : p->target_len + 1;
    const char *key = p->path + skip;
    size_t key_len = len - skip;

    if (p->message_key_len == key_len &&
        memcmp(key, p->message_key, key_len) == 0) {
        return ROLE_MESSAGE;
    }
    if (skip == 0 && key_len == LF_STRLEN("message") &&
        memcmp(key, "message", key_len) == 0) {
        return ROLE_MESSAGE_ALIAS; /* only when message_key is another key */
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(key_aliases); i++) {
        const struct key_alias *alias = &key_aliases[i];

        if (alias->len == key_len && memcmp(key, alias->key, key_len) == 0) {
            return alias->role;
        }
    }
    return ROLE_FIELD;
}

/* Records the member at p->path with `value`; `raw` is its text. */
static void add_pending(struct json_parser *p, struct lf_event *ev,
                        size_t path_len, const struct lf_value *value,
                        const unsigned char *raw, size_t raw_len)
{
    struct pending *item;

    p->pending = grow_array(p->pending, &p->pending_cap, p->pending_count + 1,
                            sizeof(*p->pending));
    item = &p->pending[p->pending_count++];
    item->key = lf_event_copy_str(ev, p->path, path_len);
    item->value = *value;
    item->raw = (const char *)raw;
    item->raw_len = raw_len;
    item->role = role_of(p, path_len);
}

/*
 * Appends the member name at r->p to the path of the object that starts
 * at `base` bytes and stores the new path length.
 */
static int read_member_name(struct json_parser *p, struct reader *r,
                            size_t base, size_t *path_len_out)
{
    const unsigned char *body;
    size_t len;
    bool escaped;
    size_t at = base;
    long n;

    if (peek(r) != '"') {
        return fail(r, "expected a member name in double quotes");
    }
    if (scan_string(r, &body, &len, &escaped) != 0) {
        return LF_EPARSE;
    }
    p->path = grow_array(p->path, &p->path_cap, base + len + 2, 1);
    if (base > 0) {
        p->path[at++] = '.';
    }
    if (!escaped && p->expand_keys) {
        memcpy(p->path + at, body, len);
        n = (long)len;
    } else {
        n = decode_string(r, body, len, p->path + at, true, !p->expand_keys);
    }
    if (n < 0) {
        return LF_EPARSE;
    }
    *path_len_out = at + (size_t)n;
    skip_whitespace(r);
    if (peek(r) != ':') {
        return fail(r, "expected ':' after a member name");
    }
    r->p++;
    return 0;
}

/*
 * Reads a member's value that is not an object to descend into and adds
 * it to the pending members. `depth` counts the objects around the
 * member, the line's own included. Null is left out.
 */
static int read_leaf(struct json_parser *p, struct reader *r,
                     struct lf_event *ev, size_t path_len, size_t depth)
{
    const unsigned char *start = r->p;
    struct lf_value value = {.type = LF_VALUE_BOOL};
    size_t nesting;
    bool is_int;

    switch (peek(r)) {
    case '{':
    case '[':
        if (copy_value(p, r, &nesting) != 0) {
            return LF_EPARSE;
        }
        /*
         * An array is kept as JSON unless it nests past max_depth. Such
         * an array, and an object here (always cut by max_depth), is
         * kept as a string, so that no document nests deeper than
         * max_depth.
         */
        value.type = *start == '[' && depth + nesting <= p->max_depth
                         ? LF_VALUE_JSON
                         : LF_VALUE_STRING;
        value.u.str.ptr =
            lf_event_copy_str(ev, p->fragment.data, p->fragment.len);
        value.u.str.len = p->fragment.len;
        break;
    case '"':
        value.type = LF_VALUE_STRING;
        if (read_string(r, ev, &value.u.str.ptr, &value.u.str.len) != 0) {
            return LF_EPARSE;
        }
        break;
    case 't':
        value.u.b = true;
        if (expect_literal(r, "true", LF_STRLEN("true")) != 0) {
            return LF_EPARSE;
        }
        break;
    case 'f':
        if (expect_literal(r, "false", LF_STRLEN("false")) != 0) {
            return LF_EPARSE;
        }
        break;
    case 'n':
        return expect_literal(r, "null", LF_STRLEN("null"));
    default:
        if (peek(r) != '-' && (peek(r) < '0' || peek(r) > '9')) {
            return fail(r, "expected a value");
        }
        if (scan_number(r, &is_int) != 0) {
            return LF_EPARSE;
        }
        number_value((const char *)start, (size_t)(r->p - start), is_int,
                     &value);
        break;
    }
    add_pending(p, ev, path_len, &value, start, (size_t)(r->p - start));
    return 0;
}

/*
 * Keeps an empty object as the JSON value {}: it has no member to become
 * a field, and dropping it would change the document's shape.
 */
static void add_empty_object(struct json_parser *p, struct lf_event *ev,
                             size_t path_len)
{
    struct lf_value value = {.type = LF_VALUE_JSON};

    value.u.str.ptr = "{}";
    value.u.str.len = LF_STRLEN("{}");
    add_pending(p, ev, path_len, &value, (const unsigned char *)"{}",
                LF_STRLEN("{}"));
}

enum walk_state {
    WALK_FIRST_MEMBER, /* after '{': a member name or '}' */
    WALK_MEMBER,       /* after ',': a member name */
    WALK_AFTER_VALUE,  /* ',' or '}' */
};

/*
 * Reads the line's object into p->pending. p->frames[i] is the path
 * length of the i-th open object, so a member's key is rebuilt from its
 * parent's path without a stack of keys.
 */
static int walk_object(struct json_parser *p, struct reader *r,
                       struct lf_event *ev)
{
    enum walk_state state = WALK_FIRST_MEMBER;
    size_t depth = 1;
    size_t path_len;

    p->frames[0] = p->target_len;
    r->p++;
    while (depth > 0) {
        skip_whitespace(r);
        if (state == WALK_AFTER_VALUE) {
            if (peek(r) == ',') {
                state = WALK_MEMBER;
            } else if (peek(r) == '}') {
                depth--;
            } else {
                return fail(r, "expected ',' or '}' after a member");
            }
            r->p++;
            continue;
        }
        if (state == WALK_FIRST_MEMBER && peek(r) == '}') {
            r->p++;
            depth--;
            if (depth > 0 && p->pending_count == p->max_fields) {
                return fail(r, "more members than max_fields");
            }
            if (depth > 0) {
                add_empty_object(p, ev, p->frames[depth]);
            }
            state = WALK_AFTER_VALUE;
            continue;
        }
        if (p->pending_count == p->max_fields) {
            return fail(r, "more members than max_fields");
        }
        if (read_member_name(p, r, p->frames[depth - 1], &path_len) != 0) {
            return LF_EPARSE;
        }
        skip_whitespace(r);
        if (peek(r) == '{' && depth < p->max_depth) {
            p->frames[depth++] = path_len;
            r->p++;
            state = WALK_FIRST_MEMBER;
            continue;
        }
        if (read_leaf(p, r, ev, path_len, depth) != 0) {
            return LF_EPARSE;
        }
        state = WALK_AFTER_VALUE;
    }
    skip_whitespace(r);
    if (r->p != r->end) {
        return fail(r, "unexpected data after the JSON object");
    }
    return 0;
}

/*
 * Returns the nanoseconds per unit of an epoch number, chosen by its
 * magnitude: seconds below 1e11 (the year 5138), milliseconds below 1e14,
 * microseconds below 1e17, nanoseconds above.
 */
static int64_t epoch_unit_ns(double magnitude)
{
    if (magnitude < 1e11) {
        return INT64_C(1000000000);
    }
    if (magnitude < 1e14) {
        return INT64_C(1000000);
    }
    if (magnitude < 1e17) {
        return INT64_C(1000);
    }
    return 1;
}

static bool epoch_int_to_ns(int64_t value, int64_t *ns_out)
{
    double magnitude = value < 0 ? -(double)value : (double)value;

    return !__builtin_mul_overflow(value, epoch_unit_ns(magnitude), ns_out);
}

/*
 * Converts a float epoch, rounded to microseconds: a double keeps about
 * 0.2 us of precision for seconds of this century, so finer digits are
 * noise, and truncating 1709287201.123 (stored as ...201.12299990654)
 * would turn .123 into .122.
 */
static bool epoch_float_to_ns(double value, int64_t *ns_out)
{
    double magnitude = value < 0 ? -value : value;
    double us = value * ((double)epoch_unit_ns(magnitude) / 1000.0);

    /* Also rejects NaN. */
    if (!(us > -9.2e15 && us < 9.2e15)) {
        return false;
    }
    us += us < 0 ? -0.5 : 0.5;
    *ns_out = (int64_t)us * 1000;
    return true;
}

static bool timestamp_of(struct json_parser *p, const struct lf_value *value,
                         int64_t *ns_out)
{
    switch (value->type) {
    case LF_VALUE_STRING:
        return lf_timestamp_parse_iso8601(value->u.str.ptr, value->u.str.len,
                                          &p->tz, ns_out) == 0;
    case LF_VALUE_INT:
        return epoch_int_to_ns(value->u.i, ns_out);
    case LF_VALUE_FLOAT:
        return epoch_float_to_ns(value->u.f, ns_out);
    default:
        return false;
    }
}

/* Returns the level name of a pino or bunyan numeric level, or NULL. */
static const char *numeric_level(int64_t level)
{
    static const char *const names[] = {"trace", "debug", "info",
                                        "warn",  "error", "fatal"};

    if (level % 10 != 0 || level < 10 || level > 60) {
        return NULL;
    }
    return names[level / 10 - 1];
}

/* Sets log.level from a string or number; false for other values. */
static bool set_level(struct lf_event *ev, const struct pending *item)
{
    const char *name;

    switch (item->value.type) {
    case LF_VALUE_STRING:
        lf_level_set(ev, "log.level", item->value.u.str.ptr,
                     item->value.u.str.len);
        return true;
    case LF_VALUE_INT:
        name = numeric_level(item->value.u.i);
        if (name != NULL) {
            lf_event_set_str(ev, "log.level", name, strlen(name));
            return true;
        }
        lf_event_set_str(ev, "log.level", item->raw, item->raw_len);
        return true;
    case LF_VALUE_FLOAT:
        lf_event_set_str(ev, "log.level", item->raw, item->raw_len);
        return true;
    default:
        return false;
    }
}

/* Makes the member the event's message: a string's value, else its text. */
static void set_message(struct lf_event *ev, const struct pending *item)
{
    if (item->value.type == LF_VALUE_STRING ||
        item->value.type == LF_VALUE_JSON) {
        ev->message = item->value.u.str.ptr;
        ev->message_len = item->value.u.str.len;
    } else {
        ev->message = item->raw;
        ev->message_len = item->raw_len;
    }
}

/* Returns the key that a member of this role sets in the event. */
static const char *ecs_key_of(const struct pending *item)
{
    switch (item->role) {
    case ROLE_TIMESTAMP:
    case ROLE_TIMESTAMP_ALIAS:
        return "@timestamp";
    case ROLE_LEVEL:
    case ROLE_LEVEL_ALIAS:
        return "log.level";
    default:
        return item->key;
    }
}

static void set_field(const struct json_parser *p, struct lf_event *ev,
                      const struct pending *item)
{
    if (p->overwrite_keys || lf_event_get(ev, item->key) == NULL) {
        lf_event_set(ev, item->key, &item->value);
    }
}

/* Records which ECS fields the line sets itself, so aliases give way. */
static void find_roles(const struct json_parser *p, struct line_roles *roles)
{
    memset(roles, 0, sizeof(*roles));
    for (size_t i = 0; i < p->pending_count; i++) {
        switch (p->pending[i].role) {
        case ROLE_MESSAGE:
            roles->message = true;
            break;
        case ROLE_TIMESTAMP:
            roles->timestamp = true;
            break;
        case ROLE_LEVEL:
            roles->level = true;
            break;
        default:
            break;
        }
    }
}

static void commit_member(struct json_parser *p, struct lf_event *ev,
                          const struct pending *item,
                          const struct line_roles *roles)
{
    int64_t ns;

    if (!p->overwrite_keys && item->role != ROLE_MESSAGE &&
        item->role != ROLE_MESSAGE_ALIAS &&
        lf_event_get(ev, ecs_key_of(item)) != NULL) {
        return;
    }
    switch (item->role) {
    case ROLE_FIELD:
        set_field(p, ev, item);
        break;
    case ROLE_MESSAGE:
        set_message(ev, item);
        break;
    case ROLE_MESSAGE_ALIAS:
        if (!roles->message) {
            set_message(ev, item);
        } else if (strcmp(item->key, "message") != 0) {
            set_field(p, ev, item);
        }
        /*
         * NOTE: a root `message` member that loses to `message_key` is
         * dropped, because a document has one message.
         */
        break;
    case ROLE_TIMESTAMP:
        if (timestamp_of(p, &item->value, &ns)) {
            lf_event_set_timestamp(ev, "@timestamp", ns);
        } else {
            /* NOTE: the text of an invalid @timestamp is not kept. */
            ev->tags |= LF_TAG_TIMESTAMP_FAILURE;
        }
        break;
    case ROLE_TIMESTAMP_ALIAS:
        if (!roles->timestamp && timestamp_of(p, &item->value, &ns)) {
            lf_event_set_timestamp(ev, "@timestamp", ns);
        } else {
            set_field(p, ev, item);
        }
        break;
    case ROLE_LEVEL:
        if (!set_level(ev, item)) {
            set_field(p, ev, item);
        }
        break;
    case ROLE_LEVEL_ALIAS:
        if (roles->level || !set_level(ev, item)) {
            set_field(p, ev, item);
        }
        break;
    }
}

static void set_error(struct lf_event *ev, const struct reader *r)
{
    char *text = lf_event_alloc(ev, ERROR_MESSAGE_BYTES);
    int n = snprintf(text, ERROR_MESSAGE_BYTES,
                     "invalid JSON at byte offset %zu: %s", r->error_offset,
                     r->error);

    if (n < 0) {
        return;
    }
    if ((size_t)n >= ERROR_MESSAGE_BYTES) {
        n = ERROR_MESSAGE_BYTES - 1;
    }
    lf_event_set_str(ev, "error.message", text, (size_t)n);
}

static int json_apply(void *state, struct lf_regex_scratch *scratch,
                      struct lf_event *ev, const char *text, size_t len,
                      int64_t now_ns)
{
    struct json_parser *p = state;
    struct reader r = {
        .start = (const unsigned char *)text,
        .p = (const unsigned char *)text,
        .end = (const unsigned char *)text + len,
    };
    struct line_roles roles;
    int rc;

    (void)scratch;
    (void)now_ns;
    p->pending_count = 0;
    skip_whitespace(&r);
    if (peek(&r) == '{') {
        rc = walk_object(p, &r, ev);
    } else {
        rc = fail(&r, "expected '{' to open an object");
    }
    if (rc != 0) {
        if (p->add_error_key) {
            set_error(ev, &r);
        }
        return LF_ENOMATCH;
    }

    find_roles(p, &roles);
    for (size_t i = 0; i < p->pending_count; i++) {
        commit_member(p, ev, &p->pending[i], &roles);
    }
    return 0;
}

static void json_destroy(void *state)
{
    struct json_parser *p = state;

    if (p == NULL) {
        return;
    }
    lf_free(p->pending);
    lf_free(p->frames);
    lf_free(p->path);
    lf_free(p->closers);
    lf_buf_cleanup(&p->fragment);
    lf_buf_cleanup(&p->text);
    lf_free(p);
}

static const char *const json_keys[] = {
    "target",      "message_key", "add_error_key", "overwrite_keys",
    "expand_keys", "max_depth",   "max_fields",    "field",
};

static int read_target(struct json_parser *p, const struct lf_conf_node *spec,
                       char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc = lf_conf_get_str(spec, "target", "", &p->target, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    p->target_len = strlen(p->target);
    if (p->target_len > 0 &&
        (p->target[0] == '.' || p->target[p->target_len - 1] == '.')) {
        lf_conf_child(spec, "target", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "target must be a dotted field name such as "
                             "json, without a leading or trailing '.'");
    }
    return 0;
}

static int read_options(struct json_parser *p, const struct lf_conf_node *spec,
                        char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    long long max_depth = JSON_DEFAULT_MAX_DEPTH;
    long long max_fields = JSON_DEFAULT_MAX_FIELDS;
    int rc;

    rc = lf_conf_check_keys(spec, json_keys, LF_ARRAY_SIZE(json_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = read_target(p, spec, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "message_key", "message", &p->message_key,
                             errbuf, errlen);
    }
    if (rc == 0 && p->message_key[0] == '\0') {
        lf_conf_child(spec, "message_key", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "message_key must name the key whose value "
                           "becomes the message, such as msg");
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "add_error_key", true, &p->add_error_key,
                              errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "overwrite_keys", true, &p->overwrite_keys,
                              errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "expand_keys", true, &p->expand_keys,
                              errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_int(spec, "max_depth", JSON_DEFAULT_MAX_DEPTH, 1,
                             JSON_MAX_DEPTH_LIMIT, &max_depth, errbuf, errlen);
    }
    if (rc == 0) {
        rc =
            lf_conf_get_int(spec, "max_fields", JSON_DEFAULT_MAX_FIELDS, 1,
                            JSON_MAX_FIELDS_LIMIT, &max_fields, errbuf, errlen);
    }
    p->max_depth = (size_t)max_depth;
    p->max_fields = (size_t)max_fields;
    p->message_key_len = strlen(p->message_key);
    return rc;
}

static void set_defaults(struct json_parser *p)
{
    p->target = "";
    p->message_key = "message";
    p->message_key_len = LF_STRLEN("message");
    p->add_error_key = true;
    p->overwrite_keys = true;
    p->expand_keys = true;
    p->max_depth = JSON_DEFAULT_MAX_DEPTH;
    p->max_fields = JSON_DEFAULT_MAX_FIELDS;
}

static int json_create(const struct lf_conf_node *spec, void **out,
                       char *errbuf, size_t errlen)
{
    struct json_parser *p = lf_calloc(1, sizeof(*p));
    enum lf_conf_kind kind = lf_conf_kind(spec);
    int rc = 0;

    /* Stored first: the chain frees it with json_destroy() on failure. */
    *out = p;
    lf_buf_init(&p->fragment);
    lf_buf_init(&p->text);
    lf_tz_init_utc(&p->tz);
    set_defaults(p);
    if (kind != LF_CONF_NULL && kind != LF_CONF_MISSING) {
        rc = read_options(p, spec, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }

    p->frames = lf_calloc(p->max_depth, sizeof(*p->frames));
    /* Every key starts with the target, which stays in front of the path. */
    p->path = grow_array(p->path, &p->path_cap, p->target_len + 1, 1);
    memcpy(p->path, p->target, p->target_len);
    return 0;
}

const struct lf_parser_kind lf_json_parser_kind = {
    .name = "json",
    .role = LF_PARSER_MATCHER,
    .create = json_create,
    .apply = json_apply,
    .destroy = json_destroy,
};
