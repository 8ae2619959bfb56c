/*
 * Compact binary form of an event and its document id, as the queue keeps
 * it in memory and in spool records: everything an output needs to send
 * the event again after a restart.
 *
 * Layout (integers little-endian):
 *   u8  format version: 1, or 2 when the event's file span follows
 *   version 2 only: u64 file id, u64 previous end offset, u64 end offset
 *       (struct lf_event_span)
 *   u8  document id length, then its bytes
 *   u32 tag bits, u32 log flag bits
 *   u32 message length, then its bytes
 *   u16 tag count, then per tag: u16 length, bytes, NUL
 *   u16 field count, then per field: u16 key length, key bytes, NUL,
 *       u8 value type, then the value: strings and JSON as u32 length and
 *       bytes, integers and timestamps as i64, floats as the IEEE 754
 *       binary64 bits, booleans as u8
 * Keys and tags carry their NUL so that a decoded event borrows them in
 * place.
 */
#ifndef LF_AGENT_QUEUE_EVENT_CODEC_H
#define LF_AGENT_QUEUE_EVENT_CODEC_H

#include <stddef.h>

#include "lf/buf.h"
#include "lf/event.h"

/* Longest document id the codec carries. */
#define LF_EVENT_CODEC_DOC_ID_MAX 255

/*
 * The bytes of its file that an event settles, so that a spool found
 * after a crash can move the file's offset past the events it contains.
 * Every event of the file that ends at or before `prev_end` was published
 * before this one, and the lines between `prev_end` and this event were
 * dropped by filters or processors.
 */
struct lf_event_span {
    uint64_t file_id;  /* registry key: agent/input/file_id.h */
    uint64_t prev_end; /* end offset of the file's previous published event,
                          or the offset reading started at */
    uint64_t end;      /* offset committed once this event is resolved */
};

/*
 * Appends the encoded `ev`, `doc_id` and `span` to `out`. `span` may be
 * NULL, which writes format version 1. Returns 0, or LF_ETOOBIG when a
 * key, tag, document id or count does not fit its length field (nothing
 * is appended then).
 */
int lf_event_encode(const struct lf_event *ev, const char *doc_id,
                    const struct lf_event_span *span, struct lf_buf *out);

/*
 * Decodes `len` bytes at `data` into `ev`, which is reset first, and
 * copies the document id, NUL terminated, to `doc_id`. The event borrows
 * its message, keys, strings and tags from `data`, which must outlive its
 * use. Returns 0, or LF_ECORRUPT for a truncated or malformed record.
 */
int lf_event_decode(const void *data, size_t len, struct lf_event *ev,
                    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1]);

/*
 * Reads the span of the record of `len` bytes at `data` into `span_out`
 * without decoding the event. Returns 0, LF_ENOENT for a version 1 record,
 * which has none, or LF_ECORRUPT.
 */
int lf_event_decode_span(const void *data, size_t len,
                         struct lf_event_span *span_out);

#endif
