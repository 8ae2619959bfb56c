/*
 * Immutable metadata field sets and their builder. A set is built once per
 * metadata fetch, off the hot path, so every key and string is its own
 * heap copy. Events take a reference and copy nothing.
 */
#include "agent/metadata/meta_set.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

struct lf_meta_set {
    atomic_size_t refs;
    struct lf_meta_field *fields; /* owned array of `count` fields */
    size_t count;
};

void lf_meta_builder_init(struct lf_meta_builder *b)
{
    b->fields = NULL;
    b->count = 0;
    b->cap = 0;
}

/* Frees memory that the set owns but exposes through const pointers. */
static void free_owned(const void *ptr)
{
    lf_free((void *)(uintptr_t)ptr);
}

static void free_fields(struct lf_meta_field *fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < fields[i].value_count; j++) {
            free_owned(fields[i].values[j].u.str.ptr);
        }
        free_owned(fields[i].values);
        free_owned(fields[i].key);
    }
    lf_free(fields);
}

void lf_meta_builder_cleanup(struct lf_meta_builder *b)
{
    free_fields(b->fields, b->count);
    lf_meta_builder_init(b);
}

static struct lf_meta_field *find_field(struct lf_meta_field *fields,
                                        size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(fields[i].key, key) == 0) {
            return &fields[i];
        }
    }
    return NULL;
}

static struct lf_meta_field *new_field(struct lf_meta_builder *b,
                                       const char *key, bool is_array)
{
    struct lf_meta_field *field;

    if (b->count == b->cap) {
        b->cap = b->cap == 0 ? 16 : b->cap * 2;
        b->fields = lf_realloc(b->fields, b->cap * sizeof(*b->fields));
    }
    field = &b->fields[b->count++];
    field->key = lf_strdup(key);
    field->values = NULL;
    field->value_count = 0;
    field->is_array = is_array;
    return field;
}

static void push_str(struct lf_meta_field *field, const char *value,
                     size_t len)
{
    struct lf_value *values;

    values = lf_realloc((void *)(uintptr_t)field->values,
                        (field->value_count + 1) * sizeof(*values));
    values[field->value_count].type = LF_VALUE_STRING;
    values[field->value_count].u.str.ptr = lf_strndup(value, len);
    values[field->value_count].u.str.len = len;
    field->values = values;
    field->value_count++;
}

int lf_meta_builder_add_str(struct lf_meta_builder *b, const char *key,
                            const char *value, size_t len)
{
    if (key == NULL || key[0] == '\0' || value == NULL || len == 0) {
        return LF_EINVAL;
    }
    if (find_field(b->fields, b->count, key) != NULL) {
        return LF_EEXIST;
    }
    push_str(new_field(b, key, false), value, len);
    return 0;
}

int lf_meta_builder_append_str(struct lf_meta_builder *b, const char *key,
                               const char *value, size_t len)
{
    struct lf_meta_field *field;

    if (key == NULL || key[0] == '\0' || value == NULL || len == 0) {
        return LF_EINVAL;
    }
    field = find_field(b->fields, b->count, key);
    if (field != NULL && !field->is_array) {
        return LF_EEXIST;
    }
    if (field == NULL) {
        field = new_field(b, key, true);
    }
    push_str(field, value, len);
    return 0;
}

bool lf_meta_builder_has(const struct lf_meta_builder *b, const char *key)
{
    return find_field(b->fields, b->count, key) != NULL;
}

struct lf_meta_set *lf_meta_builder_finish(struct lf_meta_builder *b)
{
    struct lf_meta_set *set = lf_calloc(1, sizeof(*set));

    atomic_init(&set->refs, 1);
    set->fields = b->fields;
    set->count = b->count;
    lf_meta_builder_init(b);
    return set;
}

struct lf_meta_set *lf_meta_set_ref(struct lf_meta_set *set)
{
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    return set;
}

void lf_meta_set_unref(struct lf_meta_set *set)
{
    if (set == NULL) {
        return;
    }
    /* Release, then acquire before freeing: the last owner must see every
       write the other owners made before they dropped their references. */
    if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_release) != 1) {
        return;
    }
    atomic_thread_fence(memory_order_acquire);
    free_fields(set->fields, set->count);
    lf_free(set);
}

size_t lf_meta_set_count(const struct lf_meta_set *set)
{
    return set->count;
}

const struct lf_meta_field *lf_meta_set_at(const struct lf_meta_set *set,
                                           size_t i)
{
    return &set->fields[i];
}

const struct lf_meta_field *lf_meta_set_get(const struct lf_meta_set *set,
                                            const char *key)
{
    return find_field(set->fields, set->count, key);
}
