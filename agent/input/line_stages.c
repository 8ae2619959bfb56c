/*
 * Per-file chain from bytes to events, between the harvester's reads and
 * the sink. An event rejected with LF_EFULL makes the caller rewind to the
 * event's first byte, so every stage can drop its state on reset and
 * rebuild it from the file.
 */
#include "agent/input/line_stages.h"
#include "agent/input/line_filter.h"
#include "lf/error.h"

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
        lf_multiline_init(&stages->multiline, input->multiline);
    }
    stages->partial_deadline_ms = 0;
}

void lf_line_stages_cleanup(struct lf_line_stages *stages)
{
    lf_line_reader_cleanup(&stages->reader);
    lf_container_cleanup(&stages->container);
    if (stages->input->multiline != NULL) {
        lf_multiline_cleanup(&stages->multiline);
    }
}

void lf_line_stages_reset(struct lf_line_stages *stages, uint64_t offset,
                          bool after_partial)
{
    lf_line_reader_reset(&stages->reader, offset);
    stages->reader.after_partial = after_partial;
    lf_container_reset(&stages->container);
    if (stages->input->multiline != NULL) {
        lf_multiline_reset(&stages->multiline);
    }
    stages->partial_deadline_ms = 0;
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
    if (stages->input->multiline != NULL &&
        stages->multiline.line_count > 0 &&
        stages->multiline.offset < offset) {
        offset = stages->multiline.offset;
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
 * Applies the line filters and hands the event on. Parts of a container
 * line of another stream may still be held before the event: the registry
 * must stop at the first of them, and a rewind must go back to it.
 */
static int emit(const struct lf_line_stages *stages,
                const struct lf_line *event,
                const struct lf_line_events *events, uint64_t *rewind_out)
{
    uint64_t held = lf_container_held_offset(&stages->container);
    struct lf_line out = *event;

    if (held < out.commit_offset) {
        out.commit_offset = held;
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

/* Passes one framed line through container decoding and multiline. */
static int deliver(struct lf_line_stages *stages, const struct lf_line *line,
                   uint64_t now_ms, const struct lf_line_events *events,
                   uint64_t *rewind_out)
{
    struct lf_line decoded;
    struct lf_line group;

    if (!lf_container_push(&stages->container, line, &decoded)) {
        return 0;
    }
    if (stages->input->multiline == NULL) {
        return emit(stages, &decoded, events, rewind_out);
    }
    if (!lf_multiline_push(&stages->multiline, &decoded, now_ms, &group)) {
        return 0;
    }
    return emit(stages, &group, events, rewind_out);
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
        size_t used = lf_line_reader_next(&stages->reader, data, len, &line,
                                          &found);
        data += used;
        len -= used;
        if (!found) {
            continue;
        }
        rc = deliver(stages, &line, now_ms, events, rewind_out);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

void lf_line_stages_at_eof(struct lf_line_stages *stages, uint64_t now_ms)
{
    uint64_t timeout_ms = (uint64_t)stages->input->partial_line_timeout_ms;

    if (timeout_ms > 0 && stages->partial_deadline_ms == 0 &&
        lf_line_reader_pending(&stages->reader) > 0) {
        stages->partial_deadline_ms = now_ms + timeout_ms;
    }
}

uint64_t lf_line_stages_deadline(const struct lf_line_stages *stages)
{
    uint64_t deadline = stages->partial_deadline_ms;
    uint64_t group_deadline = 0;

    if (stages->input->multiline != NULL) {
        group_deadline = stages->multiline.deadline_ms;
    }
    if (deadline == 0 || (group_deadline != 0 && group_deadline < deadline)) {
        deadline = group_deadline;
    }
    return deadline;
}

int lf_line_stages_expire(struct lf_line_stages *stages, uint64_t now_ms,
                          const struct lf_line_events *events,
                          uint64_t *rewind_out)
{
    struct lf_line line;
    int rc;

    if (stages->partial_deadline_ms != 0 &&
        stages->partial_deadline_ms <= now_ms) {
        stages->partial_deadline_ms = 0;
        if (lf_line_reader_flush(&stages->reader, &line)) {
            rc = deliver(stages, &line, now_ms, events, rewind_out);
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (stages->input->multiline != NULL &&
        stages->multiline.deadline_ms != 0 &&
        stages->multiline.deadline_ms <= now_ms &&
        lf_multiline_flush(&stages->multiline, &line)) {
        return emit(stages, &line, events, rewind_out);
    }
    return 0;
}

int lf_line_stages_finish(struct lf_line_stages *stages,
                          const struct lf_line_events *events,
                          uint64_t *rewind_out)
{
    struct lf_line line;

    if (stages->input->multiline == NULL ||
        !lf_multiline_flush(&stages->multiline, &line)) {
        return 0;
    }
    return emit(stages, &line, events, rewind_out);
}
