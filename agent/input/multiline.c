/*
 * Multiline grouping of one file's lines, between the line reader and the
 * line filters. Groups are joined with "\n" into a buffer capped at the
 * rule's max_bytes, so memory is bounded by the rule, not by the group.
 */
#include "agent/input/multiline.h"
#include "lf/error.h"
#include "lf/mem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

struct preset {
    const char *name;
    const char *pattern;
};

/*
 * Each pattern finds the lines that continue a stack trace, so that the
 * first line of a trace starts a new event and two traces in a row stay
 * two events. Checked against the traces in tests/fixtures/multiline.
 */
static const struct preset presets[] = {
    /* "\tat x.y(Z.java:1)", "... 5 more", "Caused by: ...". */
    {"java", "^(?:[ \\t]|Caused by: |Suppressed: )"},
    /*
     * Indented frames, the final "ValueError: message" line, and the blank
     * lines and sentence that end a traceback chained to the next one. The
     * next "Traceback" line starts a new event, as a first traceback does.
     */
    {"python",
     "^(?:[ \\t]|$|[\\w.]*(?:Error|Exception|Warning|Exit|Interrupt|"
     "StopIteration)(?::|$)|During handling of the above exception|"
     "The above exception was the direct cause)"},
    /* Goroutine headers, "pkg.func(args)" frames, indented file lines. */
    {"go",
     "^(?:[ \\t]|$|goroutine \\d+ \\[|created by |\\[signal |exit status |"
     "[\\w./*()\\[\\]-]+\\(.*\\)$)"},
    /* "\tfrom file.rb:1:in `m'" and Rails' "gem (1.0) lib/x.rb:1:in". */
    {"ruby",
     "^(?:[ \\t]+(?:from |\\S+:\\d+:in |[\\w-]+ \\([\\w.]+\\) \\S+:\\d+:in )|"
     "[ \\t]*$)"},
    /* "    at f (file.js:1:2)". */
    {"node", "^[ \\t]+(?:at |eval at |\\.\\.\\. )"},
    /* "   at N.C.M() in f.cs:line 1", " ---> Inner", "--- End of ...". */
    {"dotnet", "^(?:[ \\t]+(?:at |---)|--- End of )"},
    /* "Stack trace:", "#0 file.php(1): f()", "  thrown in ...". */
    {"php", "^(?:Stack trace:|#\\d+ |[ \\t])"},
};

static const char *const multiline_keys[] = {
    "pattern", "negate",  "match",  "max_lines",
    "max_bytes", "timeout", "preset",
};

const char *lf_multiline_preset_pattern(const char *name)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(presets); i++) {
        if (strcmp(presets[i].name, name) == 0) {
            return presets[i].pattern;
        }
    }
    return NULL;
}

void lf_multiline_rule_free(struct lf_multiline_rule *rule)
{
    if (rule == NULL) {
        return;
    }
    pcre2_code_free(rule->pattern);
    lf_free(rule);
}

static int compile_pattern(const struct lf_conf_node *node, const char *text,
                           struct lf_multiline_rule *rule, char *errbuf,
                           size_t errlen)
{
    PCRE2_UCHAR message[256];
    PCRE2_SIZE error_offset;
    int error;

    rule->pattern = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0,
                                  &error, &error_offset, NULL);
    if (rule->pattern == NULL) {
        pcre2_get_error_message(error, message, sizeof(message));
        return lf_conf_error(node, errbuf, errlen,
                             "invalid regular expression at offset %zu: %s",
                             (size_t)error_offset, (const char *)message);
    }
    pcre2_jit_compile(rule->pattern, PCRE2_JIT_COMPLETE);
    return 0;
}

/* Reads `pattern` or `preset`, exactly one of which must be set. */
static int parse_pattern(const struct lf_conf_node *node,
                         struct lf_multiline_rule *rule, char *errbuf,
                         size_t errlen)
{
    struct lf_conf_node child;
    const char *pattern;
    const char *preset;
    int rc;

    rc = lf_conf_get_str(node, "pattern", NULL, &pattern, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(node, "preset", NULL, &preset, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if ((pattern == NULL) == (preset == NULL)) {
        return lf_conf_error(node, errbuf, errlen,
                             "expected exactly one of `pattern` (a regular "
                             "expression) or `preset` (java, python, go, "
                             "ruby, node, dotnet or php)");
    }
    if (preset != NULL) {
        lf_conf_child(node, "preset", &child);
        pattern = lf_multiline_preset_pattern(preset);
        if (pattern == NULL) {
            return lf_conf_error(&child, errbuf, errlen,
                                 "unknown preset \"%s\"; expected java, "
                                 "python, go, ruby, node, dotnet or php",
                                 preset);
        }
        return compile_pattern(&child, pattern, rule, errbuf, errlen);
    }
    lf_conf_child(node, "pattern", &child);
    return compile_pattern(&child, pattern, rule, errbuf, errlen);
}

static int parse_match(const struct lf_conf_node *node,
                       struct lf_multiline_rule *rule, char *errbuf,
                       size_t errlen)
{
    struct lf_conf_node child;
    const char *match;
    int rc = lf_conf_get_str(node, "match", "after", &match, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    if (strcmp(match, "after") == 0) {
        rule->match = LF_MULTILINE_MATCH_AFTER;
    } else if (strcmp(match, "before") == 0) {
        rule->match = LF_MULTILINE_MATCH_BEFORE;
    } else {
        lf_conf_child(node, "match", &child);
        return lf_conf_error(&child, errbuf, errlen,
                             "expected `after` or `before`, got \"%s\"",
                             match);
    }
    return 0;
}

static int parse_limits(const struct lf_conf_node *node,
                        size_t default_max_bytes,
                        struct lf_multiline_rule *rule, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node child;
    long long max_lines;
    long long max_bytes;
    long long timeout_ms;
    int rc;

    rc = lf_conf_get_int(node, "max_lines", LF_MULTILINE_DEFAULT_MAX_LINES,
                         1, 1000000, &max_lines, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bytes(node, "max_bytes", (long long)default_max_bytes,
                               &max_bytes, errbuf, errlen);
    }
    if (rc == 0 && (max_bytes < 1 || (size_t)max_bytes > default_max_bytes)) {
        lf_conf_child(node, "max_bytes", &child);
        return lf_conf_error(&child, errbuf, errlen,
                             "expected 1 to %zu bytes (the input's "
                             "max_line_bytes), got %lld bytes",
                             default_max_bytes, max_bytes);
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(node, "timeout",
                                     LF_MULTILINE_DEFAULT_TIMEOUT_MS,
                                     &timeout_ms, errbuf, errlen);
    }
    if (rc == 0 && timeout_ms <= 0) {
        lf_conf_child(node, "timeout", &child);
        return lf_conf_error(&child, errbuf, errlen,
                             "expected a duration above 0, such as 1s, "
                             "got %lld ms", timeout_ms);
    }
    if (rc != 0) {
        return rc;
    }
    rule->max_lines = (size_t)max_lines;
    rule->max_bytes = (size_t)max_bytes;
    rule->timeout_ms = (uint64_t)timeout_ms;
    return 0;
}

int lf_multiline_rule_parse(const struct lf_conf_node *node,
                            size_t default_max_bytes,
                            struct lf_multiline_rule **out, char *errbuf,
                            size_t errlen)
{
    struct lf_multiline_rule *rule = NULL;
    int rc;

    *out = NULL;
    if (lf_conf_kind(node) == LF_CONF_MISSING ||
        lf_conf_kind(node) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(node) != LF_CONF_MAP) {
        return lf_conf_error(node, errbuf, errlen,
                             "expected a map with `pattern` or `preset`, "
                             "such as `{preset: java}`");
    }
    rc = lf_conf_check_keys(node, multiline_keys,
                            LF_ARRAY_SIZE(multiline_keys), errbuf, errlen);
    if (rc != 0) {
        goto fail;
    }
    rule = lf_calloc(1, sizeof(*rule));
    rc = parse_pattern(node, rule, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bool(node, "negate", false, &rule->negate, errbuf,
                              errlen);
    }
    if (rc == 0) {
        rc = parse_match(node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_limits(node, default_max_bytes, rule, errbuf, errlen);
    }
    if (rc != 0) {
        goto fail;
    }
    *out = rule;
    return 0;

fail:
    lf_multiline_rule_free(rule);
    return rc;
}

/* Grouping */

void lf_multiline_init(struct lf_multiline *ml,
                       const struct lf_multiline_rule *rule)
{
    memset(ml, 0, sizeof(*ml));
    ml->rule = rule;
    ml->match_data = pcre2_match_data_create(1, NULL);
    lf_buf_init(&ml->group);
    lf_buf_init(&ml->done);
}

void lf_multiline_cleanup(struct lf_multiline *ml)
{
    pcre2_match_data_free(ml->match_data);
    lf_buf_cleanup(&ml->group);
    lf_buf_cleanup(&ml->done);
}

void lf_multiline_reset(struct lf_multiline *ml)
{
    lf_buf_reset(&ml->group);
    ml->line_count = 0;
    ml->truncated = false;
    ml->deadline_ms = 0;
}

bool lf_multiline_pending(const struct lf_multiline *ml)
{
    return ml->line_count > 0;
}

/* Returns true when `line` matches the rule, `negate` applied. */
static bool matches(struct lf_multiline *ml, const struct lf_line *line)
{
    int rc = pcre2_match(ml->rule->pattern, (PCRE2_SPTR)line->data,
                         line->len, 0, 0, ml->match_data, NULL);

    return (rc >= 0) != ml->rule->negate;
}

/* Appends `line` to the group, within max_lines and max_bytes. */
static void append(struct lf_multiline *ml, const struct lf_line *line,
                   uint64_t now_ms)
{
    const struct lf_multiline_rule *rule = ml->rule;
    size_t room;
    size_t len = line->len;

    if (ml->line_count == 0) {
        ml->offset = line->offset;
        ml->first.stream = line->stream;
        ml->first.has_timestamp = line->has_timestamp;
        ml->first.timestamp_ns = line->timestamp_ns;
    }
    ml->end_offset = line->end_offset;
    ml->deadline_ms = now_ms + rule->timeout_ms;
    ml->truncated = ml->truncated || line->truncated;
    if (ml->line_count++ >= rule->max_lines) {
        ml->truncated = true;
        return;
    }
    if (ml->line_count > 1) {
        len++; /* the "\n" that joins it */
    }
    room = rule->max_bytes - ml->group.len;
    if (len > room) {
        len = room;
        ml->truncated = true;
    }
    if (len == 1 && ml->line_count > 1 && line->len > 0) {
        /* Only the joining "\n" would fit, without any of the line. */
        return;
    }
    if (len > 0 && ml->line_count > 1) {
        lf_buf_append_char(&ml->group, '\n');
        len--;
    }
    lf_buf_append(&ml->group, line->data, len);
}

bool lf_multiline_flush(struct lf_multiline *ml, struct lf_line *out)
{
    struct lf_buf swap;

    if (ml->line_count == 0) {
        return false;
    }
    /* The group becomes `done`; the old `done` buffer is reused. */
    swap = ml->done;
    ml->done = ml->group;
    ml->group = swap;

    out->data = ml->done.data != NULL ? ml->done.data : "";
    out->len = ml->done.len;
    out->offset = ml->offset;
    out->end_offset = ml->end_offset;
    out->commit_offset = ml->end_offset;
    out->stream = ml->first.stream;
    out->has_timestamp = ml->first.has_timestamp;
    out->timestamp_ns = ml->first.timestamp_ns;
    out->truncated = ml->truncated;
    out->multiline = ml->line_count > 1;
    lf_multiline_reset(ml);
    return true;
}

bool lf_multiline_push(struct lf_multiline *ml, const struct lf_line *line,
                       uint64_t now_ms, struct lf_line *out)
{
    bool match = matches(ml, line);
    bool flushed;

    if (ml->rule->match == LF_MULTILINE_MATCH_BEFORE) {
        append(ml, line, now_ms);
        return !match && lf_multiline_flush(ml, out);
    }
    if (match && ml->line_count > 0) {
        append(ml, line, now_ms);
        return false;
    }
    /* The line starts a group, which ends the pending one. */
    flushed = lf_multiline_flush(ml, out);
    append(ml, line, now_ms);
    return flushed;
}
