/*
 * Tests of the `json` parser through a chain built from YAML: the lines of
 * ECS logging libraries, pino, bunyan, zap and logrus, every option, and
 * malformed input. Most checks compare the whole document that the
 * Elasticsearch encoder writes for the event, so types, nesting and
 * escaping are all checked at once.
 */
#include "lf_test.h"

#include "lf/buf.h"
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/json.h"
#include "lf/mem.h"
#include "lf/parser.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>

#define FFFD "\xef\xbf\xbd"

static char errbuf[512];

struct fixture {
    struct lf_conf *conf;
    struct lf_parser_chain *chain;
    struct lf_event ev;
    struct lf_buf doc;
};

/* Builds a chain from the YAML text of a `parsers:` list. */
static int setup(struct fixture *f, const char *parsers_yaml)
{
    struct lf_buf yaml;
    struct lf_conf_node root;
    struct lf_conf_node list;
    int rc;

    memset(f, 0, sizeof(*f));
    lf_event_init(&f->ev);
    lf_buf_init(&f->doc);
    lf_buf_init(&yaml);
    lf_buf_appendf(&yaml, "parsers:\n%s", parsers_yaml);
    errbuf[0] = '\0';
    rc = lf_conf_load_string(yaml.data, yaml.len, "test.yml", &f->conf, errbuf,
                             sizeof(errbuf));
    lf_buf_cleanup(&yaml);
    if (rc != 0) {
        LF_FAIL_AT("configuration did not load: %s", errbuf);
        return rc;
    }
    lf_conf_root(f->conf, &root);
    lf_conf_child(&root, "parsers", &list);
    rc = lf_parser_chain_new(&list, &f->chain, errbuf, sizeof(errbuf));
    return rc;
}

static void teardown(struct fixture *f)
{
    lf_buf_cleanup(&f->doc);
    lf_event_cleanup(&f->ev);
    lf_parser_chain_free(f->chain);
    lf_conf_free(f->conf);
}

static int apply_len(struct fixture *f, const char *line, size_t len)
{
    lf_event_reset(&f->ev);
    f->ev.message = line;
    f->ev.message_len = len;
    return lf_parser_chain_apply(f->chain, &f->ev, 0);
}

static int apply(struct fixture *f, const char *line)
{
    return apply_len(f, line, strlen(line));
}

/* Returns the document the encoder writes for the current event. */
static const char *doc(struct fixture *f)
{
    lf_buf_reset(&f->doc);
    lf_json_append_event(&f->doc, &f->ev);
    return f->doc.data;
}

/* Parses `line` with `parsers_yaml` and checks the code and document. */
static void check_line(const char *parsers_yaml, const char *line, int rc,
                       const char *expected)
{
    struct fixture f;

    if (setup(&f, parsers_yaml) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
        teardown(&f);
        return;
    }
    LF_CHECK_INT_EQ(apply(&f, line), rc);
    LF_CHECK_STR_EQ(doc(&f), expected);
    teardown(&f);
}

#define JSON "  - json:\n"

static void check_error(struct fixture *f, const char *line,
                        const char *expected);

/* ecs-logging-java (logback-ecs-encoder) writes dotted top-level keys. */
static void test_json_ecs_java(void)
{
    check_line(JSON,
               "{\"@timestamp\":\"2019-08-06T12:09:12.375Z\", "
               "\"log.level\": \"INFO\", \"message\":\"Order service "
               "listening on port 8443\", \"ecs.version\": \"1.2.0\","
               "\"service.name\":\"orders\","
               "\"process.thread.name\":\"worker-1\","
               "\"log.logger\":\"com.example.orders."
               "HttpServer\"}",
               0,
               "{\"@timestamp\":\"2019-08-06T12:09:12.375Z\","
               "\"ecs\":{\"version\":\"1.2.0\"},"
               "\"log\":{\"level\":\"info\",\"logger\":\"com.example.orders."
               "HttpServer\"},"
               "\"message\":\"Order service listening on port 8443\","
               "\"process\":{\"thread\":{\"name\":\"worker-1\"}},"
               "\"service\":{\"name\":\"orders\"}}");
}

/* ecs-logging-python nests objects and writes the error fields. */
static void test_json_ecs_python(void)
{
    check_line(JSON,
               "{\"@timestamp\":\"2020-03-20T18:11:37.895Z\","
               "\"log.level\":\"error\",\"message\":\"Payment declined\","
               "\"ecs\":{\"version\":\"1.6.0\"},"
               "\"http\":{\"request\":{\"method\":\"get\"}},"
               "\"log\":{\"logger\":\"app\",\"origin\":{\"file\":{\"line\":88,"
               "\"name\":\"charge.py\"},\"function\":\"charge\"},"
               "\"original\":\"Payment declined\"},"
               "\"error\":{\"type\":\"ValueError\",\"message\":\"bad\","
               "\"stack_trace\":\"Traceback:\\n  File \\\"charge.py\\\"\"}}",
               0,
               "{\"@timestamp\":\"2020-03-20T18:11:37.895Z\","
               "\"ecs\":{\"version\":\"1.6.0\"},"
               "\"error\":{\"message\":\"bad\",\"stack_trace\":\"Traceback:\\n"
               "  File \\\"charge.py\\\"\",\"type\":\"ValueError\"},"
               "\"http\":{\"request\":{\"method\":\"get\"}},"
               "\"log\":{\"level\":\"error\",\"logger\":\"app\",\"origin\":{"
               "\"file\":{\"line\":88,\"name\":\"charge.py\"},"
               "\"function\":\"charge\"},\"original\":\"Payment declined\"},"
               "\"message\":\"Payment declined\"}");
}

/* @elastic/ecs-pino-format 1.5 with a child logger's field. */
static void test_json_ecs_pino(void)
{
    check_line(
        JSON,
        "{\"log.level\":\"warn\",\"@timestamp\":\"2023-10-16T18:08:02."
        "602Z\",\"process.pid\":4242,\"host.hostname\":\"web-3\","
        "\"ecs.version\":\"8.10.0\",\"module\":\"cart\","
        "\"message\":\"Cart total recomputed\"}",
        0,
        "{\"@timestamp\":\"2023-10-16T18:08:02.602Z\","
        "\"ecs\":{\"version\":\"8.10.0\"},"
        "\"host\":{\"hostname\":\"web-3\"},"
        "\"log\":{\"level\":\"warn\"},\"message\":\"Cart total recomputed\","
        "\"module\":\"cart\",\"process\":{\"pid\":4242}}");
}

/* ecszap writes dotted keys inside nested objects. */
static void test_json_ecs_zap(void)
{
    check_line(
        JSON,
        "{\"log.level\":\"info\",\"@timestamp\":\"2020-09-13T10:48:03."
        "000Z\",\"log.logger\":\"inventory\",\"log.origin\":{"
        "\"file.name\":\"stock/reserve.go\",\"file.line\":131},"
        "\"message\":\"reserved stock\",\"ecs.version\":\"1.6.0\","
        "\"custom\":\"cart\",\"count\":3,\"error\":{\"message\":"
        "\"out of stock\"}}",
        0,
        "{\"@timestamp\":\"2020-09-13T10:48:03.000Z\","
        "\"count\":3,\"custom\":\"cart\",\"ecs\":{\"version\":\"1.6.0\"},"
        "\"error\":{\"message\":\"out of stock\"},"
        "\"log\":{\"level\":\"info\",\"logger\":\"inventory\","
        "\"origin\":{\"file\":{\"line\":131,\"name\":\"stock/reserve.go\"}}},"
        "\"message\":\"reserved stock\"}");
}

/* Elastic.CommonSchema.Serilog: 7 fraction digits, offset, "Information". */
static void test_json_ecs_serilog(void)
{
    check_line(
        JSON,
        "{\"@timestamp\":\"2019-11-22T14:59:02.5903135+11:00\","
        "\"log.level\":\"Information\",\"message\":\"Invoice 77 issued\","
        "\"ecs\":{\"version\":\"1.4.0\"},\"event\":{\"severity\":0,"
        "\"timezone\":\"W. Europe Standard Time\"},"
        "\"log\":{\"logger\":\"Elastic.CommonSchema.Serilog\"}}",
        0,
        "{\"@timestamp\":\"2019-11-22T03:59:02.590Z\","
        "\"ecs\":{\"version\":\"1.4.0\"},"
        "\"event\":{\"severity\":0,\"timezone\":\"W. Europe Standard "
        "Time\"},\"log\":{\"level\":\"info\","
        "\"logger\":\"Elastic.CommonSchema.Serilog\"},"
        "\"message\":\"Invoice 77 issued\"}");
}

/* pino's default output: numeric level, epoch milliseconds, msg. */
static void test_json_pino_plain(void)
{
    check_line(JSON,
               "{\"level\":30,\"time\":1531171074631,\"pid\":311,"
               "\"hostname\":\"api-1\",\"msg\":\"request completed\"}",
               0,
               "{\"@timestamp\":\"2018-07-09T21:17:54.631Z\","
               "\"hostname\":\"api-1\",\"log\":{\"level\":\"info\"},"
               "\"message\":\"request completed\",\"pid\":311}");
}

static void test_json_pino_levels(void)
{
    static const struct {
        const char *line;
        const char *expected;
    } cases[] = {
        {"{\"level\":10}", "{\"log\":{\"level\":\"trace\"}}"},
        {"{\"level\":20}", "{\"log\":{\"level\":\"debug\"}}"},
        {"{\"level\":30}", "{\"log\":{\"level\":\"info\"}}"},
        {"{\"level\":40}", "{\"log\":{\"level\":\"warn\"}}"},
        {"{\"level\":50}", "{\"log\":{\"level\":\"error\"}}"},
        {"{\"level\":60}", "{\"log\":{\"level\":\"fatal\"}}"},
        {"{\"level\":35}", "{\"log\":{\"level\":\"35\"}}"},
        {"{\"level\":70}", "{\"log\":{\"level\":\"70\"}}"},
        {"{\"level\":0}", "{\"log\":{\"level\":\"0\"}}"},
        {"{\"level\":2.5}", "{\"log\":{\"level\":\"2.5\"}}"},
        {"{\"level\":true}", "{\"level\":true}"},
    };
    struct fixture f;

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        f.ev.message = NULL;
        LF_CHECK_INT_EQ(apply(&f, cases[i].line), 0);
        f.ev.message = NULL;
        LF_CHECK_STR_EQ(doc(&f), cases[i].expected);
    }
    teardown(&f);
}

/* bunyan: numeric level, ISO time, msg, and its own keys kept. */
static void test_json_bunyan(void)
{
    check_line(JSON,
               "{\"name\":\"mailer\",\"hostname\":\"mx-2\","
               "\"pid\":77,\"level\":50,\"msg\":\"request failed\","
               "\"time\":\"2013-01-04T18:46:23.851Z\",\"v\":0}",
               0,
               "{\"@timestamp\":\"2013-01-04T18:46:23.851Z\","
               "\"hostname\":\"mx-2\",\"log\":{\"level\":\"error\"},"
               "\"message\":\"request failed\",\"name\":\"mailer\","
               "\"pid\":77,\"v\":0}");
}

/* logrus's JSONFormatter: "warning", RFC 3339 time with an offset. */
static void test_json_logrus(void)
{
    check_line(JSON,
               "{\"animal\":\"orca\",\"level\":\"warning\","
               "\"msg\":\"Disk usage above 90%\","
               "\"time\":\"2014-03-10T19:57:38.562471297-04:00\"}",
               0,
               "{\"@timestamp\":\"2014-03-10T23:57:38.562Z\","
               "\"animal\":\"orca\",\"log\":{\"level\":\"warn\"},"
               "\"message\":\"Disk usage above 90%\"}");
}

/* zap's production encoder: float epoch seconds in `ts`. */
static void test_json_zap_production(void)
{
    check_line(JSON,
               "{\"level\":\"info\",\"ts\":1709287201.123,"
               "\"caller\":\"app/main.go:42\",\"msg\":\"served\","
               "\"status\":200}",
               0,
               "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\","
               "\"caller\":\"app/main.go:42\",\"log\":{\"level\":\"info\"},"
               "\"message\":\"served\",\"status\":200}");
}

/* Epoch numbers: the unit is chosen by magnitude. */
static void test_json_epoch_units(void)
{
    static const struct {
        const char *line;
        const char *expected;
    } cases[] = {
        {"{\"ts\":1709287201}",
         "{\"@timestamp\":\"2024-03-01T10:00:01.000Z\"}"},
        {"{\"ts\":1709287201.5}",
         "{\"@timestamp\":\"2024-03-01T10:00:01.500Z\"}"},
        {"{\"ts\":1709287201123}",
         "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\"}"},
        {"{\"ts\":1709287201123456}",
         "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\"}"},
        {"{\"ts\":1709287201123456789}",
         "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\"}"},
        {"{\"ts\":0}", "{\"@timestamp\":\"1970-01-01T00:00:00.000Z\"}"},
        {"{\"ts\":-1.5}", "{\"@timestamp\":\"1969-12-31T23:59:58.500Z\"}"},
        /* Not a time: kept as the field it is. */
        {"{\"ts\":\"soon\"}", "{\"ts\":\"soon\"}"},
        {"{\"time\":1e300}", "{\"time\":1e+300}"},
        {"{\"time\":false}", "{\"time\":false}"},
    };
    struct fixture f;

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        LF_CHECK_INT_EQ(apply(&f, cases[i].line), 0);
        f.ev.message = NULL;
        LF_CHECK_STR_EQ(doc(&f), cases[i].expected);
    }
    teardown(&f);
}

/* The line's own ECS fields win over the aliases, which stay fields. */
static void test_json_ecs_fields_win_over_aliases(void)
{
    check_line(JSON,
               "{\"msg\":\"m\",\"level\":\"debug\",\"time\":\"t\","
               "\"message\":\"real\",\"log.level\":\"error\","
               "\"@timestamp\":\"2024-03-01T10:00:01Z\","
               "\"ts\":1709287201}",
               0,
               "{\"@timestamp\":\"2024-03-01T10:00:01.000Z\","
               "\"level\":\"debug\",\"log\":{\"level\":\"error\"},"
               "\"message\":\"real\",\"msg\":\"m\",\"time\":\"t\","
               "\"ts\":1709287201}");
}

static void test_json_invalid_timestamp_tagged(void)
{
    check_line(JSON, "{\"@timestamp\":\"yesterday\",\"message\":\"m\"}", 0,
               "{\"message\":\"m\",\"tags\":[\"_timestamp_failure\"]}");
}

static void test_json_value_types(void)
{
    check_line(JSON,
               "{\"i\":-42,\"big\":9223372036854775807,"
               "\"over\":9223372036854775808,\"f\":1.5,\"e\":1E3,"
               "\"z\":-0,\"t\":true,\"n\":null,\"s\":\"\","
               "\"huge\":1e400,\"a\":[1, \"x\" ,{\"k\" : [ ]},null,true]}",
               0,
               "{\"a\":[1,\"x\",{\"k\":[]},null,true],"
               "\"big\":9223372036854775807,\"e\":1000.0,\"f\":1.5,"
               "\"huge\":\"1e400\",\"i\":-42,"
               "\"message\":\"{\\\"i\\\":-42,\\\"big\\\":9223372036854775807,"
               "\\\"over\\\":9223372036854775808,\\\"f\\\":1.5,"
               "\\\"e\\\":1E3,\\\"z\\\":-0,\\\"t\\\":true,\\\"n\\\":null,"
               "\\\"s\\\":\\\"\\\",\\\"huge\\\":1e400,\\\"a\\\":[1, \\\"x\\\" ,"
               "{\\\"k\\\" : [ ]},null,true]}\","
               "\"over\":9.223372036854776e+18,\"s\":\"\",\"t\":true,"
               "\"z\":0}");
}

/* Escapes are decoded once: the encoder then escapes them once. */
static void test_json_escapes_decoded_once(void)
{
    check_line(JSON,
               "{\"message\":\"line one\\nline two\","
               "\"file\":\"C:\\\\data\\\\app.txt\",\"note\":\"say "
               "\\\"hi\\\"\",\"e\":\"caf\\u00e9 \\u20ac \\ud83d\\ude00 "
               "\\/ \\b\\f\\r\\t\",\"lone\":\"\\ud800x\\udc00\","
               "\"k\\u0065y\\\"\":1,\"nul\\u0000\":\"a\\u0000b\"}",
               0,
               "{\"e\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 / "
               "\\b\\f\\r\\t\",\"file\":\"C:\\\\data\\\\app.txt\","
               "\"key\\\"\":1,\"lone\":\"" FFFD "x" FFFD "\","
               "\"message\":\"line one\\nline two\","
               "\"note\":\"say \\\"hi\\\"\",\"nul" FFFD "\":\"a\\u0000b\"}");
}

/* Escapes and control characters are found at every offset of a word. */
static void test_json_string_stops_at_every_offset(void)
{
    char line[64];
    char expected[128];
    struct fixture f;
    const struct lf_value *v;

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (int at = 0; at < 20; at++) {
        snprintf(line, sizeof(line), "{\"s\":\"%.*s\\\"%.*s\"}", at,
                 "abcdefghijklmnopqrstuvwxyz", 20 - at,
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        snprintf(expected, sizeof(expected), "%.*s\"%.*s", at,
                 "abcdefghijklmnopqrstuvwxyz", 20 - at,
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        LF_CHECK_INT_EQ(apply(&f, line), 0);
        v = lf_event_get(&f.ev, "s");
        LF_CHECK(v != NULL);
        if (v != NULL) {
            LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, expected);
        }

        snprintf(line, sizeof(line), "{\"s\":\"%.*s\x01%.*s\"}", at,
                 "abcdefghijklmnopqrstuvwxyz", 20 - at,
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        snprintf(expected, sizeof(expected),
                 "invalid JSON at byte offset %d: control character inside "
                 "a string",
                 6 + at);
        check_error(&f, line, expected);
    }
    teardown(&f);
}

/* Nested objects flatten to the same keys as dotted names. */
static void test_json_expand_keys(void)
{
    check_line(JSON,
               "{\"a.b\":1,\"a\":{\"c\":2,\"b\":3},\"x\":{\"y.z\":{\"w\":4}}}",
               0,
               "{\"a\":{\"b\":3,\"c\":2},\"message\":\"{\\\"a.b\\\":1,"
               "\\\"a\\\":{\\\"c\\\":2,\\\"b\\\":3},\\\"x\\\":{\\\"y.z\\\":"
               "{\\\"w\\\":4}}}\",\"x\":{\"y\":{\"z\":{\"w\":4}}}}");
    check_line(JSON "      expand_keys: false\n",
               "{\"a.b\":1,\"a\":{\"b\":3},\"message\":\"m\"}", 0,
               "{\"a\":{\"b\":3},\"a_b\":1,\"message\":\"m\"}");
}

static void test_json_target(void)
{
    check_line(JSON "      target: json\n",
               "{\"msg\":\"hi\",\"level\":\"INFO\",\"user\":{\"id\":7},"
               "\"time\":\"2024-03-01T10:00:01Z\",\"tags\":[\"a\"]}",
               0,
               "{\"@timestamp\":\"2024-03-01T10:00:01.000Z\","
               "\"json\":{\"tags\":[\"a\"],\"user\":{\"id\":7}},"
               "\"log\":{\"level\":\"info\"},\"message\":\"hi\"}");
    check_line(JSON "      target: app.data\n",
               "{\"message\":\"m\",\"k\":\"v\"}", 0,
               "{\"app\":{\"data\":{\"k\":\"v\"}},\"message\":\"m\"}");
}

static void test_json_message_key(void)
{
    check_line(JSON "      message_key: text\n",
               "{\"text\":\"from text\",\"message\":\"other\"}", 0,
               "{\"message\":\"from text\"}");
    /* Without the key the message stays the line. */
    check_line(JSON, "{\"a\":1}", 0, "{\"a\":1,\"message\":\"{\\\"a\\\":1}\"}");
    /* A value that is not a string becomes its JSON text. */
    check_line(JSON, "{\"message\":12.50}", 0, "{\"message\":\"12.50\"}");
    check_line(JSON, "{\"message\":[1, 2]}", 0, "{\"message\":\"[1,2]\"}");
    check_line(JSON "      message_key: log.msg\n",
               "{\"log\":{\"msg\":\"nested\"}}", 0, "{\"message\":\"nested\"}");
}

/* A parse failure keeps the line and describes the error. */
static void test_json_add_error_key(void)
{
    check_line(JSON, "{\"a\":1,\"b\":tru}", LF_ENOMATCH,
               "{\"error\":{\"message\":\"invalid JSON at byte offset 11: "
               "invalid literal: expected true, false or null\"},"
               "\"message\":\"{\\\"a\\\":1,\\\"b\\\":tru}\","
               "\"tags\":[\"_parse_failure\"]}");
    check_line(JSON "      add_error_key: false\n", "{\"a\":1,", LF_ENOMATCH,
               "{\"message\":\"{\\\"a\\\":1,\",\"tags\":[\"_parse_failure\"]}");
}

static void check_error(struct fixture *f, const char *line,
                        const char *expected)
{
    const struct lf_value *v;

    LF_CHECK_INT_EQ(apply(f, line), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f->ev.field_count, 1);
    LF_CHECK(f->ev.message == line);
    LF_CHECK_INT_EQ(f->ev.tags, LF_TAG_PARSE_FAILURE);
    v = lf_event_get(&f->ev, "error.message");
    if (v == NULL) {
        LF_FAIL_AT("no error.message for %s", line);
        return;
    }
    LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, expected);
}

static void test_json_malformed_lines(void)
{
    static const struct {
        const char *line;
        const char *error;
    } cases[] = {
        {"", "0: expected '{' to open an object"},
        {"plain text", "0: expected '{' to open an object"},
        {"[1,2]", "0: expected '{' to open an object"},
        {"\"s\"", "0: expected '{' to open an object"},
        {"{", "1: expected a member name in double quotes"},
        {"{\"a\"", "4: expected ':' after a member name"},
        {"{\"a\":", "5: expected a value"},
        {"{\"a\":1", "6: expected ',' or '}' after a member"},
        {"{\"a\":1,}", "7: expected a member name in double quotes"},
        {"{\"a\":\"x", "5: string not terminated"},
        {"{\"a\":\"x\ty\"}", "7: control character inside a string"},
        {"{\"a\":\"\\x\"}", "6: invalid escape in a string"},
        {"{\"a\":\"\\u12g4\"}", "6: invalid \\u escape in a string"},
        {"{\"a\":01}", "6: expected ',' or '}' after a member"},
        {"{\"a\":-}", "6: invalid number"},
        {"{\"a\":1.}", "7: invalid number: digit expected after '.'"},
        {"{\"a\":1e}", "7: invalid number: digit expected in the exponent"},
        {"{\"a\":[1,]}", "8: expected a value"},
        {"{\"a\":[1}", "7: expected ',' or ']' after an item"},
        {"{\"a\":{\"b\":1]}", "11: expected ',' or '}' after a member"},
        {"{\"a\":1} x", "8: unexpected data after the JSON object"},
        {"{\"a\":1}{}", "7: unexpected data after the JSON object"},
        {"{'a':1}", "1: expected a member name in double quotes"},
        {"{\"a\":NaN}", "5: expected a value"},
    };
    struct fixture f;
    char expected[256];

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        snprintf(expected, sizeof(expected), "invalid JSON at byte offset %s",
                 cases[i].error);
        check_error(&f, cases[i].line, expected);
    }
    teardown(&f);
}

/* Every prefix of a valid line is invalid, and none leaves a field. */
static void test_json_truncated_everywhere(void)
{
    static const char line[] =
        "{\"@timestamp\":\"2024-03-01T10:00:01Z\",\"log.level\":\"info\","
        "\"a\":{\"b\":[1,{\"c\":\"\\u00e9\"}],\"d\":-1.5e3},\"t\":true,"
        "\"n\":null,\"message\":\"x\\ny\"}";
    struct fixture f;
    size_t failed = 0;

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (size_t len = 0; len < LF_STRLEN(line); len++) {
        if (apply_len(&f, line, len) == LF_ENOMATCH && f.ev.field_count == 1 &&
            f.ev.message == line &&
            lf_event_get(&f.ev, "error.message") != NULL) {
            failed++;
        }
    }
    LF_CHECK_INT_EQ(failed, LF_STRLEN(line));
    LF_CHECK_INT_EQ(apply_len(&f, line, LF_STRLEN(line)), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 5);
    teardown(&f);
}

static void test_json_overwrite_keys(void)
{
    static const char line[] =
        "{\"service.name\":\"from-line\",\"log.level\":\"warn\","
        "\"message\":\"m\"}";
    struct fixture f;
    const struct lf_value *v;

    if (setup(&f, JSON "      overwrite_keys: false\n") != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "service.name", "preset", LF_STRLEN("preset"));
    lf_event_set_str(&f.ev, "log.level", "info", LF_STRLEN("info"));
    f.ev.message = line;
    f.ev.message_len = LF_STRLEN(line);
    LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), 0);
    LF_CHECK_STR_EQ(doc(&f), "{\"log\":{\"level\":\"info\"},\"message\":\"m\","
                             "\"service\":{\"name\":\"preset\"}}");
    teardown(&f);

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "service.name", "preset", LF_STRLEN("preset"));
    f.ev.message = line;
    f.ev.message_len = LF_STRLEN(line);
    LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), 0);
    v = lf_event_get(&f.ev, "service.name");
    LF_CHECK(v != NULL && v->u.str.len == LF_STRLEN("from-line"));
    teardown(&f);
}

static void test_json_max_depth(void)
{
    check_line(JSON "      max_depth: 2\n",
               "{\"message\":\"m\",\"a\":{\"b\":{\"c\":1,\"d\":[\"\\u00e9\"]},"
               "\"e\":2}}",
               0,
               "{\"a\":{\"b\":\"{\\\"c\\\":1,\\\"d\\\":[\\\"\xc3\xa9\\\"]}\","
               "\"e\":2},\"message\":\"m\"}");
    check_line(JSON "      max_depth: 1\n", "{\"message\":\"m\",\"a\":{ }}", 0,
               "{\"a\":\"{}\",\"message\":\"m\"}");
    /* Arrays count too: [[1]] inside one object nests 3 deep. */
    check_line(JSON "      max_depth: 3\n",
               "{\"message\":\"m\",\"a\":[[1]],\"b\":{\"c\":[[2]]}}", 0,
               "{\"a\":[[1]],\"b\":{\"c\":\"[[2]]\"},\"message\":\"m\"}");
}

/* Empty objects are kept, so that a document has the same members. */
static void test_json_empty_object_kept(void)
{
    check_line(JSON, "{\"message\":\"m\",\"a\":{},\"b\":{\"c\":{}}}", 0,
               "{\"a\":{},\"b\":{\"c\":{}},\"message\":\"m\"}");
    check_line(JSON, "{}", 0, "{\"message\":\"{}\"}");
}

/* Builds "{"a":" + depth objects + "1" + closers + "}", or unclosed. */
static char *deep_line(size_t depth, char open, bool closed, size_t *len_out)
{
    char close = open == '{' ? '}' : ']';
    size_t cap = depth * 8 + 32;
    char *line = lf_malloc(cap);
    size_t n = 0;

    memcpy(line, "{\"message\":\"deep\",\"a\":", 22);
    n = 22;
    for (size_t i = 0; i < depth; i++) {
        if (open == '{') {
            memcpy(line + n, "{\"k\":", 5);
            n += 5;
        } else {
            line[n++] = '[';
        }
    }
    line[n++] = '1';
    for (size_t i = 0; closed && i < depth; i++) {
        line[n++] = close;
    }
    if (closed) {
        line[n++] = '}';
    }
    *len_out = n;
    return line;
}

/* Nesting far past max_depth costs heap, never C stack. */
static void test_json_deep_nesting(void)
{
    const size_t depth = 200000;
    struct fixture f;
    const struct lf_value *v;
    size_t len;
    char *objects = deep_line(depth, '{', true, &len);
    char *arrays;
    char *unclosed;

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    LF_CHECK_INT_EQ(apply_len(&f, objects, len), 0);
    /* 31 levels below the root object are flattened: a.k.k...k */
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    v = f.ev.field_count == 1 ? &f.ev.fields[0].value : NULL;
    LF_CHECK(v != NULL && v->type == LF_VALUE_STRING);
    LF_CHECK_INT_EQ(strlen(f.ev.fields[0].key), 1 + 31 * 2);
    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.str.len, (depth - 31) * 6 + 1);
    }

    /* An array nesting past max_depth is kept as a string too. */
    arrays = deep_line(depth, '[', true, &len);
    LF_CHECK_INT_EQ(apply_len(&f, arrays, len), 0);
    v = lf_event_get(&f.ev, "a");
    LF_CHECK(v != NULL && v->type == LF_VALUE_STRING);
    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.str.len, depth * 2 + 1);
    }

    unclosed = deep_line(depth, '[', false, &len);
    LF_CHECK_INT_EQ(apply_len(&f, unclosed, len), LF_ENOMATCH);
    LF_CHECK(lf_event_get(&f.ev, "error.message") != NULL);
    lf_free(unclosed);
    lf_free(arrays);
    lf_free(objects);
    teardown(&f);
}

/* Writes "{"k0":0,...}" with `count` members; returns its length. */
static size_t many_members(char *line, size_t cap, size_t count)
{
    size_t n = 0;

    line[n++] = '{';
    for (size_t i = 0; i < count && n < cap - 64; i++) {
        n += (size_t)snprintf(line + n, 64, "\"k%zu\":%zu,", i, i);
    }
    line[n - 1] = '}';
    return n;
}

/* A 1 MiB line: one long string with escapes, then 65,000 members. */
static void test_json_one_mib_line(void)
{
    const size_t size = 1024 * 1024;
    char *line = lf_malloc(size + 64);
    struct fixture f;
    const struct lf_value *v;
    char expected[128];
    size_t n = 0;

    if (setup(&f, JSON "      max_fields: 2000\n") != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    memcpy(line, "{\"message\":\"", 12);
    n = 12;
    while (n < size) {
        memcpy(line + n, "ab\\n", 4);
        n += 4;
    }
    memcpy(line + n, "\"}", 2);
    n += 2;
    LF_CHECK_INT_EQ(apply_len(&f, line, n), 0);
    LF_CHECK_INT_EQ(f.ev.message_len, (size - 12) / 4 * 3);
    LF_CHECK(memcmp(f.ev.message, "ab\nab\n", 6) == 0);

    n = many_members(line, size, 2000);
    snprintf(expected, sizeof(expected),
             "invalid JSON at byte offset %zu: more members than max_fields",
             n);
    n = many_members(line, size, size);
    LF_CHECK(n > 1000 * 1000);
    check_error(&f, line, expected);

    n = many_members(line, size, 2000);
    LF_CHECK_INT_EQ(apply_len(&f, line, n), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 2000);
    v = lf_event_get(&f.ev, "k1999");
    LF_CHECK(v != NULL && v->type == LF_VALUE_INT && v->u.i == 1999);
    lf_free(line);
    teardown(&f);
}

/* The default limit is 1000 fields, Elasticsearch's default. */
static void test_json_max_fields(void)
{
    char line[32 * 1024];
    char expected[128];
    struct fixture f;
    size_t n;

    if (setup(&f, JSON) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    n = many_members(line, sizeof(line), 1000);

    snprintf(expected, sizeof(expected),
             "invalid JSON at byte offset %zu: more members than max_fields",
             n);
    LF_CHECK_INT_EQ(apply(&f, line), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1000);
    many_members(line, sizeof(line), 1001);
    check_error(&f, line, expected);
    teardown(&f);
}

/* Invalid UTF-8 is kept as bytes and replaced when the document is written. */
static void test_json_invalid_utf8(void)
{
    check_line(
        JSON, "{\"message\":\"bad \xff\xc3 end\",\"k\xfe\":[\"\xc0\"]}", 0,
        "{\"k" FFFD "\":[\"" FFFD "\"],\"message\":\"bad " FFFD FFFD " end\"}");
}

/* Fixed seed: every run draws the same cases, so a failure reproduces. */
static uint64_t next_random(uint64_t *state)
{
    /* xorshift64* */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

/*
 * Mutates valid lines at random and compares the verdict with jansson's:
 * a line is accepted exactly when jansson reads it as an object, and a
 * rejected line keeps its message and gains only error.message. The
 * mutations avoid 'u' and bytes >= 0x80 because this parser accepts lone
 * surrogates and invalid UTF-8, which jansson rejects, and numbers that
 * overflow are skipped for the same reason.
 */
static void test_json_mutations_match_jansson(void)
{
    static const char *const samples[] = {
        "{\"@timestamp\":\"2024-03-01T10:00:01Z\",\"log.level\":\"info\","
        "\"a\":{\"b\":[1,{\"c\":\"x\\ny\"}],\"d\":-1.5e3},\"t\":true,"
        "\"n\":null,\"message\":\"say \\\"hi\\\"\"}",
        "{\"level\":30,\"time\":1709287201123,\"msg\":\"ok\",\"e\":{},"
        "\"l\":[[],[{}],[\"\\\\\"]],\"f\":false}",
    };
    static const char alphabet[] = "{}[]\",:\\ 0-.eEtfn1x\t\n";
    struct fixture f;
    char line[256];
    uint64_t state = UINT64_C(0x9e3779b97f4a7c15);
    int mismatches = 0;
    int accepted = 0;

    if (setup(&f, JSON "      max_depth: 1000\n") != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (int round = 0; round < 20000; round++) {
        const char *sample = samples[round % LF_ARRAY_SIZE(samples)];
        size_t len = strlen(sample);
        int edits = 1 + (int)(next_random(&state) % 3);
        json_error_t error;
        json_t *parsed;
        bool want;
        int rc;

        memcpy(line, sample, len + 1);
        for (int i = 0; i < edits; i++) {
            size_t at = next_random(&state) % len;

            line[at] = alphabet[next_random(&state) % LF_STRLEN(alphabet)];
        }
        parsed = json_loadb(line, len, JSON_ALLOW_NUL, &error);
        want = parsed != NULL && json_is_object(parsed);
        json_decref(parsed);
        if (parsed == NULL && (strstr(error.text, "overflow") != NULL ||
                               strstr(error.text, "too big") != NULL)) {
            /* Numbers past double or int64 are kept here, not rejected. */
            continue;
        }

        rc = apply_len(&f, line, len);
        accepted += rc == 0;
        if ((rc == 0) != want) {
            if (mismatches++ < 5) {
                LF_FAIL_AT("verdict %d, jansson %d for %s", rc, want, line);
            }
        } else if (rc != 0) {
            LF_CHECK_INT_EQ(f.ev.field_count, 1);
            LF_CHECK(f.ev.message == line);
            LF_CHECK(lf_event_get(&f.ev, "error.message") != NULL);
        }
    }
    LF_CHECK_INT_EQ(mismatches, 0);
    /* Both verdicts occur often enough to test something. */
    LF_CHECK(accepted > 1000);
    LF_CHECK(accepted < 19000);
    teardown(&f);
}

/* With `field:`, the step parses a field that an earlier step set. */
static void test_json_field_step(void)
{
    check_line("  - regex:\n"
               "      pattern: '^(?<ts>\\S+) (?<body>.*)$'\n"
               "      fields:\n"
               "        ts: {field: \"@timestamp\", type: timestamp}\n"
               "        body: event.original\n"
               "  - json:\n"
               "      field: event.original\n"
               "      target: app\n",
               "2024-03-01T10:00:01Z {\"user\":\"ann\",\"msg\":\"in\"}", 0,
               "{\"@timestamp\":\"2024-03-01T10:00:01.000Z\","
               "\"app\":{\"user\":\"ann\"},"
               "\"event\":{\"original\":\"{\\\"user\\\":\\\"ann\\\","
               "\\\"msg\\\":\\\"in\\\"}\"},\"message\":\"in\"}");
}

/* A plain line after a JSON step falls through to the next matcher. */
static void test_json_then_regex_fallback(void)
{
    check_line(JSON "      add_error_key: false\n"
                    "  - regex:\n"
                    "      pattern: '^(?<level>[A-Z]+) '\n"
                    "      fields:\n"
                    "        level: log.level\n",
               "WARN disk almost full", 0,
               "{\"log\":{\"level\":\"warn\"},"
               "\"message\":\"WARN disk almost full\"}");
}

static void check_config_error(const char *parsers_yaml, const char *expected)
{
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, parsers_yaml), LF_ECONFIG);
    if (strstr(errbuf, expected) == NULL) {
        LF_FAIL_AT("error \"%s\" does not contain \"%s\"", errbuf, expected);
    }
    teardown(&f);
}

static void test_json_config_errors(void)
{
    check_config_error(JSON "      max_depth: 0\n", "max_depth");
    check_config_error(JSON "      max_depth: 1001\n", "max_depth");
    check_config_error(JSON "      message_key: ''\n",
                       "message_key must name the key");
    check_config_error(JSON "      target: .json\n",
                       "target must be a dotted field name");
    check_config_error(JSON "      max_fields: 0\n", "max_fields");
    check_config_error(JSON "      overwrite: true\n", "overwrite");
    check_config_error(JSON "      add_error_key: maybe\n", "add_error_key");
}

static void test_json_config_defaults(void)
{
    check_line("  - json: {}\n", "{\"msg\":\"m\"}", 0, "{\"message\":\"m\"}");
    check_line("  - json:\n      max_depth: 1000\n", "{\"a\":{\"b\":1}}", 0,
               "{\"a\":{\"b\":1},\"message\":\"{\\\"a\\\":{\\\"b\\\":1}}\"}");
}

int main(void)
{
    LF_RUN(test_json_ecs_java);
    LF_RUN(test_json_ecs_python);
    LF_RUN(test_json_ecs_pino);
    LF_RUN(test_json_ecs_zap);
    LF_RUN(test_json_ecs_serilog);
    LF_RUN(test_json_pino_plain);
    LF_RUN(test_json_pino_levels);
    LF_RUN(test_json_bunyan);
    LF_RUN(test_json_logrus);
    LF_RUN(test_json_zap_production);
    LF_RUN(test_json_epoch_units);
    LF_RUN(test_json_ecs_fields_win_over_aliases);
    LF_RUN(test_json_invalid_timestamp_tagged);
    LF_RUN(test_json_value_types);
    LF_RUN(test_json_escapes_decoded_once);
    LF_RUN(test_json_string_stops_at_every_offset);
    LF_RUN(test_json_expand_keys);
    LF_RUN(test_json_target);
    LF_RUN(test_json_message_key);
    LF_RUN(test_json_add_error_key);
    LF_RUN(test_json_malformed_lines);
    LF_RUN(test_json_truncated_everywhere);
    LF_RUN(test_json_mutations_match_jansson);
    LF_RUN(test_json_overwrite_keys);
    LF_RUN(test_json_max_depth);
    LF_RUN(test_json_empty_object_kept);
    LF_RUN(test_json_deep_nesting);
    LF_RUN(test_json_one_mib_line);
    LF_RUN(test_json_max_fields);
    LF_RUN(test_json_invalid_utf8);
    LF_RUN(test_json_field_step);
    LF_RUN(test_json_then_regex_fallback);
    LF_RUN(test_json_config_errors);
    LF_RUN(test_json_config_defaults);
    return lf_test_end();
}
