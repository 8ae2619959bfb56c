/*
 * Processors that add or remove fields and tags: add_fields, drop_fields
 * and add_tags. Values and tags are borrowed from the configuration
 * document, which outlives every event.
 */
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdint.h>
#include <string.h>

/*
 * Fields the document writer builds from the event itself (tags and
 * log.flags from bits), or that Elasticsearch needs with its type
 * (@timestamp). Setting them as plain fields would mix or break them.
 */
static const char *const managed_fields[] = {"@timestamp", "tags", "log.flags"};

static int check_managed(const struct lf_conf_node *node, const char *key,
                         const char *processor, const char *instead,
                         char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(managed_fields); i++) {
        if (strcmp(key, managed_fields[i]) == 0) {
            return lf_conf_error(node, errbuf, errlen,
                                 "%s cannot be changed by %s; %s", key,
                                 processor, instead);
        }
    }
    return 0;
}

/* ---- add_fields ---- */

/* Filebeat's default: added fields go under `fields.`. */
#define ADD_FIELDS_DEFAULT_TARGET "fields"

static const char *const add_fields_keys[] = {"target", "fields", "when"};

struct add_fields {
    struct lf_field *fields; /* keys owned, string values borrowed */
    size_t count;
    const char *target; /* borrowed; "" adds the fields at the root */
};

static int add_one_field(void *arg, const char *key,
                         const struct lf_conf_node *node, char *errbuf,
                         size_t errlen)
{
    struct add_fields *af = arg;
    struct lf_buf name;
    struct lf_field *field;
    int rc;

    lf_buf_init(&name);
    if (af->target[0] != '\0') {
        lf_buf_append_str(&name, af->target);
        lf_buf_append_char(&name, '.');
    }
    lf_buf_append_str(&name, key);
    rc = check_managed(node, name.data, "add_fields",
                       "use add_tags for tags, or another field name", errbuf,
                       errlen);
    if (rc != 0) {
        lf_buf_cleanup(&name);
        return rc;
    }
    field = &af->fields[af->count++];
    field->key = name.data; /* the buffer's storage becomes the key */
    lf_processor_scalar_value(node, &field->value);
    return 0;
}

/* Returns the number of scalars under `map`, nested maps included. */
static size_t count_scalars(const struct lf_conf_node *map)
{
    struct lf_conf_node node;
    const char *key;
    size_t count = 0;

    for (size_t i = 0; lf_conf_entry(map, i, &key, &node) == 0; i++) {
        count += lf_conf_kind(&node) == LF_CONF_MAP ? count_scalars(&node) : 1;
    }
    return count;
}

static int add_fields_create(const struct lf_conf_node *spec, void **out,
                             char *errbuf, size_t errlen)
{
    struct add_fields *af;
    struct lf_conf_node fields;
    int rc;

    rc = lf_conf_check_keys(spec, add_fields_keys,
                            LF_ARRAY_SIZE(add_fields_keys), errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    lf_conf_child(spec, "fields", &fields);
    if (lf_conf_kind(&fields) != LF_CONF_MAP || lf_conf_size(&fields) == 0) {
        return lf_conf_error(lf_conf_kind(&fields) == LF_CONF_MISSING ? spec
                                                                      : &fields,
                             errbuf, errlen,
                             "add_fields needs `fields:`, a map of names to "
                             "values, such as `fields: {env: production}`");
    }
    af = lf_calloc(1, sizeof(*af));
    *out = af;
    rc = lf_conf_get_str(spec, "target", ADD_FIELDS_DEFAULT_TARGET, &af->target,
                         errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    af->fields = lf_calloc(count_scalars(&fields), sizeof(*af->fields));
    return lf_processor_walk_scalars(&fields, add_one_field, af, errbuf,
                                     errlen);
}

static enum lf_processor_result add_fields_apply(void *state,
                                                 struct lf_event *ev)
{
    struct add_fields *af = state;

    for (size_t i = 0; i < af->count; i++) {
        lf_event_set(ev, af->fields[i].key, &af->fields[i].value);
    }
    return LF_PROCESSOR_KEEP;
}

static void add_fields_destroy(void *state)
{
    struct add_fields *af = state;

    for (size_t i = 0; i < af->count; i++) {
        lf_free((void *)(uintptr_t)af->fields[i].key);
    }
    lf_free(af->fields);
    lf_free(af);
}

const struct lf_processor_kind lf_add_fields_kind = {
    .name = "add_fields",
    .create = add_fields_create,
    .apply = add_fields_apply,
    .destroy = add_fields_destroy,
};

/* ---- drop_fields ---- */

static const char *const drop_fields_keys[] = {"fields", "ignore_missing",
                                               "when"};

struct drop_fields {
    const char **names; /* borrowed */
    size_t count;
    bool ignore_missing;
};

static int drop_fields_create(const struct lf_conf_node *spec, void **out,
                              char *errbuf, size_t errlen)
{
    struct drop_fields *df;
    struct lf_conf_node node;
    int rc;

    rc = lf_conf_check_keys(spec, drop_fields_keys,
                            LF_ARRAY_SIZE(drop_fields_keys), errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    df = lf_calloc(1, sizeof(*df));
    *out = df;
    rc = lf_processor_get_str_list(spec, "fields", true, &df->names, &df->count,
                                   errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bool(spec, "ignore_missing", false,
                              &df->ignore_missing, errbuf, errlen);
    }
    for (size_t i = 0; rc == 0 && i < df->count; i++) {
        if (strcmp(df->names[i], "@timestamp") == 0) {
            lf_conf_child(spec, "fields", &node);
            rc = lf_conf_error(&node, errbuf, errlen,
                               "@timestamp cannot be dropped: "
                               "Elasticsearch data streams require it; "
                               "remove it from the list");
        }
    }
    return rc;
}

/*
 * Removes `name` and every field under `name.`, so dropping `http` drops
 * the whole object as in Filebeat. `message`, `tags` and `log.flags` also
 * remove the line, the tags and the flags the document builds them from.
 * Returns true when anything was there.
 */
static bool drop_field(struct lf_event *ev, const char *name)
{
    size_t len = strlen(name);
    bool found = lf_event_remove(ev, name);

    for (size_t i = ev->field_count; i > 0; i--) {
        const char *key = ev->fields[i - 1].key;

        if (ev->key_lens[i - 1] > len && key[len] == '.' &&
            memcmp(key, name, len) == 0) {
            lf_event_remove(ev, key);
            found = true;
        }
    }
    if (strcmp(name, "message") == 0 && ev->message != NULL) {
        ev->message = NULL;
        ev->message_len = 0;
        found = true;
    } else if (strcmp(name, "tags") == 0 &&
               (ev->tags != 0 || ev->tag_count > 0)) {
        ev->tags = 0;
        ev->tag_count = 0;
        found = true;
    } else if (strcmp(name, "log.flags") == 0 && ev->log_flags != 0) {
        ev->log_flags = 0;
        found = true;
    }
    return found;
}

static enum lf_processor_result drop_fields_apply(void *state,
                                                  struct lf_event *ev)
{
    struct drop_fields *df = state;

    for (size_t i = 0; i < df->count; i++) {
        if (!drop_field(ev, df->names[i]) && !df->ignore_missing) {
            lf_processor_fail(ev, "drop_fields: field '%s' not found",
                              df->names[i]);
        }
    }
    return LF_PROCESSOR_KEEP;
}

static void drop_fields_destroy(void *state)
{
    struct drop_fields *df = state;

    lf_free(df->names);
    lf_free(df);
}

const struct lf_processor_kind lf_drop_fields_kind = {
    .name = "drop_fields",
    .create = drop_fields_create,
    .apply = drop_fields_apply,
    .destroy = drop_fields_destroy,
};

/* ---- add_tags ---- */

static const char *const add_tags_keys[] = {"tags", "target", "when"};

struct add_tags {
    const char **tags; /* borrowed */
    size_t count;
};

static int add_tags_create(const struct lf_conf_node *spec, void **out,
                           char *errbuf, size_t errlen)
{
    struct add_tags *at;
    struct lf_conf_node node;
    const char *target;
    int rc;

    rc = lf_conf_check_keys(spec, add_tags_keys, LF_ARRAY_SIZE(add_tags_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(spec, "target", "tags", &target, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    /*
     * NOTE: events hold scalar fields only, so the tags can go to the
     * document's `tags` array and nowhere else.
     */
    if (strcmp(target, "tags") != 0) {
        lf_conf_child(spec, "target", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "target '%s' is not supported: add_tags writes "
                             "to `tags` only; remove target, or use "
                             "add_fields for a single value",
                             target);
    }
    at = lf_calloc(1, sizeof(*at));
    *out = at;
    rc = lf_processor_get_str_list(spec, "tags", true, &at->tags, &at->count,
                                   errbuf, errlen);
    return rc;
}

static enum lf_processor_result add_tags_apply(void *state, struct lf_event *ev)
{
    struct add_tags *at = state;

    for (size_t i = 0; i < at->count; i++) {
        lf_event_add_tag(ev, at->tags[i]);
    }
    return LF_PROCESSOR_KEEP;
}

static void add_tags_destroy(void *state)
{
    struct add_tags *at = state;

    lf_free(at->tags);
    lf_free(at);
}

const struct lf_processor_kind lf_add_tags_kind = {
    .name = "add_tags",
    .create = add_tags_create,
    .apply = add_tags_apply,
    .destroy = add_tags_destroy,
};
