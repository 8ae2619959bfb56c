/*
 * The `- timestamp:` step. It refines a time that an earlier step left as
 * text: each layout is tried in order and the first that reads the whole
 * text sets the target field. When none does, the event keeps the read
 * time as `@timestamp` and is tagged `_timestamp_failure`.
 */
#include "parsers/timestamp_step.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/field_map.h"
#include "parsers/number.h"
#include "parsers/timestamp.h"

#include <limits.h>
#include <string.h>

#define NS_PER_MS INT64_C(1000000)

enum layout_kind {
    LAYOUT_STRFTIME,
    LAYOUT_ISO8601, /* "ISO8601": RFC 3339 and its ISO 8601 variants */
    LAYOUT_UNIX_MS, /* "UNIX_MS": integer milliseconds since the epoch */
};

struct step_layout {
    enum layout_kind kind;
    struct lf_timestamp_layout *compiled; /* LAYOUT_STRFTIME; owned */
};

struct timestamp_step {
    const char *target; /* borrowed from the configuration */
    struct lf_tz tz;
    size_t layout_count;
    struct step_layout layouts[];
};

static const char *const step_keys[] = {"field", "layouts", "timezone",
                                        "target_field"};

/* Names that stand for a parser rather than a strftime layout. */
static const struct {
    const char *name;
    enum layout_kind kind;
    const char *strftime; /* the layout used for LAYOUT_STRFTIME */
} named_layouts[] = {
    {"ISO8601", LAYOUT_ISO8601, NULL},
    {"RFC3339", LAYOUT_ISO8601, NULL},
    {"UNIX", LAYOUT_STRFTIME, "%s"},
    {"UNIX_MS", LAYOUT_UNIX_MS, NULL},
};

static int compile_layout(const struct lf_conf_node *node,
                          struct step_layout *out, char *errbuf, size_t errlen)
{
    const char *text = NULL;
    char reason[160];
    int rc = lf_conf_scalar(node, &text, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    out->kind = LAYOUT_STRFTIME;
    for (size_t i = 0; i < LF_ARRAY_SIZE(named_layouts); i++) {
        if (strcmp(text, named_layouts[i].name) == 0) {
            out->kind = named_layouts[i].kind;
            text = named_layouts[i].strftime;
            break;
        }
    }
    if (out->kind != LAYOUT_STRFTIME) {
        return 0;
    }
    if (lf_timestamp_layout_new(text, &out->compiled, reason, sizeof(reason)) !=
        0) {
        return lf_conf_error(node, errbuf, errlen, "invalid layout '%s': %s",
                             text, reason);
    }
    return 0;
}

static int layouts_from_conf(const struct lf_conf_node *spec,
                             struct lf_conf_node *list, char *errbuf,
                             size_t errlen)
{
    enum lf_conf_kind kind;

    lf_conf_child(spec, "layouts", list);
    kind = lf_conf_kind(list);
    if (kind != LF_CONF_LIST || lf_conf_size(list) == 0) {
        return lf_conf_error(kind == LF_CONF_MISSING ? spec : list, errbuf,
                             errlen,
                             "layouts must be a list of one or more time "
                             "layouts, tried in order, such as "
                             "['%%d/%%b/%%Y:%%H:%%M:%%S %%z', ISO8601]");
    }
    return 0;
}

/* Reads `field` (required here), `target_field` and `timezone`. */
static int options_from_conf(const struct lf_conf_node *spec,
                             struct timestamp_step *step, char *errbuf,
                             size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    if (lf_conf_child(spec, "field", &node) != 0) {
        return lf_conf_error(spec, errbuf, errlen,
                             "field is required: the field that holds the "
                             "time text, such as a capture of an earlier "
                             "regex step");
    }
    rc = lf_conf_get_str(spec, "target_field", "@timestamp", &step->target,
                         errbuf, errlen);
    if (rc == 0 && step->target[0] == '\0') {
        lf_conf_child(spec, "target_field", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "target_field must name a field, such as "
                           "@timestamp");
    }
    if (rc == 0 && lf_conf_child(spec, "timezone", &node) == 0) {
        rc = lf_field_map_tz_from_conf(&node, &step->tz, errbuf, errlen);
    }
    return rc;
}

static void step_free(struct timestamp_step *step)
{
    if (step == NULL) {
        return;
    }
    for (size_t i = 0; i < step->layout_count; i++) {
        lf_timestamp_layout_free(step->layouts[i].compiled);
    }
    lf_tz_cleanup(&step->tz);
    lf_free(step);
}

static int step_create(const struct lf_conf_node *spec, void **out,
                       char *errbuf, size_t errlen)
{
    struct timestamp_step *step = NULL;
    struct lf_conf_node list;
    size_t count;
    int rc;

    rc = lf_conf_check_keys(spec, step_keys, LF_ARRAY_SIZE(step_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = layouts_from_conf(spec, &list, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    count = lf_conf_size(&list);
    step = lf_calloc(1, sizeof(*step) + count * sizeof(step->layouts[0]));
    lf_tz_init_utc(&step->tz);
    /* Stored first: destroy() frees what a failure leaves half built. */
    *out = step;
    rc = options_from_conf(spec, step, errbuf, errlen);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        struct lf_conf_node node;

        lf_conf_at(&list, i, &node);
        step->layout_count++;
        rc = compile_layout(&node, &step->layouts[i], errbuf, errlen);
    }
    return rc;
}

static int parse_unix_ms(const char *text, size_t len, int64_t *ns_out)
{
    int64_t ms;

    if (lf_number_parse_int(text, len, &ms) != 0 ||
        ms > INT64_MAX / NS_PER_MS || ms < INT64_MIN / NS_PER_MS) {
        return LF_EPARSE;
    }
    *ns_out = ms * NS_PER_MS;
    return 0;
}

static int parse_with(struct timestamp_step *step,
                      const struct step_layout *layout, const char *text,
                      size_t len, int64_t now_ns, int64_t *ns_out)
{
    switch (layout->kind) {
    case LAYOUT_ISO8601:
        return lf_timestamp_parse_iso8601(text, len, &step->tz, ns_out);
    case LAYOUT_UNIX_MS:
        return parse_unix_ms(text, len, ns_out);
    case LAYOUT_STRFTIME:
        break;
    }
    return lf_timestamp_parse_layout(layout->compiled, text, len, &step->tz,
                                     now_ns, ns_out);
}

static int step_apply(void *state, struct lf_regex_scratch *scratch,
                      struct lf_event *ev, const char *text, size_t len,
                      int64_t now_ns)
{
    struct timestamp_step *step = state;
    int64_t ns;

    (void)scratch;
    for (size_t i = 0; i < step->layout_count; i++) {
        if (parse_with(step, &step->layouts[i], text, len, now_ns, &ns) == 0) {
            lf_event_set_timestamp(ev, step->target, ns);
            return 0;
        }
    }
    ev->tags |= LF_TAG_TIMESTAMP_FAILURE;
    return LF_ENOMATCH;
}

static void step_destroy(void *state)
{
    step_free(state);
}

const struct lf_parser_kind lf_timestamp_step_kind = {
    .name = "timestamp",
    .role = LF_PARSER_REFINER,
    .create = step_create,
    .apply = step_apply,
    .destroy = step_destroy,
};
