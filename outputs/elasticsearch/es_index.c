/*
 * Index name templates: parsed into literal, field and date parts at
 * configuration time, formatted per event into a reused buffer. Date
 * letters follow the Joda patterns that Logstash and Beats users write.
 */
#include "outputs/elasticsearch/es_index.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

/* 2026-01-01T00:00:00Z, the date of lf_es_template_sample(). */
#define SAMPLE_TIME_S 1767225600LL

static const char *const date_tokens[] = {"yyyy", "yy", "MM", "dd", "HH"};

/*
 * Printable ASCII that Elasticsearch rejects in index names. A table,
 * because names are checked byte by byte for every event.
 */
static const bool name_forbidden[UCHAR_MAX + 1] = {
    [' '] = true, ['"'] = true, ['#'] = true, ['*'] = true, [','] = true,
    ['/'] = true, [':'] = true, ['<'] = true, ['>'] = true, ['?'] = true,
    ['\\'] = true, ['|'] = true, [0x7f] = true,
};

/* Returns the length of the date token at `p`, or 0. */
static size_t date_token_len(const char *p, size_t left)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(date_tokens); i++) {
        size_t n = strlen(date_tokens[i]);

        if (n <= left && memcmp(p, date_tokens[i], n) == 0) {
            return n;
        }
    }
    return 0;
}

static int check_date_pattern(const char *p, size_t len, char *errbuf,
                              size_t errlen)
{
    size_t i = 0;

    if (len == 0) {
        snprintf(errbuf, errlen, "empty date pattern %%{+}");
        return LF_ECONFIG;
    }
    while (i < len) {
        size_t n = date_token_len(p + i, len - i);

        if (n > 0) {
            i += n;
        } else if (strchr(".-_", p[i]) != NULL) {
            i++;
        } else {
            snprintf(errbuf, errlen,
                     "unsupported date pattern '%.*s' at '%c': use yyyy, "
                     "yy, MM, dd and HH separated by '.', '-' or '_'",
                     (int)len, p, p[i]);
            return LF_ECONFIG;
        }
    }
    return 0;
}

/*
 * Turns the inside of `%{...}` into a dotted field: "[a][b]" and "[a.b]"
 * give "a.b", "a.b" stays. Returns the owned field, or NULL if invalid.
 */
static char *field_path(const char *p, size_t len)
{
    struct lf_buf path;
    size_t i = 0;

    lf_buf_init(&path);
    if (len > 0 && p[0] != '[') {
        lf_buf_append(&path, p, len);
    }
    while (len > 0 && p[0] == '[' && i < len) {
        const char *close = memchr(p + i, ']', len - i);

        if (p[i] != '[' || close == NULL || close == p + i + 1) {
            lf_buf_cleanup(&path);
            return NULL;
        }
        if (path.len > 0) {
            lf_buf_append_char(&path, '.');
        }
        lf_buf_append(&path, p + i + 1, (size_t)(close - p - i - 1));
        i = (size_t)(close - p) + 1;
    }
    if (path.len == 0 || strpbrk(path.data, "[]{}% ") != NULL) {
        lf_buf_cleanup(&path);
        return NULL;
    }
    return path.data;
}

static void add_part(struct lf_es_template *tpl, enum lf_es_part_kind kind,
                     char *text)
{
    tpl->parts = lf_realloc(tpl->parts, (tpl->count + 1) * sizeof(*tpl->parts));
    tpl->parts[tpl->count++] = (struct lf_es_part){
        .kind = kind,
        .text = text,
        .len = strlen(text),
    };
    tpl->has_field |= kind == LF_ES_PART_FIELD;
    tpl->has_date |= kind == LF_ES_PART_DATE;
}

/* Parses the reference `%{...}` whose inside is `len` bytes at `p`. */
static int add_reference(struct lf_es_template *tpl, const char *p,
                         size_t len, char *errbuf, size_t errlen)
{
    char *field;
    int rc;

    if (len > 0 && p[0] == '+') {
        rc = check_date_pattern(p + 1, len - 1, errbuf, errlen);
        if (rc == 0) {
            add_part(tpl, LF_ES_PART_DATE, lf_strndup(p + 1, len - 1));
        }
        return rc;
    }
    field = field_path(p, len);
    if (field == NULL) {
        snprintf(errbuf, errlen,
                 "invalid field reference '%%{%.*s}': write %%{[field.name]}",
                 (int)len, p);
        return LF_ECONFIG;
    }
    add_part(tpl, LF_ES_PART_FIELD, field);
    return 0;
}

int lf_es_template_parse(const char *text, struct lf_es_template *out,
                         char *errbuf, size_t errlen)
{
    const char *p = text;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    while (*p != '\0' && rc == 0) {
        const char *ref = strstr(p, "%{");
        const char *close;

        if (ref == NULL) {
            add_part(out, LF_ES_PART_TEXT, lf_strdup(p));
            break;
        }
        if (ref > p) {
            add_part(out, LF_ES_PART_TEXT, lf_strndup(p, (size_t)(ref - p)));
        }
        close = strchr(ref + 2, '}');
        if (close == NULL) {
            snprintf(errbuf, errlen, "'%%{' without a closing '}' in '%s'",
                     text);
            rc = LF_ECONFIG;
            break;
        }
        rc = add_reference(out, ref + 2, (size_t)(close - ref - 2), errbuf,
                           errlen);
        p = close + 1;
    }
    if (rc != 0) {
        lf_es_template_cleanup(out);
    }
    return rc;
}

void lf_es_template_cleanup(struct lf_es_template *tpl)
{
    for (size_t i = 0; i < tpl->count; i++) {
        lf_free(tpl->parts[i].text);
    }
    lf_free(tpl->parts);
    memset(tpl, 0, sizeof(*tpl));
}

bool lf_es_template_is_dynamic(const struct lf_es_template *tpl)
{
    return tpl->has_field || tpl->has_date;
}

static void append_digits(struct lf_buf *out, int value, int width)
{
    char digits[16];
    int n = snprintf(digits, sizeof(digits), "%0*d", width, value);

    lf_buf_append(out, digits, (size_t)n);
}

static void append_date(struct lf_buf *out, const char *pattern, size_t len,
                        int64_t seconds)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    size_t i = 0;

    gmtime_r(&t, &tm);
    while (i < len) {
        size_t n = date_token_len(pattern + i, len - i);

        if (n == 0) {
            lf_buf_append_char(out, pattern[i++]);
            continue;
        }
        switch (pattern[i]) {
        case 'y':
            append_digits(out, n == 4 ? tm.tm_year + 1900 : tm.tm_year % 100,
                          (int)n);
            break;
        case 'M':
            append_digits(out, tm.tm_mon + 1, 2);
            break;
        case 'd':
            append_digits(out, tm.tm_mday, 2);
            break;
        default: /* HH */
            append_digits(out, tm.tm_hour, 2);
            break;
        }
        i += n;
    }
}

/*
 * Returns the length of the well-formed UTF-8 sequence at `p` (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t utf8_sequence_len(const unsigned char *p, size_t left)
{
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t n;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80;
        hi = p[0] == 0xed ? 0x9f : 0xbf;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = p[0] == 0xf0 ? 0x90 : 0x80;
        hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (n > left || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

/*
 * Appends `len` bytes, made valid for an index name when asked. Each
 * byte of invalid UTF-8 becomes '_' as well: the JSON encoder would
 * write U+FFFD, three bytes, for it, after the length was checked.
 */
static void append_value(struct lf_buf *out, const char *p, size_t len,
                         bool index_name)
{
    size_t start = out->len;
    unsigned char *c;
    unsigned char *end;

    lf_buf_append(out, p, len);
    if (!index_name) {
        return;
    }
    c = (unsigned char *)out->data + start;
    end = (unsigned char *)out->data + out->len;
    while (c < end) {
        size_t n = 1;

        if (*c >= 'A' && *c <= 'Z') {
            *c = (unsigned char)(*c - 'A' + 'a');
        } else if (*c >= 0x80) {
            n = utf8_sequence_len(c, (size_t)(end - c));
            if (n == 0) {
                *c = '_';
                n = 1;
            }
        } else if (*c < ' ' || name_forbidden[*c]) {
            *c = '_';
        }
        c += n;
    }
}

static int append_field(struct lf_buf *out, const struct lf_event *ev,
                        const char *key, bool index_name)
{
    const struct lf_value *v = lf_event_get(ev, key);
    char number[32];
    int n;

    if (v == NULL) {
        return LF_ENOENT;
    }
    switch (v->type) {
    case LF_VALUE_STRING:
        if (v->u.str.len == 0) {
            return LF_ENOENT;
        }
        append_value(out, v->u.str.ptr, v->u.str.len, index_name);
        return 0;
    case LF_VALUE_INT:
        n = snprintf(number, sizeof(number), "%" PRId64, v->u.i);
        break;
    case LF_VALUE_FLOAT:
        n = snprintf(number, sizeof(number), "%g", v->u.f);
        break;
    case LF_VALUE_BOOL:
        n = snprintf(number, sizeof(number), "%s", v->u.b ? "true" : "false");
        break;
    default: /* timestamps and JSON values make no name */
        return LF_ENOENT;
    }
    append_value(out, number, (size_t)n, index_name);
    return 0;
}

static int event_seconds(const struct lf_event *ev, int64_t *seconds_out)
{
    const struct lf_value *ts = lf_event_get(ev, "@timestamp");
    int64_t ns;

    if (ts == NULL || ts->type != LF_VALUE_TIMESTAMP) {
        return LF_ENOENT;
    }
    ns = ts->u.ts_ns;
    /* Floor, so times before 1970 fall in the right second. */
    *seconds_out = ns / NS_PER_S - (ns % NS_PER_S < 0 ? 1 : 0);
    return 0;
}

int lf_es_template_format(const struct lf_es_template *tpl,
                          const struct lf_event *ev, bool index_name,
                          struct lf_buf *out)
{
    int64_t seconds = 0;
    bool have_time = false;
    int rc = 0;

    for (size_t i = 0; i < tpl->count && rc == 0; i++) {
        const struct lf_es_part *part = &tpl->parts[i];

        switch (part->kind) {
        case LF_ES_PART_TEXT:
            lf_buf_append(out, part->text, part->len);
            break;
        case LF_ES_PART_FIELD:
            rc = append_field(out, ev, part->text, index_name);
            break;
        case LF_ES_PART_DATE:
            if (!have_time) {
                rc = event_seconds(ev, &seconds);
                have_time = rc == 0;
            }
            if (rc == 0) {
                append_date(out, part->text, part->len, seconds);
            }
            break;
        }
    }
    return rc;
}

void lf_es_template_sample(const struct lf_es_template *tpl,
                           struct lf_buf *out)
{
    for (size_t i = 0; i < tpl->count; i++) {
        const struct lf_es_part *part = &tpl->parts[i];

        if (part->kind == LF_ES_PART_TEXT) {
            lf_buf_append(out, part->text, part->len);
        } else if (part->kind == LF_ES_PART_FIELD) {
            lf_buf_append_char(out, 'x');
        } else {
            append_date(out, part->text, part->len, SAMPLE_TIME_S);
        }
    }
}

const char *lf_es_index_name_problem(const char *name, size_t len)
{
    if (len == 0) {
        return "it is empty";
    }
    if (len > LF_ES_INDEX_NAME_MAX) {
        return "it is longer than 255 bytes";
    }
    if ((len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.')) {
        return "it cannot be '.' or '..'";
    }
    if (strchr("-_+", name[0]) != NULL) {
        return "it cannot start with '-', '_' or '+'";
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c >= 'A' && c <= 'Z') {
            return "it must be lower case";
        }
        if (c < ' ' || name_forbidden[c]) {
            return "it cannot contain \\ / * ? \" < > | , # : or spaces";
        }
    }
    return NULL;
}

bool lf_es_index_is_data_stream(const char *name)
{
    static const char prefix[] = "logs-";
    const char *dash;

    if (strncmp(name, prefix, LF_STRLEN(prefix)) != 0) {
        return false;
    }
    dash = strchr(name + LF_STRLEN(prefix), '-');
    return dash != NULL && dash > name + LF_STRLEN(prefix) && dash[1] != '\0';
}
