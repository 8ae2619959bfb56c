/*
 * Typed field conversion shared by the parsers. A failed conversion never
 * drops the event: it loses that one field and gains a tag, so the
 * document still carries its message and records what went wrong.
 */
#include "parsers/field_map.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/duration.h"
#include "parsers/level.h"
#include "parsers/number.h"

#include <string.h>

static const struct {
    const char *name;
    enum lf_field_type type;
} field_types[] = {
    {"string", LF_FIELD_STRING},     {"integer", LF_FIELD_INTEGER},
    {"float", LF_FIELD_FLOAT},       {"timestamp", LF_FIELD_TIMESTAMP},
    {"duration", LF_FIELD_DURATION},
};

void lf_field_map_init(struct lf_field_map *map, const char *key)
{
    memset(map, 0, sizeof(*map));
    map->key = key;
    map->type =
        strcmp(key, "log.level") == 0 ? LF_FIELD_LEVEL : LF_FIELD_STRING;
    lf_tz_init_utc(&map->tz);
}

int lf_field_map_set_type(struct lf_field_map *map, const char *name)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(field_types); i++) {
        if (strcmp(field_types[i].name, name) == 0) {
            map->type = field_types[i].type;
            if (map->type == LF_FIELD_STRING &&
                strcmp(map->key, "log.level") == 0) {
                map->type = LF_FIELD_LEVEL;
            }
            return 0;
        }
    }
    return LF_EINVAL;
}

void lf_field_map_cleanup(struct lf_field_map *map)
{
    lf_timestamp_layout_free(map->layout);
    map->layout = NULL;
    lf_tz_cleanup(&map->tz);
}

static int apply_timestamp(struct lf_field_map *map, struct lf_event *ev,
                           const char *s, size_t len, int64_t now_ns)
{
    int64_t ns;
    int rc;

    if (map->layout != NULL) {
        rc = lf_timestamp_parse_layout(map->layout, s, len, &map->tz, now_ns,
                                       &ns);
    } else {
        rc = lf_timestamp_parse_iso8601(s, len, &map->tz, &ns);
    }
    if (rc != 0) {
        ev->tags |= LF_TAG_TIMESTAMP_FAILURE;
        return rc;
    }
    lf_event_set_timestamp(ev, map->key, ns);
    return 0;
}

static int apply_number(struct lf_field_map *map, struct lf_event *ev,
                        const char *s, size_t len)
{
    int64_t i = 0;
    double f = 0.0;
    int rc;

    if (map->type == LF_FIELD_FLOAT) {
        rc = lf_number_parse_float(s, len, &f);
    } else if (map->type == LF_FIELD_DURATION) {
        rc = lf_duration_parse(s, len, map->unit_ns, &i);
    } else {
        rc = lf_number_parse_int(s, len, &i);
    }
    if (rc != 0) {
        ev->tags |= LF_TAG_CONVERSION_FAILURE;
        return rc;
    }
    if (map->type == LF_FIELD_FLOAT) {
        lf_event_set_float(ev, map->key, f);
    } else {
        lf_event_set_int(ev, map->key, i);
    }
    return 0;
}

int lf_field_map_apply(struct lf_field_map *map, struct lf_event *ev,
                       const char *s, size_t len, int64_t now_ns)
{
    if (len == 0) {
        return 0;
    }
    switch (map->type) {
    case LF_FIELD_STRING:
        lf_event_set_str(ev, map->key, s, len);
        return 0;
    case LF_FIELD_LEVEL:
        lf_level_set(ev, map->key, s, len);
        return 0;
    case LF_FIELD_TIMESTAMP:
        return apply_timestamp(map, ev, s, len, now_ns);
    case LF_FIELD_INTEGER:
    case LF_FIELD_FLOAT:
    case LF_FIELD_DURATION:
        break;
    }
    return apply_number(map, ev, s, len);
}
