/*
 * Parser chains: builds the `parsers:` list of an input from the
 * configuration document and applies it to each line.
 *
 * Steps run in list order. A step that reads the message matches a whole
 * line format (regex, preset, ...). Such steps are alternatives: the first
 * that matches sets its fields and the later ones are skipped, so one
 * input can read lines of several formats. A step given `field:`
 * reads that field instead and always runs once it is reached, so a
 * format nested in another (a logfmt message inside a JSON line) is
 * parsed in a second step. Steps that only refine fields already set
 * (timestamp, ...) also always run.
 */
#include "lf/parser.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/field_map.h"
#include "parsers/grok.h"
#include "parsers/json_parser.h"
#include "parsers/kind.h"
#include "parsers/logfmt.h"
#include "parsers/presets.h"
#include "parsers/regex.h"
#include "parsers/syslog.h"
#include "parsers/timestamp_step.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct step {
    const struct lf_parser_kind *kind;
    void *state;       /* owned by the kind */
    const char *field; /* borrowed; NULL reads the message */
};

struct lf_parser_chain {
    struct step *steps;
    size_t step_count;
    bool has_matcher; /* a step that reads the message may fail the line */
    struct lf_regex_scratch *scratch; /* NULL when no step needs one */
};

static const char *const regex_keys[] = {"pattern", "fields", "field"};

static int add_regex_field(struct lf_regex *re, const char *capture,
                           const struct lf_conf_node *spec, char *errbuf,
                           size_t errlen)
{
    struct lf_field_map map;
    int number = lf_regex_capture_number(re, capture);
    int rc;

    if (number == LF_EEXIST) {
        return lf_conf_error(spec, errbuf, errlen,
                             "capture '%s' names several groups of the "
                             "pattern; give each group its own name",
                             capture);
    }
    if (number < 0) {
        return lf_conf_error(spec, errbuf, errlen,
                             "the pattern has no capture named '%s'; "
                             "write it as (?<%s>...)",
                             capture, capture);
    }
    rc = lf_field_map_from_conf(spec, &map, errbuf, errlen);
    if (rc != 0) {
        lf_field_map_cleanup(&map);
        return rc;
    }
    return lf_regex_add_field(re, number, &map);
}

static int regex_fields_from_conf(struct lf_regex *re,
                                  const struct lf_conf_node *regex,
                                  char *errbuf, size_t errlen)
{
    struct lf_conf_node fields;
    size_t count;

    lf_conf_child(regex, "fields", &fields);
    if (lf_conf_kind(&fields) != LF_CONF_MAP) {
        return lf_conf_error(lf_conf_kind(&fields) == LF_CONF_MISSING ? regex
                                                                      : &fields,
                             errbuf, errlen,
                             "fields must be a map from named captures to "
                             "ECS fields, such as `status: {field: "
                             "http.response.status_code, type: integer}`");
    }
    count = lf_conf_size(&fields);
    for (size_t i = 0; i < count; i++) {
        struct lf_conf_node spec;
        const char *capture;
        int rc;

        lf_conf_entry(&fields, i, &capture, &spec);
        rc = add_regex_field(re, capture, &spec, errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int regex_create(const struct lf_conf_node *spec, void **out,
                        char *errbuf, size_t errlen)
{
    struct lf_regex *re = NULL;
    struct lf_conf_node node;
    const char *pattern = NULL;
    char reason[256];
    int rc;

    rc = lf_conf_check_keys(spec, regex_keys, LF_ARRAY_SIZE(regex_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "pattern", NULL, &pattern, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if (pattern == NULL) {
        return lf_conf_error(spec, errbuf, errlen,
                             "pattern is required: a PCRE2 regex with "
                             "named captures such as (?<status>\\d+)");
    }
    if (lf_regex_new(pattern, &re, reason, sizeof(reason)) != 0) {
        lf_conf_child(spec, "pattern", &node);
        return lf_conf_error(&node, errbuf, errlen, "%s", reason);
    }
    /* Stored before the fields are read: a failure frees it with the step. */
    *out = re;
    return regex_fields_from_conf(re, spec, errbuf, errlen);
}

static uint32_t regex_capture_count(const void *state)
{
    return lf_regex_capture_count(state);
}

static int regex_apply(void *state, struct lf_regex_scratch *scratch,
                       struct lf_event *ev, const char *text, size_t len,
                       int64_t now_ns)
{
    return lf_regex_apply(state, scratch, ev, text, len, now_ns);
}

static void regex_destroy(void *state)
{
    lf_regex_free(state);
}

static int preset_create(const struct lf_conf_node *spec, void **out,
                         char *errbuf, size_t errlen)
{
    struct lf_preset *preset;
    const char *name;
    int rc;

    rc = lf_conf_scalar(spec, &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (lf_preset_new(name, &preset) != 0) {
        return lf_conf_error(spec, errbuf, errlen,
                             "unknown preset '%s': expected one of %s", name,
                             LF_PRESET_NAMES);
    }
    *out = preset;
    return 0;
}

static int preset_apply(void *state, struct lf_regex_scratch *scratch,
                        struct lf_event *ev, const char *text, size_t len,
                        int64_t now_ns)
{
    (void)scratch;
    return lf_preset_apply(state, ev, text, len, now_ns);
}

static void preset_destroy(void *state)
{
    lf_preset_free(state);
}

static const struct lf_parser_kind regex_kind = {
    .name = "regex",
    .role = LF_PARSER_MATCHER,
    .create = regex_create,
    .capture_count = regex_capture_count,
    .apply = regex_apply,
    .destroy = regex_destroy,
};

static const struct lf_parser_kind preset_kind = {
    .name = "preset",
    .role = LF_PARSER_MATCHER,
    .create = preset_create,
    .apply = preset_apply,
    .destroy = preset_destroy,
};

/* Every parser type, in the order the error messages list them. */
static const struct lf_parser_kind *const kinds[] = {
    &regex_kind,
    &preset_kind,
    &lf_grok_kind,
    &lf_json_parser_kind,
    &lf_logfmt_parser_kind,
    &lf_syslog_kind,
    &lf_timestamp_step_kind,
};

static const struct lf_parser_kind *find_kind(const char *name)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(kinds); i++) {
        if (strcmp(kinds[i]->name, name) == 0) {
            return kinds[i];
        }
    }
    return NULL;
}

/* Writes "regex, preset, ..." into `buf`. */
static void kind_names(char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < LF_ARRAY_SIZE(kinds) && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "",
                         kinds[i]->name);

        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

/* Reads the optional `field:` of a map step: the field the step reads. */
static int step_field_from_conf(const struct lf_conf_node *spec,
                                struct step *step, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    if (lf_conf_kind(spec) != LF_CONF_MAP ||
        lf_conf_child(spec, "field", &node) != 0) {
        return 0;
    }
    rc = lf_conf_scalar(&node, &step->field, errbuf, errlen);
    if (rc == 0 && step->field[0] == '\0') {
        rc = lf_conf_error(&node, errbuf, errlen,
                           "field must name the field to parse, such as "
                           "message");
    }
    return rc;
}

static int step_from_conf(const struct lf_conf_node *entry, struct step *step,
                          char *errbuf, size_t errlen)
{
    struct lf_conf_node spec;
    const char *name;
    char names[256];
    int rc;

    kind_names(names, sizeof(names));
    if (lf_conf_kind(entry) != LF_CONF_MAP || lf_conf_size(entry) != 1) {
        return lf_conf_error(entry, errbuf, errlen,
                             "each parser is a map with one key, the parser "
                             "type: one of %s",
                             names);
    }
    lf_conf_entry(entry, 0, &name, &spec);
    step->kind = find_kind(name);
    if (step->kind == NULL) {
        return lf_conf_error(entry, errbuf, errlen,
                             "unknown parser type '%s': expected one of %s",
                             name, names);
    }
    rc = step_field_from_conf(&spec, step, errbuf, errlen);
    if (rc == 0) {
        rc = step->kind->create(&spec, &step->state, errbuf, errlen);
    }
    return rc;
}

static void step_cleanup(struct step *step)
{
    if (step->kind != NULL && step->state != NULL) {
        step->kind->destroy(step->state);
    }
}

/* Sizes the shared match buffers for the step with the most groups. */
static void chain_alloc_scratch(struct lf_parser_chain *chain)
{
    uint32_t max_captures = 0;
    bool needed = false;

    for (size_t i = 0; i < chain->step_count; i++) {
        const struct step *step = &chain->steps[i];

        if (step->kind->capture_count != NULL) {
            uint32_t count = step->kind->capture_count(step->state);

            needed = true;
            max_captures = count > max_captures ? count : max_captures;
        }
    }
    if (needed) {
        chain->scratch = lf_regex_scratch_new(max_captures);
    }
}

int lf_parser_chain_new(const struct lf_conf_node *list,
                        struct lf_parser_chain **out, char *errbuf,
                        size_t errlen)
{
    struct lf_parser_chain *chain = lf_calloc(1, sizeof(*chain));
    enum lf_conf_kind kind = lf_conf_kind(list);
    size_t count;
    int rc = 0;

    if (kind == LF_CONF_MISSING || kind == LF_CONF_NULL) {
        *out = chain;
        return 0;
    }
    if (kind != LF_CONF_LIST) {
        rc = lf_conf_error(list, errbuf, errlen,
                           "parsers must be a list, such as "
                           "`- preset: nginx`");
        goto fail;
    }
    count = lf_conf_size(list);
    chain->steps = lf_calloc(count == 0 ? 1 : count, sizeof(*chain->steps));
    for (size_t i = 0; i < count; i++) {
        struct lf_conf_node entry;
        struct step *step = &chain->steps[i];

        lf_conf_at(list, i, &entry);
        /* Counted first: a failed step may own half-built state. */
        chain->step_count++;
        rc = step_from_conf(&entry, step, errbuf, errlen);
        if (rc != 0) {
            goto fail;
        }
        if (step->kind->role == LF_PARSER_MATCHER && step->field == NULL) {
            chain->has_matcher = true;
        }
    }
    chain_alloc_scratch(chain);
    *out = chain;
    return 0;

fail:
    lf_parser_chain_free(chain);
    return rc;
}

void lf_parser_chain_free(struct lf_parser_chain *chain)
{
    if (chain == NULL) {
        return;
    }
    for (size_t i = 0; i < chain->step_count; i++) {
        step_cleanup(&chain->steps[i]);
    }
    lf_free(chain->steps);
    lf_regex_scratch_free(chain->scratch);
    lf_free(chain);
}

/*
 * Runs a step given `field:` on that field's string value. Returns as the
 * step does, or LF_ENOENT when the event has no such string field.
 */
static int apply_to_field(struct lf_parser_chain *chain, struct step *step,
                          struct lf_event *ev, int64_t now_ns)
{
    const struct lf_value *value = lf_event_get(ev, step->field);
    const char *text;
    size_t len;

    /* `field: message` names the line unless a step replaced it. */
    if (value == NULL && strcmp(step->field, "message") == 0 &&
        ev->message != NULL) {
        return step->kind->apply(step->state, chain->scratch, ev,
                                 ev->message, ev->message_len, now_ns);
    }
    if (value == NULL || value->type != LF_VALUE_STRING) {
        return LF_ENOENT;
    }
    /* The step may replace the field it reads: keep the text it parses. */
    text = value->u.str.ptr;
    len = value->u.str.len;
    return step->kind->apply(step->state, chain->scratch, ev, text, len,
                             now_ns);
}

int lf_parser_chain_apply(struct lf_parser_chain *chain, struct lf_event *ev,
                          int64_t now_ns)
{
    bool matched = false;
    bool failed = false;

    for (size_t i = 0; i < chain->step_count; i++) {
        struct step *step = &chain->steps[i];
        int rc;

        if (step->field != NULL) {
            rc = apply_to_field(chain, step, ev, now_ns);
            failed |= rc != 0 && rc != LF_ENOENT &&
                      step->kind->role == LF_PARSER_MATCHER;
        } else if (step->kind->role == LF_PARSER_MATCHER) {
            if (!matched) {
                matched =
                    step->kind->apply(step->state, chain->scratch, ev,
                                      ev->message != NULL ? ev->message : "",
                                      ev->message_len, now_ns) == 0;
            }
        } else {
            step->kind->apply(step->state, chain->scratch, ev,
                              ev->message != NULL ? ev->message : "",
                              ev->message_len, now_ns);
        }
    }
    if ((chain->has_matcher && !matched) || failed) {
        ev->tags |= LF_TAG_PARSE_FAILURE;
        return LF_ENOMATCH;
    }
    return 0;
}
