/*
 * Prometheus text exposition writer: family headers, label and HELP
 * escaping, sample order, special values and histogram buckets.
 */
#include "agent/metrics/prom.h"
#include "lf_test.h"

#include <math.h>

static void test_prom_counter_family(void)
{
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_family(&b, "x_total", "counter", "Things seen.");
    lf_prom_sample_u64(&b, "x_total", NULL, 0, 18446744073709551615ULL);
    LF_CHECK_STR_EQ(b.data, "# HELP x_total Things seen.\n"
                            "# TYPE x_total counter\n"
                            "x_total 18446744073709551615\n");
    lf_buf_cleanup(&b);
}

static void test_prom_help_escaping(void)
{
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_family(&b, "g", "gauge", "a\\b\nc \"quoted\"");
    LF_CHECK_STR_EQ(b.data, "# HELP g a\\\\b\\nc \"quoted\"\n"
                            "# TYPE g gauge\n");
    lf_buf_cleanup(&b);
}

static void test_prom_label_escaping(void)
{
    struct lf_prom_label labels[] = {
        {"path", "C:\\logs\n\"x\""},
        {"reason", "ok"},
    };
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_sample_u64(&b, "m", labels, 2, 7);
    LF_CHECK_STR_EQ(b.data,
                    "m{path=\"C:\\\\logs\\n\\\"x\\\"\",reason=\"ok\"} 7\n");
    lf_buf_cleanup(&b);
}

static void test_prom_label_order_kept(void)
{
    struct lf_prom_label labels[] = {{"z", "1"}, {"a", "2"}};
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_sample_u64(&b, "m", labels, 2, 0);
    lf_prom_sample_u64(&b, "m", labels + 1, 1, 3);
    LF_CHECK_STR_EQ(b.data, "m{z=\"1\",a=\"2\"} 0\nm{a=\"2\"} 3\n");
    lf_buf_cleanup(&b);
}

static void test_prom_double_values(void)
{
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_sample_double(&b, "d", NULL, 0, 0.1);
    lf_prom_sample_double(&b, "d", NULL, 0, 1796436894.926);
    lf_prom_sample_double(&b, "d", NULL, 0, INFINITY);
    lf_prom_sample_double(&b, "d", NULL, 0, -INFINITY);
    lf_prom_sample_double(&b, "d", NULL, 0, NAN);
    lf_prom_sample_double(&b, "d", NULL, 0, 1.0 / 3.0);
    LF_CHECK_STR_EQ(b.data, "d 0.1\n"
                            "d 1796436894.926\n"
                            "d +Inf\n"
                            "d -Inf\n"
                            "d NaN\n"
                            "d 0.33333333333333331\n");
    lf_buf_cleanup(&b);
}

static void test_prom_histogram_buckets(void)
{
    static const double bounds[] = {0.005, 0.1, 1, 10};
    static const uint64_t counts[] = {2, 0, 3, 1, 4};
    struct lf_prom_label label = {"output", "es"};
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_histogram(&b, "h_seconds", &label, 1, bounds, counts, 4, 61.25);
    LF_CHECK_STR_EQ(b.data,
                    "h_seconds_bucket{output=\"es\",le=\"0.005\"} 2\n"
                    "h_seconds_bucket{output=\"es\",le=\"0.1\"} 2\n"
                    "h_seconds_bucket{output=\"es\",le=\"1\"} 5\n"
                    "h_seconds_bucket{output=\"es\",le=\"10\"} 6\n"
                    "h_seconds_bucket{output=\"es\",le=\"+Inf\"} 10\n"
                    "h_seconds_sum{output=\"es\"} 61.25\n"
                    "h_seconds_count{output=\"es\"} 10\n");
    lf_buf_cleanup(&b);
}

static void test_prom_histogram_without_labels(void)
{
    static const double bounds[] = {0.25};
    static const uint64_t counts[] = {0, 0};
    struct lf_buf b;

    lf_buf_init(&b);
    lf_prom_histogram(&b, "h", NULL, 0, bounds, counts, 1, 0);
    LF_CHECK_STR_EQ(b.data, "h_bucket{le=\"0.25\"} 0\n"
                            "h_bucket{le=\"+Inf\"} 0\n"
                            "h_sum 0\n"
                            "h_count 0\n");
    lf_buf_cleanup(&b);
}

int main(void)
{
    LF_RUN(test_prom_counter_family);
    LF_RUN(test_prom_help_escaping);
    LF_RUN(test_prom_label_escaping);
    LF_RUN(test_prom_label_order_kept);
    LF_RUN(test_prom_double_values);
    LF_RUN(test_prom_histogram_buckets);
    LF_RUN(test_prom_histogram_without_labels);
    return lf_test_end();
}
