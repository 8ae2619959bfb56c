/*
 * Line framing for harvesters: "\n" ends a line, one "\r" before it is
 * removed, and an unterminated last line stays pending until its "\n"
 * arrives, so a line is never shipped half-written.
 */
#include "agent/input/line_reader.h"

#include <string.h>

void lf_line_reader_init(struct lf_line_reader *reader, size_t max_bytes,
                         uint64_t offset)
{
    reader->max_bytes = max_bytes;
    lf_buf_init(&reader->pending);
    lf_line_reader_reset(reader, offset);
}

void lf_line_reader_cleanup(struct lf_line_reader *reader)
{
    lf_buf_cleanup(&reader->pending);
}

void lf_line_reader_reset(struct lf_line_reader *reader, uint64_t offset)
{
    reader->offset = offset;
    reader->line_start = offset;
    reader->truncated = false;
    lf_buf_reset(&reader->pending);
}

size_t lf_line_reader_pending(const struct lf_line_reader *reader)
{
    return (size_t)(reader->offset - reader->line_start);
}

/*
 * Keeps at most max_bytes + 1 bytes of a line that spans chunks: the extra
 * byte may be the "\r" that emit() removes, and otherwise shows emit() that
 * the line was longer than the maximum.
 */
static void hold(struct lf_line_reader *reader, const char *data, size_t len)
{
    size_t room = reader->max_bytes + 1 - reader->pending.len;

    if (len > room) {
        len = room;
        reader->truncated = true;
    }
    lf_buf_append(&reader->pending, data, len);
}

static void emit(struct lf_line_reader *reader, const char *data, size_t len,
                 struct lf_line *line)
{
    line->truncated = reader->truncated;
    if (!line->truncated && len > 0 && data[len - 1] == '\r') {
        len--;
    }
    if (len > reader->max_bytes) {
        len = reader->max_bytes;
        line->truncated = true;
    }
    line->data = data;
    line->len = len;
    line->offset = reader->line_start;
    line->end_offset = reader->offset;

    reader->line_start = reader->offset;
    reader->truncated = false;
}

size_t lf_line_reader_next(struct lf_line_reader *reader, const char *chunk,
                           size_t len, struct lf_line *line, bool *found)
{
    const char *newline = memchr(chunk, '\n', len);
    size_t used;

    if (newline == NULL) {
        if (!reader->truncated) {
            hold(reader, chunk, len);
        }
        reader->offset += len;
        *found = false;
        return len;
    }

    used = (size_t)(newline - chunk) + 1;
    reader->offset += used;
    *found = true;

    if (reader->pending.len == 0 && !reader->truncated) {
        /* The common case: the whole line is inside this chunk. */
        emit(reader, chunk, used - 1, line);
        return used;
    }

    if (!reader->truncated) {
        hold(reader, chunk, used - 1);
    }
    emit(reader, reader->pending.data, reader->pending.len, line);
    /*
     * The line points into `pending`; it is reset on the next call, after
     * the caller is done with the line.
     */
    reader->pending.len = 0;
    return used;
}
