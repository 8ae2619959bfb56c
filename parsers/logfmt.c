/*
 * The `logfmt` parser: splits a line into `key=value` pairs. Known keys
 * (level, msg, ts, trace_id, ...) become typed ECS fields through the
 * table below, and the other keys become strings under `target`. The line
 * is split before any field is set, so a line that does not match leaves
 * the event unchanged.
 */
#include "parsers/logfmt.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/duration.h"
#include "parsers/level.h"
#include "parsers/timestamp.h"
#include "parsers/unicode.h"

#include <stdbool.h>
#include <string.h>

enum {
    /* Maximum length of a Go duration unit ("ms", "us", "ns"), plus a NUL. */
    DURATION_UNIT_BYTES = 3,
    /*
     * Elasticsearch's default index.mapping.total_fields.limit; it also
     * bounds the event's linear key lookups on long lines.
     */
    LOGFMT_DEFAULT_MAX_FIELDS = 1000,
    LOGFMT_MAX_FIELDS_LIMIT = 100000,
};

enum key_kind {
    KEY_STRING,    /* the value as it is */
    KEY_LEVEL,     /* normalised like every log.level */
    KEY_MESSAGE,   /* the event's message */
    KEY_TIMESTAMP, /* ISO 8601 / RFC 3339 */
    KEY_DURATION,  /* a Go duration such as 1.5s or 2m3s, as nanoseconds */
};

struct known_key {
    const char *name;
    const char *ecs_key;
    enum key_kind kind;
};

/*
 * Documented in the logfmt section of docs/configuration.md: keep the
 * two in step.
 */
static const struct known_key known_keys[] = {
    {"level", "log.level", KEY_LEVEL},
    {"lvl", "log.level", KEY_LEVEL},
    {"at", "log.level", KEY_LEVEL}, /* Heroku router and runtime */
    {"msg", "message", KEY_MESSAGE},
    {"message", "message", KEY_MESSAGE},
    {"ts", "@timestamp", KEY_TIMESTAMP},
    {"time", "@timestamp", KEY_TIMESTAMP},
    {"timestamp", "@timestamp", KEY_TIMESTAMP},
    {"trace_id", "trace.id", KEY_STRING},
    {"span_id", "span.id", KEY_STRING},
    {"txn", "transaction.id", KEY_STRING},
    {"transaction_id", "transaction.id", KEY_STRING},
    {"request_id", "http.request.id", KEY_STRING},
    {"user", "user.name", KEY_STRING},
    {"logger", "log.logger", KEY_STRING},
    {"err", "error.message", KEY_STRING},
    {"error", "error.message", KEY_STRING},
    {"duration", "event.duration", KEY_DURATION},
};

struct pair {
    const char *key; /* in the line */
    size_t key_len;
    const char *value; /* in the line; a quoted value without its quotes */
    size_t value_len;
    bool escaped; /* quoted with backslash escapes to decode */
    bool bare;    /* a key without '=': the value is true */
};

struct logfmt_parser {
    const char *target; /* "" for the root of the event; borrowed */
    size_t target_len;
    bool undot; /* replace '.' in keys by '_' (under `labels`) */
    size_t max_fields;
    struct lf_tz tz;
    struct pair *pairs; /* reused by every line */
    size_t pair_cap;
};

static bool is_blank(unsigned char c)
{
    return c <= ' ';
}

/* Moves past a quoted value at text[*i] == '"'; false when unterminated. */
static bool scan_quoted(const char *text, size_t len, size_t *i,
                        struct pair *pair)
{
    size_t start = *i + 1;
    size_t j = start;

    pair->escaped = false;
    while (j < len && text[j] != '"') {
        if (text[j] == '\\') {
            pair->escaped = true;
            j++;
        }
        j++;
    }
    if (j >= len) {
        return false;
    }
    pair->value = text + start;
    pair->value_len = j - start;
    *i = j + 1;
    /* A closing quote must end the pair: `a="x"y` is not logfmt. */
    return *i == len || is_blank((unsigned char)text[*i]);
}

static void scan_bare_value(const char *text, size_t len, size_t *i,
                            struct pair *pair)
{
    size_t start = *i;

    while (*i < len && !is_blank((unsigned char)text[*i])) {
        (*i)++;
    }
    pair->value = text + start;
    pair->value_len = *i - start;
}

/*
 * Reads the pair at text[*i], a non-blank byte. Returns false when the
 * text there is not a pair: a quote or '=' where a key starts, or an
 * unterminated quoted value.
 */
static bool scan_pair(const char *text, size_t len, size_t *i,
                      struct pair *pair)
{
    size_t start = *i;

    memset(pair, 0, sizeof(*pair));
    while (*i < len && !is_blank((unsigned char)text[*i]) && text[*i] != '=' &&
           text[*i] != '"') {
        (*i)++;
    }
    pair->key = text + start;
    pair->key_len = *i - start;
    if (pair->key_len == 0) {
        return false;
    }
    if (*i == len || is_blank((unsigned char)text[*i])) {
        pair->bare = true;
        return true;
    }
    if (text[*i] == '"') {
        return false;
    }
    (*i)++; /* '=' */
    if (*i < len && text[*i] == '"') {
        return scan_quoted(text, len, i, pair);
    }
    scan_bare_value(text, len, i, pair);
    return true;
}

/*
 * Splits the line into p->pairs and stores their count. Returns 0, or
 * LF_ENOMATCH when the line is not logfmt, has more than max_fields
 * pairs, or has no `key=value` pair: a line of bare words is prose, not
 * logfmt.
 */
static int split_pairs(struct logfmt_parser *p, const char *text, size_t len,
                       size_t *count_out)
{
    size_t count = 0;
    bool has_value = false;
    size_t i = 0;

    for (;;) {
        while (i < len && is_blank((unsigned char)text[i])) {
            i++;
        }
        if (i == len) {
            break;
        }
        if (count == p->max_fields) {
            return LF_ENOMATCH;
        }
        if (count == p->pair_cap) {
            p->pair_cap = p->pair_cap == 0 ? 16 : p->pair_cap * 2;
            p->pairs = lf_realloc(p->pairs, p->pair_cap * sizeof(*p->pairs));
        }
        if (!scan_pair(text, len, &i, &p->pairs[count])) {
            return LF_ENOMATCH;
        }
        has_value |= !p->pairs[count].bare;
        count++;
    }
    *count_out = count;
    return has_value ? 0 : LF_ENOMATCH;
}

/* Reads `digits` hex digits at `s`; returns -1 when one is missing. */
static long read_hex(const char *s, const char *end, int digits)
{
    long value = 0;

    if (end - s < digits) {
        return -1;
    }
    for (int i = 0; i < digits; i++) {
        int digit = lf_hex_digit_value((unsigned char)s[i]);

        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

/* Returns the byte a one-letter escape stands for, or 0 for none. */
static char simple_escape(char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '/':
    case '\'':
        return c;
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    case 'a':
        return '\a';
    default:
        return 0;
    }
}

/*
 * Decodes the escapes that Go's strconv.Quote and logfmt encoders write:
 * \" \\ \n \t and the other letters, \xHH, \uHHHH and \UHHHHHHHH. An
 * unknown escape is kept as it is. No escape decodes to more bytes than
 * it takes, so `out` needs `len` bytes.
 */
static size_t decode_quoted(const char *s, size_t len, char *out)
{
    const char *end = s + len;
    size_t n = 0;

    while (s < end) {
        long cp = -1;
        int digits = 0;

        if (*s != '\\' || s + 1 == end) {
            out[n++] = *s++;
            continue;
        }
        if (simple_escape(s[1]) != 0) {
            out[n++] = simple_escape(s[1]);
            s += 2;
            continue;
        }
        if (s[1] == 'x') {
            digits = 2;
        } else if (s[1] == 'u') {
            digits = 4;
        } else if (s[1] == 'U') {
            digits = 8;
        }
        if (digits > 0) {
            cp = read_hex(s + 2, end, digits);
        }
        if (cp < 0) {
            out[n++] = *s++;
            continue;
        }
        if (digits == 2) {
            out[n++] = (char)cp; /* \xHH is one byte, as in Go */
        } else {
            n += lf_utf8_encode(out + n, (uint32_t)cp);
        }
        s += 2 + digits;
    }
    return n;
}

/* Stores the pair's value, decoded into the arena when it has escapes. */
static void pair_value(struct lf_event *ev, const struct pair *pair,
                       const char **value_out, size_t *len_out)
{
    char *decoded;

    if (!pair->escaped) {
        *value_out = pair->value;
        *len_out = pair->value_len;
        return;
    }
    decoded = lf_event_alloc(ev, pair->value_len);
    *len_out = decode_quoted(pair->value, pair->value_len, decoded);
    *value_out = decoded;
}

/* Returns true for "µs" written with U+00B5 or U+03BC, as Go accepts. */
static bool is_micro_s(const char *unit, size_t len)
{
    return len == 3 && (memcmp(unit, "\xc2\xb5s", 3) == 0 ||
                        memcmp(unit, "\xce\xbcs", 3) == 0);
}

/*
 * Parses a Go duration: one or more decimal numbers, each with a unit
 * (ns, us, µs, ms, s, m, h), such as "1.5s" or "2h45m". Returns 0, or
 * LF_EPARSE for anything else, including a number without a unit.
 */
static int parse_go_duration(const char *s, size_t len, int64_t *ns_out)
{
    size_t i = 0;
    int64_t total = 0;

    if (len == 0) {
        return LF_EPARSE;
    }
    while (i < len) {
        size_t num_start = i;
        size_t unit_start;
        char unit[DURATION_UNIT_BYTES];
        int64_t unit_ns;
        int64_t part;

        while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
            i++;
        }
        unit_start = i;
        while (i < len && !(s[i] >= '0' && s[i] <= '9') && s[i] != '.') {
            i++;
        }
        if (is_micro_s(s + unit_start, i - unit_start)) {
            memcpy(unit, "us", 3);
        } else if (i - unit_start > 0 && i - unit_start < sizeof(unit)) {
            memcpy(unit, s + unit_start, i - unit_start);
            unit[i - unit_start] = '\0';
        } else {
            return LF_EPARSE;
        }
        if (lf_duration_unit_parse(unit, &unit_ns) != 0 ||
            lf_duration_parse(s + num_start, unit_start - num_start, unit_ns,
                              &part) != 0 ||
            __builtin_add_overflow(total, part, &total)) {
            return LF_EPARSE;
        }
    }
    *ns_out = total;
    return 0;
}

static const struct known_key *find_known_key(const struct pair *pair)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(known_keys); i++) {
        const char *name = known_keys[i].name;

        if (strlen(name) == pair->key_len &&
            memcmp(name, pair->key, pair->key_len) == 0) {
            return &known_keys[i];
        }
    }
    return NULL;
}

/* Sets the ECS field of a known key; false when the value does not fit. */
static bool set_known(struct logfmt_parser *p, struct lf_event *ev,
                      const struct known_key *known, const char *value,
                      size_t len)
{
    int64_t ns;

    switch (known->kind) {
    case KEY_STRING:
        lf_event_set_str(ev, known->ecs_key, value, len);
        return true;
    case KEY_LEVEL:
        lf_level_set(ev, known->ecs_key, value, len);
        return true;
    case KEY_MESSAGE:
        ev->message = value;
        ev->message_len = len;
        return true;
    case KEY_TIMESTAMP:
        if (lf_timestamp_parse_iso8601(value, len, &p->tz, &ns) != 0) {
            return false;
        }
        lf_event_set_timestamp(ev, known->ecs_key, ns);
        return true;
    case KEY_DURATION:
        if (parse_go_duration(value, len, &ns) != 0) {
            return false;
        }
        lf_event_set_int(ev, known->ecs_key, ns);
        return true;
    }
    return false;
}

/* Returns "target.key" in the arena, with dots replaced under `labels`. */
static const char *target_key(const struct logfmt_parser *p,
                              struct lf_event *ev, const struct pair *pair)
{
    size_t at = p->target_len == 0 ? 0 : p->target_len + 1;
    char *key = lf_event_alloc(ev, at + pair->key_len + 1);

    memcpy(key, p->target, p->target_len);
    if (at > 0) {
        key[p->target_len] = '.';
    }
    for (size_t i = 0; i < pair->key_len; i++) {
        char c = pair->key[i];

        key[at + i] = p->undot && c == '.' ? '_' : c;
    }
    key[at + pair->key_len] = '\0';
    return key;
}

static int logfmt_apply(void *state, struct lf_regex_scratch *scratch,
                        struct lf_event *ev, const char *text, size_t len,
                        int64_t now_ns)
{
    struct logfmt_parser *p = state;
    size_t count;
    int rc;

    (void)scratch;
    (void)now_ns;
    rc = split_pairs(p, text, len, &count);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < count; i++) {
        const struct pair *pair = &p->pairs[i];
        const struct known_key *known = find_known_key(pair);
        const char *value;
        size_t value_len;

        pair_value(ev, pair, &value, &value_len);
        if (!pair->bare && known != NULL &&
            set_known(p, ev, known, value, value_len)) {
            continue;
        }
        if (pair->bare) {
            lf_event_set_bool(ev, target_key(p, ev, pair), true);
        } else {
            lf_event_set_str(ev, target_key(p, ev, pair), value, value_len);
        }
    }
    return 0;
}

static void logfmt_destroy(void *state)
{
    struct logfmt_parser *p = state;

    if (p == NULL) {
        return;
    }
    lf_free(p->pairs);
    lf_free(p);
}

static const char *const logfmt_keys[] = {"target", "max_fields", "field"};

static int read_options(struct logfmt_parser *p,
                        const struct lf_conf_node *spec, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node node;
    long long max_fields = LOGFMT_DEFAULT_MAX_FIELDS;
    int rc;

    rc = lf_conf_check_keys(spec, logfmt_keys, LF_ARRAY_SIZE(logfmt_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "target", "labels", &p->target, errbuf,
                             errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_int(spec, "max_fields", LOGFMT_DEFAULT_MAX_FIELDS, 1,
                             LOGFMT_MAX_FIELDS_LIMIT, &max_fields, errbuf,
                             errlen);
    }
    if (rc != 0) {
        return rc;
    }
    p->max_fields = (size_t)max_fields;
    p->target_len = strlen(p->target);
    if (p->target_len > 0 &&
        (p->target[0] == '.' || p->target[p->target_len - 1] == '.')) {
        lf_conf_child(spec, "target", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "target must be a dotted field name such as "
                             "labels, without a leading or trailing '.'");
    }
    return 0;
}

static int logfmt_create(const struct lf_conf_node *spec, void **out,
                         char *errbuf, size_t errlen)
{
    struct logfmt_parser *p = lf_calloc(1, sizeof(*p));
    enum lf_conf_kind kind = lf_conf_kind(spec);
    int rc = 0;

    /* Stored first: the chain frees it with logfmt_destroy() on failure. */
    *out = p;
    lf_tz_init_utc(&p->tz);
    p->target = "labels";
    p->target_len = LF_STRLEN("labels");
    p->max_fields = LOGFMT_DEFAULT_MAX_FIELDS;
    if (kind != LF_CONF_NULL && kind != LF_CONF_MISSING) {
        rc = read_options(p, spec, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    /* ECS `labels` contains flat keyword pairs: a dot there would nest. */
    p->undot = strcmp(p->target, "labels") == 0;
    return 0;
}

const struct lf_parser_kind lf_logfmt_parser_kind = {
    .name = "logfmt",
    .role = LF_PARSER_MATCHER,
    .create = logfmt_create,
    .apply = logfmt_apply,
    .destroy = logfmt_destroy,
};
