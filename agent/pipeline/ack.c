/*
 * A ring of entries in ticket order, from the oldest unresolved event to
 * the newest tracked one. Each entry keeps the end offset of the event
 * tracked before it, which becomes the committed offset once the entry is
 * the oldest unresolved one. Resolving marks an entry. Resolved entries at
 * the head are dropped at once, and the others when the ring is full
 * (compaction). The ring only doubles when fewer than half of its entries
 * are resolved, so its capacity stays within twice the largest number of
 * unresolved events, or 64.
 */
#include "agent/pipeline/ack.h"
#include "lf/mem.h"

#include <string.h>

enum { LF_ACK_MIN_RING = 64 };

struct lf_ack_entry {
    uint64_t ticket;
    uint64_t start;   /* end offset of the event tracked before this one */
    uint64_t time_ms; /* see lf_ack_tracker_track_at() */
    bool resolved;
};

void lf_ack_tracker_init(struct lf_ack_tracker *tracker, uint64_t offset)
{
    memset(tracker, 0, sizeof(*tracker));
    tracker->committed = offset;
    tracker->last_end = offset;
}

void lf_ack_tracker_cleanup(struct lf_ack_tracker *tracker)
{
    lf_free(tracker->ring);
    tracker->ring = NULL;
    tracker->ring_cap = 0;
    tracker->ring_count = 0;
    tracker->ring_head = 0;
}

size_t lf_ack_tracker_pending(const struct lf_ack_tracker *tracker)
{
    return tracker->unresolved;
}

/* Returns the `i`th entry from the oldest. */
static struct lf_ack_entry *entry_at(const struct lf_ack_tracker *tracker,
                                     size_t i)
{
    return &tracker->ring[(tracker->ring_head + i) & (tracker->ring_cap - 1)];
}

/*
 * Makes room for one entry: drops the resolved entries when they are at
 * least half of a full ring, and otherwise doubles the ring. The
 * entries keep their order and move to the start of the ring.
 */
static void make_room(struct lf_ack_tracker *tracker)
{
    size_t count = tracker->ring_count;
    bool compact = count - tracker->unresolved >= count / 2 && count > 0;
    size_t cap = tracker->ring_cap == 0 ? LF_ACK_MIN_RING
                                        : tracker->ring_cap * 2;
    struct lf_ack_entry *ring;
    size_t kept = 0;

    if (compact) {
        cap = tracker->ring_cap;
    }
    ring = lf_calloc(cap, sizeof(*ring));
    for (size_t i = 0; i < count; i++) {
        const struct lf_ack_entry *entry = entry_at(tracker, i);

        if (!compact || !entry->resolved) {
            ring[kept++] = *entry;
        }
    }
    lf_free(tracker->ring);
    tracker->ring = ring;
    tracker->ring_cap = cap;
    tracker->ring_head = 0;
    tracker->ring_count = kept;
}

uint64_t lf_ack_tracker_track(struct lf_ack_tracker *tracker,
                              uint64_t end_offset)
{
    return lf_ack_tracker_track_at(tracker, end_offset, 0);
}

uint64_t lf_ack_tracker_track_at(struct lf_ack_tracker *tracker,
                                 uint64_t end_offset, uint64_t time_ms)
{
    struct lf_ack_entry *entry;

    if (tracker->ring_count == tracker->ring_cap) {
        make_room(tracker);
    }
    entry = entry_at(tracker, tracker->ring_count++);
    entry->ticket = tracker->next_ticket;
    entry->start = tracker->last_end;
    entry->time_ms = time_ms;
    entry->resolved = false;
    tracker->last_end = end_offset;
    tracker->unresolved++;
    return tracker->next_ticket++;
}

/*
 * The head entry is always unresolved: resolving the head drops it with
 * every resolved entry behind it.
 */
bool lf_ack_tracker_oldest_time(const struct lf_ack_tracker *tracker,
                                uint64_t *time_ms_out)
{
    if (tracker->unresolved == 0) {
        return false;
    }
    *time_ms_out = entry_at(tracker, 0)->time_ms;
    return true;
}

/* Returns the index of the entry of `ticket`, or ring_count if none. */
static size_t find_entry(const struct lf_ack_tracker *tracker,
                         uint64_t ticket)
{
    size_t lo = 0;
    size_t hi = tracker->ring_count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t found = entry_at(tracker, mid)->ticket;

        if (found == ticket) {
            return mid;
        }
        if (found < ticket) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return tracker->ring_count;
}

bool lf_ack_tracker_resolve(struct lf_ack_tracker *tracker, uint64_t ticket)
{
    size_t i = find_entry(tracker, ticket);
    struct lf_ack_entry *entry;

    if (i == tracker->ring_count || entry_at(tracker, i)->resolved) {
        return false;
    }
    entry_at(tracker, i)->resolved = true;
    tracker->unresolved--;
    if (i != 0) {
        return false;
    }

    /* The oldest unresolved event got its result: drop the resolved head. */
    do {
        tracker->ring_head =
            (tracker->ring_head + 1) & (tracker->ring_cap - 1);
        tracker->ring_count--;
        entry = entry_at(tracker, 0);
    } while (tracker->ring_count > 0 && entry->resolved);
    tracker->committed =
        tracker->ring_count > 0 ? entry->start : tracker->last_end;
    return true;
}

void lf_ack_tracker_untrack_from(struct lf_ack_tracker *tracker,
                                 uint64_t ticket)
{
    size_t i = find_entry(tracker, ticket);

    if (i == tracker->ring_count || entry_at(tracker, i)->resolved) {
        return;
    }
    tracker->last_end = entry_at(tracker, i)->start;
    tracker->next_ticket = ticket;
    while (tracker->ring_count > i) {
        if (!entry_at(tracker, --tracker->ring_count)->resolved) {
            tracker->unresolved--;
        }
    }
}
