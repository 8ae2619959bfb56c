/*
 * The stages that turn one file's bytes into events: line framing and
 * decoding, the flush of a stalled unterminated line
 * (partial_line_timeout), container log lines (format), multiline grouping
 * and the include_lines / exclude_lines filters, in that order. The stages are
 * pure: the harvester feeds them bytes and the time, and arms one timer
 * for lf_line_stages_deadline().
 *
 * An event whose end was decided by time or by a close, not by the bytes,
 * ends at a cut (agent/input/cut.h). The stages report each new cut before
 * the event that ends there, and end their events at the cuts they were
 * given, so reading the same bytes again gives the same events.
 */
#ifndef LF_AGENT_INPUT_LINE_STAGES_H
#define LF_AGENT_INPUT_LINE_STAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/config/config.h"
#include "agent/input/container.h"
#include "agent/input/cut.h"
#include "agent/input/line_reader.h"
#include "agent/input/multiline.h"

/* Receivers of the events that leave the stages. */
struct lf_line_events {
    void *arg;
    /* Returns 0, or LF_EFULL when the event was not taken. */
    int (*on_event)(void *arg, const struct lf_line *event);
    /* An event the line filters dropped: its bytes are done with. */
    void (*on_filtered)(void *arg, const struct lf_line *event);
    /*
     * A new cut, reported before the event that ends there leaves; NULL
     * when cuts need not be kept.
     */
    void (*on_cut)(void *arg, const struct lf_cut *cut);
};

struct lf_line_stages {
    const struct lf_input_config *input; /* borrowed */
    struct lf_line_reader reader;
    struct lf_container container;  /* decodes input->format */
    /* Groups per container stream, used when input->multiline is set. */
    struct lf_multiline multiline[LF_CONTAINER_STREAMS];
    /* Flush of the pending line and container parts; 0: none. */
    uint64_t partial_deadline_ms;
    struct lf_cuts cuts; /* where events end, past the oldest pending byte */
    uint64_t start_offset; /* where reading started: init or last reset */
    size_t lines_behind_parts; /* lines read while container parts held */
};

/*
 * Starts at `offset`. Pass `after_partial` when the byte before `offset`
 * is not "\n": an earlier run flushed the line up to there.
 */
void lf_line_stages_init(struct lf_line_stages *stages,
                         const struct lf_input_config *input, uint64_t offset,
                         bool after_partial);
void lf_line_stages_cleanup(struct lf_line_stages *stages);

/* Sets the cuts of an earlier run (which may be NULL); call after init. */
void lf_line_stages_set_cuts(struct lf_line_stages *stages,
                             const struct lf_cuts *cuts);

/*
 * Drops everything pending and starts again at `offset`, as for init. The
 * cuts are kept.
 */
void lf_line_stages_reset(struct lf_line_stages *stages, uint64_t offset,
                          bool after_partial);

/* Returns the file offset of the next byte to feed. */
uint64_t lf_line_stages_offset(const struct lf_line_stages *stages);

/*
 * Returns the file offset of the first byte not yet handed out in an
 * event: the start of the pending line, of held container parts or of the
 * multiline group being assembled.
 */
uint64_t lf_line_stages_held_offset(const struct lf_line_stages *stages);

/*
 * Returns true when a file of `size` bytes has a whole code unit past
 * lf_line_stages_offset(), so a read can make progress.
 */
bool lf_line_stages_has_unread(const struct lf_line_stages *stages,
                               uint64_t size);

/*
 * Feeds `len` bytes read at lf_line_stages_offset() at time `now_ms`. A
 * final partial code unit is left unread, so the offset may end up short
 * of the bytes passed.
 * Returns 0, or LF_EFULL when an event was not taken; *rewind_out is then
 * the offset the caller resets the stages to before it reads again.
 */
int lf_line_stages_feed(struct lf_line_stages *stages, const char *data,
                        size_t len, uint64_t now_ms,
                        const struct lf_line_events *events,
                        uint64_t *rewind_out);

/*
 * Records that a read at `now_ms` found no more bytes, which starts the
 * partial_line_timeout of an unterminated line.
 */
void lf_line_stages_at_eof(struct lf_line_stages *stages, uint64_t now_ms);

/* Returns the earliest time lf_line_stages_expire() has work; 0: none. */
uint64_t lf_line_stages_deadline(const struct lf_line_stages *stages);

/*
 * Flushes the unterminated line, the held container parts and the
 * multiline groups whose time came by `now_ms`. Returns as
 * lf_line_stages_feed().
 */
int lf_line_stages_expire(struct lf_line_stages *stages, uint64_t now_ms,
                          const struct lf_line_events *events,
                          uint64_t *rewind_out);

/*
 * Flushes the pending multiline groups because reading stops. An
 * unterminated line and held container parts stay unread, so the next run
 * reads them whole. Returns as lf_line_stages_feed().
 */
int lf_line_stages_finish(struct lf_line_stages *stages,
                          const struct lf_line_events *events,
                          uint64_t *rewind_out);

/*
 * Flushes everything held because the file is closed for good (renamed
 * or removed) or was truncated: the unterminated line, unless
 * partial_line_timeout is 0, the container parts and the multiline
 * groups. Returns as lf_line_stages_feed().
 */
int lf_line_stages_drain(struct lf_line_stages *stages,
                         const struct lf_line_events *events,
                         uint64_t *rewind_out);

#endif
