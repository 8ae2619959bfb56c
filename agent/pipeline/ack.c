/*
 * A ring of pending events per file. Resolving marks a slot; the head then
 * moves over every resolved slot and the committed offset follows it.
 */
#include "agent/pipeline/ack.h"
#include "lf/mem.h"

#include <string.h>

enum { LF_ACK_MIN_RING = 64 };

struct lf_ack_slot {
    uint64_t end_offset;
    bool resolved;
};

void lf_ack_tracker_init(struct lf_ack_tracker *tracker, uint64_t offset)
{
    memset(tracker, 0, sizeof(*tracker));
    tracker->committed = offset;
}

void lf_ack_tracker_cleanup(struct lf_ack_tracker *tracker)
{
    lf_free(tracker->ring);
    tracker->ring = NULL;
    tracker->ring_cap = 0;
}

size_t lf_ack_tracker_pending(const struct lf_ack_tracker *tracker)
{
    return (size_t)(tracker->next_ticket - tracker->head_ticket);
}

static struct lf_ack_slot *slot_of(const struct lf_ack_tracker *tracker,
                                   uint64_t ticket)
{
    return &tracker->ring[ticket & (tracker->ring_cap - 1)];
}

/* Doubles the ring, keeping the pending slots at their ticket positions. */
static void grow(struct lf_ack_tracker *tracker)
{
    size_t cap = tracker->ring_cap == 0 ? LF_ACK_MIN_RING
                                        : tracker->ring_cap * 2;
    struct lf_ack_slot *ring = lf_calloc(cap, sizeof(*ring));

    for (uint64_t t = tracker->head_ticket; t < tracker->next_ticket; t++) {
        ring[t & (cap - 1)] = *slot_of(tracker, t);
    }
    lf_free(tracker->ring);
    tracker->ring = ring;
    tracker->ring_cap = cap;
}

uint64_t lf_ack_tracker_track(struct lf_ack_tracker *tracker,
                              uint64_t end_offset)
{
    struct lf_ack_slot *slot;

    if (lf_ack_tracker_pending(tracker) == tracker->ring_cap) {
        grow(tracker);
    }
    slot = slot_of(tracker, tracker->next_ticket);
    slot->end_offset = end_offset;
    slot->resolved = false;
    return tracker->next_ticket++;
}

bool lf_ack_tracker_resolve(struct lf_ack_tracker *tracker, uint64_t ticket)
{
    struct lf_ack_slot *slot;
    bool moved = false;

    if (ticket < tracker->head_ticket || ticket >= tracker->next_ticket) {
        return false;
    }
    slot = slot_of(tracker, ticket);
    if (slot->resolved) {
        return false;
    }
    slot->resolved = true;

    while (tracker->head_ticket < tracker->next_ticket) {
        slot = slot_of(tracker, tracker->head_ticket);
        if (!slot->resolved) {
            break;
        }
        tracker->committed = slot->end_offset;
        tracker->head_ticket++;
        moved = true;
    }
    return moved;
}

void lf_ack_tracker_untrack_from(struct lf_ack_tracker *tracker,
                                 uint64_t ticket)
{
    if (ticket >= tracker->head_ticket && ticket < tracker->next_ticket) {
        tracker->next_ticket = ticket;
    }
}
