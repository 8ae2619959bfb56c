/*
 * Container log formats (the input option `format`). Docker's json-file
 * driver writes one JSON object per line, {"log": ..., "stream": ...,
 * "time": ...}, and splits a long line into 16 KiB parts whose `log` does
 * not end in "\n". CRI runtimes (containerd, CRI-O) write
 * "<time> <stream> <P|F> <message>", where P marks a part and F the last
 * part. This stage decodes such lines and joins the parts of a split line,
 * separately per stream, before multiline grouping and parsing. The module
 * is pure.
 */
#ifndef LF_AGENT_INPUT_CONTAINER_H
#define LF_AGENT_INPUT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/input/cut.h"
#include "agent/input/line_reader.h"
#include "lf/buf.h"

enum lf_container_format {
    LF_CONTAINER_PLAIN,  /* lines are the application's own */
    LF_CONTAINER_DOCKER,
    LF_CONTAINER_CRI,
    LF_CONTAINER_AUTO,   /* docker or CRI, decided per line */
};

/*
 * Parses a `format` value ("plain", "docker", "cri", "auto"). Returns 0,
 * or LF_EINVAL for another name.
 */
int lf_container_format_parse(const char *name,
                              enum lf_container_format *out);

/* Streams whose parts are joined separately. */
enum lf_container_stream {
    LF_CONTAINER_STDOUT,
    LF_CONTAINER_STDERR,
    LF_CONTAINER_OTHER, /* a line without a known stream */
    LF_CONTAINER_STREAMS,
};

/* The parts of one stream's split line read so far. */
struct lf_container_parts {
    struct lf_buf text;
    uint64_t offset;     /* file offset of the first part */
    uint64_t end_offset; /* file offset just past the last part's line */
    bool active;         /* at least one part is held */
    bool truncated;      /* bytes past max_bytes were dropped */
    bool has_timestamp;
    int64_t timestamp_ns; /* time of the first part */
};

/* One file's decoder. */
struct lf_container {
    enum lf_container_format format;
    size_t max_bytes;      /* of a joined line; the rest is dropped */
    struct lf_container_parts parts[LF_CONTAINER_STREAMS];
    struct lf_buf message; /* the line handed out last */
    enum lf_container_stream last_stream; /* of the last decoded line */
    /*
     * Lines that lf_cuts_shipped() finds in `shipped` (borrowed, may be
     * NULL) for `restart_offset` are dropped without output.
     */
    const struct lf_cuts *shipped;
    uint64_t restart_offset;
};

void lf_container_init(struct lf_container *container,
                       enum lf_container_format format, size_t max_bytes);
void lf_container_cleanup(struct lf_container *container);

/* Drops every held part, such as after the file was rewound. */
void lf_container_reset(struct lf_container *container);

/*
 * Decodes `line`. Returns true and stores the application's line in
 * `out`, valid until the next call, or false while a split line waits for
 * its last part. A line that is not in the format (or in neither format
 * with `auto`) is passed on unchanged, without stream and time. The
 * message has no trailing "\n"; a joined line spans from the offset of its
 * first part to the end of its last. A line of an event already shipped
 * (see `shipped`) also returns false.
 */
bool lf_container_push(struct lf_container *container,
                       const struct lf_line *line, struct lf_line *out);

/*
 * Hands out the parts held for `stream` as one line in `out`, as
 * lf_container_push() does for a last part, because the last part did not
 * come in time or reading stops. Returns false when none is held.
 */
bool lf_container_flush(struct lf_container *container,
                        enum lf_container_stream stream, struct lf_line *out);

/*
 * Returns the stream whose held parts start first, or LF_CONTAINER_STREAMS
 * when no part is held.
 */
enum lf_container_stream
lf_container_oldest_held(const struct lf_container *container);

/* Returns the stream of an lf_line.stream value; NULL is "other". */
enum lf_container_stream lf_container_stream_of(const char *name);

/*
 * Returns the file offset of the oldest held part, or UINT64_MAX when no
 * part is held. The registry must not move past it.
 */
uint64_t lf_container_held_offset(const struct lf_container *container);

#endif
