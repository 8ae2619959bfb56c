/*
 * Reads the mapping of one captured value to an ECS field from the
 * configuration: `KEY` or `{field: KEY, type: T, ...}` with the options of
 * each type. Used by every parser that maps named values to fields.
 */
#include "parsers/field_map.h"

#include "lf/conf.h"
#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/duration.h"
#include "parsers/timestamp.h"

#include <limits.h>
#include <stdbool.h>

static const char *const field_keys[] = {"field", "type", "unit", "layout",
                                         "timezone"};

int lf_field_map_tz_from_conf(const struct lf_conf_node *node,
                              struct lf_tz *out, char *errbuf, size_t errlen)
{
    const char *text;
    char reason[PATH_MAX + 128];
    int rc;

    rc = lf_conf_scalar(node, &text, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = lf_tz_from_text(text, out, reason, sizeof(reason));
    if (rc == LF_ENOENT) {
        return lf_conf_error(node, errbuf, errlen,
                             "unknown timezone '%s' (%s): expected UTC, "
                             "Local, an offset such as +02:00 or an IANA "
                             "zone name such as Europe/Berlin; install "
                             "tzdata or set TZDIR to its directory",
                             text, reason);
    }
    if (rc != 0) {
        return lf_conf_error(node, errbuf, errlen,
                             "invalid timezone '%s': %s; expected UTC, "
                             "Local, an offset such as +02:00 or an IANA "
                             "zone name such as Europe/Berlin",
                             text, reason);
    }
    return 0;
}

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
    if (timezone != NULL) {
        lf_conf_child(spec, "timezone", &node);
        rc = lf_field_map_tz_from_conf(&node, &map->tz, errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
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

int lf_field_map_from_conf(const struct lf_conf_node *spec,
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
