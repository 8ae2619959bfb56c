/*
 * Line framing for harvesters: "\n" ends a line, one "\r" before it is
 * removed, and an unterminated last line stays pending until its "\n"
 * arrives or the harvester flushes it after partial_line_timeout.
 */
#include "agent/input/line_reader.h"

#include <string.h>

void lf_line_reader_init(struct lf_line_reader *reader, size_t max_bytes,
                         uint64_t offset)
{
    reader->max_bytes = max_bytes;
    reader->encoding = LF_ENCODING_UTF8;
    reader->hold_max = max_bytes + 1;
    lf_buf_init(&reader->pending);
    lf_buf_init(&reader->decoded);
    lf_line_reader_reset(reader, offset);
}

void lf_line_reader_cleanup(struct lf_line_reader *reader)
{
    lf_buf_cleanup(&reader->pending);
    lf_buf_cleanup(&reader->decoded);
}

void lf_line_reader_set_encoding(struct lf_line_reader *reader,
                                 enum lf_encoding encoding)
{
    reader->encoding = encoding;
    /*
     * A UTF-16 line of 2 * max_bytes bytes converts to at least max_bytes
     * bytes of UTF-8, so holding that much (plus a "\r" unit) is enough to
     * fill the cut line.
     */
    reader->hold_max = encoding == LF_ENCODING_UTF8 ? reader->max_bytes + 1
                                                    : 2 * reader->max_bytes + 2;
}

void lf_line_reader_reset(struct lf_line_reader *reader, uint64_t offset)
{
    reader->offset = offset;
    reader->line_start = offset;
    reader->truncated = false;
    reader->after_partial = false;
    lf_buf_reset(&reader->pending);
}

size_t lf_line_reader_pending(const struct lf_line_reader *reader)
{
    return (size_t)(reader->offset - reader->line_start);
}

/*
 * Keeps at most hold_max bytes of a line that spans chunks. For UTF-8 that
 * is max_bytes + 1: the extra byte may be the "\r" that emit() removes,
 * and otherwise shows emit() that the line was longer than the maximum.
 */
static void hold(struct lf_line_reader *reader, const char *data, size_t len)
{
    size_t room = reader->hold_max - reader->pending.len;

    if (len > room) {
        len = room;
        reader->truncated = true;
    }
    lf_buf_append(&reader->pending, data, len);
}

/* Returns true when the last code unit of the line is "\r". */
static bool ends_with_cr(const struct lf_line_reader *reader, const char *data,
                         size_t len)
{
    switch (reader->encoding) {
    case LF_ENCODING_UTF16LE:
        return len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\0';
    case LF_ENCODING_UTF16BE:
        return len >= 2 && data[len - 2] == '\0' && data[len - 1] == '\r';
    case LF_ENCODING_UTF8:
        break;
    }
    return len > 0 && data[len - 1] == '\r';
}

/* Converts a UTF-16 line into `decoded`, without the byte order mark. */
static void decode(struct lf_line_reader *reader, const char **data,
                   size_t *len)
{
    static const char bom_le[] = "\xff\xfe";
    static const char bom_be[] = "\xfe\xff";
    const char *bom = reader->encoding == LF_ENCODING_UTF16LE ? bom_le : bom_be;
    const char *text = *data;
    size_t text_len = *len;

    if (reader->line_start == 0 && text_len >= 2 && memcmp(text, bom, 2) == 0) {
        text += 2;
        text_len -= 2;
    }
    lf_buf_reset(&reader->decoded);
    lf_encoding_utf16_to_utf8(text, text_len, reader->encoding,
                              &reader->decoded);
    *data = reader->decoded.data != NULL ? reader->decoded.data : "";
    *len = reader->decoded.len;
}

static void emit(struct lf_line_reader *reader, const char *data, size_t len,
                 struct lf_line *line)
{
    size_t unit = lf_encoding_unit(reader->encoding);

    line->truncated = reader->truncated;
    line->multiline = false;
    if (!line->truncated && ends_with_cr(reader, data, len)) {
        len -= unit;
    }
    if (reader->encoding != LF_ENCODING_UTF8) {
        decode(reader, &data, &len);
    }
    if (len > reader->max_bytes) {
        len = reader->encoding == LF_ENCODING_UTF8
                  ? reader->max_bytes
                  : lf_encoding_utf8_cut(data, len, reader->max_bytes);
        line->truncated = true;
    }
    line->data = data;
    line->len = len;
    line->offset = reader->line_start;
    line->end_offset = reader->offset;
    line->commit_offset = reader->offset;
    line->stream = NULL;
    line->has_timestamp = false;
    line->timestamp_ns = 0;

    reader->line_start = reader->offset;
    reader->truncated = false;
}

bool lf_line_reader_flush(struct lf_line_reader *reader, struct lf_line *line)
{
    if (reader->offset == reader->line_start) {
        return false;
    }
    emit(reader, reader->pending.data, reader->pending.len, line);
    reader->after_partial = true;
    reader->pending.len = 0;
    return true;
}

/*
 * Returns true for the "\n" (or "\r\n") that ends a line already taken
 * out by lf_line_reader_flush(), which must not become an empty line.
 */
static bool ends_flushed_line(struct lf_line_reader *reader,
                              const struct lf_line *line)
{
    bool skip = reader->after_partial && line->len == 0 && !line->truncated;

    reader->after_partial = false;
    return skip;
}

/*
 * Returns the last byte of the first newline code unit in `chunk`, or
 * NULL. A UTF-16 "\n" is a whole unit at an even offset, never the high
 * byte of another character.
 */
static const char *find_newline(const struct lf_line_reader *reader,
                                const char *chunk, size_t len)
{
    const char *end = chunk + len;
    const char *p = chunk;

    if (reader->encoding == LF_ENCODING_UTF8) {
        return memchr(chunk, '\n', len);
    }
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        size_t i = (size_t)(p - chunk);

        if (reader->encoding == LF_ENCODING_UTF16LE && i % 2 == 0 &&
            i + 1 < len && p[1] == '\0') {
            return p + 1;
        }
        if (reader->encoding == LF_ENCODING_UTF16BE && i % 2 == 1 &&
            p[-1] == '\0') {
            return p;
        }
        p++;
    }
    return NULL;
}

size_t lf_line_reader_next(struct lf_line_reader *reader, const char *chunk,
                           size_t len, struct lf_line *line, bool *found)
{
    const char *newline = find_newline(reader, chunk, len);
    size_t unit = lf_encoding_unit(reader->encoding);
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

    if (reader->pending.len == 0 && !reader->truncated) {
        /* The common case: the whole line is inside this chunk. */
        emit(reader, chunk, used - unit, line);
        *found = !ends_flushed_line(reader, line);
        return used;
    }

    if (!reader->truncated) {
        hold(reader, chunk, used - unit);
    }
    emit(reader, reader->pending.data, reader->pending.len, line);
    /*
     * The line points into `pending`; it is reset on the next call, after
     * the caller is done with the line.
     */
    reader->pending.len = 0;
    *found = !ends_flushed_line(reader, line);
    return used;
}
