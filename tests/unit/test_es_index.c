/*
 * Tests of index name templates: parsing, the value for an event with
 * field values made valid in index names, dates in UTC, and the names
 * Elasticsearch rejects.
 */
#include "outputs/elasticsearch/es_index.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/event.h"

#include <string.h>

#include "lf_test.h"

/* 2026-03-01T23:59:58.5Z */
#define EVENT_TIME_NS 1772409598500000000LL

static void set_str(struct lf_event *ev, const char *key, const char *value)
{
    lf_event_set_str(ev, key, value, strlen(value));
}

/* Formats `text` for `ev` and checks the result and return code. */
static void check_format(const char *text, const struct lf_event *ev,
                         bool index_name, int rc, const char *expected)
{
    struct lf_es_template tpl;
    struct lf_buf out;
    char errbuf[256] = "";

    lf_buf_init(&out);
    LF_CHECK_INT_EQ(lf_es_template_parse(text, &tpl, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_INT_EQ(lf_es_template_format(&tpl, ev, index_name, &out), rc);
    if (rc == 0) {
        LF_CHECK_STR_EQ(out.data, expected);
    }
    lf_buf_cleanup(&out);
    lf_es_template_cleanup(&tpl);
}

static void test_es_index_format_fields_and_dates(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    set_str(&ev, "service.name", "Rewards API/v2");
    lf_event_set_int(&ev, "http.response.status_code", 503);
    lf_event_set_timestamp(&ev, "@timestamp", EVENT_TIME_NS);

    check_format("logs-generic-default", &ev, true, 0,
                 "logs-generic-default");
    check_format("logs-%{[service.name]}-default", &ev, true, 0,
                 "logs-rewards_api_v2-default");
    check_format("logs-%{[service][name]}-default", &ev, true, 0,
                 "logs-rewards_api_v2-default");
    check_format("logs-%{service.name}-x", &ev, false, 0,
                 "logs-Rewards API/v2-x");
    check_format("app-%{+yyyy.MM.dd}", &ev, true, 0, "app-2026.03.01");
    check_format("app-%{+yy-MM-dd_HH}", &ev, true, 0, "app-26-03-01_23");
    check_format("s%{[http.response.status_code]}-%{+yyyy.MM}", &ev, true, 0,
                 "s503-2026.03");
    check_format("logs-%{[missing]}-default", &ev, true, LF_ENOENT, NULL);
    lf_event_cleanup(&ev);
}

static void test_es_index_format_edge_values(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    set_str(&ev, "empty", "");
    set_str(&ev, "chars", "A\\b*c?d\"e<f>g|h,i#j:k l\tm");
    lf_event_set_json(&ev, "list", "[1]", 3);
    lf_event_set_bool(&ev, "flag", true);
    /* 1969-12-31T23:59:59.5Z: the second before the epoch. */
    lf_event_set_timestamp(&ev, "@timestamp", -500000000LL);

    check_format("x-%{[empty]}", &ev, true, LF_ENOENT, NULL);
    check_format("x-%{[list]}", &ev, true, LF_ENOENT, NULL);
    check_format("x-%{[flag]}", &ev, true, 0, "x-true");
    check_format("x-%{[chars]}", &ev, true, 0,
                 "x-a_b_c_d_e_f_g_h_i_j_k_l_m");
    check_format("x-%{+yyyy.MM.dd.HH}", &ev, true, 0, "x-1969.12.31.23");
    lf_event_cleanup(&ev);

    lf_event_init(&ev);
    check_format("x-%{+yyyy}", &ev, true, LF_ENOENT, NULL);
    lf_event_cleanup(&ev);
}

/*
 * Invalid UTF-8 becomes '_', byte for byte. JSON encoding would turn
 * each bad byte into U+FFFD, three bytes, and push a name checked as 255
 * bytes past the limit.
 */
static void test_es_index_format_invalid_utf8(void)
{
    struct lf_event ev;
    char bad[101];
    char expected[103] = "x-";

    lf_event_init(&ev);
    set_str(&ev, "mixed", "a\xff" "b\xc3\xa9" "c\xe0\x80\x80" "d\xed\xa0\x80");
    memset(bad, 0xff, 100);
    bad[100] = '\0';
    set_str(&ev, "bad", bad);
    memset(expected + 2, '_', 100);
    expected[102] = '\0';

    check_format("x-%{[mixed]}", &ev, true, 0,
                 "x-a_b\xc3\xa9" "c___d___");
    check_format("x-%{[mixed]}", &ev, false, 0,
                 "x-a\xff" "b\xc3\xa9" "c\xe0\x80\x80" "d\xed\xa0\x80");
    check_format("x-%{[bad]}", &ev, true, 0, expected);
    lf_event_cleanup(&ev);
}

static void check_parse_error(const char *text, const char *expected)
{
    struct lf_es_template tpl;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(lf_es_template_parse(text, &tpl, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK_INT_EQ((int)tpl.count, 0);
}

static void test_es_index_parse_errors(void)
{
    check_parse_error("a-%{[x]", "'%{' without a closing '}' in 'a-%{[x]'");
    check_parse_error("a-%{}", "invalid field reference '%{}': write "
                      "%{[field.name]}");
    check_parse_error("a-%{[x]y}", "invalid field reference '%{[x]y}': "
                      "write %{[field.name]}");
    check_parse_error("a-%{+}", "empty date pattern %{+}");
    check_parse_error("a-%{+yyyy/MM}",
                      "unsupported date pattern 'yyyy/MM' at '/': use yyyy, "
                      "yy, MM, dd and HH separated by '.', '-' or '_'");
    check_parse_error("a-%{+dd.mm}",
                      "unsupported date pattern 'dd.mm' at 'm': use yyyy, "
                      "yy, MM, dd and HH separated by '.', '-' or '_'");
}

static void test_es_index_parse_parts(void)
{
    struct lf_es_template tpl;
    struct lf_buf sample;
    char errbuf[256] = "";

    lf_buf_init(&sample);
    LF_CHECK_INT_EQ(lf_es_template_parse("a-%{[b.c]}-%{+yyyy.MM}-d", &tpl,
                                         errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ((int)tpl.count, 5);
    LF_CHECK(tpl.has_field);
    LF_CHECK(tpl.has_date);
    LF_CHECK(lf_es_template_is_dynamic(&tpl));
    if (tpl.count == 5) {
        LF_CHECK_INT_EQ(tpl.parts[1].kind, LF_ES_PART_FIELD);
        LF_CHECK_STR_EQ(tpl.parts[1].text, "b.c");
        LF_CHECK_INT_EQ(tpl.parts[3].kind, LF_ES_PART_DATE);
        LF_CHECK_STR_EQ(tpl.parts[3].text, "yyyy.MM");
    }
    lf_es_template_sample(&tpl, &sample);
    LF_CHECK_STR_EQ(sample.data, "a-x-2026.01-d");
    lf_es_template_cleanup(&tpl);
    lf_buf_cleanup(&sample);

    LF_CHECK_INT_EQ(lf_es_template_parse("plain", &tpl, errbuf,
                                         sizeof(errbuf)),
                    0);
    LF_CHECK(!lf_es_template_is_dynamic(&tpl));
    lf_es_template_cleanup(&tpl);
}

static void test_es_index_name_rules(void)
{
    static const char *const valid[] = {"logs-app-default", "app-2026.03.01",
                                        "a", "my_index+1"};
    static const char *const invalid[] = {"", "Logs", "-a", "_a", "+a", ".",
                                          "..", "a b", "a:b", "a#b", "a,b"};
    char longest[LF_ES_INDEX_NAME_MAX + 2];

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        LF_CHECK_STR_EQ(lf_es_index_name_problem(valid[i], strlen(valid[i])),
                        NULL);
    }
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        LF_CHECK(lf_es_index_name_problem(invalid[i], strlen(invalid[i])) !=
                 NULL);
    }
    memset(longest, 'a', sizeof(longest));
    LF_CHECK_STR_EQ(lf_es_index_name_problem(longest, LF_ES_INDEX_NAME_MAX),
                    NULL);
    LF_CHECK_STR_EQ(
        lf_es_index_name_problem(longest, LF_ES_INDEX_NAME_MAX + 1),
        "it is longer than 255 bytes");

    LF_CHECK(lf_es_index_is_data_stream("logs-app-default"));
    LF_CHECK(lf_es_index_is_data_stream("logs-x-2026.01.01"));
    LF_CHECK(!lf_es_index_is_data_stream("logs-app"));
    LF_CHECK(!lf_es_index_is_data_stream("logs--x"));
    LF_CHECK(!lf_es_index_is_data_stream("logs-app-"));
    LF_CHECK(!lf_es_index_is_data_stream("app-logs-x"));
}

int main(void)
{
    LF_RUN(test_es_index_format_fields_and_dates);
    LF_RUN(test_es_index_format_edge_values);
    LF_RUN(test_es_index_format_invalid_utf8);
    LF_RUN(test_es_index_parse_errors);
    LF_RUN(test_es_index_parse_parts);
    LF_RUN(test_es_index_name_rules);
    return lf_test_end();
}
