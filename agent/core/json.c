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
    "multiline", /* LF_LOG_FLAG_MULTILINE */
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
size_t lf_utf8_sequence(const unsigned char *p, size_t avail,
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
        n = lf_utf8_sequence(s + i, len - i, &bad_len);
        if (n == 0) {
            break;
        }
        i += n;
    }
    return i;
}

/*
 * Copies the prefix of `s` that is plain ASCII into `out`, which has room
 * for `len` bytes, and returns its length. Checking and copying a word at
 * a time makes this the whole job for most values.
 */
static inline size_t copy_plain_ascii(char *out, const unsigned char *s,
                                      size_t len)
{
    size_t i = 0;
    uint64_t word;

    /* From 4 to 7 bytes: the first 4 and the last 4, which overlap. */
    if (len >= sizeof(uint32_t) && len < sizeof(word)) {
        uint32_t head;
        uint32_t tail;

        memcpy(&head, s, sizeof(head));
        memcpy(&tail, s + len - sizeof(tail), sizeof(tail));
        if (word_is_plain((uint64_t)tail << 32 | head)) {
            memcpy(out, &head, sizeof(head));
            memcpy(out + len - sizeof(tail), &tail, sizeof(tail));
            return len;
        }
    }
    while (i + sizeof(word) <= len) {
        memcpy(&word, s + i, sizeof(word));
        if (!word_is_plain(word)) {
            break;
        }
        memcpy(out + i, &word, sizeof(word));
        i += sizeof(word);
    }
    /* After whole words, the last bytes as one word that overlaps them. */
    if (i < len && i + sizeof(word) > len && len >= sizeof(word)) {
        memcpy(&word, s + len - sizeof(word), sizeof(word));
        if (word_is_plain(word)) {
            memcpy(out + len - sizeof(word), &word, sizeof(word));
            return len;
        }
    }
    while (i < len && byte_class[s[i]] == BYTE_PLAIN) {
        out[i] = (char)s[i];
        i++;
    }
    return i;
}

/*
 * Appends the rest of a string from its first byte that is not plain
 * ASCII, escaping and replacing as needed, and the closing quote. It is
 * kept out of line so that append_string() stays small enough to inline.
 */
static __attribute__((noinline)) void
append_string_rest(struct lf_buf *buf, const unsigned char *p, size_t len)
{
    size_t i = 0;

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
            lf_utf8_sequence(p + i, len - i, &bad_len);
            memcpy(buf->data + buf->len, replacement, LF_STRLEN(replacement));
            buf->len += LF_STRLEN(replacement);
        }
        i += bad_len;
    }
    put_char(buf, '"');
}

/* Appends a quoted string without the terminating NUL. */
static inline void append_string(struct lf_buf *buf, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out;
    size_t plain;

    /* Enough when nothing needs escaping, the common case. */
    reserve(buf, len + 2);
    out = buf->data + buf->len;
    out[0] = '"';
    plain = copy_plain_ascii(out + 1, p, len);
    if (plain == len) {
        out[len + 1] = '"';
        buf->len += len + 2;
        return;
    }
    buf->len += 1 + plain;
    append_string_rest(buf, p + plain, len - plain);
}

void lf_json_append_string(struct lf_buf *buf, const char *s, size_t len)
{
    append_string(buf, s, len);
    terminate(buf);
}

/* "00" to "99": numbers are written two digits per division. */
static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

/* Writes the two digits of `value`, below 100, into reserved room. */
static inline void write_pair(char *out, unsigned value)
{
    memcpy(out, digit_pairs + 2 * value, 2);
}

/* Writes `value` as exactly `width` digits, the last ones, into `out`. */
static void write_digits(char *out, uint64_t value, size_t width)
{
    while (width >= 2) {
        width -= 2;
        write_pair(out + width, (unsigned)(value % 100));
        value /= 100;
    }
    if (width == 1) {
        out[0] = (char)('0' + value % 10);
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

static void append_timestamp(struct lf_buf *buf, int64_t ts_ns)
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
    write_digits(out + 1, (uint64_t)year, 4);
    write_pair(out + 6, month);
    write_pair(out + 9, day);
    write_pair(out + 12, (unsigned)(day_secs / 3600));
    write_pair(out + 15, (unsigned)(day_secs / 60 % 60));
    write_pair(out + 18, (unsigned)(day_secs % 60));
    write_digits(out + 21, (uint64_t)ms, 3);
    buf->len += LF_STRLEN(layout);
}

void lf_json_append_timestamp(struct lf_buf *buf, int64_t ts_ns)
{
    append_timestamp(buf, ts_ns);
    terminate(buf);
}

static void append_int(struct lf_buf *buf, int64_t value)
{
    /* Negate in unsigned arithmetic, so INT64_MIN does not overflow. */
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    uint64_t bound = 10;
    size_t width = 1;

    /* UINT64_MAX has 20 digits; past 19, `bound` would overflow. */
    while (width < 20 && magnitude >= bound) {
        width++;
        bound *= 10;
    }
    reserve(buf, 1 + width);
    if (value < 0) {
        buf->data[buf->len++] = '-';
    }
    write_digits(buf->data + buf->len, magnitude, width);
    buf->len += width;
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

static inline void append_value(struct lf_buf *buf,
                                const struct lf_value *value)
{
    switch (value->type) {
    case LF_VALUE_STRING:
        append_string(buf, value->u.str.ptr, value->u.str.len);
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
        append_timestamp(buf, value->u.ts_ns);
        break;
    case LF_VALUE_JSON:
        put_bytes(buf, value->u.str.ptr, value->u.str.len);
        break;
    }
}

void lf_json_append_value(struct lf_buf *buf, const struct lf_value *value)
{
    append_value(buf, value);
    terminate(buf);
}

/* Source of a document member's value. */
enum member_value {
    MEMBER_FIELD,    /* the event's field at `field` */
    MEMBER_MESSAGE,  /* the event's line */
    MEMBER_NO_VALUE, /* only bit names */
};

/* Bit names written as an array, after the member's value if it has one. */
enum member_bits {
    MEMBER_NO_BITS,
    MEMBER_TAGS,
    MEMBER_LOG_FLAGS,
};

struct member_source {
    size_t field; /* index into the event's fields, for MEMBER_FIELD */
    enum member_value value;
    enum member_bits bits;
};

/*
 * One member of the document before nesting: a field, the message, or an
 * array built from bits. When both a field and bits share a key (a `tags`
 * field set by a processor and tag bits), the array contains the field's
 * value first, then the names of the bits.
 */
struct doc_entry {
    const char *key;
    struct member_source source;
};

/*
 * Appends the names of the set bits as array elements. Returns the new
 * value of `first`: false once an element was written.
 */
static bool append_bit_names(struct lf_buf *buf, const char *const *names,
                             size_t name_count, unsigned bits, bool first)
{
    for (size_t i = 0; i < name_count; i++) {
        if ((bits & (1u << i)) == 0) {
            continue;
        }
        if (!first) {
            put_char(buf, ',');
        }
        put_char(buf, '"');
        put_bytes(buf, names[i], strlen(names[i]));
        put_char(buf, '"');
        first = false;
    }
    return first;
}

/* Appends the event's tag strings as array elements, after the bit names. */
static void append_tag_list(struct lf_buf *buf, const struct lf_event *ev,
                            bool first)
{
    for (size_t i = 0; i < ev->tag_count; i++) {
        if (!first) {
            put_char(buf, ',');
        }
        append_string(buf, ev->tag_list[i], strlen(ev->tag_list[i]));
        first = false;
    }
}

static void append_member_value(struct lf_buf *buf, const struct lf_event *ev,
                                const struct member_source *source)
{
    bool has_value = source->value != MEMBER_NO_VALUE;
    const struct lf_value *value = NULL;
    bool first;

    if (source->value == MEMBER_FIELD) {
        value = &ev->fields[source->field].value;
    }
    if (source->bits != MEMBER_NO_BITS && value != NULL &&
        value->type == LF_VALUE_JSON && value->u.str.len >= 2 &&
        value->u.str.ptr[0] == '[') {
        /* A JSON array field and bits: one array with the names appended. */
        put_bytes(buf, value->u.str.ptr, value->u.str.len - 1);
        has_value = value->u.str.len > 2;
        value = NULL;
    } else if (source->bits != MEMBER_NO_BITS) {
        put_char(buf, '[');
    }
    if (value != NULL) {
        append_value(buf, value);
    } else if (source->value == MEMBER_MESSAGE) {
        append_string(buf, ev->message, ev->message_len);
    }

    switch (source->bits) {
    case MEMBER_NO_BITS:
        return;
    case MEMBER_TAGS:
        first = append_bit_names(buf, tag_names, LF_ARRAY_SIZE(tag_names),
                                 ev->tags, !has_value);
        append_tag_list(buf, ev, first);
        break;
    case MEMBER_LOG_FLAGS:
        append_bit_names(buf, log_flag_names, LF_ARRAY_SIZE(log_flag_names),
                         ev->log_flags, !has_value);
        break;
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
    const struct lf_event *ev;
    const char *path; /* open objects, "a.b" for {"a":{"b":{ */
    size_t path_len;
    size_t depth;
    bool need_comma;
    const char *leaf; /* last key written as a leaf, or NULL */
    size_t leaf_len;
    size_t leaf_name_start; /* where its member name starts in the key */
    size_t *spans; /* NULL, or where each value starts and ends in `buf` */
    size_t span_count;
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

static void write_member_value(struct doc_writer *w,
                               const struct doc_entry *entry)
{
    if (w->spans != NULL) {
        w->spans[w->span_count++] = w->buf->len;
    }
    append_member_value(w->buf, w->ev, &entry->source);
    if (w->spans != NULL) {
        w->spans[w->span_count++] = w->buf->len;
    }
    w->need_comma = true;
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
        write_member_value(w, entry);
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
    write_member_value(w, entry);
    w->leaf = key;
    w->leaf_len = key_len;
    w->leaf_name_start = name_start;
}

/* Bits without a name are not written: no empty arrays. */
static unsigned known_bits(size_t name_count)
{
    return (1u << name_count) - 1;
}

static bool has_tags(const struct lf_event *ev)
{
    return (ev->tags & known_bits(LF_ARRAY_SIZE(tag_names))) != 0 ||
           ev->tag_count > 0;
}

static bool has_log_flag_bits(const struct lf_event *ev)
{
    return (ev->log_flags & known_bits(LF_ARRAY_SIZE(log_flag_names))) != 0;
}

/*
 * Returns true for `@metadata` and the keys under it. They carry values
 * from one parser or processor to a later one and are never written.
 */
static inline bool is_metadata_key(const char *key, size_t len)
{
    size_t prefix = LF_STRLEN("@metadata");

    return len >= prefix && key[0] == '@' &&
           memcmp(key, "@metadata", prefix) == 0 &&
           (len == prefix || key[prefix] == '.');
}

/*
 * Fills `entries` (room for field_count + 3) and returns how many. Fields
 * under `@metadata` get no entry.
 */
static size_t collect_entries(const struct lf_event *ev,
                              struct doc_entry *entries)
{
    struct doc_entry *tags = NULL;
    struct doc_entry *flags = NULL;
    bool have_message = false;
    size_t n = 0;

    for (size_t i = 0; i < ev->field_count; i++) {
        struct doc_entry *e;

        if (is_metadata_key(ev->fields[i].key, ev->key_lens[i])) {
            continue;
        }
        e = &entries[n++];
        e->key = ev->fields[i].key;
        e->source = (struct member_source){.field = i, .value = MEMBER_FIELD};
        if (strcmp(e->key, "message") == 0) {
            have_message = true;
        } else if (strcmp(e->key, "tags") == 0) {
            tags = e;
        } else if (strcmp(e->key, "log.flags") == 0) {
            flags = e;
        }
    }

    if (!have_message && ev->message != NULL) {
        entries[n++] = (struct doc_entry){
            .key = "message",
            .source.value = MEMBER_MESSAGE,
        };
    }
    if (has_tags(ev)) {
        if (tags == NULL) {
            tags = &entries[n++];
            *tags = (struct doc_entry){
                .key = "tags",
                .source.value = MEMBER_NO_VALUE,
            };
        }
        tags->source.bits = MEMBER_TAGS;
    }
    if (has_log_flag_bits(ev)) {
        if (flags == NULL) {
            flags = &entries[n++];
            *flags = (struct doc_entry){
                .key = "log.flags",
                .source.value = MEMBER_NO_VALUE,
            };
        }
        flags->source.bits = MEMBER_LOG_FLAGS;
    }
    return n;
}

/*
 * Writes the event by sorting and nesting its keys. When `spans` is not
 * NULL, it receives where each member's value starts and ends in `buf`,
 * two offsets per member in document order, and `sources_out` where each
 * value comes from. Both need room for field_count + 3 members. Returns
 * the number of members.
 */
static size_t write_sorted(struct lf_buf *buf, const struct lf_event *ev,
                           size_t *spans, struct member_source *sources_out)
{
    struct doc_entry stack_entries[DOC_STACK_ENTRIES];
    struct doc_entry *entries = stack_entries;
    struct doc_writer w = {.buf = buf, .ev = ev, .spans = spans};
    size_t capacity = ev->field_count + 3; /* message, tags, log.flags */
    size_t count;

    if (capacity > DOC_STACK_ENTRIES) {
        entries = lf_malloc(capacity * sizeof(*entries));
    }
    count = collect_entries(ev, entries);
    sort_entries(entries, count);

    put_char(buf, '{');
    for (size_t i = 0; i < count; i++) {
        write_entry(&w, &entries[i]);
    }
    move_to_path(&w, "", 0, 0);
    put_char(buf, '}');
    terminate(buf);

    if (sources_out != NULL) {
        for (size_t i = 0; i < count; i++) {
            sources_out[i] = entries[i].source;
        }
    }
    if (entries != stack_entries) {
        lf_free(entries);
    }
    return count;
}

void lf_json_append_event(struct lf_buf *buf, const struct lf_event *ev)
{
    write_sorted(buf, ev, NULL, NULL);
}

/* ---- document shapes ---- */

/*
 * Eight shapes cover several inputs and the variants of one input (a line
 * that failed to parse has fewer fields and a tag) without a long search.
 */
enum { SHAPE_CACHE_SLOTS = 8 };

/* Parts of a shape's key besides the field keys. */
enum shape_variant {
    SHAPE_HAS_MESSAGE = 1u << 0,   /* the event's line is set */
    SHAPE_HAS_TAGS = 1u << 1,      /* a named tag bit or a tag string */
    SHAPE_HAS_LOG_FLAGS = 1u << 2, /* a log flag bit with a name is set */
};

struct shape_member {
    struct member_source source;
    size_t glue_end; /* end in `glue` of the bytes before the value */
};

struct shape {
    bool used;
    unsigned variant;   /* enum shape_variant bits */
    size_t field_count; /* the event's fields, in the order of `keys` */
    struct lf_buf keys; /* every key with its NUL, in field order */
    size_t *key_lens;   /* field_count entries */
    size_t key_cap;
    struct shape_member *members; /* in document order */
    size_t member_count;
    size_t member_cap;
    struct lf_buf glue; /* bytes before each value, then the closing ones */
    uint64_t last_use;  /* cache clock at the last hit or store */
};

struct lf_json_shape_cache {
    struct shape slots[SHAPE_CACHE_SLOTS];
    size_t last_slot; /* tried first */
    uint64_t clock;
    size_t *spans; /* scratch for write_sorted() */
    struct member_source *sources;
    size_t scratch_cap;
    struct lf_json_shape_stats stats;
};

struct lf_json_shape_cache *lf_json_shape_cache_new(void)
{
    struct lf_json_shape_cache *cache = lf_calloc(1, sizeof(*cache));

    for (size_t i = 0; i < SHAPE_CACHE_SLOTS; i++) {
        lf_buf_init(&cache->slots[i].keys);
        lf_buf_init(&cache->slots[i].glue);
    }
    return cache;
}

void lf_json_shape_cache_free(struct lf_json_shape_cache *cache)
{
    if (cache == NULL) {
        return;
    }
    for (size_t i = 0; i < SHAPE_CACHE_SLOTS; i++) {
        struct shape *s = &cache->slots[i];

        lf_buf_cleanup(&s->keys);
        lf_buf_cleanup(&s->glue);
        lf_free(s->key_lens);
        lf_free(s->members);
    }
    lf_free(cache->spans);
    lf_free(cache->sources);
    lf_free(cache);
}

void lf_json_shape_cache_stats(const struct lf_json_shape_cache *cache,
                               struct lf_json_shape_stats *out)
{
    *out = cache->stats;
}

static unsigned shape_variant_of(const struct lf_event *ev)
{
    unsigned variant = 0;

    if (ev->message != NULL) {
        variant |= SHAPE_HAS_MESSAGE;
    }
    if (has_tags(ev)) {
        variant |= SHAPE_HAS_TAGS;
    }
    if (has_log_flag_bits(ev)) {
        variant |= SHAPE_HAS_LOG_FLAGS;
    }
    return variant;
}

/* Returns true when the `len` bytes at `a` and `b` are equal. */
static inline bool same_bytes(const char *a, const char *b, size_t len)
{
    uint64_t x;
    uint64_t y;
    size_t i = 0;

    if (len < sizeof(x)) {
        while (i < len && a[i] == b[i]) {
            i++;
        }
        return i == len;
    }
    for (; i + sizeof(x) < len; i += sizeof(x)) {
        memcpy(&x, a + i, sizeof(x));
        memcpy(&y, b + i, sizeof(y));
        if (x != y) {
            return false;
        }
    }
    /* The last word may overlap bytes already compared. */
    memcpy(&x, a + len - sizeof(x), sizeof(x));
    memcpy(&y, b + len - sizeof(y), sizeof(y));
    return x == y;
}

/*
 * Compares key text, never only pointers: a key may live in storage that
 * the next event reuses for another key (a parser's arena, say).
 */
static bool shape_matches(const struct shape *s, const struct lf_event *ev,
                          unsigned variant)
{
    const char *stored = s->keys.data;

    if (!s->used || s->variant != variant ||
        s->field_count != ev->field_count) {
        return false;
    }
    for (size_t i = 0; i < s->field_count; i++) {
        size_t len = s->key_lens[i];

        if (ev->key_lens[i] != len ||
            !same_bytes(ev->fields[i].key, stored, len)) {
            return false;
        }
        stored += len + 1;
    }
    return true;
}

static struct shape *find_shape(struct lf_json_shape_cache *cache,
                                const struct lf_event *ev, unsigned variant)
{
    if (shape_matches(&cache->slots[cache->last_slot], ev, variant)) {
        return &cache->slots[cache->last_slot];
    }
    for (size_t i = 0; i < SHAPE_CACHE_SLOTS; i++) {
        if (i != cache->last_slot &&
            shape_matches(&cache->slots[i], ev, variant)) {
            cache->last_slot = i;
            return &cache->slots[i];
        }
    }
    return NULL;
}

/* Returns the slot to overwrite: an unused one, else the least recent. */
static size_t victim_slot(const struct lf_json_shape_cache *cache)
{
    size_t victim = 0;

    for (size_t i = 0; i < SHAPE_CACHE_SLOTS; i++) {
        const struct shape *s = &cache->slots[i];

        if (!s->used) {
            return i;
        }
        if (s->last_use < cache->slots[victim].last_use) {
            victim = i;
        }
    }
    return victim;
}

/*
 * Appends `n` bytes of a shape's glue. Pieces are short, mostly 8 to 32
 * bytes, and copying them with overlapping word loads and stores is
 * cheaper than a call to memcpy().
 */
static inline void put_glue(struct lf_buf *buf, const char *p, size_t n)
{
    uint64_t head[2];
    uint64_t tail[2];
    char *out;

    if (n > sizeof(head) + sizeof(tail)) {
        put_bytes(buf, p, n);
        return;
    }
    reserve(buf, n);
    out = buf->data + buf->len;
    buf->len += n;
    if (n < sizeof(head[0])) {
        for (size_t i = 0; i < n; i++) {
            out[i] = p[i];
        }
    } else if (n < sizeof(head)) {
        memcpy(&head[0], p, sizeof(head[0]));
        memcpy(&tail[0], p + n - sizeof(tail[0]), sizeof(tail[0]));
        memcpy(out, &head[0], sizeof(head[0]));
        memcpy(out + n - sizeof(tail[0]), &tail[0], sizeof(tail[0]));
    } else {
        memcpy(head, p, sizeof(head));
        memcpy(tail, p + n - sizeof(tail), sizeof(tail));
        memcpy(out, head, sizeof(head));
        memcpy(out + n - sizeof(tail), tail, sizeof(tail));
    }
}

static void write_shaped(struct lf_buf *buf, const struct shape *s,
                         const struct lf_event *ev)
{
    const char *glue = s->glue.data;
    size_t glue_start = 0;

    for (size_t i = 0; i < s->member_count; i++) {
        const struct shape_member *m = &s->members[i];

        put_glue(buf, glue + glue_start, m->glue_end - glue_start);
        if (m->source.value == MEMBER_FIELD &&
            m->source.bits == MEMBER_NO_BITS) {
            append_value(buf, &ev->fields[m->source.field].value);
        } else {
            append_member_value(buf, ev, &m->source);
        }
        glue_start = m->glue_end;
    }
    put_glue(buf, glue + glue_start, s->glue.len - glue_start);
    terminate(buf);
}

static void reserve_scratch(struct lf_json_shape_cache *cache, size_t members)
{
    if (members <= cache->scratch_cap) {
        return;
    }
    cache->spans =
        lf_realloc(cache->spans, 2 * members * sizeof(*cache->spans));
    cache->sources =
        lf_realloc(cache->sources, members * sizeof(*cache->sources));
    cache->scratch_cap = members;
}

static void reserve_shape(struct shape *s, size_t field_count,
                          size_t member_count)
{
    if (field_count > s->key_cap) {
        s->key_lens = lf_realloc(s->key_lens, field_count * sizeof(size_t));
        s->key_cap = field_count;
    }
    if (member_count > s->member_cap) {
        s->members = lf_realloc(s->members, member_count * sizeof(*s->members));
        s->member_cap = member_count;
    }
}

/*
 * Stores the shape of the document just written at `doc_start` in `buf`:
 * the event's keys, and the bytes around the values that `spans` marks.
 */
static void store_shape(struct lf_json_shape_cache *cache, struct shape *s,
                        const struct lf_event *ev, unsigned variant,
                        const struct lf_buf *buf, size_t doc_start,
                        size_t member_count)
{
    size_t pos = doc_start;

    reserve_shape(s, ev->field_count, member_count);
    lf_buf_reset(&s->keys);
    for (size_t i = 0; i < ev->field_count; i++) {
        size_t len = ev->key_lens[i];

        lf_buf_append(&s->keys, ev->fields[i].key, len + 1);
        s->key_lens[i] = len;
    }

    lf_buf_reset(&s->glue);
    for (size_t i = 0; i < member_count; i++) {
        lf_buf_append(&s->glue, buf->data + pos, cache->spans[2 * i] - pos);
        s->members[i].source = cache->sources[i];
        s->members[i].glue_end = s->glue.len;
        pos = cache->spans[2 * i + 1];
    }
    lf_buf_append(&s->glue, buf->data + pos, buf->len - pos);

    s->used = true;
    s->variant = variant;
    s->field_count = ev->field_count;
    s->member_count = member_count;
}

void lf_json_append_event_cached(struct lf_buf *buf,
                                 struct lf_json_shape_cache *cache,
                                 const struct lf_event *ev)
{
    unsigned variant = shape_variant_of(ev);
    struct shape *s = find_shape(cache, ev, variant);
    size_t doc_start = buf->len;
    size_t member_count;
    size_t slot;

    cache->clock++;
    if (s != NULL) {
        cache->stats.hits++;
        s->last_use = cache->clock;
        write_shaped(buf, s, ev);
        return;
    }

    cache->stats.misses++;
    reserve_scratch(cache, ev->field_count + 3);
    member_count = write_sorted(buf, ev, cache->spans, cache->sources);
    slot = victim_slot(cache);
    store_shape(cache, &cache->slots[slot], ev, variant, buf, doc_start,
                member_count);
    cache->slots[slot].last_use = cache->clock;
    cache->last_slot = slot;
}
