/*
 * Discovery and harvesting of log files. Reads happen on the loop thread
 * with pread(): log files are read from the page cache, where a 64 KiB
 * read costs microseconds, and a read budget per turn keeps one busy file
 * from starving the others and the network.
 */
#include "agent/input/input.h"
#include "agent/input/file_id.h"
#include "agent/input/gz_reader.h"
#include "agent/input/watcher.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK_BYTES (64 * 1024)
#define READ_BUDGET_CHUNKS 16  /* per harvester per loop turn */
#define SCAN_DEBOUNCE_MS 50

/*
 * A new file whose first line equals that of an open file may be the copy
 * that copy-and-truncate rotation makes just before it truncates. Its
 * identification waits up to this long for the truncation, polling every
 * COPY_POLL_MS, so that it is not read again from its start.
 */
#define COPY_WAIT_MS 2000
#define COPY_POLL_MS 100

enum harvester_state {
    HARVESTER_WAITING_HEAD, /* no complete first line yet */
    HARVESTER_READING,
    HARVESTER_PAUSED, /* the sink is full */
    HARVESTER_IDLE,   /* descriptor released by close.inactive */
    HARVESTER_CLOSING,
};

/*
 * The identity a file had before it was truncated in place, kept until a
 * rotated copy continues it or two scans have passed without one.
 */
struct truncation {
    bool pending;
    uint64_t head_hash;   /* lf_file_head_hash() of the old first line */
    uint64_t doc_file_id; /* document ids of the old lines */
    uint64_t offset;      /* where reading stopped */
    uint64_t size_seen;   /* the largest size seen before the truncation */
    uint64_t scan;        /* inputs->scans at the truncation */
};

struct harvester {
    struct harvester *prev;
    struct harvester *next;
    struct harvester *next_ready;
    struct lf_inputs *inputs;
    struct lf_file_info info;
    char *path;            /* owned; info.path points here */
    int fd;                /* -1 while idle */
    int wd;                /* inotify watch on the inode, or -1 */
    enum harvester_state state;
    struct lf_line_reader reader;
    struct lf_gz_reader *gz; /* owned; set for a gzip file, else NULL */
    void *source;          /* the sink's per-file context */
    bool ready;            /* queued for a read */
    bool at_eof;           /* the last read returned no bytes */
    bool gone;             /* no matched path refers to the file */
    bool seen;             /* found by the scan in progress */
    uint64_t expected_id;  /* adopted from the registry: its base id, or 0 */
    uint64_t head_hash;    /* lf_file_head_hash() of the first line */
    bool is_copy;          /* continues a truncated file's old identity */
    bool copy_wait;        /* identification waits for a truncation */
    struct truncation truncated;
    uint64_t opened_ms;    /* loop time of the open, for close.timeout */
    uint64_t gone_ms;      /* loop time `gone` was set */
    uint64_t read_ms;      /* loop time of the last read that got bytes */
    int open_handles;      /* timers still to close before the free */
    uv_timer_t close_timer; /* close.inactive, armed at the end of the file */
    uv_timer_t limit_timer; /* close.timeout and close.removed_after */
};

/* A path that could not be opened, remembered to warn only once. */
struct failed_path {
    char *path;
    int error;
};

struct lf_inputs {
    uv_loop_t *loop;
    const struct lf_config *config;
    struct lf_input_sink sink;
    bool once;
    bool stopped;
    struct lf_watcher *watcher;
    struct harvester *harvesters;
    struct harvester *ready_head;
    struct harvester *ready_tail;
    uv_idle_t reader;
    uv_timer_t scan_timer;
    uv_timer_t scan_soon;
    char *chunk;
    char **patterns;       /* every input's globs made absolute, in order */
    uint64_t scans;        /* completed scans */
    uint64_t scan_interval_ms; /* the smallest scan_frequency of the inputs */
    bool scan_incomplete;  /* a glob of the running scan failed */
    bool scan_failed;      /* the last scan was incomplete */
    struct failed_path *failed;
    size_t failed_count;
    struct lf_input_stats stats;
};

static void schedule_read(struct harvester *h);
static void harvester_close(struct harvester *h);
static void on_reader_idle(uv_idle_t *idle);
static void on_limit_timer(uv_timer_t *timer);
static int match_copy(struct harvester *h, uint64_t head_hash,
                      uint64_t size);
static struct harvester *open_harvester(struct lf_inputs *inputs,
                                        const struct lf_input_config *input,
                                        const char *path);

/* Failed paths */

static struct failed_path *find_failed(struct lf_inputs *inputs,
                                       const char *path)
{
    for (size_t i = 0; i < inputs->failed_count; i++) {
        if (strcmp(inputs->failed[i].path, path) == 0) {
            return &inputs->failed[i];
        }
    }
    return NULL;
}

/* Logs an open failure once per path and error; returns true if logged. */
static bool report_failure(struct lf_inputs *inputs,
                           const struct lf_input_config *input,
                           const char *path, const char *what, int error)
{
    struct failed_path *failed = find_failed(inputs, path);

    if (failed != NULL && failed->error == error) {
        return false;
    }
    if (failed == NULL) {
        inputs->failed = lf_realloc(inputs->failed, (inputs->failed_count + 1) *
                                                        sizeof(*failed));
        failed = &inputs->failed[inputs->failed_count++];
        failed->path = lf_strdup(path);
    }
    failed->error = error;
    lf_log_warn("input", "%s(\"%s\") failed: %s (%s); skipping it until it "
                "changes input=%s",
                what, path, lf_strerror(error), lf_err_name(error), input->id);
    return true;
}

static void forget_failure(struct lf_inputs *inputs, const char *path)
{
    struct failed_path *failed = find_failed(inputs, path);

    if (failed != NULL) {
        lf_free(failed->path);
        *failed = inputs->failed[--inputs->failed_count];
    }
}

/* Harvesters */

static struct harvester *find_harvester(struct lf_inputs *inputs,
                                        uint64_t dev, uint64_t ino)
{
    for (struct harvester *h = inputs->harvesters; h != NULL; h = h->next) {
        if (h->info.dev == dev && h->info.ino == ino &&
            h->state != HARVESTER_CLOSING) {
            return h;
        }
    }
    return NULL;
}

static void set_path(struct harvester *h, const char *path)
{
    lf_free(h->path);
    h->path = lf_strdup(path);
    h->info.path = h->path;
    h->info.path_len = strlen(path);
    h->info.path_version++;
}

/* Computes the identity once the first line is complete. */
static int identify(struct harvester *h)
{
    char head[LF_FILE_HEAD_MAX];
    struct lf_file_stat st;
    size_t head_len;
    uint64_t offset;
    int rc;

    if (h->gz != NULL) {
        rc = lf_gz_read_head(h->fd, head, &head_len);
    } else {
        rc = lf_file_read_head(h->fd, head, &head_len);
    }
    if (rc != 0) {
        return rc;
    }
    rc = lf_file_fstat(h->fd, &st);
    if (rc != 0) {
        return rc;
    }
    h->info.base_id = lf_file_id(&st, head, head_len);
    h->info.compressed = h->gz != NULL;
    h->info.size = st.size;
    if (h->expected_id != 0 && h->info.base_id != h->expected_id) {
        /* The inode was reused by another file: not the one to resume. */
        return LF_ENOENT;
    }
    h->head_hash = lf_file_head_hash(head, head_len);
    h->info.head_hash = h->head_hash;
    if (!h->is_copy && h->expected_id == 0 && h->info.generation == 0 &&
        h->gz == NULL) {
        rc = match_copy(h, h->head_hash, st.size);
        if (rc != 0) {
            return rc;
        }
    }

    offset = h->inputs->sink.open_file(h->inputs->sink.arg, &h->info,
                                       &h->source);
    if (offset > st.size && h->gz == NULL) {
        lf_log_warn("input",
                    "file is smaller than its saved offset, reading it "
                    "from the start path=%s offset=%llu size=%llu",
                    h->path, (unsigned long long)offset,
                    (unsigned long long)st.size);
        offset = 0;
    }
    lf_line_reader_init(&h->reader, h->info.input->max_line_bytes, offset);
    h->state = HARVESTER_READING;
    lf_log_info("input", "harvesting file path=%s input=%s offset=%llu",
                h->path, h->info.input->id, (unsigned long long)offset);
    return 0;
}

/*
 * Sends every line of `len` bytes at the reader's offset to the sink.
 * Returns LF_EFULL when the sink rejected a line, and the reader is then
 * back at that line's start.
 */
static int feed(struct harvester *h, const char *data, size_t len)
{
    struct lf_inputs *inputs = h->inputs;
    struct lf_line line;
    bool found;

    while (len > 0) {
        size_t used = lf_line_reader_next(&h->reader, data, len, &line, &found);
        data += used;
        len -= used;
        if (!found) {
            break;
        }
        if (inputs->sink.on_line(inputs->sink.arg, h->source, &h->info,
                                 &line) == LF_EFULL) {
            lf_line_reader_reset(&h->reader, line.offset);
            return LF_EFULL;
        }
        inputs->stats.lines_read++;
        inputs->stats.bytes_read += line.end_offset - line.offset;
        if (line.truncated) {
            inputs->stats.lines_truncated++;
        }
    }
    return 0;
}

/*
 * Decompresses the next chunk of a gzip file, first skipping up to the
 * read offset, which a resumed file starts at. Returns as pread().
 */
static ssize_t read_gz(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;
    int rc = lf_gz_reader_skip(h->gz, h->fd, h->reader.offset, inputs->chunk,
                               READ_CHUNK_BYTES);

    if (rc == LF_EAGAIN) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    return lf_gz_reader_read(h->gz, h->fd, inputs->chunk, READ_CHUNK_BYTES);
}

/* Reads up to the per-turn budget. Returns true when more may remain. */
static bool read_some(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;

    for (int i = 0; i < READ_BUDGET_CHUNKS; i++) {
        ssize_t n;

        if (h->gz != NULL) {
            n = read_gz(h);
        } else {
            n = pread(h->fd, inputs->chunk, READ_CHUNK_BYTES,
                      (off_t)h->reader.offset);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                n = -errno;
            }
        }
        if (n < 0) {
            lf_log_error("input", "read(\"%s\") failed: %s (%s); closing it",
                         h->path, lf_strerror((int)n), lf_err_name((int)n));
            harvester_close(h);
            return false;
        }
        if (n == 0) {
            h->at_eof = true;
            return false;
        }
        h->at_eof = false;
        h->read_ms = uv_now(inputs->loop);
        if (feed(h, inputs->chunk, (size_t)n) == LF_EFULL) {
            h->state = HARVESTER_PAUSED;
            return false;
        }
    }
    return true;
}

/*
 * Releases the descriptor of a file read to its end. The harvester keeps
 * its identity, offset and inotify watch, so a write to the inode brings
 * it back (reopen_idle()) without losing or repeating a byte.
 */
static void make_idle(struct harvester *h)
{
    uv_timer_stop(&h->close_timer);
    close(h->fd);
    h->fd = -1;
    h->state = HARVESTER_IDLE;
    h->inputs->stats.files_idle++;
    lf_log_info("input", "closing file until it is written again path=%s "
                "offset=%llu", h->path, (unsigned long long)h->reader.offset);
}

static void on_close_timer(uv_timer_t *timer)
{
    struct harvester *h = timer->data;

    if (h->at_eof && h->state == HARVESTER_READING) {
        make_idle(h);
    }
}

/* Returns the file's size minus the read offset, or 0 when unknown. */
static uint64_t unread_bytes(const struct harvester *h)
{
    struct lf_file_stat st;

    /* NOTE: the unread rest of a gzip file is not counted. */
    if (h->fd < 0 || h->gz != NULL || h->state == HARVESTER_WAITING_HEAD ||
        lf_file_fstat(h->fd, &st) != 0 || st.size <= h->reader.line_start) {
        return 0;
    }
    return st.size - h->reader.line_start;
}

/* Returns true when the open file has no name left on its file system. */
static bool is_deleted(const struct harvester *h)
{
    struct lf_file_stat st;

    return h->fd >= 0 && lf_file_fstat(h->fd, &st) == 0 && st.nlink == 0;
}

/*
 * Closes a harvester that reached close.timeout or close.removed_after.
 * The rest of a removed file, or of one no glob matches, can never be read
 * again, so it is counted as abandoned. A file still matched is reopened
 * by the next scan from its saved offset.
 */
static void close_on_limit(struct harvester *h, const char *limit)
{
    struct lf_inputs *inputs = h->inputs;
    uint64_t unread = unread_bytes(h);
    uint64_t offset = h->state == HARVESTER_WAITING_HEAD
                          ? 0
                          : h->reader.line_start;

    if (unread > 0 && (h->gone || is_deleted(h))) {
        inputs->stats.bytes_abandoned += unread;
        lf_log_warn("input", "%s reached for a removed file, giving up its "
                    "unread bytes path=%s offset=%llu abandoned_bytes=%llu",
                    limit, h->path, (unsigned long long)offset,
                    (unsigned long long)unread);
    } else {
        lf_log_info("input", "%s reached, closing file path=%s offset=%llu",
                    limit, h->path, (unsigned long long)offset);
    }
    harvester_close(h);
}

/* Arms limit_timer for the earlier of close.timeout and close.removed_after. */
static void arm_limit_timer(struct harvester *h)
{
    const struct lf_input_config *input = h->info.input;
    uint64_t deadline = UINT64_MAX;
    uint64_t now = uv_now(h->inputs->loop);

    if (input->close_timeout_ms > 0) {
        deadline = h->opened_ms + (uint64_t)input->close_timeout_ms;
    }
    if (h->gone) {
        uint64_t removed = h->gone_ms + (uint64_t)input->close_removed_after_ms;
        if (removed < deadline) {
            deadline = removed;
        }
    }
    if (deadline == UINT64_MAX) {
        uv_timer_stop(&h->limit_timer);
        return;
    }
    uv_timer_start(&h->limit_timer, on_limit_timer,
                   deadline > now ? deadline - now : 0, 0);
}

static void on_limit_timer(uv_timer_t *timer)
{
    struct harvester *h = timer->data;
    const struct lf_input_config *input = h->info.input;
    uint64_t now = uv_now(h->inputs->loop);

    if (h->state == HARVESTER_CLOSING) {
        return;
    }
    if (input->close_timeout_ms > 0 &&
        now >= h->opened_ms + (uint64_t)input->close_timeout_ms) {
        close_on_limit(h, "close.timeout");
    } else if (h->gone &&
               now >= h->gone_ms + (uint64_t)input->close_removed_after_ms) {
        close_on_limit(h, "close.removed_after");
    } else {
        arm_limit_timer(h);
    }
}

/* Records that no matched name refers to the file any more. */
static void mark_gone(struct harvester *h)
{
    h->gone = true;
    h->gone_ms = uv_now(h->inputs->loop);
    arm_limit_timer(h);
}

/*
 * Decides what happens after a read turn that reached the end. A removed
 * file is closed at once. A file renamed away from every glob releases its
 * descriptor but stays watched, because its writer may still add a few
 * lines before it reopens its log. Any other file is released after
 * close.inactive without a write.
 */
static void after_eof(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;
    uint64_t idle_at;
    uint64_t now;

    if (inputs->once) {
        harvester_close(h);
        return;
    }
    if (is_deleted(h)) {
        lf_log_info("input", "closing removed file read to its end path=%s "
                    "offset=%llu", h->path,
                    (unsigned long long)h->reader.offset);
        harvester_close(h);
        return;
    }
    if (h->state != HARVESTER_READING) {
        return; /* the first line is not complete yet */
    }
    if (h->gone) {
        make_idle(h);
        return;
    }
    /* Rescans read at the end too, so the time runs from the last bytes. */
    idle_at = h->read_ms + (uint64_t)h->info.input->close_inactive_ms;
    now = uv_now(inputs->loop);
    uv_timer_start(&h->close_timer, on_close_timer,
                   idle_at > now ? idle_at - now : 0, 0);
}

/* Copy-and-truncate recovery */

/*
 * Gives up on the lines a truncated file held past the read offset. Only
 * the bytes seen in a size check are known; lines written after the last
 * check are lost uncounted.
 */
static void give_up_truncated(struct harvester *h)
{
    struct truncation *t = &h->truncated;
    uint64_t lost = t->size_seen > t->offset ? t->size_seen - t->offset : 0;

    t->pending = false;
    h->inputs->stats.truncated_bytes_lost += lost;
    lf_log(lost > 0 ? LF_LOG_WARN : LF_LOG_INFO, "input",
           "no rotated copy of the truncated file was found; lines written "
           "after the read offset before the truncation are lost path=%s "
           "offset=%llu lost_bytes=%llu (known, lines written after the "
           "last size check are not counted)",
           h->path, (unsigned long long)t->offset, (unsigned long long)lost);
}

/*
 * Makes `copy`, not yet identified, continue the old identity of the
 * truncated `origin`: it is read from the offset the origin was left at,
 * with the origin's document ids, so lines read twice are deduplicated.
 */
static void claim_copy(struct harvester *origin, struct harvester *copy,
                       uint64_t copy_size)
{
    struct truncation *t = &origin->truncated;

    copy->is_copy = true;
    copy->info.doc_file_id = t->doc_file_id;
    copy->info.start_offset = t->offset;
    t->pending = false;
    if (t->size_seen > copy_size) {
        origin->inputs->stats.truncated_bytes_lost += t->size_seen - copy_size;
        lf_log_warn("input", "the rotated copy of a truncated file is "
                    "shorter than the file was; its last lines are lost "
                    "path=%s copy=%s lost_bytes=%llu", origin->path,
                    copy->path,
                    (unsigned long long)(t->size_seen - copy_size));
    }
    lf_log_info("input", "reading the rotated copy of a truncated file from "
                "the old read offset path=%s copy=%s offset=%llu",
                origin->path, copy->path, (unsigned long long)t->offset);
}

/*
 * Returns true when `path` contains a copy of the truncated file of `t`: a
 * regular file other than `origin` whose head hash is the old one and
 * that is at least as long as the old read offset. Stores its size.
 */
static bool is_copy_of(const struct truncation *t, const struct lf_file_info
                       *origin, const char *path, struct lf_file_stat *st)
{
    char head[LF_FILE_HEAD_MAX];
    size_t head_len;
    bool match = false;
    int fd;

    if (lf_file_stat_path(path, st) != 0 || !st->is_regular ||
        (st->dev == origin->dev && st->ino == origin->ino) ||
        st->size < t->offset) {
        return false;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return false;
    }
    match = lf_file_read_head(fd, head, &head_len) == 0 &&
            lf_file_head_hash(head, head_len) == t->head_hash;
    close(fd);
    return match;
}

/*
 * Looks for the rotated copy of the truncated file of `h` and reads it as
 * the continuation of the old identity. Candidates are the files of its
 * folder whose name starts with its own, such as app.log.1 for app.log,
 * whether or not a glob matches them. Files exclude_files matches are
 * left out.
 */
static void find_copy(struct harvester *h)
{
    struct truncation *t = &h->truncated;
    char *dir_copy = lf_strdup(h->path);
    char *base_copy = lf_strdup(h->path);
    const char *dir = dirname(dir_copy);
    const char *base = basename(base_copy);
    size_t base_len = strlen(base);
    struct lf_buf path;
    struct dirent *de;
    DIR *d = opendir(dir);

    lf_buf_init(&path);
    while (d != NULL && t->pending && (de = readdir(d)) != NULL) {
        struct lf_file_stat st;
        struct harvester *copy;

        if (strncmp(de->d_name, base, base_len) != 0 ||
            de->d_name[base_len] == '\0') {
            continue;
        }
        lf_buf_reset(&path);
        lf_buf_appendf(&path, "%s/%s", dir, de->d_name);
        if (lf_input_excludes(h->info.input, path.data) ||
            !is_copy_of(t, &h->info, path.data, &st)) {
            continue;
        }
        copy = find_harvester(h->inputs, st.dev, st.ino);
        if (copy == NULL) {
            copy = open_harvester(h->inputs, h->info.input, path.data);
        }
        if (copy == NULL) {
            continue;
        }
        if (copy->state == HARVESTER_WAITING_HEAD && !copy->is_copy) {
            claim_copy(h, copy, st.size);
        } else {
            /* Already read as a file of its own: nothing was lost. */
            t->pending = false;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    lf_buf_cleanup(&path);
    lf_free(base_copy);
    lf_free(dir_copy);
}

/*
 * Detects a file that was truncated in place (copytruncate, or `> file`):
 * it is smaller than the read offset, or its first line changed. The file
 * then starts a new generation, read from 0 under new document ids, and
 * the lines past the old offset are looked for in a rotated copy. Returns
 * true when the harvester went back to identifying the file.
 */
static bool restart_if_truncated(struct harvester *h)
{
    struct truncation *t = &h->truncated;
    char head[LF_FILE_HEAD_MAX];
    struct lf_file_stat st;
    size_t head_len;
    int rc;

    if (h->gz != NULL || lf_file_fstat(h->fd, &st) != 0) {
        return false; /* a compressed rotated file is not truncated */
    }
    if (st.size >= h->reader.offset) {
        rc = lf_file_read_head(h->fd, head, &head_len);
        if (rc != 0 || lf_file_id(&st, head, head_len) == h->info.base_id) {
            h->info.size = st.size;
            return false;
        }
    }

    lf_log_warn("input", "file was truncated, reading it again from the "
                "start path=%s offset=%llu size=%llu", h->path,
                (unsigned long long)h->reader.offset,
                (unsigned long long)st.size);
    if (t->pending) {
        give_up_truncated(h);
    }
    t->pending = true;
    t->head_hash = h->head_hash;
    t->doc_file_id = h->info.doc_file_id;
    t->offset = h->reader.line_start;
    t->size_seen = h->info.size > t->offset ? h->info.size : t->offset;
    t->scan = h->inputs->scans;
    h->inputs->stats.files_truncated++;

    h->inputs->sink.close_file(h->inputs->sink.arg, h->source, true);
    h->source = NULL;
    lf_line_reader_cleanup(&h->reader);
    h->state = HARVESTER_WAITING_HEAD;
    h->info.generation++;
    h->info.doc_file_id = 0;
    h->info.start_offset = 0;
    find_copy(h);
    return true;
}

/*
 * Checks whether `h`, a new file, is the rotated copy of a truncated file,
 * and if so makes it continue that file. Returns LF_EAGAIN while the file
 * may be a copy whose original is not truncated yet.
 */
static int match_copy(struct harvester *h, uint64_t head_hash, uint64_t size)
{
    struct lf_inputs *inputs = h->inputs;
    struct harvester *g;

    for (g = inputs->harvesters; g != NULL; g = g->next) {
        if (g != h && g->state != HARVESTER_CLOSING && g->truncated.pending &&
            g->truncated.head_hash == head_hash &&
            size >= g->truncated.offset) {
            claim_copy(g, h, size);
            return 0;
        }
    }
    for (g = inputs->harvesters; g != NULL; g = g->next) {
        if (g == h || g->state != HARVESTER_READING ||
            g->head_hash != head_hash) {
            continue;
        }
        if (restart_if_truncated(g)) {
            /* find_copy() has claimed `h` if it is the copy. */
            schedule_read(g);
            return 0;
        }
        if (uv_now(inputs->loop) - h->opened_ms < COPY_WAIT_MS) {
            h->copy_wait = true;
            return LF_EAGAIN;
        }
        /* NOTE: a copy that stays untruncated longer is a file of its own. */
        return 0;
    }
    return 0;
}

static void on_copy_wait_timer(uv_timer_t *timer)
{
    schedule_read(timer->data);
}

/*
 * Stores in `path_out` a name of inode `dev`:`ino` in the folder of
 * `last_path`, the name the file was last known by. Returns false when
 * the folder contains no such file.
 */
static bool find_inode(const char *last_path, uint64_t dev, uint64_t ino,
                       struct lf_buf *path_out)
{
    char *copy = lf_strdup(last_path);
    const char *dir = dirname(copy);
    bool found = false;
    struct dirent *de;
    DIR *d = opendir(dir);

    while (d != NULL && !found && (de = readdir(d)) != NULL) {
        struct lf_file_stat st;

        if (de->d_ino != ino) {
            continue;
        }
        lf_buf_reset(path_out);
        lf_buf_appendf(path_out, "%s/%s", dir, de->d_name);
        found = lf_file_stat_path(path_out->data, &st) == 0 &&
                st.dev == dev && st.ino == ino && st.is_regular;
    }
    if (d != NULL) {
        closedir(d);
    }
    lf_free(copy);
    return found;
}

/*
 * Opens an idle file again when it changed size. Looks for it under its
 * last name, then by inode in that name's folder, since it may have been
 * renamed while idle. Returns true when the harvester can read again; a
 * file found nowhere was removed, and its harvester is closed.
 */
static bool reopen_idle(struct harvester *h)
{
    struct lf_file_stat st;
    struct lf_buf moved;
    bool found;
    int fd;

    found = lf_file_stat_path(h->path, &st) == 0 && st.dev == h->info.dev &&
            st.ino == h->info.ino;
    if (!found) {
        lf_buf_init(&moved);
        found = find_inode(h->path, h->info.dev, h->info.ino, &moved) &&
                lf_file_stat_path(moved.data, &st) == 0;
        if (found) {
            set_path(h, moved.data);
        }
        lf_buf_cleanup(&moved);
    }
    if (!found) {
        lf_log_info("input", "file was removed while closed path=%s "
                    "offset=%llu", h->path,
                    (unsigned long long)h->reader.offset);
        harvester_close(h);
        return false;
    }
    if (st.size == (h->gz != NULL ? h->gz->in_offset : h->reader.offset)) {
        return false;
    }

    fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0 && (lf_file_fstat(fd, &st) != 0 || st.dev != h->info.dev ||
                    st.ino != h->info.ino)) {
        close(fd); /* renamed again since the stat; the next event retries */
        fd = -1;
    }
    if (fd < 0) {
        return false;
    }
    h->fd = fd;
    h->state = HARVESTER_READING;
    h->read_ms = uv_now(h->inputs->loop);
    lf_log_info("input", "reopening file that was written path=%s "
                "offset=%llu", h->path, (unsigned long long)h->reader.offset);
    return true;
}

static void harvest(struct harvester *h)
{
    int rc;

    if (h->state == HARVESTER_IDLE && !reopen_idle(h)) {
        return;
    }
    if (h->state == HARVESTER_READING) {
        restart_if_truncated(h);
    }

    if (h->state == HARVESTER_WAITING_HEAD) {
        h->copy_wait = false;
        rc = identify(h);
        if (rc == LF_EAGAIN && h->copy_wait) {
            uv_timer_start(&h->close_timer, on_copy_wait_timer, COPY_POLL_MS,
                           0);
            return;
        }
        if (rc == LF_EAGAIN) {
            h->at_eof = true;
            after_eof(h);
            return;
        }
        if (rc == LF_ENOENT) {
            harvester_close(h);
            return;
        }
        if (rc != 0) {
            lf_log_error("input", "reading the first line of \"%s\" failed: "
                         "%s; closing it", h->path, lf_strerror(rc));
            harvester_close(h);
            return;
        }
    }
    if (h->state != HARVESTER_READING) {
        return;
    }
    if (read_some(h)) {
        schedule_read(h);
    } else if (h->state == HARVESTER_READING && h->at_eof) {
        after_eof(h);
    }
}

static void free_harvester(uv_handle_t *handle)
{
    struct harvester *h = handle->data;

    if (--h->open_handles > 0) {
        return;
    }
    lf_free(h->path);
    lf_free(h);
}

static void unlink_harvester(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;

    if (h->prev != NULL) {
        h->prev->next = h->next;
    } else {
        inputs->harvesters = h->next;
    }
    if (h->next != NULL) {
        h->next->prev = h->prev;
    }
}

static void release_harvester(struct harvester *h)
{
    unlink_harvester(h);
    uv_close((uv_handle_t *)&h->close_timer, free_harvester);
    uv_close((uv_handle_t *)&h->limit_timer, free_harvester);
}

static void harvester_close(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;

    if (h->state == HARVESTER_CLOSING) {
        return;
    }
    if (h->state != HARVESTER_WAITING_HEAD) {
        lf_line_reader_cleanup(&h->reader);
    }
    h->state = HARVESTER_CLOSING;
    if (h->wd >= 0 && inputs->watcher != NULL) {
        lf_watcher_remove(inputs->watcher, h->wd);
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    if (h->gz != NULL) {
        lf_gz_reader_cleanup(h->gz);
        lf_free(h->gz);
        h->gz = NULL;
    }
    uv_timer_stop(&h->close_timer);
    uv_timer_stop(&h->limit_timer);
    if (h->source != NULL) {
        inputs->sink.close_file(inputs->sink.arg, h->source, false);
    }
    inputs->stats.files_closed++;
    inputs->stats.harvesters_open--;

    /* A queued harvester is released by the reader when it comes up. */
    if (!h->ready) {
        release_harvester(h);
    }
}

static struct harvester *open_harvester(struct lf_inputs *inputs,
                                        const struct lf_input_config *input,
                                        const char *path)
{
    struct lf_file_stat st;
    struct harvester *h;
    char proc_path[64];
    int fd;
    int rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (report_failure(inputs, input, path, "open", -errno)) {
            inputs->stats.files_failed++;
        }
        return NULL;
    }
    rc = lf_file_fstat(fd, &st);
    if (rc == 0 && !st.is_regular) {
        rc = LF_EINVAL;
    }
    if (rc != 0) {
        report_failure(inputs, input, path,
                       rc == LF_EINVAL ? "open regular file" : "fstat", rc);
        close(fd);
        return NULL;
    }
    forget_failure(inputs, path);

    h = lf_calloc(1, sizeof(*h));
    if (input->compression == LF_COMPRESSION_AUTO && lf_gz_path(path)) {
        h->gz = lf_malloc(sizeof(*h->gz));
        rc = lf_gz_reader_init(h->gz);
        if (rc != 0) {
            lf_log_error("input", "inflateInit2(\"%s\") failed: %s; "
                         "skipping the file", path, lf_strerror(rc));
            lf_free(h->gz);
            lf_free(h);
            close(fd);
            return NULL;
        }
    }
    h->inputs = inputs;
    h->fd = fd;
    h->wd = -1;
    h->seen = true;
    h->info.input = input;
    h->info.dev = st.dev;
    h->info.ino = st.ino;
    set_path(h, path);
    uv_timer_init(inputs->loop, &h->close_timer);
    h->close_timer.data = h;
    uv_timer_init(inputs->loop, &h->limit_timer);
    h->limit_timer.data = h;
    h->open_handles = 2;
    h->opened_ms = uv_now(inputs->loop);
    h->read_ms = h->opened_ms;

    h->next = inputs->harvesters;
    if (h->next != NULL) {
        h->next->prev = h;
    }
    inputs->harvesters = h;
    inputs->stats.files_opened++;
    inputs->stats.harvesters_open++;
    arm_limit_timer(h);

    if (inputs->watcher != NULL) {
        /* Watch the open inode itself, whatever its name becomes. */
        snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
        h->wd = lf_watcher_add_file(inputs->watcher, proc_path, h);
    }
    schedule_read(h);
    return h;
}

/* Discovery */

static bool same_file(const char *path, const struct lf_file_stat *st)
{
    struct lf_file_stat now;

    return lf_file_stat_path(path, &now) == 0 && now.dev == st->dev &&
           now.ino == st->ino;
}

static void consider_path(struct lf_inputs *inputs,
                          const struct lf_input_config *input,
                          const char *path)
{
    struct lf_file_stat st;
    struct harvester *h;
    int rc;

    if (lf_input_excludes(input, path)) {
        return;
    }
    rc = lf_file_stat_path(path, &st);
    if (rc != 0) {
        return; /* vanished since the glob ran */
    }
    if (!st.is_regular) {
        report_failure(inputs, input, path, "open regular file", LF_EINVAL);
        return;
    }
    h = find_harvester(inputs, st.dev, st.ino);
    if (h != NULL) {
        /* A rotated name that still matches: same file, no re-read. */
        if (strcmp(h->path, path) != 0 && !same_file(h->path, &st)) {
            set_path(h, path);
        }
        h->seen = true;
        h->gone = false;
        return;
    }
    open_harvester(inputs, input, path);
}

static void watch_dir_of(struct lf_inputs *inputs, const char *path)
{
    char *copy;

    if (inputs->watcher == NULL) {
        return;
    }
    copy = lf_strdup(path);
    /* Errors are fine: the directory may not exist yet; the scan retries. */
    lf_watcher_add_dir(inputs->watcher, dirname(copy), inputs);
    lf_free(copy);
}

/*
 * Watches the folders a pattern can match files in. With a wildcard in
 * the folder part ("logs/" "*" "/app.log"), that is every folder it
 * matches now, plus the fixed folder above the first wildcard, so that a
 * new folder triggers a scan, which then watches it.
 */
static void watch_pattern_dirs(struct lf_inputs *inputs, const char *pattern)
{
    char *copy;
    char *dir;
    size_t fixed;
    glob_t g;

    if (inputs->watcher == NULL) {
        return;
    }
    copy = lf_strdup(pattern);
    dir = dirname(copy); /* points into `copy` whenever it has a wildcard */
    fixed = strcspn(dir, "*?[");
    if (dir[fixed] == '\0') {
        lf_watcher_add_dir(inputs->watcher, dir, inputs);
        lf_free(copy);
        return;
    }

    if (glob(dir, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            lf_watcher_add_dir(inputs->watcher, g.gl_pathv[i], inputs);
        }
    }
    globfree(&g);
    while (fixed > 0 && dir[fixed] != '/') {
        fixed--;
    }
    dir[fixed == 0 ? 1 : fixed] = '\0';
    lf_watcher_add_dir(inputs->watcher, dir, inputs);
    lf_free(copy);
}

/*
 * glob(3) reports directory errors only through a callback without a user
 * pointer, so the callback records them here. This is safe because glob
 * runs synchronously on the loop thread and the value is read right after.
 */
static _Thread_local int glob_dir_error;

static int on_glob_error(const char *path, int error)
{
    (void)path;
    /* A directory that does not exist (yet) is not an error. */
    if (error != ENOENT && error != ENOTDIR && glob_dir_error == 0) {
        glob_dir_error = error;
    }
    return 0;
}

/* Returns the number of paths the pattern matched. */
static size_t scan_pattern(struct lf_inputs *inputs,
                           const struct lf_input_config *input,
                           const char *pattern)
{
    size_t count;
    glob_t g;
    int rc;

    watch_pattern_dirs(inputs, pattern);
    glob_dir_error = 0;
    rc = glob(pattern, GLOB_NOSORT, on_glob_error, &g);
    if (glob_dir_error != 0 || (rc != 0 && rc != GLOB_NOMATCH)) {
        /*
         * A directory could not be read (EMFILE, EACCES): the matches are
         * incomplete, so no open file may be taken for removed.
         */
        int error = glob_dir_error != 0 ? -glob_dir_error : LF_ENOMEM;

        if (!inputs->scan_failed) {
            lf_log_warn("input", "glob(\"%s\") failed: %s (%s); files it "
                        "does not list are kept open until a scan succeeds "
                        "input=%s", pattern, lf_strerror(error),
                        lf_err_name(error), input->id);
        }
        inputs->scan_incomplete = true;
    }
    if (rc != 0) {
        globfree(&g);
        return 0;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        watch_dir_of(inputs, g.gl_pathv[i]);
        consider_path(inputs, input, g.gl_pathv[i]);
    }
    count = g.gl_pathc;
    globfree(&g);
    return count;
}

/* Warns once, on the first scan, about an input that matches nothing. */
static void report_no_match(const struct lf_inputs *inputs,
                            const struct lf_input_config *input,
                            char **patterns)
{
    struct lf_buf list;

    lf_buf_init(&list);
    for (size_t j = 0; j < input->path_count; j++) {
        lf_buf_appendf(&list, "%s%s", j == 0 ? "" : ", ", patterns[j]);
    }
    lf_log_warn("input", "no file matches the paths of input=%s: %s%s",
                input->id, list.data,
                inputs->once ? "" : "; files are picked up when they appear");
    lf_buf_cleanup(&list);
}

static void scan(struct lf_inputs *inputs)
{
    const struct lf_config *config = inputs->config;
    char **pattern = inputs->patterns;

    for (struct harvester *h = inputs->harvesters; h != NULL; h = h->next) {
        h->seen = false;
    }
    inputs->scan_incomplete = false;
    for (size_t i = 0; i < config->input_count; i++) {
        const struct lf_input_config *input = &config->inputs[i];
        size_t matched = 0;

        for (size_t j = 0; j < input->path_count; j++) {
            matched += scan_pattern(inputs, input, pattern[j]);
        }
        if (matched == 0 && inputs->scans == 0) {
            report_no_match(inputs, input, pattern);
        }
        pattern += input->path_count;
    }
    inputs->scans++;
    inputs->scan_failed = inputs->scan_incomplete;

    /*
     * Files no longer under any matched name are drained and closed; a
     * read is queued for every open file in case an event was missed.
     */
    for (struct harvester *h = inputs->harvesters; h != NULL; h = h->next) {
        if (h->state == HARVESTER_CLOSING) {
            continue;
        }
        if (h->truncated.pending && inputs->scans > h->truncated.scan + 1) {
            give_up_truncated(h);
        }
        if (!h->seen && !h->gone && !inputs->scan_incomplete) {
            mark_gone(h);
            lf_log_info("input", "file was renamed or removed, reading it "
                        "to its end path=%s", h->path);
        }
        schedule_read(h);
    }
}

static void on_scan_timer(uv_timer_t *timer)
{
    struct lf_inputs *inputs = timer->data;

    if (!inputs->stopped) {
        scan(inputs);
    }
}

static void scan_soon(struct lf_inputs *inputs)
{
    if (!inputs->stopped && !uv_is_active((uv_handle_t *)&inputs->scan_soon)) {
        uv_timer_start(&inputs->scan_soon, on_scan_timer, SCAN_DEBOUNCE_MS, 0);
    }
}

/* Reading queue */

static void schedule_read(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;

    if (h->ready || h->state == HARVESTER_CLOSING ||
        h->state == HARVESTER_PAUSED || inputs->stopped) {
        return;
    }
    h->ready = true;
    h->next_ready = NULL;
    if (inputs->ready_tail != NULL) {
        inputs->ready_tail->next_ready = h;
    } else {
        inputs->ready_head = h;
    }
    inputs->ready_tail = h;
    uv_idle_start(&inputs->reader, on_reader_idle);
}

static bool all_caught_up(const struct lf_inputs *inputs)
{
    return inputs->harvesters == NULL && inputs->ready_head == NULL;
}

static void on_reader_idle(uv_idle_t *idle)
{
    struct lf_inputs *inputs = idle->data;
    struct harvester *batch = inputs->ready_head;

    /* Harvesters queued while this batch runs wait for the next turn. */
    inputs->ready_head = NULL;
    inputs->ready_tail = NULL;

    while (batch != NULL) {
        struct harvester *h = batch;

        batch = h->next_ready;
        h->ready = false;
        if (h->state == HARVESTER_CLOSING) {
            release_harvester(h);
            continue;
        }
        if (!inputs->stopped) {
            harvest(h);
        }
    }

    if (inputs->ready_head == NULL) {
        uv_idle_stop(&inputs->reader);
    }
    if (inputs->once && all_caught_up(inputs)) {
        inputs->sink.on_caught_up(inputs->sink.arg);
    }
}

static void on_watch(void *arg, enum lf_watch_event event, void *cookie)
{
    struct lf_inputs *inputs = arg;
    struct harvester *h = cookie;

    switch (event) {
    case LF_WATCH_DIR_CHANGED:
        scan_soon(inputs);
        break;
    case LF_WATCH_FILE_WRITTEN:
        uv_timer_stop(&h->close_timer);
        schedule_read(h);
        break;
    case LF_WATCH_FILE_MOVED:
        schedule_read(h);
        scan_soon(inputs);
        break;
    case LF_WATCH_OVERFLOW:
        lf_log_warn("input", "inotify queue overflowed; rescanning every "
                    "input");
        scan_soon(inputs);
        break;
    }
}

/* Lifecycle */

/*
 * Resolves relative globs against the working directory at start, so that
 * log.file.path and the registry name files the same way in every run.
 */
static void make_patterns(struct lf_inputs *inputs)
{
    const struct lf_config *config = inputs->config;
    char cwd[4096];
    size_t count = 0;
    size_t n = 0;

    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        cwd[0] = '\0';
    }
    for (size_t i = 0; i < config->input_count; i++) {
        count += config->inputs[i].path_count;
    }
    inputs->patterns = lf_calloc(count + 1, sizeof(*inputs->patterns));
    for (size_t i = 0; i < config->input_count; i++) {
        const struct lf_input_config *input = &config->inputs[i];
        for (size_t j = 0; j < input->path_count; j++) {
            const char *path = input->paths[j];
            struct lf_buf abs;

            lf_buf_init(&abs);
            while (path[0] == '.' && path[1] == '/') {
                path += 2;
            }
            if (path[0] != '/' && cwd[0] != '\0') {
                lf_buf_append_str(&abs, cwd);
                lf_buf_append_char(&abs, '/');
            }
            lf_buf_append_str(&abs, path);
            inputs->patterns[n++] = abs.data;
        }
    }
}

int lf_inputs_new(uv_loop_t *loop, const struct lf_config *config,
                  const struct lf_input_sink *sink, bool once,
                  struct lf_inputs **out)
{
    struct lf_inputs *inputs = lf_calloc(1, sizeof(*inputs));
    int rc;

    inputs->loop = loop;
    inputs->config = config;
    inputs->sink = *sink;
    inputs->once = once;
    inputs->chunk = lf_malloc(READ_CHUNK_BYTES);
    make_patterns(inputs);
    inputs->scan_interval_ms = LF_CONFIG_DEFAULT_SCAN_FREQUENCY_MS;
    for (size_t i = 0; i < config->input_count; i++) {
        uint64_t ms = (uint64_t)config->inputs[i].scan_frequency_ms;
        if (i == 0 || ms < inputs->scan_interval_ms) {
            inputs->scan_interval_ms = ms;
        }
    }

    uv_idle_init(loop, &inputs->reader);
    inputs->reader.data = inputs;
    uv_timer_init(loop, &inputs->scan_timer);
    inputs->scan_timer.data = inputs;
    uv_timer_init(loop, &inputs->scan_soon);
    inputs->scan_soon.data = inputs;

    if (!once) {
        rc = lf_watcher_new(loop, on_watch, inputs, &inputs->watcher);
        if (rc != 0) {
            lf_log_warn("input", "inotify_init1 failed: %s (%s); new lines "
                        "are found by rescans every %llu ms",
                        lf_strerror(rc), lf_err_name(rc),
                        (unsigned long long)inputs->scan_interval_ms);
            inputs->watcher = NULL;
        }
    }
    *out = inputs;
    return 0;
}

void lf_inputs_start(struct lf_inputs *inputs)
{
    scan(inputs);
    if (!inputs->once) {
        uv_timer_start(&inputs->scan_timer, on_scan_timer,
                       inputs->scan_interval_ms, inputs->scan_interval_ms);
    } else {
        /* Nothing matched: report completion from the loop. */
        uv_idle_start(&inputs->reader, on_reader_idle);
    }
    if (inputs->ready_head != NULL) {
        uv_idle_start(&inputs->reader, on_reader_idle);
    }
}

static const struct lf_input_config *find_input(const struct lf_config *config,
                                               const char *id)
{
    for (size_t i = 0; i < config->input_count; i++) {
        if (strcmp(config->inputs[i].id, id) == 0) {
            return &config->inputs[i];
        }
    }
    return NULL;
}

/* Stores the path of the entry's inode in its last folder, if it is there. */
static bool find_moved_file(const struct lf_registry_entry *entry,
                            struct lf_buf *path_out)
{
    struct lf_file_stat st;

    return find_inode(entry->path, entry->dev, entry->ino, path_out) &&
           lf_file_stat_path(path_out->data, &st) == 0 &&
           st.size > entry->offset;
}

void lf_inputs_adopt(struct lf_inputs *inputs, struct lf_registry *registry)
{
    struct lf_registry_entry *entry;
    struct lf_buf path;

    lf_buf_init(&path);
    for (size_t i = 0; (entry = lf_registry_entry_at(registry, i)) != NULL;
         i++) {
        const struct lf_input_config *input;
        struct harvester *h;

        if (entry->input_id == NULL ||
            find_harvester(inputs, entry->dev, entry->ino) != NULL) {
            continue;
        }
        input = find_input(inputs->config, entry->input_id);
        if (input == NULL || !find_moved_file(entry, &path)) {
            continue;
        }
        h = open_harvester(inputs, input, path.data);
        if (h != NULL) {
            h->expected_id = entry->base_id;
            mark_gone(h);
            lf_log_info("input", "resuming a file renamed away from the "
                        "globs path=%s input=%s offset=%llu", path.data,
                        input->id, (unsigned long long)entry->offset);
        }
    }
    lf_buf_cleanup(&path);
}

void lf_inputs_resume(struct lf_inputs *inputs)
{
    for (struct harvester *h = inputs->harvesters; h != NULL; h = h->next) {
        if (h->state == HARVESTER_PAUSED) {
            h->state = HARVESTER_READING;
            schedule_read(h);
        }
    }
}

void lf_inputs_stop(struct lf_inputs *inputs)
{
    inputs->stopped = true;
    uv_timer_stop(&inputs->scan_timer);
    uv_timer_stop(&inputs->scan_soon);
}

void lf_inputs_stats(const struct lf_inputs *inputs,
                     struct lf_input_stats *out)
{
    *out = inputs->stats;
}

static void free_inputs(uv_handle_t *handle)
{
    struct lf_inputs *inputs = handle->data;

    for (size_t i = 0; i < inputs->failed_count; i++) {
        lf_free(inputs->failed[i].path);
    }
    lf_free(inputs->failed);
    for (char **pattern = inputs->patterns; *pattern != NULL; pattern++) {
        lf_free(*pattern);
    }
    lf_free(inputs->patterns);
    lf_free(inputs->chunk);
    lf_free(inputs);
}

void lf_inputs_close(struct lf_inputs *inputs)
{
    struct harvester *h;

    lf_inputs_stop(inputs);
    /* Nothing will read the ready list again. */
    for (h = inputs->ready_head; h != NULL; h = h->next_ready) {
        h->ready = false;
    }
    inputs->ready_head = NULL;
    inputs->ready_tail = NULL;
    while ((h = inputs->harvesters) != NULL) {
        if (h->state == HARVESTER_CLOSING) {
            release_harvester(h);
        } else {
            harvester_close(h);
        }
    }
    lf_watcher_close(inputs->watcher);
    uv_close((uv_handle_t *)&inputs->scan_timer, NULL);
    uv_close((uv_handle_t *)&inputs->scan_soon, NULL);
    uv_close((uv_handle_t *)&inputs->reader, free_inputs);
}
