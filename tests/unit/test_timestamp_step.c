/*
 * Tests of the `- timestamp:` step and the `- syslog:` step built from
 * YAML through a parser chain: layouts tried in order, zones, year
 * inference, the failure tag, and every configuration error.
 */
#include "lf_test.h"

#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/parser.h"

#define NS INT64_C(1000000000)

/* 2025-01-01T00:00:10Z, just after New Year. */
#define NEW_YEAR_NS (INT64_C(1735689610) * NS)

static char errbuf[512];

struct chain_fixture {
    struct lf_conf *conf;
    struct lf_parser_chain *chain;
    struct lf_event ev;
};

static int setup(struct chain_fixture *f, const char *yaml)
{
    struct lf_conf_node root;
    struct lf_conf_node list;
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
    lf_conf_child(&root, "parsers", &list);
    return lf_parser_chain_new(&list, &f->chain, errbuf, sizeof(errbuf));
}

static void teardown(struct chain_fixture *f)
{
    lf_event_cleanup(&f->ev);
    lf_parser_chain_free(f->chain);
    lf_conf_free(f->conf);
}

static int apply(struct chain_fixture *f, const char *line, int64_t now_ns)
{
    lf_event_reset(&f->ev);
    f->ev.message = line;
    f->ev.message_len = strlen(line);
    return lf_parser_chain_apply(f->chain, &f->ev, now_ns);
}

static int64_t timestamp_of(const struct lf_event *ev, const char *key)
{
    const struct lf_value *v = lf_event_get(ev, key);

    if (v == NULL || v->type != LF_VALUE_TIMESTAMP) {
        LF_FAIL_AT("field %s is missing or not a timestamp", key);
        return -1;
    }
    return v->u.ts_ns;
}

static const char layouts_yaml[] =
    "parsers:\n"
    "  - regex:\n"
    "      pattern: '^\\[(?<ts>[^\\]]+)\\] (?<msg>.*)$'\n"
    "      fields: {ts: labels.ts, msg: message}\n"
    "  - timestamp:\n"
    "      field: labels.ts\n"
    "      layouts: ['%d/%m/%Y %H:%M:%S', ISO8601, UNIX_MS, '%b %e "
    "%H:%M:%S']\n"
    "      timezone: America/New_York\n";

static void test_timestamp_step_layouts_in_order(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, layouts_yaml), 0);
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    /* The first layout, in New York summer time (UTC-4). */
    LF_CHECK_INT_EQ(apply(&f, "[04/07/2024 12:00:00] a", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1720108800) * NS);
    /* ISO 8601 with its own offset ignores the zone. */
    LF_CHECK_INT_EQ(apply(&f, "[2024-07-04T12:00:00+02:00] b", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1720087200) * NS);
    /* ISO 8601 without an offset: New York winter time (UTC-5). */
    LF_CHECK_INT_EQ(apply(&f, "[2024-12-24T18:00:00] c", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1735081200) * NS);
    LF_CHECK_INT_EQ(apply(&f, "[1720108800123] d", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1720108800123) * 1000000);
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    teardown(&f);
}

/* A layout without a year takes the year that puts it nearest the read. */
static void test_timestamp_step_infers_year(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, layouts_yaml), 0);
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    /* 2024-12-31T23:59:58 in New York is 2025-01-01T04:59:58Z. */
    LF_CHECK_INT_EQ(apply(&f, "[Dec 31 23:59:58] e", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1735707598) * NS);
    LF_CHECK_INT_EQ(apply(&f, "[Jan  1 00:00:03] f", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1735707603) * NS);
    teardown(&f);
}

static void test_timestamp_step_failure_tags_event(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, layouts_yaml), 0);
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    /* The line still matched its regex: only the time failed. */
    LF_CHECK_INT_EQ(apply(&f, "[yesterday at noon] g", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_TIMESTAMP_FAILURE);
    LF_CHECK(lf_event_get(&f.ev, "@timestamp") == NULL);
    /* No time field at all: nothing to parse, nothing tagged. */
    LF_CHECK_INT_EQ(apply(&f, "no brackets", NEW_YEAR_NS), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    teardown(&f);
}

static void test_timestamp_step_target_field(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - regex:\n"
                              "      pattern: '^(?<t>\\d+) '\n"
                              "      fields: {t: labels.t}\n"
                              "  - timestamp:\n"
                              "      field: labels.t\n"
                              "      layouts: [UNIX]\n"
                              "      target_field: event.created\n"),
                    0);
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    LF_CHECK_INT_EQ(apply(&f, "1700000000 x", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "event.created"),
                    INT64_C(1700000000) * NS);
    LF_CHECK(lf_event_get(&f.ev, "@timestamp") == NULL);
    teardown(&f);
}

static void test_timestamp_step_after_syslog(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - syslog:\n"
                              "      format: rfc3164\n"
                              "      timezone: Australia/Sydney\n"),
                    0);
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    /* Sydney summer time, UTC+11, in the year before the read time. */
    LF_CHECK_INT_EQ(apply(&f, "Dec 31 23:59:58 h app[1]: x", NEW_YEAR_NS), 0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1735649998) * NS);
    LF_CHECK_INT_EQ(apply(&f, "not syslog", NEW_YEAR_NS), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n  - syslog:\n"), 0);
    LF_CHECK_INT_EQ(apply(&f, "<13>1 - h a - - - m", NEW_YEAR_NS), 0);
    teardown(&f);
}

/* The presets get the read time too, for lines without a year. */
static void test_timestamp_step_auth_preset_year(void)
{
    struct chain_fixture f;
    const struct lf_value *user;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n  - preset: auth\n"), 0);
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    LF_CHECK_INT_EQ(apply(&f,
                          "Dec 31 23:59:58 h sshd[7]: Invalid user x from "
                          "192.0.2.1",
                          NEW_YEAR_NS),
                    0);
    LF_CHECK_INT_EQ(timestamp_of(&f.ev, "@timestamp"),
                    INT64_C(1735689598) * NS); /* 2024-12-31T23:59:58Z */
    user = lf_event_get(&f.ev, "user.name");
    LF_CHECK(user != NULL && user->type == LF_VALUE_STRING);
    if (user != NULL) {
        LF_CHECK_MEM_EQ(user->u.str.ptr, user->u.str.len, "x");
    }
    teardown(&f);
}

static void check_error(const char *yaml, const char *expected)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, yaml), LF_ECONFIG);
    LF_CHECK(f.chain == NULL);
    LF_CHECK_STR_EQ(errbuf, expected);
    teardown(&f);
}

static void test_timestamp_step_errors(void)
{
    check_error("parsers:\n  - timestamp: {field: t}\n",
                "test.yml:2: parsers[0].timestamp: layouts must be a list "
                "of one or more time layouts, tried in order, such as "
                "['%d/%b/%Y:%H:%M:%S %z', ISO8601]");
    check_error("parsers:\n  - timestamp: {layouts: [ISO8601]}\n",
                "test.yml:2: parsers[0].timestamp: field is required: the "
                "field that holds the time text, such as a capture of an "
                "earlier regex step");
    check_error("parsers:\n  - timestamp: {field: t, layouts: ['%Q']}\n",
                "test.yml:2: parsers[0].timestamp.layouts[0]: invalid "
                "layout '%Q': unsupported directive \"%Q\" at offset 0");
    check_error("parsers:\n"
                "  - timestamp: {field: t, layouts: [UNIX], timezone: "
                "Europe/Nowhere}\n",
                "test.yml:2: parsers[0].timestamp.timezone: unknown "
                "timezone 'Europe/Nowhere' (cannot read "
                "/usr/share/zoneinfo/Europe/Nowhere: no such file or "
                "directory): expected UTC, Local, an offset such as +02:00 "
                "or an IANA zone name such as Europe/Berlin; install tzdata "
                "or set TZDIR to its directory");
    check_error("parsers:\n"
                "  - timestamp: {field: t, layouts: [UNIX], target_field: "
                "''}\n",
                "test.yml:2: parsers[0].timestamp.target_field: "
                "target_field must name a field, such as @timestamp");
    check_error("parsers:\n  - syslog: {format: bsd}\n",
                "test.yml:2: parsers[0].syslog.format: invalid format "
                "'bsd': expected auto, rfc3164 or rfc5424");
    check_error("parsers:\n  - syslog: {timezone: '+25:00'}\n",
                "test.yml:2: parsers[0].syslog.timezone: invalid timezone "
                "'+25:00': an offset is +hh:mm, +hhmm or +hh, from -23:59 "
                "to +23:59; expected UTC, Local, an offset such as +02:00 "
                "or an IANA zone name such as Europe/Berlin");
    check_error("parsers:\n  - syslog: {timezone: '../UTC'}\n",
                "test.yml:2: parsers[0].syslog.timezone: invalid timezone "
                "'../UTC': a zone name is a relative path of letters, "
                "digits, '_', '-' and '+'; expected UTC, Local, an offset "
                "such as +02:00 or an IANA zone name such as Europe/Berlin");
    check_error("parsers:\n  - syslog: {zone: UTC}\n",
                "test.yml:2: parsers[0].syslog: unknown key 'zone'. Valid "
                "keys: format, timezone, field");
}

int main(void)
{
    unsetenv("TZDIR");
    LF_RUN(test_timestamp_step_layouts_in_order);
    LF_RUN(test_timestamp_step_infers_year);
    LF_RUN(test_timestamp_step_failure_tags_event);
    LF_RUN(test_timestamp_step_target_field);
    LF_RUN(test_timestamp_step_after_syslog);
    LF_RUN(test_timestamp_step_auth_preset_year);
    LF_RUN(test_timestamp_step_errors);
    return lf_test_end();
}
