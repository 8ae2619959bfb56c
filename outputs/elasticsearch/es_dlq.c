/*
 * Dead-letter queue files. A writer appends whole lines to a file that
 * only it writes, and cuts a failed write back to the last whole line,
 * so a torn line can only be the last one of a file after a crash.
 * Readers skip such a line.
 */
#include "outputs/elasticsearch/es_dlq.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DLQ_LOCK_NAME ".lock"

/* Read size of lf_es_dlq_read_file(); longer lines grow the buffer. */
enum { DLQ_READ_CHUNK = 64 * 1024 };

struct lf_es_dlq {
    char *dir;
    int lock_fd;
    int fd;             /* this run's file, -1 until the first record */
    uint64_t max_bytes;
    uint64_t size;      /* bytes of every queue file in `dir` */
    uint64_t file_size; /* bytes of whole records in this run's file */
    bool dir_synced;    /* the folder entry of this run's file is durable */
    struct lf_buf line; /* the record being written */
};

static bool is_queue_file(const char *name)
{
    size_t len = strlen(name);
    size_t prefix = LF_STRLEN(LF_ES_DLQ_PREFIX);
    size_t suffix = LF_STRLEN(LF_ES_DLQ_SUFFIX);

    return len > prefix + suffix &&
           strncmp(name, LF_ES_DLQ_PREFIX, prefix) == 0 &&
           strcmp(name + len - suffix, LF_ES_DLQ_SUFFIX) == 0;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lf_es_dlq_list_files(const char *dir, char ***paths_out,
                         size_t *count_out)
{
    DIR *d = opendir(dir);
    struct dirent *entry;
    char **paths = NULL;
    size_t count = 0;
    size_t cap = 0;

    *paths_out = NULL;
    *count_out = 0;
    if (d == NULL) {
        return errno == ENOENT ? 0 : -errno;
    }
    while ((entry = readdir(d)) != NULL) {
        struct lf_buf path;

        if (!is_queue_file(entry->d_name)) {
            continue;
        }
        if (count == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            paths = lf_realloc(paths, cap * sizeof(*paths));
        }
        lf_buf_init(&path);
        lf_buf_appendf(&path, "%s/%s", dir, entry->d_name);
        paths[count++] = path.data;
    }
    closedir(d);
    if (count > 0) {
        qsort(paths, count, sizeof(*paths), compare_paths);
    }
    *paths_out = paths;
    *count_out = count;
    return 0;
}

void lf_es_dlq_free_paths(char **paths, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        lf_free(paths[i]);
    }
    lf_free(paths);
}

static uint64_t queue_size(const char *dir)
{
    char **paths;
    size_t count;
    uint64_t total = 0;

    if (lf_es_dlq_list_files(dir, &paths, &count) != 0) {
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        struct stat st;

        if (stat(paths[i], &st) == 0) {
            total += (uint64_t)st.st_size;
        }
    }
    lf_es_dlq_free_paths(paths, count);
    return total;
}

static int lock_dir(const char *dir, int *fd_out, char *errbuf, size_t errlen)
{
    struct lf_buf path;
    int fd;
    int rc = 0;

    lf_buf_init(&path);
    lf_buf_appendf(&path, "%s/%s", dir, DLQ_LOCK_NAME);
    fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        snprintf(errbuf, errlen, "open(\"%s\") failed: %s", path.data,
                 lf_strerror(rc));
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? LF_EAGAIN : -errno;
        snprintf(errbuf, errlen,
                 "the dead-letter queue %s is in use by another logferry "
                 "process (the agent or a dlq command): %s",
                 dir, lf_strerror(rc));
        close(fd);
        fd = -1;
    }
    lf_buf_cleanup(&path);
    *fd_out = fd;
    return rc;
}

int lf_es_dlq_open(const char *dir, uint64_t max_bytes, struct lf_es_dlq **out,
                   char *errbuf, size_t errlen)
{
    struct lf_es_dlq *dlq;
    int lock_fd;
    int rc;

    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(errbuf, errlen, "mkdir(\"%s\") failed: %s", dir,
                 lf_strerror(rc));
        return rc;
    }
    rc = lock_dir(dir, &lock_fd, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }

    dlq = lf_calloc(1, sizeof(*dlq));
    dlq->dir = lf_strdup(dir);
    dlq->lock_fd = lock_fd;
    dlq->fd = -1;
    dlq->max_bytes = max_bytes;
    dlq->size = queue_size(dir);
    lf_buf_init(&dlq->line);
    *out = dlq;
    return 0;
}

void lf_es_dlq_close(struct lf_es_dlq *dlq)
{
    if (dlq == NULL) {
        return;
    }
    if (dlq->fd >= 0) {
        close(dlq->fd);
    }
    close(dlq->lock_fd);
    lf_buf_cleanup(&dlq->line);
    lf_free(dlq->dir);
    lf_free(dlq);
}

static void append_member(struct lf_buf *out, const char *key,
                          const char *value)
{
    lf_buf_appendf(out, ",\"%s\":", key);
    if (value == NULL) {
        lf_buf_append_str(out, "null");
    } else {
        lf_json_append_string(out, value, strlen(value));
    }
}

void lf_es_dlq_format(struct lf_buf *out, const struct lf_es_dlq_record *rec)
{
    lf_buf_append_str(out, "{\"time\":");
    lf_json_append_timestamp(out, rec->time_ms * 1000000);
    append_member(out, "index", rec->index);
    append_member(out, "_id", rec->id);
    append_member(out, "action", rec->action);
    if (rec->routing != NULL) {
        append_member(out, "routing", rec->routing);
    }
    lf_buf_appendf(out, ",\"status\":%d,\"error\":{\"type\":", rec->status);
    if (rec->error_type == NULL) {
        lf_buf_append_str(out, "null");
    } else {
        lf_json_append_string(out, rec->error_type, strlen(rec->error_type));
    }
    append_member(out, "reason", rec->reason);
    if (rec->caused_by != NULL) {
        append_member(out, "caused_by", rec->caused_by);
    }
    lf_buf_append_str(out, "},\"document\":");
    lf_buf_append(out, rec->doc, rec->doc_len);
    lf_buf_append_str(out, "}\n");
}

/* Creates this run's file: elasticsearch-<UTC time>-<pid>.ndjson. */
static int open_run_file(struct lf_es_dlq *dlq)
{
    struct timespec now;
    struct tm tm;
    char stamp[32];
    struct lf_buf path;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    lf_buf_init(&path);
    lf_buf_appendf(&path, "%s/%s%s.%09ld-%ld%s", dlq->dir, LF_ES_DLQ_PREFIX,
                   stamp, (long)now.tv_nsec, (long)getpid(),
                   LF_ES_DLQ_SUFFIX);
    dlq->fd = open(path.data,
                   O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (dlq->fd < 0) {
        rc = -errno;
    }
    dlq->file_size = 0;
    dlq->dir_synced = false;
    lf_buf_cleanup(&path);
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int lf_es_dlq_append(struct lf_es_dlq *dlq, const struct lf_es_dlq_record *rec)
{
    int rc;

    lf_buf_reset(&dlq->line);
    lf_es_dlq_format(&dlq->line, rec);
    if (dlq->size + dlq->line.len > dlq->max_bytes) {
        return LF_EFULL;
    }
    if (dlq->fd < 0) {
        rc = open_run_file(dlq);
        if (rc != 0) {
            return rc;
        }
    }

    rc = write_all(dlq->fd, dlq->line.data, dlq->line.len);
    if (rc != 0) {
        /* Keep the file a list of whole lines for the next record. */
        if (ftruncate(dlq->fd, (off_t)dlq->file_size) != 0) {
            close(dlq->fd);
            dlq->fd = -1;
        }
        return rc;
    }
    dlq->file_size += dlq->line.len;
    dlq->size += dlq->line.len;
    return 0;
}

static int fsync_path(const char *path, int flags);

int lf_es_dlq_sync(struct lf_es_dlq *dlq)
{
    int rc;

    if (dlq->fd < 0) {
        return 0;
    }
    if (fdatasync(dlq->fd) != 0) {
        return -errno;
    }
    /* A new file's name is durable only once its folder is synced. */
    if (!dlq->dir_synced) {
        rc = fsync_path(dlq->dir, O_RDONLY | O_DIRECTORY);
        if (rc != 0) {
            return rc;
        }
        dlq->dir_synced = true;
    }
    return 0;
}

uint64_t lf_es_dlq_size(const struct lf_es_dlq *dlq)
{
    return dlq->size;
}

/* Calls line_cb on each whole line of buf; keeps the rest in buf. */
static int emit_lines(struct lf_buf *buf,
                      int (*line_cb)(void *, const char *, size_t), void *arg)
{
    size_t start = 0;
    char *nl;
    int rc = 0;

    while (rc == 0 &&
           (nl = memchr(buf->data + start, '\n', buf->len - start)) != NULL) {
        size_t len = (size_t)(nl - (buf->data + start));

        rc = line_cb(arg, buf->data + start, len);
        start += len + 1;
    }
    lf_buf_consume(buf, start);
    return rc;
}

int lf_es_dlq_read_file(const char *path,
                        int (*line_cb)(void *arg, const char *line,
                                       size_t len),
                        void *arg, bool *torn_out)
{
    struct lf_buf buf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    *torn_out = false;
    if (fd < 0) {
        return -errno;
    }
    lf_buf_init(&buf);
    for (;;) {
        ssize_t n;

        lf_buf_reserve(&buf, DLQ_READ_CHUNK);
        n = read(fd, buf.data + buf.len, DLQ_READ_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0) {
            break;
        }
        buf.len += (size_t)n;
        rc = emit_lines(&buf, line_cb, arg);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && buf.len > 0) {
        *torn_out = true;
    }
    lf_buf_cleanup(&buf);
    close(fd);
    return rc;
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

int lf_es_dlq_write_atomic(const char *dir, const char *name,
                           const struct lf_buf *data)
{
    struct lf_buf tmp;
    struct lf_buf final;
    int fd = -1;
    int rc = 0;

    lf_buf_init(&tmp);
    lf_buf_init(&final);
    lf_buf_appendf(&tmp, "%s/.%s.tmp", dir, name);
    lf_buf_appendf(&final, "%s/%s", dir, name);

    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = write_all(fd, data->data, data->len);
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    if (rc == 0 && rename(tmp.data, final.data) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        rc = fsync_path(dir, O_RDONLY | O_DIRECTORY);
    }
    if (rc != 0) {
        unlink(tmp.data);
    }

fail:
    lf_buf_cleanup(&tmp);
    lf_buf_cleanup(&final);
    return rc;
}
