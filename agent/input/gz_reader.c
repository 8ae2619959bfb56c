/*
 * gzip decoding with zlib's inflate in gzip mode (windowBits 15 + 16).
 */
#include "agent/input/gz_reader.h"
#include "agent/input/file_id.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define GZ_IN_BYTES (64 * 1024)
#define GZ_WINDOW_BITS (15 + 16) /* 32 KiB window, gzip header and trailer */

bool lf_gz_path(const char *path)
{
    size_t len = strlen(path);

    return len > 3 && strcmp(path + len - 3, ".gz") == 0;
}

int lf_gz_reader_init(struct lf_gz_reader *gz)
{
    memset(gz, 0, sizeof(*gz));
    if (inflateInit2(&gz->zs, GZ_WINDOW_BITS) != Z_OK) {
        return LF_ENOMEM;
    }
    gz->in = lf_malloc(GZ_IN_BYTES);
    return 0;
}

void lf_gz_reader_cleanup(struct lf_gz_reader *gz)
{
    inflateEnd(&gz->zs);
    lf_free(gz->in);
    gz->in = NULL;
}

/* Refills the input buffer. Returns the bytes read, 0 at EOF, or -errno. */
static ssize_t refill(struct lf_gz_reader *gz, int fd)
{
    ssize_t n;

    do {
        n = pread(fd, gz->in, GZ_IN_BYTES, (off_t)gz->in_offset);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    gz->zs.next_in = gz->in;
    gz->zs.avail_in = (uInt)n;
    gz->in_offset += (uint64_t)n;
    return n;
}

ssize_t lf_gz_reader_read(struct lf_gz_reader *gz, int fd, char *buf,
                          size_t cap)
{
    size_t produced;

    gz->zs.next_out = (unsigned char *)buf;
    gz->zs.avail_out = (uInt)cap;

    while (gz->zs.avail_out > 0) {
        int rc;

        if (gz->zs.avail_in == 0) {
            ssize_t n = refill(gz, fd);
            if (n < 0) {
                return n;
            }
            if (n == 0) {
                break; /* more may be written later */
            }
        }
        if (gz->member_done) {
            /* Bytes after a member: the next member of the stream. */
            if (inflateReset(&gz->zs) != Z_OK) {
                return LF_ECORRUPT;
            }
            gz->member_done = false;
        }
        rc = inflate(&gz->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            gz->member_done = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return LF_ECORRUPT;
        }
    }
    produced = cap - gz->zs.avail_out;
    gz->out_offset += produced;
    return (ssize_t)produced;
}

int lf_gz_reader_skip(struct lf_gz_reader *gz, int fd, uint64_t offset,
                      char *buf, size_t cap)
{
    while (gz->out_offset < offset) {
        uint64_t left = offset - gz->out_offset;
        ssize_t n = lf_gz_reader_read(gz, fd, buf,
                                      left < cap ? (size_t)left : cap);
        if (n < 0) {
            return (int)n;
        }
        if (n == 0) {
            return LF_EAGAIN;
        }
    }
    return 0;
}

int lf_gz_read_head(int fd, char *buf, size_t *len_out)
{
    struct lf_gz_reader gz;
    const char *newline;
    size_t len = 0;
    int rc = lf_gz_reader_init(&gz);

    while (rc == 0 && len < LF_FILE_HEAD_MAX) {
        ssize_t n = lf_gz_reader_read(&gz, fd, buf + len,
                                      LF_FILE_HEAD_MAX - len);
        if (n < 0) {
            rc = (int)n;
        } else if (n == 0) {
            break;
        } else {
            len += (size_t)n;
        }
    }
    lf_gz_reader_cleanup(&gz);
    if (rc != 0) {
        return rc;
    }
    newline = memchr(buf, '\n', len);
    if (newline != NULL) {
        *len_out = (size_t)(newline - buf) + 1;
        return 0;
    }
    if (len == LF_FILE_HEAD_MAX) {
        *len_out = len;
        return 0;
    }
    return LF_EAGAIN;
}
