/*
 * Tests of the dead-letter queue files: the exact record line, the size
 * bound, the lock, and a torn last line skipped on read.
 */
#include "outputs/elasticsearch/es_dlq.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_test.h"

static const struct lf_es_dlq_record sample = {
    .time_ms = 1772359200123LL, /* 2026-03-01T10:00:00.123Z */
    .index = "logs-app-default",
    .id = "f1-42",
    .action = "create",
    .status = 400,
    .error_type = "mapper_parsing_exception",
    .reason = "failed to parse field [a] of type [long]",
    .caused_by = "For input string: \"x\"",
    .doc = "{\"a\":\"x\"}",
    .doc_len = 9,
};

static void make_dir(char *path, size_t len)
{
    snprintf(path, len, "/tmp/lf-test_es_dlq-XXXXXX");
    LF_CHECK(mkdtemp(path) != NULL);
}

static void remove_dir(const char *dir)
{
    char **paths;
    size_t count;
    struct lf_buf lock;

    LF_CHECK_INT_EQ(lf_es_dlq_list_files(dir, &paths, &count), 0);
    for (size_t i = 0; i < count; i++) {
        unlink(paths[i]);
    }
    lf_es_dlq_free_paths(paths, count);
    lf_buf_init(&lock);
    lf_buf_appendf(&lock, "%s/.lock", dir);
    unlink(lock.data);
    lf_buf_cleanup(&lock);
    LF_CHECK_INT_EQ(rmdir(dir), 0);
}

static void test_es_dlq_format_exact(void)
{
    struct lf_buf line;

    lf_buf_init(&line);
    lf_es_dlq_format(&line, &sample);
    LF_CHECK_STR_EQ(
        line.data,
        "{\"time\":\"2026-03-01T10:00:00.123Z\",\"index\":"
        "\"logs-app-default\",\"_id\":\"f1-42\",\"action\":\"create\","
        "\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\","
        "\"reason\":\"failed to parse field [a] of type [long]\","
        "\"caused_by\":\"For input string: \\\"x\\\"\"},"
        "\"document\":{\"a\":\"x\"}}\n");
    lf_buf_cleanup(&line);
}

struct lines {
    size_t count;
    size_t bytes;
};

static int count_line(void *arg, const char *line, size_t len)
{
    struct lines *seen = arg;

    (void)line;
    seen->count++;
    seen->bytes += len + 1;
    return 0;
}

static void test_es_dlq_bound_and_torn_line(void)
{
    char dir[64];
    struct lf_es_dlq *dlq = NULL;
    struct lf_es_dlq *second = NULL;
    struct lf_buf line;
    char errbuf[256];
    char **paths = NULL;
    size_t count = 0;
    struct lines seen = {0};
    bool torn = false;
    int fd;

    make_dir(dir, sizeof(dir));
    lf_buf_init(&line);
    lf_es_dlq_format(&line, &sample);

    /* Room for two records and a half. */
    LF_CHECK_INT_EQ(lf_es_dlq_open(dir, line.len * 5 / 2, &dlq, errbuf,
                                   sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ(lf_es_dlq_open(dir, line.len, &second, errbuf,
                                   sizeof(errbuf)),
                    LF_EAGAIN);
    LF_CHECK(strstr(errbuf, "in use by another logferry process") != NULL);
    LF_CHECK_INT_EQ(lf_es_dlq_append(dlq, &sample), 0);
    LF_CHECK_INT_EQ(lf_es_dlq_append(dlq, &sample), 0);
    LF_CHECK_INT_EQ(lf_es_dlq_append(dlq, &sample), LF_EFULL);
    LF_CHECK_INT_EQ(lf_es_dlq_sync(dlq), 0);
    LF_CHECK_INT_EQ((int)lf_es_dlq_size(dlq), (int)(line.len * 2));

    /* A crash in the middle of a third record. */
    LF_CHECK_INT_EQ(lf_es_dlq_list_files(dir, &paths, &count), 0);
    LF_CHECK_INT_EQ((int)count, 1);
    fd = open(paths[0], O_WRONLY | O_APPEND);
    LF_CHECK(fd >= 0);
    LF_CHECK_INT_EQ((int)write(fd, line.data, 20), 20);
    close(fd);
    LF_CHECK_INT_EQ(lf_es_dlq_read_file(paths[0], count_line, &seen, &torn),
                    0);
    LF_CHECK_INT_EQ((int)seen.count, 2);
    LF_CHECK_INT_EQ((int)seen.bytes, (int)(line.len * 2));
    LF_CHECK(torn);
    lf_es_dlq_free_paths(paths, count);
    lf_es_dlq_close(dlq);

    /* A new writer counts the old file and starts a file of its own. */
    LF_CHECK_INT_EQ(lf_es_dlq_open(dir, line.len * 4, &dlq, errbuf,
                                   sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ((int)lf_es_dlq_size(dlq), (int)(line.len * 2 + 20));
    LF_CHECK_INT_EQ(lf_es_dlq_append(dlq, &sample), 0);
    lf_es_dlq_close(dlq);
    LF_CHECK_INT_EQ(lf_es_dlq_list_files(dir, &paths, &count), 0);
    LF_CHECK_INT_EQ((int)count, 2);
    seen = (struct lines){0};
    LF_CHECK_INT_EQ(lf_es_dlq_read_file(paths[1], count_line, &seen, &torn),
                    0);
    LF_CHECK_INT_EQ((int)seen.count, 1);
    LF_CHECK(!torn);
    lf_es_dlq_free_paths(paths, count);

    lf_buf_cleanup(&line);
    remove_dir(dir);
}

static void test_es_dlq_write_atomic(void)
{
    char dir[64];
    struct lf_buf data;
    struct lf_buf path;
    struct lines seen = {0};
    bool torn = true;

    make_dir(dir, sizeof(dir));
    lf_buf_init(&data);
    lf_buf_init(&path);
    lf_buf_append_str(&data, "{\"a\":1}\n{\"a\":2}\n");
    LF_CHECK_INT_EQ(lf_es_dlq_write_atomic(dir, "elasticsearch-x.ndjson",
                                           &data),
                    0);
    lf_buf_appendf(&path, "%s/elasticsearch-x.ndjson", dir);
    LF_CHECK_INT_EQ(lf_es_dlq_read_file(path.data, count_line, &seen, &torn),
                    0);
    LF_CHECK_INT_EQ((int)seen.count, 2);
    LF_CHECK(!torn);
    lf_buf_cleanup(&data);
    lf_buf_cleanup(&path);
    remove_dir(dir);
}

int main(void)
{
    LF_RUN(test_es_dlq_format_exact);
    LF_RUN(test_es_dlq_bound_and_torn_line);
    LF_RUN(test_es_dlq_write_atomic);
    return lf_test_end();
}
