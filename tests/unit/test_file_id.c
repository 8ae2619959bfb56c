/*
 * File identity: the fingerprinted head, and ids that are stable for one
 * file and differ when the inode, birth time or first line differ. Also
 * the document id format that the pipeline derives from the identity.
 */
#include "agent/input/file_id.h"
#include "agent/pipeline/pipeline.h"
#include "lf/error.h"
#include "lf_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int scratch_file(char *path, size_t size, const char *content,
                        size_t len)
{
    int fd;

    snprintf(path, size, "/tmp/lf-test-file-id-XXXXXX");
    fd = mkstemp(path);
    LF_CHECK(fd >= 0);
    if (fd >= 0 && len > 0) {
        LF_CHECK_INT_EQ(write(fd, content, len), (long long)len);
    }
    return fd;
}

static void test_file_id_head_first_line(void)
{
    char path[64];
    char head[LF_FILE_HEAD_MAX];
    size_t len = 0;
    int fd = scratch_file(path, sizeof(path), "first\nsecond\n", 13);

    LF_CHECK_INT_EQ(lf_file_read_head(fd, head, &len), 0);
    LF_CHECK_MEM_EQ(head, len, "first\n");
    close(fd);
    unlink(path);
}

static void test_file_id_head_needs_line(void)
{
    char path[64];
    char head[LF_FILE_HEAD_MAX];
    size_t len = 0;
    int fd = scratch_file(path, sizeof(path), "no newline yet", 14);

    LF_CHECK_INT_EQ(lf_file_read_head(fd, head, &len), LF_EAGAIN);
    LF_CHECK_INT_EQ(write(fd, "\n", 1), 1);
    LF_CHECK_INT_EQ(lf_file_read_head(fd, head, &len), 0);
    LF_CHECK_INT_EQ(len, 15);
    close(fd);
    unlink(path);
}

static void test_file_id_head_long_line(void)
{
    char path[64];
    char head[LF_FILE_HEAD_MAX];
    char content[3000];
    size_t len = 0;
    int fd;

    /* A first line longer than the head is fingerprinted by its start. */
    memset(content, 'y', sizeof(content));
    fd = scratch_file(path, sizeof(path), content, sizeof(content));
    LF_CHECK_INT_EQ(lf_file_read_head(fd, head, &len), 0);
    LF_CHECK_INT_EQ(len, LF_FILE_HEAD_MAX);
    close(fd);
    unlink(path);
}

static void test_file_id_stable_and_distinct(void)
{
    struct lf_file_stat st = {.dev = 2049, .ino = 77, .btime_ns = 1000};
    struct lf_file_stat other_inode = st;
    struct lf_file_stat other_birth = st;
    uint64_t id = lf_file_id(&st, "a line\n", 7);

    other_inode.ino = 78;
    other_birth.btime_ns = 1001;
    LF_CHECK_INT_EQ(lf_file_id(&st, "a line\n", 7), id);
    LF_CHECK(lf_file_id(&st, "b line\n", 7) != id);
    LF_CHECK(lf_file_id(&other_inode, "a line\n", 7) != id);
    LF_CHECK(lf_file_id(&other_birth, "a line\n", 7) != id);

    /* Size and link count change as a file grows; they are not identity. */
    st.size = 12345;
    st.nlink = 2;
    LF_CHECK_INT_EQ(lf_file_id(&st, "a line\n", 7), id);
}

static void test_file_id_head_hash_is_fnv1a(void)
{
    /* Published FNV-1a 64-bit test vectors. */
    LF_CHECK_INT_EQ(lf_file_head_hash("", 0), UINT64_C(0xcbf29ce484222325));
    LF_CHECK_INT_EQ(lf_file_head_hash("a", 1), UINT64_C(0xaf63dc4c8601ec8c));
    LF_CHECK_INT_EQ(lf_file_head_hash("foobar", 6),
                    UINT64_C(0x85944171f73967e8));
}

static void test_file_id_head_hash_ignores_inode(void)
{
    struct lf_file_stat st = {.dev = 2049, .ino = 77, .btime_ns = 1000};
    struct lf_file_stat copy = {.dev = 2049, .ino = 91, .btime_ns = 5000};

    LF_CHECK(lf_file_id(&st, "a line\n", 7) !=
             lf_file_id(&copy, "a line\n", 7));
    LF_CHECK_INT_EQ(lf_file_head_hash("a line\n", 7),
                    lf_file_head_hash("a line\n", 7));
    LF_CHECK(lf_file_head_hash("a line\n", 7) !=
             lf_file_head_hash("b line\n", 7));
}

static void test_file_id_generation(void)
{
    uint64_t base = UINT64_C(0x00fc1bf3cd8fbe29);
    uint64_t first = lf_file_id_generation(base, 1);
    uint64_t second = lf_file_id_generation(base, 2);

    LF_CHECK_INT_EQ(lf_file_id_generation(base, 0), base);
    LF_CHECK(first != base);
    LF_CHECK(second != base);
    LF_CHECK(second != first);
    LF_CHECK_INT_EQ(lf_file_id_generation(base, 1), first);
    LF_CHECK(lf_file_id_generation(base + 1, 1) != first);
}

static void test_file_id_fstat_matches_path(void)
{
    char path[64];
    struct lf_file_stat by_fd;
    struct lf_file_stat by_path;
    int fd = scratch_file(path, sizeof(path), "x\n", 2);

    LF_CHECK_INT_EQ(lf_file_fstat(fd, &by_fd), 0);
    LF_CHECK_INT_EQ(lf_file_stat_path(path, &by_path), 0);
    LF_CHECK_INT_EQ(by_fd.dev, by_path.dev);
    LF_CHECK_INT_EQ(by_fd.ino, by_path.ino);
    LF_CHECK_INT_EQ(by_fd.btime_ns, by_path.btime_ns);
    LF_CHECK_INT_EQ(by_fd.size, 2);
    LF_CHECK(by_fd.is_regular);
    LF_CHECK_INT_EQ(lf_file_stat_path("/nonexistent/lf-test", &by_path),
                    LF_ENOENT);
    close(fd);
    unlink(path);
}

static void test_file_id_doc_id_format(void)
{
    char id[LF_DOC_ID_MAX + 1];

    lf_pipeline_doc_id(UINT64_C(0x00fc1bf3cd8fbe29), 0, id);
    LF_CHECK_STR_EQ(id, "00fc1bf3cd8fbe29-0");
    lf_pipeline_doc_id(UINT64_C(0xfc1bf3cd8fbe29fe), 0x8a9, id);
    LF_CHECK_STR_EQ(id, "fc1bf3cd8fbe29fe-8a9");
    lf_pipeline_doc_id(UINT64_MAX, UINT64_MAX, id);
    LF_CHECK_STR_EQ(id, "ffffffffffffffff-ffffffffffffffff");
    LF_CHECK_INT_EQ(strlen(id), LF_DOC_ID_MAX);
}

int main(void)
{
    LF_RUN(test_file_id_head_first_line);
    LF_RUN(test_file_id_head_needs_line);
    LF_RUN(test_file_id_head_long_line);
    LF_RUN(test_file_id_stable_and_distinct);
    LF_RUN(test_file_id_head_hash_is_fnv1a);
    LF_RUN(test_file_id_head_hash_ignores_inode);
    LF_RUN(test_file_id_generation);
    LF_RUN(test_file_id_fstat_matches_path);
    LF_RUN(test_file_id_doc_id_format);
    return lf_test_end();
}
