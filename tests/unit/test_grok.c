/*
 * Tests of the grok parser: expansion of references and Ruby regex syntax,
 * the built-in library, configuration errors with their messages, typed
 * fields, fields stored by several groups, `@metadata` captures and the
 * order in which patterns are tried.
 */
#include "lf_test.h"

#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "lf/parser.h"
#include "parsers/grok.h"
#include "parsers/grok_expand.h"
#include "parsers/grok_library.h"
#include "parsers/regex.h"

static char errbuf[1024];
static char reason[512];

struct grok_fixture {
    struct lf_conf *conf;
    struct lf_parser_chain *chain;
    struct lf_event ev;
};

/* Loads `yaml` and builds the chain at `parsers`; returns the code. */
static int setup(struct grok_fixture *f, const char *yaml)
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

static void teardown(struct grok_fixture *f)
{
    lf_event_cleanup(&f->ev);
    lf_parser_chain_free(f->chain);
    lf_conf_free(f->conf);
}

static int apply(struct grok_fixture *f, const char *line)
{
    lf_event_reset(&f->ev);
    f->ev.message = line;
    f->ev.message_len = strlen(line);
    return lf_parser_chain_apply(f->chain, &f->ev, 0);
}

/* Returns the value of `key`, or NULL when it is absent or of another type. */
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

#define CHECK_FIELD_STR(ev, key, expected)                                     \
    do {                                                                       \
        const struct lf_value *v_ = get_typed(ev, key, LF_VALUE_STRING);       \
        if (v_ != NULL) {                                                      \
            LF_CHECK_MEM_EQ(v_->u.str.ptr, v_->u.str.len, expected);           \
        }                                                                      \
    } while (0)

#define CHECK_FIELD_INT(ev, key, expected)                                     \
    do {                                                                       \
        const struct lf_value *v_ = get_typed(ev, key, LF_VALUE_INT);          \
        if (v_ != NULL) {                                                      \
            LF_CHECK_INT_EQ(v_->u.i, expected);                                \
        }                                                                      \
    } while (0)

static const struct lf_grok_def custom_defs[] = {
    {"DIGITS", "\\d+"},
    {"LOOP_A", "a%{LOOP_B}"},
    {"LOOP_B", "b%{LOOP_A}"},
    {"WORD", "custom-word"},
};

/* Expands `pattern` with custom_defs over the ecs-v1 library. */
static int expand(struct lf_grok_expansion *x, const char *pattern)
{
    lf_grok_expansion_init(x, lf_grok_ecs_v1, lf_grok_ecs_v1_count, custom_defs,
                           LF_ARRAY_SIZE(custom_defs));
    reason[0] = '\0';
    return lf_grok_expand(x, pattern, reason, sizeof(reason));
}

static void test_grok_expand_reference_forms(void)
{
    struct lf_grok_expansion x;

    LF_CHECK_INT_EQ(expand(&x,
                           "%{DIGITS} %{DIGITS:n} %{DIGITS:[url][port]:int} "
                           "%{DIGITS:f:float} %{DIGITS:s:string}"),
                    0);
    LF_CHECK_STR_EQ(x.regex.data, "(?:\\d+) (?<g0>\\d+) (?<g1>\\d+) "
                                  "(?<g2>\\d+) (?<g3>\\d+)");
    LF_CHECK_INT_EQ(x.capture_count, 4);
    if (x.capture_count == 4) {
        LF_CHECK_STR_EQ(x.captures[0].key, "n");
        LF_CHECK_STR_EQ(x.captures[0].type, "string");
        LF_CHECK_STR_EQ(x.captures[1].key, "url.port");
        LF_CHECK_STR_EQ(x.captures[1].type, "integer");
        LF_CHECK_STR_EQ(x.captures[2].key, "f");
        LF_CHECK_STR_EQ(x.captures[2].type, "float");
        LF_CHECK_STR_EQ(x.captures[3].type, "string");
    }
    lf_grok_expansion_cleanup(&x);
}

static void test_grok_expand_integer_type_aliases(void)
{
    struct lf_grok_expansion x;

    LF_CHECK_INT_EQ(expand(&x, "%{DIGITS:a:integer}"), 0);
    LF_CHECK_INT_EQ(x.capture_count, 1);
    if (x.capture_count == 1) {
        LF_CHECK_STR_EQ(x.captures[0].type, "integer");
    }
    lf_grok_expansion_cleanup(&x);
}

static void test_grok_expand_nested_library_references(void)
{
    struct lf_grok_expansion x;

    /* IPORHOST refers to IP and HOSTNAME, IP to IPV6 and IPV4. */
    LF_CHECK_INT_EQ(expand(&x, "%{IPORHOST:source.address}"), 0);
    LF_CHECK_INT_EQ(x.capture_count, 1);
    LF_CHECK(strncmp(x.regex.data, "(?<g0>(?:(?:(?:", 15) == 0);
    LF_CHECK(strstr(x.regex.data, "%{") == NULL);
    lf_grok_expansion_cleanup(&x);
}

static void test_grok_expand_custom_overrides_library(void)
{
    struct lf_grok_expansion x;

    LF_CHECK_INT_EQ(expand(&x, "%{WORD}"), 0);
    LF_CHECK_STR_EQ(x.regex.data, "(?:custom-word)");
    lf_grok_expansion_cleanup(&x);
}

static void test_grok_expand_inline_named_groups(void)
{
    struct lf_grok_expansion x;

    LF_CHECK_INT_EQ(expand(&x, "(?<[event][code]>\\d+) (?<user.name>\\w+) "
                               "(?<=x)(?<!y)"),
                    0);
    LF_CHECK_STR_EQ(x.regex.data, "(?<g0>\\d+) (?<g1>\\w+) (?<=x)(?<!y)");
    LF_CHECK_INT_EQ(x.capture_count, 2);
    if (x.capture_count == 2) {
        LF_CHECK_STR_EQ(x.captures[0].key, "event.code");
        LF_CHECK_STR_EQ(x.captures[1].key, "user.name");
    }
    lf_grok_expansion_cleanup(&x);
}

static void test_grok_expand_translates_ruby_syntax(void)
{
    static const struct {
        const char *ruby;
        const char *pcre2;
    } cases[] = {
        {"\\h{32}", "[0-9A-Fa-f]{32}"},
        {"\\H", "[^0-9A-Fa-f]"},
        {"[\\h-]+", "[0-9A-Fa-f-]+"},
        {"\\\\h", "\\\\h"},
        {"(?m)a.b", "(?s)a.b"},
        {"(?im:a)", "(?is:a)"},
        {"(?:a)(?>b)(?=c)", "(?:a)(?>b)(?=c)"},
        {"(/[[[:alnum:]]_.-]*)+", "(/[[:alnum:]\\x80-\\xff_.-]*)+"},
        {"[[:digit:]]", "[[:digit:]]"},
        {"[[:alpha:][:alnum:]]", "[[:alpha:]\\x80-\\xff[:alnum:]\\x80-\\xff]"},
        {"[[:]", "[[:]"},
        {"[]a]", "[]a]"},
        {"[^]a]", "[^]a]"},
        {"[a\\]b]", "[a\\]b]"},
        {".?*x", ".*x"},
        {"(?*", "(?*"},
        {"a*?b", "a*?b"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_grok_expansion x;

        LF_CHECK_INT_EQ(expand(&x, cases[i].ruby), 0);
        LF_CHECK_STR_EQ(x.regex.data, cases[i].pcre2);
        lf_grok_expansion_cleanup(&x);
    }
}

static void test_grok_expand_errors(void)
{
    static const struct {
        const char *pattern;
        const char *reason;
    } cases[] = {
        {"%{NOPE:x}",
         "unknown grok pattern 'NOPE': define it under pattern_definitions "
         "or check the name against the library of the ecs_compatibility "
         "set"},
        {"%{LOOP_A}", "grok pattern 'LOOP_A' refers to itself: remove the "
                      "cycle from pattern_definitions (in the definition of "
                      "LOOP_B)"},
        {"%{DIGITS:n:bool}",
         "invalid type in '%{DIGITS:n:bool}': use int, float or string"},
        {"%{DIGITS:n", "unterminated reference '%{DIGITS:n': write "
                       "%{NAME}, %{NAME:field} or %{NAME:field:type}"},
        {"%{DIGITS n}", "invalid reference '%{DIGITS n}': write %{NAME}, "
                        "%{NAME:field} or %{NAME:field:type}"},
        {"%{:x}", "invalid reference '%{:x}': write %{NAME}, "
                  "%{NAME:field} or %{NAME:field:type}"},
        {"%{DIGITS:}", "invalid reference '%{DIGITS:}': write %{NAME}, "
                       "%{NAME:field} or %{NAME:field:type}"},
        {"%{DIGITS:[a]b}", "invalid field name '[a]b': write a dotted "
                           "path such as url.path or [url][path]"},
        {"%{DIGITS:[a][]}", "invalid field name '[a][]': write a dotted "
                            "path such as url.path or [url][path]"},
        {"(?<>x)", "invalid named group '(?<>x)': write (?<field>...)"},
        {"[a[^b]]", "a negated class inside a character class has no "
                    "PCRE2 form: rewrite '[a[^b]]' without it"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_grok_expansion x;

        LF_CHECK_INT_EQ(expand(&x, cases[i].pattern), LF_EINVAL);
        LF_CHECK_STR_EQ(reason, cases[i].reason);
        lf_grok_expansion_cleanup(&x);
    }
}

static void test_grok_expand_depth_limit(void)
{
    struct lf_grok_def defs[LF_GROK_MAX_DEPTH + 2];
    char names[LF_GROK_MAX_DEPTH + 2][16];
    char bodies[LF_GROK_MAX_DEPTH + 2][24];
    struct lf_grok_expansion x;

    /* P0 -> P1 -> ... -> P33, one level deeper than allowed. */
    for (int i = 0; i < LF_GROK_MAX_DEPTH + 2; i++) {
        snprintf(names[i], sizeof(names[i]), "P%d", i);
        if (i + 1 < LF_GROK_MAX_DEPTH + 2) {
            snprintf(bodies[i], sizeof(bodies[i]), "x%%{P%d}", i + 1);
        } else {
            snprintf(bodies[i], sizeof(bodies[i]), "end");
        }
        defs[i].name = names[i];
        defs[i].regex = bodies[i];
    }
    lf_grok_expansion_init(&x, NULL, 0, defs, LF_GROK_MAX_DEPTH + 2);
    LF_CHECK_INT_EQ(lf_grok_expand(&x, "%{P0}", reason, sizeof(reason)),
                    LF_EINVAL);
    LF_CHECK_STR_EQ(reason, "grok pattern 'P32' nests more than 32 "
                            "references deep: flatten the definitions (in "
                            "the definition of P31)");
    lf_grok_expansion_cleanup(&x);

    /* Exactly the limit is fine: P2 -> ... -> P33 is 32 levels. */
    lf_grok_expansion_init(&x, NULL, 0, defs, LF_GROK_MAX_DEPTH + 2);
    LF_CHECK_INT_EQ(lf_grok_expand(&x, "%{P2}", reason, sizeof(reason)), 0);
    lf_grok_expansion_cleanup(&x);
}

static void check_library(const struct lf_grok_def *set, size_t count,
                          const char *set_name)
{
    size_t failed = 0;

    for (size_t i = 0; i < count; i++) {
        struct lf_grok_expansion x;
        struct lf_regex *re = NULL;
        char pattern[160];
        char compiled_reason[256];

        if (i > 0 && strcmp(set[i - 1].name, set[i].name) >= 0) {
            LF_FAIL_AT("%s: %s is not sorted after %s", set_name, set[i].name,
                       set[i - 1].name);
        }
        LF_CHECK(lf_grok_find(set, count, set[i].name, strlen(set[i].name)) ==
                 &set[i]);
        snprintf(pattern, sizeof(pattern), "%%{%s}", set[i].name);
        lf_grok_expansion_init(&x, set, count, NULL, 0);
        lf_buf_append_str(&x.regex, "(?msn)");
        if (lf_grok_expand(&x, pattern, reason, sizeof(reason)) != 0) {
            LF_FAIL_AT("%s: %s does not expand: %s", set_name, set[i].name,
                       reason);
            failed++;
        } else if (lf_regex_new(x.regex.data, &re, compiled_reason,
                                sizeof(compiled_reason)) != 0) {
            LF_FAIL_AT("%s: %s does not compile: %s", set_name, set[i].name,
                       compiled_reason);
            failed++;
        }
        lf_regex_free(re);
        lf_grok_expansion_cleanup(&x);
    }
    LF_CHECK_INT_EQ(failed, 0);
}

static void test_grok_library_every_pattern_compiles(void)
{
    LF_CHECK_INT_EQ(lf_grok_ecs_v1_count, 361);
    LF_CHECK_INT_EQ(lf_grok_legacy_count, 317);
    check_library(lf_grok_ecs_v1, lf_grok_ecs_v1_count, "ecs-v1");
    check_library(lf_grok_legacy, lf_grok_legacy_count, "legacy");
    LF_CHECK(lf_grok_find(lf_grok_ecs_v1, lf_grok_ecs_v1_count, "IPORHOSTX",
                          strlen("IPORHOST")) != NULL);
    LF_CHECK(lf_grok_find(lf_grok_ecs_v1, lf_grok_ecs_v1_count, "IPORHOS",
                          strlen("IPORHOS")) == NULL);
}

/* The example of the configuration reference. */
static const char example_yaml[] =
    "parsers:\n"
    "  - grok:\n"
    "      patterns:\n"
    "        - '%{IPORHOST:source.address} %{WORD:http.request.method} "
    "%{URIPATH:url.path} %{NUMBER:http.response.status_code:int} "
    "%{NUMBER:event.duration:int}'\n"
    "        - '%{SYSLOGTIMESTAMP:timestamp} %{TXN:transaction.id} "
    "%{GREEDYDATA:message}'\n"
    "      pattern_definitions:\n"
    "        TXN: 'txn-[0-9a-f]{8}'\n"
    "      ecs_compatibility: v1\n";

static void test_grok_chain_example(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, example_yaml), 0);
    LF_CHECK_STR_EQ(errbuf, "");
    if (f.chain == NULL) {
        teardown(&f);
        return;
    }
    LF_CHECK_INT_EQ(apply(&f, "10.0.0.7 GET /api/tasks/42 200 1532"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 5);
    CHECK_FIELD_STR(&f.ev, "source.address", "10.0.0.7");
    CHECK_FIELD_STR(&f.ev, "http.request.method", "GET");
    CHECK_FIELD_STR(&f.ev, "url.path", "/api/tasks/42");
    CHECK_FIELD_INT(&f.ev, "http.response.status_code", 200);
    CHECK_FIELD_INT(&f.ev, "event.duration", 1532);
    LF_CHECK_INT_EQ(f.ev.tags, 0);

    LF_CHECK_INT_EQ(apply(&f, "Dec  4 22:10:01 txn-0a1b2c3d payment "
                              "captured"),
                    0);
    LF_CHECK_INT_EQ(f.ev.field_count, 3);
    CHECK_FIELD_STR(&f.ev, "timestamp", "Dec  4 22:10:01");
    CHECK_FIELD_STR(&f.ev, "transaction.id", "txn-0a1b2c3d");
    CHECK_FIELD_STR(&f.ev, "message", "payment captured");

    LF_CHECK_INT_EQ(apply(&f, "no format here"), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.field_count, 0);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    teardown(&f);
}

/*
 * The first pattern wins wherever it matches: the second would match at
 * the start of the line, the first only at its end.
 */
static void test_grok_first_pattern_wins_anywhere(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - 'status=%{INT:code:int}'\n"
                              "        - '^%{WORD:first}'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "request done status=503"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    CHECK_FIELD_INT(&f.ev, "code", 503);
    LF_CHECK(lf_event_get(&f.ev, "first") == NULL);

    LF_CHECK_INT_EQ(apply(&f, "request done"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    CHECK_FIELD_STR(&f.ev, "first", "request");
    teardown(&f);
}

/* A field named in two patterns is set by whichever matched. */
static void test_grok_same_field_in_two_patterns(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^A %{INT:n:int}$'\n"
                              "        - '^B %{INT:n:int} %{WORD:w}$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "B 7 seven"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 2);
    CHECK_FIELD_INT(&f.ev, "n", 7);
    CHECK_FIELD_STR(&f.ev, "w", "seven");
    LF_CHECK_INT_EQ(apply(&f, "A 12"), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    CHECK_FIELD_INT(&f.ev, "n", 12);
    teardown(&f);
}

/* Builds one grok step from `yaml` (a `grok:` value) outside a chain. */
static int create_step(const char *yaml, struct lf_conf **conf, void **state)
{
    struct lf_conf_node root;
    struct lf_conf_node spec;
    int rc;

    *state = NULL;
    rc = lf_conf_load_string(yaml, strlen(yaml), "test.yml", conf, errbuf,
                             sizeof(errbuf));
    if (rc != 0) {
        LF_FAIL_AT("configuration did not load: %s", errbuf);
        return rc;
    }
    lf_conf_root(*conf, &root);
    lf_conf_child(&root, "grok", &spec);
    return lf_grok_kind.create(&spec, state, errbuf, sizeof(errbuf));
}

static void test_grok_unnamed_references_do_not_capture(void)
{
    struct lf_conf *conf = NULL;
    void *state = NULL;

    /* SYSLOGLINE has groups of its own; only the named ones capture. */
    LF_CHECK_INT_EQ(create_step("grok:\n"
                                "  patterns: ['%{SYSLOGLINE} (?:a|(b))']\n"
                                "  ecs_compatibility: disabled\n",
                                &conf, &state),
                    0);
    if (state != NULL) {
        LF_CHECK_INT_EQ(lf_grok_kind.capture_count(state), 8);
    }
    lf_grok_kind.destroy(state);
    lf_conf_free(conf);

    LF_CHECK_INT_EQ(create_step("grok:\n"
                                "  patterns:\n"
                                "    - '%{IPORHOST} %{IPORHOST:a}'\n"
                                "    - '%{HTTPDATE} %{WORD:b} %{WORD:c}'\n",
                                &conf, &state),
                    0);
    if (state != NULL) {
        LF_CHECK_INT_EQ(lf_grok_kind.capture_count(state), 3);
    }
    lf_grok_kind.destroy(state);
    lf_conf_free(conf);
}

static void test_grok_types_and_conversions(void)
{
    struct grok_fixture f;
    const struct lf_value *v;

    LF_CHECK_INT_EQ(
        setup(&f, "parsers:\n"
                  "  - grok:\n"
                  "      patterns:\n"
                  "        - '^%{LOGLEVEL:log.level} %{NUMBER:n:int} "
                  "%{NUMBER:f:float} %{NUMBER:s} (?<empty>x?)%{DATA:rest}$'\n"),
        0);
    LF_CHECK_INT_EQ(apply(&f, "WARNING 42 2.5 7 tail"), 0);
    CHECK_FIELD_STR(&f.ev, "log.level", "warn");
    CHECK_FIELD_INT(&f.ev, "n", 42);
    v = get_typed(&f.ev, "f", LF_VALUE_FLOAT);
    if (v != NULL) {
        LF_CHECK_DOUBLE_EQ(v->u.f, 2.5);
    }
    CHECK_FIELD_STR(&f.ev, "s", "7");
    CHECK_FIELD_STR(&f.ev, "rest", "tail");
    /* An empty capture is left out, as Logstash does by default. */
    LF_CHECK(lf_event_get(&f.ev, "empty") == NULL);
    LF_CHECK_INT_EQ(f.ev.field_count, 5);
    LF_CHECK_INT_EQ(f.ev.tags, 0);

    /* 4.5 is no integer: the field is left out and the event tagged. */
    LF_CHECK_INT_EQ(apply(&f, "info 4.5 1 7 x"), 0);
    LF_CHECK(lf_event_get(&f.ev, "n") == NULL);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_CONVERSION_FAILURE);
    CHECK_FIELD_STR(&f.ev, "log.level", "info");
    teardown(&f);
}

static void test_grok_multiline_event(void)
{
    struct grok_fixture f;

    /* As in Logstash, `.` crosses newlines and `^` matches after them. */
    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^%{WORD:head} %{GREEDYDATA:body}'\n"
                              "      ecs_compatibility: disabled\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "Exception boom\n\tat a.b(C.java:1)"), 0);
    CHECK_FIELD_STR(&f.ev, "head", "Exception");
    CHECK_FIELD_STR(&f.ev, "body", "boom\n\tat a.b(C.java:1)");
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns: '^at %{WORD:frame}$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "Exception\nat main\nmore"), 0);
    CHECK_FIELD_STR(&f.ev, "frame", "main");
    teardown(&f);
}

static void test_grok_parses_a_field(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns: ['^%{WORD:a} %{GREEDYDATA:b}']\n"
                              "  - grok:\n"
                              "      patterns: ['%{INT:n:int}']\n"
                              "      field: b\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "x took 15 ms"), 0);
    CHECK_FIELD_STR(&f.ev, "a", "x");
    CHECK_FIELD_STR(&f.ev, "b", "took 15 ms");
    CHECK_FIELD_INT(&f.ev, "n", 15);
    teardown(&f);
}

/* A 1 MiB line that no pattern matches is tagged, not crashed on. */
static void test_grok_long_line_without_match(void)
{
    static char line[1024 * 1024 + 1];
    struct grok_fixture f;

    memset(line, 'a', sizeof(line) - 1);
    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^%{WORD:w} x$'\n"
                              "        - '%{INT:n:int} ms'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, line), LF_ENOMATCH);
    LF_CHECK_INT_EQ(f.ev.field_count, 0);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_PARSE_FAILURE);
    line[sizeof(line) - 6] = ' ';
    memcpy(line + sizeof(line) - 5, "1 ms", 4);
    LF_CHECK_INT_EQ(apply(&f, line), 0);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    CHECK_FIELD_INT(&f.ev, "n", 1);
    teardown(&f);
}

#define CHECK_FIELD_JSON(ev, key, expected)                                    \
    do {                                                                       \
        const struct lf_value *v_ = get_typed(ev, key, LF_VALUE_JSON);         \
        if (v_ != NULL) {                                                      \
            LF_CHECK_MEM_EQ(v_->u.str.ptr, v_->u.str.len, expected);           \
        }                                                                      \
    } while (0)

/* Two groups of one pattern store one field: both values, in group order. */
static void test_grok_repeated_field_array(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^%{NOTSPACE:q} %{NOTSPACE:q} "
                              "%{WORD:other}$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "first second third"), 0);
    CHECK_FIELD_JSON(&f.ev, "q", "[\"first\",\"second\"]");
    CHECK_FIELD_STR(&f.ev, "other", "third");
    LF_CHECK_INT_EQ(f.ev.field_count, 2);

    /* Values are escaped, and invalid UTF-8 becomes U+FFFD. */
    LF_CHECK_INT_EQ(apply(&f, "a\"b c\\\xff end"), 0);
    CHECK_FIELD_JSON(&f.ev, "q", "[\"a\\\"b\",\"c\\\\\xef\xbf\xbd\"]");
    CHECK_FIELD_STR(&f.ev, "other", "end");

    /* The same line again: the array is rebuilt, not appended to. */
    LF_CHECK_INT_EQ(apply(&f, "first second third"), 0);
    CHECK_FIELD_JSON(&f.ev, "q", "[\"first\",\"second\"]");
    teardown(&f);
}

static void test_grok_repeated_field_types(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^%{INT:n:int} %{NUMBER:n:float} "
                              "%{WORD:n}$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "-7 2.5 x"), 0);
    CHECK_FIELD_JSON(&f.ev, "n", "[-7,2.5,\"x\"]");
    LF_CHECK_INT_EQ(apply(&f, "1 3 y"), 0);
    CHECK_FIELD_JSON(&f.ev, "n", "[1,3.0,\"y\"]");
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    teardown(&f);
}

/* One group of several that took part gives a scalar, as before. */
static void test_grok_repeated_field_one_value(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^(?:%{INT:n:int}|x-%{WORD:n})$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "42"), 0);
    CHECK_FIELD_INT(&f.ev, "n", 42);
    LF_CHECK_INT_EQ(apply(&f, "x-abc"), 0);
    CHECK_FIELD_STR(&f.ev, "n", "abc");
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    teardown(&f);
}

/* Empty values and values that do not convert are left out of the array. */
static void test_grok_repeated_field_skips_values(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^(?<q>a?)-%{WORD:q}-%{WORD:n:int}-"
                              "%{WORD:n:int}-%{WORD:n:int}$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "-b-5-z-6"), 0);
    CHECK_FIELD_STR(&f.ev, "q", "b");
    CHECK_FIELD_JSON(&f.ev, "n", "[5,6]");
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_CONVERSION_FAILURE);

    LF_CHECK_INT_EQ(apply(&f, "a-b-x-7-y"), 0);
    CHECK_FIELD_JSON(&f.ev, "q", "[\"a\",\"b\"]");
    CHECK_FIELD_INT(&f.ev, "n", 7);
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_CONVERSION_FAILURE);

    LF_CHECK_INT_EQ(apply(&f, "a-b-x-y-z"), 0);
    LF_CHECK(lf_event_get(&f.ev, "n") == NULL);
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    teardown(&f);
}

/* A repeated field without a value keeps what an earlier step set. */
static void test_grok_repeated_field_keeps_earlier(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns: ['^%{WORD:n} %{GREEDYDATA:b}']\n"
                              "  - grok:\n"
                              "      patterns: ['^%{WORD:n:int} "
                              "%{WORD:n:int}$']\n"
                              "      field: b\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "x y z"), 0);
    CHECK_FIELD_STR(&f.ev, "n", "x");
    LF_CHECK_INT_EQ(f.ev.tags, LF_TAG_CONVERSION_FAILURE);
    LF_CHECK_INT_EQ(apply(&f, "x 3 z"), 0);
    CHECK_FIELD_INT(&f.ev, "n", 3);
    LF_CHECK_INT_EQ(apply(&f, "x 3 4"), 0);
    CHECK_FIELD_JSON(&f.ev, "n", "[3,4]");
    LF_CHECK_INT_EQ(f.ev.tags, 0);
    teardown(&f);
}

/* Captures into @metadata are stored like any field; writers skip them. */
static void test_grok_metadata_fields(void)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "parsers:\n"
                              "  - grok:\n"
                              "      patterns:\n"
                              "        - '^%{WORD:[@metadata][kind]} "
                              "%{INT:@metadata.size:int} %{GREEDYDATA:rest}$'\n"),
                    0);
    LF_CHECK_INT_EQ(apply(&f, "audit 12 user login"), 0);
    CHECK_FIELD_STR(&f.ev, "@metadata.kind", "audit");
    CHECK_FIELD_INT(&f.ev, "@metadata.size", 12);
    CHECK_FIELD_STR(&f.ev, "rest", "user login");
    LF_CHECK_INT_EQ(f.ev.field_count, 3);
    teardown(&f);
}

static void check_error(const char *yaml, const char *expected)
{
    struct grok_fixture f;

    LF_CHECK_INT_EQ(setup(&f, yaml), LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(f.chain == NULL);
    teardown(&f);
}

static void test_grok_config_errors(void)
{
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{IP:a}', '%{NOPE:b}']\n",
                "test.yml:3: parsers[0].grok.patterns[1]: unknown grok "
                "pattern 'NOPE': define it under pattern_definitions or "
                "check the name against the library of the "
                "ecs_compatibility set");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{A}']\n"
                "      pattern_definitions:\n"
                "        A: 'x%{B}'\n"
                "        B: 'y%{A}'\n",
                "test.yml:3: parsers[0].grok.patterns[0]: grok pattern 'A' "
                "refers to itself: remove the cycle from "
                "pattern_definitions (in the definition of B)");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{INT:n:long}']\n",
                "test.yml:3: parsers[0].grok.patterns[0]: invalid type in "
                "'%{INT:n:long}': use int, float or string");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{INT:n}', '%{INT:n} (']\n",
                "test.yml:3: parsers[0].grok.patterns[1]: grok pattern does "
                "not compile after expansion (invalid pattern: missing "
                "closing parenthesis at offset 34): check the regex syntax "
                "of the pattern and of the definitions it uses");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: []\n",
                "test.yml:3: parsers[0].grok.patterns: patterns is "
                "required: a list of grok patterns such as "
                "'%{IP:source.ip} %{GREEDYDATA:message}'");
    check_error("parsers:\n"
                "  - grok:\n"
                "      ecs_compatibility: v1\n",
                "test.yml:2: parsers[0].grok: patterns is required: a list "
                "of grok patterns such as '%{IP:source.ip} "
                "%{GREEDYDATA:message}'");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{IP}']\n"
                "      ecs_compatibility: v8\n",
                "test.yml:4: parsers[0].grok.ecs_compatibility: invalid "
                "ecs_compatibility 'v8': expected v1 (ECS field names) or "
                "disabled (legacy names)");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{IP}']\n"
                "      pattern_definitions: ['A x']\n",
                "test.yml:4: parsers[0].grok.pattern_definitions: "
                "pattern_definitions must be a map from pattern names to "
                "regexes, such as `TXN: 'txn-[0-9a-f]{8}'`");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: ['%{IP}']\n"
                "      pattern_definitions:\n"
                "        BAD-NAME: x\n",
                "test.yml:5: parsers[0].grok.pattern_definitions.BAD-NAME: "
                "invalid pattern name 'BAD-NAME': use letters, digits and "
                "underscores");
    check_error("parsers:\n"
                "  - grok:\n"
                "      patterns: [{a: b}]\n",
                "test.yml:3: parsers[0].grok.patterns[0]: expected a "
                "string, got a map");
}

int main(void)
{
    LF_RUN(test_grok_expand_reference_forms);
    LF_RUN(test_grok_expand_integer_type_aliases);
    LF_RUN(test_grok_expand_nested_library_references);
    LF_RUN(test_grok_expand_custom_overrides_library);
    LF_RUN(test_grok_expand_inline_named_groups);
    LF_RUN(test_grok_expand_translates_ruby_syntax);
    LF_RUN(test_grok_expand_errors);
    LF_RUN(test_grok_expand_depth_limit);
    LF_RUN(test_grok_library_every_pattern_compiles);
    LF_RUN(test_grok_chain_example);
    LF_RUN(test_grok_first_pattern_wins_anywhere);
    LF_RUN(test_grok_same_field_in_two_patterns);
    LF_RUN(test_grok_unnamed_references_do_not_capture);
    LF_RUN(test_grok_types_and_conversions);
    LF_RUN(test_grok_multiline_event);
    LF_RUN(test_grok_parses_a_field);
    LF_RUN(test_grok_long_line_without_match);
    LF_RUN(test_grok_config_errors);
    LF_RUN(test_grok_repeated_field_array);
    LF_RUN(test_grok_repeated_field_types);
    LF_RUN(test_grok_repeated_field_one_value);
    LF_RUN(test_grok_repeated_field_skips_values);
    LF_RUN(test_grok_repeated_field_keeps_earlier);
    LF_RUN(test_grok_metadata_fields);
    return lf_test_end();
}
