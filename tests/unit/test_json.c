/*
 * Tests of the document encoder: exact output for chosen inputs, and
 * differential runs that parse the encoder's output with jansson and
 * compare it with the intended values.
 */
#include "lf/json.h"
#include "lf/buf.h"
#include "lf/event.h"
#include "lf/mem.h"

#include <jansson.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lf_test.h"

/* Fixed seed: every run draws the same cases, so a failure reproduces. */
struct rng {
    uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
    /* xorshift64* */
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * UINT64_C(2685821657736338717);
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

static void check_string(const char *in, size_t len, const char *expected)
{
    struct lf_buf buf;

    lf_buf_init(&buf);
    lf_json_append_string(&buf, in, len);
    LF_CHECK_MEM_EQ(buf.data, buf.len, expected);
    lf_buf_cleanup(&buf);
}

#define CHECK_STRING(in, expected) check_string(in, LF_STRLEN(in), expected)

static void test_json_string_plain(void)
{
    CHECK_STRING("", "\"\"");
    CHECK_STRING("hello world", "\"hello world\"");
    CHECK_STRING("a/b <tag> & 'x'", "\"a/b <tag> & 'x'\"");
}

static void test_json_string_escapes(void)
{
    CHECK_STRING("say \"hi\"", "\"say \\\"hi\\\"\"");
    CHECK_STRING("C:\\dir\\", "\"C:\\\\dir\\\\\"");
    CHECK_STRING("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    CHECK_STRING("\x01\x1f", "\"\\u0001\\u001f\"");
    CHECK_STRING("a\0b", "\"a\\u0000b\"");
    CHECK_STRING("\x1b[31mred", "\"\\u001b[31mred\"");
    /* DEL is not a control character for JSON. */
    CHECK_STRING("\x7f", "\"\x7f\"");
}

static void test_json_string_escapes_every_control(void)
{
    struct lf_buf buf;
    char in[1];

    lf_buf_init(&buf);
    for (int c = 0; c < 0x20; c++) {
        json_t *parsed;

        in[0] = (char)c;
        lf_buf_reset(&buf);
        lf_json_append_string(&buf, in, 1);
        parsed = json_loadb(buf.data, buf.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                            NULL);
        LF_CHECK(parsed != NULL);
        if (parsed != NULL) {
            LF_CHECK_INT_EQ(json_string_length(parsed), 1);
            LF_CHECK_INT_EQ(json_string_value(parsed)[0], c);
        }
        json_decref(parsed);
    }
    lf_buf_cleanup(&buf);
}

static void test_json_string_utf8_valid(void)
{
    CHECK_STRING("caf\xc3\xa9", "\"caf\xc3\xa9\"");           /* U+00E9 */
    CHECK_STRING("\xc2\x80", "\"\xc2\x80\"");                 /* U+0080 */
    CHECK_STRING("\xe2\x82\xac", "\"\xe2\x82\xac\"");         /* U+20AC */
    CHECK_STRING("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
    CHECK_STRING("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* U+1F600 */
    CHECK_STRING("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    CHECK_STRING("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");         /* U+2028 */
}

#define FFFD "\xef\xbf\xbd"

static void test_json_string_utf8_invalid(void)
{
    /* A lone continuation byte and bytes that never occur in UTF-8. */
    CHECK_STRING("a\x80z", "\"a" FFFD "z\"");
    CHECK_STRING("\xfe\xff", "\"" FFFD FFFD "\"");
    CHECK_STRING("\xf5\x80", "\"" FFFD FFFD "\"");
    /* Overlong forms: C0 and C1 never start a sequence. */
    CHECK_STRING("\xc0\xaf", "\"" FFFD FFFD "\"");
    CHECK_STRING("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"");
    CHECK_STRING("\xf0\x80\x80\xaf", "\"" FFFD FFFD FFFD FFFD "\"");
    /* UTF-16 surrogates and code points past U+10FFFF. */
    CHECK_STRING("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"");
    CHECK_STRING("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    /* A truncated sequence is one maximal subpart: one U+FFFD. */
    CHECK_STRING("\xe2\x82", "\"" FFFD "\"");
    CHECK_STRING("\xe2\x82z", "\"" FFFD "z\"");
    CHECK_STRING("\xf0\x9f\x98", "\"" FFFD "\"");
    CHECK_STRING("\xf0\x9f\x98\"", "\"" FFFD "\\\"\"");
    CHECK_STRING("\xf0\x9f\xe2\x82\xac", "\"" FFFD "\xe2\x82\xac\"");
    /* A lead byte cut by the end of the value. */
    CHECK_STRING("ok\xc3", "\"ok" FFFD "\"");
}

/*
 * Reference decoder for the differential test, built from the encoding
 * side: a sequence is valid when encoding the code point it spells gives
 * back the same bytes, and a prefix is a maximal-subpart candidate when
 * some encoded scalar value starts with it. The sets are filled by
 * encoding every scalar value once.
 */
struct utf8_reference {
    bool lead[256];
    uint8_t *prefix2; /* bit set over b0 << 8 | b1 */
    uint8_t *prefix3; /* bit set over b0 << 16 | b1 << 8 | b2 */
};

static size_t encode_utf8(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static void set_bit(uint8_t *set, uint32_t index)
{
    set[index >> 3] |= (uint8_t)(1u << (index & 7));
}

static bool has_bit(const uint8_t *set, uint32_t index)
{
    return (set[index >> 3] & (1u << (index & 7))) != 0;
}

static void utf8_reference_init(struct utf8_reference *ref)
{
    memset(ref->lead, 0, sizeof(ref->lead));
    ref->prefix2 = lf_calloc(1, (1u << 16) / 8);
    ref->prefix3 = lf_calloc(1, (1u << 24) / 8);
    for (uint32_t cp = 0x80; cp <= 0x10ffff; cp++) {
        unsigned char b[4];
        size_t n;

        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }
        n = encode_utf8(cp, b);
        ref->lead[b[0]] = true;
        set_bit(ref->prefix2, (uint32_t)b[0] << 8 | b[1]);
        if (n == 4) {
            set_bit(ref->prefix3,
                    (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2]);
        }
    }
}

static void utf8_reference_cleanup(struct utf8_reference *ref)
{
    lf_free(ref->prefix2);
    lf_free(ref->prefix3);
}

/* Returns true when the `n` bytes at `p` encode one scalar value. */
static bool is_encoding(const unsigned char *p, size_t n)
{
    static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    unsigned char again[4];
    uint32_t cp = p[0] & lead_mask[n];

    for (size_t i = 1; i < n; i++) {
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return false;
    }
    return encode_utf8(cp, again) == n && memcmp(again, p, n) == 0;
}

static size_t reference_subpart(const struct utf8_reference *ref,
                                const unsigned char *p, size_t avail)
{
    if (!ref->lead[p[0]]) {
        return 1;
    }
    if (avail < 2 || !has_bit(ref->prefix2, (uint32_t)p[0] << 8 | p[1])) {
        return 1;
    }
    if (avail < 3 || !has_bit(ref->prefix3, (uint32_t)p[0] << 16 |
                                                (uint32_t)p[1] << 8 | p[2])) {
        return 2;
    }
    return 3;
}

/* Stores in `out` the bytes a JSON parser should read back. */
static void reference_decode(const struct utf8_reference *ref,
                             const unsigned char *p, size_t len,
                             struct lf_buf *out)
{
    size_t i = 0;

    while (i < len) {
        size_t n;

        if (p[i] < 0x80) {
            lf_buf_append_char(out, (char)p[i]);
            i++;
            continue;
        }
        for (n = 2; n <= 4; n++) {
            if (n <= len - i && is_encoding(p + i, n)) {
                break;
            }
        }
        if (n <= 4) {
            lf_buf_append(out, p + i, n);
            i += n;
            continue;
        }
        lf_buf_append(out, FFFD, LF_STRLEN(FFFD));
        i += reference_subpart(ref, p + i, len - i);
    }
}

/* Appends one random piece: text, escapes, or valid or broken UTF-8. */
static void append_random_piece(struct rng *r, struct lf_buf *s)
{
    static const unsigned char tricky[] = {
        0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed,
        0xef, 0xf0, 0xf4, 0xf5, 0xfe, 0xff, 0x9f, 0xa0,
    };
    unsigned char b[4];
    uint32_t cp;
    size_t n;

    switch (rng_below(r, 7)) {
    case 0:
        lf_buf_append_char(s, (char)(0x20 + rng_below(r, 0x60)));
        break;
    case 1:
        lf_buf_append_char(s, (char)rng_below(r, 0x20));
        break;
    case 2:
        lf_buf_append_char(s, rng_below(r, 2) == 0 ? '"' : '\\');
        break;
    case 3:
        lf_buf_append_char(s, (char)tricky[rng_below(r, sizeof(tricky))]);
        break;
    case 4:
        lf_buf_append_char(s, (char)(0x80 + rng_below(r, 0x80)));
        break;
    default:
        cp = 0x80 + rng_below(r, 0x110000 - 0x80);
        if (cp >= 0xd800 && cp <= 0xdfff) {
            cp -= 0x800;
        }
        n = encode_utf8(cp, b);
        /* One time in three the sequence is cut short. */
        if (rng_below(r, 3) == 0) {
            n = 1 + rng_below(r, (uint32_t)n - 1);
        }
        lf_buf_append(s, b, n);
        break;
    }
}

static void check_string_against_jansson(const struct utf8_reference *ref,
                                         const struct lf_buf *in)
{
    struct lf_buf out;
    struct lf_buf expected;
    json_error_t error;
    json_t *parsed;

    lf_buf_init(&out);
    lf_buf_init(&expected);
    lf_json_append_string(&out, in->data, in->len);
    reference_decode(ref, (const unsigned char *)in->data, in->len, &expected);

    parsed =
        json_loadb(out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (parsed == NULL) {
        LF_FAIL_AT("jansson rejected %s: %s", out.data, error.text);
    } else if (json_string_length(parsed) != expected.len ||
               (expected.len > 0 && memcmp(json_string_value(parsed),
                                           expected.data, expected.len) != 0)) {
        LF_FAIL_AT("decoded %s differs from the reference (%zu bytes)",
                   out.data, expected.len);
    }
    json_decref(parsed);
    lf_buf_cleanup(&out);
    lf_buf_cleanup(&expected);
}

static void test_json_string_matches_jansson(void)
{
    struct utf8_reference ref;
    struct rng r = {UINT64_C(0x9e3779b97f4a7c15)};
    struct lf_buf in;

    utf8_reference_init(&ref);
    lf_buf_init(&in);
    for (int i = 0; i < 20000; i++) {
        uint32_t pieces = rng_below(&r, 24);

        lf_buf_reset(&in);
        for (uint32_t j = 0; j < pieces; j++) {
            append_random_piece(&r, &in);
        }
        check_string_against_jansson(&ref, &in);
    }
    lf_buf_cleanup(&in);
    utf8_reference_cleanup(&ref);
}

static void check_timestamp(int64_t ts_ns, const char *expected)
{
    struct lf_buf buf;

    lf_buf_init(&buf);
    lf_json_append_timestamp(&buf, ts_ns);
    LF_CHECK_MEM_EQ(buf.data, buf.len, expected);
    lf_buf_cleanup(&buf);
}

static void test_json_timestamp_exact(void)
{
    check_timestamp(0, "\"1970-01-01T00:00:00.000Z\"");
    check_timestamp(INT64_C(1709287201123456789),
                    "\"2024-03-01T10:00:01.123Z\"");
    check_timestamp(INT64_C(951782400000000000),
                    "\"2000-02-29T00:00:00.000Z\"");
    check_timestamp(INT64_MAX, "\"2262-04-11T23:47:16.854Z\"");
}

static void test_json_timestamp_before_epoch(void)
{
    check_timestamp(-1, "\"1969-12-31T23:59:59.999Z\"");
    check_timestamp(-1000000, "\"1969-12-31T23:59:59.999Z\"");
    check_timestamp(-1000001, "\"1969-12-31T23:59:59.998Z\"");
    check_timestamp(INT64_C(-62135596800), "\"1969-12-31T23:58:57.864Z\"");
    check_timestamp(INT64_C(-2203891200000000000),
                    "\"1900-03-01T00:00:00.000Z\"");
    check_timestamp(INT64_MIN, "\"1677-09-21T00:12:43.145Z\"");
}

static void test_json_timestamp_matches_gmtime(void)
{
    struct rng r = {UINT64_C(0x2545f4914f6cdd1d)};
    struct lf_buf buf;
    char expected[64];

    lf_buf_init(&buf);
    for (int i = 0; i < 100000; i++) {
        int64_t ts_ns = (int64_t)rng_next(&r);
        int64_t secs = ts_ns / 1000000000;
        int64_t ns = ts_ns % 1000000000;
        time_t t;
        struct tm tm;

        if (ns < 0) {
            secs--;
            ns += 1000000000;
        }
        t = (time_t)secs;
        gmtime_r(&t, &tm);
        snprintf(expected, sizeof(expected),
                 "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(ns / 1000000));
        lf_buf_reset(&buf);
        lf_json_append_timestamp(&buf, ts_ns);
        LF_CHECK_MEM_EQ(buf.data, buf.len, expected);
    }
    lf_buf_cleanup(&buf);
}

static void check_event(const struct lf_event *ev, const char *expected)
{
    struct lf_buf buf;
    json_error_t error;
    json_t *parsed;

    lf_buf_init(&buf);
    lf_json_append_event(&buf, ev);
    LF_CHECK_MEM_EQ(buf.data, buf.len, expected);
    parsed = json_loadb(buf.data, buf.len, JSON_REJECT_DUPLICATES, &error);
    if (parsed == NULL) {
        LF_FAIL_AT("jansson rejected %s: %s", buf.data, error.text);
    }
    json_decref(parsed);
    lf_buf_cleanup(&buf);
}

static void check_cached(struct lf_json_shape_cache *cache,
                         const struct lf_event *ev, const char *prefix);

static void set_message(struct lf_event *ev, const char *message)
{
    ev->message = message;
    ev->message_len = strlen(message);
}

static void test_json_event_nested_ecs(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "GET /x");
    lf_event_set_str(&ev, "log.level", "info", 4);
    lf_event_set_timestamp(&ev, "@timestamp", INT64_C(1709287201123000000));
    lf_event_set_str(&ev, "service.name", "api", 3);
    lf_event_set_int(&ev, "http.response.status_code", 200);
    lf_event_set_str(&ev, "log.file.path", "/var/log/app.log", 16);
    lf_event_set_float(&ev, "event.duration", 1.5);
    ev.log_flags = LF_LOG_FLAG_TRUNCATED;
    ev.tags = LF_TAG_PARSE_FAILURE;
    check_event(&ev, "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\","
                     "\"event\":{\"duration\":1.5},"
                     "\"http\":{\"response\":{\"status_code\":200}},"
                     "\"log\":{\"file\":{\"path\":\"/var/log/app.log\"},"
                     "\"flags\":[\"truncated\"],\"level\":\"info\"},"
                     "\"message\":\"GET /x\","
                     "\"service\":{\"name\":\"api\"},"
                     "\"tags\":[\"_parse_failure\"]}");
    lf_event_cleanup(&ev);
}

static void test_json_event_message_only(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "plain \"line\"");
    check_event(&ev, "{\"message\":\"plain \\\"line\\\"\"}");
    set_message(&ev, "");
    check_event(&ev, "{\"message\":\"\"}");
    ev.message = NULL;
    ev.message_len = 0;
    check_event(&ev, "{}");
    lf_event_cleanup(&ev);
}

static void test_json_event_message_field_wins(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "raw line with level=info");
    lf_event_set_str(&ev, "message", "parsed text", 11);
    check_event(&ev, "{\"message\":\"parsed text\"}");
    lf_event_cleanup(&ev);
}

static void test_json_event_all_tags_and_flags(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    ev.tags = LF_TAG_PARSE_FAILURE | LF_TAG_TIMESTAMP_FAILURE |
              LF_TAG_CONVERSION_FAILURE;
    ev.log_flags = LF_LOG_FLAG_TRUNCATED;
    check_event(&ev, "{\"log\":{\"flags\":[\"truncated\"]},"
                     "\"tags\":[\"_parse_failure\",\"_timestamp_failure\","
                     "\"_field_conversion_failure\"]}");

    /* Bits without a name write no empty array. */
    ev.tags = 1u << 20;
    ev.log_flags = 1u << 20;
    check_event(&ev, "{}");
    lf_event_cleanup(&ev);
}

static void test_json_event_tags_field_merged(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_str(&ev, "tags", "prod", 4);
    lf_event_set_str(&ev, "log.flags", "multiline", 9);
    ev.tags = LF_TAG_TIMESTAMP_FAILURE;
    ev.log_flags = LF_LOG_FLAG_TRUNCATED;
    check_event(&ev, "{\"log\":{\"flags\":[\"multiline\",\"truncated\"]},"
                     "\"tags\":[\"prod\",\"_timestamp_failure\"]}");

    /* Without known bits, the fields are written as they are. */
    ev.tags = 0;
    ev.log_flags = 0;
    check_event(&ev, "{\"log\":{\"flags\":\"multiline\"},\"tags\":\"prod\"}");
    ev.tags = 1u << 20;
    ev.log_flags = 1u << 20;
    check_event(&ev, "{\"log\":{\"flags\":\"multiline\"},\"tags\":\"prod\"}");
    lf_event_cleanup(&ev);
}

static void test_json_event_tag_strings(void)
{
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_add_tag(&ev, "web");
    lf_event_add_tag(&ev, "say \"hi\"");
    check_event(&ev, "{\"tags\":[\"web\",\"say \\\"hi\\\"\"]}");
    check_cached(cache, &ev, "");

    /* Bit names come first, then the strings. */
    ev.tags = LF_TAG_PARSE_FAILURE;
    check_event(&ev, "{\"tags\":[\"_parse_failure\",\"web\","
                     "\"say \\\"hi\\\"\"]}");
    check_cached(cache, &ev, "");

    /* A tags field, then the bit names, then the strings. */
    lf_event_set_str(&ev, "tags", "prod", 4);
    check_event(&ev, "{\"tags\":[\"prod\",\"_parse_failure\",\"web\","
                     "\"say \\\"hi\\\"\"]}");
    check_cached(cache, &ev, "");
    ev.tags = 0;
    check_event(&ev, "{\"tags\":[\"prod\",\"web\",\"say \\\"hi\\\"\"]}");
    check_cached(cache, &ev, "");

    /* After a reset the event has no tags, and the shape has none. */
    lf_event_reset(&ev);
    check_event(&ev, "{}");
    check_cached(cache, &ev, "");
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

static void test_json_event_leaf_wins_over_prefix(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "a.c", 4);
    lf_event_set_int(&ev, "a.b.c", 3);
    lf_event_set_int(&ev, "ab", 5);
    lf_event_set_int(&ev, "a", 1);
    lf_event_set_int(&ev, "a-b", 6);
    lf_event_set_int(&ev, "a.b", 2);
    check_event(&ev, "{\"a\":1,\"a.b\":2,\"a.b.c\":3,\"a.c\":4,"
                     "\"a-b\":6,\"ab\":5}");
    lf_event_cleanup(&ev);
}

static void test_json_event_leaf_wins_when_nested(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_str(&ev, "x.y", "s", 1);
    lf_event_set_bool(&ev, "x.y.z", true);
    lf_event_set_int(&ev, "x.w", 1);
    lf_event_set_int(&ev, "x.z", 2);
    check_event(&ev, "{\"x\":{\"w\":1,\"y\":\"s\",\"y.z\":true,\"z\":2}}");
    lf_event_cleanup(&ev);
}

static void test_json_event_deep_siblings(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "a.b.c.d", 1);
    lf_event_set_int(&ev, "a.b.e", 2);
    lf_event_set_int(&ev, "a.f.g.h", 3);
    lf_event_set_int(&ev, "i", 4);
    check_event(&ev, "{\"a\":{\"b\":{\"c\":{\"d\":1},\"e\":2},"
                     "\"f\":{\"g\":{\"h\":3}}},\"i\":4}");
    lf_event_cleanup(&ev);
}

static void test_json_event_empty_segments(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "d.", 3);
    lf_event_set_int(&ev, "b..c", 2);
    lf_event_set_int(&ev, ".a", 1);
    lf_event_set_int(&ev, "b.c", 4);
    check_event(&ev, "{\"\":{\"a\":1},\"b\":{\"\":{\"c\":2},\"c\":4},"
                     "\"d\":{\"\":3}}");
    lf_event_cleanup(&ev);
}

static void test_json_event_escaped_keys(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "k\"q.t\\u", 1);
    lf_event_set_int(&ev, "caf\xc3\xa9.\xff", 2);
    check_event(&ev, "{\"caf\xc3\xa9\":{\"" FFFD "\":2},"
                     "\"k\\\"q\":{\"t\\\\u\":1}}");
    lf_event_cleanup(&ev);
}

static void test_json_event_value_types(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "i.max", INT64_MAX);
    lf_event_set_int(&ev, "i.min", INT64_MIN);
    lf_event_set_int(&ev, "i.zero", 0);
    lf_event_set_int(&ev, "i.neg", -42);
    lf_event_set_bool(&ev, "b.t", true);
    lf_event_set_bool(&ev, "b.f", false);
    lf_event_set_timestamp(&ev, "t", -1);
    check_event(&ev, "{\"b\":{\"f\":false,\"t\":true},"
                     "\"i\":{\"max\":9223372036854775807,"
                     "\"min\":-9223372036854775808,\"neg\":-42,\"zero\":0},"
                     "\"t\":\"1969-12-31T23:59:59.999Z\"}");
    lf_event_cleanup(&ev);
}

static void test_json_event_json_value_verbatim(void)
{
    static const char array[] = "[1,\"a\\\"b\",{\"k\":null}]";
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_json(&ev, "tags", array, LF_STRLEN(array));
    lf_event_set_json(&ev, "a.deep", "{\"x\":[]}", LF_STRLEN("{\"x\":[]}"));
    lf_event_set_str(&ev, "a.s", "[1]", LF_STRLEN("[1]"));
    check_event(&ev, "{\"a\":{\"deep\":{\"x\":[]},\"s\":\"[1]\"},"
                     "\"tags\":[1,\"a\\\"b\",{\"k\":null}]}");
    lf_event_cleanup(&ev);
}

static void test_json_event_json_tags_merged(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_json(&ev, "tags", "[\"a\",1]", LF_STRLEN("[\"a\",1]"));
    ev.tags = LF_TAG_PARSE_FAILURE;
    check_event(&ev, "{\"tags\":[\"a\",1,\"_parse_failure\"]}");
    lf_event_set_json(&ev, "tags", "[]", LF_STRLEN("[]"));
    check_event(&ev, "{\"tags\":[\"_parse_failure\"]}");
    lf_event_set_json(&ev, "tags", "{}", LF_STRLEN("{}"));
    check_event(&ev, "{\"tags\":[{},\"_parse_failure\"]}");
    lf_event_cleanup(&ev);
}

static void check_float(double value, const char *expected)
{
    struct lf_buf buf;
    struct lf_buf want;
    struct lf_event ev;

    lf_event_init(&ev);
    lf_buf_init(&buf);
    lf_buf_init(&want);
    lf_event_set_float(&ev, "f", value);
    lf_json_append_event(&buf, &ev);
    lf_buf_appendf(&want, "{\"f\":%s}", expected);
    LF_CHECK_STR_EQ(buf.data, want.data);
    lf_buf_cleanup(&want);
    lf_buf_cleanup(&buf);
    lf_event_cleanup(&ev);
}

static void test_json_float_format(void)
{
    check_float(1.5, "1.5");
    check_float(0.1, "0.1");
    check_float(1.0, "1.0");
    check_float(-0.0, "-0.0");
    check_float(100.0, "100.0");
    check_float(123456.0, "123456.0");
    check_float(1e15, "1e+15");
    check_float(1e21, "1e+21");
    check_float(2.5e-5, "2.5e-05");
    check_float(-1234.5678, "-1234.5678");
    check_float(1.0 / 3.0, "0.3333333333333333");
    check_float(0.1 + 0.2, "0.30000000000000004");
    check_float(9007199254740992.0, "9007199254740992.0");
    check_float(DBL_MAX, "1.7976931348623157e+308");
    check_float(5e-324, "4.94065645841247e-324");
}

static void test_json_float_non_finite_is_null(void)
{
    check_float(NAN, "null");
    check_float(INFINITY, "null");
    check_float(-INFINITY, "null");
}

static void test_json_float_round_trips(void)
{
    struct rng r = {UINT64_C(0xd1b54a32d192ed03)};
    struct lf_event ev;
    struct lf_buf buf;

    lf_event_init(&ev);
    lf_buf_init(&buf);
    for (int i = 0; i < 50000; i++) {
        uint64_t bits = rng_next(&r);
        double value;
        json_t *parsed;

        memcpy(&value, &bits, sizeof(value));
        if (!isfinite(value)) {
            continue;
        }
        lf_event_set_float(&ev, "f", value);
        lf_buf_reset(&buf);
        lf_json_append_event(&buf, &ev);
        parsed = json_loadb(buf.data, buf.len, 0, NULL);
        if (parsed == NULL || !json_is_real(json_object_get(parsed, "f"))) {
            LF_FAIL_AT("%s is not an object with a real member f", buf.data);
        } else if (json_real_value(json_object_get(parsed, "f")) != value) {
            LF_FAIL_AT("%s reads back as %.17g, expected %.17g", buf.data,
                       json_real_value(json_object_get(parsed, "f")), value);
        }
        json_decref(parsed);
    }
    lf_buf_cleanup(&buf);
    lf_event_cleanup(&ev);
}

static void test_json_event_many_fields(void)
{
    static char keys[70][16];
    struct lf_event ev;
    struct lf_buf expected;

    lf_event_init(&ev);
    lf_buf_init(&expected);
    lf_buf_append_str(&expected, "{\"g\":{");
    for (int i = 69; i >= 0; i--) {
        snprintf(keys[i], sizeof(keys[i]), "g.f%02d", i);
        lf_event_set_int(&ev, keys[i], i);
    }
    for (int i = 0; i < 70; i++) {
        lf_buf_appendf(&expected, "%s\"f%02d\":%d", i == 0 ? "" : ",", i, i);
    }
    lf_buf_append_str(&expected, "}}");
    check_event(&ev, expected.data);
    lf_buf_cleanup(&expected);
    lf_event_cleanup(&ev);
}

/*
 * Finds the value of a dotted key in a parsed document, following the
 * documented rule: a member named by the rest of the key (written whole
 * when a leaf shadows its prefix) or else the next segment's object.
 */
static json_t *lookup(json_t *object, const char *key)
{
    const char *dot;
    char segment[64];
    json_t *child;

    child = json_object_get(object, key);
    if (child != NULL) {
        return child;
    }
    dot = strchr(key, '.');
    if (dot == NULL || (size_t)(dot - key) >= sizeof(segment)) {
        return NULL;
    }
    memcpy(segment, key, (size_t)(dot - key));
    segment[dot - key] = '\0';
    child = json_object_get(object, segment);
    if (!json_is_object(child)) {
        return NULL;
    }
    return lookup(child, dot + 1);
}

static size_t count_leaves(json_t *value)
{
    const char *name;
    json_t *child;
    size_t n = 0;

    if (!json_is_object(value)) {
        return 1;
    }
    json_object_foreach(value, name, child)
    {
        n += count_leaves(child);
    }
    return n;
}

static bool value_matches(json_t *parsed, const struct lf_value *v)
{
    switch (v->type) {
    case LF_VALUE_STRING:
        return json_is_string(parsed) &&
               json_string_length(parsed) == v->u.str.len &&
               memcmp(json_string_value(parsed), v->u.str.ptr, v->u.str.len) ==
                   0;
    case LF_VALUE_INT:
        return json_is_integer(parsed) && json_integer_value(parsed) == v->u.i;
    case LF_VALUE_FLOAT:
        return json_is_real(parsed) && json_real_value(parsed) == v->u.f;
    case LF_VALUE_BOOL:
        return json_is_boolean(parsed) && json_is_true(parsed) == v->u.b;
    case LF_VALUE_TIMESTAMP:
        return json_is_string(parsed);
    case LF_VALUE_JSON:
        return false; /* the random events here hold no JSON values */
    }
    return false;
}

/* Keys drawn from few segments, so that prefixes and leaves collide. */
static void random_key(struct rng *r, char *key, size_t size)
{
    static const char *const segments[] = {"a", "b", "ab", "a-b", "c", "log"};
    size_t depth = 1 + rng_below(r, 4);
    size_t len = 0;

    key[0] = '\0';
    for (size_t i = 0; i < depth; i++) {
        const char *seg = segments[rng_below(r, LF_ARRAY_SIZE(segments))];
        int n = snprintf(key + len, size - len, "%s%s", i == 0 ? "" : ".", seg);

        len += (size_t)n;
    }
}

static void set_random_value(struct rng *r, struct lf_event *ev,
                             const char *key)
{
    static const char *const texts[] = {"x", "q\"uote", "\t",
                                        "\xc3\xa9\xf0\x9f\x98\x80"};

    switch (rng_below(r, 4)) {
    case 0: {
        const char *text = texts[rng_below(r, LF_ARRAY_SIZE(texts))];

        lf_event_set_str(ev, key, text, strlen(text));
        break;
    }
    case 1:
        lf_event_set_int(ev, key, (int64_t)rng_next(r));
        break;
    case 2:
        lf_event_set_float(ev, key, (double)(int32_t)rng_next(r) / 64.0);
        break;
    default:
        lf_event_set_bool(ev, key, rng_below(r, 2) == 0);
        break;
    }
}

static void check_event_against_jansson(const struct lf_event *ev)
{
    struct lf_buf buf;
    json_error_t error;
    json_t *doc;

    lf_buf_init(&buf);
    lf_json_append_event(&buf, ev);
    doc = json_loadb(buf.data, buf.len, JSON_REJECT_DUPLICATES, &error);
    if (doc == NULL) {
        LF_FAIL_AT("jansson rejected %s: %s", buf.data, error.text);
        lf_buf_cleanup(&buf);
        return;
    }
    LF_CHECK_INT_EQ(count_leaves(doc), ev->field_count);
    for (size_t i = 0; i < ev->field_count; i++) {
        const struct lf_field *field = &ev->fields[i];

        if (!value_matches(lookup(doc, field->key), &field->value)) {
            LF_FAIL_AT("field %s is missing or wrong in %s", field->key,
                       buf.data);
        }
    }
    json_decref(doc);
    lf_buf_cleanup(&buf);
}

static void test_json_event_matches_jansson(void)
{
    static char keys[100][64];
    struct rng r = {UINT64_C(0x853c49e6748fea9b)};
    struct lf_event ev;

    lf_event_init(&ev);
    for (int round = 0; round < 3000; round++) {
        uint32_t fields = rng_below(&r, 100);

        lf_event_reset(&ev);
        for (uint32_t i = 0; i < fields; i++) {
            random_key(&r, keys[i], sizeof(keys[i]));
            set_random_value(&r, &ev, keys[i]);
        }
        check_event_against_jansson(&ev);
    }
    lf_event_cleanup(&ev);
}

/* ---- cached shapes ---- */

/*
 * Writes `ev` through `cache` after `prefix` and checks that the result is
 * the prefix followed by exactly what lf_json_append_event() writes.
 */
static void check_cached(struct lf_json_shape_cache *cache,
                         const struct lf_event *ev, const char *prefix)
{
    struct lf_buf cached;
    struct lf_buf plain;

    lf_buf_init(&cached);
    lf_buf_init(&plain);
    lf_buf_append_str(&cached, prefix);
    lf_buf_append_str(&plain, prefix);
    lf_json_append_event_cached(&cached, cache, ev);
    lf_json_append_event(&plain, ev);
    LF_CHECK_MEM_EQ(cached.data, cached.len, plain.data);
    LF_CHECK_INT_EQ(cached.data[cached.len], '\0');
    lf_buf_cleanup(&plain);
    lf_buf_cleanup(&cached);
}

static void check_stats(const struct lf_json_shape_cache *cache, uint64_t hits,
                        uint64_t misses)
{
    struct lf_json_shape_stats stats;

    lf_json_shape_cache_stats(cache, &stats);
    LF_CHECK_INT_EQ(stats.hits, hits);
    LF_CHECK_INT_EQ(stats.misses, misses);
}

static void set_app_fields(struct lf_event *ev, int64_t status,
                           const char *level)
{
    lf_event_set_timestamp(ev, "@timestamp", INT64_C(1709287201123000000));
    lf_event_set_str(ev, "log.level", level, strlen(level));
    lf_event_set_int(ev, "http.response.status_code", status);
    lf_event_set_str(ev, "log.file.path", "/var/log/app.log", 16);
    lf_event_set_int(ev, "log.offset", status * 10);
    lf_event_set_str(ev, "agent.type", "logferry", 8);
}

static void test_json_cached_same_shape_twice(void)
{
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_buf buf;
    struct lf_event ev;

    lf_event_init(&ev);
    lf_buf_init(&buf);
    set_message(&ev, "first");
    set_app_fields(&ev, 200, "info");
    lf_json_append_event_cached(&buf, cache, &ev);
    check_stats(cache, 0, 1);

    lf_event_reset(&ev);
    set_message(&ev, "second \"quoted\"");
    set_app_fields(&ev, 503, "error");
    lf_buf_reset(&buf);
    lf_json_append_event_cached(&buf, cache, &ev);
    check_stats(cache, 1, 1);
    LF_CHECK_MEM_EQ(buf.data, buf.len,
                    "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\","
                    "\"agent\":{\"type\":\"logferry\"},"
                    "\"http\":{\"response\":{\"status_code\":503}},"
                    "\"log\":{\"file\":{\"path\":\"/var/log/app.log\"},"
                    "\"level\":\"error\",\"offset\":5030},"
                    "\"message\":\"second \\\"quoted\\\"\"}");

    lf_buf_cleanup(&buf);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/* A shape stored after earlier bytes in the buffer holds only its own. */
static void test_json_cached_after_other_bytes(void)
{
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "x");
    set_app_fields(&ev, 200, "info");
    check_cached(cache, &ev, "{\"create\":{}}\n");
    check_cached(cache, &ev, "");
    check_cached(cache, &ev, "0123456789");
    check_stats(cache, 2, 1);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

static void test_json_cached_shape_change(void)
{
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "line");
    set_app_fields(&ev, 200, "info");
    check_cached(cache, &ev, "");

    /* One more key, then one key fewer: two new shapes. */
    lf_event_set_str(&ev, "url.path", "/a", 2);
    check_cached(cache, &ev, "");
    LF_CHECK(lf_event_remove(&ev, "url.path"));
    LF_CHECK(lf_event_remove(&ev, "log.level"));
    check_cached(cache, &ev, "");
    check_stats(cache, 0, 3);

    /* The same keys in another order make another document order. */
    lf_event_reset(&ev);
    set_message(&ev, "line");
    lf_event_set_str(&ev, "agent.type", "logferry", 8);
    lf_event_set_int(&ev, "log.offset", 1);
    check_cached(cache, &ev, "");
    lf_event_reset(&ev);
    set_message(&ev, "line");
    lf_event_set_int(&ev, "log.offset", 1);
    lf_event_set_str(&ev, "agent.type", "logferry", 8);
    check_cached(cache, &ev, "");
    check_stats(cache, 0, 5);

    /* The first shape is still cached. */
    lf_event_reset(&ev);
    set_message(&ev, "line");
    set_app_fields(&ev, 404, "warn");
    check_cached(cache, &ev, "");
    check_stats(cache, 1, 5);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/* Keys are matched by text: another pointer to the same text hits. */
static void test_json_cached_same_text_other_pointer(void)
{
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    char first[] = "service.name";
    char second[] = "service.name";
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "log.offset", 7);
    lf_event_set_str(&ev, first, "api", 3);
    check_cached(cache, &ev, "");

    lf_event_reset(&ev);
    lf_event_set_int(&ev, "log.offset", 8);
    lf_event_set_str(&ev, second, "web", 3);
    check_cached(cache, &ev, "");
    check_stats(cache, 1, 1);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/*
 * Storage reused for another key, as a parser's arena is from one line to
 * the next: the same pointers with other text must not hit.
 */
static void test_json_cached_same_pointer_other_text(void)
{
    static const char *const texts[] = {"a.b", "a.c", "b.a", "a", "a.b.c"};
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    char key[8];
    struct lf_event ev;

    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(texts); i++) {
        memcpy(key, texts[i], strlen(texts[i]) + 1);
        lf_event_reset(&ev);
        lf_event_set_int(&ev, "a.a", 1);
        lf_event_set_int(&ev, key, 2);
        check_cached(cache, &ev, "");
    }
    check_stats(cache, 0, LF_ARRAY_SIZE(texts));

    /* Back to the first text in the same storage: a hit again. */
    memcpy(key, texts[0], strlen(texts[0]) + 1);
    lf_event_reset(&ev);
    lf_event_set_int(&ev, "a.a", 3);
    lf_event_set_int(&ev, key, 4);
    check_cached(cache, &ev, "");
    check_stats(cache, 1, LF_ARRAY_SIZE(texts));
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/* The message, tag bits and log flag bits are part of the shape. */
static void test_json_cached_variants(void)
{
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_str(&ev, "log.level", "info", 4);
    check_cached(cache, &ev, "");
    set_message(&ev, "with message");
    check_cached(cache, &ev, "");
    ev.tags = LF_TAG_PARSE_FAILURE;
    check_cached(cache, &ev, "");
    ev.log_flags = LF_LOG_FLAG_TRUNCATED;
    check_cached(cache, &ev, "");
    check_stats(cache, 0, 4);

    /* Other known bits reuse the shape; the array is built per event. */
    ev.tags = LF_TAG_TIMESTAMP_FAILURE | LF_TAG_CONVERSION_FAILURE;
    check_cached(cache, &ev, "");
    check_stats(cache, 1, 4);

    /* Bits without a name write nothing, like no bits at all. */
    ev.tags = 1u << 20;
    ev.log_flags = 1u << 20;
    check_cached(cache, &ev, "");
    check_stats(cache, 2, 4);

    /* A tags field merged with tag bits. */
    lf_event_set_str(&ev, "tags", "prod", 4);
    ev.tags = LF_TAG_PARSE_FAILURE;
    check_cached(cache, &ev, "");
    ev.tags = 0;
    check_cached(cache, &ev, "");
    check_stats(cache, 2, 6);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/* More shapes than slots: the least recently used one is replaced. */
static void test_json_cached_replaces_least_recent(void)
{
    static char keys[12][16];
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;
    uint64_t misses = 0;
    uint64_t hits = 0;

    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(keys); i++) {
        snprintf(keys[i], sizeof(keys[i]), "labels.k%zu", i);
    }
    /* Fill eight slots, then use shape 0 so that shape 1 is the oldest. */
    for (size_t i = 0; i < 8; i++) {
        lf_event_reset(&ev);
        lf_event_set_int(&ev, keys[i], (int64_t)i);
        check_cached(cache, &ev, "");
        misses++;
    }
    lf_event_reset(&ev);
    lf_event_set_int(&ev, keys[0], 0);
    check_cached(cache, &ev, "");
    hits++;
    check_stats(cache, hits, misses);

    /* A ninth shape replaces shape 1; shape 0 survives. */
    lf_event_reset(&ev);
    lf_event_set_int(&ev, keys[8], 8);
    check_cached(cache, &ev, "");
    misses++;
    lf_event_reset(&ev);
    lf_event_set_int(&ev, keys[0], 0);
    check_cached(cache, &ev, "");
    hits++;
    lf_event_reset(&ev);
    lf_event_set_int(&ev, keys[1], 1);
    check_cached(cache, &ev, "");
    misses++;
    check_stats(cache, hits, misses);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

static void test_json_cached_many_fields(void)
{
    static char keys[100][16];
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;

    lf_event_init(&ev);
    for (int round = 0; round < 3; round++) {
        lf_event_reset(&ev);
        set_message(&ev, "many");
        for (int i = 99; i >= 0; i--) {
            snprintf(keys[i], sizeof(keys[i]), "g%d.f%02d", i % 3, i);
            lf_event_set_int(&ev, keys[i], i * round);
        }
        check_cached(cache, &ev, "");
    }
    check_stats(cache, 2, 1);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/*
 * Differential run: events drawn from a few key sets, so that shapes
 * repeat, with random values, and now and then without a message or with
 * tags and flags. Every document must be the bytes of the uncached
 * encoder.
 */
static void test_json_cached_matches_uncached(void)
{
    enum { KEY_SETS = 4, MAX_KEYS = 40 };
    static char keys[KEY_SETS][MAX_KEYS][64];
    static const char *const messages[] = {"plain", "tab\there", "\xff\xfe bad",
                                           "\"q\""};
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct rng r = {UINT64_C(0x6a09e667f3bcc909)};
    uint32_t key_counts[KEY_SETS];
    struct lf_json_shape_stats stats;
    struct lf_event ev;

    for (size_t set = 0; set < KEY_SETS; set++) {
        key_counts[set] = rng_below(&r, MAX_KEYS);
        for (uint32_t i = 0; i < key_counts[set]; i++) {
            random_key(&r, keys[set][i], sizeof(keys[set][i]));
        }
    }
    lf_event_init(&ev);
    for (int round = 0; round < 5000; round++) {
        size_t set = rng_below(&r, KEY_SETS);

        lf_event_reset(&ev);
        if (rng_below(&r, 8) != 0) {
            set_message(&ev, messages[rng_below(&r, 4)]);
        }
        for (uint32_t i = 0; i < key_counts[set]; i++) {
            set_random_value(&r, &ev, keys[set][i]);
        }
        ev.tags = rng_below(&r, 16) == 0 ? rng_below(&r, 8) : 0;
        ev.log_flags = rng_below(&r, 16) == 0 ? 1 : 0;
        check_cached(cache, &ev, "");
    }
    lf_json_shape_cache_stats(cache, &stats);
    LF_CHECK_INT_EQ(stats.hits + stats.misses, 5000);
    LF_CHECK(stats.hits > stats.misses);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

/* ---- @metadata ---- */

/* Writes `ev` through `cache` and checks the exact document. */
static void check_cached_exact(struct lf_json_shape_cache *cache,
                               const struct lf_event *ev, const char *expected)
{
    struct lf_buf buf;

    lf_buf_init(&buf);
    lf_json_append_event_cached(&buf, cache, ev);
    LF_CHECK_MEM_EQ(buf.data, buf.len, expected);
    lf_buf_cleanup(&buf);
}

static void set_metadata_fields(struct lf_event *ev, const char *kind)
{
    lf_event_set_str(ev, "@metadata.kind", kind, strlen(kind));
    lf_event_set_str(ev, "service.name", "api", 3);
    lf_event_set_int(ev, "@metadata.cisco.asa.count", 2);
    lf_event_set_str(ev, "@metadataz", "kept", 4);
    lf_event_set_bool(ev, "@metadata", true);
}

static void test_json_event_metadata_left_out(void)
{
    static const char expected[] = "{\"@metadataz\":\"kept\","
                                   "\"message\":\"line\","
                                   "\"service\":{\"name\":\"api\"}}";
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "line");
    set_metadata_fields(&ev, "audit");
    check_event(&ev, expected);

    /* Only metadata: the document has the message alone. */
    lf_event_reset(&ev);
    set_message(&ev, "line");
    lf_event_set_str(&ev, "@metadata.kind", "audit", 5);
    check_event(&ev, "{\"message\":\"line\"}");
    lf_event_cleanup(&ev);
}

static void test_json_cached_metadata_left_out(void)
{
    static const char expected[] = "{\"@metadataz\":\"kept\","
                                   "\"message\":\"line\","
                                   "\"service\":{\"name\":\"api\"}}";
    struct lf_json_shape_cache *cache = lf_json_shape_cache_new();
    struct lf_event ev;

    lf_event_init(&ev);
    set_message(&ev, "line");
    set_metadata_fields(&ev, "audit");
    check_cached_exact(cache, &ev, expected);
    check_stats(cache, 0, 1);

    /* The cached shape skips the metadata values too. */
    lf_event_reset(&ev);
    set_message(&ev, "line");
    set_metadata_fields(&ev, "access");
    check_cached_exact(cache, &ev, expected);
    check_stats(cache, 1, 1);
    lf_event_cleanup(&ev);
    lf_json_shape_cache_free(cache);
}

static void test_json_append_value_types(void)
{
    struct lf_value value = {.type = LF_VALUE_STRING};
    struct lf_buf buf;

    lf_buf_init(&buf);
    value.u.str.ptr = "a\"\xff";
    value.u.str.len = 3;
    lf_json_append_value(&buf, &value);
    LF_CHECK_STR_EQ(buf.data, "\"a\\\"\xef\xbf\xbd\"");

    lf_buf_reset(&buf);
    value.type = LF_VALUE_INT;
    value.u.i = -12;
    lf_json_append_value(&buf, &value);
    LF_CHECK_STR_EQ(buf.data, "-12");

    lf_buf_reset(&buf);
    value.type = LF_VALUE_FLOAT;
    value.u.f = 3.0;
    lf_json_append_value(&buf, &value);
    LF_CHECK_STR_EQ(buf.data, "3.0");

    lf_buf_reset(&buf);
    value.type = LF_VALUE_JSON;
    value.u.str.ptr = "[1,\"x\"]";
    value.u.str.len = LF_STRLEN("[1,\"x\"]");
    lf_json_append_value(&buf, &value);
    LF_CHECK_STR_EQ(buf.data, "[1,\"x\"]");
    lf_buf_cleanup(&buf);
}

int main(void)
{
    LF_RUN(test_json_string_plain);
    LF_RUN(test_json_string_escapes);
    LF_RUN(test_json_string_escapes_every_control);
    LF_RUN(test_json_string_utf8_valid);
    LF_RUN(test_json_string_utf8_invalid);
    LF_RUN(test_json_string_matches_jansson);
    LF_RUN(test_json_timestamp_exact);
    LF_RUN(test_json_timestamp_before_epoch);
    LF_RUN(test_json_timestamp_matches_gmtime);
    LF_RUN(test_json_event_nested_ecs);
    LF_RUN(test_json_event_message_only);
    LF_RUN(test_json_event_message_field_wins);
    LF_RUN(test_json_event_all_tags_and_flags);
    LF_RUN(test_json_event_tags_field_merged);
    LF_RUN(test_json_event_tag_strings);
    LF_RUN(test_json_event_leaf_wins_over_prefix);
    LF_RUN(test_json_event_leaf_wins_when_nested);
    LF_RUN(test_json_event_deep_siblings);
    LF_RUN(test_json_event_empty_segments);
    LF_RUN(test_json_event_escaped_keys);
    LF_RUN(test_json_event_value_types);
    LF_RUN(test_json_event_json_value_verbatim);
    LF_RUN(test_json_event_json_tags_merged);
    LF_RUN(test_json_float_format);
    LF_RUN(test_json_float_non_finite_is_null);
    LF_RUN(test_json_float_round_trips);
    LF_RUN(test_json_event_many_fields);
    LF_RUN(test_json_event_matches_jansson);
    LF_RUN(test_json_cached_same_shape_twice);
    LF_RUN(test_json_cached_after_other_bytes);
    LF_RUN(test_json_cached_shape_change);
    LF_RUN(test_json_cached_same_text_other_pointer);
    LF_RUN(test_json_cached_same_pointer_other_text);
    LF_RUN(test_json_cached_variants);
    LF_RUN(test_json_cached_replaces_least_recent);
    LF_RUN(test_json_cached_many_fields);
    LF_RUN(test_json_cached_matches_uncached);
    LF_RUN(test_json_event_metadata_left_out);
    LF_RUN(test_json_cached_metadata_left_out);
    LF_RUN(test_json_append_value_types);
    return lf_test_end();
}
