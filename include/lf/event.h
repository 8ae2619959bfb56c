/*
 * One log event on its way from a harvester to an output: the line, its
 * typed ECS fields, tags and flags. Events are reused: lf_event_reset()
 * keeps every allocation, so the hot path allocates nothing per line.
 */
#ifndef LF_LF_EVENT_H
#define LF_LF_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lf_value_type {
    LF_VALUE_STRING,
    LF_VALUE_INT,
    LF_VALUE_FLOAT,
    LF_VALUE_BOOL,
    LF_VALUE_TIMESTAMP,
    /*
     * A JSON text kept whole, such as an array, in `u.str`. Encoders write
     * its bytes as they are, so the code that sets it must give valid,
     * compact JSON in UTF-8 (see lf_event_set_json()).
     */
    LF_VALUE_JSON,
};

struct lf_value {
    enum lf_value_type type;
    union {
        struct {
            const char *ptr; /* borrowed, see lf_event_set_str() */
            size_t len;
        } str; /* LF_VALUE_STRING and LF_VALUE_JSON */
        int64_t i;
        double f;
        bool b;
        int64_t ts_ns; /* nanoseconds since the Unix epoch, UTC */
    } u;
};

struct lf_field {
    const char *key; /* dotted ECS path; borrowed and unchanged while the
                        event holds it */
    struct lf_value value;
};

/* Tags, written to the document as `tags`. */
enum lf_event_tag {
    LF_TAG_PARSE_FAILURE = 1u << 0,     /* "_parse_failure" */
    LF_TAG_TIMESTAMP_FAILURE = 1u << 1, /* "_timestamp_failure" */
    LF_TAG_CONVERSION_FAILURE = 1u << 2, /* "_field_conversion_failure" */
};

/* Flags, written to the document as `log.flags`. */
enum lf_log_flag {
    LF_LOG_FLAG_TRUNCATED = 1u << 0, /* "truncated": line cut at max bytes */
    LF_LOG_FLAG_MULTILINE = 1u << 1, /* "multiline": several lines joined */
};

/* Storage for strings an event derives from its line; never moves. */
struct lf_arena_block;

struct lf_event {
    const char *message; /* the line without its terminator; borrowed */
    size_t message_len;
    struct lf_field *fields; /* owned array, `field_count` used */
    size_t field_count;
    size_t field_cap;
    unsigned tags;      /* enum lf_event_tag bits */
    /*
     * Tags beyond the bits, written after their names: borrowed strings,
     * `tag_count` used, added with lf_event_add_tag().
     */
    const char **tag_list; /* owned array of `tag_cap` entries */
    size_t tag_count;
    size_t tag_cap;
    unsigned log_flags; /* enum lf_log_flag bits */
    struct lf_arena_block *arena;
    /*
     * Lookup aids, kept by the functions below; treat them as read-only.
     * `key_lens[i]` is strlen(fields[i].key). `key_filter` has one bit per
     * hash of a key's length and end bytes, set for every key the event
     * has held since its last reset, and lookups scan the fields only
     * when the key's bit is set.
     */
    size_t *key_lens; /* owned array, `field_cap` entries */
    uint64_t key_filter;
};

void lf_event_init(struct lf_event *ev);
void lf_event_cleanup(struct lf_event *ev);

/* Drops fields, tags, flags and arena strings; keeps the storage. */
void lf_event_reset(struct lf_event *ev);

/*
 * Sets `key` to `value`, replacing an existing field of the same key. `key`
 * and any string in `value` are borrowed: they must live until the event is
 * reset (the line, the configuration, a literal, or lf_event_copy_str()),
 * and the key's text must not change until then.
 */
void lf_event_set(struct lf_event *ev, const char *key,
                  const struct lf_value *value);
void lf_event_set_str(struct lf_event *ev, const char *key, const char *ptr,
                      size_t len);
void lf_event_set_int(struct lf_event *ev, const char *key, int64_t i);
void lf_event_set_float(struct lf_event *ev, const char *key, double f);
void lf_event_set_bool(struct lf_event *ev, const char *key, bool b);
void lf_event_set_timestamp(struct lf_event *ev, const char *key,
                            int64_t ts_ns);

/*
 * Sets `key` to the JSON text `ptr` (`len` bytes), borrowed like a string.
 * The text must be one complete JSON value in valid UTF-8: encoders copy
 * it into documents without checking or escaping it.
 */
void lf_event_set_json(struct lf_event *ev, const char *key, const char *ptr,
                       size_t len);

/* Returns the field's value, or NULL when the event has no such key. */
const struct lf_value *lf_event_get(const struct lf_event *ev,
                                    const char *key);

/* Removes `key`; returns true when it was present. */
bool lf_event_remove(struct lf_event *ev, const char *key);

/*
 * Copies `len` bytes into the event's arena and returns the copy (NUL
 * terminated). It stays valid until the event is reset or cleaned up.
 */
const char *lf_event_copy_str(struct lf_event *ev, const char *ptr,
                              size_t len);

/*
 * Adds `tag` to the event's tags unless it is there already. The string is
 * borrowed like a key of lf_event_set() and must live until the reset.
 */
void lf_event_add_tag(struct lf_event *ev, const char *tag);

/* Returns `size` bytes of arena storage, valid until the next reset. */
char *lf_event_alloc(struct lf_event *ev, size_t size);

#endif
