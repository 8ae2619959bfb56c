/*
 * Parser chains: builds the `parsers:` list of an input from the
 * configuration document and applies it to each line. The parsers of a
 * chain are alternatives tried in order. The first one that matches a
 * line sets its fields and the rest are skipped, so one input can read
 * lines of several formats.
 */
#include "lf/parser.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/duration.h"
#include "parsers/field_map.h"
#include "parsers/presets.h"
#include "parsers/regex.h"
#include "parsers/timestamp.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum parser_kind {
    PARSER_REGEX,
    PARSER_PRESET,
};

struct parser {
    enum parser_kind kind;
    struct lf_regex *regex;   /* PARSER_REGEX: owned */
    struct lf_preset *preset; /* PARSER_PRESET: owned */
};

struct lf_parser_chain {
    struct parser *parsers;
    size_t parser_count;
    struct lf_regex_scratch *scratch; /* NULL without regex parsers */
};

static const char *const entry_keys[] = {"regex", "preset"};
static const char *const regex_keys[] = {"pattern", "fields"};
static const char *const field_keys[] = {"field", "type", "unit", "layout",
                                         "timezone"};

/* Reads the options of `type: timestamp`: layout and timezone. */
static int timestamp_from_conf(const struct lf_conf_node *spec,
                               struct lf_field_map *map, char *errbuf,
                               size_t errlen)
{
    const char *layout = NULL;
    const char *timezone = NULL;
    struct lf_conf_node node;
    char reason[160];
    int rc;

    rc = lf_conf_get_str(spec, "layout", NULL, &layout, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "timezone", NULL, &timezone, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if (timezone != NULL && lf_tz_parse(timezone, &map->tz) != 0) {
        lf_conf_child(spec, "timezone", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid timezone '%s': expected UTC, Local "
                             "or a fixed offset such as +02:00",
                             timezone);
    }
    if (layout != NULL && lf_timestamp_layout_new(layout, &map->layout, reason,
                                                  sizeof(reason)) != 0) {
        lf_conf_child(spec, "layout", &node);
        return lf_conf_error(&node, errbuf, errlen, "invalid layout '%s': %s",
                             layout, reason);
    }
    return 0;
}

/* Rejects an option that the field's type does not take. */
static int check_option(const struct lf_conf_node *spec, const char *key,
                        bool allowed, const char *type, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node node;

    if (allowed || lf_conf_child(spec, key, &node) != 0) {
        return 0;
    }
    return lf_conf_error(&node, errbuf, errlen, "%s does not apply to type %s",
                         key, type);
}

static int duration_from_conf(const struct lf_conf_node *spec,
                              struct lf_field_map *map, char *errbuf,
                              size_t errlen)
{
    const char *unit = NULL;
    int rc;

    rc = lf_conf_get_str(spec, "unit", NULL, &unit, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (unit == NULL) {
        return lf_conf_error(spec, errbuf, errlen,
                             "unit is required for type duration: one of "
                             "ns, us, ms, s, m, h");
    }
    if (lf_duration_unit_parse(unit, &map->unit_ns) != 0) {
        struct lf_conf_node node;

        lf_conf_child(spec, "unit", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid unit '%s': expected one of ns, us, "
                             "ms, s, m, h",
                             unit);
    }
    return 0;
}

/* Reads `{field: KEY, type: T, ...}` into `map`. */
static int field_map_from_map(const struct lf_conf_node *spec,
                              struct lf_field_map *map, char *errbuf,
                              size_t errlen)
{
    const char *key = NULL;
    const char *type = NULL;
    bool is_timestamp;
    bool is_duration;
    int rc;

    rc = lf_conf_check_keys(spec, field_keys, LF_ARRAY_SIZE(field_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "field", NULL, &key, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "type", "string", &type, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if (key == NULL || key[0] == '\0') {
        return lf_conf_error(spec, errbuf, errlen,
                             "field is required: the ECS field to set, "
                             "such as url.path");
    }
    lf_field_map_init(map, key);
    if (lf_field_map_set_type(map, type) != 0) {
        struct lf_conf_node node;

        lf_conf_child(spec, "type", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid type '%s': expected one of string, "
                             "integer, float, timestamp, duration",
                             type);
    }
    is_timestamp = map->type == LF_FIELD_TIMESTAMP;
    is_duration = map->type == LF_FIELD_DURATION;
    rc = check_option(spec, "unit", is_duration, type, errbuf, errlen);
    if (rc == 0) {
        rc = check_option(spec, "layout", is_timestamp, type, errbuf, errlen);
    }
    if (rc == 0) {
        rc = check_option(spec, "timezone", is_timestamp, type, errbuf, errlen);
    }
    if (rc == 0 && is_timestamp) {
        rc = timestamp_from_conf(spec, map, errbuf, errlen);
    }
    if (rc == 0 && is_duration) {
        rc = duration_from_conf(spec, map, errbuf, errlen);
    }
    return rc;
}

/* Reads one `fields` entry: `capture: KEY` or `capture: {field: ...}`. */
static int field_map_from_conf(const struct lf_conf_node *spec,
                               struct lf_field_map *map, char *errbuf,
                               size_t errlen)
{
    const char *key;
    int rc;

    lf_field_map_init(map, "");
    if (lf_conf_kind(spec) == LF_CONF_MAP) {
        return field_map_from_map(spec, map, errbuf, errlen);
    }
    rc = lf_conf_scalar(spec, &key, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (key[0] == '\0') {
        return lf_conf_error(spec, errbuf, errlen,
                             "expected the ECS field to set, such as "
                             "url.path, or a map with field and type");
    }
    lf_field_map_init(map, key);
    return 0;
}

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
    rc = field_map_from_conf(spec, &map, errbuf, errlen);
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

static int regex_from_conf(const struct lf_conf_node *entry,
                           struct parser *parser, char *errbuf, size_t errlen)
{
    struct lf_conf_node regex;
    struct lf_conf_node node;
    const char *pattern = NULL;
    char reason[256];
    int rc;

    lf_conf_child(entry, "regex", &regex);
    rc = lf_conf_check_keys(&regex, regex_keys, LF_ARRAY_SIZE(regex_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(&regex, "pattern", NULL, &pattern, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if (pattern == NULL) {
        return lf_conf_error(&regex, errbuf, errlen,
                             "pattern is required: a PCRE2 regex with "
                             "named captures such as (?<status>\\d+)");
    }
    if (lf_regex_new(pattern, &parser->regex, reason, sizeof(reason)) != 0) {
        lf_conf_child(&regex, "pattern", &node);
        return lf_conf_error(&node, errbuf, errlen, "%s", reason);
    }
    parser->kind = PARSER_REGEX;
    return regex_fields_from_conf(parser->regex, &regex, errbuf, errlen);
}

static int preset_from_conf(const struct lf_conf_node *entry,
                            struct parser *parser, char *errbuf, size_t errlen)
{
    const char *name = NULL;
    struct lf_conf_node node;
    int rc;

    rc = lf_conf_get_str(entry, "preset", NULL, &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (lf_preset_new(name, &parser->preset) != 0) {
        lf_conf_child(entry, "preset", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "unknown preset '%s': expected one of %s", name,
                             LF_PRESET_NAMES);
    }
    parser->kind = PARSER_PRESET;
    return 0;
}

static int parser_from_conf(const struct lf_conf_node *entry,
                            struct parser *parser, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    if (lf_conf_kind(entry) != LF_CONF_MAP || lf_conf_size(entry) != 1) {
        return lf_conf_error(entry, errbuf, errlen,
                             "each parser is a map with one key, regex or "
                             "preset");
    }
    rc = lf_conf_check_keys(entry, entry_keys, LF_ARRAY_SIZE(entry_keys),
                            errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (lf_conf_child(entry, "regex", &node) == 0) {
        return regex_from_conf(entry, parser, errbuf, errlen);
    }
    return preset_from_conf(entry, parser, errbuf, errlen);
}

static void parser_cleanup(struct parser *parser)
{
    lf_regex_free(parser->regex);
    lf_preset_free(parser->preset);
}

/* Sizes the shared match buffers for the regex with the most groups. */
static void chain_alloc_scratch(struct lf_parser_chain *chain)
{
    uint32_t max_captures = 0;
    bool has_regex = false;

    for (size_t i = 0; i < chain->parser_count; i++) {
        const struct parser *parser = &chain->parsers[i];

        if (parser->kind == PARSER_REGEX) {
            uint32_t count = lf_regex_capture_count(parser->regex);

            has_regex = true;
            max_captures = count > max_captures ? count : max_captures;
        }
    }
    if (has_regex) {
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
    chain->parsers = lf_calloc(count == 0 ? 1 : count, sizeof(*chain->parsers));
    for (size_t i = 0; i < count; i++) {
        struct lf_conf_node entry;

        lf_conf_at(list, i, &entry);
        /* Count the parser first: a failed one may own a half-built regex. */
        chain->parser_count++;
        rc = parser_from_conf(&entry, &chain->parsers[i], errbuf, errlen);
        if (rc != 0) {
            goto fail;
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
    for (size_t i = 0; i < chain->parser_count; i++) {
        parser_cleanup(&chain->parsers[i]);
    }
    lf_free(chain->parsers);
    lf_regex_scratch_free(chain->scratch);
    lf_free(chain);
}

static int parser_apply(struct lf_parser_chain *chain, struct parser *parser,
                        struct lf_event *ev, int64_t now_ns)
{
    if (parser->kind == PARSER_REGEX) {
        return lf_regex_apply(parser->regex, chain->scratch, ev, now_ns);
    }
    return lf_preset_apply(parser->preset, ev);
}

int lf_parser_chain_apply(struct lf_parser_chain *chain, struct lf_event *ev,
                          int64_t now_ns)
{
    if (chain->parser_count == 0) {
        return 0;
    }
    for (size_t i = 0; i < chain->parser_count; i++) {
        if (parser_apply(chain, &chain->parsers[i], ev, now_ns) == 0) {
            return 0;
        }
    }
    ev->tags |= LF_TAG_PARSE_FAILURE;
    return LF_ENOMATCH;
}
