/*
 * Tests of the `logfmt` parser through a chain built from YAML: lines as
 * logrus, go-kit and Heroku write them, the table of known keys, the
 * target, quoting and escapes, and lines that are not logfmt.
 */
#include "lf_test.h"

#include "lf/buf.h"
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/json.h"
#include "lf/mem.h"
#include "lf/parser.h"

static char errbuf[512];

struct fixture {
    struct lf_conf *conf;
    struct lf_parser_chain *chain;
    struct lf_event ev;
    struct lf_buf doc;
};

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
    return lf_parser_chain_new(&list, &f->chain, errbuf, sizeof(errbuf));
}

static void teardown(struct fixture *f)
{
    lf_buf_cleanup(&f->doc);
    lf_event_cleanup(&f->ev);
    lf_parser_chain_free(f->chain);
    lf_conf_free(f->conf);
}

/* Parses `line` with `parsers_yaml`; checks the code and the document. */
static void check_line(const char *parsers_yaml, const char *line, int rc,
                       const char *expected)
{
    struct fixture f;

    if (setup(&f, parsers_yaml) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
        teardown(&f);
        return;
    }
    lf_event_reset(&f.ev);
    f.ev.message = line;
    f.ev.message_len = strlen(line);
    LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), rc);
    lf_json_append_event(&f.doc, &f.ev);
    LF_CHECK_STR_EQ(f.doc.data, expected);
    teardown(&f);
}

#define LOGFMT "  - logfmt:\n"

/* logrus's TextFormatter without a terminal. */
static void test_logfmt_logrus(void)
{
    check_line(LOGFMT,
               "time=\"2026-03-01T05:00:07-05:00\" level=warning "
               "msg=\"Cache warmed in the background\" "
               "entries=122 partial=true",
               0,
               "{\"@timestamp\":\"2026-03-01T10:00:07.000Z\","
               "\"labels\":{\"entries\":\"122\",\"partial\":\"true\"},"
               "\"log\":{\"level\":\"warn\"},"
               "\"message\":\"Cache warmed in the background\"}");
}

/* go-kit's logfmt logger with the default UTC timestamp and caller. */
static void test_logfmt_go_kit(void)
{
    check_line(LOGFMT,
               "ts=2024-03-01T10:00:01.123456789Z caller=main.go:42 "
               "level=error err=\"connection refused\" trace_id=4bf92f35 "
               "span_id=3ff9a898 txn=00f067aa request_id=r-1 user=ann "
               "logger=db duration=1m2.5s",
               0,
               "{\"@timestamp\":\"2024-03-01T10:00:01.123Z\","
               "\"error\":{\"message\":\"connection refused\"},"
               "\"event\":{\"duration\":62500000000},"
               "\"http\":{\"request\":{\"id\":\"r-1\"}},"
               "\"labels\":{\"caller\":\"main.go:42\"},"
               "\"log\":{\"level\":\"error\",\"logger\":\"db\"},"
               "\"message\":\"ts=2024-03-01T10:00:01.123456789Z "
               "caller=main.go:42 level=error err=\\\"connection refused\\\" "
               "trace_id=4bf92f35 span_id=3ff9a898 txn=00f067aa "
               "request_id=r-1 user=ann logger=db duration=1m2.5s\","
               "\"span\":{\"id\":\"3ff9a898\"},"
               "\"trace\":{\"id\":\"4bf92f35\"},"
               "\"transaction\":{\"id\":\"00f067aa\"},"
               "\"user\":{\"name\":\"ann\"}}");
}

/* A Heroku router line: `at` is the level, other keys are labels. */
static void test_logfmt_heroku_router(void)
{
    check_line(LOGFMT,
               "at=info method=GET path=\"/\" host=shop.example.com "
               "request_id=9f2c41d0-5b7e-4e11-a0c2-3d7f0b9e6a15 "
               "fwd=\"198.51.100.23\" dyno=web.1 connect=1ms service=18ms "
               "status=200 bytes=13 protocol=https",
               0,
               "{\"http\":{\"request\":{\"id\":\"9f2c41d0-5b7e-4e11-a0c2-"
               "3d7f0b9e6a15\"}},"
               "\"labels\":{\"bytes\":\"13\",\"connect\":\"1ms\","
               "\"dyno\":\"web.1\",\"fwd\":\"198.51.100.23\","
               "\"host\":\"shop.example.com\",\"method\":\"GET\","
               "\"path\":\"/\",\"protocol\":\"https\",\"service\":\"18ms\","
               "\"status\":\"200\"},\"log\":{\"level\":\"info\"},"
               "\"message\":\"at=info method=GET path=\\\"/\\\" "
               "host=shop.example.com request_id=9f2c41d0-5b7e-4e11-a0c2-"
               "3d7f0b9e6a15 fwd=\\\"198.51.100.23\\\" dyno=web.1 "
               "connect=1ms service=18ms status=200 bytes=13 "
               "protocol=https\"}");
}

static void test_logfmt_quoting_and_escapes(void)
{
    check_line(LOGFMT,
               "msg=\"a \\\"quoted\\\" word\\nnext\\tline \\\\ end\" "
               "u=\"caf\\u00e9 \\U0001F600 \\x41\" odd=\"\\q\" empty=\"\" "
               "bare= eq=a=b",
               0,
               "{\"labels\":{\"bare\":\"\",\"empty\":\"\",\"eq\":\"a=b\","
               "\"odd\":\"\\\\q\",\"u\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 A\"},"
               "\"message\":\"a \\\"quoted\\\" word\\nnext\\tline \\\\ "
               "end\"}");
}

/* Invalid UTF-8 is kept as bytes and replaced when the document is written. */
static void test_logfmt_invalid_utf8(void)
{
    check_line(LOGFMT, "msg=bad\xff k\xfe=\"\xc3 \\u00e9\"", 0,
               "{\"labels\":{\"k"
               "\xef\xbf\xbd"
               "\":\""
               "\xef\xbf\xbd"
               " \xc3\xa9\"},\"message\":\"bad"
               "\xef\xbf\xbd"
               "\"}");
}

static void test_logfmt_bare_keys_true(void)
{
    check_line(LOGFMT, "msg=started debug verbose", 0,
               "{\"labels\":{\"debug\":true,\"verbose\":true},"
               "\"message\":\"started\"}");
}

/* Keys with dots stay flat under labels and nest under another target. */
static void test_logfmt_target(void)
{
    check_line(LOGFMT, "a.b=1 level=info", 0,
               "{\"labels\":{\"a_b\":\"1\"},\"log\":{\"level\":\"info\"},"
               "\"message\":\"a.b=1 level=info\"}");
    check_line(LOGFMT "      target: app\n", "a.b=1 c=2", 0,
               "{\"app\":{\"a\":{\"b\":\"1\"},\"c\":\"2\"},"
               "\"message\":\"a.b=1 c=2\"}");
    check_line(LOGFMT "      target: ''\n", "k=v msg=m", 0,
               "{\"k\":\"v\",\"message\":\"m\"}");
}

/* Known keys whose value does not convert stay under the target. */
static void test_logfmt_unconverted_known_keys(void)
{
    check_line(LOGFMT, "msg=m ts=yesterday duration=250 time", 0,
               "{\"labels\":{\"duration\":\"250\",\"time\":true,"
               "\"ts\":\"yesterday\"},\"message\":\"m\"}");
}

static void test_logfmt_durations(void)
{
    static const struct {
        const char *line;
        const char *expected;
    } cases[] = {
        {"duration=250ms", "{\"event\":{\"duration\":250000000}}"},
        {"duration=1.5s", "{\"event\":{\"duration\":1500000000}}"},
        {"duration=2h45m", "{\"event\":{\"duration\":9900000000000}}"},
        {"duration=12us", "{\"event\":{\"duration\":12000}}"},
        {"duration=12\xc2\xb5s", "{\"event\":{\"duration\":12000}}"},
        {"duration=7ns", "{\"event\":{\"duration\":7}}"},
        {"duration=1x", "{\"labels\":{\"duration\":\"1x\"}}"},
        {"duration=-1s", "{\"labels\":{\"duration\":\"-1s\"}}"},
        {"duration=ms", "{\"labels\":{\"duration\":\"ms\"}}"},
    };
    struct fixture f;

    if (setup(&f, LOGFMT) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        lf_event_reset(&f.ev);
        f.ev.message = cases[i].line;
        f.ev.message_len = strlen(cases[i].line);
        LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), 0);
        f.ev.message = NULL;
        lf_buf_reset(&f.doc);
        lf_json_append_event(&f.doc, &f.ev);
        LF_CHECK_STR_EQ(f.doc.data, cases[i].expected);
    }
    teardown(&f);
}

/* Lines that are not logfmt keep their message and gain no field. */
static void test_logfmt_no_match(void)
{
    static const char *const lines[] = {
        "",
        "   ",
        "plain words only",
        "=value",
        "k=\"unterminated",
        "k=\"v\"x",
        "\"quoted\"=1",
        "key\"=1",
        "a=1 =2",
    };
    struct fixture f;

    if (setup(&f, LOGFMT) != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(lines); i++) {
        lf_event_reset(&f.ev);
        f.ev.message = lines[i];
        f.ev.message_len = strlen(lines[i]);
        LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), LF_ENOMATCH);
        LF_CHECK_INT_EQ(f.ev.field_count, 0);
        LF_CHECK(f.ev.message == lines[i]);
        LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    }
    teardown(&f);
}

/* A 1 MiB line: past max_fields it does not match, within it parses. */
static void test_logfmt_one_mib_line(void)
{
    const size_t size = 1024 * 1024;
    char *line = lf_malloc(size + 64);
    struct fixture f;
    const struct lf_value *v;
    size_t n = 0;
    size_t pairs = 0;

    if (setup(&f, LOGFMT "      max_fields: 5000\n") != 0) {
        LF_FAIL_AT("chain did not build: %s", errbuf);
    }
    while (n < size) {
        n += (size_t)snprintf(line + n, 64, "k%zu=\"v %zu\" ", pairs, pairs);
        pairs++;
    }
    lf_event_reset(&f.ev);
    f.ev.message = line;
    f.ev.message_len = n;
    LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.field_count, 0);
    LF_CHECK(f.ev.message == line);

    /* One long quoted value with escapes, then pairs up to the limit. */
    n = (size_t)snprintf(line, 64, "msg=\"");
    while (n < size - 16) {
        memcpy(line + n, "ab\\n", 4);
        n += 4;
    }
    n += (size_t)snprintf(line + n, 64, "\" level=warn");
    lf_event_reset(&f.ev);
    f.ev.message = line;
    f.ev.message_len = n;
    LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), 0);
    LF_CHECK_INT_EQ(f.ev.message_len, (size - 16 - 5) / 4 * 3 + 3);
    LF_CHECK(memcmp(f.ev.message, "ab\nab\n", 6) == 0);
    v = lf_event_get(&f.ev, "log.level");
    LF_CHECK(v != NULL && v->u.str.len == 4);

    n = 0;
    for (size_t i = 0; i < 5000; i++) {
        n += (size_t)snprintf(line + n, 64, "k%zu=%zu ", i, i);
    }
    lf_event_reset(&f.ev);
    f.ev.message = line;
    f.ev.message_len = n;
    LF_CHECK_INT_EQ(lf_parser_chain_apply(f.chain, &f.ev, 0), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 5000);
    v = lf_event_get(&f.ev, "labels.k4999");
    LF_CHECK(v != NULL && v->type == LF_VALUE_STRING);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "4999");
    }
    lf_free(line);
    teardown(&f);
}

/* logfmt inside a JSON line, parsed by a second step given `field:`. */
static void test_logfmt_field_step(void)
{
    check_line("  - json:\n"
               "  - logfmt:\n"
               "      field: payload\n",
               "{\"payload\":\"level=warn msg=slow took=3s\","
               "\"service.name\":\"api\"}",
               0,
               "{\"labels\":{\"took\":\"3s\"},\"log\":{\"level\":\"warn\"},"
               "\"message\":\"slow\","
               "\"payload\":\"level=warn msg=slow took=3s\","
               "\"service\":{\"name\":\"api\"}}");
}

static void test_logfmt_config_errors(void)
{
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, LOGFMT "      tagret: x\n"), LF_ECONFIG);
    LF_CHECK(strstr(errbuf, "tagret") != NULL);
    teardown(&f);
    LF_CHECK_INT_EQ(setup(&f, LOGFMT "      target: x.\n"), LF_ECONFIG);
    LF_CHECK(strstr(errbuf, "target must be a dotted field name") != NULL);
    teardown(&f);
    LF_CHECK_INT_EQ(setup(&f, LOGFMT "      max_fields: 0\n"), LF_ECONFIG);
    LF_CHECK(strstr(errbuf, "max_fields") != NULL);
    teardown(&f);
}

int main(void)
{
    LF_RUN(test_logfmt_logrus);
    LF_RUN(test_logfmt_go_kit);
    LF_RUN(test_logfmt_heroku_router);
    LF_RUN(test_logfmt_quoting_and_escapes);
    LF_RUN(test_logfmt_invalid_utf8);
    LF_RUN(test_logfmt_bare_keys_true);
    LF_RUN(test_logfmt_target);
    LF_RUN(test_logfmt_unconverted_known_keys);
    LF_RUN(test_logfmt_durations);
    LF_RUN(test_logfmt_no_match);
    LF_RUN(test_logfmt_one_mib_line);
    LF_RUN(test_logfmt_field_step);
    LF_RUN(test_logfmt_config_errors);
    return lf_test_end();
}
