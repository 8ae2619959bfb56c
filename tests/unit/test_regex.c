/*
 * Tests of the regex parser: pattern compilation, capture mapping, the
 * typed conversions (integer, float, duration, timestamp, level) and how
 * failures tag an event without dropping it.
 */
#include "lf_test.h"

#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "parsers/duration.h"
#include "parsers/field_map.h"
#include "parsers/number.h"
#include "parsers/regex.h"
#include "parsers/timestamp.h"

#define NS INT64_C(1000000000)

struct mapping {
    const char *capture;
    const char *key;
    const char *type;   /* NULL for string */
    const char *unit;   /* duration */
    const char *layout; /* timestamp */
    const char *tz;     /* timestamp */
};

static const char app_pattern[] =
    "^(?<ts>\\S+) (?<level>\\w+) \\[txn=(?<txn>\\w+)\\] (?<method>[A-Z]+) "
    "(?<path>\\S+) (?<status>\\d+|-) (?<took>[\\d.]+)ms";

static const struct mapping app_fields[] = {
    {"ts", "@timestamp", "timestamp", NULL, NULL, NULL},
    {"level", "log.level", NULL, NULL, NULL, NULL},
    {"txn", "transaction.id", NULL, NULL, NULL, NULL},
    {"method", "http.request.method", NULL, NULL, NULL, NULL},
    {"path", "url.path", NULL, NULL, NULL, NULL},
    {"status", "http.response.status_code", "integer", NULL, NULL, NULL},
    {"took", "event.duration", "duration", "ms", NULL, NULL},
};

static void map_from(const struct mapping *m, struct lf_field_map *map)
{
    char errbuf[128];

    lf_field_map_init(map, m->key);
    if (m->type != NULL) {
        LF_CHECK_INT_EQ(lf_field_map_set_type(map, m->type), 0);
    }
    if (m->unit != NULL) {
        LF_CHECK_INT_EQ(lf_duration_unit_parse(m->unit, &map->unit_ns), 0);
    }
    if (m->layout != NULL) {
        LF_CHECK_INT_EQ(lf_timestamp_layout_new(m->layout, &map->layout, errbuf,
                                                sizeof(errbuf)),
                        0);
    }
    if (m->tz != NULL) {
        LF_CHECK_INT_EQ(lf_tz_parse(m->tz, &map->tz), 0);
    }
}

static struct lf_regex *build(const char *pattern,
                              const struct mapping *mappings, size_t count)
{
    struct lf_regex *re = NULL;
    char errbuf[256];

    if (lf_regex_new(pattern, &re, errbuf, sizeof(errbuf)) != 0) {
        LF_FAIL_AT("pattern \"%s\": %s", pattern, errbuf);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        struct lf_field_map map;
        int number = lf_regex_capture_number(re, mappings[i].capture);

        LF_CHECK(number > 0);
        map_from(&mappings[i], &map);
        LF_CHECK_INT_EQ(lf_regex_add_field(re, number, &map), 0);
    }
    return re;
}

/* Matches `line` with `re` into `ev`, which is reset first. */
static int apply(struct lf_regex *re, struct lf_event *ev, const char *line)
{
    struct lf_regex_scratch *scratch =
        lf_regex_scratch_new(lf_regex_capture_count(re));
    int rc;

    lf_event_reset(ev);
    ev->message = line;
    ev->message_len = strlen(line);
    rc = lf_regex_apply(re, scratch, ev, ev->message, ev->message_len, 0);
    lf_regex_scratch_free(scratch);
    return rc;
}

static const struct lf_value *
get_typed(const struct lf_event *ev, const char *key, enum lf_value_type type)
{
    const struct lf_value *v = lf_event_get(ev, key);

    if (v == NULL) {
        LF_FAIL_AT("field %s is missing", key);
        return NULL;
    }
    if (v->type != type) {
        LF_FAIL_AT("field %s has type %d, expected %d", key, (int)v->type,
                   (int)type);
        return NULL;
    }
    return v;
}

static void check_str(const struct lf_event *ev, const char *key,
                      const char *expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_STRING);

    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, expected);
    }
}

static void check_int(const struct lf_event *ev, const char *key,
                      int64_t expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_INT);

    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.i, expected);
    }
}

static void check_timestamp(const struct lf_event *ev, const char *key,
                            int64_t expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_TIMESTAMP);

    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.ts_ns, expected);
    }
}

static void check_absent(const struct lf_event *ev, const char *key)
{
    if (lf_event_get(ev, key) != NULL) {
        LF_FAIL_AT("field %s is set, expected absent", key);
    }
}

static void test_regex_maps_typed_fields(void)
{
    struct lf_regex *re =
        build(app_pattern, app_fields, LF_ARRAY_SIZE(app_fields));
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev,
                          "2024-03-05T07:08:09.250Z WARNING [txn=a1b2] GET "
                          "/api/items?id=7 503 12.5ms and more"),
                    0);
    LF_CHECK_INT_EQ(ev.field_count, 7);
    LF_CHECK_INT_EQ(ev.tags, 0);
    check_timestamp(&ev, "@timestamp", 1709622489 * NS + 250000000);
    check_str(&ev, "log.level", "warn");
    check_str(&ev, "transaction.id", "a1b2");
    check_str(&ev, "http.request.method", "GET");
    check_str(&ev, "url.path", "/api/items?id=7");
    check_int(&ev, "http.response.status_code", 503);
    check_int(&ev, "event.duration", 12500000);
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_string_fields_point_into_line(void)
{
    struct lf_regex *re =
        build(app_pattern, app_fields, LF_ARRAY_SIZE(app_fields));
    const char line[] = "2024-03-05T07:08:09Z info [txn=x] PUT /p 200 1ms";
    const struct lf_value *v;
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, line), 0);
    v = lf_event_get(&ev, "transaction.id");
    LF_CHECK(v != NULL && v->u.str.ptr == line + 31);
    v = lf_event_get(&ev, "url.path");
    LF_CHECK(v != NULL && v->u.str.ptr == line + 38);
    check_str(&ev, "log.level", "info");
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_unmapped_capture_not_added(void)
{
    static const struct mapping fields[] = {
        {"b", "labels.b", NULL, NULL, NULL, NULL},
    };
    struct lf_regex *re = build("(?<a>\\w+)=(?<b>\\w+)", fields, 1);
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, "key=value"), 0);
    LF_CHECK_INT_EQ(ev.field_count, 1);
    check_str(&ev, "labels.b", "value");
    check_absent(&ev, "a");
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_no_match_leaves_event(void)
{
    struct lf_regex *re =
        build(app_pattern, app_fields, LF_ARRAY_SIZE(app_fields));
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, "a line of another format"), LF_ENOMATCH);
    LF_CHECK_INT_EQ(ev.field_count, 0);
    LF_CHECK_INT_EQ(ev.tags, 0);
    LF_CHECK_INT_EQ(apply(re, &ev, ""), LF_ENOMATCH);
    LF_CHECK_INT_EQ(ev.field_count, 0);
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_integer_failure_tags_event(void)
{
    struct lf_regex *re =
        build(app_pattern, app_fields, LF_ARRAY_SIZE(app_fields));
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(
        apply(re, &ev, "2024-03-05T07:08:09Z INFO [txn=t] GET / - 3ms"), 0);
    LF_CHECK_INT_EQ(ev.tags, LF_TAG_CONVERSION_FAILURE);
    check_absent(&ev, "http.response.status_code");
    check_int(&ev, "event.duration", 3000000);
    check_str(&ev, "url.path", "/");
    LF_CHECK_INT_EQ(ev.field_count, 6);
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_timestamp_failure_tags_event(void)
{
    struct lf_regex *re =
        build(app_pattern, app_fields, LF_ARRAY_SIZE(app_fields));
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, "yesterday INFO [txn=t] GET / 200 3ms"), 0);
    LF_CHECK_INT_EQ(ev.tags, LF_TAG_TIMESTAMP_FAILURE);
    check_absent(&ev, "@timestamp");
    check_int(&ev, "http.response.status_code", 200);
    /* A duration that does not convert is a conversion failure. */
    LF_CHECK_INT_EQ(apply(re, &ev,
                          "2024-03-05T07:08:09Z INFO [txn=t] GET / 200 "
                          "1.2.3ms"),
                    0);
    LF_CHECK_INT_EQ(ev.tags, LF_TAG_CONVERSION_FAILURE);
    check_absent(&ev, "event.duration");
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_layout_and_timezone(void)
{
    static const struct mapping fields[] = {
        {"t", "@timestamp", "timestamp", NULL, "%d/%m/%Y %H:%M:%S", "+02:00"},
        {"ratio", "labels.ratio", "float", NULL, NULL, NULL},
    };
    struct lf_regex *re = build("^(?<t>[^|]+)\\|(?<ratio>\\S+)", fields, 2);
    const struct lf_value *v;
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, "05/03/2024 09:08:09|0.75"), 0);
    check_timestamp(&ev, "@timestamp", 1709622489 * NS);
    v = get_typed(&ev, "labels.ratio", LF_VALUE_FLOAT);
    if (v != NULL) {
        LF_CHECK_DOUBLE_EQ(v->u.f, 0.75);
    }
    LF_CHECK_INT_EQ(ev.tags, 0);
    LF_CHECK_INT_EQ(apply(re, &ev, "05/03/2024 09:08:09|n/a"), 0);
    LF_CHECK_INT_EQ(ev.tags, LF_TAG_CONVERSION_FAILURE);
    check_absent(&ev, "labels.ratio");
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_optional_and_empty_groups_absent(void)
{
    static const struct mapping fields[] = {
        {"user", "user.name", NULL, NULL, NULL, NULL},
        {"bytes", "http.response.body.bytes", "integer", NULL, NULL, NULL},
        {"msg", "labels.msg", NULL, NULL, NULL, NULL},
    };
    struct lf_regex *re = build(
        "^(?:user=(?<user>\\w+) )?bytes=(?<bytes>\\d*) (?<msg>.*)$", fields, 3);
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, "bytes= "), 0);
    LF_CHECK_INT_EQ(ev.field_count, 0);
    LF_CHECK_INT_EQ(ev.tags, 0);
    LF_CHECK_INT_EQ(apply(re, &ev, "user=ann bytes=12 hi"), 0);
    check_str(&ev, "user.name", "ann");
    check_int(&ev, "http.response.body.bytes", 12);
    check_str(&ev, "labels.msg", "hi");
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_invalid_utf8_still_matches(void)
{
    static const struct mapping fields[] = {
        {"msg", "labels.msg", NULL, NULL, NULL, NULL},
    };
    struct lf_regex *re = build("^msg=(?<msg>.*)$", fields, 1);
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, "msg=caf\xE9 \xFF\xFE ok"), 0);
    check_str(&ev, "labels.msg", "caf\xE9 \xFF\xFE ok");
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_compile_error_message(void)
{
    struct lf_regex *re = NULL;
    char errbuf[256];

    LF_CHECK_INT_EQ(lf_regex_new("(?<a>x", &re, errbuf, sizeof(errbuf)),
                    LF_EINVAL);
    LF_CHECK_STR_EQ(errbuf,
                    "invalid pattern: missing closing parenthesis at offset 6");
    LF_CHECK(re == NULL);
}

static void test_regex_capture_numbers(void)
{
    struct lf_regex *re = NULL;
    char errbuf[256];

    LF_CHECK_INT_EQ(
        lf_regex_new("(x)(?<a>y)(?<b>z)", &re, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_INT_EQ(lf_regex_capture_count(re), 3);
    LF_CHECK_INT_EQ(lf_regex_capture_number(re, "a"), 2);
    LF_CHECK_INT_EQ(lf_regex_capture_number(re, "b"), 3);
    LF_CHECK_INT_EQ(lf_regex_capture_number(re, "c"), LF_ENOENT);
    lf_regex_free(re);

    LF_CHECK_INT_EQ(
        lf_regex_new("(?J)(?<a>x)|(?<a>y)", &re, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_INT_EQ(lf_regex_capture_number(re, "a"), LF_EEXIST);
    lf_regex_free(re);

    /* A branch reset gives both alternatives one group number. */
    LF_CHECK_INT_EQ(
        lf_regex_new("(?|(?<a>x)|(?<a>y))", &re, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_INT_EQ(lf_regex_capture_number(re, "a"), 1);
    lf_regex_free(re);
}

static void test_regex_rejects_bad_group_and_small_scratch(void)
{
    struct lf_regex *re = NULL;
    struct lf_regex_scratch *scratch = lf_regex_scratch_new(1);
    struct lf_field_map map;
    struct lf_event ev;
    char errbuf[256];

    LF_CHECK_INT_EQ(lf_regex_new("(a)(b)", &re, errbuf, sizeof(errbuf)), 0);
    lf_field_map_init(&map, "labels.x");
    LF_CHECK_INT_EQ(lf_regex_add_field(re, 3, &map), LF_EINVAL);
    lf_event_init(&ev);
    ev.message = "ab";
    ev.message_len = 2;
    LF_CHECK_INT_EQ(
        lf_regex_apply(re, scratch, &ev, ev.message, ev.message_len, 0),
        LF_EINVAL);
    lf_event_cleanup(&ev);
    lf_regex_scratch_free(scratch);
    lf_regex_free(re);
}

static void test_regex_backtracking_limit_is_no_match(void)
{
    static const struct mapping fields[] = {
        {"x", "labels.x", NULL, NULL, NULL, NULL},
    };
    struct lf_regex *re = build("^(?<x>(a+)+)$", fields, 1);
    char line[64];
    struct lf_event ev;

    memset(line, 'a', 40);
    line[40] = 'b';
    line[41] = '\0';
    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply(re, &ev, line), LF_ENOMATCH);
    LF_CHECK_INT_EQ(ev.field_count, 0);
    lf_event_cleanup(&ev);
    lf_regex_free(re);
}

static void test_regex_field_type_names(void)
{
    struct lf_field_map map;

    lf_field_map_init(&map, "log.level");
    LF_CHECK_INT_EQ(map.type, LF_FIELD_LEVEL);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "integer"), 0);
    LF_CHECK_INT_EQ(map.type, LF_FIELD_INTEGER);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "string"), 0);
    LF_CHECK_INT_EQ(map.type, LF_FIELD_LEVEL);
    lf_field_map_init(&map, "url.path");
    LF_CHECK_INT_EQ(map.type, LF_FIELD_STRING);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "float"), 0);
    LF_CHECK_INT_EQ(map.type, LF_FIELD_FLOAT);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "timestamp"), 0);
    LF_CHECK_INT_EQ(map.type, LF_FIELD_TIMESTAMP);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "duration"), 0);
    LF_CHECK_INT_EQ(map.type, LF_FIELD_DURATION);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "long"), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_field_map_set_type(&map, "Integer"), LF_EINVAL);
}

static int parse_int(const char *s, int64_t *out)
{
    *out = -42;
    return lf_number_parse_int(s, strlen(s), out);
}

static void test_regex_integer_conversion(void)
{
    int64_t i;

    LF_CHECK_INT_EQ(parse_int("0", &i), 0);
    LF_CHECK_INT_EQ(i, 0);
    LF_CHECK_INT_EQ(parse_int("-5", &i), 0);
    LF_CHECK_INT_EQ(i, -5);
    LF_CHECK_INT_EQ(parse_int("+7", &i), 0);
    LF_CHECK_INT_EQ(i, 7);
    LF_CHECK_INT_EQ(parse_int("007", &i), 0);
    LF_CHECK_INT_EQ(i, 7);
    LF_CHECK_INT_EQ(parse_int("9223372036854775807", &i), 0);
    LF_CHECK_INT_EQ(i, INT64_MAX);
    LF_CHECK_INT_EQ(parse_int("-9223372036854775808", &i), 0);
    LF_CHECK_INT_EQ(i, INT64_MIN);
    LF_CHECK_INT_EQ(parse_int("9223372036854775808", &i), LF_ERANGE);
    LF_CHECK_INT_EQ(parse_int("-9223372036854775809", &i), LF_ERANGE);
    LF_CHECK_INT_EQ(parse_int("99999999999999999999", &i), LF_ERANGE);
    LF_CHECK_INT_EQ(parse_int("", &i), LF_EPARSE);
    LF_CHECK_INT_EQ(parse_int("-", &i), LF_EPARSE);
    LF_CHECK_INT_EQ(parse_int("1.5", &i), LF_EPARSE);
    LF_CHECK_INT_EQ(parse_int("12a", &i), LF_EPARSE);
    LF_CHECK_INT_EQ(parse_int(" 1", &i), LF_EPARSE);
    LF_CHECK_INT_EQ(parse_int("1 ", &i), LF_EPARSE);
    LF_CHECK_INT_EQ(i, -42);
}

static int parse_float(const char *s, double *out)
{
    *out = -42.0;
    return lf_number_parse_float(s, strlen(s), out);
}

static void test_regex_float_conversion(void)
{
    static const struct {
        const char *text;
        double value;
    } good[] = {
        {"1.5", 1.5},
        {"-0.25", -0.25},
        {"0.1", 0.1},
        {"0.3", 0.3},
        {"1e3", 1000.0},
        {"1.5E-3", 1.5e-3},
        {".5", 0.5},
        {"5.", 5.0},
        {"+2", 2.0},
        {"000123.4500", 123.45},
        {"123456789012345678901234567890", 1.2345678901234568e29},
        {"9007199254740993", 9007199254740992.0},
        {"1e-400", 0.0},
        {"2.2250738585072014e-308", 2.2250738585072014e-308},
        {"1.7976931348623157e308", 1.7976931348623157e308},
    };
    static const char *const bad[] = {
        "",    ".",   "-",    "e5", "1e", "1e+", "1.2.3",
        "inf", "nan", "0x10", " 1", "1 ", "1,5",
    };
    double f;

    for (size_t i = 0; i < LF_ARRAY_SIZE(good); i++) {
        LF_CHECK_INT_EQ(parse_float(good[i].text, &f), 0);
        if (f != good[i].value) {
            LF_FAIL_AT("\"%s\" parsed as %.17g, expected %.17g", good[i].text,
                       f, good[i].value);
        }
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(bad); i++) {
        int rc = parse_float(bad[i], &f);

        if (rc != LF_EPARSE) {
            LF_FAIL_AT("\"%s\" returned %d, expected LF_EPARSE", bad[i], rc);
        }
    }
    LF_CHECK_INT_EQ(parse_float("1e400", &f), LF_ERANGE);
    LF_CHECK_INT_EQ(parse_float("0.0000000000000000000000000000000000000000"
                                "0000000000000000000000000001",
                                &f),
                    LF_ETOOBIG);
}

static int parse_duration(const char *s, const char *unit, int64_t *out)
{
    int64_t unit_ns = 0;

    *out = -42;
    LF_CHECK_INT_EQ(lf_duration_unit_parse(unit, &unit_ns), 0);
    return lf_duration_parse(s, strlen(s), unit_ns, out);
}

static void test_regex_duration_conversion(void)
{
    static const struct {
        const char *text;
        const char *unit;
        int64_t ns;
    } good[] = {
        {"7", "ns", 7},
        {"1.9", "ns", 1},
        {"2", "us", 2000},
        {"0.001", "us", 1},
        {"250", "ms", 250000000},
        {"1.5", "ms", 1500000},
        {"1.1", "s", 1100000000},
        {".5", "s", 500000000},
        {"2.", "s", 2000000000},
        {"0.5", "m", 30000000000},
        {"1.5", "h", 5400000000000},
        {"0.0000000001", "h", 360},
        {"0.333333333333333333333", "h", 1199999999999},
        {"9223372036.854775807", "s", INT64_MAX},
        {"2562047", "h", INT64_C(9223369200000000000)},
    };
    static const char *const bad[] = {"",    ".",  "-1",    "+1", "1e3",
                                      "1ms", " 1", "1.2.3", "1,5"};
    int64_t ns;
    int64_t unit_ns;

    for (size_t i = 0; i < LF_ARRAY_SIZE(good); i++) {
        LF_CHECK_INT_EQ(parse_duration(good[i].text, good[i].unit, &ns), 0);
        if (ns != good[i].ns) {
            LF_FAIL_AT("\"%s\" %s gave %lld ns, expected %lld", good[i].text,
                       good[i].unit, (long long)ns, (long long)good[i].ns);
        }
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(bad); i++) {
        int rc = parse_duration(bad[i], "ms", &ns);

        if (rc != LF_EPARSE) {
            LF_FAIL_AT("\"%s\" returned %d, expected LF_EPARSE", bad[i], rc);
        }
    }
    LF_CHECK_INT_EQ(parse_duration("2562048", "h", &ns), LF_ERANGE);
    LF_CHECK_INT_EQ(parse_duration("9223372036.854775808", "s", &ns),
                    LF_ERANGE);
    LF_CHECK_INT_EQ(parse_duration("99999999999999999999", "ns", &ns),
                    LF_ERANGE);
    LF_CHECK_INT_EQ(lf_duration_unit_parse("sec", &unit_ns), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_duration_unit_parse("MS", &unit_ns), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_duration_unit_parse("", &unit_ns), LF_EINVAL);
}

int main(void)
{
    LF_RUN(test_regex_maps_typed_fields);
    LF_RUN(test_regex_string_fields_point_into_line);
    LF_RUN(test_regex_unmapped_capture_not_added);
    LF_RUN(test_regex_no_match_leaves_event);
    LF_RUN(test_regex_integer_failure_tags_event);
    LF_RUN(test_regex_timestamp_failure_tags_event);
    LF_RUN(test_regex_layout_and_timezone);
    LF_RUN(test_regex_optional_and_empty_groups_absent);
    LF_RUN(test_regex_invalid_utf8_still_matches);
    LF_RUN(test_regex_compile_error_message);
    LF_RUN(test_regex_capture_numbers);
    LF_RUN(test_regex_rejects_bad_group_and_small_scratch);
    LF_RUN(test_regex_backtracking_limit_is_no_match);
    LF_RUN(test_regex_field_type_names);
    LF_RUN(test_regex_integer_conversion);
    LF_RUN(test_regex_float_conversion);
    LF_RUN(test_regex_duration_conversion);
    return lf_test_end();
}
