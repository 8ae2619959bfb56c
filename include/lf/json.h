/*
 * JSON writing straight into a byte buffer: strings escaped per RFC 8259
 * with invalid UTF-8 replaced by U+FFFD, and whole events written as ECS
 * documents with dotted keys expanded into nested objects.
 */
#ifndef LF_LF_JSON_H
#define LF_LF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lf/buf.h"
#include "lf/event.h"

/*
 * Returns the length of the well-formed UTF-8 sequence at `p`, of which
 * `avail` bytes may be read, or 0 when it is ill-formed. Then `*bad_len`
 * is the number of bytes to replace with one U+FFFD, as section 3.9 of
 * the Unicode Standard recommends.
 */
size_t lf_utf8_sequence(const unsigned char *p, size_t avail,
                        size_t *bad_len);

/* Appends `len` bytes of `s` as a quoted, escaped JSON string. */
void lf_json_append_string(struct lf_buf *buf, const char *s, size_t len);

/* Appends a timestamp as "2024-03-01T10:00:01.123Z" (milliseconds). */
void lf_json_append_timestamp(struct lf_buf *buf, int64_t ts_ns);

/*
 * Appends `value` as it is written in a document: a string escaped, a
 * timestamp as above, and a JSON value (LF_VALUE_JSON) copied unchanged.
 */
void lf_json_append_value(struct lf_buf *buf, const struct lf_value *value);

/*
 * Appends `ev` as one JSON object without a trailing newline. Fields are
 * nested by their dotted keys, `message` is the line, `tags` is an array
 * of the event's tag bit names then its tag strings, and `log.flags` an
 * array of its flag bit names. A JSON value (LF_VALUE_JSON) is copied as
 * it is, and a JSON array in a `tags` field is extended with the tag
 * names rather than nested in a new array. Fields under `@metadata` are
 * left out: they pass values between parsers and processors only.
 */
void lf_json_append_event(struct lf_buf *buf, const struct lf_event *ev);

/*
 * Cache of document shapes for lf_json_append_event_cached(). A shape is
 * the member order of a document and the bytes between its values
 * (braces, commas, escaped member names). It depends only on the event's
 * keys in field order, on whether the event has a message, on whether it
 * has tags (known bits or strings) and on whether it has known log flag
 * bits, so the events of one input nearly always share one. Not
 * thread-safe: use one cache per thread.
 */
struct lf_json_shape_cache;

struct lf_json_shape_stats {
    uint64_t hits;   /* documents written from a cached shape */
    uint64_t misses; /* documents written by sorting and nesting keys */
};

/* Returns an empty cache; free it with lf_json_shape_cache_free(). */
struct lf_json_shape_cache *lf_json_shape_cache_new(void);

/* Frees the cache; accepts NULL. */
void lf_json_shape_cache_free(struct lf_json_shape_cache *cache);

/*
 * Appends the same bytes as lf_json_append_event(). When a cached shape
 * matches the event's keys by their text, only the values are encoded.
 * Otherwise the document is built in full, and its shape replaces the
 * least recently used one. Keys are compared by text, not by pointer, so
 * storage that a later event reuses for another key cannot match.
 */
void lf_json_append_event_cached(struct lf_buf *buf,
                                 struct lf_json_shape_cache *cache,
                                 const struct lf_event *ev);

/* Stores the cache's hit and miss counts in `out`. */
void lf_json_shape_cache_stats(const struct lf_json_shape_cache *cache,
                               struct lf_json_shape_stats *out);

#endif
