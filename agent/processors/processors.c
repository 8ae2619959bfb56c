/*
 * Processor lists: builds the `processors:` list from the configuration
 * document and runs it on each event. Every entry is a map with one key,
 * the processor type, whose map may hold a `when:` condition. The types
 * that only keep or drop events (drop_event, include_event) live here;
 * the others are in their own files behind struct lf_processor_kind.
 */
#include "agent/processors/processors.h"
#include "agent/processors/condition.h"
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum length of an `error.message` a processor writes, in bytes. */
#define PROCESSOR_ERROR_MAX 512

struct step {
    const struct lf_processor_kind *kind;
    void *state;               /* owned by the kind */
    struct lf_condition *when; /* owned; NULL runs the step on every event */
};

struct lf_processors {
    struct step *steps;
    size_t step_count;
};

/* ---- drop_event and include_event ---- */

static const char *const when_keys[] = {"when"};

static int filter_create(const struct lf_conf_node *spec, void **out,
                         char *errbuf, size_t errlen)
{
    *out = NULL;
    return lf_conf_check_keys(spec, when_keys, LF_ARRAY_SIZE(when_keys), errbuf,
                              errlen);
}

static enum lf_processor_result drop_event_apply(void *state,
                                                 struct lf_event *ev)
{
    (void)state;
    (void)ev;
    return LF_PROCESSOR_DROP;
}

static void filter_destroy(void *state)
{
    (void)state;
}

static const struct lf_processor_kind drop_event_kind = {
    .name = "drop_event",
    .create = filter_create,
    .apply = drop_event_apply,
    .destroy = filter_destroy,
};

/*
 * include_event drops events as drop_event does. The list negates its
 * condition when it builds the step, so it drops what `when:` misses.
 */
static const struct lf_processor_kind include_event_kind = {
    .name = "include_event",
    .create = filter_create,
    .apply = drop_event_apply,
    .destroy = filter_destroy,
};

/* Every processor type, in the order the error messages list them. */
static const struct lf_processor_kind *const kinds[] = {
    &lf_add_fields_kind,     &lf_drop_fields_kind,     &lf_rename_kind,
    &lf_copy_fields_kind,    &lf_truncate_fields_kind, &lf_convert_kind,
    &drop_event_kind,        &include_event_kind,      &lf_add_tags_kind,
    &lf_route_template_kind,
    &lf_add_host_metadata_kind,
    &lf_add_cloud_metadata_kind,
    &lf_add_ecs_task_metadata_kind,
};

static bool is_metadata_kind(const struct lf_processor_kind *kind)
{
    return kind == &lf_add_host_metadata_kind ||
           kind == &lf_add_cloud_metadata_kind ||
           kind == &lf_add_ecs_task_metadata_kind;
}

static const struct lf_processor_kind *find_kind(const char *name)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(kinds); i++) {
        if (strcmp(kinds[i]->name, name) == 0) {
            return kinds[i];
        }
    }
    return NULL;
}

/* Writes "add_fields, drop_fields, ..." into `buf`. */
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

/* ---- building ---- */

/* Reads `when:`, which include_event requires. */
static int step_when_from_conf(const struct lf_conf_node *entry,
                               const struct lf_conf_node *spec,
                               struct step *step, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    if (lf_conf_kind(spec) != LF_CONF_MAP ||
        lf_conf_child(spec, "when", &node) != 0) {
        if (step->kind == &include_event_kind) {
            return lf_conf_error(entry, errbuf, errlen,
                                 "include_event needs a `when:` condition: "
                                 "the events it matches are kept and the "
                                 "others dropped, such as `when: {equals: "
                                 "{log.level: error}}`");
        }
        return 0;
    }
    rc = lf_condition_new(&node, &step->when, errbuf, errlen);
    if (rc != 0 || step->kind != &include_event_kind) {
        return rc;
    }
    /* Drops the events the condition does not match. */
    step->when = lf_condition_negate(step->when);
    return 0;
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
                             "each processor is a map with one key, the "
                             "processor type: one of %s",
                             names);
    }
    lf_conf_entry(entry, 0, &name, &spec);
    step->kind = find_kind(name);
    if (step->kind == NULL) {
        return lf_conf_error(entry, errbuf, errlen,
                             "unknown processor type '%s': expected one of "
                             "%s",
                             name, names);
    }
    if (lf_conf_kind(&spec) == LF_CONF_NULL) {
        /* `- drop_event:` with no value: a type with no options set. */
        spec.json = NULL;
    }
    if (lf_conf_kind(&spec) != LF_CONF_MISSING &&
        lf_conf_kind(&spec) != LF_CONF_MAP) {
        return lf_conf_error(
            &spec, errbuf, errlen, "expected a map of %s options, got a %s",
            name, lf_conf_kind(&spec) == LF_CONF_LIST ? "list" : "scalar");
    }
    rc = step_when_from_conf(entry, &spec, step, errbuf, errlen);
    if (rc == 0) {
        rc = step->kind->create(&spec, &step->state, errbuf, errlen);
    }
    return rc;
}

int lf_processors_new(const struct lf_conf_node *list,
                      struct lf_processors **out, char *errbuf, size_t errlen)
{
    struct lf_processors *procs = lf_calloc(1, sizeof(*procs));
    enum lf_conf_kind kind = lf_conf_kind(list);
    size_t count;
    int rc = 0;

    if (kind == LF_CONF_MISSING || kind == LF_CONF_NULL) {
        *out = procs;
        return 0;
    }
    if (kind != LF_CONF_LIST) {
        rc = lf_conf_error(list, errbuf, errlen,
                           "processors must be a list, such as "
                           "`- drop_fields: {fields: [event.original]}`");
        goto fail;
    }
    count = lf_conf_size(list);
    procs->steps = lf_calloc(count == 0 ? 1 : count, sizeof(*procs->steps));
    for (size_t i = 0; i < count; i++) {
        struct lf_conf_node entry;

        lf_conf_at(list, i, &entry);
        /* Counted first: a failed step may own half-built state. */
        procs->step_count++;
        rc = step_from_conf(&entry, &procs->steps[i], errbuf, errlen);
        if (rc != 0) {
            goto fail;
        }
    }
    *out = procs;
    return 0;

fail:
    lf_processors_free(procs);
    return rc;
}

void lf_processors_free(struct lf_processors *procs)
{
    if (procs == NULL) {
        return;
    }
    for (size_t i = 0; i < procs->step_count; i++) {
        struct step *step = &procs->steps[i];

        if (step->kind != NULL && step->state != NULL) {
            step->kind->destroy(step->state);
        }
        lf_condition_free(step->when);
    }
    lf_free(procs->steps);
    lf_free(procs);
}

enum lf_processor_result lf_processors_apply(struct lf_processors *procs,
                                             struct lf_event *ev)
{
    for (size_t i = 0; i < procs->step_count; i++) {
        struct step *step = &procs->steps[i];

        if (step->when != NULL && !lf_condition_eval(step->when, ev)) {
            continue;
        }
        if (step->kind->apply(step->state, ev) == LF_PROCESSOR_DROP) {
            return LF_PROCESSOR_DROP;
        }
    }
    return LF_PROCESSOR_KEEP;
}

struct lf_metadata_step *lf_processors_metadata_step(
    struct lf_processors *procs, size_t index)
{
    for (size_t i = 0; procs != NULL && i < procs->step_count; i++) {
        if (!is_metadata_kind(procs->steps[i].kind)) {
            continue;
        }
        if (index == 0) {
            return procs->steps[i].state;
        }
        index--;
    }
    return NULL;
}

/* ---- helpers shared by the processor types ---- */

const struct lf_value *lf_processor_get(const struct lf_event *ev,
                                        const char *key, struct lf_value *tmp)
{
    const struct lf_value *v = lf_event_get(ev, key);

    if (v != NULL || strcmp(key, "message") != 0 || ev->message == NULL) {
        return v;
    }
    tmp->type = LF_VALUE_STRING;
    tmp->u.str.ptr = ev->message;
    tmp->u.str.len = ev->message_len;
    return tmp;
}

void lf_processor_fail(struct lf_event *ev, const char *fmt, ...)
{
    char text[PROCESSOR_ERROR_MAX];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (len < 0) {
        return;
    }
    if ((size_t)len >= sizeof(text)) {
        len = (int)sizeof(text) - 1; /* its start names the field */
    }
    lf_event_set_str(ev, "error.message",
                     lf_event_copy_str(ev, text, (size_t)len), (size_t)len);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Accepts an optional sign and "0" or digits without a leading zero,
 * so "007" stays a string, as in an input's `fields`.
 */
static bool parse_plain_int(const char *text, int64_t *out)
{
    const char *p = *text == '-' || *text == '+' ? text + 1 : text;
    long long value;

    if (!is_digit(p[0]) || (p[0] == '0' && p[1] != '\0')) {
        return false;
    }
    while (is_digit(*p)) {
        p++;
    }
    if (*p != '\0') {
        return false;
    }
    errno = 0;
    value = strtoll(text, NULL, 10);
    if (errno == ERANGE) {
        return false;
    }
    *out = (int64_t)value;
    return true;
}

static const char *skip_digits(const char *p)
{
    while (is_digit(*p)) {
        p++;
    }
    return p;
}

/* Accepts 1.5, -0.25, 1e3 and 2.5E-3: digits on both sides of a point. */
static bool parse_plain_float(const char *text, double *out)
{
    const char *p = *text == '-' || *text == '+' ? text + 1 : text;
    bool fraction_or_exponent = false;

    if (!is_digit(p[0]) || (p[0] == '0' && is_digit(p[1]))) {
        return false;
    }
    p = skip_digits(p);
    if (*p == '.') {
        if (!is_digit(p[1])) {
            return false;
        }
        p = skip_digits(p + 1);
        fraction_or_exponent = true;
    }
    if (*p == 'e' || *p == 'E') {
        p += p[1] == '-' || p[1] == '+' ? 2 : 1;
        if (!is_digit(*p)) {
            return false;
        }
        p = skip_digits(p);
        fraction_or_exponent = true;
    }
    if (*p != '\0' || !fraction_or_exponent) {
        return false;
    }
    errno = 0;
    *out = strtod(text, NULL);
    return errno == 0 && isfinite(*out);
}

static bool parse_plain_bool(const char *text, bool *out)
{
    static const char *const true_names[] = {"true", "True", "TRUE"};
    static const char *const false_names[] = {"false", "False", "FALSE"};

    for (size_t i = 0; i < LF_ARRAY_SIZE(true_names); i++) {
        if (strcmp(text, true_names[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(text, false_names[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

void lf_processor_scalar_value(const struct lf_conf_node *node,
                               struct lf_value *out)
{
    const char *text = json_string_value(node->json);

    if (text == NULL) {
        text = "";
    }
    if (lf_conf_is_plain(node)) {
        if (parse_plain_int(text, &out->u.i)) {
            out->type = LF_VALUE_INT;
            return;
        }
        if (parse_plain_float(text, &out->u.f)) {
            out->type = LF_VALUE_FLOAT;
            return;
        }
        if (parse_plain_bool(text, &out->u.b)) {
            out->type = LF_VALUE_BOOL;
            return;
        }
    }
    out->type = LF_VALUE_STRING;
    out->u.str.ptr = text;
    out->u.str.len = strlen(text);
}

static int walk(const struct lf_conf_node *map, struct lf_buf *prefix,
                int (*cb)(void *, const char *, const struct lf_conf_node *,
                          char *, size_t),
                void *arg, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    const char *key;
    size_t prefix_len = prefix->len;
    int rc = 0;

    for (size_t i = 0; rc == 0 && lf_conf_entry(map, i, &key, &node) == 0;
         i++) {
        if (prefix_len > 0) {
            lf_buf_append_char(prefix, '.');
        }
        lf_buf_append_str(prefix, key);
        if (lf_conf_kind(&node) == LF_CONF_MAP && lf_conf_size(&node) > 0) {
            rc = walk(&node, prefix, cb, arg, errbuf, errlen);
        } else if (lf_conf_kind(&node) == LF_CONF_SCALAR) {
            rc = cb(arg, prefix->data, &node, errbuf, errlen);
        } else {
            rc = lf_conf_error(&node, errbuf, errlen,
                               "expected a string, number or boolean for "
                               "field '%s'",
                               prefix->data);
        }
        prefix->len = prefix_len;
        prefix->data[prefix_len] = '\0';
    }
    return rc;
}

int lf_processor_walk_scalars(const struct lf_conf_node *map,
                              int (*cb)(void *arg, const char *key,
                                        const struct lf_conf_node *node,
                                        char *errbuf, size_t errlen),
                              void *arg, char *errbuf, size_t errlen)
{
    struct lf_buf prefix;
    int rc;

    lf_buf_init(&prefix);
    lf_buf_reserve(&prefix, LF_CONF_PATH_MAX);
    prefix.data[0] = '\0';
    rc = walk(map, &prefix, cb, arg, errbuf, errlen);
    lf_buf_cleanup(&prefix);
    return rc;
}

int lf_processor_get_str_list(const struct lf_conf_node *spec, const char *key,
                              bool required, const char ***out,
                              size_t *count_out, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    struct lf_conf_node item;
    size_t count;

    *out = NULL;
    *count_out = 0;
    lf_conf_child(spec, key, &node);
    if (lf_conf_kind(&node) == LF_CONF_SCALAR) {
        count = 1;
    } else if (lf_conf_kind(&node) == LF_CONF_LIST && lf_conf_size(&node) > 0) {
        count = lf_conf_size(&node);
    } else if (!required && (lf_conf_kind(&node) == LF_CONF_MISSING ||
                             lf_conf_kind(&node) == LF_CONF_NULL)) {
        return 0;
    } else {
        return lf_conf_error(lf_conf_kind(&node) == LF_CONF_MISSING ? spec
                                                                    : &node,
                             errbuf, errlen,
                             "expected a string or a non-empty list of "
                             "strings for %s, such as `%s: [a, b]`",
                             key, key);
    }
    *out = lf_calloc(count, sizeof(**out));
    for (size_t i = 0; i < count; i++) {
        const char *text = NULL;

        if (lf_conf_kind(&node) == LF_CONF_LIST) {
            lf_conf_at(&node, i, &item);
        } else {
            item = node;
        }
        if (lf_conf_kind(&item) == LF_CONF_SCALAR) {
            text = json_string_value(item.json);
        }
        if (text == NULL || text[0] == '\0') {
            lf_free(*out);
            *out = NULL;
            return lf_conf_error(&item, errbuf, errlen,
                                 "expected a non-empty name in %s", key);
        }
        (*out)[i] = text;
    }
    *count_out = count;
    return 0;
}
