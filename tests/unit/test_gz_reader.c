/*
 * gzip reading of rotated files: whole files, concatenated members, a file
 * still being written, skipping to an offset, the first line, and data
 * that is not gzip.
 */
#include "agent/input/file_id.h"
#include "agent/input/gz_reader.h"
#include "lf/error.h"
#include "lf_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Compresses `data` as one gzip member into `out`; returns its size. */
static size_t gzip_member(const char *data, size_t len, unsigned char *out,
                          size_t cap)
{
    z_stream zs;
    size_t size;

    memset(&zs, 0, sizeof(zs));
    LF_CHECK_INT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8,
                                 Z_DEFAULT_STRATEGY),
                    Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    LF_CHECK_INT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size = cap - zs.avail_out;
    deflateEnd(&zs);
    return size;
}

static int scratch_file(char *path, size_t size, const void *data,
                        size_t len)
{
    int fd;

    snprintf(path, size, "/tmp/lf-test-gz-XXXXXX");
    fd = mkstemp(path);
    LF_CHECK(fd >= 0);
    if (fd >= 0 && len > 0) {
        LF_CHECK_INT_EQ(write(fd, data, len), (long long)len);
    }
    return fd;
}

/* Reads everything available through `gz` in reads of `step` bytes. */
static size_t read_all(struct lf_gz_reader *gz, int fd, char *out,
                       size_t cap, size_t step)
{
    size_t len = 0;

    for (;;) {
        ssize_t n = lf_gz_reader_read(gz, fd, out + len,
                                      cap - len < step ? cap - len : step);
        LF_CHECK(n >= 0);
        if (n <= 0) {
            return len;
        }
        len += (size_t)n;
    }
}

static void test_gz_reader_whole_file(void)
{
    static char text[200000];
    static unsigned char packed[300000];
    static char out[200000];
    struct lf_gz_reader gz;
    char path[64];
    size_t packed_len;
    int fd;

    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
    }
    packed_len = gzip_member(text, sizeof(text), packed, sizeof(packed));
    fd = scratch_file(path, sizeof(path), packed, packed_len);
    LF_CHECK_INT_EQ(lf_gz_reader_init(&gz), 0);
    LF_CHECK_INT_EQ(read_all(&gz, fd, out, sizeof(out), 4096), sizeof(text));
    LF_CHECK(memcmp(out, text, sizeof(text)) == 0);
    LF_CHECK_INT_EQ(gz.out_offset, sizeof(text));
    LF_CHECK_INT_EQ(gz.in_offset, packed_len);
    LF_CHECK_INT_EQ(lf_gz_reader_read(&gz, fd, out, sizeof(out)), 0);
    lf_gz_reader_cleanup(&gz);
    close(fd);
    unlink(path);
}

static void test_gz_reader_members_and_growth(void)
{
    unsigned char packed[512];
    char out[128];
    struct lf_gz_reader gz;
    char path[64];
    size_t first;
    size_t second;
    size_t len;
    int fd;

    first = gzip_member("one\ntwo\n", 8, packed, sizeof(packed));
    second = gzip_member("three\n", 6, packed + first,
                         sizeof(packed) - first);
    /*
     * Only half of the second member is written at first: what is read
     * then, and after the rest is written, makes up the whole text.
     */
    fd = scratch_file(path, sizeof(path), packed, first + second / 2);
    LF_CHECK_INT_EQ(lf_gz_reader_init(&gz), 0);
    len = read_all(&gz, fd, out, sizeof(out), 3);
    LF_CHECK(len >= 8);
    LF_CHECK(len < 14);
    LF_CHECK_INT_EQ(pwrite(fd, packed + first + second / 2,
                           second - second / 2, (off_t)(first + second / 2)),
                    (long long)(second - second / 2));
    len += read_all(&gz, fd, out + len, sizeof(out) - len, 64);
    LF_CHECK_MEM_EQ(out, len, "one\ntwo\nthree\n");
    LF_CHECK_INT_EQ(gz.out_offset, 14);
    lf_gz_reader_cleanup(&gz);
    close(fd);
    unlink(path);
}

static void test_gz_reader_skip_and_head(void)
{
    unsigned char packed[512];
    char out[64];
    char head[LF_FILE_HEAD_MAX];
    size_t head_len = 0;
    struct lf_gz_reader gz;
    char path[64];
    size_t len;
    int fd;

    len = gzip_member("first line\nsecond\nthird\n", 24, packed,
                      sizeof(packed));
    fd = scratch_file(path, sizeof(path), packed, len);
    LF_CHECK_INT_EQ(lf_gz_read_head(fd, head, &head_len), 0);
    LF_CHECK_MEM_EQ(head, head_len, "first line\n");

    LF_CHECK_INT_EQ(lf_gz_reader_init(&gz), 0);
    LF_CHECK_INT_EQ(lf_gz_reader_skip(&gz, fd, 18, out, 5), 0);
    LF_CHECK_INT_EQ(gz.out_offset, 18);
    LF_CHECK_INT_EQ(read_all(&gz, fd, out, sizeof(out), 64), 6);
    LF_CHECK(memcmp(out, "third\n", 6) == 0);
    LF_CHECK_INT_EQ(lf_gz_reader_skip(&gz, fd, 40, out, sizeof(out)),
                    LF_EAGAIN);
    lf_gz_reader_cleanup(&gz);
    close(fd);
    unlink(path);
}

static void test_gz_reader_head_needs_line(void)
{
    unsigned char packed[128];
    char head[LF_FILE_HEAD_MAX];
    size_t head_len = 0;
    char path[64];
    size_t len;
    int fd;

    len = gzip_member("no newline", 10, packed, sizeof(packed));
    fd = scratch_file(path, sizeof(path), packed, len);
    LF_CHECK_INT_EQ(lf_gz_read_head(fd, head, &head_len), LF_EAGAIN);
    close(fd);
    unlink(path);
}

static void test_gz_reader_not_gzip(void)
{
    struct lf_gz_reader gz;
    char out[64];
    char path[64];
    int fd = scratch_file(path, sizeof(path), "plain text\n", 11);

    LF_CHECK_INT_EQ(lf_gz_reader_init(&gz), 0);
    LF_CHECK_INT_EQ(lf_gz_reader_read(&gz, fd, out, sizeof(out)),
                    LF_ECORRUPT);
    lf_gz_reader_cleanup(&gz);
    close(fd);
    unlink(path);
}

static void test_gz_reader_path_suffix(void)
{
    LF_CHECK(lf_gz_path("/var/log/app.log.1.gz"));
    LF_CHECK(!lf_gz_path("/var/log/app.log.1"));
    LF_CHECK(!lf_gz_path("/var/log/app.gzip"));
    LF_CHECK(!lf_gz_path(".gz"));
}

int main(void)
{
    LF_RUN(test_gz_reader_whole_file);
    LF_RUN(test_gz_reader_members_and_growth);
    LF_RUN(test_gz_reader_skip_and_head);
    LF_RUN(test_gz_reader_head_needs_line);
    LF_RUN(test_gz_reader_not_gzip);
    LF_RUN(test_gz_reader_path_suffix);
    return lf_test_end();
}
