/*
 * Tests of log level normalisation into the six canonical `log.level`
 * values, and of how other values are lower-cased and stored.
 */
#include "lf_test.h"

#include "lf/event.h"
#include "parsers/level.h"

static void check_canonical(const char *spelling, const char *expected)
{
    const char *level = lf_level_canonical(spelling, strlen(spelling));

    if (level == NULL || strcmp(level, expected) != 0) {
        LF_FAIL_AT("\"%s\" normalised to \"%s\", expected \"%s\"", spelling,
                   level != NULL ? level : "(null)", expected);
    }
}

static void test_level_known_spellings(void)
{
    static const struct {
        const char *spelling;
        const char *level;
    } cases[] = {
        {"ERROR", "error"}, {"error", "error"},  {"ERR", "error"},
        {"E", "error"},     {"SEVERE", "error"}, {"TRACE", "trace"},
        {"TRC", "trace"},   {"T", "trace"},      {"FINEST", "trace"},
        {"FINER", "trace"}, {"DEBUG", "debug"},  {"DBG", "debug"},
        {"D", "debug"},     {"FINE", "debug"},   {"INFO", "info"},
        {"INF", "info"},    {"I", "info"},       {"NOTICE", "info"},
        {"WARN", "warn"},   {"WARNING", "warn"}, {"W", "warn"},
        {"WRN", "warn"},    {"FATAL", "fatal"},  {"CRITICAL", "fatal"},
        {"CRIT", "fatal"},  {"PANIC", "fatal"},  {"F", "fatal"},
        {"EMERG", "fatal"}, {"ALERT", "fatal"},  {"Information", "info"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_canonical(cases[i].spelling, cases[i].level);
    }
}

static void test_level_ignores_case(void)
{
    check_canonical("Warning", "warn");
    check_canonical("wArN", "warn");
    check_canonical("e", "error");
    check_canonical("finest", "trace");
    check_canonical("Critical", "fatal");
    check_canonical("notice", "info");
}

static void test_level_unknown_is_null(void)
{
    LF_CHECK(lf_level_canonical("VERBOSE", 7) == NULL);
    LF_CHECK(lf_level_canonical("", 0) == NULL);
    LF_CHECK(lf_level_canonical("INFOO", 5) == NULL);
    LF_CHECK(lf_level_canonical("INF", 2) == NULL);
    LF_CHECK(lf_level_canonical("X", 1) == NULL);
    /* Only the length given counts: "ERROR" cut to 3 bytes is "ERR". */
    check_canonical("ERROR", "error");
    LF_CHECK_STR_EQ(lf_level_canonical("ERROR", 3), "error");
}

static void test_level_set_canonical(void)
{
    struct lf_event ev;
    const struct lf_value *v;
    const char line[] = "[WARNING] disk almost full";

    lf_event_init(&ev);
    lf_level_set(&ev, "log.level", line + 1, 7);
    v = lf_event_get(&ev, "log.level");
    LF_CHECK(v != NULL);
    if (v != NULL) {
        LF_CHECK_INT_EQ(v->type, LF_VALUE_STRING);
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "warn");
    }
    lf_event_cleanup(&ev);
}

static void test_level_set_other_lowercased_copy(void)
{
    struct lf_event ev;
    const struct lf_value *v;
    char line[] = "Verbose: cache miss";

    lf_event_init(&ev);
    lf_level_set(&ev, "log.level", line, 7);
    /* The value is a copy: changing the line does not change it. */
    line[0] = 'X';
    v = lf_event_get(&ev, "log.level");
    LF_CHECK(v != NULL);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "verbose");
    }
    lf_event_cleanup(&ev);
}

static void test_level_set_lowercase_borrowed(void)
{
    struct lf_event ev;
    const struct lf_value *v;
    const char line[] = "verbose: cache miss";

    lf_event_init(&ev);
    lf_level_set(&ev, "log.level", line, 7);
    v = lf_event_get(&ev, "log.level");
    LF_CHECK(v != NULL);
    if (v != NULL) {
        LF_CHECK(v->u.str.ptr == line);
        LF_CHECK_INT_EQ(v->u.str.len, 7);
    }
    lf_event_cleanup(&ev);
}

static void test_level_set_non_ascii_kept(void)
{
    struct lf_event ev;
    const struct lf_value *v;
    const char line[] = "\xC3\x89TAT";

    lf_event_init(&ev);
    lf_level_set(&ev, "log.level", line, strlen(line));
    v = lf_event_get(&ev, "log.level");
    LF_CHECK(v != NULL);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "\xC3\x89tat");
    }
    lf_event_cleanup(&ev);
}

int main(void)
{
    LF_RUN(test_level_known_spellings);
    LF_RUN(test_level_ignores_case);
    LF_RUN(test_level_unknown_is_null);
    LF_RUN(test_level_set_canonical);
    LF_RUN(test_level_set_other_lowercased_copy);
    LF_RUN(test_level_set_lowercase_borrowed);
    LF_RUN(test_level_set_non_ascii_kept);
    return lf_test_end();
}
