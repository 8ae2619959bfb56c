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

/* Appends `len` bytes of `s` as a quoted, escaped JSON string. */
void lf_json_append_string(struct lf_buf *buf, const char *s, size_t len);

/* Appends a timestamp as "2024-03-01T10:00:01.123Z" (milliseconds). */
void lf_json_append_timestamp(struct lf_buf *buf, int64_t ts_ns);

/*
 * Appends `ev` as one JSON object without a trailing newline. Fields are
 * nested by their dotted keys, `message` holds the line, `tags` and
 * `log.flags` are arrays built from the event's bits.
 */
void lf_json_append_event(struct lf_buf *buf, const struct lf_event *ev);

#endif
