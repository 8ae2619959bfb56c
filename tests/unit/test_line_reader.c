/*
 * Line framing: offsets, CR handling, lines split across chunks, pending
 * unterminated lines and truncation at the maximum line size.
 */
#include "agent/input/line_reader.h"
#include "lf_test.h"

#define MAX_LINES 16

struct collected {
    char text[MAX_LINES][128];
    size_t len[MAX_LINES];
    uint64_t offset[MAX_LINES];
    uint64_t end[MAX_LINES];
    bool truncated[MAX_LINES];
    size_t count;
};

/* Feeds `data` in chunks of `chunk` bytes and collects every line. */
static void feed(struct lf_line_reader *reader, const char *data,
                 size_t len, size_t chunk, struct collected *out)
{
    while (len > 0) {
        size_t n = len < chunk ? len : chunk;
        const char *p = data;
        size_t left = n;

        while (left > 0) {
            struct lf_line line;
            bool found;
            size_t used = lf_line_reader_next(reader, p, left, &line, &found);

            p += used;
            left -= used;
            if (found && out->count < MAX_LINES) {
                size_t keep = line.len < 127 ? line.len : 127;
                memcpy(out->text[out->count], line.data, keep);
                out->text[out->count][keep] = '\0';
                out->len[out->count] = line.len;
                out->offset[out->count] = line.offset;
                out->end[out->count] = line.end_offset;
                out->truncated[out->count] = line.truncated;
                out->count++;
            }
        }
        data += n;
        len -= n;
    }
}

static void test_line_reader_offsets(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};
    const char *input = "alpha\nbeta\n\ngamma\n";

    lf_line_reader_init(&reader, 1024, 100);
    feed(&reader, input, strlen(input), 4096, &got);

    LF_CHECK_INT_EQ(got.count, 4);
    LF_CHECK_STR_EQ(got.text[0], "alpha");
    LF_CHECK_INT_EQ(got.offset[0], 100);
    LF_CHECK_INT_EQ(got.end[0], 106);
    LF_CHECK_STR_EQ(got.text[1], "beta");
    LF_CHECK_INT_EQ(got.offset[1], 106);
    LF_CHECK_STR_EQ(got.text[2], "");
    LF_CHECK_INT_EQ(got.offset[2], 111);
    LF_CHECK_STR_EQ(got.text[3], "gamma");
    LF_CHECK_INT_EQ(got.end[3], 118);
    LF_CHECK_INT_EQ(lf_line_reader_pending(&reader), 0);
    lf_line_reader_cleanup(&reader);
}

static void test_line_reader_strips_one_cr(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};
    const char *input = "a\r\nb\rc\r\nd\r\r\ne\n";

    lf_line_reader_init(&reader, 1024, 0);
    feed(&reader, input, strlen(input), 4096, &got);

    LF_CHECK_INT_EQ(got.count, 4);
    LF_CHECK_STR_EQ(got.text[0], "a");
    LF_CHECK_STR_EQ(got.text[1], "b\rc");
    LF_CHECK_STR_EQ(got.text[2], "d\r");
    LF_CHECK_STR_EQ(got.text[3], "e");
    lf_line_reader_cleanup(&reader);
}

static void test_line_reader_split_chunks(void)
{
    const char *input = "first line\r\nsecond\nthird one here\n";

    /* Every chunk size gives the same lines and offsets. */
    for (size_t chunk = 1; chunk <= strlen(input); chunk++) {
        struct lf_line_reader reader;
        struct collected got = {0};

        lf_line_reader_init(&reader, 1024, 0);
        feed(&reader, input, strlen(input), chunk, &got);
        LF_CHECK_INT_EQ(got.count, 3);
        LF_CHECK_STR_EQ(got.text[0], "first line");
        LF_CHECK_INT_EQ(got.end[0], 12);
        LF_CHECK_STR_EQ(got.text[1], "second");
        LF_CHECK_INT_EQ(got.offset[1], 12);
        LF_CHECK_STR_EQ(got.text[2], "third one here");
        LF_CHECK_INT_EQ(got.offset[2], 19);
        LF_CHECK_INT_EQ(got.end[2], 34);
        lf_line_reader_cleanup(&reader);
    }
}

static void test_line_reader_holds_unterminated(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};

    lf_line_reader_init(&reader, 1024, 0);
    feed(&reader, "done\npart", 9, 4096, &got);
    LF_CHECK_INT_EQ(got.count, 1);
    LF_CHECK_INT_EQ(lf_line_reader_pending(&reader), 4);
    LF_CHECK_INT_EQ(reader.offset, 9);

    feed(&reader, "-rest\n", 6, 4096, &got);
    LF_CHECK_INT_EQ(got.count, 2);
    LF_CHECK_STR_EQ(got.text[1], "part-rest");
    LF_CHECK_INT_EQ(got.offset[1], 5);
    LF_CHECK_INT_EQ(got.end[1], 15);
    lf_line_reader_cleanup(&reader);
}

static void test_line_reader_truncates_long_line(void)
{
    char input[64];
    const size_t max = 8;

    memset(input, 'x', 30);
    memcpy(input + 30, "\nshort\n", 7);
    for (size_t chunk = 1; chunk <= 37; chunk += 3) {
        struct lf_line_reader reader;
        struct collected got = {0};

        lf_line_reader_init(&reader, max, 0);
        feed(&reader, input, 37, chunk, &got);
        LF_CHECK_INT_EQ(got.count, 2);
        LF_CHECK_STR_EQ(got.text[0], "xxxxxxxx");
        LF_CHECK(got.truncated[0]);
        LF_CHECK_INT_EQ(got.end[0], 31);
        LF_CHECK_STR_EQ(got.text[1], "short");
        LF_CHECK(!got.truncated[1]);
        LF_CHECK_INT_EQ(got.offset[1], 31);
        LF_CHECK(reader.pending.cap <= 64);
        lf_line_reader_cleanup(&reader);
    }
}

static void test_line_reader_exact_max_with_cr(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};

    /* Four bytes plus CR fit a maximum of four: not truncated. */
    for (size_t chunk = 1; chunk <= 7; chunk++) {
        memset(&got, 0, sizeof(got));
        lf_line_reader_init(&reader, 4, 0);
        feed(&reader, "abcd\r\nabcde\n", 12, chunk, &got);
        LF_CHECK_INT_EQ(got.count, 2);
        LF_CHECK_STR_EQ(got.text[0], "abcd");
        LF_CHECK(!got.truncated[0]);
        LF_CHECK_STR_EQ(got.text[1], "abcd");
        LF_CHECK(got.truncated[1]);
        lf_line_reader_cleanup(&reader);
    }
}

static void test_line_reader_reset(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};

    lf_line_reader_init(&reader, 1024, 0);
    feed(&reader, "abc", 3, 4096, &got);
    lf_line_reader_reset(&reader, 50);
    LF_CHECK_INT_EQ(lf_line_reader_pending(&reader), 0);
    feed(&reader, "xyz\n", 4, 4096, &got);
    LF_CHECK_INT_EQ(got.count, 1);
    LF_CHECK_STR_EQ(got.text[0], "xyz");
    LF_CHECK_INT_EQ(got.offset[0], 50);
    lf_line_reader_cleanup(&reader);
}

static void test_line_reader_flush_partial(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};
    struct lf_line line;

    /* A long unterminated line comes out cut, with its full byte range. */
    for (size_t chunk = 1; chunk <= 9; chunk++) {
        memset(&got, 0, sizeof(got));
        lf_line_reader_init(&reader, 4, 0);
        feed(&reader, "a\nbcdefg", 8, chunk, &got);
        LF_CHECK_INT_EQ(got.count, 1);
        LF_CHECK(lf_line_reader_flush(&reader, &line));
        LF_CHECK_MEM_EQ(line.data, line.len, "bcde");
        LF_CHECK(line.truncated);
        LF_CHECK_INT_EQ(line.offset, 2);
        LF_CHECK_INT_EQ(line.end_offset, 8);
        LF_CHECK_INT_EQ(lf_line_reader_pending(&reader), 0);
        LF_CHECK(!lf_line_reader_flush(&reader, &line));

        /* Its newline, with a CR before it, is no line of its own. */
        feed(&reader, "\r\nh\n", 5, chunk, &got);
        LF_CHECK_INT_EQ(got.count, 2);
        LF_CHECK_STR_EQ(got.text[1], "h");
        LF_CHECK_INT_EQ(got.offset[1], 10);
        lf_line_reader_cleanup(&reader);
    }
}

static void test_line_reader_rest_after_flush(void)
{
    struct lf_line_reader reader;
    struct collected got = {0};
    struct lf_line line;

    lf_line_reader_init(&reader, 1024, 0);
    feed(&reader, "part", 4, 4096, &got);
    LF_CHECK(lf_line_reader_flush(&reader, &line));
    LF_CHECK_MEM_EQ(line.data, line.len, "part");
    LF_CHECK(!line.truncated);
    /* Bytes after the flushed part are a line; a later empty line too. */
    feed(&reader, "-rest\n\n", 7, 4096, &got);
    LF_CHECK_INT_EQ(got.count, 2);
    LF_CHECK_STR_EQ(got.text[0], "-rest");
    LF_CHECK_INT_EQ(got.offset[0], 4);
    LF_CHECK_STR_EQ(got.text[1], "");
    LF_CHECK_INT_EQ(got.offset[1], 10);
    lf_line_reader_cleanup(&reader);
}

int main(void)
{
    LF_RUN(test_line_reader_offsets);
    LF_RUN(test_line_reader_strips_one_cr);
    LF_RUN(test_line_reader_split_chunks);
    LF_RUN(test_line_reader_holds_unterminated);
    LF_RUN(test_line_reader_truncates_long_line);
    LF_RUN(test_line_reader_exact_max_with_cr);
    LF_RUN(test_line_reader_reset);
    LF_RUN(test_line_reader_flush_partial);
    LF_RUN(test_line_reader_rest_after_flush);
    return lf_test_end();
}
