/*
 * One entry of a parser's `fields` mapping: the ECS field a captured value
 * goes to and the type it is converted to on the way.
 */
#ifndef LF_PARSERS_FIELD_MAP_H
#define LF_PARSERS_FIELD_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "lf/conf.h"
#include "lf/event.h"
#include "parsers/timestamp.h"

enum lf_field_type {
    LF_FIELD_STRING,
    LF_FIELD_LEVEL, /* a string mapped to `log.level`: normalised */
    LF_FIELD_INTEGER,
    LF_FIELD_FLOAT,
    LF_FIELD_TIMESTAMP,
    LF_FIELD_DURATION,
};

struct lf_field_map {
    const char *key; /* dotted ECS field; borrowed, must outlive events */
    enum lf_field_type type;
    int64_t unit_ns; /* LF_FIELD_DURATION: length of one unit */
    struct lf_timestamp_layout *layout; /* owned; NULL reads ISO 8601 */
    struct lf_tz tz; /* LF_FIELD_TIMESTAMP without its own offset */
};

/*
 * Initialises `map` to store strings under `key` (borrowed), normalised
 * when `key` is "log.level". Change `type` and its settings afterwards
 * with lf_field_map_set_type().
 */
void lf_field_map_init(struct lf_field_map *map, const char *key);

/*
 * Sets the type from its configuration name: "string", "integer",
 * "float", "timestamp" or "duration". A string mapped to "log.level"
 * becomes LF_FIELD_LEVEL. Returns 0, or LF_EINVAL for another name.
 */
int lf_field_map_set_type(struct lf_field_map *map, const char *name);

/*
 * Reads one mapping from the configuration: a scalar `KEY`, or a map
 * `{field: KEY, type: T}` with `unit` for durations and `layout` and
 * `timezone` for timestamps. Returns 0, or LF_ECONFIG with a message that
 * names the key and line. Call lf_field_map_cleanup() either way.
 */
int lf_field_map_from_conf(const struct lf_conf_node *spec,
                           struct lf_field_map *map, char *errbuf,
                           size_t errlen);

/*
 * Reads a `timezone` option at `node` into `out` (see lf_tz_from_text()).
 * Returns 0, or LF_ECONFIG with a message that names the key, the line,
 * the value and the accepted forms. Call lf_tz_cleanup() after success.
 */
int lf_field_map_tz_from_conf(const struct lf_conf_node *node,
                              struct lf_tz *out, char *errbuf, size_t errlen);

/*
 * Frees the layout and the zone; the map is then as after
 * lf_field_map_init().
 */
void lf_field_map_cleanup(struct lf_field_map *map);

/*
 * Converts `s` to the map's type and sets its field on `ev`. An empty
 * value is left out. A value that does not convert is left out too and
 * tags the event: LF_TAG_TIMESTAMP_FAILURE for a timestamp,
 * LF_TAG_CONVERSION_FAILURE otherwise. Strings are borrowed from `s`,
 * which must outlive the event's fields (normally it points into
 * ev->message). Returns 0, or the negative code of the failed conversion.
 */
int lf_field_map_apply(struct lf_field_map *map, struct lf_event *ev,
                       const char *s, size_t len, int64_t now_ns);

#endif
