/*
 * Grok parser: reads a step's configuration, expands its patterns with
 * grok_expand.c and compiles them into one regex (see regex.c), so a line
 * costs one JIT match whatever the number of patterns. Each named capture
 * becomes a typed field through field_map. A field that several groups of
 * a pattern store becomes a JSON array when more than one of them matched.
 */
#include "parsers/grok.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"
#include "parsers/field_map.h"
#include "parsers/grok_expand.h"
#include "parsers/grok_library.h"
#include "parsers/regex.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * Prefix of every compiled pattern. `n` makes only named groups capture,
 * so `%{NAME}` costs no capture slot. `s` lets `.` match a newline, as
 * the upstream specs expect of a multi-line CATALINALOG event, because
 * Logstash compiles grok with Ruby's Regexp::MULTILINE. `m` lets `^` and
 * `$` match at line breaks, as they do in every Ruby regex.
 */
#define REGEX_OPTIONS "(?msn)"

/* A group whose field other groups of the pattern store too. */
struct repeated_group {
    uint32_t number;
    struct lf_field_map map;
};

/* A field and its groups: `count` entries of grok.groups from `first`. */
struct repeated_field {
    const char *key;
    size_t first;
    size_t count;
};

struct grok {
    struct lf_regex *re;
    char **keys; /* owned field paths that the maps borrow */
    size_t key_count;
    struct repeated_group *groups; /* owned, in group order per field */
    size_t group_count;
    struct repeated_field *repeated; /* owned */
    size_t repeated_count;
    struct lf_buf array; /* JSON text of one repeated field, reused */
};

/*
 * One entry of `patterns:`: where its text is in the regex, and its
 * captures, from `first_capture` up to `capture_end`.
 */
struct branch {
    struct lf_conf_node node;
    size_t start;
    size_t end;
    size_t first_capture;
    size_t capture_end;
};

static const char *const grok_keys[] = {"patterns", "pattern_definitions",
                                        "ecs_compatibility", "field"};

static void grok_destroy(void *state)
{
    struct grok *grok = state;

    if (grok == NULL) {
        return;
    }
    lf_regex_free(grok->re);
    for (size_t i = 0; i < grok->group_count; i++) {
        lf_field_map_cleanup(&grok->groups[i].map);
    }
    lf_free(grok->groups);
    lf_free(grok->repeated);
    lf_buf_cleanup(&grok->array);
    for (size_t i = 0; i < grok->key_count; i++) {
        lf_free(grok->keys[i]);
    }
    lf_free(grok->keys);
    lf_free(grok);
}

/* Picks the library set named by `ecs_compatibility`. */
static int library_from_conf(const struct lf_conf_node *spec,
                             struct lf_grok_expansion *x, char *errbuf,
                             size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc;

    rc =
        lf_conf_get_str(spec, "ecs_compatibility", "v1", &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(name, "v1") == 0) {
        x->library = lf_grok_ecs_v1;
        x->library_count = lf_grok_ecs_v1_count;
    } else if (strcmp(name, "disabled") == 0) {
        x->library = lf_grok_legacy;
        x->library_count = lf_grok_legacy_count;
    } else {
        lf_conf_child(spec, "ecs_compatibility", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid ecs_compatibility '%s': expected v1 "
                             "(ECS field names) or disabled (legacy names)",
                             name);
    }
    return 0;
}

static bool is_pattern_name(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_')) {
            return false;
        }
    }
    return true;
}

/*
 * Reads `pattern_definitions` into `*defs_out`, an array the caller frees.
 * Its strings are borrowed from the document.
 */
static int definitions_from_conf(const struct lf_conf_node *spec,
                                 struct lf_grok_def **defs_out,
                                 size_t *count_out, char *errbuf, size_t errlen)
{
    struct lf_conf_node map;
    struct lf_grok_def *defs;
    size_t count;
    int rc = 0;

    *defs_out = NULL;
    *count_out = 0;
    lf_conf_child(spec, "pattern_definitions", &map);
    if (lf_conf_kind(&map) == LF_CONF_MISSING ||
        lf_conf_kind(&map) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&map) != LF_CONF_MAP) {
        return lf_conf_error(&map, errbuf, errlen,
                             "pattern_definitions must be a map from "
                             "pattern names to regexes, such as "
                             "`TXN: 'txn-[0-9a-f]{8}'`");
    }
    count = lf_conf_size(&map);
    defs = lf_calloc(count == 0 ? 1 : count, sizeof(*defs));
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct lf_conf_node node;

        lf_conf_entry(&map, i, &defs[i].name, &node);
        if (!is_pattern_name(defs[i].name)) {
            rc = lf_conf_error(&node, errbuf, errlen,
                               "invalid pattern name '%s': use letters, "
                               "digits and underscores",
                               defs[i].name);
        } else {
            rc = lf_conf_scalar(&node, &defs[i].regex, errbuf, errlen);
        }
    }
    if (rc != 0) {
        lf_free(defs);
        return rc;
    }
    *defs_out = defs;
    *count_out = count;
    return 0;
}

/* Stores the nodes of `patterns`: a list of strings, or one string. */
static int branches_from_conf(const struct lf_conf_node *spec,
                              struct branch **out, size_t *count_out,
                              char *errbuf, size_t errlen)
{
    struct lf_conf_node list;
    struct branch *branches;
    size_t count;

    lf_conf_child(spec, "patterns", &list);
    if (lf_conf_kind(&list) == LF_CONF_SCALAR) {
        branches = lf_calloc(1, sizeof(*branches));
        branches[0].node = list;
        *out = branches;
        *count_out = 1;
        return 0;
    }
    if (lf_conf_kind(&list) != LF_CONF_LIST || lf_conf_size(&list) == 0) {
        return lf_conf_error(lf_conf_kind(&list) == LF_CONF_MISSING ? spec
                                                                    : &list,
                             errbuf, errlen,
                             "patterns is required: a list of grok "
                             "patterns such as '%%{IP:source.ip} "
                             "%%{GREEDYDATA:message}'");
    }
    count = lf_conf_size(&list);
    branches = lf_calloc(count, sizeof(*branches));
    for (size_t i = 0; i < count; i++) {
        lf_conf_at(&list, i, &branches[i].node);
    }
    *out = branches;
    *count_out = count;
    return 0;
}

/*
 * Expands every pattern into x->regex. Several patterns become
 * `\A(?:(?s:.*?)(?:P1)|(?s:.*?)(?:P2)|...)`: a lazy prefix in each branch
 * makes P1 win wherever it matches before P2 is tried at all, as when
 * Logstash tries the patterns one after another.
 */
static int expand_branches(struct lf_grok_expansion *x, struct branch *branches,
                           size_t count, char *errbuf, size_t errlen)
{
    char reason[512];
    int rc;

    lf_buf_append_str(&x->regex, REGEX_OPTIONS);
    if (count > 1) {
        lf_buf_append_str(&x->regex, "\\A(?:");
    }
    for (size_t i = 0; i < count; i++) {
        const char *pattern;

        rc = lf_conf_scalar(&branches[i].node, &pattern, errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
        if (count > 1) {
            lf_buf_append_str(&x->regex,
                              i > 0 ? "|(?s:.*?)(?:" : "(?s:.*?)(?:");
        }
        branches[i].start = x->regex.len;
        branches[i].first_capture = x->capture_count;
        if (lf_grok_expand(x, pattern, reason, sizeof(reason)) != 0) {
            return lf_conf_error(&branches[i].node, errbuf, errlen, "%s",
                                 reason);
        }
        branches[i].end = x->regex.len;
        branches[i].capture_end = x->capture_count;
        if (count > 1) {
            lf_buf_append_char(&x->regex, ')');
        }
    }
    if (count > 1) {
        lf_buf_append_char(&x->regex, ')');
    }
    return 0;
}

/*
 * Reports why the combined regex did not compile, naming the pattern at
 * fault: each branch is compiled alone to find it.
 */
static int report_compile_error(const struct lf_conf_node *spec,
                                const struct lf_grok_expansion *x,
                                const struct branch *branches, size_t count,
                                const char *reason, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    struct lf_buf alone;
    char branch_reason[256];
    int rc = 0;

    lf_buf_init(&alone);
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct lf_regex *re = NULL;

        lf_buf_reset(&alone);
        lf_buf_append_str(&alone, REGEX_OPTIONS);
        lf_buf_append(&alone, x->regex.data + branches[i].start,
                      branches[i].end - branches[i].start);
        if (lf_regex_new(alone.data, &re, branch_reason,
                         sizeof(branch_reason)) != 0) {
            rc = lf_conf_error(&branches[i].node, errbuf, errlen,
                               "grok pattern does not compile after "
                               "expansion (%s): check the regex syntax of "
                               "the pattern and of the definitions it uses",
                               branch_reason);
        }
        lf_regex_free(re);
    }
    lf_buf_cleanup(&alone);
    if (rc != 0) {
        return rc;
    }
    lf_conf_child(spec, "patterns", &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "grok patterns do not compile together (%s): "
                         "split them over several grok steps",
                         reason);
}

/* Returns the regex group number of capture `index` (group `g<index>`). */
static int group_number(const struct grok *grok, size_t index)
{
    char group[32];

    snprintf(group, sizeof(group), "g%zu", index);
    return lf_regex_capture_number(grok->re, group);
}

/*
 * Returns how many captures of `branch` store the field of capture
 * `index`, and sets `*is_first` when no earlier one of them does.
 */
static size_t count_same_field(const struct grok *grok,
                               const struct branch *branch, size_t index,
                               bool *is_first)
{
    size_t count = 0;

    *is_first = true;
    for (size_t i = branch->first_capture; i < branch->capture_end; i++) {
        if (strcmp(grok->keys[i], grok->keys[index]) == 0) {
            count++;
            *is_first = *is_first && i >= index;
        }
    }
    return count;
}

/*
 * Adds the field of capture `first` to grok->repeated, with every capture
 * of `branch` from `first` on that stores it, in group order.
 */
static int add_repeated(struct grok *grok, const struct lf_grok_expansion *x,
                        const struct branch *branch, size_t first,
                        size_t count)
{
    const char *key = grok->keys[first];
    struct repeated_field *field;

    grok->repeated = lf_realloc(grok->repeated, (grok->repeated_count + 1) *
                                                    sizeof(*grok->repeated));
    field = &grok->repeated[grok->repeated_count++];
    field->key = key;
    field->first = grok->group_count;
    field->count = 0;
    grok->groups = lf_realloc(grok->groups, (grok->group_count + count) *
                                                sizeof(*grok->groups));
    for (size_t i = first; i < branch->capture_end; i++) {
        struct repeated_group *group = &grok->groups[grok->group_count];
        int number;

        if (strcmp(grok->keys[i], key) != 0) {
            continue;
        }
        number = group_number(grok, i);
        if (number < 1) {
            return LF_EINVAL;
        }
        group->number = (uint32_t)number;
        lf_field_map_init(&group->map, key);
        grok->group_count++;
        field->count++;
        if (lf_field_map_set_type(&group->map, x->captures[i].type) != 0) {
            return LF_EINVAL;
        }
    }
    return 0;
}

/* Maps capture `index` alone to its field through the regex. */
static int add_single(struct grok *grok, const struct lf_grok_expansion *x,
                      size_t index)
{
    struct lf_field_map map;
    int rc;

    lf_field_map_init(&map, grok->keys[index]);
    rc = lf_field_map_set_type(&map, x->captures[index].type);
    if (rc != 0) {
        return rc;
    }
    return lf_regex_add_field(grok->re, group_number(grok, index), &map);
}

/*
 * Maps every capture group to its field; the keys move to `grok`. A field
 * that one group of a pattern stores is mapped through the regex. A field
 * that several groups of one pattern store goes to grok->repeated once,
 * at its first group. Patterns are alternatives, so the same field in two
 * patterns is two single fields.
 */
static int add_fields(struct grok *grok, struct lf_grok_expansion *x,
                      const struct branch *branches, size_t branch_count)
{
    grok->keys = lf_calloc(x->capture_count == 0 ? 1 : x->capture_count,
                           sizeof(*grok->keys));
    for (size_t i = 0; i < x->capture_count; i++) {
        grok->keys[grok->key_count++] = x->captures[i].key;
        x->captures[i].key = NULL;
    }
    for (size_t b = 0; b < branch_count; b++) {
        const struct branch *branch = &branches[b];

        for (size_t i = branch->first_capture; i < branch->capture_end; i++) {
            bool is_first;
            size_t count = count_same_field(grok, branch, i, &is_first);
            int rc = 0;

            if (count == 1) {
                rc = add_single(grok, x, i);
            } else if (is_first) {
                rc = add_repeated(grok, x, branch, i, count);
            }
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

static int compile(const struct lf_conf_node *spec, struct grok *grok,
                   struct lf_grok_expansion *x, char *errbuf, size_t errlen)
{
    struct branch *branches = NULL;
    size_t count = 0;
    char reason[256];
    int rc;

    rc = branches_from_conf(spec, &branches, &count, errbuf, errlen);
    if (rc == 0) {
        rc = expand_branches(x, branches, count, errbuf, errlen);
    }
    if (rc == 0 &&
        lf_regex_new(x->regex.data, &grok->re, reason, sizeof(reason)) != 0) {
        rc = report_compile_error(spec, x, branches, count, reason, errbuf,
                                  errlen);
    }
    if (rc == 0) {
        rc = add_fields(grok, x, branches, count);
    }
    lf_free(branches);
    return rc;
}

static int grok_create(const struct lf_conf_node *spec, void **out,
                       char *errbuf, size_t errlen)
{
    struct grok *grok = lf_calloc(1, sizeof(*grok));
    struct lf_grok_def *defs = NULL;
    struct lf_grok_expansion x;
    size_t def_count = 0;
    int rc;

    /* Stored first: the chain frees a half-built step with destroy(). */
    *out = grok;
    lf_buf_init(&grok->array);
    lf_grok_expansion_init(&x, NULL, 0, NULL, 0);
    rc = lf_conf_check_keys(spec, grok_keys, LF_ARRAY_SIZE(grok_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = library_from_conf(spec, &x, errbuf, errlen);
    }
    if (rc == 0) {
        rc = definitions_from_conf(spec, &defs, &def_count, errbuf, errlen);
    }
    if (rc == 0) {
        x.custom = defs;
        x.custom_count = def_count;
        rc = compile(spec, grok, &x, errbuf, errlen);
    }
    lf_grok_expansion_cleanup(&x);
    lf_free(defs);
    return rc;
}

static uint32_t grok_capture_count(const void *state)
{
    const struct grok *grok = state;

    return lf_regex_capture_count(grok->re);
}

/*
 * Sets a field that several groups store: one value as it is, two or more
 * as a JSON array in group order, as the `handle` method of
 * logstash-filter-grok appends each further capture to an array. Each
 * value is converted and set by its group's map, then read back. Empty
 * and unconvertible values are left out, and with no value left the field
 * keeps what an earlier step set.
 */
static void set_repeated(struct grok *grok, const struct repeated_field *field,
                         const struct lf_regex_scratch *scratch,
                         struct lf_event *ev, const char *text, int64_t now_ns)
{
    const struct lf_value *earlier = lf_event_get(ev, field->key);
    struct lf_value earlier_value = {.type = LF_VALUE_STRING};
    struct lf_value first = {.type = LF_VALUE_STRING};
    bool had_value = earlier != NULL;
    bool removed = false;
    size_t value_count = 0;
    const char *json;

    if (had_value) {
        earlier_value = *earlier;
    }
    lf_buf_reset(&grok->array);
    lf_buf_append_char(&grok->array, '[');
    for (size_t i = 0; i < field->count; i++) {
        struct repeated_group *group = &grok->groups[field->first + i];
        const struct lf_value *value;
        size_t start;
        size_t len;

        if (!lf_regex_scratch_group(scratch, group->number, &start, &len)) {
            continue;
        }
        removed = true;
        lf_event_remove(ev, field->key);
        lf_field_map_apply(&group->map, ev, text + start, len, now_ns);
        value = lf_event_get(ev, field->key);
        if (value == NULL) {
            continue;
        }
        if (value_count == 0) {
            first = *value;
        } else {
            lf_buf_append_char(&grok->array, ',');
        }
        lf_json_append_value(&grok->array, value);
        value_count++;
    }
    lf_buf_append_char(&grok->array, ']');

    if (value_count > 1) {
        json = lf_event_copy_str(ev, grok->array.data, grok->array.len);
        lf_event_set_json(ev, field->key, json, grok->array.len);
    } else if (value_count == 1) {
        lf_event_set(ev, field->key, &first);
    } else if (removed && had_value) {
        lf_event_set(ev, field->key, &earlier_value);
    }
}

static int grok_apply(void *state, struct lf_regex_scratch *scratch,
                      struct lf_event *ev, const char *text, size_t len,
                      int64_t now_ns)
{
    struct grok *grok = state;
    int rc;

    rc = lf_regex_apply(grok->re, scratch, ev, text, len, now_ns);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < grok->repeated_count; i++) {
        set_repeated(grok, &grok->repeated[i], scratch, ev, text, now_ns);
    }
    return 0;
}

const struct lf_parser_kind lf_grok_kind = {
    .name = "grok",
    .role = LF_PARSER_MATCHER,
    .create = grok_create,
    .capture_count = grok_capture_count,
    .apply = grok_apply,
    .destroy = grok_destroy,
};
