/*
 * PutLogEvents batch rules: a builder that takes events (timestamp and
 * message) for one log stream and cuts them into batches that CloudWatch
 * Logs accepts, and the mapping of a reply's rejectedLogEventsInfo back
 * to the events it names. Pure code: no I/O, no logging.
 *
 * The limits come from the PutLogEvents documentation and the shapes of
 * the CloudWatch Logs API model (logs 2014-03-28, as botocore ships it).
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_CW_BATCH_H
#define LF_OUTPUTS_CLOUDWATCH_CW_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Maximum batch size: the sum of the UTF-8 message lengths plus
 * LF_CW_EVENT_OVERHEAD_BYTES per event (PutLogEvents documentation). */
#define LF_CW_MAX_BATCH_BYTES 1048576

/* Bytes the service adds to each event when it sizes a batch or an event
 * (PutLogEvents documentation). */
#define LF_CW_EVENT_OVERHEAD_BYTES 26

/* Maximum events per batch (PutLogEvents documentation). */
#define LF_CW_MAX_BATCH_EVENTS 10000

/* Maximum event size: "Each log event can be no larger than 1 MB"
 * (PutLogEvents documentation). Older documentation gave 256 KiB (262,144
 * bytes), so it is an option. The builder counts the message plus the
 * overhead against it, the stricter of the two readings. */
#define LF_CW_MAX_EVENT_BYTES 1048576

/* Minimum message length (InputLogEvent.message, "min": 1). */
#define LF_CW_MIN_MESSAGE_BYTES 1

/* Maximum time between the first and last event of a batch: 24 hours
 * (PutLogEvents documentation). */
#define LF_CW_MAX_BATCH_SPAN_MS (24 * 3600 * 1000LL)

/* Events older than 14 days are rejected (PutLogEvents documentation). A
 * log group's retention period, when shorter, rejects older events too. */
#define LF_CW_MAX_EVENT_AGE_MS (14 * 24 * 3600 * 1000LL)

/* Events more than 2 hours in the future are rejected (PutLogEvents
 * documentation). */
#define LF_CW_MAX_EVENT_AHEAD_MS (2 * 3600 * 1000LL)

/*
 * How far inside the accepted window a clamped old event is placed, so
 * that it is still accepted after the batch has waited and been sent. A
 * chosen value, not a service limit.
 */
#define LF_CW_CLAMP_MARGIN_MS (3600 * 1000LL)

/* Default text appended to a truncated message. */
#define LF_CW_TRUNCATE_MARKER "[truncated]"

/* Policy for an event outside the accepted time window. */
enum lf_cw_out_of_window {
    LF_CW_OUT_OF_WINDOW_DROP,  /* drop and count it */
    LF_CW_OUT_OF_WINDOW_CLAMP, /* move its timestamp inside the window */
};

/* Policy for an event larger than max_event_bytes. */
enum lf_cw_large_event {
    LF_CW_LARGE_EVENT_SPLIT,    /* send it as parts, see lf_cw_entry.part */
    LF_CW_LARGE_EVENT_TRUNCATE, /* cut it and append the marker */
};

/* Policy for an empty message, which the service rejects. */
enum lf_cw_empty_message {
    LF_CW_EMPTY_MESSAGE_DROP,        /* drop and count it */
    LF_CW_EMPTY_MESSAGE_PLACEHOLDER, /* send `empty_placeholder` instead */
};

/*
 * Batch limits and policies. Every limit is a field so that a change on
 * the service side, a log group's shorter retention (max_event_age_ms) or
 * a stand-in's stricter rule needs no rebuild.
 */
struct lf_cw_batch_options {
    size_t max_batch_bytes;     /* LF_CW_MAX_BATCH_BYTES */
    size_t max_batch_events;    /* LF_CW_MAX_BATCH_EVENTS */
    size_t max_event_bytes;     /* LF_CW_MAX_EVENT_BYTES, overhead included */
    int64_t max_batch_span_ms;  /* LF_CW_MAX_BATCH_SPAN_MS */
    int64_t max_event_age_ms;   /* LF_CW_MAX_EVENT_AGE_MS */
    int64_t max_event_ahead_ms; /* LF_CW_MAX_EVENT_AHEAD_MS */
    int64_t clamp_margin_ms;    /* LF_CW_CLAMP_MARGIN_MS */
    enum lf_cw_out_of_window out_of_window;
    enum lf_cw_large_event large_event;
    enum lf_cw_empty_message empty_message;
    const char *truncate_marker;   /* borrowed; LF_CW_TRUNCATE_MARKER */
    const char *empty_placeholder; /* borrowed; "-" */
};

/* The caller's reference to an event, opaque to the builder. */
struct lf_cw_event_ref {
    void *source;
    uint64_t ticket;
};

/* One event of a batch. */
struct lf_cw_entry {
    int64_t timestamp_ms; /* after clamping */
    char *message;        /* owned by the batch, valid UTF-8, NUL-ended */
    size_t message_len;   /* bytes, 1 to max_event_bytes - overhead */
    struct lf_cw_event_ref ref;
    /* 1-based part number; 1 when not split. The parts of an event contain
     * its message bytes in order, with no number added to the text. */
    uint32_t part;
    uint32_t part_count; /* parts of the original event; 1 when not split */
    bool truncated;
    bool clamped;
};

/* A batch ready to encode: entries sorted by timestamp, within limits. */
struct lf_cw_batch {
    struct lf_cw_entry *entries;
    size_t count;
    size_t size_bytes; /* sum of message_len + overhead, as AWS counts */
    int64_t first_timestamp_ms;
    int64_t last_timestamp_ms;
};

/* Counters of the policies applied, by lf_cw_batcher_add(). */
struct lf_cw_batch_stats {
    uint64_t too_old_dropped;
    uint64_t too_old_clamped;
    uint64_t too_new_dropped;
    uint64_t too_new_clamped;
    uint64_t empty_dropped;
    uint64_t empty_replaced;
    uint64_t split_events; /* events sent as several parts */
    uint64_t split_parts;  /* parts those events made */
    uint64_t truncated;
    uint64_t invalid_utf8; /* messages with bytes replaced by U+FFFD */
};

/* Outcome of lf_cw_batcher_add() for the event. */
enum lf_cw_add_result {
    LF_CW_ADD_QUEUED,  /* pending, as one or more entries */
    LF_CW_ADD_DROPPED, /* dropped by a policy; acknowledge it now */
};

/* Per-entry result of a PutLogEvents reply. */
enum lf_cw_event_status {
    LF_CW_EVENT_ACCEPTED,
    LF_CW_EVENT_TOO_OLD,
    LF_CW_EVENT_TOO_NEW,
    LF_CW_EVENT_EXPIRED,
};

/*
 * The rejectedLogEventsInfo of a reply; -1 marks an absent member. The
 * model calls tooNewLogEventStartIndex inclusive and tooOldLogEventEndIndex
 * exclusive.
 */
struct lf_cw_rejected_info {
    int64_t too_new_start_index; /* first too new entry */
    int64_t too_old_end_index;   /* entries before it are too old */
    /* NOTE: the model documents this member only as "The expired log
     * events"; it is read as an exclusive end, like too_old_end_index. */
    int64_t expired_end_index;
};

struct lf_cw_batcher;

/* Fills `opts` with the limits above and drop, split, drop policies. */
void lf_cw_batch_options_init(struct lf_cw_batch_options *opts);

/*
 * Returns a builder with a copy of `opts`, or NULL with a reason in
 * `errbuf` when a limit is inconsistent: zero, an event limit that does
 * not fit in a batch, or a truncate marker too long for an event.
 */
struct lf_cw_batcher *lf_cw_batcher_new(const struct lf_cw_batch_options *opts,
                                        char *errbuf, size_t errlen);

/* Frees the builder and its pending events. Accepts NULL. */
void lf_cw_batcher_free(struct lf_cw_batcher *b);

/*
 * Adds one event, copying `message`. `now_ms` is the current time, which
 * decides whether the event is too old or too new. Invalid UTF-8 bytes
 * are replaced by U+FFFD first, because the service counts and stores
 * UTF-8. Then the policies apply: the time window, empty messages, and
 * events larger than max_event_bytes, which are split at UTF-8 character
 * boundaries into parts that share the timestamp and `ref`, or truncated
 * at one. Sets `*result_out` and returns 0. It has no error return,
 * because allocation failure aborts (see lf/mem.h).
 */
int lf_cw_batcher_add(struct lf_cw_batcher *b, int64_t timestamp_ms,
                      const char *message, size_t len,
                      struct lf_cw_event_ref ref, int64_t now_ms,
                      enum lf_cw_add_result *result_out);

/* Returns the number of pending entries (parts count one each). */
size_t lf_cw_batcher_pending(const struct lf_cw_batcher *b);

/*
 * Moves the earliest pending entries into a new batch, which the caller
 * frees with lf_cw_batch_free(). Pending entries are sorted by timestamp
 * first, keeping the order of addition for equal timestamps. The batch
 * ends before the entry that would break the byte, count or span limit.
 * Returns the batch, or NULL when nothing is pending.
 */
struct lf_cw_batch *lf_cw_batcher_take(struct lf_cw_batcher *b);

void lf_cw_batch_free(struct lf_cw_batch *batch);

const struct lf_cw_batch_stats *
lf_cw_batcher_stats(const struct lf_cw_batcher *b);

/*
 * Maps a reply's rejectedLogEventsInfo to the entries it names: fills
 * `status_out` (batch->count elements) and returns the number of
 * rejected entries. An entry below expired_end_index is expired, else
 * below too_old_end_index too old, else at or after too_new_start_index
 * too new. Returns LF_EPROTO, with `status_out` all accepted, when an
 * index lies outside the batch.
 */
int lf_cw_batch_map_rejected(const struct lf_cw_batch *batch,
                             const struct lf_cw_rejected_info *info,
                             enum lf_cw_event_status *status_out);

/*
 * Returns the length of the longest well-formed UTF-8 prefix of `s`: no
 * overlong forms, surrogates or code points past U+10FFFF.
 */
size_t lf_cw_utf8_valid_prefix(const char *s, size_t len);

/* Returns the length of the longest prefix of `s[0..len)` that ends on a
 * UTF-8 character boundary and is at most `max` bytes. */
size_t lf_cw_utf8_cut(const char *s, size_t len, size_t max);

#endif
