/*
 * Splits a byte stream into lines with their byte offsets. Complete lines
 * inside a chunk are passed without copying. Only a line that spans chunks
 * is assembled in an internal buffer, which never grows past the maximum
 * line size, because the rest of a longer line is skipped and the line is
 * flagged as truncated.
 */
#ifndef LF_AGENT_INPUT_LINE_READER_H
#define LF_AGENT_INPUT_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf/buf.h"

struct lf_line {
    const char *data;   /* without the "\n" and one trailing "\r" */
    size_t len;
    uint64_t offset;     /* file offset of the line's first byte */
    uint64_t end_offset; /* file offset just past its "\n" */
    bool truncated;      /* longer than max_bytes; the rest was skipped */
};

struct lf_line_reader {
    size_t max_bytes;    /* maximum line length kept, in bytes */
    uint64_t offset;     /* file offset of the next byte to feed */
    uint64_t line_start; /* file offset where the pending line begins */
    struct lf_buf pending; /* start of a line that spans chunks */
    bool truncated;      /* the pending line already lost bytes */
};

/* Starts reading at `offset`, which must be the start of a line. */
void lf_line_reader_init(struct lf_line_reader *reader, size_t max_bytes,
                         uint64_t offset);
void lf_line_reader_cleanup(struct lf_line_reader *reader);

/* Forgets any pending bytes and continues at `offset` (a line start). */
void lf_line_reader_reset(struct lf_line_reader *reader, uint64_t offset);

/*
 * Consumes `chunk`, the bytes at reader->offset, and stores the next
 * complete line in `line`. Returns the number of chunk bytes consumed; when
 * `*found` is false the whole chunk was consumed without completing a
 * line. Call again with the rest of the chunk until it is used up. The
 * line's data is valid until the next call.
 */
size_t lf_line_reader_next(struct lf_line_reader *reader, const char *chunk,
                           size_t len, struct lf_line *line, bool *found);

/* Returns the bytes held for an unterminated line. */
size_t lf_line_reader_pending(const struct lf_line_reader *reader);

#endif
