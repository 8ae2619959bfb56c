/*
 * Tests of `when:` conditions: every operator on matching and
 * non-matching events, typed comparisons, nesting, and every
 * configuration error with its message.
 */
#include "lf_test.h"

#include "agent/processors/condition.h"
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"

static char errbuf[512];

struct cond_fixture {
    struct lf_conf *conf;
    struct lf_condition *cond;
    struct lf_event ev;
};

/* Loads `yaml` and compiles the condition at `when`; returns the code. */
static int setup(struct cond_fixture *f, const char *yaml)
{
    struct lf_conf_node root;
    struct lf_conf_node when;
    int rc;

    memset(f, 0, sizeof(*f));
    lf_event_init(&f->ev);
    errbuf[0] = '\0';
    rc = lf_conf_load_string(yaml, strlen(yaml), "test.yml", &f->conf, errbuf,
                             sizeof(errbuf));
    if (rc != 0) {
        LF_FAIL_AT("configuration did not load: %s", errbuf);
        return rc;
    }
    lf_conf_root(f->conf, &root);
    lf_conf_child(&root, "when", &when);
    return lf_condition_new(&when, &f->cond, errbuf, sizeof(errbuf));
}

static void teardown(struct cond_fixture *f)
{
    lf_condition_free(f->cond);
    lf_event_cleanup(&f->ev);
    lf_conf_free(f->conf);
}

static bool eval(struct cond_fixture *f)
{
    return f->cond != NULL && lf_condition_eval(f->cond, &f->ev);
}

static void set_message(struct lf_event *ev, const char *line)
{
    ev->message = line;
    ev->message_len = strlen(line);
}

static void test_condition_equals_string(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when: {equals: {log.level: error}}"), 0);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_str(&f.ev, "log.level", "error", 5);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_str(&f.ev, "log.level", "errors", 6);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_str(&f.ev, "log.level", "erro", 4);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_equals_typed(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when:\n"
                              "  equals:\n"
                              "    http.response.status_code: 200\n"
                              "    tls.established: true\n"),
                    0);
    lf_event_set_int(&f.ev, "http.response.status_code", 200);
    lf_event_set_bool(&f.ev, "tls.established", true);
    LF_CHECK_INT_EQ(eval(&f), true);
    /* An integer also equals a float of the same value. */
    lf_event_set_float(&f.ev, "http.response.status_code", 200.0);
    LF_CHECK_INT_EQ(eval(&f), true);
    /* A string "200" is not the number 200. */
    lf_event_set_str(&f.ev, "http.response.status_code", "200", 3);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_int(&f.ev, "http.response.status_code", 200);
    lf_event_set_bool(&f.ev, "tls.established", false);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);

    /* A quoted number is a string. */
    LF_CHECK_INT_EQ(setup(&f, "when: {equals: {labels.code: \"007\"}}"), 0);
    lf_event_set_str(&f.ev, "labels.code", "007", 3);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_int(&f.ev, "labels.code", 7);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_equals_message_line(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when: {equals: {message: ping}}"), 0);
    set_message(&f.ev, "ping");
    LF_CHECK_INT_EQ(eval(&f), true);
    /* A parsed `message` field wins over the line. */
    lf_event_set_str(&f.ev, "message", "pong", 4);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_contains(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when: {contains: {message: timeout}}"), 0);
    set_message(&f.ev, "upstream timeout after 30s");
    LF_CHECK_INT_EQ(eval(&f), true);
    set_message(&f.ev, "upstream Timeout after 30s");
    LF_CHECK_INT_EQ(eval(&f), false);
    set_message(&f.ev, "timeou");
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);

    /* Numbers never contain text. */
    LF_CHECK_INT_EQ(setup(&f, "when: {contains: {http.response.status_code: "
                              "\"50\"}}"),
                    0);
    lf_event_set_int(&f.ev, "http.response.status_code", 503);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_regexp(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when: {regexp: {url.path: '^/api/v[0-9]+/'}}"),
                    0);
    lf_event_set_str(&f.ev, "url.path", "/api/v2/tasks", 13);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_str(&f.ev, "url.path", "/web/api/v2/", 12);
    LF_CHECK_INT_EQ(eval(&f), false);
    /* The value's length bounds the match, not a terminating NUL. */
    lf_event_set_str(&f.ev, "url.path", "/api/v2/tasks", 6);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);

    /* Unanchored patterns search, as in Filebeat. */
    LF_CHECK_INT_EQ(setup(&f, "when: {regexp: {message: 'ERR|FATAL'}}"), 0);
    set_message(&f.ev, "2024-01-01 FATAL disk full");
    LF_CHECK_INT_EQ(eval(&f), true);
    teardown(&f);
}

static void test_condition_range(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when:\n"
                              "  range:\n"
                              "    http.response.status_code.gte: 500\n"
                              "    http.response.status_code.lt: 600\n"),
                    0);
    lf_event_set_int(&f.ev, "http.response.status_code", 499);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_int(&f.ev, "http.response.status_code", 500);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_int(&f.ev, "http.response.status_code", 599);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_int(&f.ev, "http.response.status_code", 600);
    LF_CHECK_INT_EQ(eval(&f), false);
    /* Strings are not compared as numbers. */
    lf_event_set_str(&f.ev, "http.response.status_code", "550", 3);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "when: {range: {event.duration: {gt: 1.5e9, "
                              "lte: 3e9}}}"),
                    0);
    lf_event_set_float(&f.ev, "event.duration", 1.5e9);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_float(&f.ev, "event.duration", 1.6e9);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_int(&f.ev, "event.duration", 3000000000);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_int(&f.ev, "event.duration", 3000000001);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_has_fields(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when: {has_fields: [trace.id, http]}"), 0);
    lf_event_set_str(&f.ev, "trace.id", "abc", 3);
    LF_CHECK_INT_EQ(eval(&f), false);
    /* `http` is an object in the document: any field under it counts. */
    lf_event_set_int(&f.ev, "http.response.status_code", 200);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_remove(&f.ev, "trace.id");
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);

    /* A prefix of a key without the dot is another field. */
    LF_CHECK_INT_EQ(setup(&f, "when: {has_fields: [url.pa]}"), 0);
    lf_event_set_str(&f.ev, "url.path", "/", 1);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_and_or_not(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when:\n"
                              "  or:\n"
                              "    - equals: {log.level: error}\n"
                              "    - and:\n"
                              "        - contains: {message: slow}\n"
                              "        - not: {equals: {service.name: "
                              "batch}}\n"),
                    0);
    lf_event_set_str(&f.ev, "log.level", "info", 4);
    set_message(&f.ev, "slow query");
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_str(&f.ev, "service.name", "batch", 5);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_str(&f.ev, "log.level", "error", 5);
    LF_CHECK_INT_EQ(eval(&f), true);
    set_message(&f.ev, "fast query");
    lf_event_set_str(&f.ev, "log.level", "warn", 4);
    lf_event_remove(&f.ev, "service.name");
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void test_condition_negate(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "when: {equals: {log.level: debug}}"), 0);
    f.cond = lf_condition_negate(f.cond);
    lf_event_set_str(&f.ev, "log.level", "debug", 5);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_str(&f.ev, "log.level", "info", 4);
    LF_CHECK_INT_EQ(eval(&f), true);
    teardown(&f);
}

/* Fields under @metadata are read like any other field. */
static void test_condition_metadata_field(void)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(
        setup(&f, "when: {equals: {\"@metadata.kind\": audit}}"), 0);
    LF_CHECK_INT_EQ(eval(&f), false);
    lf_event_set_str(&f.ev, "@metadata.kind", "audit", 5);
    LF_CHECK_INT_EQ(eval(&f), true);
    lf_event_set_str(&f.ev, "@metadata.kind", "access", 6);
    LF_CHECK_INT_EQ(eval(&f), false);
    teardown(&f);
}

static void check_error(const char *yaml, const char *expected)
{
    struct cond_fixture f;

    LF_CHECK_INT_EQ(setup(&f, yaml), LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(f.cond == NULL);
    teardown(&f);
}

static void test_condition_config_errors(void)
{
    check_error("when: {equals: {a: 1}, contains: {b: x}}",
                "test.yml:1: when: a condition is a map with one operator "
                "(equals, contains, regexp, range, has_fields, and, or, "
                "not), such as `equals: {log.level: error}`; combine "
                "several with `and: [...]`");
    check_error("when: {matches: {a: 1}}",
                "test.yml:1: when: unknown condition 'matches': expected "
                "one of equals, contains, regexp, range, has_fields, and, "
                "or, not");
    check_error("when: {equals: error}",
                "test.yml:1: when.equals: equals takes a map of fields to "
                "values, such as `equals: {log.level: error}`");
    check_error("when: {regexp: {message: '(unclosed'}}",
                "test.yml:1: when.regexp.message: invalid regular "
                "expression '(unclosed' at offset 9: missing closing "
                "parenthesis; fix the pattern (PCRE2 syntax)");
    check_error("when: {range: {http.response.status_code: 500}}",
                "test.yml:1: when.range.http.response.status_code: range of "
                "'http.response.status_code' has no bound: write the field "
                "followed by gt, gte, lt or lte, such as "
                "`http.response.status_code.gte: 400`");
    check_error("when: {range: {event.duration.gt: slow}}",
                "test.yml:1: when.range.event.duration.gt: expected a "
                "number for the range bound, got 'slow'");
    check_error("when: {and: []}",
                "test.yml:1: when.and: and takes a non-empty list of "
                "conditions, such as `and: [{equals: {log.level: error}}, "
                "{contains: {message: timeout}}]`");
    check_error("when: {or: [{equals: {a: 1}}, {same: {b: 2}}]}",
                "test.yml:1: when.or[1]: unknown condition 'same': expected "
                "one of equals, contains, regexp, range, has_fields, and, "
                "or, not");
    check_error("when: {not: [{equals: {a: 1}}]}",
                "test.yml:1: when.not: a condition is a map with one "
                "operator (equals, contains, regexp, range, has_fields, "
                "and, or, not), such as `equals: {log.level: error}`; "
                "combine several with `and: [...]`");
    check_error("when: {has_fields: []}",
                "test.yml:1: when.has_fields: expected a string or a "
                "non-empty list of strings for has_fields, such as "
                "`has_fields: [a, b]`");
    check_error("when: {equals: {labels: [a, b]}}",
                "test.yml:1: when.equals.labels: expected a string, number "
                "or boolean for field 'labels'");
}

int main(void)
{
    LF_RUN(test_condition_equals_string);
    LF_RUN(test_condition_equals_typed);
    LF_RUN(test_condition_equals_message_line);
    LF_RUN(test_condition_contains);
    LF_RUN(test_condition_regexp);
    LF_RUN(test_condition_range);
    LF_RUN(test_condition_has_fields);
    LF_RUN(test_condition_and_or_not);
    LF_RUN(test_condition_negate);
    LF_RUN(test_condition_config_errors);
    LF_RUN(test_condition_metadata_field);
    return lf_test_end();
}
