/*
 * Multiline grouping: the four pattern/negate/match combinations, the
 * max_lines and max_bytes limits, the idle deadline, option errors, and
 * the presets on the stack traces of tests/fixtures/multiline.
 */
#include "agent/input/multiline.h"
#include "lf_test.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <jansson.h>

#define MAX_EVENTS 64

struct events {
    char *text[MAX_EVENTS];
    uint64_t offset[MAX_EVENTS];
    uint64_t end[MAX_EVENTS];
    bool truncated[MAX_EVENTS];
    bool multiline[MAX_EVENTS];
    size_t count;
};

static void events_cleanup(struct events *ev)
{
    for (size_t i = 0; i < ev->count; i++) {
        lf_free(ev->text[i]);
    }
    ev->count = 0;
}

static void keep(struct events *ev, const struct lf_line *line)
{
    if (ev->count == MAX_EVENTS) {
        LF_FAIL_AT("more than %d events", MAX_EVENTS);
        return;
    }
    ev->text[ev->count] = lf_strndup(line->data, line->len);
    ev->offset[ev->count] = line->offset;
    ev->end[ev->count] = line->end_offset;
    ev->truncated[ev->count] = line->truncated;
    ev->multiline[ev->count] = line->multiline;
    ev->count++;
}

/*
 * Pushes every "\n"-terminated line of `text` at 1 ms steps from `now`,
 * then flushes the pending group as the end of reading does.
 */
static void group_text(struct lf_multiline *ml, const char *text,
                       struct events *out)
{
    uint64_t offset = 0;
    uint64_t now = 1000;
    struct lf_line line = {0};
    struct lf_line event;

    while (*text != '\0') {
        const char *end = strchr(text, '\n');
        size_t len = end != NULL ? (size_t)(end - text) : strlen(text);
        size_t used = end != NULL ? len + 1 : len;

        line.data = text;
        line.len = len;
        line.offset = offset;
        line.end_offset = offset + used;
        if (lf_multiline_push(ml, &line, now++, &event)) {
            keep(out, &event);
        }
        offset += used;
        text += used;
    }
    if (lf_multiline_flush(ml, &event)) {
        keep(out, &event);
    }
}

/* Parses a `multiline` map written in YAML. */
static struct lf_multiline_rule *make_rule(const char *yaml, size_t max_bytes,
                                           char *errbuf, size_t errlen)
{
    struct lf_multiline_rule *rule = NULL;
    struct lf_conf_node root;
    struct lf_conf_node node;
    struct lf_conf *conf = NULL;
    int rc;

    rc = lf_conf_load_string(yaml, strlen(yaml), "test.yml", &conf, errbuf,
                             errlen);
    if (rc == 0) {
        lf_conf_root(conf, &root);
        lf_conf_child(&root, "multiline", &node);
        rc = lf_multiline_rule_parse(&node, max_bytes, &rule, errbuf, errlen);
    }
    if (rc != 0) {
        rule = NULL;
    }
    lf_conf_free(conf);
    return rule;
}

static void run_rule(const char *yaml, const char *text, struct events *out)
{
    char errbuf[512] = "";
    struct lf_multiline_rule *rule = make_rule(yaml, 1024 * 1024, errbuf,
                                               sizeof(errbuf));
    struct lf_multiline ml;

    if (rule == NULL) {
        LF_FAIL_AT("rule %s: %s", yaml, errbuf);
        return;
    }
    lf_multiline_init(&ml, rule);
    group_text(&ml, text, out);
    lf_multiline_cleanup(&ml);
    lf_multiline_rule_free(rule);
}

static void test_multiline_after_negate(void)
{
    struct events ev = {0};

    run_rule("multiline: {pattern: '^\\d{4}-', negate: true}\n",
             "2024-03-01 a\n  at x\n  at y\n2024-03-01 b\n2024-03-01 c\n"
             "  at z\n",
             &ev);
    LF_CHECK_INT_EQ(ev.count, 3);
    LF_CHECK_STR_EQ(ev.text[0], "2024-03-01 a\n  at x\n  at y");
    LF_CHECK_INT_EQ(ev.offset[0], 0);
    LF_CHECK_INT_EQ(ev.end[0], 27);
    LF_CHECK(ev.multiline[0]);
    LF_CHECK_STR_EQ(ev.text[1], "2024-03-01 b");
    LF_CHECK_INT_EQ(ev.offset[1], 27);
    LF_CHECK_INT_EQ(ev.end[1], 40);
    LF_CHECK(!ev.multiline[1]);
    LF_CHECK_STR_EQ(ev.text[2], "2024-03-01 c\n  at z");
    LF_CHECK_INT_EQ(ev.offset[2], 40);
    LF_CHECK_INT_EQ(ev.end[2], 60);
    events_cleanup(&ev);
}

static void test_multiline_after_continuation(void)
{
    struct events ev = {0};

    /* A continuation line with no group before it starts one. */
    run_rule("multiline: {pattern: '^[ \\t]', match: after}\n",
             "  orphan\nhead\n\tone\n\ttwo\nnext\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 3);
    LF_CHECK_STR_EQ(ev.text[0], "  orphan");
    LF_CHECK_STR_EQ(ev.text[1], "head\n\tone\n\ttwo");
    LF_CHECK_INT_EQ(ev.offset[1], 9);
    LF_CHECK_INT_EQ(ev.end[1], 24);
    LF_CHECK_STR_EQ(ev.text[2], "next");
    events_cleanup(&ev);
}

static void test_multiline_before(void)
{
    struct events ev = {0};

    /* A line ending in "\" continues on the next line. */
    run_rule("multiline: {pattern: '\\\\$', match: before}\n",
             "a \\\nb \\\nc\nd\ne \\\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 3);
    LF_CHECK_STR_EQ(ev.text[0], "a \\\nb \\\nc");
    LF_CHECK_INT_EQ(ev.offset[0], 0);
    LF_CHECK_INT_EQ(ev.end[0], 10);
    LF_CHECK_STR_EQ(ev.text[1], "d");
    LF_CHECK_INT_EQ(ev.offset[1], 10);
    /* The unfinished group comes out at the final flush. */
    LF_CHECK_STR_EQ(ev.text[2], "e \\");
    LF_CHECK_INT_EQ(ev.offset[2], 12);
    LF_CHECK_INT_EQ(ev.end[2], 16);
    events_cleanup(&ev);
}

static void test_multiline_before_negate(void)
{
    struct events ev = {0};

    /* Lines are joined until one ends with ";". */
    run_rule("multiline: {pattern: ';$', negate: true, match: before}\n",
             "select\n*\nfrom t;\nok;\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 2);
    LF_CHECK_STR_EQ(ev.text[0], "select\n*\nfrom t;");
    LF_CHECK_STR_EQ(ev.text[1], "ok;");
    LF_CHECK(!ev.multiline[1]);
    events_cleanup(&ev);
}

static void test_multiline_max_lines(void)
{
    struct events ev = {0};

    run_rule("multiline: {pattern: '^ ', max_lines: 2}\n",
             "a\n 1\n 2\n 3\nb\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 2);
    LF_CHECK_STR_EQ(ev.text[0], "a\n 1");
    LF_CHECK(ev.truncated[0]);
    /* Dropped lines still belong to the event's byte range. */
    LF_CHECK_INT_EQ(ev.end[0], 11);
    LF_CHECK_STR_EQ(ev.text[1], "b");
    LF_CHECK(!ev.truncated[1]);
    events_cleanup(&ev);
}

static void test_multiline_max_bytes(void)
{
    struct events ev = {0};

    run_rule("multiline: {pattern: '^ ', max_bytes: 6}\n",
             "abc\n de\n fg\nz\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 2);
    LF_CHECK_STR_EQ(ev.text[0], "abc\n d");
    LF_CHECK(ev.truncated[0]);
    LF_CHECK_INT_EQ(ev.end[0], 12);
    LF_CHECK_STR_EQ(ev.text[1], "z");
    events_cleanup(&ev);
}

static void test_multiline_deadline_follows_last_line(void)
{
    char errbuf[512] = "";
    struct lf_multiline_rule *rule =
        make_rule("multiline: {pattern: '^ ', timeout: 2s}\n", 4096, errbuf,
                  sizeof(errbuf));
    struct lf_line line = {.data = "head", .len = 4, .end_offset = 5};
    struct lf_multiline ml;
    struct lf_line event;

    LF_CHECK(rule != NULL);
    if (rule == NULL) {
        return;
    }
    lf_multiline_init(&ml, rule);
    LF_CHECK_INT_EQ(ml.deadline_ms, 0);
    LF_CHECK(!lf_multiline_push(&ml, &line, 100, &event));
    LF_CHECK_INT_EQ(ml.deadline_ms, 2100);

    line.data = " more";
    line.len = 5;
    line.offset = 5;
    line.end_offset = 11;
    LF_CHECK(!lf_multiline_push(&ml, &line, 900, &event));
    LF_CHECK_INT_EQ(ml.deadline_ms, 2900);
    LF_CHECK(lf_multiline_pending(&ml));

    LF_CHECK(lf_multiline_flush(&ml, &event));
    LF_CHECK_MEM_EQ(event.data, event.len, "head\n more");
    LF_CHECK_INT_EQ(event.offset, 0);
    LF_CHECK_INT_EQ(event.end_offset, 11);
    LF_CHECK_INT_EQ(ml.deadline_ms, 0);
    LF_CHECK(!lf_multiline_pending(&ml));
    LF_CHECK(!lf_multiline_flush(&ml, &event));
    lf_multiline_cleanup(&ml);
    lf_multiline_rule_free(rule);
}

static void test_multiline_reset_drops_group(void)
{
    char errbuf[512] = "";
    struct lf_multiline_rule *rule =
        make_rule("multiline: {preset: java}\n", 4096, errbuf,
                  sizeof(errbuf));
    struct lf_line line = {.data = "Exception", .len = 9, .end_offset = 10};
    struct lf_multiline ml;
    struct lf_line event;

    LF_CHECK(rule != NULL);
    if (rule == NULL) {
        return;
    }
    lf_multiline_init(&ml, rule);
    lf_multiline_push(&ml, &line, 1, &event);
    lf_multiline_reset(&ml);
    LF_CHECK(!lf_multiline_pending(&ml));
    LF_CHECK(!lf_multiline_flush(&ml, &event));
    lf_multiline_cleanup(&ml);
    lf_multiline_rule_free(rule);
}

static void check_rule_error(const char *yaml, const char *expected)
{
    char errbuf[512] = "";
    struct lf_multiline_rule *rule =
        make_rule(yaml, 4096, errbuf, sizeof(errbuf));

    LF_CHECK(rule == NULL);
    lf_multiline_rule_free(rule);
    LF_CHECK_STR_EQ(errbuf, expected);
}

static void test_multiline_rule_errors(void)
{
    check_rule_error("multiline: {preset: cobol}\n",
                     "test.yml:1: multiline.preset: unknown preset "
                     "\"cobol\"; expected java, python, go, ruby, node, "
                     "dotnet or php");
    check_rule_error("multiline: {negate: true}\n",
                     "test.yml:1: multiline: expected exactly one of "
                     "`pattern` (a regular expression) or `preset` (java, "
                     "python, go, ruby, node, dotnet or php)");
    check_rule_error("multiline: {pattern: '^a', preset: java}\n",
                     "test.yml:1: multiline: expected exactly one of "
                     "`pattern` (a regular expression) or `preset` (java, "
                     "python, go, ruby, node, dotnet or php)");
    check_rule_error("multiline: {pattern: '^a', match: around}\n",
                     "test.yml:1: multiline.match: expected `after` or "
                     "`before`, got \"around\"");
    check_rule_error("multiline: {pattern: '(a'}\n",
                     "test.yml:1: multiline.pattern: invalid regular "
                     "expression at offset 2: missing closing parenthesis");
    check_rule_error("multiline: {pattern: '^a', max_bytes: 8KiB}\n",
                     "test.yml:1: multiline.max_bytes: expected 1 to 4096 "
                     "bytes (the input's max_line_bytes), got 8192 bytes");
    check_rule_error("multiline: {pattern: '^a', timeout: 0}\n",
                     "test.yml:1: multiline.timeout: expected a duration "
                     "above 0, such as 1s, got 0 ms");
    check_rule_error("multiline: [java]\n",
                     "test.yml:1: multiline: expected a map with `pattern` "
                     "or `preset`, such as `{preset: java}`");
}

static void test_multiline_rule_defaults(void)
{
    char errbuf[512] = "";
    struct lf_multiline_rule *rule =
        make_rule("multiline: {pattern: x}\n", 4096, errbuf, sizeof(errbuf));

    LF_CHECK(rule != NULL);
    if (rule == NULL) {
        return;
    }
    LF_CHECK(!rule->negate);
    LF_CHECK_INT_EQ(rule->match, LF_MULTILINE_MATCH_AFTER);
    LF_CHECK_INT_EQ(rule->max_lines, 500);
    LF_CHECK_INT_EQ(rule->max_bytes, 4096);
    LF_CHECK_INT_EQ(rule->timeout_ms, 1000);
    lf_multiline_rule_free(rule);
}

/* The preset for a language name of exception-traces.json, or NULL. */
static const char *preset_for(const char *language)
{
    static const char *const names[][2] = {
        {"java", "java"}, {"python", "python"}, {"go", "go"},
        {"ruby", "ruby"}, {"js", "node"},       {"csharp", "dotnet"},
        {"php", "php"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(names); i++) {
        if (strcmp(names[i][0], language) == 0) {
            return names[i][1];
        }
    }
    return NULL;
}

/* Returns `text` without its final "\n", as a new string. */
static char *chomp(const char *text)
{
    size_t len = strlen(text);

    if (len > 0 && text[len - 1] == '\n') {
        len--;
    }
    return lf_strndup(text, len);
}

/*
 * Runs the trace's preset on line, T, line, T, T and returns the number of
 * events that differ from the expected five (a count mismatch counts as
 * all five).
 */
static size_t trace_mismatches(const char *preset, const char *trace)
{
    static const char line[] = "This is not an exception.";
    struct lf_buf input;
    struct events ev = {0};
    char yaml[64];
    char *expected = chomp(trace);
    size_t wrong = 0;

    lf_buf_init(&input);
    lf_buf_appendf(&input, "%s\n%s%s\n%s%s", line, trace, line, trace, trace);
    snprintf(yaml, sizeof(yaml), "multiline: {preset: %s}\n", preset);
    run_rule(yaml, input.data, &ev);
    if (ev.count != 5) {
        wrong = 5;
    } else {
        const char *want[5] = {line, expected, line, expected, expected};

        for (size_t i = 0; i < 5; i++) {
            wrong += strcmp(ev.text[i], want[i]) != 0;
        }
    }
    events_cleanup(&ev);
    lf_buf_cleanup(&input);
    lf_free(expected);
    return wrong;
}

static void test_multiline_presets_keep_traces_whole(void)
{
    json_error_t error;
    json_t *doc = json_load_file(
        lf_test_fixture("multiline/exception-traces.json"), 0, &error);
    json_t *traces = json_object_get(doc, "traces");
    size_t checked = 0;
    size_t index;
    json_t *trace;

    LF_CHECK(json_is_array(traces));
    json_array_foreach(traces, index, trace) {
        const char *id = json_string_value(json_object_get(trace, "id"));
        const char *text = json_string_value(json_object_get(trace, "trace"));
        const char *preset = preset_for(
            json_string_value(json_object_get(trace, "language")));
        size_t wrong;

        if (preset == NULL) {
            continue;
        }
        wrong = trace_mismatches(preset, text);
        checked++;
        if (strcmp(id, "NESTED_JAVA_EXC") == 0) {
            /*
             * NOTE: the java preset splits a trace whose nested exception
             * name starts a line without indentation, because that line
             * looks like the first line of a new trace.
             */
            LF_CHECK(wrong > 0);
            continue;
        }
        if (wrong != 0) {
            LF_FAIL_AT("trace %s with preset %s: %zu of 5 events differ", id,
                       preset, wrong);
        }
    }
    LF_CHECK_INT_EQ(checked, 12);
    json_decref(doc);
}

/* Fluent Bit's built-in java, python and go cases. */
static void test_multiline_presets_on_fluent_bit_cases(void)
{
    json_error_t error;
    json_t *doc = json_load_file(
        lf_test_fixture("multiline/multiline-cases.json"), 0, &error);
    json_t *cases = json_object_get(doc, "cases");
    size_t checked = 0;
    size_t index;
    json_t *item;

    LF_CHECK(json_is_array(cases));
    json_array_foreach(cases, index, item) {
        json_t *chain = json_object_get(item, "parser_chain");
        const char *preset = json_string_value(json_array_get(chain, 0));
        json_t *expected = json_object_get(item, "expected_records");
        struct lf_buf input;
        struct events ev = {0};
        char yaml[64];
        size_t i;
        json_t *value;

        if (preset == NULL || lf_multiline_preset_pattern(preset) == NULL) {
            continue;
        }
        lf_buf_init(&input);
        json_array_foreach(json_object_get(item, "input_lines"), i, value) {
            lf_buf_append_str(&input, json_string_value(value));
        }
        snprintf(yaml, sizeof(yaml), "multiline: {preset: %s}\n", preset);
        run_rule(yaml, input.data, &ev);
        LF_CHECK_INT_EQ(ev.count, json_array_size(expected));
        json_array_foreach(expected, i, value) {
            char *want = chomp(json_string_value(value));

            if (i < ev.count) {
                LF_CHECK_STR_EQ(ev.text[i], want);
            }
            lf_free(want);
        }
        events_cleanup(&ev);
        lf_buf_cleanup(&input);
        checked++;
    }
    LF_CHECK_INT_EQ(checked, 3);
    json_decref(doc);
}

static void test_multiline_max_bytes_no_bare_newline(void)
{
    struct events ev = {0};

    run_rule("multiline: {pattern: '^ ', max_bytes: 4}\n",
             "abc\n de\n\nz\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 3);
    LF_CHECK_STR_EQ(ev.text[0], "abc");
    LF_CHECK(ev.truncated[0]);
    LF_CHECK_INT_EQ(ev.end[0], 8);
    LF_CHECK_STR_EQ(ev.text[1], "");
    LF_CHECK_STR_EQ(ev.text[2], "z");
    events_cleanup(&ev);

    /* An empty line joined in the last byte is whole, not truncated. */
    run_rule("multiline: {pattern: '^( |$)', max_bytes: 4}\n",
             "abc\n\nz\n", &ev);
    LF_CHECK_INT_EQ(ev.count, 2);
    LF_CHECK_STR_EQ(ev.text[0], "abc\n");
    LF_CHECK(!ev.truncated[0]);
    events_cleanup(&ev);
}

static void test_multiline_python_chained_traceback(void)
{
    struct events ev = {0};

    run_rule("multiline: {preset: python}\n",
             "Traceback (most recent call last):\n"
             "  File \"a.py\", line 2, in <module>\n"
             "ValueError: x\n"
             "\n"
             "During handling of the above exception, another exception "
             "occurred:\n"
             "\n"
             "Traceback (most recent call last):\n"
             "  File \"a.py\", line 4, in <module>\n"
             "RuntimeError: wrapped\n"
             "\n"
             "The above exception was the direct cause of the following "
             "exception:\n"
             "\n"
             "Traceback (most recent call last):\n"
             "KeyError: 'k'\n",
             &ev);
    LF_CHECK_INT_EQ(ev.count, 3);
    LF_CHECK_STR_EQ(ev.text[0],
                    "Traceback (most recent call last):\n"
                    "  File \"a.py\", line 2, in <module>\n"
                    "ValueError: x\n"
                    "\n"
                    "During handling of the above exception, another "
                    "exception occurred:\n");
    LF_CHECK_STR_EQ(ev.text[1],
                    "Traceback (most recent call last):\n"
                    "  File \"a.py\", line 4, in <module>\n"
                    "RuntimeError: wrapped\n"
                    "\n"
                    "The above exception was the direct cause of the "
                    "following exception:\n");
    LF_CHECK_STR_EQ(ev.text[2], "Traceback (most recent call last):\n"
                                "KeyError: 'k'");
    events_cleanup(&ev);
}

int main(void)
{
    LF_RUN(test_multiline_after_negate);
    LF_RUN(test_multiline_after_continuation);
    LF_RUN(test_multiline_before);
    LF_RUN(test_multiline_before_negate);
    LF_RUN(test_multiline_max_lines);
    LF_RUN(test_multiline_max_bytes);
    LF_RUN(test_multiline_deadline_follows_last_line);
    LF_RUN(test_multiline_reset_drops_group);
    LF_RUN(test_multiline_rule_errors);
    LF_RUN(test_multiline_rule_defaults);
    LF_RUN(test_multiline_presets_keep_traces_whole);
    LF_RUN(test_multiline_presets_on_fluent_bit_cases);
    LF_RUN(test_multiline_max_bytes_no_bare_newline);
    LF_RUN(test_multiline_python_chained_traceback);
    return lf_test_end();
}
