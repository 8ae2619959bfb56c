/*
 * Runs the grok cases extracted from the Logstash pattern specs
 * (tests/fixtures/grok) through a one-step grok chain. Each assertion is
 * checked on a document built the way Logstash builds its event. The
 * dotted fields are nested into objects, and a captured `message` is
 * appended to the original one as an array. Prints how many cases pass.
 * A failing case fails the test unless it is in known_failures, and a
 * listed case that passes fails it too, so the list stays exact.
 */
#include "lf_test.h"

#include "lf/conf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/parser.h"
#include "parsers/level.h"

#include <jansson.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>

/*
 * Cases that fail, with the reason; docs/known-issues.md lists them too.
 * The list is empty because every case passes.
 */
static const char *const known_failures[] = {
    NULL,
};

static char errbuf[1024];

static bool is_known_failure(const char *id)
{
    for (size_t i = 0; known_failures[i] != NULL; i++) {
        if (strcmp(known_failures[i], id) == 0) {
            return true;
        }
    }
    return false;
}

/* Builds `parsers: [{grok: {...}}]` as YAML flow text (JSON is YAML). */
static char *chain_yaml(const json_t *c)
{
    const char *set = json_string_value(json_object_get(c, "pattern_set"));
    json_t *grok = json_object();
    json_t *step = json_object();
    json_t *root = json_object();
    json_t *parsers = json_array();
    char *text;

    json_object_set_new(grok, "patterns",
                        json_pack("[O]", json_object_get(c, "grok")));
    json_object_set_new(
        grok, "ecs_compatibility",
        json_string(strcmp(set, "ecs-v1") == 0 ? "v1" : "disabled"));
    json_object_set_new(step, "grok", grok);
    json_array_append_new(parsers, step);
    json_object_set_new(root, "parsers", parsers);
    text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    return text;
}

static json_t *value_json(const struct lf_value *v)
{
    switch (v->type) {
    case LF_VALUE_STRING:
        return json_stringn(v->u.str.ptr, v->u.str.len);
    case LF_VALUE_INT:
        return json_integer(v->u.i);
    case LF_VALUE_FLOAT:
        return json_real(v->u.f);
    case LF_VALUE_BOOL:
        return json_boolean(v->u.b);
    case LF_VALUE_TIMESTAMP:
        return json_integer(v->u.ts_ns);
    case LF_VALUE_JSON:
        return json_loadb(v->u.str.ptr, v->u.str.len, 0, NULL);
    }
    return json_null();
}

/* Sets the dotted `key` in `doc`, creating the objects on the way. */
static void set_dotted(json_t *doc, const char *key, json_t *value)
{
    const char *dot = strchr(key, '.');
    char part[256];
    json_t *child;

    if (dot == NULL) {
        json_object_set_new(doc, key, value);
        return;
    }
    snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
    child = json_object_get(doc, part);
    if (!json_is_object(child)) {
        child = json_object();
        json_object_set_new(doc, part, child);
    }
    set_dotted(child, dot + 1, value);
}

/* Builds the event as Logstash would hold it after the grok filter. */
static json_t *event_doc(const struct lf_event *ev, const char *input,
                         bool matched)
{
    json_t *doc = json_object();

    json_object_set_new(doc, "message", json_string(input));
    json_object_set_new(doc, "@version", json_string("1"));
    for (size_t i = 0; i < ev->field_count; i++) {
        const struct lf_field *f = &ev->fields[i];

        if (strcmp(f->key, "message") == 0) {
            json_object_set_new(
                doc, "message",
                json_pack("[s o]", input, value_json(&f->value)));
        } else {
            set_dotted(doc, f->key, value_json(&f->value));
        }
    }
    if (!matched) {
        json_object_set_new(doc, "tags", json_pack("[s]", "_grokparsefailure"));
    }
    return doc;
}

/* Compares as Ruby's == does: 1 == 1.0, objects and arrays by content. */
static bool ruby_equal(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *key;
        json_t *value;

        if (json_object_size(a) != json_object_size(b)) {
            return false;
        }
        json_object_foreach(a, key, value)
        {
            if (!ruby_equal(value, json_object_get(b, key))) {
                return false;
            }
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!ruby_equal(json_array_get(a, i), json_array_get(b, i))) {
                return false;
            }
        }
        return true;
    }
    return a != NULL && b != NULL && json_equal(a, b);
}

/*
 * Follows `path` from `doc`. Returns a new reference, or NULL when a step
 * is missing. `$to_s` and `$to_i` convert the value reached so far.
 */
static json_t *follow(json_t *doc, json_t *path)
{
    json_t *at = json_incref(doc);
    size_t i;
    json_t *token;

    json_array_foreach(path, i, token)
    {
        const char *t = json_string_value(token);
        json_t *next = NULL;

        if (at == NULL || t == NULL) {
            json_decref(at);
            return NULL;
        }
        if (strcmp(t, "$last") == 0 && json_is_array(at)) {
            next = json_incref(json_array_get(at, json_array_size(at) - 1));
        } else if (strcmp(t, "$to_s") == 0) {
            next = json_is_string(at)    ? json_incref(at)
                   : json_is_integer(at) ? json_sprintf("%" JSON_INTEGER_FORMAT,
                                                        json_integer_value(at))
                                         : NULL;
        } else if (strcmp(t, "$to_i") == 0) {
            next = json_is_integer(at) ? json_incref(at)
                   : json_is_string(at)
                       ? json_integer(strtoll(json_string_value(at), NULL, 10))
                       : NULL;
        } else if (json_is_array(at)) {
            next = json_incref(json_array_get(at, strtoul(t, NULL, 10)));
        } else if (json_is_object(at)) {
            next = json_incref(json_object_get(at, t));
        }
        json_decref(at);
        at = next;
    }
    return at;
}

/*
 * Matches `actual` against an expected value: `{"$hash_including": {...}}`
 * checks only the listed keys, another object must have exactly its keys.
 */
static bool value_matches(json_t *actual, json_t *expected)
{
    json_t *partial = json_object_get(expected, "$hash_including");
    const char *key;
    json_t *value;

    if (!json_is_object(expected)) {
        return ruby_equal(actual, expected);
    }
    if (!json_is_object(actual)) {
        return false;
    }
    if (partial == NULL &&
        json_object_size(actual) != json_object_size(expected)) {
        return false;
    }
    json_object_foreach(partial != NULL ? partial : expected, key, value)
    {
        if (!value_matches(json_object_get(actual, key), value)) {
            return false;
        }
    }
    return true;
}

/*
 * One `include` element at `target`, as RSpec's include: a substring of a
 * string, an element of an array, or key-value pairs of an object.
 */
static bool includes(json_t *target, json_t *expected)
{
    const char *key;
    json_t *value;

    if (json_is_string(target) && json_is_string(expected)) {
        return strstr(json_string_value(target), json_string_value(expected)) !=
               NULL;
    }
    if (!json_is_object(expected)) {
        size_t i;
        json_t *item;

        json_array_foreach(target, i, item)
        {
            if (ruby_equal(item, expected)) {
                return true;
            }
        }
        return false;
    }
    if (!json_is_object(target)) {
        return false;
    }
    json_object_foreach(expected, key, value)
    {
        if (!value_matches(json_object_get(target, key), value)) {
            return false;
        }
    }
    return true;
}

static bool excludes(json_t *target, json_t *expected)
{
    const char *key;
    json_t *value;

    if (!json_is_object(expected)) {
        return !includes(target, expected);
    }
    json_object_foreach(expected, key, value)
    {
        if (value_matches(json_object_get(target, key), value)) {
            return false;
        }
    }
    return true;
}

static bool has_key(json_t *target, json_t *key)
{
    return json_object_get(target, json_string_value(key)) != NULL;
}

static bool check_keys(json_t *target, json_t *keys, bool want)
{
    size_t i;
    json_t *key;

    json_array_foreach(keys, i, key)
    {
        if (has_key(target, key) != want) {
            return false;
        }
    }
    return true;
}

/*
 * Checks the top-level keys of `doc` against `allowed`. `@metadata` is
 * skipped, as Logstash's Event#to_hash, which the specs call, leaves it
 * out.
 */
static bool keys_subset(json_t *doc, json_t *allowed)
{
    const char *key;
    json_t *value;

    json_object_foreach(doc, key, value)
    {
        bool found = strcmp(key, "@metadata") == 0;
        size_t i;
        json_t *name;

        json_array_foreach(allowed, i, name)
        {
            found |= strcmp(json_string_value(name), key) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static bool text_edge(const json_t *target, const char *text, bool at_start)
{
    const char *s = json_string_value(target);
    size_t len = strlen(text);

    if (s == NULL || strlen(s) < len) {
        return false;
    }
    return memcmp(at_start ? s : s + strlen(s) - len, text, len) == 0;
}

static bool check(json_t *doc, bool matched, json_t *assertion)
{
    const char *op = json_string_value(json_object_get(assertion, "op"));
    json_t *path = json_object_get(assertion, "path");
    json_t *value = json_object_get(assertion, "value");
    json_t *target = path != NULL ? follow(doc, path) : NULL;
    bool ok = false;
    size_t i;
    json_t *item;

    if (strcmp(op, "matches") == 0) {
        ok = matched;
    } else if (strcmp(op, "no_match") == 0) {
        ok = !matched;
    } else if (strcmp(op, "include") == 0) {
        ok = true;
        json_array_foreach(value, i, item)
        {
            ok &= includes(target, item);
        }
    } else if (strcmp(op, "not_include") == 0) {
        ok = true;
        json_array_foreach(value, i, item)
        {
            ok &= excludes(target, item);
        }
    } else if (strcmp(op, "equals") == 0 || strcmp(op, "not_equals") == 0) {
        bool same = json_is_null(value) ? target == NULL || json_is_null(target)
                                        : ruby_equal(target, value);

        ok = same == (strcmp(op, "equals") == 0);
    } else if (strcmp(op, "has_keys") == 0) {
        ok = check_keys(target, value, true);
    } else if (strcmp(op, "lacks_keys") == 0) {
        ok = check_keys(target, value, false);
    } else if (strcmp(op, "start_with") == 0) {
        ok = text_edge(target, json_string_value(value), true);
    } else if (strcmp(op, "not_end_with") == 0) {
        ok = !text_edge(target, json_string_value(value), false);
    } else if (strcmp(op, "is_object") == 0) {
        ok = json_is_object(target);
    } else if (strcmp(op, "top_level_keys_subset_of") == 0) {
        ok = keys_subset(doc, value);
    } else {
        LF_FAIL_AT("unknown assertion op '%s'", op);
    }
    json_decref(target);
    return ok;
}

/*
 * Rewrites expected `log.level` strings the way the parser normalises
 * them ("INFO" becomes "info", "I" becomes "i"), so the other fields of a
 * case are still checked. `depth` counts the keys of `log.level` already
 * matched on the way down: 0 none, 1 "log", 2 both.
 */
static void normalise_level(json_t *value, int depth)
{
    const char *key;
    json_t *child;

    if (depth == 2 && json_is_string(value)) {
        const char *level = json_string_value(value);
        const char *canonical = lf_level_canonical(level, strlen(level));
        char lower[64];
        size_t i;

        for (i = 0; level[i] != '\0' && i + 1 < sizeof(lower); i++) {
            lower[i] = (char)tolower((unsigned char)level[i]);
        }
        lower[i] = '\0';
        json_string_set(value, canonical != NULL ? canonical : lower);
        return;
    }
    json_object_foreach(value, key, child)
    {
        if (strcmp(key, "$hash_including") == 0) {
            normalise_level(child, depth);
        } else if (depth == 0 && strcmp(key, "log") == 0) {
            normalise_level(child, 1);
        } else if (depth == 1 && strcmp(key, "level") == 0) {
            normalise_level(child, 2);
        }
    }
}

static void normalise_expected_levels(json_t *assertion)
{
    json_t *path = json_object_get(assertion, "path");
    json_t *value = json_object_get(assertion, "value");
    int depth = 0;
    size_t i;
    json_t *item;

    json_array_foreach(path, i, item)
    {
        const char *token = json_string_value(item);

        if (depth == (int)i && i < 2 &&
            strcmp(token, i == 0 ? "log" : "level") == 0) {
            depth++;
        } else {
            depth = -1;
        }
    }
    if (depth < 0) {
        return;
    }
    if (json_is_array(value)) {
        json_array_foreach(value, i, item)
        {
            normalise_level(item, depth);
        }
    } else {
        normalise_level(value, depth);
    }
}

/* Runs one case; returns true when every assertion holds. */
static bool run_case(json_t *c)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *input = json_string_value(json_object_get(c, "input"));
    struct lf_parser_chain *chain = NULL;
    struct lf_conf *conf = NULL;
    struct lf_conf_node root;
    struct lf_conf_node list;
    struct lf_event ev;
    char *yaml = chain_yaml(c);
    json_t *doc = NULL;
    bool passed = false;
    bool matched;
    size_t i;
    json_t *assertion;

    lf_event_init(&ev);
    if (lf_conf_load_string(yaml, strlen(yaml), "case.yml", &conf, errbuf,
                            sizeof(errbuf)) != 0) {
        printf("%s: configuration did not load: %s\n", id, errbuf);
        goto out;
    }
    lf_conf_root(conf, &root);
    lf_conf_child(&root, "parsers", &list);
    if (lf_parser_chain_new(&list, &chain, errbuf, sizeof(errbuf)) != 0) {
        printf("%s: grok did not compile: %s\n", id, errbuf);
        goto out;
    }
    ev.message = input;
    ev.message_len = strlen(input);
    matched = lf_parser_chain_apply(chain, &ev, 0) == 0;
    doc = event_doc(&ev, input, matched);
    passed = true;
    json_array_foreach(json_object_get(c, "expect"), i, assertion)
    {
        normalise_expected_levels(assertion);
        if (!check(doc, matched, assertion)) {
            char *got = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
            char *want = json_dumps(assertion, JSON_COMPACT);

            printf("%s: assertion failed: %s\n  document: %s\n", id, want, got);
            free(got);
            free(want);
            passed = false;
        }
    }

out:
    json_decref(doc);
    lf_event_cleanup(&ev);
    lf_parser_chain_free(chain);
    lf_conf_free(conf);
    free(yaml);
    return passed;
}

static void test_grok_cases_logstash_specs(void)
{
    json_error_t error;
    json_t *root =
        json_load_file(lf_test_fixture("grok/grok_cases.json"), 0, &error);
    json_t *cases = json_object_get(root, "cases");
    size_t passed = 0;
    size_t i;
    json_t *c;

    LF_CHECK(json_is_array(cases));
    json_array_foreach(cases, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        bool ok = run_case(c);

        passed += ok;
        if (ok == is_known_failure(id)) {
            LF_FAIL_AT("case %s %s", id,
                       ok ? "passes but is listed as a known failure"
                          : "fails and is not listed as a known failure");
        }
    }
    printf("grok cases: %zu of %zu pass\n", passed, json_array_size(cases));
    LF_CHECK(json_array_size(cases) > 0);
    json_decref(root);
}

int main(void)
{
    LF_RUN(test_grok_cases_logstash_specs);
    return lf_test_end();
}
