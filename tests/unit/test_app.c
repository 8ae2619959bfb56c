/*
 * Tests of the `app` preset: each case gives a line and every field the
 * preset must set, with its exact value, and no others.
 */
#include "lf_test.h"

#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "lf/parser.h"
#include "parsers/presets.h"

#include <time.h>

#define NS INT64_C(1000000000)

/* 2024-03-10T00:00:00Z, the read time for lines without a year. */
#define NOW_NS (INT64_C(1710028800) * NS)

enum { MAX_EXPECTED = 16 };

struct expected_field {
    const char *key;
    const char *value; /* strings as is, integers in decimal, timestamps
                          as 2024-03-05T07:08:09.123000000Z */
};

struct app_case {
    const char *line;
    struct expected_field fields[MAX_EXPECTED];
};

/* Writes a field's value as the expected_field strings spell it. */
static void format_value(const struct lf_value *v, char *out, size_t size)
{
    time_t seconds;
    struct tm tm;

    switch (v->type) {
    case LF_VALUE_STRING:
        snprintf(out, size, "%.*s", (int)v->u.str.len, v->u.str.ptr);
        return;
    case LF_VALUE_INT:
        snprintf(out, size, "%" PRId64, v->u.i);
        return;
    case LF_VALUE_TIMESTAMP:
        seconds = (time_t)(v->u.ts_ns / NS);
        gmtime_r(&seconds, &tm);
        snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(v->u.ts_ns % NS));
        return;
    default:
        snprintf(out, size, "(type %d)", (int)v->type);
        return;
    }
}

static void print_fields(const struct lf_event *ev)
{
    char text[256];

    for (size_t i = 0; i < ev->field_count; i++) {
        format_value(&ev->fields[i].value, text, sizeof(text));
        fprintf(stderr, "    %s = %s\n", ev->fields[i].key, text);
    }
}

static int apply_app(struct lf_preset *preset, struct lf_event *ev,
                     const char *line, size_t len)
{
    lf_event_reset(ev);
    ev->message = line;
    ev->message_len = len;
    return lf_preset_apply(preset, ev, line, len, NOW_NS);
}

/* Applies `app` to the case's line and checks every field exactly. */
static void check_case(struct lf_preset *preset, struct lf_event *ev,
                       const struct app_case *c)
{
    size_t expected_count = 0;
    int failed_before = lf_test_failed_checks;
    char text[256];

    LF_CHECK_INT_EQ(apply_app(preset, ev, c->line, strlen(c->line)), 0);
    for (; expected_count < MAX_EXPECTED; expected_count++) {
        const struct expected_field *f = &c->fields[expected_count];
        const struct lf_value *v;

        if (f->key == NULL) {
            break;
        }
        v = lf_event_get(ev, f->key);
        if (v == NULL) {
            LF_FAIL_AT("%s: missing, expected \"%s\"", f->key, f->value);
            continue;
        }
        format_value(v, text, sizeof(text));
        LF_CHECK_STR_EQ(text, f->value);
    }
    LF_CHECK_INT_EQ(ev->field_count, expected_count);
    LF_CHECK_INT_EQ(ev->tags, 0);
    if (lf_test_failed_checks != failed_before) {
        fprintf(stderr, "  line: %s\n  fields:\n", c->line);
        print_fields(ev);
    }
}

static void run_cases(const struct app_case *cases, size_t count)
{
    struct lf_preset *preset = NULL;
    struct lf_event ev;

    LF_CHECK_INT_EQ(lf_preset_new("app", &preset), 0);
    lf_event_init(&ev);
    for (size_t i = 0; i < count && preset != NULL; i++) {
        check_case(preset, &ev, &cases[i]);
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_app_typical_lines(void)
{
    static const struct app_case cases[] = {
        {"2024-03-05T07:08:09.123Z ERROR [txn=abc123] GET "
         "/api/tasks/42?x=1 503 123ms trace_id=4bf92f35 request_id=r-1 "
         "user=alice span_id=00f0",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "error"},
          {"transaction.id", "abc123"},
          {"http.request.method", "GET"},
          {"url.path", "/api/tasks/42"},
          {"url.query", "x=1"},
          {"http.response.status_code", "503"},
          {"event.duration", "123000000"},
          {"trace.id", "4bf92f35"},
          {"http.request.id", "r-1"},
          {"user.id", "alice"},
          {"span.id", "00f0"}}},
        {"2024-03-05 07:08:09,123 WARN [main] com.example.Foo - slow "
         "query took=1.5s",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "warn"},
          {"process.thread.name", "main"},
          {"log.logger", "com.example.Foo"},
          {"event.duration", "1500000000"}}},
        {"07:08:09.123 [main] INFO c.e.App - started in 850us",
         {{"log.level", "info"},
          {"process.thread.name", "main"},
          {"log.logger", "c.e.App"},
          {"event.duration", "850000"}}},
        {"[05/Mar/2024:07:08:09 +0100] [error] request failed status=502 "
         "duration_ms=12",
         {{"@timestamp", "2024-03-05T06:08:09.000000000Z"},
          {"log.level", "error"},
          {"http.response.status_code", "502"},
          {"event.duration", "12000000"}}},
        {"2024-03-05T07:08:09+01:00 DEBUG cache warm",
         {{"@timestamp", "2024-03-05T06:08:09.000000000Z"},
          {"log.level", "debug"}}},
        {"\"GET /index.html HTTP/1.1\" 200 (0.012s)",
         {{"http.request.method", "GET"},
          {"url.path", "/index.html"},
          {"http.response.status_code", "200"},
          {"event.duration", "12000000"}}},
        {"TRACE /debug/vars 200",
         {{"http.request.method", "TRACE"},
          {"url.path", "/debug/vars"},
          {"http.response.status_code", "200"}}},
        {"INFO sent 404 bytes to /tmp in 2s",
         {{"log.level", "info"}, {"event.duration", "2000000000"}}},
        {"just a plain line without anything", {{NULL, NULL}}},
        {"", {{NULL, NULL}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

static void test_app_timestamps(void)
{
    static const struct app_case cases[] = {
        {"Mar  5 07:08:09 web-1 started",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"1709622489 INFO up",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "info"}}},
        {"1709622489123 I up",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "info"}}},
        {"2024/03/05 07:08:09 [warn] low disk",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "warn"}}},
        {"[Tue Mar 05 07:08:09.250000 2024] [notice] ready",
         {{"@timestamp", "2024-03-05T07:08:09.250000000Z"},
          {"log.level", "info"}}},
        {"[2024-03-05 07:08:09,123] ERROR in app: boom",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "error"}}},
        {"2024-03-05 07:08:09 -12 degrees",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"2024-03-05 07:08:09 -0130 x",
         {{"@timestamp", "2024-03-05T08:38:09.000000000Z"}}},
        {"2024-03-05T07:08:09.123456789123Z x",
         {{"@timestamp", "2024-03-05T07:08:09.123456789Z"}}},
        /* Impossible or cut times are not timestamps. */
        {"2024-02-30T07:08:09Z x", {{NULL, NULL}}},
        {"2024-03-05T07:0", {{NULL, NULL}}},
        {"1709622489x", {{NULL, NULL}}},
        {"I think so", {{NULL, NULL}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

static void test_app_levels(void)
{
    static const struct app_case cases[] = {
        {"ERROR:root:something broke",
         {{"log.level", "error"}, {"log.logger", "root"}}},
        {"WARNING:urllib3.connectionpool:Retrying",
         {{"log.level", "warn"}, {"log.logger", "urllib3.connectionpool"}}},
        {"<warn> disk almost full", {{"log.level", "warn"}}},
        {"info: listening", {{"log.level", "info"}}},
        {"app started, an ERROR later is not the level", {{NULL, NULL}}},
        {"2024-03-05T07:08:09Z E boom",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "error"}}},
        {"2024-03-05T07:08:09Z - myapp - CRITICAL - out of memory",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "fatal"}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

static void test_app_pairs(void)
{
    static const struct app_case cases[] = {
        {"level=error msg=\"disk full\" component=\"store engine\" "
         "path=/data?x=1",
         {{"log.level", "error"},
          {"labels.component", "store engine"},
          {"url.path", "/data"},
          {"url.query", "x=1"}}},
        {"time=\"2024-03-05T07:08:09Z\" level=info msg=\"hi\" k=v",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "info"},
          {"labels.k", "v"}}},
        {"my-key=1 a.b=2 (user=bob) note=\"say \\\"hi\\\"\"",
         {{"labels.my_key", "1"},
          {"labels.a_b", "2"},
          {"user.id", "bob"},
          {"labels.note", "say \"hi\""}}},
        {"status=ok took=12 method=get pid=42 latency_us=7",
         {{"labels.status", "ok"},
          {"labels.took", "12"},
          {"labels.method", "get"},
          {"process.pid", "42"},
          {"event.duration", "7000"}}},
        {"txn=t1, user=u2; =x 1a=2",
         {{"transaction.id", "t1"}, {"user.id", "u2"}}},
        {"user= txn=\"\" [span=] k=v", {{"labels.k", "v"}}},
        {"key=\"unterminated value", {{"labels.key", "\"unterminated"}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

/* Android logcat "threadtime" lines, with and without a year. */
static void test_app_logcat(void)
{
    static const struct app_case cases[] = {
        {"03-05 07:08:09.123  1234  5678 I ActivityManager: Start proc "
         "4321:com.example/u0a12 for activity",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"process.pid", "1234"},
          {"process.thread.id", "5678"},
          {"log.level", "info"},
          {"log.logger", "ActivityManager"}}},
        /* Read on 2024-03-10, a December time is from the year before. */
        {"12-31 23:59:59.999   201   201 V chatty  : uid=1000 expire 3 lines",
         {{"@timestamp", "2023-12-31T23:59:59.999000000Z"},
          {"process.pid", "201"},
          {"process.thread.id", "201"},
          {"log.level", "trace"},
          {"log.logger", "chatty"},
          {"user.id", "1000"}}},
        /* The pid= pair of the message is another process. */
        {"03-05 07:08:09.000  1234  1240 A DEBUG: pid=4321 abort",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"process.pid", "1234"},
          {"process.thread.id", "1240"},
          {"log.level", "fatal"},
          {"log.logger", "DEBUG"},
          {"labels.pid", "4321"}}},
        {"03-05 07:08:09.500  1234  1240 D Tag with space: x",
         {{"@timestamp", "2024-03-05T07:08:09.500000000Z"},
          {"process.pid", "1234"},
          {"process.thread.id", "1240"},
          {"log.level", "debug"},
          {"log.logger", "Tag with space"}}},
        {"2024-03-05 07:08:09.123  1234  5678 E Camera: failed",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"process.pid", "1234"},
          {"process.thread.id", "5678"},
          {"log.level", "error"},
          {"log.logger", "Camera"}}},
        /* Not a logcat header: one number, a letter that is no level. */
        {"03-05 07:08:09.500 1234 worker started",
         {{"@timestamp", "2024-03-05T07:08:09.500000000Z"}}},
        {"03-05 07:08:09.500  1234  1240 X Tag: x",
         {{"@timestamp", "2024-03-05T07:08:09.500000000Z"}}},
        {"03-05 07:08:09.500  1234  1240 I : x",
         {{"@timestamp", "2024-03-05T07:08:09.500000000Z"}}},
        {"13-05 07:08:09.500  1234  1240 I Tag: x", {{NULL, NULL}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

/* log4j, Hadoop and other compact date layouts at the start of a line. */
static void test_app_compact_dates(void)
{
    static const struct app_case cases[] = {
        {"24/03/05 07:08:09 INFO storage.BlockManager: Removed broadcast_1",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "info"}}},
        {"99/12/31 23:59:59 ERROR x",
         {{"@timestamp", "1999-12-31T23:59:59.000000000Z"},
          {"log.level", "error"}}},
        {"240305 070809 42 WARN dfs.DataNode: disk slow",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "warn"}}},
        {"20240305-07:08:09:123|Step_Main|42|onCreate",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"}}},
        {"20240305-7:8:9:5|x",
         {{"@timestamp", "2024-03-05T07:08:09.005000000Z"}}},
        {"20240305-07:08:09.25 x",
         {{"@timestamp", "2024-03-05T07:08:09.250000000Z"}}},
        {"2024-03-05-07.08.09.123456 R01 RAS KERNEL INFO ok",
         {{"@timestamp", "2024-03-05T07:08:09.123456000Z"},
          {"log.level", "info"}}},
        {"2024.03.05 07:08:09 ERROR x",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "error"}}},
        {"2024.03.05 backup done",
         {{"@timestamp", "2024-03-05T00:00:00.000000000Z"}}},
        {"[03.05 07:08:09] chrome.exe - example.com:443 open through proxy",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        /* Impossible dates and cut or prose-like forms are no time. */
        {"24/13/05 07:08:09 INFO x", {{"log.level", "info"}}},
        {"240230 070809 x", {{NULL, NULL}}},
        {"240305 0708 rows", {{NULL, NULL}}},
        {"20240305-07:08:09:1234|x", {{NULL, NULL}}},
        {"20240305-07:61:09|x", {{NULL, NULL}}},
        {"2024-03-05-07.08 x", {{NULL, NULL}}},
        {"12/25 was a holiday", {{NULL, NULL}}},
        {"1.2.3 released", {{NULL, NULL}}},
        {"10.12.1 build 16:49:06", {{NULL, NULL}}},
        {"[03.05 07:08:09 x", {{NULL, NULL}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

/* A timestamp followed by a comma, and a level word after it. */
static void test_app_time_comma_level(void)
{
    static const struct app_case cases[] = {
        {"2024-03-05 07:08:09, Warning  CBS  Failed to load",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "warn"}}},
        {"2024-03-05 07:08:09, Info                  CSI    00000001 init",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "info"}}},
        {"2024-03-05 07:08:09, error count rose",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "error"}}},
        /* Only the first word after the comma is read in any case. */
        {"2024-03-05 07:08:09, CSI Info x",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"2024-03-05 07:08:09 Info x",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"2024-03-05 07:08:09,Info x", {{NULL, NULL}}},
        {"2024-03-05 07:08:09,123 - WARN  [main:Foo@12] - low disk",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "warn"},
          {"process.thread.name", "main:Foo@12"}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

/*
 * A timestamp after machine-written leading words: a file name, a dash,
 * a sequence number or node names, then the level after component codes.
 */
static void test_app_time_after_prefix(void)
{
    static const struct app_case cases[] = {
        {"api.log.1.2024-03-05_07:00:00 2024-03-05 07:08:09.250 311 INFO "
         "nova.api.server [-] served in 0.25s",
         {{"@timestamp", "2024-03-05T07:08:09.250000000Z"},
          {"log.level", "info"},
          {"event.duration", "250000000"}}},
        {"- 1709622489 2024.03.05 R01-M0-N4 2024-03-05-07.08.09.123456 "
         "R01-M0-N4 RAS KERNEL FATAL machine check",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "fatal"}}},
        {"KERNMC 1709622489 2024.03.05 R01-M0-N4 "
         "2024-03-05-07.08.09.123456 R01-M0-N4 RAS KERNEL WARNING x",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "warn"}}},
        {"4711 node-12 fan speed 1709622489 1 Fan speed low",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"- 1709622489 2024.03.05 n12 Mar 5 07:08:09 n12/n12 crond[42]: "
         "(root) CMD (run-parts /etc/cron.hourly)",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"a-1 b-2 c-3 d-4 1709622489",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"node-3 2024/03/05 07:08:09 ready",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"}}},
        {"- 4102444799 x", {{"@timestamp", "2099-12-31T23:59:59.000000000Z"}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

/* Numbers in messages that the time search must not take as times. */
static void test_app_time_search_near_misses(void)
{
    static const struct app_case cases[] = {
        {"Order 1709622489 shipped", {{NULL, NULL}}},
        {"INFO order 1709622489 shipped", {{"log.level", "info"}}},
        {"ERROR 1709622489 rows failed", {{"log.level", "error"}}},
        {"[job] 1709622489 done", {{NULL, NULL}}},
        {"id=7 1709622489 done", {{"labels.id", "7"}}},
        /* Numbers out of range, too long, followed by text or too far in. */
        {"- 4102444800 x", {{NULL, NULL}}},
        {"- 17096224891 x", {{NULL, NULL}}},
        {"job-7 1709622489x", {{NULL, NULL}}},
        {"a-1 b-2 c-3 d-4 e-5 1709622489", {{NULL, NULL}}},
        {"host-1 prefix-long-enough-to-pass-the-limit-of-sixty-four-bytes "
         "1709622489",
         {{NULL, NULL}}},
        /* Weak forms are read only at the start of a line. */
        {"node-3 24/03/05 07:08:09 x", {{NULL, NULL}}},
        {"node-3 2024.03.05 x", {{NULL, NULL}}},
        {"node-3 240305 070809 x", {{NULL, NULL}}},
    };

    run_cases(cases, LF_ARRAY_SIZE(cases));
}

static void test_app_labels_bounded(void)
{
    struct lf_preset *preset = NULL;
    struct lf_event ev;
    char line[1024];
    size_t used = 0;

    for (int i = 0; i < 40; i++) {
        used += (size_t)snprintf(line + used, sizeof(line) - used, "k%d=v%d ",
                                 i, i);
    }
    LF_CHECK_INT_EQ(lf_preset_new("app", &preset), 0);
    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply_app(preset, &ev, line, used), 0);
    LF_CHECK_INT_EQ(ev.field_count, 32);
    LF_CHECK(lf_event_get(&ev, "labels.k31") != NULL);
    LF_CHECK(lf_event_get(&ev, "labels.k32") == NULL);
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

/* Malformed lines never fail: the message stays and fields are bounded. */
static void test_app_malformed_lines(void)
{
    static const char invalid_utf8[] = "\xff\xfe=\xc3 level=\xff \xc3(=";
    struct lf_preset *preset = NULL;
    struct lf_event ev;
    size_t big_len = 1024 * 1024;
    char *big = lf_malloc(big_len);

    for (size_t i = 0; i < big_len; i++) {
        big[i] = "ab=\" c\x80"[i % 8];
    }
    LF_CHECK_INT_EQ(lf_preset_new("app", &preset), 0);
    lf_event_init(&ev);

    LF_CHECK_INT_EQ(apply_app(preset, &ev, big, big_len), 0);
    LF_CHECK(ev.message == big);
    LF_CHECK_INT_EQ(ev.message_len, big_len);
    LF_CHECK(ev.field_count <= 32);

    LF_CHECK_INT_EQ(
        apply_app(preset, &ev, invalid_utf8, LF_STRLEN(invalid_utf8)), 0);
    LF_CHECK_INT_EQ(ev.field_count, 1);
    LF_CHECK_MEM_EQ(lf_event_get(&ev, "log.level")->u.str.ptr,
                    lf_event_get(&ev, "log.level")->u.str.len, "\xff");

    /* Every prefix of a rich line, as a cut line would end. */
    {
        static const char rich[] =
            "[2024-03-05 07:08:09.5 +0100] WARN [main] a.B - GET "
            "/x?y=1 HTTP/1.1\" 404 1.5ms note=\"q \\\" r\" k=v";

        for (size_t n = 0; n <= LF_STRLEN(rich); n++) {
            char *copy = lf_malloc(n == 0 ? 1 : n);

            memcpy(copy, rich, n);
            LF_CHECK_INT_EQ(apply_app(preset, &ev, copy, n), 0);
            lf_free(copy);
        }
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
    lf_free(big);
}

/*
 * Every prefix of lines in the newer time layouts, each copied to a
 * buffer of its exact size, so that a read past the end shows under
 * AddressSanitizer. A cut line still parses and sets at most one time.
 */
static void test_app_cut_time_lines(void)
{
    static const char *const lines[] = {
        "03-05 07:08:09.123  1234  5678 I Tag  : pid=1 x",
        "- 1709622489 2024.03.05 R01 2024-03-05-07.08.09.123456 RAS INFO x",
        "20240305-7:8:9:5|x",
        "2024-03-05 07:08:09, Info x",
        "240305 070809 42 WARN x",
        "[03.05 07:08:09] x",
        "2024.03.05 07:08:09.5 x",
    };
    struct lf_preset *preset = NULL;
    struct lf_event ev;

    LF_CHECK_INT_EQ(lf_preset_new("app", &preset), 0);
    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(lines) && preset != NULL; i++) {
        size_t len = strlen(lines[i]);

        for (size_t n = 0; n <= len; n++) {
            char *copy = lf_malloc(n == 0 ? 1 : n);

            memcpy(copy, lines[i], n);
            LF_CHECK_INT_EQ(apply_app(preset, &ev, copy, n), 0);
            LF_CHECK(ev.field_count <= 8);
            lf_free(copy);
        }
        LF_CHECK(lf_event_get(&ev, "@timestamp") != NULL);
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

/*
 * Through a parser chain: `app` after `nginx` takes the lines nginx does
 * not match, a plain line gets no _parse_failure tag, and the chain's
 * read time dates a syslog time.
 */
static void test_app_in_chain(void)
{
    static const char yaml[] = "parsers:\n"
                               "  - preset: nginx\n"
                               "  - preset: app\n";
    static const char plain[] = "starting worker pool";
    static const char syslog[] = "Dec 31 23:59:59 host ERROR boom";
    struct lf_conf *conf = NULL;
    struct lf_parser_chain *chain = NULL;
    struct lf_conf_node root;
    struct lf_conf_node list;
    struct lf_event ev;
    const struct lf_value *v;
    char errbuf[256];

    LF_CHECK_INT_EQ(lf_conf_load_string(yaml, LF_STRLEN(yaml), "test.yml",
                                        &conf, errbuf, sizeof(errbuf)),
                    0);
    lf_conf_root(conf, &root);
    lf_conf_child(&root, "parsers", &list);
    LF_CHECK_INT_EQ(lf_parser_chain_new(&list, &chain, errbuf, sizeof(errbuf)),
                    0);
    lf_event_init(&ev);

    ev.message = plain;
    ev.message_len = LF_STRLEN(plain);
    LF_CHECK_INT_EQ(lf_parser_chain_apply(chain, &ev, NOW_NS), 0);
    LF_CHECK_INT_EQ(ev.tags, 0);
    LF_CHECK_INT_EQ(ev.field_count, 0);

    /* Read on 2024-03-10, a December time is from the year before. */
    lf_event_reset(&ev);
    ev.message = syslog;
    ev.message_len = LF_STRLEN(syslog);
    LF_CHECK_INT_EQ(lf_parser_chain_apply(chain, &ev, NOW_NS), 0);
    v = lf_event_get(&ev, "@timestamp");
    LF_CHECK(v != NULL);
    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.ts_ns, INT64_C(1704067199) * NS);
    }
    LF_CHECK_INT_EQ(ev.tags, 0);

    lf_event_cleanup(&ev);
    lf_parser_chain_free(chain);
    lf_conf_free(conf);
}

int main(void)
{
    LF_RUN(test_app_typical_lines);
    LF_RUN(test_app_timestamps);
    LF_RUN(test_app_levels);
    LF_RUN(test_app_pairs);
    LF_RUN(test_app_logcat);
    LF_RUN(test_app_compact_dates);
    LF_RUN(test_app_time_comma_level);
    LF_RUN(test_app_time_after_prefix);
    LF_RUN(test_app_time_search_near_misses);
    LF_RUN(test_app_labels_bounded);
    LF_RUN(test_app_malformed_lines);
    LF_RUN(test_app_cut_time_lines);
    LF_RUN(test_app_in_chain);
    return lf_test_end();
}
