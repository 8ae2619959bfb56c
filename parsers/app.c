/*
 * The `app` preset: zero-configuration parsing of typical application
 * lines. It reads a leading timestamp, or one after a few machine-written
 * words, and an Android logcat header. Then it splits the rest at blanks in
 * one forward pass and looks at each word once: a level word near the
 * start, an HTTP method followed by a path, a status after the path, a
 * duration such as "12ms", and key=value pairs. No regex runs and each
 * word is scanned once, so the cost is about one comparison per byte plus
 * a few per word. The rules are listed in docs/configuration.md.
 */
#include "parsers/preset_type.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/app_time.h"
#include "parsers/duration.h"
#include "parsers/level.h"
#include "parsers/number.h"
#include "parsers/time_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * A level word counts only among the first words after the timestamp,
 * before the message text starts.
 */
enum { HEADER_WORDS = 6 };

/* The colon that ends an Android logcat tag is looked for in this many bytes.
 */
enum { MAX_LOGCAT_TAG_LEN = 128 };

/* At most this many unknown pairs become labels.* fields per line. */
enum { MAX_LABELS = 32 };

/* Longer keys are not turned into labels. */
enum { MAX_LABEL_KEY_LEN = 64 };

/*
 * Pair rules are looked up by a hash of the key's first byte and length,
 * in buckets filled once at create, because scanning the whole table for
 * each pair cost more than the rest of the line.
 */
enum { RULE_BUCKETS = 64, RULE_BUCKET_MAX = 4 };

struct rule_bucket {
    uint8_t count;
    uint8_t rules[RULE_BUCKET_MAX]; /* indexes into pair_rules */
};

struct app_state {
    struct lf_app_time_finder *time_finder;
    struct rule_bucket rule_buckets[RULE_BUCKETS];
};

struct word {
    const char *ptr;
    size_t len;
    const char *eq; /* the first '=' of a key=value word, else NULL */
};

enum found_bit {
    FOUND_TIME = 1u << 0,
    FOUND_LEVEL = 1u << 1,
    FOUND_METHOD = 1u << 2,
    FOUND_STATUS = 1u << 3,
    FOUND_DURATION = 1u << 4,
    FOUND_THREAD = 1u << 5,
    FOUND_PID = 1u << 6,
};

/* State of the scan of one line. */
struct app_line {
    const struct app_state *state;
    struct lf_event *ev;
    unsigned found;       /* enum found_bit */
    size_t index;         /* of the current word, 0 after the timestamp */
    size_t level_index;   /* of the level word, when FOUND_LEVEL */
    size_t status_before; /* a bare status may sit before this index */
    size_t header_dates;  /* date words before the level, not counted */
    bool header_done;     /* no level, logger or thread after this */
    bool time_comma;      /* the timestamp was followed by ", " */
    struct word logger;   /* candidate after the level, ptr NULL if none */
    struct word thread;   /* candidate after the level, ptr NULL if none */
    struct word prev;     /* the previous word */
    unsigned label_count;
};

enum pair_target {
    PAIR_LABEL,
    PAIR_SKIP,
    PAIR_STRING,
    PAIR_LEVEL,
    PAIR_STATUS,
    PAIR_METHOD,
    PAIR_PATH,
    PAIR_DURATION,
    PAIR_PID,
    PAIR_TIME,
};

struct pair_rule {
    const char *key;
    size_t key_len;
    enum pair_target target;
    const char *field; /* for PAIR_STRING */
};

#define RULE(key, target, field)                                               \
    {                                                                          \
        key, LF_STRLEN(key), target, field                                     \
    }

/* Keys are matched exactly, case included. */
static const struct pair_rule pair_rules[] = {
    RULE("txn", PAIR_STRING, "transaction.id"),
    RULE("txn_id", PAIR_STRING, "transaction.id"),
    RULE("transaction", PAIR_STRING, "transaction.id"),
    RULE("transaction_id", PAIR_STRING, "transaction.id"),
    RULE("transactionId", PAIR_STRING, "transaction.id"),
    RULE("trace", PAIR_STRING, "trace.id"),
    RULE("trace_id", PAIR_STRING, "trace.id"),
    RULE("traceId", PAIR_STRING, "trace.id"),
    RULE("traceid", PAIR_STRING, "trace.id"),
    RULE("trace.id", PAIR_STRING, "trace.id"),
    RULE("span", PAIR_STRING, "span.id"),
    RULE("span_id", PAIR_STRING, "span.id"),
    RULE("spanId", PAIR_STRING, "span.id"),
    RULE("span.id", PAIR_STRING, "span.id"),
    RULE("request_id", PAIR_STRING, "http.request.id"),
    RULE("requestId", PAIR_STRING, "http.request.id"),
    RULE("req_id", PAIR_STRING, "http.request.id"),
    RULE("reqid", PAIR_STRING, "http.request.id"),
    RULE("rid", PAIR_STRING, "http.request.id"),
    RULE("user", PAIR_STRING, "user.id"),
    RULE("user_id", PAIR_STRING, "user.id"),
    RULE("userId", PAIR_STRING, "user.id"),
    RULE("uid", PAIR_STRING, "user.id"),
    RULE("logger", PAIR_STRING, "log.logger"),
    RULE("thread", PAIR_STRING, "process.thread.name"),
    RULE("level", PAIR_LEVEL, NULL),
    RULE("lvl", PAIR_LEVEL, NULL),
    RULE("severity", PAIR_LEVEL, NULL),
    RULE("status", PAIR_STATUS, NULL),
    RULE("status_code", PAIR_STATUS, NULL),
    RULE("statusCode", PAIR_STATUS, NULL),
    RULE("http_status", PAIR_STATUS, NULL),
    RULE("method", PAIR_METHOD, NULL),
    RULE("path", PAIR_PATH, NULL),
    RULE("uri", PAIR_PATH, NULL),
    RULE("url", PAIR_PATH, NULL),
    RULE("took", PAIR_DURATION, NULL),
    RULE("duration", PAIR_DURATION, NULL),
    RULE("elapsed", PAIR_DURATION, NULL),
    RULE("latency", PAIR_DURATION, NULL),
    RULE("pid", PAIR_PID, NULL),
    RULE("time", PAIR_TIME, NULL),
    RULE("ts", PAIR_TIME, NULL),
    RULE("timestamp", PAIR_TIME, NULL),
    RULE("@timestamp", PAIR_TIME, NULL),
    /* The text of the message, which the document already holds. */
    RULE("msg", PAIR_SKIP, NULL),
    RULE("message", PAIR_SKIP, NULL),
};

struct name {
    const char *text;
    size_t len;
};

#define NAME(text)                                                             \
    {                                                                          \
        text, LF_STRLEN(text)                                                  \
    }

static const struct name http_methods[] = {
    NAME("GET"),     NAME("POST"),    NAME("PUT"),
    NAME("DELETE"),  NAME("PATCH"),   NAME("HEAD"),
    NAME("OPTIONS"), NAME("CONNECT"), NAME("TRACE"),
};

/* Upper-case level words read without brackets or a colon. */
static const struct name bare_levels[] = {
    NAME("INFO"),    NAME("DEBUG"),    NAME("WARN"),  NAME("ERROR"),
    NAME("WARNING"), NAME("TRACE"),    NAME("FATAL"), NAME("NOTICE"),
    NAME("SEVERE"),  NAME("CRITICAL"), NAME("CRIT"),  NAME("PANIC"),
    NAME("EMERG"),   NAME("ALERT"),    NAME("INF"),   NAME("DBG"),
    NAME("WRN"),     NAME("ERR"),      NAME("TRC"),
};

/*
 * Bytes that end a word's fast scan: blanks, line breaks, and '=' (which
 * may open a quoted value). Indexed by unsigned char.
 */
static const bool word_stop[256] = {
    [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true, ['='] = true,
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alpha(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z');
}

/* Compares the length and first byte before calling memcmp(). */
static bool in_list(const char *p, size_t len, const struct name *list,
                    size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (list[i].len == len && list[i].text[0] == p[0] &&
            memcmp(list[i].text, p, len) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Returns the closing quote of a value whose body starts at `body`,
 * skipping quotes escaped with a backslash; NULL when it is missing.
 */
static const char *find_closing_quote(const char *body, const char *end)
{
    const char *p = body;

    while (p < end) {
        const char *quote = memchr(p, '"', (size_t)(end - p));
        const char *backslash;

        if (quote == NULL) {
            return NULL;
        }
        backslash = quote;
        while (backslash > body && backslash[-1] == '\\') {
            backslash--;
        }
        if ((quote - backslash) % 2 == 0) {
            return quote;
        }
        p = quote + 1;
    }
    return NULL;
}

/* Loads 8 bytes with s[0] in the low byte, whatever the host's order. */
static uint64_t load_le64(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16 |
           (uint64_t)u[3] << 24 | (uint64_t)u[4] << 32 | (uint64_t)u[5] << 40 |
           (uint64_t)u[6] << 48 | (uint64_t)u[7] << 56;
}

/*
 * Returns the first byte at or after `s` that stops a word (see
 * word_stop), or `end`. Eight bytes are tested at once for a byte below
 * 0x21 or equal to '='. The subtraction's borrow can flag bytes after a
 * true hit but never before one, so the lowest flagged byte is a true
 * hit. It may still be a control byte that does not stop a word, and
 * the scan then goes on after it.
 */
static const char *skip_word_bytes(const char *s, const char *end)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);

    while (end - s >= 8) {
        uint64_t x = load_le64(s);
        uint64_t eq = x ^ (ones * '=');
        uint64_t below = (x - ones * 0x21) & ~x;
        uint64_t hits = (below | ((eq - ones) & ~eq)) & highs;

        if (hits == 0) {
            s += 8;
            continue;
        }
        s += __builtin_ctzll(hits) / 8;
        if (word_stop[(unsigned char)*s]) {
            return s;
        }
        s++;
    }
    while (s < end && !word_stop[(unsigned char)*s]) {
        s++;
    }
    return s;
}

/*
 * Reads the next word at *p. A word ends at a blank, except that a
 * key="quoted value" word ends after its closing quote. Returns false at
 * the end of the text.
 */
static bool next_word(const char **p, const char *end, struct word *out)
{
    const char *s = *p;

    while (s < end && is_blank(*s)) {
        s++;
    }
    if (s == end) {
        return false;
    }
    out->ptr = s;
    out->eq = NULL;
    for (;;) {
        s = skip_word_bytes(s, end);
        if (s == end || *s != '=') {
            break;
        }
        if (out->eq == NULL) {
            out->eq = s;
            if (s + 1 < end && s[1] == '"') {
                const char *close = find_closing_quote(s + 2, end);

                /* Without its closing quote the value ends at a blank. */
                if (close != NULL) {
                    s = close + 1;
                    continue;
                }
            }
        }
        s++;
    }
    out->len = (size_t)(s - out->ptr);
    *p = s;
    return true;
}

/* Removes one trailing ',' or ';', which joins words in prose. */
static size_t trim_punctuation(const char *p, size_t len)
{
    if (len > 1 && (p[len - 1] == ',' || p[len - 1] == ';')) {
        return len - 1;
    }
    return len;
}

/* Sets url.path and url.query from "/path?query". */
static void set_path(struct lf_event *ev, const char *p, size_t len)
{
    const char *query = memchr(p, '?', len);
    size_t path_len = query != NULL ? (size_t)(query - p) : len;

    lf_event_set_str(ev, "url.path", p, path_len);
    if (query != NULL && query + 1 < p + len) {
        lf_event_set_str(ev, "url.query", query + 1,
                         (size_t)(p + len - query - 1));
    }
}

/* Reads a status code: three digits from 100 to 599. */
static bool parse_status(const char *p, size_t len, int64_t *out)
{
    if (len != 3 || p[0] < '1' || p[0] > '5' || !is_digit(p[1]) ||
        !is_digit(p[2])) {
        return false;
    }
    *out = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return true;
}

/*
 * Reads a duration with its unit: "850us", "12ms", "1.5s", "30ns" or
 * "5µs". A number without a unit is not a duration.
 */
static bool parse_duration_with_unit(const char *p, size_t len, int64_t *ns_out)
{
    static const struct {
        const char *suffix;
        size_t len;
        int64_t unit_ns;
    } units[] = {
        {"ms", 2, INT64_C(1000000)},     {"us", 2, INT64_C(1000)},
        {"\xc2\xb5s", 3, INT64_C(1000)}, {"ns", 2, 1},
        {"s", 1, INT64_C(1000000000)},
    };

    if (len < 2 || !(is_digit(p[0]) || p[0] == '.') || p[len - 1] != 's') {
        return false;
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(units); i++) {
        size_t n = units[i].len;

        if (len > n && memcmp(p + len - n, units[i].suffix, n) == 0) {
            return lf_duration_parse(p, len - n, units[i].unit_ns, ns_out) == 0;
        }
    }
    return false;
}

/*
 * Reads a duration value of a pair. A bare number takes its unit from a
 * key suffix ("duration_ms=12"), and otherwise is not read.
 */
static bool parse_pair_duration(const char *key, size_t key_len, const char *p,
                                size_t len, int64_t *ns_out)
{
    int64_t unit_ns;

    if (parse_duration_with_unit(p, len, ns_out)) {
        return true;
    }
    if (key_len > 3 && memcmp(key + key_len - 3, "_ms", 3) == 0) {
        unit_ns = INT64_C(1000000);
    } else if (key_len > 3 && memcmp(key + key_len - 3, "_us", 3) == 0) {
        unit_ns = INT64_C(1000);
    } else if (key_len > 3 && memcmp(key + key_len - 3, "_ns", 3) == 0) {
        unit_ns = 1;
    } else if (key_len > 2 && memcmp(key + key_len - 2, "_s", 2) == 0) {
        unit_ns = INT64_C(1000000000);
    } else {
        return false;
    }
    return lf_duration_parse(p, len, unit_ns, ns_out) == 0;
}

static size_t rule_bucket_index(const char *key, size_t len)
{
    return ((unsigned char)key[0] * 33u + len) % RULE_BUCKETS;
}

static const struct pair_rule *find_pair_rule(const struct app_state *state,
                                              const char *key, size_t len)
{
    const struct rule_bucket *bucket =
        &state->rule_buckets[rule_bucket_index(key, len)];

    for (size_t i = 0; i < bucket->count; i++) {
        const struct pair_rule *rule = &pair_rules[bucket->rules[i]];

        if (rule->key_len == len && memcmp(rule->key, key, len) == 0) {
            return rule;
        }
    }
    return NULL;
}

/* Returns LF_ETOOBIG when a bucket overflows: raise RULE_BUCKET_MAX. */
static int fill_rule_buckets(struct app_state *state)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(pair_rules); i++) {
        struct rule_bucket *bucket = &state->rule_buckets[rule_bucket_index(
            pair_rules[i].key, pair_rules[i].key_len)];

        if (bucket->count == RULE_BUCKET_MAX) {
            return LF_ETOOBIG;
        }
        bucket->rules[bucket->count++] = (uint8_t)i;
    }
    return 0;
}

/* Durations named by a key suffix, such as "took_ms" or "latency_us". */
static bool is_duration_key(const char *key, size_t len)
{
    static const char *const stems[] = {"took", "duration", "elapsed",
                                        "latency"};

    for (size_t i = 0; i < LF_ARRAY_SIZE(stems); i++) {
        size_t n = strlen(stems[i]);

        if (len > n + 1 && memcmp(key, stems[i], n) == 0 && key[n] == '_') {
            return true;
        }
    }
    return false;
}

static bool is_key_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-' ||
           c == '@';
}

static bool is_valid_key(const char *p, size_t len)
{
    if (len == 0 || !(is_alpha(p[0]) || p[0] == '_' || p[0] == '@')) {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!is_key_char(p[i])) {
            return false;
        }
    }
    return true;
}

/*
 * Returns the value of a pair with quotes removed and \" and \\ unescaped.
 * Unescaping copies the value into the event's arena.
 */
static const char *pair_value(struct lf_event *ev, const char *p, size_t *len)
{
    const char *body;
    size_t body_len;
    char *copy;
    size_t used = 0;

    if (*len < 2 || p[0] != '"' || p[*len - 1] != '"') {
        *len = trim_punctuation(p, *len);
        return p;
    }
    body = p + 1;
    body_len = *len - 2;
    if (memchr(body, '\\', body_len) == NULL) {
        *len = body_len;
        return body;
    }
    copy = lf_event_alloc(ev, body_len + 1);
    for (size_t i = 0; i < body_len; i++) {
        if (body[i] == '\\' && i + 1 < body_len &&
            (body[i + 1] == '"' || body[i + 1] == '\\')) {
            i++;
        }
        copy[used++] = body[i];
    }
    copy[used] = '\0';
    *len = used;
    return copy;
}

/* Sets labels.KEY, with bytes other than [A-Za-z0-9_] in KEY made '_'. */
static void set_label(struct app_line *line, const char *key, size_t key_len,
                      const char *value, size_t value_len)
{
    static const char prefix[] = "labels.";
    char *name;

    if (line->label_count >= MAX_LABELS || key_len > MAX_LABEL_KEY_LEN) {
        return;
    }
    name = lf_event_alloc(line->ev, LF_STRLEN(prefix) + key_len + 1);
    memcpy(name, prefix, LF_STRLEN(prefix));
    for (size_t i = 0; i < key_len; i++) {
        char c = key[i];

        name[LF_STRLEN(prefix) + i] =
            is_alpha(c) || is_digit(c) || c == '_' ? c : '_';
    }
    name[LF_STRLEN(prefix) + key_len] = '\0';
    lf_event_set_str(line->ev, name, value, value_len);
    line->label_count++;
}

/* Reads an ISO 8601 time or Unix seconds or milliseconds, whole. */
static bool parse_pair_time(const char *p, size_t len, int64_t *ns_out)
{
    const char *end = p + len;

    return lf_time_scan_iso8601(p, end, ns_out) == len ||
           lf_time_scan_epoch(p, end, ns_out) == len;
}

/*
 * Sets the field a mapped pair names. Returns false when the value does
 * not convert, so that the pair becomes a label instead.
 */
static bool set_mapped_pair(struct app_line *line, const struct pair_rule *rule,
                            const char *value, size_t len)
{
    struct lf_event *ev = line->ev;
    int64_t n;

    switch (rule->target) {
    case PAIR_SKIP:
        return true;
    case PAIR_STRING:
        lf_event_set_str(ev, rule->field, value, len);
        return true;
    case PAIR_LEVEL:
        lf_level_set(ev, "log.level", value, len);
        line->found |= FOUND_LEVEL;
        line->header_done = true;
        return true;
    case PAIR_STATUS:
        if (!parse_status(value, len, &n)) {
            return false;
        }
        lf_event_set_int(ev, "http.response.status_code", n);
        line->found |= FOUND_STATUS;
        return true;
    case PAIR_METHOD:
        if (!in_list(value, len, http_methods, LF_ARRAY_SIZE(http_methods))) {
            return false;
        }
        lf_event_set_str(ev, "http.request.method", value, len);
        line->found |= FOUND_METHOD;
        return true;
    case PAIR_PATH:
        if (len == 0 || value[0] != '/') {
            return false;
        }
        set_path(ev, value, len);
        return true;
    case PAIR_DURATION:
        if (!parse_pair_duration(rule->key, rule->key_len, value, len, &n)) {
            return false;
        }
        lf_event_set_int(ev, "event.duration", n);
        line->found |= FOUND_DURATION;
        return true;
    case PAIR_PID:
        /* A pid= pair after a logcat header names some other process. */
        if ((line->found & FOUND_PID) != 0 ||
            lf_number_parse_int(value, len, &n) != 0 || n < 0) {
            return false;
        }
        lf_event_set_int(ev, "process.pid", n);
        line->found |= FOUND_PID;
        return true;
    case PAIR_TIME:
        if ((line->found & FOUND_TIME) != 0) {
            return false;
        }
        if (!parse_pair_time(value, len, &n)) {
            return false;
        }
        lf_event_set_timestamp(ev, "@timestamp", n);
        line->found |= FOUND_TIME;
        return true;
    case PAIR_LABEL:
        break;
    }
    return false;
}

static void handle_pair(struct app_line *line, const struct word *w)
{
    const char *key = w->ptr;
    size_t key_len = (size_t)(w->eq - w->ptr);
    size_t len = (size_t)(w->ptr + w->len - w->eq - 1);
    const char *value;
    const struct pair_rule *rule;
    int64_t ns;

    /* "[txn=abc]" and "(user=bob)": the brackets are not key or value. */
    if (key_len > 0 && (key[0] == '[' || key[0] == '(')) {
        char close = key[0] == '[' ? ']' : ')';

        key++;
        key_len--;
        if (len > 0 && w->eq[len] == close) {
            len--;
        }
    }
    if (!is_valid_key(key, key_len)) {
        return;
    }
    value = pair_value(line->ev, w->eq + 1, &len);
    if (len == 0) {
        return; /* "user=" and "user=\"\"" carry no value */
    }
    rule = find_pair_rule(line->state, key, key_len);
    if (rule != NULL && set_mapped_pair(line, rule, value, len)) {
        return;
    }
    if (rule == NULL && is_duration_key(key, key_len) &&
        parse_pair_duration(key, key_len, value, len, &ns)) {
        lf_event_set_int(line->ev, "event.duration", ns);
        line->found |= FOUND_DURATION;
        return;
    }
    set_label(line, key, key_len, value, len);
}

/*
 * Reads a level word: "ERROR" and the other upper-case words of
 * bare_levels, any case inside [] or <> or before a colon ("[error]",
 * "<warn>", "info:"), and a single upper-case letter (E, W, I, D, F, T)
 * as the first word after a timestamp. A level name of any case is also
 * read as the first word after a timestamp that ends with ", "
 * ("2016-09-28 04:30:31, Info"). Stores the level text.
 */
static bool read_level_word(const struct app_line *line, const struct word *w,
                            const char **level, size_t *level_len)
{
    const char *p = w->ptr;
    size_t len = w->len;

    if (line->time_comma && line->index == 0 && len >= 3 &&
        lf_level_canonical(p, len) != NULL) {
        *level = p;
        *level_len = len;
        return true;
    }
    if (len >= 3 && ((p[0] == '[' && p[len - 1] == ']') ||
                     (p[0] == '<' && p[len - 1] == '>'))) {
        p++;
        len -= 2;
    } else if (len >= 2 && p[len - 1] == ':') {
        len--;
    } else if (len == 1) {
        if (line->index != 0 || (line->found & FOUND_TIME) == 0 ||
            strchr("EWIDFT", p[0]) == NULL) {
            return false;
        }
    } else if (!in_list(p, len, bare_levels, LF_ARRAY_SIZE(bare_levels))) {
        return false;
    }
    if (lf_level_canonical(p, len) == NULL) {
        return false;
    }
    *level = p;
    *level_len = len;
    return true;
}

static bool is_bracketed_name(const struct word *w)
{
    return w->len >= 3 && w->ptr[0] == '[' && w->ptr[w->len - 1] == ']';
}

static bool is_separator(const struct word *w)
{
    return w->len == 1 &&
           (w->ptr[0] == '-' || w->ptr[0] == ':' || w->ptr[0] == '|');
}

/*
 * A word of letters, digits and ".-_:/" with at least one digit, such as
 * a host or node name ("node-12", "R02-M1-N0-C:J12-U11").
 */
static bool is_node_name(const struct word *w)
{
    bool has_digit = false;

    for (size_t i = 0; i < w->len; i++) {
        if (!lf_app_is_field_char(w->ptr[i])) {
            return false;
        }
        has_digit = has_digit || is_digit(w->ptr[i]);
    }
    return has_digit;
}

/*
 * Tells whether a word before any level is the start of the message
 * text, after which no level is looked for. Words that start with a
 * letter are, unless a separator follows them ("myapp - ERROR - ...") or
 * they are upper-case codes or node names.
 */
static bool is_prose(const struct word *w, const struct word *next)
{
    return is_alpha(w->ptr[0]) && !lf_app_is_upper_code(w->ptr, w->len) &&
           !is_node_name(w) && (next == NULL || !is_separator(next));
}

/*
 * A date such as "2005.06.03" or "2005-06-03-15.42.50" after the
 * timestamp. It does not count towards HEADER_WORDS, because machine
 * logs often repeat the time in another form before the level.
 */
static bool is_date_word(const struct word *w)
{
    const char *p = w->ptr;

    return w->len >= 10 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) &&
           is_digit(p[3]) && (p[4] == '.' || p[4] == '-' || p[4] == '/');
}

/* A logger name: a letter, then letters, digits, '.', '_', '$' or '-'. */
static bool is_logger_name(const struct word *w)
{
    if (!is_alpha(w->ptr[0])) {
        return false;
    }
    for (size_t i = 1; i < w->len; i++) {
        char c = w->ptr[i];

        if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '$' ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

/*
 * Reads Python's default "LEVEL:logger:message" word. Returns false for
 * any other word.
 */
static bool read_python_level(struct app_line *line, const struct word *w)
{
    const char *colon = memchr(w->ptr, ':', w->len);
    const char *end = w->ptr + w->len;
    const char *logger_end;
    size_t level_len;

    if (colon == NULL || colon == w->ptr || colon + 1 >= end) {
        return false;
    }
    level_len = (size_t)(colon - w->ptr);
    if (!in_list(w->ptr, level_len, bare_levels, LF_ARRAY_SIZE(bare_levels))) {
        return false;
    }
    logger_end = memchr(colon + 1, ':', (size_t)(end - colon - 1));
    lf_level_set(line->ev, "log.level", w->ptr, level_len);
    if (logger_end != NULL && logger_end > colon + 1) {
        lf_event_set_str(line->ev, "log.logger", colon + 1,
                         (size_t)(logger_end - colon - 1));
    }
    line->header_done = true;
    return true;
}

static bool handle_level(struct app_line *line, const struct word *w)
{
    const char *level;
    size_t level_len;

    if (!read_level_word(line, w, &level, &level_len)) {
        return read_python_level(line, w);
    }
    lf_level_set(line->ev, "log.level", level, level_len);
    line->level_index = line->index;
    /* "[main] INFO": a bracketed word just before the level is a thread. */
    if (line->index > 0 && is_bracketed_name(&line->prev)) {
        lf_event_set_str(line->ev, "process.thread.name", line->prev.ptr + 1,
                         line->prev.len - 2);
        line->found |= FOUND_THREAD;
    }
    return true;
}

/*
 * Reads the words between the level and a "-" or ":" separator, as in
 * "INFO com.example.App [main] - message": a plain name is the logger, a
 * bracketed name the thread. Anything else ends the header.
 */
static void handle_after_level(struct app_line *line, const struct word *w)
{
    if (line->index > line->level_index + 3) {
        line->header_done = true;
    } else if (is_separator(w)) {
        if (line->logger.ptr != NULL) {
            lf_event_set_str(line->ev, "log.logger", line->logger.ptr,
                             line->logger.len);
        }
        if (line->thread.ptr != NULL && (line->found & FOUND_THREAD) == 0) {
            lf_event_set_str(line->ev, "process.thread.name",
                             line->thread.ptr + 1, line->thread.len - 2);
        }
        line->header_done = true;
    } else if (is_bracketed_name(w) && line->thread.ptr == NULL) {
        line->thread = *w;
    } else if (is_logger_name(w) && line->logger.ptr == NULL) {
        line->logger = *w;
    } else {
        line->header_done = true;
    }
}

/*
 * Reads an HTTP method followed by a path: `GET /api/tasks/42?x=1`, also
 * inside a quoted request line. Returns true when it consumed `next`.
 */
static bool handle_method(struct app_line *line, const struct word *w,
                          const struct word *next)
{
    const char *method = w->ptr;
    size_t method_len = w->len;
    const char *path;
    size_t path_len;

    if (method_len > 1 && method[0] == '"') {
        method++;
        method_len--;
    }
    if (next == NULL || next->len == 0 || next->ptr[0] != '/' ||
        !in_list(method, method_len, http_methods,
                 LF_ARRAY_SIZE(http_methods))) {
        return false;
    }
    path = next->ptr;
    path_len = trim_punctuation(path, next->len);
    if (path_len > 1 && path[path_len - 1] == '"') {
        path_len--;
    }
    lf_event_set_str(line->ev, "http.request.method", method, method_len);
    set_path(line->ev, path, path_len);
    line->found |= FOUND_METHOD;
    /* The status may follow the path, or a `HTTP/1.1"` after it. */
    line->status_before = line->index + 4;
    return true;
}

static bool is_http_version(const struct word *w)
{
    return w->len >= 5 && memcmp(w->ptr, "HTTP/", 5) == 0;
}

static void handle_number(struct app_line *line, const struct word *w)
{
    size_t len = trim_punctuation(w->ptr, w->len);
    int64_t n;

    if ((line->found & FOUND_STATUS) == 0 &&
        line->index < line->status_before && parse_status(w->ptr, len, &n)) {
        lf_event_set_int(line->ev, "http.response.status_code", n);
        line->found |= FOUND_STATUS;
        return;
    }
    if ((line->found & FOUND_DURATION) == 0) {
        const char *p = w->ptr;

        if (p[0] == '(' && len > 2 && p[len - 1] == ')') {
            p++;
            len -= 2;
        }
        if (parse_duration_with_unit(p, len, &n)) {
            lf_event_set_int(line->ev, "event.duration", n);
            line->found |= FOUND_DURATION;
        }
    }
}

/*
 * Looks at one word. Returns true when it also consumed `next` (NULL at
 * the end of the line).
 */
static bool handle_word(struct app_line *line, const struct word *w,
                        const struct word *next)
{
    char first = w->ptr[0];

    if (w->eq != NULL) {
        handle_pair(line, w);
        return false;
    }
    if ((line->found & FOUND_METHOD) == 0 &&
        (is_upper(first) || first == '"') && handle_method(line, w, next)) {
        return true;
    }
    if ((line->found & FOUND_LEVEL) == 0 && !line->header_done) {
        if (handle_level(line, w)) {
            line->found |= FOUND_LEVEL;
            return false;
        }
        if (is_date_word(w)) {
            line->header_dates++;
        }
        line->header_done =
            line->index + 1 - line->header_dates >= HEADER_WORDS ||
            is_prose(w, next);
    } else if ((line->found & FOUND_LEVEL) != 0 && !line->header_done &&
               line->index > line->level_index) {
        handle_after_level(line, w);
    }
    if (is_digit(first) || first == '(' || first == '.') {
        handle_number(line, w);
    } else if (is_http_version(w) && line->index < line->status_before) {
        line->status_before++;
    }
    return false;
}

/*
 * Reads up to 10 digits followed by a blank or the end as a non-negative
 * integer. Returns the end of the digits, or NULL.
 */
static const char *read_id(const char *p, const char *end, int64_t *out)
{
    const char *s = p;

    while (s < end && is_digit(*s) && s - p < 10) {
        s++;
    }
    if (s == p || (s < end && !is_blank(*s)) ||
        lf_number_parse_int(p, (size_t)(s - p), out) != 0) {
        return NULL;
    }
    return s;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p)) {
        p++;
    }
    return p;
}

/* Returns the log.level of an Android priority letter, or NULL. */
static const char *logcat_level(char c)
{
    switch (c) {
    case 'V':
        return "trace";
    case 'D':
        return "debug";
    case 'I':
        return "info";
    case 'W':
        return "warn";
    case 'E':
        return "error";
    case 'F':
    case 'A':
        return "fatal";
    default:
        return NULL;
    }
}

/*
 * Reads the rest of Android logcat's "threadtime" header after its time:
 * "  1702  8671 D PowerManager: message", the process id, thread id,
 * priority letter and tag, which may be padded with blanks before its
 * colon. Sets process.pid, process.thread.id, log.level and log.logger.
 * Returns where the message starts, or `p` unchanged when the text is not
 * such a header.
 */
static const char *read_logcat_header(struct app_line *line, const char *p,
                                      const char *end)
{
    const char *s = skip_blanks(p, end);
    const char *level;
    const char *tag;
    const char *colon;
    const char *tag_end;
    size_t tag_room;
    int64_t pid;
    int64_t tid;

    if (s == end || !is_digit(*s)) {
        return p;
    }
    s = read_id(s, end, &pid);
    if (s == NULL) {
        return p;
    }
    s = read_id(skip_blanks(s, end), end, &tid);
    if (s == NULL) {
        return p;
    }
    s = skip_blanks(s, end);
    if (end - s < 3 || s[1] != ' ' || (level = logcat_level(s[0])) == NULL) {
        return p;
    }
    tag = skip_blanks(s + 2, end);
    tag_room = (size_t)(end - tag);
    if (tag_room > MAX_LOGCAT_TAG_LEN) {
        tag_room = MAX_LOGCAT_TAG_LEN;
    }
    colon = memchr(tag, ':', tag_room);
    if (colon == NULL || (colon + 1 < end && !is_blank(colon[1]))) {
        return p;
    }
    tag_end = colon;
    while (tag_end > tag && is_blank(tag_end[-1])) {
        tag_end--;
    }
    if (tag_end == tag) {
        return p;
    }
    lf_event_set_int(line->ev, "process.pid", pid);
    lf_event_set_int(line->ev, "process.thread.id", tid);
    lf_event_set_str(line->ev, "log.level", level, strlen(level));
    lf_event_set_str(line->ev, "log.logger", tag, (size_t)(tag_end - tag));
    line->found |= FOUND_LEVEL | FOUND_PID;
    line->header_done = true;
    return colon + 1;
}

static int app_apply(void *state, struct lf_event *ev, const char *text,
                     size_t len, int64_t now_ns)
{
    struct app_state *app = state;
    const char *end = text + len;
    struct app_line line = {.state = app, .ev = ev};
    struct lf_app_time time;
    struct word current;
    struct word next;
    const char *p;
    bool has_next;

    p = lf_app_time_find(app->time_finder, text, end, now_ns, &time);
    if (time.found) {
        lf_event_set_timestamp(ev, "@timestamp", time.ns);
        line.found |= FOUND_TIME;
        line.time_comma = time.comma;
        p = read_logcat_header(&line, p, end);
    }
    has_next = next_word(&p, end, &next);
    while (has_next) {
        current = next;
        has_next = next_word(&p, end, &next);
        if (handle_word(&line, &current, has_next ? &next : NULL)) {
            line.index++;
            line.prev = next;
            has_next = next_word(&p, end, &next);
        } else {
            line.prev = current;
        }
        line.index++;
    }
    return 0;
}

static void app_destroy(void *state)
{
    struct app_state *app = state;

    if (app == NULL) {
        return;
    }
    lf_app_time_finder_free(app->time_finder);
    lf_free(app);
}

static int app_create(void **state_out)
{
    struct app_state *app = lf_calloc(1, sizeof(*app));
    int rc;

    rc = lf_app_time_finder_new(&app->time_finder);
    if (rc == 0) {
        rc = fill_rule_buckets(app);
    }
    if (rc != 0) {
        app_destroy(app);
        return rc;
    }
    *state_out = app;
    return 0;
}

const struct lf_preset_type lf_preset_app = {
    .name = "app",
    .create = app_create,
    .apply = app_apply,
    .destroy = app_destroy,
};
