/*
 * Tests of parser chains built from YAML: the documented example, the
 * first-match order, lines that no parser matches, and every
 * configuration error with its message.
 */
#include "lf_test.h"

#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "lf/parser.h"

#define NS INT64_C(1000000000)

static char errbuf[512];

/* The example of the configuration reference, verbatim. */
static const char example_yaml[] =
    "parsers:\n"
    "  - regex:\n"
    "      pattern: '^(?<ts>\\S+) (?<level>\\w+) \\[txn=(?<txn>\\w+)\\] "
    "(?<method>[A-Z]+) (?<path>\\S+) (?<status>\\d+) (?<took>\\d+)ms'\n"
    "      fields:\n"
    "        ts: {field: \"@timestamp\", type: timestamp}\n"
    "        level: log.level\n"
    "        txn: transaction.id\n"
    "        method: http.request.method\n"
    "        path: url.path\n"
    "        status: {field: http.response.status_code, type: integer}\n"
    "        took: {field: event.duration, type: duration, unit: ms}\n"
    "  - preset: nginx          # built-in nginx/apache combined format\n";

struct chain_fixture {
    struct lf_conf *conf;
    struct lf_parser_chain *chain;
    struct lf_event ev;
};

/* Loads `yaml` and builds the chain at `parsers`; returns the code. */
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

static int apply(struct chain_fixture *f, const char *line)
{
    lf_event_reset(&f->ev);
    f->ev.message = line;
    f->ev.message_len = strlen(line);
    return lf_parser_chain_apply(f->chain, &f->ev, 0);
}

static const struct lf_value *
get_typed(const struct lf_event *ev, const char *key, enum lf_value_type type)
{
    const struct lf_value *v = lf_event_get(ev, key);

    if (v == NULL) {
        LF_FAIL_AT("field %s is missing", key);
        return NULL;
    }
    if (v->type != type) {
        LF_FAIL_AT("field %s has type %d, expected %d", key, (int)v->type,
                   (int)type);
        return NULL;
    }
    return v;
}

static void check_str(const struct lf_event *ev, const char *key,
                      const char *expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_STRING);

    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, expected);
    }
}

static void check_int(const struct lf_event *ev, const char *key,
                      int64_t expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_INT);

    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.i, expected);
    }
}

static void check_timestamp(const struct lf_event *ev, const char *key,
                            int64_t expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_TIMESTAMP);

    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.ts_ns, expected);
    }
}

static void test_parser_chain_example_regex_line(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, example_yaml), 0);
    LF_CHECK_INT_EQ(apply(&f, "2024-03-05T07:08:09Z ERR [txn=9f2c] GET "
                              "/api/orders 404 37ms"),
                    0);
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 7);
    check_timestamp(&f.ev, "@timestamp", 1709622489 * NS);
    check_str(&f.ev, "log.level", "error");
    check_str(&f.ev, "transaction.id", "9f2c");
    check_str(&f.ev, "http.request.method", "GET");
    check_str(&f.ev, "url.path", "/api/orders");
    check_int(&f.ev, "http.response.status_code", 404);
    check_int(&f.ev, "event.duration", 37000000);
    teardown(&f);
}

static void test_parser_chain_example_falls_to_preset(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, example_yaml), 0);
    LF_CHECK_INT_EQ(apply(&f, "203.0.113.9 - - [05/Mar/2024:08:08:09 +0100] "
                              "\"GET /health HTTP/1.1\" 200 2 \"-\" "
                              "\"kube-probe/1.29\""),
                    0);
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    check_timestamp(&f.ev, "@timestamp", 1709622489 * NS);
    check_str(&f.ev, "source.ip", "203.0.113.9");
    check_str(&f.ev, "url.path", "/health");
    check_int(&f.ev, "http.response.status_code", 200);
    check_str(&f.ev, "user_agent.original", "kube-probe/1.29");
    LF_CHECK(lf_event_get(&f.ev, "transaction.id") == NULL);
    teardown(&f);
}

static void test_parser_chain_unmatched_line_tagged(void)
{
    const char line[] = "panic: runtime error: index out of range";
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, example_yaml), 0);
    LF_CHECK_INT_EQ(apply(&f, line), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    LF_CHECK_INT_EQ(f.ev.field_count, 0);
    LF_CHECK_MEM_EQ(f.ev.message, f.ev.message_len, line);
    /* The chain is reusable: the next line parses normally. */
    LF_CHECK_INT_EQ(apply(&f, "2024-03-05T07:08:09Z I [txn=a] GET / 200 1ms"),
                    0);
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    check_str(&f.ev, "log.level", "info");
    teardown(&f);
}

static void test_parser_chain_conversion_failure_keeps_event(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, example_yaml), 0);
    LF_CHECK_INT_EQ(apply(&f, "2024-03-05T07:08:09Z INFO [txn=a] GET / "
                              "99999999999999999999 1ms"),
                    0);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_CONVERSION_FAILURE);
    LF_CHECK(lf_event_get(&f.ev, "http.response.status_code") == NULL);
    check_int(&f.ev, "event.duration", 1000000);
    LF_CHECK_INT_EQ(apply(&f, "13:45:01 INFO [txn=a] GET / 200 1ms"), 0);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_TIMESTAMP_FAILURE);
    LF_CHECK(lf_event_get(&f.ev, "@timestamp") == NULL);
    teardown(&f);
}

static void test_parser_chain_first_match_wins(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - regex:\n"
                              "      pattern: '^(?<a>\\d+)$'\n"
                              "      fields: {a: labels.first}\n"
                              "  - regex:\n"
                              "      pattern: '^(?<b>\\w+)$'\n"
                              "      fields: {b: labels.second}\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "42"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    check_str(&f.ev, "labels.first", "42");
    LF_CHECK_INT_EQ(apply(&f, "abc"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    check_str(&f.ev, "labels.second", "abc");
    teardown(&f);
}

static void test_parser_chain_layout_timezone_and_float(void)
{
    struct chain_fixture f;

    LF_CHECK_INT_EQ(setup(&f,
                          "parsers:\n"
                          "  - regex:\n"
                          "      pattern: '^\\[(?<t>[^\\]]+)\\] (?<lvl>\\S+) "
                          "load=(?<load>\\S+) gc=(?<gc>\\S+)s'\n"
                          "      fields:\n"
                          "        t:\n"
                          "          field: '@timestamp'\n"
                          "          type: timestamp\n"
                          "          layout: '%d.%m.%Y %H:%M:%S,%f'\n"
                          "          timezone: '+02:00'\n"
                          "        lvl: {field: log.level}\n"
                          "        load: {field: system.load.1, type: float}\n"
                          "        gc: {field: event.duration, type: duration, "
                          "unit: s}\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "[05.03.2024 09:08:09,5] Notice load=0.25 "
                              "gc=1.5s"),
                    0);
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    check_timestamp(&f.ev, "@timestamp", 1709622489 * NS + 500000000);
    check_str(&f.ev, "log.level", "info");
    check_int(&f.ev, "event.duration", 1500000000);
    {
        const struct lf_value *v =
            get_typed(&f.ev, "system.load.1", LF_VALUE_FLOAT);

        if (v != NULL) {
            LF_CHECK_DOUBLE_EQ(v->u.f, 0.25);
        }
    }
    teardown(&f);
}

/* Returns the scalar at parsers[0].regex.fields.CAPTURE[.KEY]. */
static const char *example_field_text(const struct lf_conf *conf,
                                      const char *capture, const char *key)
{
    struct lf_conf_node node;
    struct lf_conf_node next;
    const char *text = NULL;

    lf_conf_root(conf, &node);
    lf_conf_child(&node, "parsers", &next);
    lf_conf_at(&next, 0, &node);
    lf_conf_child(&node, "regex", &next);
    lf_conf_child(&next, "fields", &node);
    lf_conf_child(&node, capture, &next);
    if (key != NULL) {
        lf_conf_child(&next, key, &node);
        next = node;
    }
    LF_CHECK_INT_EQ(lf_conf_scalar(&next, &text, errbuf, sizeof(errbuf)), 0);
    return text;
}

static void test_parser_chain_keys_borrowed_from_document(void)
{
    struct chain_fixture f;
    const char *txn_key;
    const char *status_key;

    LF_CHECK_INT_EQ(setup(&f, example_yaml), 0);
    LF_CHECK_INT_EQ(
        apply(&f, "2024-03-05T07:08:09Z INFO [txn=a] GET / 200 1ms"), 0);
    txn_key = example_field_text(f.conf, "txn", NULL);
    status_key = example_field_text(f.conf, "status", "field");
    for (size_t i = 0; i < f.ev.field_count; i++) {
        const char *key = f.ev.fields[i].key;

        if (strcmp(key, "transaction.id") == 0) {
            LF_CHECK(key == txn_key);
        }
        if (strcmp(key, "http.response.status_code") == 0) {
            LF_CHECK(key == status_key);
        }
    }
    LF_CHECK_STR_EQ(txn_key, "transaction.id");
    LF_CHECK_STR_EQ(status_key, "http.response.status_code");
    teardown(&f);
}

static void test_parser_chain_missing_or_null_parses_nothing(void)
{
    static const char *const docs[] = {"inputs: []\n", "parsers:\n",
                                       "parsers: []\n"};

    for (size_t i = 0; i < LF_ARRAY_SIZE(docs); i++) {
        struct chain_fixture f;

        LF_CHECK_INT_EQ(setup(&f, docs[i]), 0);
        LF_CHECK(f.chain != NULL);
        if (f.chain != NULL) {
            LF_CHECK_INT_EQ(apply(&f, "anything at all"), 0);
            LF_CHECK_INT_EQ(f.ev.tags, 0);
            LF_CHECK_INT_EQ(f.ev.field_count, 0);
        }
        teardown(&f);
    }
}

/* Builds the chain of `yaml` and expects LF_ECONFIG with `message`. */
static void check_error(const char *yaml, const char *message)
{
    struct chain_fixture f;
    int rc = setup(&f, yaml);

    LF_CHECK_INT_EQ(rc, LF_ECONFIG);
    LF_CHECK(f.chain == NULL);
    LF_CHECK_STR_EQ(errbuf, message);
    teardown(&f);
}

static void test_parser_chain_errors_parser_entries(void)
{
    check_error("parsers: nginx\n",
                "test.yml:1: parsers: parsers must be a list, such as "
                "`- preset: nginx`");
    check_error("parsers:\n"
                "  - preset: nginx\n"
                "  - preset: nginx\n"
                "    regex: {pattern: x}\n",
                "test.yml:3: parsers[1]: each parser is a map with one key, "
                "the parser type: one of regex, preset, grok, json, logfmt, syslog, timestamp");
    check_error("parsers:\n"
                "  - haproxy: {}\n",
                "test.yml:2: parsers[0]: unknown parser type 'haproxy': "
                "expected one of regex, preset, grok, json, logfmt, syslog, timestamp");
    check_error("parsers:\n"
                "  - regex: {pattern: '(?<a>x)', fields: {a: labels.a}, "
                "field: ''}\n",
                "test.yml:2: parsers[0].regex.field: field must name the "
                "field to parse, such as message");
    check_error("parsers:\n"
                "  - preset: nginx\n"
                "  - preset: haproxy\n",
                "test.yml:3: parsers[1].preset: unknown preset 'haproxy': "
                "expected one of nginx, apache, app, python, java, go, rails, "
                "syslog, auth");
}

static void test_parser_chain_errors_regex(void)
{
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x'\n"
                "      fields: {a: labels.a}\n",
                "test.yml:3: parsers[0].regex.pattern: invalid pattern: "
                "missing closing parenthesis at offset 6");
    check_error("parsers:\n"
                "  - regex:\n"
                "      fields: {a: labels.a}\n",
                "test.yml:2: parsers[0].regex: pattern is required: a PCRE2 "
                "regex with named captures such as (?<status>\\d+)");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n",
                "test.yml:2: parsers[0].regex: fields must be a map from "
                "named captures to ECS fields, such as `status: {field: "
                "http.response.status_code, type: integer}`");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: labels.a\n"
                "        b: labels.b\n",
                "test.yml:6: parsers[0].regex.fields.b: the pattern has no "
                "capture named 'b'; write it as (?<b>...)");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?J)(?<a>x)|(?<a>y)'\n"
                "      fields: {a: labels.a}\n",
                "test.yml:4: parsers[0].regex.fields.a: capture 'a' names "
                "several groups of the pattern; give each group its own "
                "name");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      flags: i\n"
                "      fields: {a: labels.a}\n",
                "test.yml:4: parsers[0].regex: unknown key 'flags'. Valid "
                "keys: pattern, fields, field");
}

/*
 * A step given `field:` parses that field after the line matched, and a
 * field value that it does not match tags the event.
 */
static void test_parser_chain_field_step_parses_a_field(void)
{
    struct chain_fixture f;
    const char *yaml =
        "parsers:\n"
        "  - regex:\n"
        "      pattern: '^(?<level>\\w+) (?<rest>.*)$'\n"
        "      fields: {level: log.level, rest: labels.rest}\n"
        "  - regex:\n"
        "      field: labels.rest\n"
        "      pattern: '^user=(?<user>\\w+)$'\n"
        "      fields: {user: user.id}\n";

    LF_CHECK_INT_EQ(setup(&f, yaml), 0);
    LF_CHECK_INT_EQ(apply(&f, "INFO user=ann"), 0);
    check_str(&f.ev, "log.level", "info");
    check_str(&f.ev, "user.id", "ann");
    LF_CHECK_INT_EQ(f.ev.tags, 0);

    LF_CHECK_INT_EQ(apply(&f, "WARN disk=90"), LF_ENOMATCH);
    check_str(&f.ev, "log.level", "warn");
    LF_CHECK(lf_event_get(&f.ev, "user.id") == NULL);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);

    /* No line match: the field step finds no field and adds nothing. */
    LF_CHECK_INT_EQ(apply(&f, "-"), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.field_count, 0);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    teardown(&f);
}

/* `field: message` reads the line itself when no step set a message. */
static void test_parser_chain_field_message_is_the_line(void)
{
    struct chain_fixture f;
    const char *yaml = "parsers:\n"
                       "  - regex:\n"
                       "      field: message\n"
                       "      pattern: '^(?<level>\\w+) '\n"
                       "      fields: {level: log.level}\n";

    LF_CHECK_INT_EQ(setup(&f, yaml), 0);
    LF_CHECK_INT_EQ(apply(&f, "ERROR disk full"), 0);
    check_str(&f.ev, "log.level", "error");
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    LF_CHECK_INT_EQ(apply(&f, "-"), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    teardown(&f);
}

static void test_parser_chain_errors_field_specs(void)
{
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: labels.a, type: long}\n",
                "test.yml:5: parsers[0].regex.fields.a.type: invalid type "
                "'long': expected one of string, integer, float, timestamp, "
                "duration");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {type: integer}\n",
                "test.yml:5: parsers[0].regex.fields.a: field is required: "
                "the ECS field to set, such as url.path");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: event.duration, type: duration}\n",
                "test.yml:5: parsers[0].regex.fields.a: unit is required for "
                "type duration: one of ns, us, ms, s, m, h");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: event.duration, type: duration, unit: "
                "sec}\n",
                "test.yml:5: parsers[0].regex.fields.a.unit: invalid unit "
                "'sec': expected one of ns, us, ms, s, m, h");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: labels.a, type: integer, unit: ms}\n",
                "test.yml:5: parsers[0].regex.fields.a.unit: unit does not "
                "apply to type integer");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: labels.a, layout: '%F'}\n",
                "test.yml:5: parsers[0].regex.fields.a.layout: layout does "
                "not apply to type string");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: '@timestamp', type: timestamp, layout: "
                "'%H:%M'}\n",
                "test.yml:5: parsers[0].regex.fields.a.layout: invalid layout "
                "'%H:%M': layout has no date: it needs a month (%m, %b) and "
                "a day (%d, %e), or %s");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: '@timestamp', type: timestamp, timezone: "
                "Mars/Olympus}\n",
                "test.yml:5: parsers[0].regex.fields.a.timezone: unknown "
                "timezone 'Mars/Olympus' (cannot read "
                "/usr/share/zoneinfo/Mars/Olympus: no such file or "
                "directory): expected UTC, Local, an offset such as +02:00 "
                "or an IANA zone name such as Europe/Berlin; install tzdata "
                "or set TZDIR to its directory");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: [labels.a]\n",
                "test.yml:5: parsers[0].regex.fields.a: expected a string, "
                "got a list");
    check_error("parsers:\n"
                "  - regex:\n"
                "      pattern: '(?<a>x)'\n"
                "      fields:\n"
                "        a: {field: labels.a, format: x}\n",
                "test.yml:5: parsers[0].regex.fields.a: unknown key "
                "'format'. Valid keys: field, type, unit, layout, timezone");
}

int main(void)
{
    LF_RUN(test_parser_chain_example_regex_line);
    LF_RUN(test_parser_chain_example_falls_to_preset);
    LF_RUN(test_parser_chain_unmatched_line_tagged);
    LF_RUN(test_parser_chain_conversion_failure_keeps_event);
    LF_RUN(test_parser_chain_first_match_wins);
    LF_RUN(test_parser_chain_layout_timezone_and_float);
    LF_RUN(test_parser_chain_keys_borrowed_from_document);
    LF_RUN(test_parser_chain_missing_or_null_parses_nothing);
    LF_RUN(test_parser_chain_field_step_parses_a_field);
    LF_RUN(test_parser_chain_field_message_is_the_line);
    LF_RUN(test_parser_chain_errors_parser_entries);
    LF_RUN(test_parser_chain_errors_regex);
    LF_RUN(test_parser_chain_errors_field_specs);
    return lf_test_end();
}
