/*
 * Cuts: file offsets where an earlier run ended a line, a container line
 * or a multiline group because time passed (partial_line_timeout, the
 * multiline timeout) or reading stopped, not because of the file's
 * content. The registry keeps the cuts of events not yet acknowledged, and
 * the line stages end their events at the same offsets after a restart, so
 * a re-read event is byte-identical to the one shipped under its document
 * id.
 *
 * A cut also marks the end of an event of one container stream that was
 * shipped while bytes of another stream before its end were still held.
 * The registry cannot move past those bytes, so reading resumes inside the
 * event; the stream's lines up to the cut were shipped and are skipped.
 */
#ifndef LF_AGENT_INPUT_CUT_H
#define LF_AGENT_INPUT_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kinds of cut, by what ends there. The registry file stores the values. */
enum lf_cut_kind {
    LF_CUT_LINE = 1,  /* an unterminated line, at the cut offset */
    LF_CUT_PARTS = 2, /* the split container line whose part ends there */
    LF_CUT_GROUP = 4, /* the multiline group whose line ends there */
    /*
     * An event of stream N (enum lf_container_stream) ending there was
     * shipped: the kind is LF_CUT_SHIPPED << N.
     */
    LF_CUT_SHIPPED = 8,
};

/* The kinds that end an event; the others only mark shipped bytes. */
#define LF_CUT_ENDS (LF_CUT_LINE | LF_CUT_PARTS | LF_CUT_GROUP)

struct lf_cut {
    uint64_t offset;
    unsigned kinds; /* enum lf_cut_kind bits */
    uint64_t start; /* with LF_CUT_SHIPPED: offset of the shipped event */
};

/* Cuts ordered by offset, each offset once. */
struct lf_cuts {
    struct lf_cut *items; /* owned */
    size_t count;
    size_t cap;
};

void lf_cuts_init(struct lf_cuts *cuts);
void lf_cuts_cleanup(struct lf_cuts *cuts);

/* Replaces the contents of `dst` with a copy of `src`. */
void lf_cuts_copy(struct lf_cuts *dst, const struct lf_cuts *src);

/*
 * Adds `kinds` at `offset`, merging with a cut already there; `start` is
 * stored with LF_CUT_SHIPPED kinds. Returns true when that changed the
 * list.
 */
bool lf_cuts_add(struct lf_cuts *cuts, uint64_t offset, unsigned kinds,
                 uint64_t start);

/* Removes the cuts at or before `offset`. Returns true when any was. */
bool lf_cuts_drop_through(struct lf_cuts *cuts, uint64_t offset);

/* Returns the kinds of the cut at `offset`, or 0 when there is none. */
unsigned lf_cuts_at(const struct lf_cuts *cuts, uint64_t offset);

/*
 * Returns the offset of the first cut after `offset` with one of `kinds`,
 * or UINT64_MAX.
 */
uint64_t lf_cuts_next(const struct lf_cuts *cuts, uint64_t offset,
                      unsigned kinds);

/*
 * Returns true when a line of `stream` ending at `end_offset` belongs to
 * an event that was shipped before reading restarted at `restart_offset`.
 */
bool lf_cuts_shipped(const struct lf_cuts *cuts, unsigned stream,
                     uint64_t end_offset, uint64_t restart_offset);

#endif
