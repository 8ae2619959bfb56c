/*
 * Ordered acknowledgement of one file's events. Events are tracked in the
 * order they were read, but results arrive in any order because batches
 * complete out of order and retried items come back late. The committed
 * offset advances only over a prefix of events that all have a result.
 */
#ifndef LF_AGENT_PIPELINE_ACK_H
#define LF_AGENT_PIPELINE_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lf_ack_entry;

/*
 * Memory grows with the unresolved events, not with the events between
 * them. So a long run of spooled events behind a batch that a stalled
 * output still retries costs nothing per event.
 */
struct lf_ack_tracker {
    uint64_t committed;      /* offset up to which every event is resolved */
    uint64_t next_ticket;    /* ticket of the next tracked event */
    uint64_t last_end;       /* end offset of the newest tracked event */
    size_t unresolved;       /* tracked events without a result */
    struct lf_ack_entry *ring; /* from the oldest unresolved event on */
    size_t ring_head;        /* index of the oldest entry */
    size_t ring_count;       /* entries in use */
    size_t ring_cap;         /* power of two */
};

/* Starts with nothing pending and `committed` at `offset`. */
void lf_ack_tracker_init(struct lf_ack_tracker *tracker, uint64_t offset);
void lf_ack_tracker_cleanup(struct lf_ack_tracker *tracker);

/* Tracks an event ending at `end_offset`; returns its ticket. */
uint64_t lf_ack_tracker_track(struct lf_ack_tracker *tracker,
                              uint64_t end_offset);

/*
 * As lf_ack_tracker_track(), and records `time_ms`, the time the event
 * was published on a monotonic clock, for lf_ack_tracker_oldest_time().
 */
uint64_t lf_ack_tracker_track_at(struct lf_ack_tracker *tracker,
                                 uint64_t end_offset, uint64_t time_ms);

/*
 * Stores the time given when the oldest event without a result was
 * tracked (0 when lf_ack_tracker_track() tracked it). Returns false when
 * every event has a result.
 */
bool lf_ack_tracker_oldest_time(const struct lf_ack_tracker *tracker,
                                uint64_t *time_ms_out);

/*
 * Records the final result of `ticket`. Returns true when the committed
 * offset moved forward. A ticket resolved twice, or never tracked, is
 * ignored and returns false.
 */
bool lf_ack_tracker_resolve(struct lf_ack_tracker *tracker, uint64_t ticket);

/* Returns the number of tracked events without a result. */
size_t lf_ack_tracker_pending(const struct lf_ack_tracker *tracker);

/*
 * Forgets the newest events from `ticket` on, which were never handed to
 * an output, so the file can be read again from their offset.
 */
void lf_ack_tracker_untrack_from(struct lf_ack_tracker *tracker,
                                 uint64_t ticket);

#endif
