/*
 * JSON writer for documents on the hot path: every event of a batch is
 * written here straight into the request body, so the code avoids jansson
 * objects and allocations per event. Its output is checked against
 * jansson's parser by tests/unit/test_json.c.
 */
#include "lf/json.h"
#include "lf/mem.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define S_PER_DAY INT64_C(86400)

/* Events with more entries than this sort a heap array instead. */
enum { DOC_STACK_ENTRIES = 64 };

/* Byte classes for string escaping. */
enum {
    BYTE_PLAIN,  /* copied as it is */
    BYTE_ESCAPE, /* control character, '"' or '\\': written as an escape */
    BYTE_HIGH,   /* part of a multi-byte sequence: checked, then copied */
};

/* clang-format off */
#define ROW_OF(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char byte_class[256] = {
    ROW_OF(BYTE_ESCAPE), ROW_OF(BYTE_ESCAPE),
    ['"'] = BYTE_ESCAPE, ['\\'] = BYTE_ESCAPE,
    [0x80] = ROW_OF(BYTE_HIGH), ROW_OF(BYTE_HIGH), ROW_OF(BYTE_HIGH),
    ROW_OF(BYTE_HIGH), ROW_OF(BYTE_HIGH), ROW_OF(BYTE_HIGH),
    ROW_OF(BYTE_HIGH), ROW_OF(BYTE_HIGH),
};
#undef ROW_OF
/* clang-format on */

static const char hex_digits[] = "0123456789abcdef";

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char replacement[] = "\xef\xbf\xbd";

static const char *const tag_names[] = {
    "_parse_failure",            /* LF_TAG_PARSE_FAILURE */
    "_timestamp_failure",        /* LF_TAG_TIMESTAMP_FAILURE */
    "_field_conversion_failure", /* LF_TAG_CONVERSION_FAILURE */
};

static const char *const log_flag_names[] = {
    "truncated", /* LF_LOG_FLAG_TRUNCATED */
};

/*
 * Unchecked appends for the hot path: they skip the call into buf.c when
 * there is room and leave the terminating NUL to terminate(), which every
 * public function calls before it returns.
 */
static inline void reserve(struct lf_buf *buf, size_t n)
{
    if (buf->cap - buf->len <= n) {
        lf_buf_reserve(buf, n);
    }
}

static inline void put_char(struct lf_buf *buf, char c)
{
    reserve(buf, 1);
    buf->data[buf->len++] = c;
}

static inline void put_bytes(struct lf_buf *buf, const void *p, size_t n)
{
    reserve(buf, n);
    memcpy(buf->data + buf->len, p, n);
    buf->len += n;
}

static inline void terminate(struct lf_buf *buf)
{
    reserve(buf, 0);
    buf->data[buf->len] = '\0';
}

/*
 * Returns the length of the well-formed UTF-8 sequence at `p` (the byte
 * ranges of table 3-7 in the Unicode Standard), or 0 when it is
 * ill-formed. Then `*bad_len` is the length of the maximal subpart: the
 * longest prefix that could still begin a well-formed sequence, at least
 * 1. Each maximal subpart becomes one U+FFFD, as the Unicode Standard
 * recommends in section 3.9.
 */
static size_t utf8_sequence(const unsigned char *p, size_t avail,
                            size_t *bad_len)
{
    unsigned char lead = p[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t need;

    if (lead >= 0xc2 && lead <= 0xdf) {
        need = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        need = 3;
        lo = lead == 0xe0 ? 0xa0 : 0x80;
        hi = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        need = 4;
        lo = lead == 0xf0 ? 0x90 : 0x80;
        hi = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
        *bad_len = 1;
        return 0;
    }

    for (size_t i = 1; i < need; i++) {
        if (i >= avail || p[i] < lo || p[i] > hi) {
            *bad_len = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return need;
}

/* Writes the escape for a BYTE_ESCAPE byte into room already reserved. */
static size_t write_escape(char *out, unsigned char c)
{
    char short_form = 0;

    switch (c) {
    case '"':
        short_form = '"';
        break;
    case '\\':
        short_form = '\\';
        break;
    case '\b':
        short_form = 'b';
        break;
    case '\f':
        short_form = 'f';
        break;
    case '\n':
        short_form = 'n';
        break;
    case '\r':
        short_form = 'r';
        break;
    case '\t':
        short_form = 't';
        break;
    default:
        break;
    }

    out[0] = '\\';
    if (short_form != 0) {
        out[1] = short_form;
        return 2;
    }
    memcpy(out + 1, "u00", 3);
    out[4] = hex_digits[c >> 4];
    out[5] = hex_digits[c & 0xf];
    return 6;
}

/*
 * Returns true when none of the 8 bytes in `word` needs attention: no
 * control character, '"', '\\' or byte >= 0x80. Subtracting 0x01 (or 0x20)
 * from every byte sets a byte's high bit when it was 0x00 (or below 0x20).
 * A borrow can carry into the next byte only from a byte that matched, so
 * the result is exact for the word as a whole.
 */
static inline bool word_is_plain(uint64_t word)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t high_bits = UINT64_C(0x8080808080808080);
    uint64_t quote = word ^ (ones * '"');
    uint64_t backslash = word ^ (ones * '\\');
    uint64_t flagged =
        word | (word - ones * 0x20) | (quote - ones) | (backslash - ones);

    return (flagged & high_bits) == 0;
}

/*
 * Returns the length of the prefix of `s` that can be copied as it is:
 * plain ASCII and well-formed multi-byte sequences.
 */
static size_t verbatim_run(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t bad_len;
        size_t n;

        for (uint64_t word; i + sizeof(word) <= len; i += sizeof(word)) {
            memcpy(&word, s + i, sizeof(word));
            if (!word_is_plain(word)) {
                break;
            }
        }
        while (i < len && byte_class[s[i]] == BYTE_PLAIN) {
            i++;
        }
        if (i == len || byte_class[s[i]] == BYTE_ESCAPE) {
            break;
        }
        n = utf8_sequence(s + i, len - i, &bad_len);
        if (n == 0) {
            break;
        }
        i += n;
    }
    return i;
}

void lf_json_append_string(struct lf_buf *buf, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    /* Enough when nothing needs escaping, the common case. */
    reserve(buf, len + 2);
    buf->data[buf->len++] = '"';

    while (i < len) {
        size_t run = verbatim_run(p + i, len - i);
        size_t bad_len = 1;

        put_bytes(buf, p + i, run);
        i += run;
        if (i == len) {
            break;
        }

        /* Six bytes cover both "\u00XX" and U+FFFD. */
        reserve(buf, 6);
        if (byte_class[p[i]] == BYTE_ESCAPE) {
            buf->len += write_escape(buf->data + buf->len, p[i]);
        } else {
            utf8_sequence(p + i, len - i, &bad_len);
            memcpy(buf->data + buf->len, replacement, LF_STRLEN(replacement));
            buf->len += LF_STRLEN(replacement);
        }
        i += bad_len;
    }

    put_char(buf, '"');
    terminate(buf);
}

/* Writes `width` zero-padded digits of `value` into reserved room. */
static void write_digits(char *out, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

/*
 * Converts days since 1970-01-01 to a proleptic Gregorian date, using
 * Howard Hinnant's days-to-civil algorithm: count in 400-year eras that
 * start on March 1st, so the leap day is the last day of its year.
 */
static void civil_from_days(int64_t days, int64_t *year_out,
                            unsigned *month_out, unsigned *day_out)
{
    const int64_t days_per_era = 146097;
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - (days_per_era - 1)) / days_per_era;
    int64_t day_of_era = z - era * days_per_era;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
                           day_of_era / 146096) /
                          365;
    int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t shifted_month = (5 * day_of_year + 2) / 153; /* March is 0 */
    unsigned month =
        (unsigned)(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);

    *day_out = (unsigned)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    *month_out = month;
    *year_out = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
}

/* Division rounding towards negative infinity, for times before 1970. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if (a % b != 0 && (a < 0) != (b < 0)) {
        q--;
    }
    return q;
}

/* Remainder of floor_div(): in [0, b) when b > 0. */
static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;

    return r < 0 ? r + b : r;
}

void lf_json_append_timestamp(struct lf_buf *buf, int64_t ts_ns)
{
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" with the quotes. */
    static const char layout[] = "\"0000-00-00T00:00:00.000Z\"";
    int64_t secs = floor_div(ts_ns, NS_PER_S);
    int64_t ms = floor_mod(ts_ns, NS_PER_S) / NS_PER_MS;
    int64_t days = floor_div(secs, S_PER_DAY);
    int64_t day_secs = floor_mod(secs, S_PER_DAY);
    int64_t year;
    unsigned month;
    unsigned day;
    char *out;

    /* An int64_t of nanoseconds spans years 1677 to 2262: four digits. */
    civil_from_days(days, &year, &month, &day);
    reserve(buf, LF_STRLEN(layout));
    out = buf->data + buf->len;
    memcpy(out, layout, LF_STRLEN(layout));
    write_digits(out + 1, (unsigned)year, 4);
    write_digits(out + 6, month, 2);
    write_digits(out + 9, day, 2);
    write_digits(out + 12, (unsigned)(day_secs / 3600), 2);
    write_digits(out + 15, (unsigned)(day_secs / 60 % 60), 2);
    write_digits(out + 18, (unsigned)(day_secs % 60), 2);
    write_digits(out + 21, (unsigned)ms, 3);
    buf->len += LF_STRLEN(layout);
    terminate(buf);
}

static void append_int(struct lf_buf *buf, int64_t value)
{
    char digits[20]; /* UINT64_MAX has 20 digits */
    size_t n = 0;
    /* Negate in unsigned arithmetic, so INT64_MIN does not overflow. */
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;

    do {
        digits[sizeof(digits) - 1 - n] = (char)('0' + magnitude % 10);
        magnitude /= 10;
        n++;
    } while (magnitude != 0);

    if (value < 0) {
        put_char(buf, '-');
    }
    put_bytes(buf, digits + sizeof(digits) - n, n);
}

/*
 * Writes the shortest of 15, 16 or 17 significant digits that reads back
 * as the same double. Non-finite values have no JSON form and become
 * null. Integral values get ".0", so that dynamic mapping in Elasticsearch
 * makes the field a floating-point type even when its first value is 2.0.
 */
static void append_float(struct lf_buf *buf, double value)
{
    char text[32];
    int n = 0;
    bool integral = true;

    if (!isfinite(value)) {
        put_bytes(buf, "null", LF_STRLEN("null"));
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        n = snprintf(text, sizeof(text), "%.*g", precision, value);
        if (strtod(text, NULL) == value) {
            break;
        }
    }

    for (int i = 0; i < n; i++) {
        /* A locale other than "C" may write the radix as a comma. */
        if (text[i] == ',') {
            text[i] = '.';
        }
        if (text[i] == '.' || text[i] == 'e') {
            integral = false;
        }
    }
    put_bytes(buf, text, (size_t)n);
    if (integral) {
        put_bytes(buf, ".0", LF_STRLEN(".0"));
    }
}

static void append_value(struct lf_buf *buf, const struct lf_value *value)
{
    switch (value->type) {
    case LF_VALUE_STRING:
        lf_json_append_string(buf, value->u.str.ptr, value->u.str.len);
        break;
    case LF_VALUE_INT:
        append_int(buf, value->u.i);
        break;
    case LF_VALUE_FLOAT:
        append_float(buf, value->u.f);
        break;
    case LF_VALUE_BOOL:
        if (value->u.b) {
            put_bytes(buf, "true", LF_STRLEN("true"));
        } else {
            put_bytes(buf, "false", LF_STRLEN("false"));
        }
        break;
    case LF_VALUE_TIMESTAMP:
        lf_json_append_timestamp(buf, value->u.ts_ns);
        break;
    }
}

/*
 * One member of the document before nesting: a field, the message, or an
 * array built from bits. When both a field and bits share a key (a `tags`
 * field set by a processor and tag bits), the array contains the field's
 * value first, then the names of the bits.
 */
struct doc_entry {
    const char *key;
    const struct lf_value *value; /* NULL for an array of bit names only */
    const char *const *bit_names; /* NULL unless written as an array */
    size_t bit_name_count;
    unsigned bits;
};

static void append_entry_value(struct lf_buf *buf,
                               const struct doc_entry *entry)
{
    bool first = true;

    if (entry->bit_names == NULL) {
        append_value(buf, entry->value);
        return;
    }

    put_char(buf, '[');
    if (entry->value != NULL) {
        append_value(buf, entry->value);
        first = false;
    }
    for (size_t i = 0; i < entry->bit_name_count; i++) {
        if ((entry->bits & (1u << i)) == 0) {
            continue;
        }
        if (!first) {
            put_char(buf, ',');
        }
        put_char(buf, '"');
        put_bytes(buf, entry->bit_names[i], strlen(entry->bit_names[i]));
        put_char(buf, '"');
        first = false;
    }
    put_char(buf, ']');
}

/*
 * Orders keys segment by segment: '.' sorts before every other byte, so a
 * leaf "a" comes right before "a.b", and every key under "a." forms one
 * contiguous run that becomes one object.
 */
static int compare_keys(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    while (*x != '\0' && *x == *y) {
        x++;
        y++;
    }
    if (*x == *y) {
        return 0;
    }
    if (*x == '\0' || *y == '\0') {
        return *x == '\0' ? -1 : 1;
    }
    if (*x == '.' || *y == '.') {
        return *x == '.' ? -1 : 1;
    }
    return *x < *y ? -1 : 1;
}

static int compare_entries(const void *a, const void *b)
{
    const struct doc_entry *x = a;
    const struct doc_entry *y = b;

    return compare_keys(x->key, y->key);
}

/*
 * Insertion sort for the usual handful of fields, which parsers add in
 * nearly sorted order; qsort() for large events.
 */
static void sort_entries(struct doc_entry *entries, size_t count)
{
    if (count > DOC_STACK_ENTRIES) {
        qsort(entries, count, sizeof(*entries), compare_entries);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        struct doc_entry moving = entries[i];
        size_t j = i;

        while (j > 0 && compare_keys(entries[j - 1].key, moving.key) > 0) {
            entries[j] = entries[j - 1];
            j--;
        }
        entries[j] = moving;
    }
}

/* Returns true when `key` is `prefix` followed by '.' and more. */
static bool key_is_under(const char *key, size_t key_len, const char *prefix,
                         size_t prefix_len)
{
    return key_len > prefix_len && key[prefix_len] == '.' &&
           memcmp(key, prefix, prefix_len) == 0;
}

/* Returns the index of the '.' ending the segment at `start`, or `len`. */
static size_t segment_end(const char *path, size_t len, size_t start)
{
    const char *dot = memchr(path + start, '.', len - start);

    return dot == NULL ? len : (size_t)(dot - path);
}

/*
 * Nesting state while members are written in sorted order. The open
 * objects are the `depth` segments of `path`, a prefix of an earlier key,
 * so no stack is needed and nesting depth has no limit. Segments may be
 * empty ("a..b" opens an object named ""), so depth is kept apart from
 * the path's length.
 */
struct doc_writer {
    struct lf_buf *buf;
    const char *path; /* open objects, "a.b" for {"a":{"b":{ */
    size_t path_len;
    size_t depth;
    bool need_comma;
    const char *leaf; /* last key written as a leaf, or NULL */
    size_t leaf_len;
    size_t leaf_name_start; /* where its member name starts in the key */
};

static void write_member_name(struct doc_writer *w, const char *name,
                              size_t len)
{
    if (w->need_comma) {
        put_char(w->buf, ',');
    }
    lf_json_append_string(w->buf, name, len);
    put_char(w->buf, ':');
}

/*
 * Returns how many leading segments the open path shares with `path`, and
 * stores in `*offset_out` where the first unshared segment of `path` starts.
 */
static size_t shared_segments(const struct doc_writer *w, const char *path,
                              size_t len, size_t depth, size_t *offset_out)
{
    size_t open_start = 0;
    size_t start = 0;
    size_t shared = 0;

    while (shared < w->depth && shared < depth) {
        size_t open_end = segment_end(w->path, w->path_len, open_start);
        size_t end = segment_end(path, len, start);

        if (open_end - open_start != end - start ||
            memcmp(w->path + open_start, path + start, end - start) != 0) {
            break;
        }
        shared++;
        open_start = open_end + 1;
        start = end + 1;
    }
    *offset_out = start;
    return shared;
}

/* Closes and opens objects so that the open path is `path`. */
static void move_to_path(struct doc_writer *w, const char *path, size_t len,
                         size_t depth)
{
    size_t start;
    size_t shared = shared_segments(w, path, len, depth, &start);

    for (; w->depth > shared; w->depth--) {
        put_char(w->buf, '}');
        w->need_comma = true;
    }

    for (; w->depth < depth; w->depth++) {
        size_t end = segment_end(path, len, start);

        write_member_name(w, path + start, end - start);
        put_char(w->buf, '{');
        w->need_comma = false;
        start = end + 1;
    }
    w->path = path;
    w->path_len = len;
}

/*
 * Writes one member. A key below a key already written as a leaf ("a.b"
 * after "a") cannot open an object of the same name without a duplicate
 * key, so the leaf wins and the longer key is written whole, with its
 * dots, inside the leaf's parent object: {"a":1,"a.b":2}.
 */
static void write_entry(struct doc_writer *w, const struct doc_entry *entry)
{
    const char *key = entry->key;
    size_t key_len = strlen(key);
    size_t parent_len = 0;
    size_t depth = 0;
    size_t name_start = 0;

    if (w->leaf != NULL && key_is_under(key, key_len, w->leaf, w->leaf_len)) {
        name_start = w->leaf_name_start;
        write_member_name(w, key + name_start, key_len - name_start);
        append_entry_value(w->buf, entry);
        w->need_comma = true;
        return;
    }

    for (size_t i = 0; i < key_len; i++) {
        if (key[i] == '.') {
            parent_len = i;
            name_start = i + 1;
            depth++;
        }
    }
    move_to_path(w, key, parent_len, depth);
    write_member_name(w, key + name_start, key_len - name_start);
    append_entry_value(w->buf, entry);
    w->need_comma = true;
    w->leaf = key;
    w->leaf_len = key_len;
    w->leaf_name_start = name_start;
}

/* Bits without a name are not written: no empty arrays. */
static unsigned known_bits(size_t name_count)
{
    return (1u << name_count) - 1;
}

/* Fills `entries` (room for field_count + 3) and returns how many. */
static size_t collect_entries(const struct lf_event *ev,
                              const struct lf_value *message,
                              struct doc_entry *entries)
{
    struct doc_entry *tags = NULL;
    struct doc_entry *flags = NULL;
    bool have_message = false;
    size_t n = 0;

    for (size_t i = 0; i < ev->field_count; i++) {
        struct doc_entry *e = &entries[n++];

        memset(e, 0, sizeof(*e));
        e->key = ev->fields[i].key;
        e->value = &ev->fields[i].value;
        if (strcmp(e->key, "message") == 0) {
            have_message = true;
        } else if (strcmp(e->key, "tags") == 0) {
            tags = e;
        } else if (strcmp(e->key, "log.flags") == 0) {
            flags = e;
        }
    }

    if (!have_message && message != NULL) {
        entries[n] = (struct doc_entry){.key = "message", .value = message};
        n++;
    }
    if ((ev->tags & known_bits(LF_ARRAY_SIZE(tag_names))) != 0) {
        if (tags == NULL) {
            tags = &entries[n++];
            *tags = (struct doc_entry){.key = "tags"};
        }
        tags->bit_names = tag_names;
        tags->bit_name_count = LF_ARRAY_SIZE(tag_names);
        tags->bits = ev->tags;
    }
    if ((ev->log_flags & known_bits(LF_ARRAY_SIZE(log_flag_names))) != 0) {
        if (flags == NULL) {
            flags = &entries[n++];
            *flags = (struct doc_entry){.key = "log.flags"};
        }
        flags->bit_names = log_flag_names;
        flags->bit_name_count = LF_ARRAY_SIZE(log_flag_names);
        flags->bits = ev->log_flags;
    }
    return n;
}

void lf_json_append_event(struct lf_buf *buf, const struct lf_event *ev)
{
    struct doc_entry stack_entries[DOC_STACK_ENTRIES];
    struct doc_entry *entries = stack_entries;
    struct doc_writer w = {.buf = buf};
    struct lf_value message = {.type = LF_VALUE_STRING};
    size_t capacity = ev->field_count + 3; /* message, tags, log.flags */
    size_t count;

    if (capacity > DOC_STACK_ENTRIES) {
        entries = lf_malloc(capacity * sizeof(*entries));
    }
    message.u.str.ptr = ev->message;
    message.u.str.len = ev->message_len;
    count = collect_entries(ev, ev->message == NULL ? NULL : &message, entries);
    sort_entries(entries, count);

    put_char(buf, '{');
    for (size_t i = 0; i < count; i++) {
        write_entry(&w, &entries[i]);
    }
    move_to_path(&w, "", 0, 0);
    put_char(buf, '}');
    terminate(buf);

    if (entries != stack_entries) {
        lf_free(entries);
    }
}
