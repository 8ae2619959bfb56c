/*
 * Streaming reader of gzip files (RFC 1952) for rotated logs such as
 * app.log.1.gz. Offsets are offsets in the uncompressed stream. The reader
 * reads the file with pread() at its own compressed position, so the
 * descriptor may be closed and reopened between reads. Concatenated
 * members, as `cat a.gz b.gz` makes, are read as one stream.
 */
#ifndef LF_AGENT_INPUT_GZ_READER_H
#define LF_AGENT_INPUT_GZ_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zlib.h>

struct lf_gz_reader {
    z_stream zs;
    unsigned char *in;      /* compressed input buffer */
    uint64_t in_offset;     /* compressed bytes read from the file */
    uint64_t out_offset;    /* uncompressed bytes returned */
    bool member_done;       /* the last member ended; another may follow */
};

/* Returns true when `path` names a gzip file by its `.gz` suffix. */
bool lf_gz_path(const char *path);

/* Prepares `gz` to read from the start of a file. Returns 0 or LF_ENOMEM. */
int lf_gz_reader_init(struct lf_gz_reader *gz);

void lf_gz_reader_cleanup(struct lf_gz_reader *gz);

/*
 * Decompresses up to `cap` bytes of `fd` into `buf`. Returns the count,
 * or 0 when no more data can be decoded yet: a file still being written
 * can be read on later. Returns LF_ECORRUPT for data that is not gzip, or
 * a negative errno code.
 */
ssize_t lf_gz_reader_read(struct lf_gz_reader *gz, int fd, char *buf,
                          size_t cap);

/*
 * Decompresses and discards bytes until out_offset is `offset`, using
 * `buf` of `cap` bytes. Returns 0, LF_EAGAIN when the file ends first, or
 * an error as lf_gz_reader_read().
 */
int lf_gz_reader_skip(struct lf_gz_reader *gz, int fd, uint64_t offset,
                      char *buf, size_t cap);

/*
 * As lf_file_read_head() for the uncompressed content of gzip file `fd`:
 * stores the first line, or LF_FILE_HEAD_MAX bytes, in `buf`. Returns 0,
 * LF_EAGAIN before a complete first line, or an error.
 */
int lf_gz_read_head(int fd, char *buf, size_t *len_out);

#endif
