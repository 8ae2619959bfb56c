/*
 * Tests of the `python`, `java`, `go` and `rails` presets. Each case gives
 * a line and every field the preset must set, with its exact value, and
 * no others. Lines of other formats must not match.
 */
#include "lf_test.h"

#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "parsers/presets.h"

#include <time.h>

#define NS INT64_C(1000000000)

/* 2024-03-05T12:00:00Z, the read time for lines without a date. */
#define NOW_NS (INT64_C(1709640000) * NS)

enum { MAX_EXPECTED = 12 };

struct expected_field {
    const char *key;
    const char *value; /* strings as is, integers in decimal, timestamps
                          as 2024-03-05T07:08:09.123000000Z */
};

struct preset_case {
    const char *line;
    struct expected_field fields[MAX_EXPECTED];
};

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

static void check_case(struct lf_preset *preset, struct lf_event *ev,
                       const struct preset_case *c)
{
    size_t count = 0;
    char text[256];
    int rc;

    lf_event_reset(ev);
    ev->message = c->line;
    ev->message_len = strlen(c->line);
    rc = lf_preset_apply(preset, ev, c->line, strlen(c->line), NOW_NS);
    if (rc != 0) {
        LF_FAIL_AT("no match (%d): %s", rc, c->line);
        return;
    }
    for (; count < MAX_EXPECTED && c->fields[count].key != NULL; count++) {
        const struct lf_value *v = lf_event_get(ev, c->fields[count].key);

        if (v == NULL) {
            LF_FAIL_AT("%s: missing in %s", c->fields[count].key, c->line);
            continue;
        }
        format_value(v, text, sizeof(text));
        LF_CHECK_STR_EQ(text, c->fields[count].value);
    }
    LF_CHECK_INT_EQ(ev->field_count, count);
}

/* Runs the cases, then checks that none of `others` matches. */
static void run_preset(const char *name, const struct preset_case *cases,
                       size_t count, const char *const *others,
                       size_t other_count)
{
    struct lf_preset *preset = NULL;
    struct lf_event ev;

    LF_CHECK_INT_EQ(lf_preset_new(name, &preset), 0);
    if (preset == NULL) {
        return;
    }
    lf_event_init(&ev);
    for (size_t i = 0; i < count; i++) {
        check_case(preset, &ev, &cases[i]);
    }
    for (size_t i = 0; i < other_count; i++) {
        lf_event_reset(&ev);
        LF_CHECK_INT_EQ(
            lf_preset_apply(preset, &ev, others[i], strlen(others[i]), NOW_NS),
            LF_ENOMATCH);
        LF_CHECK_INT_EQ(ev.field_count, 0);
    }
    /* Every cut of every case either matches or leaves no field. */
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(cases[i].line);

        for (size_t n = 0; n < len; n++) {
            char *copy = lf_malloc(n + 1);

            memcpy(copy, cases[i].line, n);
            lf_event_reset(&ev);
            if (lf_preset_apply(preset, &ev, copy, n, NOW_NS) != 0) {
                LF_CHECK_INT_EQ(ev.field_count, 0);
            }
            lf_free(copy);
        }
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static const char *const common_others[] = {
    "plain text line",
    "",
    "127.0.0.1 - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" 200 1",
};

static void test_presets_python(void)
{
    static const struct preset_case cases[] = {
        {"ERROR:root:something broke",
         {{"log.level", "error"}, {"log.logger", "root"}}},
        {"WARNING:urllib3.connectionpool:Retrying (Retry(total=2))",
         {{"log.level", "warn"}, {"log.logger", "urllib3.connectionpool"}}},
        {"2024-03-05 07:08:09,123 - myapp.db - CRITICAL - pool exhausted",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "fatal"},
          {"log.logger", "myapp.db"}}},
        {"2024-03-05 07:08:09,123 INFO myapp.web: GET / took 3ms",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "info"},
          {"log.logger", "myapp.web"}}},
        {"[2024-03-05 07:08:09,123] ERROR in app: Exception on / [GET]",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "error"}}},
    };
    static const char *const others[] = {
        "NOTALEVEL:root:x",
        "ERROR:root",
        "2024-03-05 07:08:09,123 something else",
        "[2024-03-05 07:08:09,123] ERROR at app",
    };

    run_preset("python", cases, LF_ARRAY_SIZE(cases), others,
               LF_ARRAY_SIZE(others));
    run_preset("python", NULL, 0, common_others, LF_ARRAY_SIZE(common_others));
}

static void test_presets_java(void)
{
    static const struct preset_case cases[] = {
        {"2024-03-05 07:08:09.123  INFO 1234 --- [           main] "
         "o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "info"},
          {"process.pid", "1234"},
          {"process.thread.name", "main"},
          {"log.logger", "o.s.b.w.embedded.tomcat.TomcatWebServer"}}},
        {"2024-03-05T07:08:09.123Z  WARN 1234 --- [shop] [nio-8080-exec-1] "
         "o.s.web.servlet.PageNotFound : No mapping",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "warn"},
          {"process.pid", "1234"},
          {"service.name", "shop"},
          {"process.thread.name", "nio-8080-exec-1"},
          {"log.logger", "o.s.web.servlet.PageNotFound"}}},
        {"07:08:09.123 [main] DEBUG com.example.App - starting",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "debug"},
          {"process.thread.name", "main"},
          {"log.logger", "com.example.App"}}},
        /* More than an hour after the read time: the day before. */
        {"23:59:59.999 [main] INFO  com.example.App - late",
         {{"@timestamp", "2024-03-04T23:59:59.999000000Z"},
          {"log.level", "info"},
          {"process.thread.name", "main"},
          {"log.logger", "com.example.App"}}},
        {"2024-03-05 07:08:09,123 ERROR com.example.Dao [pool-1-thread-2] - "
         "query failed",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "error"},
          {"process.thread.name", "pool-1-thread-2"},
          {"log.logger", "com.example.Dao"}}},
    };
    static const char *const others[] = {
        "07:08:09 [main] INFO a - no fraction",
        "2024-03-05 07:08:09.123  INFO x --- [main] a : pid not a number",
        "2024-03-05 07:08:09,123 NOTE com.example.Dao [t] - bad level",
    };

    run_preset("java", cases, LF_ARRAY_SIZE(cases), others,
               LF_ARRAY_SIZE(others));
    run_preset("java", NULL, 0, common_others, LF_ARRAY_SIZE(common_others));
}

static void test_presets_go(void)
{
    static const struct preset_case cases[] = {
        {"time=\"2024-03-05T07:08:09Z\" level=warning msg=\"slow query\" "
         "took=1.5s table=orders",
         {{"@timestamp", "2024-03-05T07:08:09.000000000Z"},
          {"log.level", "warn"},
          {"event.duration", "1500000000"},
          {"labels.table", "orders"}}},
        {"2024-03-05T07:08:09.123Z\tINFO\tserver/main.go:42\tlistening\t"
         "{\"addr\": \":8080\"}",
         {{"@timestamp", "2024-03-05T07:08:09.123000000Z"},
          {"log.level", "info"},
          {"log.origin.file.name", "server/main.go"},
          {"log.origin.file.line", "42"}}},
        {"2024-03-05T07:08:09.123+0100\tERROR\thttp.client\tclient/do.go:7\t"
         "request failed",
         {{"@timestamp", "2024-03-05T06:08:09.123000000Z"},
          {"log.level", "error"},
          {"log.logger", "http.client"},
          {"log.origin.file.name", "client/do.go"},
          {"log.origin.file.line", "7"}}},
    };
    static const char *const others[] = {
        "2024-03-05T07:08:09.123Z\tINFO\tno caller here\tmsg",
        "2024-03-05T07:08:09.123Z INFO main.go:1 spaces, not tabs",
    };

    run_preset("go", cases, LF_ARRAY_SIZE(cases), others,
               LF_ARRAY_SIZE(others));
    run_preset("go", NULL, 0, common_others, LF_ARRAY_SIZE(common_others));
}

static void test_presets_rails(void)
{
    static const struct preset_case cases[] = {
        {"I, [2024-03-05T07:08:09.123456 #1234]  INFO -- : [req-1] Started "
         "GET \"/tasks/42?page=2\" for 203.0.113.9 at 2024-03-05 07:08:09 "
         "+0000",
         {{"@timestamp", "2024-03-05T07:08:09.123456000Z"},
          {"log.level", "info"},
          {"process.pid", "1234"},
          {"http.request.method", "GET"},
          {"url.path", "/tasks/42"},
          {"url.query", "page=2"},
          {"source.address", "203.0.113.9"},
          {"source.ip", "203.0.113.9"}}},
        {"Started POST \"/login\" for 127.0.0.1 at 2024-03-05 07:08:09 +0100",
         {{"@timestamp", "2024-03-05T06:08:09.000000000Z"},
          {"http.request.method", "POST"},
          {"url.path", "/login"},
          {"source.address", "127.0.0.1"},
          {"source.ip", "127.0.0.1"}}},
        {"Completed 200 OK in 12ms (Views: 1.2ms | ActiveRecord: 3.4ms)",
         {{"http.response.status_code", "200"},
          {"event.duration", "12000000"}}},
        {"E, [2024-03-05T07:08:09.000001 #7] ERROR -- worker: boom",
         {{"@timestamp", "2024-03-05T07:08:09.000001000Z"},
          {"log.level", "error"},
          {"process.pid", "7"},
          {"log.logger", "worker"}}},
    };
    static const char *const others[] = {
        "X, [2024-03-05T07:08:09.123456 #1234]  INFO -- : bad severity",
        "I, [2024-03-05T07:08:09.123456]  INFO -- : no pid",
        "Completed OK",
    };

    run_preset("rails", cases, LF_ARRAY_SIZE(cases), others,
               LF_ARRAY_SIZE(others));
    run_preset("rails", NULL, 0, common_others, LF_ARRAY_SIZE(common_others));
}

/*
 * Every preset on a 1 MiB line, on invalid UTF-8 and on a line of NUL
 * bytes: no crash, the message untouched, and no tag but a timestamp
 * failure.
 */
static void test_presets_malformed_lines(void)
{
    static const char *const names[] = {
        "nginx", "apache", "app", "python", "java",
        "go",    "rails",  "syslog", "auth"};
    static const char invalid_utf8[] =
        "\xc3\x28 [\xff] \xe2\x82 level=\xf0\x28\x8c ERROR:\xfe:x";
    static const char nuls[16] = {0};
    size_t big_len = 1024 * 1024;
    char *big = lf_malloc(big_len);
    struct lf_event ev;

    for (size_t i = 0; i < big_len; i++) {
        big[i] = "2024-03-05T07:08:09Z [x=\"\xff \t]:-"[i % 32];
    }
    lf_event_init(&ev);
    for (size_t n = 0; n < LF_ARRAY_SIZE(names); n++) {
        const char *lines[] = {big, invalid_utf8, nuls};
        const size_t lens[] = {big_len, LF_STRLEN(invalid_utf8), sizeof(nuls)};
        struct lf_preset *preset = NULL;

        LF_CHECK_INT_EQ(lf_preset_new(names[n], &preset), 0);
        for (size_t k = 0; preset != NULL && k < LF_ARRAY_SIZE(lines); k++) {
            int rc;

            lf_event_reset(&ev);
            ev.message = lines[k];
            ev.message_len = lens[k];
            rc = lf_preset_apply(preset, &ev, lines[k], lens[k], NOW_NS);
            LF_CHECK(rc == 0 || rc == LF_ENOMATCH);
            LF_CHECK(ev.message == lines[k]);
            LF_CHECK_INT_EQ(ev.message_len, lens[k]);
            LF_CHECK_INT_EQ(ev.tags & ~(unsigned)LF_TAG_TIMESTAMP_FAILURE, 0);
            if (rc != 0) {
                LF_CHECK_INT_EQ(ev.field_count, 0);
            }
        }
        lf_preset_free(preset);
    }
    lf_event_cleanup(&ev);
    lf_free(big);
}

/* Every name in LF_PRESET_NAMES, the list error messages show, exists. */
static void test_presets_listed_names_exist(void)
{
    const char *p = LF_PRESET_NAMES;
    int count = 0;

    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char name[32] = {0};
        struct lf_preset *preset = NULL;

        LF_CHECK(len < sizeof(name));
        memcpy(name, p, len < sizeof(name) ? len : sizeof(name) - 1);
        LF_CHECK_INT_EQ(lf_preset_new(name, &preset), 0);
        LF_CHECK(preset != NULL);
        lf_preset_free(preset);
        count++;
        p += len;
        p += strspn(p, ", ");
    }
    LF_CHECK_INT_EQ(count, 9);
}

int main(void)
{
    LF_RUN(test_presets_python);
    LF_RUN(test_presets_java);
    LF_RUN(test_presets_go);
    LF_RUN(test_presets_rails);
    LF_RUN(test_presets_malformed_lines);
    LF_RUN(test_presets_listed_names_exist);
    return lf_test_end();
}
