/*
 * Tests of processor lists built from YAML: every processor type with
 * exact field values, `when:` conditions, failures and their undo, and
 * every configuration error with its message.
 */
#include "lf_test.h"

#include "agent/processors/processors.h"
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"

static char errbuf[512];

struct proc_fixture {
    struct lf_conf *conf;
    struct lf_processors *procs;
    struct lf_event ev;
};

/* Loads `yaml` and builds the list at `processors`; returns the code. */
static int setup(struct proc_fixture *f, const char *yaml)
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
    lf_conf_child(&root, "processors", &list);
    return lf_processors_new(&list, &f->procs, errbuf, sizeof(errbuf));
}

static void teardown(struct proc_fixture *f)
{
    lf_processors_free(f->procs);
    lf_event_cleanup(&f->ev);
    lf_conf_free(f->conf);
}

/* Resets the event to `line` and runs the list. */
static enum lf_processor_result run(struct proc_fixture *f, const char *line)
{
    lf_event_reset(&f->ev);
    f->ev.message = line;
    f->ev.message_len = strlen(line);
    return lf_processors_apply(f->procs, &f->ev);
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

#define CHECK_FIELD_FLOAT(ev, key, expected)                                   \
    do {                                                                       \
        const struct lf_value *v_ = get_typed(ev, key, LF_VALUE_FLOAT);        \
        if (v_ != NULL) {                                                      \
            LF_CHECK_DOUBLE_EQ(v_->u.f, expected);                             \
        }                                                                      \
    } while (0)

#define CHECK_FIELD_BOOL(ev, key, expected)                                    \
    do {                                                                       \
        const struct lf_value *v_ = get_typed(ev, key, LF_VALUE_BOOL);         \
        if (v_ != NULL) {                                                      \
            LF_CHECK_INT_EQ(v_->u.b, expected);                                \
        }                                                                      \
    } while (0)

#define CHECK_NO_FIELD(ev, key) LF_CHECK(lf_event_get(ev, key) == NULL)

/* ---- add_fields ---- */

static void test_processors_add_fields_default_target(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - add_fields:\n"
                              "      fields:\n"
                              "        env: production\n"
                              "        shard: 3\n"
                              "        ratio: 0.5\n"
                              "        canary: true\n"
                              "        zip: \"007\"\n"
                              "        team.name: payments\n"),
                    0);
    LF_CHECK_INT_EQ(run(&f, "x"), LF_PROCESSOR_KEEP);
    CHECK_FIELD_STR(&f.ev, "fields.env", "production");
    CHECK_FIELD_INT(&f.ev, "fields.shard", 3);
    CHECK_FIELD_FLOAT(&f.ev, "fields.ratio", 0.5);
    CHECK_FIELD_BOOL(&f.ev, "fields.canary", true);
    CHECK_FIELD_STR(&f.ev, "fields.zip", "007");
    CHECK_FIELD_STR(&f.ev, "fields.team.name", "payments");
    LF_CHECK_INT_EQ(f.ev.field_count, 6);
    teardown(&f);
}

static void test_processors_add_fields_root_target(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - add_fields:\n"
                              "      target: \"\"\n"
                              "      fields: {service.name: api}\n"
                              "  - add_fields:\n"
                              "      target: labels\n"
                              "      fields: {service.name: web}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "service.name", "parsed", 6);
    LF_CHECK_INT_EQ(lf_processors_apply(f.procs, &f.ev), LF_PROCESSOR_KEEP);
    CHECK_FIELD_STR(&f.ev, "service.name", "api");
    CHECK_FIELD_STR(&f.ev, "labels.service.name", "web");
    teardown(&f);
}

/* ---- drop_fields ---- */

static void test_processors_drop_fields(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - drop_fields:\n"
                              "      fields: [event.original, http, "
                              "message]\n"),
                    0);
    lf_event_reset(&f.ev);
    f.ev.message = "GET /";
    f.ev.message_len = 5;
    lf_event_set_str(&f.ev, "event.original", "GET /", 5);
    lf_event_set_str(&f.ev, "http.request.method", "GET", 3);
    lf_event_set_int(&f.ev, "http.response.status_code", 200);
    lf_event_set_str(&f.ev, "httpd.name", "x", 1);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_NO_FIELD(&f.ev, "event.original");
    CHECK_NO_FIELD(&f.ev, "http.request.method");
    CHECK_NO_FIELD(&f.ev, "http.response.status_code");
    CHECK_FIELD_STR(&f.ev, "httpd.name", "x");
    LF_CHECK(f.ev.message == NULL);
    CHECK_NO_FIELD(&f.ev, "error.message");
    LF_CHECK_INT_EQ(f.ev.field_count, 1);
    teardown(&f);
}

static void test_processors_drop_fields_missing(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - drop_fields: {fields: [a, b]}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_int(&f.ev, "b", 1);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_NO_FIELD(&f.ev, "b");
    CHECK_FIELD_STR(&f.ev, "error.message", "drop_fields: field 'a' not found");
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - drop_fields: {fields: a, "
                              "ignore_missing: true}\n"),
                    0);
    run(&f, "x");
    CHECK_NO_FIELD(&f.ev, "error.message");
    teardown(&f);
}

/* ---- rename and copy_fields ---- */

static void test_processors_rename(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - rename:\n"
                              "      fields:\n"
                              "        - {from: src, to: source.ip}\n"
                              "        - {from: message, to: "
                              "event.original}\n"),
                    0);
    lf_event_reset(&f.ev);
    f.ev.message = "line";
    f.ev.message_len = 4;
    lf_event_set_str(&f.ev, "src", "10.0.0.1", 8);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_NO_FIELD(&f.ev, "src");
    CHECK_FIELD_STR(&f.ev, "source.ip", "10.0.0.1");
    CHECK_FIELD_STR(&f.ev, "event.original", "line");
    LF_CHECK(f.ev.message == NULL);
    CHECK_NO_FIELD(&f.ev, "error.message");
    teardown(&f);
}

static void test_processors_rename_failure_undone(void)
{
    struct proc_fixture f;

    /* The second pair's target exists: the first pair is undone. */
    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - rename:\n"
                              "      fields:\n"
                              "        - {from: message, to: a}\n"
                              "        - {from: b, to: c}\n"),
                    0);
    lf_event_reset(&f.ev);
    f.ev.message = "line";
    f.ev.message_len = 4;
    lf_event_set_int(&f.ev, "b", 1);
    lf_event_set_int(&f.ev, "c", 2);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_NO_FIELD(&f.ev, "a");
    LF_CHECK_MEM_EQ(f.ev.message, f.ev.message_len, "line");
    CHECK_FIELD_INT(&f.ev, "b", 1);
    CHECK_FIELD_INT(&f.ev, "c", 2);
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "rename: target field 'c' already exists");
    teardown(&f);

    /* Without fail_on_error the pairs that work stay done. */
    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - rename:\n"
                              "      fail_on_error: false\n"
                              "      fields:\n"
                              "        - {from: a, to: b}\n"
                              "        - {from: missing, to: d}\n"
                              "        - {from: b, to: c}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_int(&f.ev, "a", 7);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_NO_FIELD(&f.ev, "a");
    CHECK_NO_FIELD(&f.ev, "b");
    CHECK_FIELD_INT(&f.ev, "c", 7);
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "rename: field 'missing' not found");
    teardown(&f);

    /* A chain of pairs is undone last first. */
    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - rename:\n"
                              "      fields:\n"
                              "        - {from: a, to: b}\n"
                              "        - {from: b, to: c}\n"
                              "        - {from: missing, to: d}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_int(&f.ev, "a", 7);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_INT(&f.ev, "a", 7);
    CHECK_NO_FIELD(&f.ev, "b");
    CHECK_NO_FIELD(&f.ev, "c");
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - rename:\n"
                              "      ignore_missing: true\n"
                              "      fields: [{from: missing, to: d}]\n"),
                    0);
    run(&f, "x");
    CHECK_NO_FIELD(&f.ev, "error.message");
    CHECK_NO_FIELD(&f.ev, "d");
    teardown(&f);
}

static void test_processors_copy_fields(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - copy_fields:\n"
                              "      fields:\n"
                              "        - {from: message, to: "
                              "event.original}\n"
                              "        - {from: user.name, to: "
                              "related.user}\n"),
                    0);
    lf_event_reset(&f.ev);
    f.ev.message = "login ok";
    f.ev.message_len = 8;
    lf_event_set_str(&f.ev, "user.name", "ana", 3);
    lf_processors_apply(f.procs, &f.ev);
    LF_CHECK_MEM_EQ(f.ev.message, f.ev.message_len, "login ok");
    CHECK_FIELD_STR(&f.ev, "event.original", "login ok");
    CHECK_FIELD_STR(&f.ev, "user.name", "ana");
    CHECK_FIELD_STR(&f.ev, "related.user", "ana");
    teardown(&f);

    /* A missing source undoes the copies made before it. */
    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - copy_fields:\n"
                              "      fields:\n"
                              "        - {from: message, to: a}\n"
                              "        - {from: missing, to: b}\n"),
                    0);
    run(&f, "line");
    CHECK_NO_FIELD(&f.ev, "a");
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "copy_fields: field 'missing' not found");
    teardown(&f);
}

/* ---- truncate_fields ---- */

static void test_processors_truncate_bytes(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - truncate_fields:\n"
                              "      fields: [message, user_agent.original, "
                              "url.path]\n"
                              "      max_bytes: 5\n"),
                    0);
    lf_event_reset(&f.ev);
    f.ev.message = "abcdefgh";
    f.ev.message_len = 8;
    /* "na" then a 2-byte e-acute then "ve!": byte 5 splits the e-acute. */
    lf_event_set_str(&f.ev, "user_agent.original", "nai\xc3\xa9ve!", 8);
    lf_event_set_str(&f.ev, "url.path", "/ok", 3);
    lf_processors_apply(f.procs, &f.ev);
    LF_CHECK_MEM_EQ(f.ev.message, f.ev.message_len, "abcde");
    CHECK_FIELD_STR(&f.ev, "user_agent.original", "nai\xc3\xa9");
    CHECK_FIELD_STR(&f.ev, "url.path", "/ok");
    LF_CHECK_INT_EQ(f.ev.log_flags, LF_LOG_FLAG_TRUNCATED);
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - truncate_fields:\n"
                              "      fields: [a]\n"
                              "      max_bytes: 4\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "a", "ab\xe2\x82\xac", 5); /* "ab" + euro sign */
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "a", "ab");
    teardown(&f);
}

static void test_processors_truncate_characters(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - truncate_fields:\n"
                              "      fields: [a, b]\n"
                              "      max_characters: 3\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "a", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
    lf_event_set_str(&f.ev, "b", "\xc3\xa9\xc3\xa9\xc3\xa9", 6);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "a", "\xc3\xa9\xc3\xa9\xc3\xa9");
    CHECK_FIELD_STR(&f.ev, "b", "\xc3\xa9\xc3\xa9\xc3\xa9");
    LF_CHECK_INT_EQ(f.ev.log_flags, LF_LOG_FLAG_TRUNCATED);
    teardown(&f);
}

static void test_processors_truncate_failure_undone(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - truncate_fields:\n"
                              "      fields: [a, n]\n"
                              "      max_bytes: 2\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "a", "abcdef", 6);
    lf_event_set_int(&f.ev, "n", 12345);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "a", "abcdef");
    CHECK_FIELD_INT(&f.ev, "n", 12345);
    LF_CHECK_INT_EQ(f.ev.log_flags, 0);
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "truncate_fields: field 'n' is not a string");
    teardown(&f);
}

/* ---- convert ---- */

static void test_processors_convert_types(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - convert:\n"
                              "      fields:\n"
                              "        - {from: status, to: "
                              "http.response.status_code, type: long}\n"
                              "        - {from: bytes, type: integer}\n"
                              "        - {from: ratio, type: double}\n"
                              "        - {from: ok, type: boolean}\n"
                              "        - {from: pid, to: labels.pid, "
                              "type: string}\n"
                              "        - {from: took, to: labels.took, "
                              "type: string}\n"
                              "        - {from: addr, to: source.ip, "
                              "type: ip}\n"
                              "        - {from: flag, type: integer}\n"
                              "        - {from: f, type: long}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "status", "503", 3);
    lf_event_set_str(&f.ev, "bytes", "-2147483648", 11);
    lf_event_set_str(&f.ev, "ratio", "0.25", 4);
    lf_event_set_str(&f.ev, "ok", "T", 1);
    lf_event_set_int(&f.ev, "pid", 4242);
    lf_event_set_float(&f.ev, "took", 0.1);
    lf_event_set_str(&f.ev, "addr", "2001:db8::1", 11);
    lf_event_set_bool(&f.ev, "flag", true);
    lf_event_set_float(&f.ev, "f", -7.9);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "status", "503");
    CHECK_FIELD_INT(&f.ev, "http.response.status_code", 503);
    CHECK_FIELD_INT(&f.ev, "bytes", -2147483648LL);
    CHECK_FIELD_FLOAT(&f.ev, "ratio", 0.25);
    CHECK_FIELD_BOOL(&f.ev, "ok", true);
    CHECK_FIELD_STR(&f.ev, "labels.pid", "4242");
    CHECK_FIELD_STR(&f.ev, "labels.took", "0.1");
    CHECK_FIELD_STR(&f.ev, "source.ip", "2001:db8::1");
    CHECK_FIELD_INT(&f.ev, "flag", 1);
    CHECK_FIELD_INT(&f.ev, "f", -7);
    CHECK_NO_FIELD(&f.ev, "error.message");
    teardown(&f);
}

static void test_processors_convert_failures(void)
{
    static const struct {
        const char *type;
        const char *value;
    } bad[] = {
        {"integer", "2147483648"},
        {"integer", "12abc"},
        {"long", ""},
        {"long", "99999999999999999999"},
        {"double", "nan"},
        {"double", "0x10"},
        {"boolean", "yes"},
        {"ip", "10.0.0.256"},
        {"ip", "host.example"},
    };
    char yaml[256];
    char expected[128];

    for (size_t i = 0; i < LF_ARRAY_SIZE(bad); i++) {
        struct proc_fixture f;

        snprintf(yaml, sizeof(yaml),
                 "processors:\n"
                 "  - convert: {fields: [{from: a, to: b, type: long}, "
                 "{from: v, type: %s}]}\n",
                 bad[i].type);
        snprintf(expected, sizeof(expected),
                 "convert: field 'v' cannot be converted to %s", bad[i].type);
        LF_CHECK_INT_EQ(setup(&f, yaml), 0);
        lf_event_reset(&f.ev);
        lf_event_set_str(&f.ev, "a", "1", 1);
        lf_event_set_str(&f.ev, "v", bad[i].value, strlen(bad[i].value));
        lf_processors_apply(f.procs, &f.ev);
        /* The first rule's target is removed again. */
        CHECK_NO_FIELD(&f.ev, "b");
        CHECK_FIELD_STR(&f.ev, "v", bad[i].value);
        CHECK_FIELD_STR(&f.ev, "error.message", expected);
        teardown(&f);
    }
}

static void test_processors_convert_undo_restores_target(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - convert:\n"
                              "      fields:\n"
                              "        - {from: a, to: b, type: long}\n"
                              "        - {from: missing, type: long}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "a", "5", 1);
    lf_event_set_str(&f.ev, "b", "old", 3);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "b", "old");
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "convert: field 'missing' not found");
    teardown(&f);

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - convert:\n"
                              "      ignore_missing: true\n"
                              "      fail_on_error: false\n"
                              "      fields:\n"
                              "        - {from: missing, type: long}\n"
                              "        - {from: a, type: long}\n"
                              "        - {from: b, type: long}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "a", "x", 1);
    lf_event_set_str(&f.ev, "b", "9", 1);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "a", "x");
    CHECK_FIELD_INT(&f.ev, "b", 9);
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "convert: field 'a' cannot be converted to long");
    teardown(&f);
}

/* ---- drop_event, include_event, add_tags ---- */

static void test_processors_drop_event_when(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - drop_event:\n"
                              "      when: {contains: {message: healthz}}\n"
                              "  - add_tags: {tags: kept}\n"),
                    0);
    LF_CHECK_INT_EQ(run(&f, "GET /healthz 200"), LF_PROCESSOR_DROP);
    /* Processors after the drop do not run. */
    LF_CHECK_INT_EQ(f.ev.tag_count, 0);
    LF_CHECK_INT_EQ(run(&f, "GET /api 200"), LF_PROCESSOR_KEEP);
    LF_CHECK_INT_EQ(f.ev.tag_count, 1);
    teardown(&f);

    /* With no condition every event is dropped. */
    LF_CHECK_INT_EQ(setup(&f, "processors:\n  - drop_event:\n"), 0);
    LF_CHECK_INT_EQ(run(&f, "x"), LF_PROCESSOR_DROP);
    teardown(&f);
}

static void test_processors_include_event(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - include_event:\n"
                              "      when:\n"
                              "        regexp: {message: '^(ERROR|WARN) '}\n"),
                    0);
    LF_CHECK_INT_EQ(run(&f, "ERROR disk full"), LF_PROCESSOR_KEEP);
    LF_CHECK_INT_EQ(run(&f, "WARN slow"), LF_PROCESSOR_KEEP);
    LF_CHECK_INT_EQ(run(&f, "INFO started"), LF_PROCESSOR_DROP);
    teardown(&f);
}

static void test_processors_when_guards_step(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - add_fields:\n"
                              "      target: labels\n"
                              "      fields: {alert: true}\n"
                              "      when:\n"
                              "        range: "
                              "{http.response.status_code.gte: 500}\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_int(&f.ev, "http.response.status_code", 502);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_BOOL(&f.ev, "labels.alert", true);
    lf_event_reset(&f.ev);
    lf_event_set_int(&f.ev, "http.response.status_code", 200);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_NO_FIELD(&f.ev, "labels.alert");
    teardown(&f);
}

static void test_processors_add_tags(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - add_tags: {tags: [web, eu-west]}\n"
                              "  - add_tags: {tags: web, target: tags}\n"),
                    0);
    run(&f, "x");
    LF_CHECK_INT_EQ(f.ev.tag_count, 2);
    if (f.ev.tag_count == 2) {
        LF_CHECK_STR_EQ(f.ev.tag_list[0], "web");
        LF_CHECK_STR_EQ(f.ev.tag_list[1], "eu-west");
    }
    /* The next event starts without tags. */
    lf_event_reset(&f.ev);
    LF_CHECK_INT_EQ(f.ev.tag_count, 0);
    teardown(&f);
}

/* ---- route_template ---- */

static void check_route(struct proc_fixture *f, const char *path,
                        const char *expected)
{
    lf_event_reset(&f->ev);
    lf_event_set_str(&f->ev, "url.path", path, strlen(path));
    lf_processors_apply(f->procs, &f->ev);
    CHECK_FIELD_STR(&f->ev, "labels.http_route", expected);
}

static void test_processors_route_rules(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n  - route_template:\n"), 0);
    check_route(&f, "/api/tasks/42/redeem", "/api/tasks/{id}/redeem");
    check_route(&f, "/api/tasks/42", "/api/tasks/{id}");
    check_route(&f, "/api/tasks/", "/api/tasks/");
    check_route(&f, "/", "/");
    check_route(&f, "/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items/7",
                "/orders/{id}/items/{id}");
    check_route(&f, "/blobs/5d41402abc4b2a76b9719d911017c592", "/blobs/{id}");
    /* Hex words without a digit, and short hex, stay. */
    check_route(&f, "/deadbeef/facade/abc123", "/deadbeef/facade/abc123");
    check_route(&f, "/v2/users/me", "/v2/users/me");
    check_route(&f, "/search?q=42#top", "/search");
    check_route(&f, "/api/tasks/42?page=2", "/api/tasks/{id}");
    teardown(&f);
}

static void test_processors_route_templates_win(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - route_template:\n"
                              "      templates:\n"
                              "        - /api/users/{user}/tasks/{id}\n"
                              "        - /files/{name}\n"),
                    0);
    check_route(&f, "/api/users/ana/tasks/42", "/api/users/{user}/tasks/{id}");
    check_route(&f, "/files/report.pdf", "/files/{name}");
    /* A segment more or less, or an empty placeholder, does not match. */
    check_route(&f, "/api/users/ana/tasks/42/done",
                "/api/users/ana/tasks/{id}/done");
    check_route(&f, "/files/", "/files/");
    check_route(&f, "/files/a/b", "/files/a/b");
    teardown(&f);
}

static void test_processors_route_field_and_target(void)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - route_template:\n"
                              "      field: url.original\n"
                              "      target: labels.route\n"),
                    0);
    lf_event_reset(&f.ev);
    lf_event_set_str(&f.ev, "url.original", "/a/1?x=2", 8);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "labels.route", "/a/{id}");
    /* A missing field is skipped by default. */
    run(&f, "x");
    CHECK_NO_FIELD(&f.ev, "labels.route");
    CHECK_NO_FIELD(&f.ev, "error.message");
    lf_event_reset(&f.ev);
    lf_event_set_int(&f.ev, "url.original", 5);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "error.message",
                    "route_template: field 'url.original' is not a string");
    teardown(&f);
}

/* ---- configuration errors ---- */

static void check_error(const char *yaml, const char *expected)
{
    struct proc_fixture f;

    LF_CHECK_INT_EQ(setup(&f, yaml), LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(f.procs == NULL);
    teardown(&f);
}

static void test_processors_list_errors(void)
{
    check_error("processors: {add_tags: {tags: x}}",
                "test.yml:1: processors: processors must be a list, such as "
                "`- drop_fields: {fields: [event.original]}`");
    check_error("processors:\n  - add_tag: {tags: x}\n",
                "test.yml:2: processors[0]: unknown processor type "
                "'add_tag': expected one of add_fields, drop_fields, "
                "rename, copy_fields, truncate_fields, convert, drop_event, "
                "include_event, add_tags, route_template, add_host_metadata, "
                "add_cloud_metadata, add_ecs_task_metadata");
    check_error("processors:\n  - drop_event\n",
                "test.yml:2: processors[0]: each processor is a map with "
                "one key, the processor type: one of add_fields, "
                "drop_fields, rename, copy_fields, truncate_fields, "
                "convert, drop_event, include_event, add_tags, "
                "route_template, add_host_metadata, add_cloud_metadata, "
                "add_ecs_task_metadata");
    check_error("processors:\n  - add_tags: [a]\n",
                "test.yml:2: processors[0].add_tags: expected a map of "
                "add_tags options, got a list");
    check_error("processors:\n  - include_event:\n",
                "test.yml:2: processors[0]: include_event needs a `when:` "
                "condition: the events it matches are kept and the others "
                "dropped, such as `when: {equals: {log.level: error}}`");
    check_error("processors:\n  - drop_event: {when: {eq: {a: 1}}}\n",
                "test.yml:2: processors[0].drop_event.when: unknown "
                "condition 'eq': expected one of equals, contains, regexp, "
                "range, has_fields, and, or, not");
    check_error("processors:\n  - drop_event: {if: {equals: {a: 1}}}\n",
                "test.yml:2: processors[0].drop_event: unknown key 'if'. "
                "Valid keys: when");
}

static void test_processors_option_errors(void)
{
    check_error("processors:\n  - add_fields: {target: labels}\n",
                "test.yml:2: processors[0].add_fields: add_fields needs "
                "`fields:`, a map of names to values, such as `fields: "
                "{env: production}`");
    check_error("processors:\n  - add_fields: {target: \"\", fields: "
                "{tags: x}}\n",
                "test.yml:2: processors[0].add_fields.fields.tags: tags "
                "cannot be changed by add_fields; use add_tags for tags, or "
                "another field name");
    check_error("processors:\n  - drop_fields: {fields: [a, \"@timestamp\"]}\n",
                "test.yml:2: processors[0].drop_fields.fields: @timestamp "
                "cannot be dropped: Elasticsearch data streams require it; "
                "remove it from the list");
    check_error("processors:\n  - drop_fields: {ignore_missing: true}\n",
                "test.yml:2: processors[0].drop_fields: expected a string "
                "or a non-empty list of strings for fields, such as "
                "`fields: [a, b]`");
    check_error("processors:\n  - rename: {fields: [{from: a}]}\n",
                "test.yml:2: processors[0].rename.fields[0]: each entry "
                "needs `to:`, a field name, such as `{from: source.ip, to: "
                "client.ip}`");
    check_error("processors:\n  - copy_fields: {fields: [{from: a, to: a}]}\n",
                "test.yml:2: processors[0].copy_fields.fields[0]: from and "
                "to are both 'a'; name two different fields");
    check_error("processors:\n  - rename: {fields: [{from: a, to: tags}]}\n",
                "test.yml:2: processors[0].rename.fields[0]: to cannot be "
                "'tags': logferry builds that field itself; choose another "
                "target");
    check_error("processors:\n  - truncate_fields: {fields: [a]}\n",
                "test.yml:2: processors[0].truncate_fields: truncate_fields "
                "needs exactly one of max_bytes and max_characters, such as "
                "`max_bytes: 1024`");
    check_error("processors:\n  - convert: {fields: [{from: a, type: int}]}\n",
                "test.yml:2: processors[0].convert.fields[0].type: unknown "
                "type 'int': expected integer, long, float, double, "
                "boolean, string or ip");
    check_error("processors:\n  - add_tags: {tags: [a], target: labels}\n",
                "test.yml:2: processors[0].add_tags.target: target 'labels' "
                "is not supported: add_tags writes to `tags` only; remove "
                "target, or use add_fields for a single value");
    check_error("processors:\n  - route_template: {templates: ['api/{id}']}\n",
                "test.yml:2: processors[0].route_template.templates[0]: "
                "template 'api/{id}' must start with '/', such as "
                "/api/users/{user}/tasks/{id}");
    check_error("processors:\n  - route_template: {templates: ['/a/x{id}']}\n",
                "test.yml:2: processors[0].route_template.templates[0]: "
                "template '/a/x{id}' has an invalid placeholder 'x{id}': "
                "write a whole segment as {name}, with letters, digits or "
                "'_'");
}

/* ---- metadata processors ---- */

static const struct lf_metadata_fields *fake_metadata(void *arg)
{
    return arg;
}

static void test_processors_metadata_binding(void)
{
    static const struct lf_field fields[] = {
        {"cloud.provider", {.type = LF_VALUE_STRING,
                            .u.str = {"aws", 3}}},
        {"host.name", {.type = LF_VALUE_STRING, .u.str = {"ip-10-0-0-1", 11}}},
    };
    struct lf_metadata_fields set = {fields, LF_ARRAY_SIZE(fields)};
    struct proc_fixture f;
    struct lf_metadata_step *step;

    LF_CHECK_INT_EQ(setup(&f, "processors:\n"
                              "  - add_fields: {target: '', fields: {a: 1}}\n"
                              "  - add_cloud_metadata:\n"
                              "      endpoint: http://127.0.0.1:9\n"
                              "      timeout: 2s\n"
                              "  - add_host_metadata:\n"
                              "  - add_ecs_task_metadata: "
                              "{refresh_interval: 1m}\n"),
                    0);
    step = lf_processors_metadata_step(f.procs, 0);
    LF_CHECK(step != NULL);
    LF_CHECK_INT_EQ(lf_metadata_step_request(step)->kind, LF_METADATA_CLOUD);
    LF_CHECK_STR_EQ(lf_metadata_step_request(step)->endpoint,
                    "http://127.0.0.1:9");
    LF_CHECK_INT_EQ(lf_metadata_step_request(step)->timeout_ms, 2000);
    LF_CHECK_INT_EQ(lf_metadata_step_request(lf_processors_metadata_step(
                                                 f.procs, 1))->kind,
                    LF_METADATA_HOST);
    LF_CHECK_INT_EQ(lf_metadata_step_request(lf_processors_metadata_step(
                                                 f.procs, 2))->refresh_ms,
                    60000);
    LF_CHECK(lf_processors_metadata_step(f.procs, 3) == NULL);

    /* Unbound, as in `logferry parse`: nothing is added. */
    lf_event_set_str(&f.ev, "host.name", "from-line", 9);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "host.name", "from-line");
    LF_CHECK(lf_event_get(&f.ev, "cloud.provider") == NULL);

    /* Bound: the source's fields replace the line's. */
    lf_metadata_step_bind(step, fake_metadata, &set);
    lf_processors_apply(f.procs, &f.ev);
    CHECK_FIELD_STR(&f.ev, "host.name", "ip-10-0-0-1");
    CHECK_FIELD_STR(&f.ev, "cloud.provider", "aws");
    teardown(&f);
}

static void test_processors_metadata_errors(void)
{
    check_error("processors:\n  - add_cloud_metadata: {timeout: 2m}\n",
                "test.yml:2: processors[0].add_cloud_metadata.timeout: "
                "timeout must be between 0 and 60s, such as 3s");
    check_error("processors:\n  - add_host_metadata: {endpoint: x}\n",
                "test.yml:2: processors[0].add_host_metadata: unknown key "
                "'endpoint'. Valid keys: refresh_interval, when");
}

int main(void)
{
    LF_RUN(test_processors_add_fields_default_target);
    LF_RUN(test_processors_add_fields_root_target);
    LF_RUN(test_processors_drop_fields);
    LF_RUN(test_processors_drop_fields_missing);
    LF_RUN(test_processors_rename);
    LF_RUN(test_processors_rename_failure_undone);
    LF_RUN(test_processors_copy_fields);
    LF_RUN(test_processors_truncate_bytes);
    LF_RUN(test_processors_truncate_characters);
    LF_RUN(test_processors_truncate_failure_undone);
    LF_RUN(test_processors_convert_types);
    LF_RUN(test_processors_convert_failures);
    LF_RUN(test_processors_convert_undo_restores_target);
    LF_RUN(test_processors_drop_event_when);
    LF_RUN(test_processors_include_event);
    LF_RUN(test_processors_when_guards_step);
    LF_RUN(test_processors_add_tags);
    LF_RUN(test_processors_route_rules);
    LF_RUN(test_processors_route_templates_win);
    LF_RUN(test_processors_route_field_and_target);
    LF_RUN(test_processors_list_errors);
    LF_RUN(test_processors_metadata_binding);
    LF_RUN(test_processors_metadata_errors);
    LF_RUN(test_processors_option_errors);
    return lf_test_end();
}
