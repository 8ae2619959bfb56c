/*
 * Splits a byte stream into lines with their byte offsets. Complete lines
 * inside a chunk are passed without copying. Only a line that spans chunks
 * is assembled in an internal buffer, which never grows past the maximum
 * line size, because the rest of a longer line is skipped and the line is
 * flagged as truncated. An unterminated line can be taken out early with
 * lf_line_reader_flush().
 */
#ifndef LF_AGENT_INPUT_LINE_READER_H
#define LF_AGENT_INPUT_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/input/encoding.h"
#include "lf/buf.h"

struct lf_line {
    const char *data;   /* UTF-8, without the "\n" and one trailing "\r" */
    size_t len;
    uint64_t offset;     /* file offset of the line's first byte */
    uint64_t end_offset; /* file offset just past its "\n" */
    bool truncated;      /* longer than max_bytes; the rest was skipped */
    bool multiline;      /* joined from several lines */
    /*
     * The registry may move up to here once the event is acknowledged:
     * end_offset, or less while an earlier part of a container line of
     * another stream is still waiting for its rest.
     */
    uint64_t commit_offset;
    const char *stream;  /* container stream ("stdout", "stderr") or NULL */
    bool has_timestamp;  /* the container runtime's time is set */
    int64_t timestamp_ns; /* that time, nanoseconds since the epoch */
};

struct lf_line_reader {
    size_t max_bytes;    /* maximum line length kept, in bytes */
    enum lf_encoding encoding;
    size_t hold_max;     /* bytes of a line held before it is cut */
    uint64_t offset;     /* file offset of the next byte to feed */
    uint64_t line_start; /* file offset where the pending line begins */
    struct lf_buf pending; /* start of a line that spans chunks */
    struct lf_buf decoded; /* the last line converted to UTF-8 */
    bool truncated;      /* the pending line already lost bytes */
    /*
     * The bytes before `line_start` were taken out by
     * lf_line_reader_flush() without their "\n", so an empty line that
     * follows is that newline and not a line of its own. Set it after
     * init or reset when the byte before the start offset is not "\n".
     */
    bool after_partial;
};

/* Starts reading at `offset`, which must be the start of a line. */
void lf_line_reader_init(struct lf_line_reader *reader, size_t max_bytes,
                         uint64_t offset);
void lf_line_reader_cleanup(struct lf_line_reader *reader);

/*
 * Sets the file's encoding; call before the first lf_line_reader_next().
 * With UTF-16 every chunk must hold whole code units, the offset must be
 * even, and a byte order mark at offset 0 is dropped from the line.
 */
void lf_line_reader_set_encoding(struct lf_line_reader *reader,
                                 enum lf_encoding encoding);

/* Forgets any pending bytes and continues at `offset` (a line start). */
void lf_line_reader_reset(struct lf_line_reader *reader, uint64_t offset);

/*
 * Consumes `chunk`, the bytes at reader->offset, and stores the next
 * complete line in `line`. Returns the number of chunk bytes consumed; when
 * `*found` is false the whole chunk was consumed without completing a
 * line. Call again with the rest of the chunk until it is used up. The
 * line's data is valid until the next call. The empty rest of a line taken
 * out by lf_line_reader_flush() is consumed without being reported.
 */
size_t lf_line_reader_next(struct lf_line_reader *reader, const char *chunk,
                           size_t len, struct lf_line *line, bool *found);

/*
 * Takes out the unterminated line read so far, which ends at
 * reader->offset without a "\n", and stores it in `line`, whose data is
 * valid until the next call. Returns false when no bytes are pending.
 */
bool lf_line_reader_flush(struct lf_line_reader *reader, struct lf_line *line);

/* Returns the bytes held for an unterminated line. */
size_t lf_line_reader_pending(const struct lf_line_reader *reader);

#endif
