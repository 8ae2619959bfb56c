/*
 * Metadata field sets: an immutable list of ECS fields (dotted key, one or
 * more typed values) that a metadata source builds once per fetch and that
 * events share by reference instead of copying per line.
 *
 * Arrays: a field whose `is_array` is true is an array in the document
 * (`host.ip`, `host.mac`, `container.image.tag`) and is written as a JSON
 * array of its values, even when it has one value. Every other field has
 * exactly one value and is written as a scalar.
 */
#ifndef LF_AGENT_METADATA_META_SET_H
#define LF_AGENT_METADATA_META_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/event.h"

struct lf_meta_field {
    const char *key;               /* dotted ECS path, owned by the set */
    const struct lf_value *values; /* `value_count` values; strings are
                                      owned by the set */
    size_t value_count;            /* 1 unless `is_array` */
    bool is_array;
};

/* Reference-counted and immutable once built; see lf_meta_set_ref(). */
struct lf_meta_set;

/*
 * Collects fields for one set. Storage is the caller's: lf_meta_builder_init()
 * before use, lf_meta_builder_cleanup() after, also after finish.
 */
struct lf_meta_builder {
    struct lf_meta_field *fields; /* owned array, `count` used */
    size_t count;
    size_t cap;
};

void lf_meta_builder_init(struct lf_meta_builder *b);
void lf_meta_builder_cleanup(struct lf_meta_builder *b);

/*
 * Adds the scalar string field `key` (copied) with the first `len` bytes of
 * `value` (copied). Returns 0, LF_EINVAL for an empty key or value, or
 * LF_EEXIST when the builder already has `key`.
 */
int lf_meta_builder_add_str(struct lf_meta_builder *b, const char *key,
                            const char *value, size_t len);

/*
 * Appends a string to the array field `key`, creating the field on first
 * use. Returns 0, LF_EINVAL for an empty key or value, or LF_EEXIST when
 * `key` is already a scalar field.
 */
int lf_meta_builder_append_str(struct lf_meta_builder *b, const char *key,
                               const char *value, size_t len);

/* Returns true when the builder has a field named `key`. */
bool lf_meta_builder_has(const struct lf_meta_builder *b, const char *key);

/*
 * Moves the fields into a new set with a reference count of 1 and empties
 * the builder. A builder without fields gives an empty set, not NULL.
 */
struct lf_meta_set *lf_meta_builder_finish(struct lf_meta_builder *b);

/*
 * Adds a reference and returns `set`. Reference counting is atomic, so a
 * set may be released on another thread than the one that built it.
 */
struct lf_meta_set *lf_meta_set_ref(struct lf_meta_set *set);

/* Drops a reference and frees the set with the last one; accepts NULL. */
void lf_meta_set_unref(struct lf_meta_set *set);

size_t lf_meta_set_count(const struct lf_meta_set *set);

/* Returns field `i` in insertion order; `i` must be below the count. */
const struct lf_meta_field *lf_meta_set_at(const struct lf_meta_set *set,
                                           size_t i);

/* Returns the field named `key`, or NULL when the set has none. */
const struct lf_meta_field *lf_meta_set_get(const struct lf_meta_set *set,
                                            const char *key);

#endif
