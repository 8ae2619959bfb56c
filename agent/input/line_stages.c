/*
 * Per-file chain from bytes to events, between the harvester's reads and
 * the sink. An event rejected with LF_EFULL makes the caller rewind to the
 * event's first byte, so every stage can drop its state on reset and
 * rebuild it from the file. The cuts survive a reset, so the rebuilt
 * events end where the first ones did.
 */
#include "agent/input/line_stages.h"
#include "agent/input/line_filter.h"
#include "lf/error.h"

#define STREAMS LF_CONTAINER_STREAMS
/*
 * Held container parts are flushed after this many lines were read while
 * they were held, because each event of another stream sent meanwhile
 * adds a cut that the registry keeps until it passes the held parts. The
 * count depends only on the bytes since the first held part, where a
 * restart resumes, so a restart flushes at the same line.
 */
#define MAX_LINES_BEHIND_PARTS 1024

static int flush_parts(struct lf_line_stages *stages, uint64_t now_ms,
                       const struct lf_line_events *events,
                       uint64_t *rewind_out);

void lf_line_stages_init(struct lf_line_stages *stages,
                         const struct lf_input_config *input, uint64_t offset,
                         bool after_partial)
{
    stages->input = input;
    lf_line_reader_init(&stages->reader, input->max_line_bytes, offset);
    lf_line_reader_set_encoding(&stages->reader, input->encoding);
    stages->reader.after_partial = after_partial;
    lf_container_init(&stages->container, input->format,
                      input->max_line_bytes);
    if (input->multiline != NULL) {
        for (int i = 0; i < STREAMS; i++) {
            lf_multiline_init(&stages->multiline[i], input->multiline);
        }
    }
    stages->partial_deadline_ms = 0;
    lf_cuts_init(&stages->cuts);
    stages->lines_behind_parts = 0;
    stages->start_offset = offset;
    stages->container.shipped = &stages->cuts;
    stages->container.restart_offset = offset;
}

void lf_line_stages_set_cuts(struct lf_line_stages *stages,
                             const struct lf_cuts *cuts)
{
    lf_cuts_copy(&stages->cuts, cuts);
    lf_cuts_drop_through(&stages->cuts, stages->reader.offset);
}

void lf_line_stages_cleanup(struct lf_line_stages *stages)
{
    lf_line_reader_cleanup(&stages->reader);
    lf_container_cleanup(&stages->container);
    if (stages->input->multiline != NULL) {
        for (int i = 0; i < STREAMS; i++) {
            lf_multiline_cleanup(&stages->multiline[i]);
        }
    }
    lf_cuts_cleanup(&stages->cuts);
}

void lf_line_stages_reset(struct lf_line_stages *stages, uint64_t offset,
                          bool after_partial)
{
    lf_line_reader_reset(&stages->reader, offset);
    stages->reader.after_partial = after_partial;
    lf_container_reset(&stages->container);
    if (stages->input->multiline != NULL) {
        for (int i = 0; i < STREAMS; i++) {
            lf_multiline_reset(&stages->multiline[i]);
        }
    }
    stages->partial_deadline_ms = 0;
    stages->lines_behind_parts = 0;
    stages->start_offset = offset;
    stages->container.restart_offset = offset;
}

uint64_t lf_line_stages_offset(const struct lf_line_stages *stages)
{
    return stages->reader.offset;
}

uint64_t lf_line_stages_held_offset(const struct lf_line_stages *stages)
{
    uint64_t offset = stages->reader.line_start;
    uint64_t held = lf_container_held_offset(&stages->container);

    if (held < offset) {
        offset = held;
    }
    for (int i = 0; i < LF_CONTAINER_STREAMS; i++) {
        const struct lf_multiline *ml = &stages->multiline[i];

        if (stages->input->multiline != NULL && ml->line_count > 0 &&
            ml->offset < offset) {
            offset = ml->offset;
        }
    }
    return offset;
}

bool lf_line_stages_has_unread(const struct lf_line_stages *stages,
                               uint64_t size)
{
    return size >= stages->reader.offset +
                       lf_encoding_unit(stages->input->encoding);
}

/*
 * Returns the offset of the first byte that is read but belongs to no
 * event handed out yet: held container parts and pending groups of every
 * stream. UINT64_MAX when nothing is held.
 */
static uint64_t held_offset(const struct lf_line_stages *stages)
{
    uint64_t held = lf_container_held_offset(&stages->container);

    if (stages->input->multiline == NULL) {
        return held;
    }
    for (int i = 0; i < STREAMS; i++) {
        const struct lf_multiline *ml = &stages->multiline[i];

        if (lf_multiline_pending(ml) && ml->offset < held) {
            held = ml->offset;
        }
    }
    return held;
}

/*
 * Forgets the cuts that no rewind can reach again: a rewind never goes
 * before the oldest byte still held or pending in a stage.
 */
static void drop_passed_cuts(struct lf_line_stages *stages)
{
    uint64_t floor = held_offset(stages);

    if (stages->reader.line_start < floor) {
        floor = stages->reader.line_start;
    }
    lf_cuts_drop_through(&stages->cuts, floor);
}

/* Records a cut, then reports it to be saved. */
static void add_cut(struct lf_line_stages *stages,
                    const struct lf_line_events *events, uint64_t offset,
                    unsigned kinds, uint64_t start)
{
    struct lf_cut cut = {offset, kinds, start};

    lf_cuts_add(&stages->cuts, offset, kinds, start);
    if (events->on_cut != NULL) {
        events->on_cut(events->arg, &cut);
    }
}

/*
 * Applies the line filters and hands the event on. Every byte before the
 * reader's line start is in this event or an earlier one, unless a stage
 * still holds it: the registry may move up to the first held byte. Bytes
 * of another stream held before the event ends (container parts, a group)
 * also make a rewind go back to them, and reading from there meets the
 * rest of this event's lines, so a cut marks those as shipped.
 */
static int emit(struct lf_line_stages *stages, const struct lf_line *event,
                const struct lf_line_events *events, uint64_t *rewind_out)
{
    uint64_t held = held_offset(stages);
    uint64_t read_end = stages->reader.line_start;
    struct lf_line out = *event;

    out.commit_offset = held < read_end ? held : read_end;
    if (held < out.end_offset) {
        add_cut(stages, events, out.end_offset,
                (unsigned)LF_CUT_SHIPPED
                    << lf_container_stream_of(out.stream),
                out.offset);
    }
    if (!lf_line_filter_keeps(stages->input->line_filter, out.data,
                              out.len)) {
        events->on_filtered(events->arg, &out);
        return 0;
    }
    if (events->on_event(events->arg, &out) == LF_EFULL) {
        *rewind_out = held < out.offset ? held : out.offset;
        return LF_EFULL;
    }
    return 0;
}

/*
 * Hands out the pending group of `ml`, recording its cut first unless an
 * earlier run did.
 */
static int flush_group(struct lf_line_stages *stages, struct lf_multiline *ml,
                       const struct lf_line_events *events,
                       uint64_t *rewind_out)
{
    struct lf_line group;

    if (!lf_multiline_pending(ml)) {
        return 0;
    }
    if ((lf_cuts_at(&stages->cuts, ml->end_offset) & LF_CUT_GROUP) == 0) {
        add_cut(stages, events, ml->end_offset, LF_CUT_GROUP, 0);
    }
    lf_multiline_flush(ml, &group);
    return emit(stages, &group, events, rewind_out);
}

/*
 * Passes a decoded line through the multiline group of its stream. A
 * group that an earlier run cut after this line ends here again.
 */
static int group(struct lf_line_stages *stages, const struct lf_line *line,
                 uint64_t now_ms, const struct lf_line_events *events,
                 uint64_t *rewind_out)
{
    enum lf_container_stream stream;
    struct lf_multiline *ml;
    struct lf_line done;
    int rc;

    if (stages->input->multiline == NULL) {
        return emit(stages, line, events, rewind_out);
    }
    stream = lf_container_stream_of(line->stream);
    if (lf_cuts_shipped(&stages->cuts, (unsigned)stream, line->end_offset,
                        stages->start_offset)) {
        return 0;
    }
    ml = &stages->multiline[stream];
    if (lf_multiline_push(ml, line, now_ms, &done)) {
        rc = emit(stages, &done, events, rewind_out);
        if (rc != 0) {
            return rc;
        }
    }
    if ((lf_cuts_at(&stages->cuts, line->end_offset) & LF_CUT_GROUP) != 0) {
        return flush_group(stages, ml, events, rewind_out);
    }
    return 0;
}

/*
 * Passes one framed line through container decoding and multiline. Parts
 * that an earlier run flushed at the end of this line are flushed again.
 */
static int deliver(struct lf_line_stages *stages, const struct lf_line *line,
                   uint64_t now_ms, const struct lf_line_events *events,
                   uint64_t *rewind_out)
{
    struct lf_line decoded;

    if (lf_container_held_offset(&stages->container) == UINT64_MAX) {
        stages->lines_behind_parts = 0;
    } else if (++stages->lines_behind_parts > MAX_LINES_BEHIND_PARTS) {
        int rc = flush_parts(stages, now_ms, events, rewind_out);

        if (rc != 0) {
            return rc;
        }
        stages->lines_behind_parts = 0;
    }
    if (!lf_container_push(&stages->container, line, &decoded)) {
        unsigned kinds = lf_cuts_at(&stages->cuts, line->end_offset);

        if ((kinds & LF_CUT_PARTS) == 0 ||
            !lf_container_flush(&stages->container,
                                stages->container.last_stream, &decoded)) {
            return 0;
        }
    }
    return group(stages, &decoded, now_ms, events, rewind_out);
}

/* Takes out the unterminated line, recording its cut first. */
static int flush_line(struct lf_line_stages *stages, uint64_t now_ms,
                      const struct lf_line_events *events,
                      uint64_t *rewind_out)
{
    struct lf_line line;

    if (lf_line_reader_pending(&stages->reader) == 0) {
        return 0;
    }
    add_cut(stages, events, stages->reader.offset, LF_CUT_LINE, 0);
    if (!lf_line_reader_flush(&stages->reader, &line)) {
        return 0;
    }
    return deliver(stages, &line, now_ms, events, rewind_out);
}

/* Flushes the held container parts, oldest first, with their cuts. */
static int flush_parts(struct lf_line_stages *stages, uint64_t now_ms,
                       const struct lf_line_events *events,
                       uint64_t *rewind_out)
{
    struct lf_container *container = &stages->container;
    enum lf_container_stream stream;
    struct lf_line line;
    int rc;

    while ((stream = lf_container_oldest_held(container)) != STREAMS) {
        add_cut(stages, events, container->parts[stream].end_offset,
                LF_CUT_PARTS, 0);
        lf_container_flush(container, stream, &line);
        rc = group(stages, &line, now_ms, events, rewind_out);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * Flushes the pending groups whose deadline is at or before `now_ms`,
 * oldest group first, so the registry moves in file order.
 */
static int flush_groups(struct lf_line_stages *stages, uint64_t now_ms,
                        const struct lf_line_events *events,
                        uint64_t *rewind_out)
{
    if (stages->input->multiline == NULL) {
        return 0;
    }
    for (;;) {
        struct lf_multiline *oldest = NULL;
        int rc;

        for (int i = 0; i < STREAMS; i++) {
            struct lf_multiline *ml = &stages->multiline[i];

            if (lf_multiline_pending(ml) && ml->deadline_ms <= now_ms &&
                (oldest == NULL || ml->offset < oldest->offset)) {
                oldest = ml;
            }
        }
        if (oldest == NULL) {
            return 0;
        }
        rc = flush_group(stages, oldest, events, rewind_out);
        if (rc != 0) {
            return rc;
        }
    }
}

int lf_line_stages_feed(struct lf_line_stages *stages, const char *data,
                        size_t len, uint64_t now_ms,
                        const struct lf_line_events *events,
                        uint64_t *rewind_out)
{
    struct lf_line line;
    bool found;
    int rc;

    /* A code unit cut by the end of the read is read again whole. */
    len -= len % lf_encoding_unit(stages->input->encoding);
    if (len > 0) {
        stages->partial_deadline_ms = 0;
    }
    while (len > 0) {
        uint64_t at = stages->reader.offset;
        uint64_t cut = lf_cuts_next(&stages->cuts, at, LF_CUT_LINE);
        size_t take = len;
        size_t used;

        if (cut - at < take) {
            take = (size_t)(cut - at);
        }
        used = lf_line_reader_next(&stages->reader, data, take, &line,
                                   &found);
        data += used;
        len -= used;
        if (found) {
            rc = deliver(stages, &line, now_ms, events, rewind_out);
            if (rc != 0) {
                return rc;
            }
        }
        /* An earlier run shipped the line up to here without its "\n". */
        if (stages->reader.offset == cut &&
            lf_line_reader_flush(&stages->reader, &line)) {
            rc = deliver(stages, &line, now_ms, events, rewind_out);
            if (rc != 0) {
                return rc;
            }
        }
    }
    drop_passed_cuts(stages);
    return 0;
}

void lf_line_stages_at_eof(struct lf_line_stages *stages, uint64_t now_ms)
{
    uint64_t timeout_ms = (uint64_t)stages->input->partial_line_timeout_ms;
    bool held = lf_line_reader_pending(&stages->reader) > 0 ||
                lf_container_held_offset(&stages->container) != UINT64_MAX;

    if (timeout_ms > 0 && stages->partial_deadline_ms == 0 && held) {
        stages->partial_deadline_ms = now_ms + timeout_ms;
    }
}

uint64_t lf_line_stages_deadline(const struct lf_line_stages *stages)
{
    uint64_t deadline = stages->partial_deadline_ms;

    if (stages->input->multiline == NULL) {
        return deadline;
    }
    for (int i = 0; i < STREAMS; i++) {
        uint64_t group_deadline = stages->multiline[i].deadline_ms;

        if (group_deadline != 0 &&
            (deadline == 0 || group_deadline < deadline)) {
            deadline = group_deadline;
        }
    }
    return deadline;
}

int lf_line_stages_expire(struct lf_line_stages *stages, uint64_t now_ms,
                          const struct lf_line_events *events,
                          uint64_t *rewind_out)
{
    int rc = 0;

    if (stages->partial_deadline_ms != 0 &&
        stages->partial_deadline_ms <= now_ms) {
        stages->partial_deadline_ms = 0;
        rc = flush_line(stages, now_ms, events, rewind_out);
        if (rc == 0) {
            rc = flush_parts(stages, now_ms, events, rewind_out);
        }
    }
    if (rc == 0) {
        rc = flush_groups(stages, now_ms, events, rewind_out);
    }
    if (rc == 0) {
        drop_passed_cuts(stages);
    }
    return rc;
}

int lf_line_stages_finish(struct lf_line_stages *stages,
                          const struct lf_line_events *events,
                          uint64_t *rewind_out)
{
    int rc = flush_groups(stages, UINT64_MAX, events, rewind_out);

    if (rc == 0) {
        drop_passed_cuts(stages);
    }
    return rc;
}

int lf_line_stages_drain(struct lf_line_stages *stages,
                         const struct lf_line_events *events,
                         uint64_t *rewind_out)
{
    int rc = 0;

    if (stages->input->partial_line_timeout_ms > 0) {
        rc = flush_line(stages, UINT64_MAX, events, rewind_out);
    }
    if (rc == 0) {
        rc = flush_parts(stages, UINT64_MAX, events, rewind_out);
    }
    if (rc == 0) {
        rc = flush_groups(stages, UINT64_MAX, events, rewind_out);
    }
    if (rc == 0) {
        drop_passed_cuts(stages);
    }
    return rc;
}
