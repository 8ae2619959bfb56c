/*
 * Tests of the `metrics:` rules: exact counter and histogram values, the
 * status class and missing-field rules, `when:` and `inputs:`, the
 * max_series cap, escaping in the exposition, and configuration errors.
 */
#include "lf_test.h"

#include "agent/metrics/log_metrics.h"
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"

static char errbuf[512];

static const char *const input_ids[] = {"app", "web"};

struct fixture {
    struct lf_conf *conf;
    struct lf_log_metrics *metrics;
    struct lf_event ev;
    struct lf_buf out;
};

/* Loads `yaml` and compiles its `metrics` list; returns the code. */
static int setup(struct fixture *f, const char *yaml)
{
    struct lf_conf_node root;
    struct lf_conf_node list;
    int rc;

    memset(f, 0, sizeof(*f));
    lf_event_init(&f->ev);
    lf_buf_init(&f->out);
    errbuf[0] = '\0';
    rc = lf_conf_load_string(yaml, strlen(yaml), "test.yml", &f->conf, errbuf,
                             sizeof(errbuf));
    if (rc != 0) {
        LF_FAIL_AT("configuration did not load: %s", errbuf);
        return rc;
    }
    lf_conf_root(f->conf, &root);
    lf_conf_child(&root, "metrics", &list);
    return lf_log_metrics_new(&list, input_ids, LF_ARRAY_SIZE(input_ids),
                              &f->metrics, errbuf, sizeof(errbuf));
}

static void teardown(struct fixture *f)
{
    lf_log_metrics_free(f->metrics);
    lf_buf_cleanup(&f->out);
    lf_event_cleanup(&f->ev);
    lf_conf_free(f->conf);
}

/* Observes one request event; a NULL route or status leaves it out. */
static void request(struct fixture *f, const char *input, const char *route,
                    const char *method, long long status)
{
    lf_event_reset(&f->ev);
    if (route != NULL) {
        lf_event_set_str(&f->ev, "http.route", route, strlen(route));
    }
    lf_event_set_str(&f->ev, "http.request.method", method, strlen(method));
    if (status != 0) {
        lf_event_set_int(&f->ev, "http.response.status_code", status);
    }
    lf_log_metrics_observe(f->metrics, &f->ev, input);
}

/* Returns the exposition text of every rule and of the rules' counters. */
static const char *write(struct fixture *f)
{
    lf_buf_reset(&f->out);
    lf_log_metrics_write(f->metrics, &f->out);
    return f->out.data;
}

static const char counter_yaml[] =
    "metrics:\n"
    "  - type: counter\n"
    "    name: app_requests\n"
    "    help: Requests by route.\n"
    "    labels:\n"
    "      route: http.route\n"
    "      method: http.request.method\n"
    "      status_class: {field: http.response.status_code, "
    "status_class: true}\n";

static void test_log_metrics_counter_exact(void)
{
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, counter_yaml), 0);
    request(&f, "app", "/a", "GET", 200);
    request(&f, "app", "/a", "GET", 204);
    request(&f, "web", "/a", "POST", 503);
    request(&f, "app", "/a", "GET", 299);
    request(&f, "app", NULL, "GET", 404);
    request(&f, "app", "/b", "GET", 0);
    request(&f, "app", "/b", "GET", 600);
    LF_CHECK_STR_EQ(write(&f),
                    "# HELP app_requests_total Requests by route.\n"
                    "# TYPE app_requests_total counter\n"
                    "app_requests_total{route=\"/a\",method=\"GET\","
                    "status_class=\"2xx\"} 3\n"
                    "app_requests_total{route=\"/a\",method=\"POST\","
                    "status_class=\"5xx\"} 1\n"
                    "app_requests_total{route=\"\",method=\"GET\","
                    "status_class=\"4xx\"} 1\n"
                    "app_requests_total{route=\"/b\",method=\"GET\","
                    "status_class=\"\"} 2\n"
                    "# HELP logferry_metrics_series_dropped_total Events a "
                    "metrics rule did not count because they would have "
                    "created a series beyond its max_series.\n"
                    "# TYPE logferry_metrics_series_dropped_total counter\n"
                    "logferry_metrics_series_dropped_total"
                    "{metric=\"app_requests_total\"} 0\n"
                    "# HELP logferry_metrics_events_skipped_total Events a "
                    "histogram rule matched but could not observe: "
                    "field_missing, or field_invalid when the field holds "
                    "no finite number.\n"
                    "# TYPE logferry_metrics_events_skipped_total counter\n");
    teardown(&f);
}

static void test_log_metrics_status_class_types(void)
{
    struct fixture f;
    struct lf_log_metrics_rule_stats stats;

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: counter\n"
                              "    name: by_class\n"
                              "    labels:\n"
                              "      c: {field: code, status_class: true}\n"),
                    0);
    lf_event_set_str(&f.ev, "code", "404", 3);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_event_set_float(&f.ev, "code", 404.0);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_event_set_str(&f.ev, "code", "4O4", 3);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_event_set_float(&f.ev, "code", 404.5);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_event_set_int(&f.ev, "code", 99);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    LF_CHECK(strstr(write(&f), "by_class_total{c=\"4xx\"} 2\n") != NULL);
    LF_CHECK(strstr(write(&f), "by_class_total{c=\"\"} 3\n") != NULL);
    lf_log_metrics_rule_stats(f.metrics, 0, &stats);
    LF_CHECK_INT_EQ(stats.series, 2);
    teardown(&f);
}

static void test_log_metrics_when_and_inputs(void)
{
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: counter\n"
                              "    name: app_errors\n"
                              "    inputs: [app]\n"
                              "    when: {equals: {log.level: ERROR}}\n"),
                    0);
    lf_event_set_str(&f.ev, "log.level", "ERROR", 5);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_log_metrics_observe(f.metrics, &f.ev, "web");
    lf_event_set_str(&f.ev, "log.level", "INFO", 4);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    LF_CHECK(strstr(write(&f), "\napp_errors_total 2\n") != NULL);
    teardown(&f);
}

static const char histogram_yaml[] =
    "metrics:\n"
    "  - type: histogram\n"
    "    name: app_request_duration_seconds\n"
    "    help: Request time.\n"
    "    field: event.duration\n"
    "    unit: ns\n"
    "    buckets: [0.1, 0.5, 1]\n"
    "    labels: {route: http.route}\n";

static void observe_duration(struct fixture *f, const char *route,
                             int64_t duration_ns)
{
    lf_event_reset(&f->ev);
    lf_event_set_str(&f->ev, "http.route", route, strlen(route));
    lf_event_set_int(&f->ev, "event.duration", duration_ns);
    lf_log_metrics_observe(f->metrics, &f->ev, "app");
}

static void test_log_metrics_histogram_exact(void)
{
    struct fixture f;
    struct lf_log_metrics_rule_stats stats;

    LF_CHECK_INT_EQ(setup(&f, histogram_yaml), 0);
    observe_duration(&f, "/a", 50000000);   /* 0.05 s */
    observe_duration(&f, "/a", 100000000);  /* 0.1 s: le="0.1" is <= */
    observe_duration(&f, "/a", 100000001);
    observe_duration(&f, "/a", 1000000000); /* 1 s */
    observe_duration(&f, "/a", 3000000000); /* above every bound */
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "http.route", "/a", 2);
    lf_event_set_str(&f.ev, "event.duration", "250000000", 9);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_event_set_str(&f.ev, "event.duration", "fast", 4);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    lf_event_remove(&f.ev, "event.duration");
    lf_log_metrics_observe(f.metrics, &f.ev, "app");

    LF_CHECK_STR_EQ(write(&f),
                    "# HELP app_request_duration_seconds Request time.\n"
                    "# TYPE app_request_duration_seconds histogram\n"
                    "app_request_duration_seconds_bucket{route=\"/a\","
                    "le=\"0.1\"} 2\n"
                    "app_request_duration_seconds_bucket{route=\"/a\","
                    "le=\"0.5\"} 4\n"
                    "app_request_duration_seconds_bucket{route=\"/a\","
                    "le=\"1\"} 5\n"
                    "app_request_duration_seconds_bucket{route=\"/a\","
                    "le=\"+Inf\"} 6\n"
                    "app_request_duration_seconds_sum{route=\"/a\"} "
                    "4.500000001\n"
                    "app_request_duration_seconds_count{route=\"/a\"} 6\n"
                    "# HELP logferry_metrics_series_dropped_total Events a "
                    "metrics rule did not count because they would have "
                    "created a series beyond its max_series.\n"
                    "# TYPE logferry_metrics_series_dropped_total counter\n"
                    "logferry_metrics_series_dropped_total"
                    "{metric=\"app_request_duration_seconds\"} 0\n"
                    "# HELP logferry_metrics_events_skipped_total Events a "
                    "histogram rule matched but could not observe: "
                    "field_missing, or field_invalid when the field holds "
                    "no finite number.\n"
                    "# TYPE logferry_metrics_events_skipped_total counter\n"
                    "logferry_metrics_events_skipped_total{metric=\"app_"
                    "request_duration_seconds\",reason=\"field_missing\"} 1\n"
                    "logferry_metrics_events_skipped_total{metric=\"app_"
                    "request_duration_seconds\",reason=\"field_invalid\"} "
                    "1\n");
    lf_log_metrics_rule_stats(f.metrics, 0, &stats);
    LF_CHECK_INT_EQ(stats.field_missing, 1);
    LF_CHECK_INT_EQ(stats.field_invalid, 1);
    teardown(&f);
}

static void test_log_metrics_default_buckets(void)
{
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: histogram\n"
                              "    name: t_seconds\n"
                              "    field: took\n"
                              "    unit: ms\n"),
                    0);
    lf_event_set_float(&f.ev, "took", 7.5);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    write(&f);
    LF_CHECK(strstr(f.out.data, "t_seconds_bucket{le=\"0.005\"} 0\n") != NULL);
    LF_CHECK(strstr(f.out.data, "t_seconds_bucket{le=\"0.01\"} 1\n") != NULL);
    LF_CHECK(strstr(f.out.data, "t_seconds_bucket{le=\"10\"} 1\n") != NULL);
    LF_CHECK(strstr(f.out.data, "t_seconds_sum 0.0075\n") != NULL);
    teardown(&f);
}

static void test_log_metrics_cap_drops_new_series(void)
{
    struct fixture f;
    struct lf_log_metrics_rule_stats stats;

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: counter\n"
                              "    name: by_route\n"
                              "    max_series: 2\n"
                              "    labels: {route: http.route}\n"),
                    0);
    request(&f, "app", "/a", "GET", 200);
    request(&f, "app", "/b", "GET", 200);
    request(&f, "app", "/c", "GET", 200);
    request(&f, "app", "/d", "GET", 200);
    request(&f, "app", "/c", "GET", 200);
    request(&f, "app", "/a", "GET", 200);
    request(&f, "app", "/b", "GET", 200);
    write(&f);
    LF_CHECK(strstr(f.out.data, "by_route_total{route=\"/a\"} 2\n") != NULL);
    LF_CHECK(strstr(f.out.data, "by_route_total{route=\"/b\"} 2\n") != NULL);
    LF_CHECK(strstr(f.out.data, "route=\"/c\"") == NULL);
    LF_CHECK(strstr(f.out.data, "logferry_metrics_series_dropped_total"
                                "{metric=\"by_route_total\"} 3\n") != NULL);
    lf_log_metrics_rule_stats(f.metrics, 0, &stats);
    LF_CHECK_INT_EQ(stats.series, 2);
    LF_CHECK_INT_EQ(stats.series_dropped, 3);
    teardown(&f);
}

/* Enough series to grow the hash table several times. */
static void test_log_metrics_many_series(void)
{
    struct fixture f;
    struct lf_log_metrics_rule_stats stats;
    char route[32];
    char line[96];

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: counter\n"
                              "    name: by_route\n"
                              "    labels: {route: http.route}\n"),
                    0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1200; i++) {
            snprintf(route, sizeof(route), "/r%d", i);
            request(&f, "app", route, "GET", 200);
        }
    }
    lf_log_metrics_rule_stats(f.metrics, 0, &stats);
    LF_CHECK_INT_EQ(stats.series, LF_LOG_METRICS_DEFAULT_MAX_SERIES);
    LF_CHECK_INT_EQ(stats.series_dropped,
                    3 * (1200 - LF_LOG_METRICS_DEFAULT_MAX_SERIES));
    write(&f);
    LF_CHECK(strstr(f.out.data, "by_route_total{route=\"/r0\"} 3\n") != NULL);
    snprintf(line, sizeof(line), "by_route_total{route=\"/r%d\"} 3\n",
             LF_LOG_METRICS_DEFAULT_MAX_SERIES - 1);
    LF_CHECK(strstr(f.out.data, line) != NULL);
    snprintf(line, sizeof(line), "route=\"/r%d\"",
             LF_LOG_METRICS_DEFAULT_MAX_SERIES);
    LF_CHECK(strstr(f.out.data, line) == NULL);
    teardown(&f);
}

static void test_log_metrics_label_escaping(void)
{
    static const char value[] = "a\\b\"c\nd";
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: counter\n"
                              "    name: odd\n"
                              "    help: \"Back\\\\slash and\\nnewline\"\n"
                              "    labels: {v: f, n: num, b: flag}\n"),
                    0);
    lf_event_set_str(&f.ev, "f", value, strlen(value));
    lf_event_set_float(&f.ev, "num", 0.1);
    lf_event_set_bool(&f.ev, "flag", true);
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    write(&f);
    LF_CHECK(strstr(f.out.data,
                    "# HELP odd_total Back\\\\slash and\\nnewline\n") !=
             NULL);
    LF_CHECK(strstr(f.out.data,
                    "odd_total{v=\"a\\\\b\\\"c\\nd\",n=\"0.1\","
                    "b=\"true\"} 1\n") != NULL);
    teardown(&f);
}

/* Ill-formed UTF-8 becomes U+FFFD; long values are cut at a boundary. */
static void test_log_metrics_label_utf8_and_length(void)
{
    static const char bad[] = "a\xff\xc3(b\xe2\x82";
    char long_value[LF_LOG_METRICS_LABEL_VALUE_MAX + 16];
    char expected[LF_LOG_METRICS_LABEL_VALUE_MAX + 64];
    struct fixture f;

    LF_CHECK_INT_EQ(setup(&f, "metrics:\n"
                              "  - type: counter\n"
                              "    name: odd\n"
                              "    help: Odd values.\n"
                              "    labels: {v: f}\n"),
                    0);
    lf_event_set_str(&f.ev, "f", bad, strlen(bad));
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    write(&f);
    LF_CHECK(strstr(f.out.data, "odd_total{v=\"a\xef\xbf\xbd\xef\xbf\xbd"
                                "(b\xef\xbf\xbd\"} 1\n") != NULL);

    /* 255 ASCII bytes, then a 2-byte sequence across the limit. */
    memset(long_value, 'x', sizeof(long_value));
    long_value[LF_LOG_METRICS_LABEL_VALUE_MAX - 1] = '\xc3';
    long_value[LF_LOG_METRICS_LABEL_VALUE_MAX] = '\xa9';
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "f", long_value, sizeof(long_value));
    lf_log_metrics_observe(f.metrics, &f.ev, "app");
    snprintf(expected, sizeof(expected), "odd_total{v=\"%.*s\"} 1\n",
             LF_LOG_METRICS_LABEL_VALUE_MAX - 1, long_value);
    write(&f);
    LF_CHECK(strstr(f.out.data, expected) != NULL);
    teardown(&f);
}

/* Checks that `yaml` is rejected with exactly `message` after "test.yml:". */
static void check_error(const char *yaml, const char *message)
{
    struct fixture f;
    char expected[512];

    snprintf(expected, sizeof(expected), "test.yml:%s", message);
    LF_CHECK_INT_EQ(setup(&f, yaml), LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(f.metrics == NULL);
    teardown(&f);
}

static void test_log_metrics_config_errors(void)
{
    check_error("metrics:\n  - type: gauge\n    name: x\n",
                "2: metrics[0].type: invalid value \"gauge\": expected "
                "counter or histogram");
    check_error("metrics:\n  - type: counter\n    name: x_total\n",
                "3: metrics[0].name: invalid counter name \"x_total\": the "
                "agent appends _total, so write the name without it");
    check_error("metrics:\n  - type: counter\n    name: 9x\n",
                "3: metrics[0].name: invalid metric name \"9x\": use "
                "letters, digits, '_' and ':', not starting with a digit, "
                "such as app_requests");
    check_error("metrics:\n  - type: counter\n    name: logferry_x\n",
                "3: metrics[0].name: invalid metric name \"logferry_x\": "
                "names starting with logferry_ are the agent's own; choose "
                "another prefix, such as app_");
    check_error("metrics:\n  - type: histogram\n    name: t_count\n"
                "    field: d\n",
                "3: metrics[0].name: invalid histogram name \"t_count\": "
                "the agent appends _bucket, _sum and _count, so write the "
                "name without _count");
    check_error("metrics:\n  - type: counter\n    name: x\n"
                "    labels: {le: a}\n",
                "4: metrics[0].labels.le: invalid label name \"le\": use "
                "letters, digits and '_', not starting with a digit or "
                "\"__\", and not \"le\"");
    check_error("metrics:\n  - type: counter\n    name: x\n"
                "    inputs: [api]\n",
                "4: metrics[0].inputs[0]: no input has the id \"api\"; use "
                "the id: of an entry of inputs");
    check_error("metrics:\n  - type: counter\n    name: x\n"
                "    buckets: [1]\n",
                "4: metrics[0].buckets: only histograms take 'buckets'; "
                "remove it or write `type: histogram`");
    check_error("metrics:\n  - type: histogram\n    name: t\n"
                "    field: d\n    buckets: [1, 0.5]\n",
                "5: metrics[0].buckets[1]: bucket bound 0.5 is not above "
                "the one before it; list the bounds in increasing order");
    check_error("metrics:\n  - type: histogram\n    name: t\n",
                "2: metrics[0]: missing 'field': a histogram observes a "
                "numeric event field, such as `field: event.duration`");
    check_error("metrics:\n  - type: histogram\n    name: t\n"
                "    field: d\n    unit: h\n",
                "5: metrics[0].unit: invalid unit \"h\": expected s, ms, us "
                "or ns, the unit of the field's values; the series is in "
                "seconds");
    check_error("metrics:\n  - type: counter\n    name: x\n"
                "  - type: histogram\n    name: x_total\n    field: d\n",
                "5: metrics[1].name: metric x_total is already defined by "
                "metrics[0]; give each rule its own name");
    check_error("metrics:\n  - type: counter\n    name: x\n"
                "    max_series: 0\n",
                "4: metrics[0].max_series: expected an integer from 1 to "
                "1000000, got '0'");
}

int main(void)
{
    LF_RUN(test_log_metrics_counter_exact);
    LF_RUN(test_log_metrics_status_class_types);
    LF_RUN(test_log_metrics_when_and_inputs);
    LF_RUN(test_log_metrics_histogram_exact);
    LF_RUN(test_log_metrics_default_buckets);
    LF_RUN(test_log_metrics_cap_drops_new_series);
    LF_RUN(test_log_metrics_many_series);
    LF_RUN(test_log_metrics_label_escaping);
    LF_RUN(test_log_metrics_label_utf8_and_length);
    LF_RUN(test_log_metrics_config_errors);
    return lf_test_end();
}
