/*
 * Discovery and harvesting of log files. Reads happen on the loop thread
 * with pread(): log files are read from the page cache, where a 64 KiB
 * read costs microseconds, and a read budget per turn keeps one busy file
 * from starving the others and the network.
 */
#include "agent/input/input.h"
#include "agent/input/file_id.h"
#include "agent/input/globstar.h"
#include "agent/input/gz_reader.h"
#include "agent/input/line_stages.h"
#include "agent/input/poller.h"
#include "agent/input/watcher.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK_BYTES (64 * 1024)
#define READ_BUDGET_CHUNKS 16  /* per harvester per loop turn */
#define SCAN_DEBOUNCE_MS 50
/*
 * Under harvester_limit, a harvester at its end whose lines still wait
 * for results checks again after this long before yielding its slot.
 */
#define YIELD_RETRY_MS 100

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
    int poll_id;           /* stat polling entry, or 0 */
    enum harvester_state state;
    struct lf_line_stages stages;
    struct lf_gz_reader *gz; /* owned; set for a gzip file, else NULL */
    void *source;          /* the sink's per-file context */
    bool ready;            /* queued for a read */
    bool at_eof;           /* the last read returned no bytes */
    bool gone;             /* no matched path refers to the file */
    bool seen;             /* found by the scan in progress */
    uint64_t expected_id;  /* adopted from the registry: its base id, or 0 */
    uint64_t head_hash;    /* lf_file_head_hash() of the first line */
    int64_t btime_ns;      /* birth time at identification, or 0 */
    bool is_copy;          /* continues a truncated file's old identity */
    bool copy_wait;        /* identification waits for a truncation */
    struct truncation truncated;
    uint64_t opened_ms;    /* loop time of the open, for close.timeout */
    uint64_t gone_ms;      /* loop time `gone` was set */
    uint64_t read_ms;      /* loop time of the last read that got bytes */
    struct lf_input_counts *counts; /* its input's counters; see counter */
    int open_handles;      /* timers still to close before the free */
    uv_timer_t close_timer; /* close.inactive, armed at the end of the file */
    uv_timer_t limit_timer; /* close.timeout and close.removed_after */
    uv_timer_t line_timer; /* lf_line_stages_deadline() */
};

/*
 * A matched file that waits for a slot under harvester_limit.
 * NOTE: it is found again by `path` only, so a file renamed away from
 * the globs while it waits is never read.
 */
struct waiting_file {
    const struct lf_input_config *input;
    char *path;
    uint64_t dev;
    uint64_t ino;
    int64_t end_offset; /* see open_harvester() */
};

/*
 * A file whose harvester a reload stopped because its input changed. The
 * restarted input reads the rest of it unless a scan reaches it under a
 * matched name (see adopt_stopped_files()).
 */
struct stopped_file {
    const char *input_id; /* borrowed from the new configuration */
    char *path;           /* owned; the name the harvester last knew */
    uint64_t dev;
    uint64_t ino;
    uint64_t base_id;     /* the file's base id, or 0 if not identified */
    int64_t btime_ns;     /* birth time, or 0 if unknown */
    bool gone;            /* no matched name referred to it at the stop */
    uint64_t gone_ms;     /* loop time `gone` was set */
};

/* Reason a path is polled with stat instead of watched by inotify. */
enum poll_reason {
    POLL_NO_INOTIFY,    /* inotify_init1 failed */
    POLL_WATCH_FAILED,  /* inotify_add_watch hit a kernel limit */
    POLL_FS,            /* the file system has no reliable events */
    POLL_REASON_COUNT,
};

/* Paths that fell back to polling since the last warning, by reason. */
struct poll_tally {
    size_t count;
    int error;          /* POLL_NO_INOTIFY, POLL_WATCH_FAILED */
    const char *fs;     /* POLL_FS: the last file system seen */
};

/*
 * The counters of one input id. They outlive reloads, which replace the
 * input configurations but not the ids, so the pointers that harvesters
 * keep stay valid until the inputs are freed.
 */
struct counter {
    char *id;
    struct lf_input_counts counts;
};

/* A path that could not be opened, remembered to warn only once. */
struct failed_path {
    char *path;
    int error;
};

struct lf_inputs {
    uv_loop_t *loop;
    const struct lf_config *config;
    struct counter **counters; /* one per input id seen, never removed */
    size_t counter_count;
    /*
     * One flag per entry of config->inputs. `deferred`: a reload added
     * or changed the input, which waits for lf_inputs_start_deferred().
     * `unscanned`: the input's first scan is still to come.
     */
    bool *deferred;
    bool *unscanned;
    bool first_scan;       /* the scan in progress is its input's first */
    struct lf_input_sink sink;
    bool once;
    bool stopped;
    bool discovery_stopped; /* lf_inputs_read_to_end() was called */
    void (*on_read_to_end)(void *arg);
    void *read_to_end_arg;
    struct lf_watcher *watcher;
    int inotify_error;     /* why `watcher` is NULL outside `once` mode */
    struct lf_poller *poller;
    struct poll_tally poll_tally[POLL_REASON_COUNT];
    struct waiting_file *waiting; /* FIFO, oldest first */
    size_t waiting_count;
    /* Stopped by the last reload, until lf_inputs_start_deferred(). */
    struct stopped_file *stopped_files;
    size_t stopped_count;
    struct harvester *harvesters;
    struct harvester *ready_head;
    struct harvester *ready_tail;
    uv_idle_t reader;
    uv_timer_t scan_timer;
    uv_timer_t scan_soon;
    int open_handles;      /* handles still to close before the free */
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
static void arm_line_timer(struct harvester *h);
static void look_for_replaced_copy(struct harvester *h);
static void after_eof(struct harvester *h);
static void on_limit_timer(uv_timer_t *timer);
static int match_copy(struct harvester *h, uint64_t head_hash,
                      uint64_t size);
static struct harvester *open_harvester(struct lf_inputs *inputs,
                                        const struct lf_input_config *input,
                                        const char *path, int64_t end_offset);

/* Counters */

/* Returns the counters of input `id`, created on first use. */
static struct lf_input_counts *find_counts(struct lf_inputs *inputs,
                                           const char *id)
{
    struct counter *counter;

    for (size_t i = 0; i < inputs->counter_count; i++) {
        if (strcmp(inputs->counters[i]->id, id) == 0) {
            return &inputs->counters[i]->counts;
        }
    }
    counter = lf_calloc(1, sizeof(*counter));
    counter->id = lf_strdup(id);
    inputs->counters = lf_realloc(inputs->counters,
                                  (inputs->counter_count + 1) *
                                      sizeof(*inputs->counters));
    inputs->counters[inputs->counter_count++] = counter;
    return &counter->counts;
}

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
    lf_log_warn("input", "%s failed: %s (%s); skipping the file until it "
                "changes input=%s path=%s",
                what, lf_strerror(error), lf_err_name(error), input->id, path);
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

/* Watching: inotify where it works, stat polling elsewhere */

/* Errors of inotify_add_watch that a kernel limit causes. */
static bool is_watch_limit(int error)
{
    return error == LF_ENOSPC || error == LF_EMFILE || error == LF_ENOMEM;
}

static void count_polled(struct lf_inputs *inputs, enum poll_reason reason,
                         int error, const char *fs)
{
    struct poll_tally *tally = &inputs->poll_tally[reason];

    tally->count++;
    tally->error = error;
    tally->fs = fs;
}

/*
 * Logs one warning for every path that fell back to polling since the
 * last one, so a limit reached by hundreds of paths is reported once.
 */
static void report_polled(struct lf_inputs *inputs)
{
    struct poll_tally *tally = inputs->poll_tally;
    size_t total = 0;
    struct lf_buf why;

    for (int i = 0; i < POLL_REASON_COUNT; i++) {
        total += tally[i].count;
    }
    if (total == 0) {
        return;
    }
    lf_buf_init(&why);
    if (tally[POLL_NO_INOTIFY].count > 0) {
        lf_buf_appendf(&why, "; %zu because inotify_init1 failed: %s (%s), "
                       "see fs.inotify.max_user_instances",
                       tally[POLL_NO_INOTIFY].count,
                       lf_strerror(tally[POLL_NO_INOTIFY].error),
                       lf_err_name(tally[POLL_NO_INOTIFY].error));
    }
    if (tally[POLL_WATCH_FAILED].count > 0) {
        lf_buf_appendf(&why, "; %zu because inotify_add_watch failed: %s "
                       "(%s), see fs.inotify.max_user_watches",
                       tally[POLL_WATCH_FAILED].count,
                       lf_strerror(tally[POLL_WATCH_FAILED].error),
                       lf_err_name(tally[POLL_WATCH_FAILED].error));
    }
    if (tally[POLL_FS].count > 0) {
        lf_buf_appendf(&why, "; %zu on file systems whose changes inotify "
                       "can miss, such as %s", tally[POLL_FS].count,
                       tally[POLL_FS].fs);
    }
    lf_log_warn("input", "polling %zu path%s with stat instead of inotify, "
                "at stat_poll.interval backing off to "
                "stat_poll.max_interval while unchanged%s paths_polled=%zu",
                total, total == 1 ? "" : "s", why.data,
                lf_poller_count(inputs->poller));
    lf_buf_cleanup(&why);
    memset(inputs->poll_tally, 0, sizeof(inputs->poll_tally));
}

/*
 * Watches a folder for entries that appear or move. Errors other than a
 * kernel limit (ENOENT: the folder does not exist yet) are left to the
 * next scan. NOTE: a folder once polled stays polled while it exists,
 * even after inotify watches become available again.
 */
static void watch_dir(struct lf_inputs *inputs,
                      const struct lf_input_config *input, const char *dir)
{
    enum poll_reason reason = POLL_NO_INOTIFY;
    int error = inputs->inotify_error;
    const char *fs = NULL;
    int rc;

    if (inputs->poller == NULL || lf_poller_has_dir(inputs->poller, dir)) {
        return;
    }
    if (inputs->watcher != NULL) {
        fs = lf_watcher_check_fs(dir, -1);
        reason = POLL_FS;
        if (fs == NULL) {
            error = lf_watcher_add_dir(inputs->watcher, dir, inputs);
            if (error >= 0 || !is_watch_limit(error)) {
                return;
            }
            reason = POLL_WATCH_FAILED;
        }
    }
    rc = lf_poller_add_dir(inputs->poller, dir,
                           (uint64_t)input->stat_poll_interval_ms,
                           (uint64_t)input->stat_poll_max_interval_ms,
                           inputs);
    if (rc > 0) {
        count_polled(inputs, reason, error, fs);
    }
}

/* Watches an open file for appends, truncation and renames. */
static void watch_file(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;
    const struct lf_input_config *input = h->info.input;
    enum poll_reason reason = POLL_NO_INOTIFY;
    int error = inputs->inotify_error;
    const char *fs = NULL;
    char proc_path[64];

    if (inputs->poller == NULL) {
        return;
    }
    if (inputs->watcher != NULL) {
        fs = lf_watcher_check_fs(NULL, h->fd);
        reason = POLL_FS;
        if (fs == NULL) {
            /* Watch the open inode itself, whatever its name becomes. */
            snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d",
                     h->fd);
            error = lf_watcher_add_file(inputs->watcher, proc_path, h);
            if (error >= 0) {
                h->wd = error;
                return;
            }
            if (!is_watch_limit(error)) {
                return;
            }
            reason = POLL_WATCH_FAILED;
        }
    }
    h->poll_id = lf_poller_add_fd(inputs->poller, h->fd,
                                  (uint64_t)input->stat_poll_interval_ms,
                                  (uint64_t)input->stat_poll_max_interval_ms,
                                  h);
    if (h->poll_id > 0) {
        count_polled(inputs, reason, error, fs);
    } else {
        h->poll_id = 0;
    }
}

/* harvester_limit: files beyond the limit wait for a slot, in turn */

/*
 * Returns true when `a` and `b` configure the same input. A reload keeps
 * the harvesters of an unchanged input on the configuration they were
 * opened with, so that input has an entry in each configuration.
 */
static bool same_input(const struct lf_input_config *a,
                       const struct lf_input_config *b)
{
    return a == b || strcmp(a->id, b->id) == 0;
}

static size_t count_open(const struct lf_inputs *inputs,
                         const struct lf_input_config *input)
{
    size_t count = 0;

    for (const struct harvester *h = inputs->harvesters; h != NULL;
         h = h->next) {
        if (same_input(h->info.input, input) &&
            h->state != HARVESTER_CLOSING) {
            count++;
        }
    }
    return count;
}

static bool at_limit(const struct lf_inputs *inputs,
                     const struct lf_input_config *input)
{
    return input->harvester_limit > 0 &&
           count_open(inputs, input) >= input->harvester_limit;
}

static bool has_waiting(const struct lf_inputs *inputs,
                        const struct lf_input_config *input)
{
    for (size_t i = 0; i < inputs->waiting_count; i++) {
        if (same_input(inputs->waiting[i].input, input)) {
            return true;
        }
    }
    return false;
}

static bool is_waiting(const struct lf_inputs *inputs, uint64_t dev,
                       uint64_t ino)
{
    for (size_t i = 0; i < inputs->waiting_count; i++) {
        if (inputs->waiting[i].dev == dev && inputs->waiting[i].ino == ino) {
            return true;
        }
    }
    return false;
}

/* Queues a file for a slot unless it is queued already. */
static void push_waiting(struct lf_inputs *inputs,
                         const struct lf_input_config *input,
                         const char *path, uint64_t dev, uint64_t ino,
                         int64_t end_offset)
{
    struct waiting_file *w;

    if (is_waiting(inputs, dev, ino)) {
        return;
    }
    inputs->waiting = lf_realloc(inputs->waiting, (inputs->waiting_count + 1) *
                                                      sizeof(*w));
    w = &inputs->waiting[inputs->waiting_count++];
    w->input = input;
    w->path = lf_strdup(path);
    w->dev = dev;
    w->ino = ino;
    w->end_offset = end_offset;
}

/*
 * Opens the files of `input` that wait for a slot, oldest first, while
 * the input is under its limit. A file whose path now names another
 * inode, or none, is dropped: the next scan queues it again if it still
 * matches.
 */
static void open_waiting(struct lf_inputs *inputs,
                         const struct lf_input_config *input)
{
    size_t i = 0;

    while (i < inputs->waiting_count && !at_limit(inputs, input)) {
        struct waiting_file w = inputs->waiting[i];
        struct lf_file_stat st;

        if (!same_input(w.input, input)) {
            i++;
            continue;
        }
        inputs->waiting_count--;
        memmove(&inputs->waiting[i], &inputs->waiting[i + 1],
                (inputs->waiting_count - i) * sizeof(w));
        if (lf_file_stat_path(w.path, &st) == 0 && st.dev == w.dev &&
            st.ino == w.ino) {
            open_harvester(inputs, w.input, w.path, w.end_offset);
        }
        lf_free(w.path);
    }
}

static void on_yield_timer(uv_timer_t *timer)
{
    struct harvester *h = timer->data;

    if (h->at_eof && (h->state == HARVESTER_READING ||
                      h->state == HARVESTER_WAITING_HEAD)) {
        after_eof(h);
    }
}

/*
 * Gives the slot of a harvester at its end to the oldest waiting file of
 * its input and queues it behind the others. It waits until every line it
 * read has a result, so it resumes from the registry without a resend.
 * Returns true when the harvester yields now or will check again.
 */
static bool yield_slot(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;
    const struct lf_input_config *input = h->info.input;

    if (input->harvester_limit == 0 || h->gone || inputs->once ||
        !has_waiting(inputs, input)) {
        return false;
    }
    if (h->source != NULL &&
        inputs->sink.pending(inputs->sink.arg, h->source) > 0) {
        uv_timer_start(&h->close_timer, on_yield_timer, YIELD_RETRY_MS, 0);
        return true;
    }
    /* Without a source the file was never identified: keep its start. */
    push_waiting(inputs, input, h->path, h->info.dev, h->info.ino,
                 h->source == NULL ? (int64_t)h->info.start_offset : -1);
    harvester_close(h);
    return true;
}

/* Returns the offset just after the last "\n" before `size`, or 0. */
static uint64_t last_line_start(struct lf_inputs *inputs, int fd,
                                uint64_t size)
{
    uint64_t end = size;

    while (end > 0) {
        size_t want = end < READ_CHUNK_BYTES ? (size_t)end : READ_CHUNK_BYTES;
        ssize_t n = pread(fd, inputs->chunk, want, (off_t)(end - want));

        if (n != (ssize_t)want) {
            return 0; /* read from the start rather than skip data */
        }
        for (size_t i = want; i > 0; i--) {
            if (inputs->chunk[i - 1] == '\n') {
                return end - want + i;
            }
        }
        end -= want;
    }
    return 0;
}

/* Returns true when the file is older than the input's ignore_older. */
static bool is_ignored_older(const struct lf_input_config *input,
                             const char *path)
{
    struct timespec now;
    struct stat st;
    int64_t age_ms;

    if (input->ignore_older_ms <= 0 || stat(path, &st) != 0) {
        return false;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    age_ms = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000 +
             ((int64_t)now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
    return age_ms > input->ignore_older_ms;
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

/*
 * Returns true when the code unit before `offset` is not "\n": the line
 * up to `offset` was shipped by partial_line_timeout, and the "\n" that
 * ends it must not become an empty event.
 */
static bool follows_partial_line(const struct harvester *h, uint64_t offset)
{
    enum lf_encoding encoding = h->info.input->encoding;
    size_t unit = lf_encoding_unit(encoding);
    char before[2];

    if (offset < unit || h->gz != NULL) {
        return false;
    }
    return pread(h->fd, before, unit, (off_t)(offset - unit)) ==
               (ssize_t)unit &&
           memcmp(before, lf_encoding_newline(encoding), unit) != 0;
}

/* Computes the identity once the first line is complete. */
static int identify(struct harvester *h)
{
    char head[LF_FILE_HEAD_MAX];
    const struct lf_cuts *cuts;
    struct lf_file_stat st;
    size_t head_len;
    uint64_t base_id;
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
    base_id = lf_file_id(&st, head, head_len);
    if (base_id != h->info.base_id) {
        /*
         * After a truncation with a new first line the id changes anyway:
         * generation 0, so a restart that finds no saved entry for the new
         * content gives its lines the same ids again.
         */
        h->info.generation = 0;
    }
    h->info.base_id = base_id;
    h->btime_ns = st.btime_ns;
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

    h->info.replaced_head_hash = 0;
    offset = h->inputs->sink.open_file(h->inputs->sink.arg, &h->info,
                                       &h->source);
    if (h->info.replaced_head_hash != 0 && !h->truncated.pending) {
        look_for_replaced_copy(h);
    }
    cuts = h->inputs->sink.cuts(h->inputs->sink.arg, h->source);
    if (offset > st.size && h->gz == NULL) {
        lf_log_warn("input",
                    "file is smaller than its saved offset, reading it "
                    "from the start path=%s offset=%llu size=%llu",
                    h->path, (unsigned long long)offset,
                    (unsigned long long)st.size);
        offset = 0;
        cuts = NULL; /* they describe the old content */
    }
    lf_line_stages_init(&h->stages, h->info.input, offset,
                        follows_partial_line(h, offset));
    lf_line_stages_set_cuts(&h->stages, cuts);
    h->state = HARVESTER_READING;
    lf_log_info("input", "harvesting file path=%s input=%s offset=%llu",
                h->path, h->info.input->id, (unsigned long long)offset);
    return 0;
}

/* Adds `event` to its input's counters; `sent` counts it as a line read. */
static void count_input(struct harvester *h, const struct lf_line *event,
                        bool sent)
{
    h->counts->bytes_read += event->end_offset - event->offset;
    if (sent) {
        h->counts->lines_read++;
    }
}

static int send_event(void *arg, const struct lf_line *event)
{
    struct harvester *h = arg;
    struct lf_inputs *inputs = h->inputs;

    if (inputs->sink.on_line(inputs->sink.arg, h->source, &h->info,
                             event) == LF_EFULL) {
        return LF_EFULL;
    }
    inputs->stats.lines_read++;
    inputs->stats.bytes_read += event->end_offset - event->offset;
    count_input(h, event, true);
    if (event->truncated) {
        inputs->stats.lines_truncated++;
    }
    return 0;
}

static void skip_event(void *arg, const struct lf_line *event)
{
    struct harvester *h = arg;
    struct lf_inputs *inputs = h->inputs;

    inputs->sink.on_filtered(inputs->sink.arg, h->source,
                             event->commit_offset);
    inputs->stats.lines_filtered++;
    inputs->stats.bytes_read += event->end_offset - event->offset;
    count_input(h, event, false);
}

static void record_cut(void *arg, const struct lf_cut *cut)
{
    struct harvester *h = arg;

    h->inputs->sink.add_cut(h->inputs->sink.arg, h->source, cut);
}

/*
 * Finishes a stage call: after LF_EFULL the stages go back to the first
 * byte of the rejected event and the harvester pauses until the sink has
 * room. Returns `rc`.
 */
static int after_stages(struct harvester *h, int rc, uint64_t rewind)
{
    if (rc == LF_EFULL) {
        lf_line_stages_reset(&h->stages, rewind,
                             follows_partial_line(h, rewind));
        h->state = HARVESTER_PAUSED;
    }
    arm_line_timer(h);
    return rc;
}

/* Sends every event of `len` bytes at the stages' offset to the sink. */
static int feed(struct harvester *h, const char *data, size_t len)
{
    struct lf_line_events events = {h, send_event, skip_event, record_cut};
    uint64_t rewind = 0;
    int rc;

    rc = lf_line_stages_feed(&h->stages, data, len, uv_now(h->inputs->loop),
                             &events, &rewind);
    return after_stages(h, rc, rewind);
}

/*
 * Sends the pending multiline group because reading stops. Returns
 * LF_EFULL when the sink had no room, and the harvester is then paused.
 */
static int finish_stages(struct harvester *h)
{
    struct lf_line_events events = {h, send_event, skip_event, record_cut};
    uint64_t rewind = 0;
    int rc;

    if (h->state != HARVESTER_READING) {
        return 0;
    }
    rc = lf_line_stages_finish(&h->stages, &events, &rewind);
    return after_stages(h, rc, rewind);
}

/*
 * Sends everything the stages hold before a renamed or removed file is
 * closed: the unterminated last line (unless partial_line_timeout is 0),
 * which no writer will finish, container parts whose last part never
 * came, and the multiline groups. Returns as finish_stages().
 */
static int drain_stages(struct harvester *h)
{
    struct lf_line_events events = {h, send_event, skip_event, record_cut};
    uint64_t rewind = 0;
    int rc;

    if (h->state != HARVESTER_READING) {
        return 0;
    }
    rc = lf_line_stages_drain(&h->stages, &events, &rewind);
    return after_stages(h, rc, rewind);
}

/*
 * Flushes a stalled unterminated line or an idle multiline group. Bytes
 * not read yet come first: the read turn feeds them and re-arms the timer.
 */
static void on_line_timer(uv_timer_t *timer)
{
    struct harvester *h = timer->data;
    struct lf_line_events events = {h, send_event, skip_event, record_cut};
    struct lf_file_stat st;
    uint64_t rewind = 0;
    int rc;

    if (h->state != HARVESTER_READING || h->inputs->stopped) {
        return;
    }
    if (lf_file_fstat(h->fd, &st) == 0 &&
        lf_line_stages_has_unread(&h->stages, st.size)) {
        schedule_read(h);
        return;
    }
    rc = lf_line_stages_expire(&h->stages, uv_now(h->inputs->loop), &events,
                               &rewind);
    after_stages(h, rc, rewind);
}

static void arm_line_timer(struct harvester *h)
{
    uint64_t deadline = 0;
    uint64_t now = uv_now(h->inputs->loop);

    if (h->state == HARVESTER_READING) {
        deadline = lf_line_stages_deadline(&h->stages);
    }
    if (deadline == 0) {
        uv_timer_stop(&h->line_timer);
        return;
    }
    uv_timer_start(&h->line_timer, on_line_timer,
                   deadline > now ? deadline - now : 0, 0);
}

/*
 * Decompresses the next chunk of a gzip file, first skipping up to the
 * read offset, which a resumed file starts at. Returns as pread().
 */
static ssize_t read_gz(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;
    int rc = lf_gz_reader_skip(h->gz, h->fd, lf_line_stages_offset(&h->stages),
                               inputs->chunk, READ_CHUNK_BYTES);

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
        uint64_t offset = lf_line_stages_offset(&h->stages);
        ssize_t n;

        if (h->gz != NULL) {
            n = read_gz(h);
        } else {
            n = pread(h->fd, inputs->chunk, READ_CHUNK_BYTES, (off_t)offset);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                n = -errno;
            }
        }
        if (n < 0) {
            lf_log_error("input", "read failed: %s (%s); closing the file "
                         "input=%s path=%s", lf_strerror((int)n),
                         lf_err_name((int)n), h->info.input->id, h->path);
            harvester_close(h);
            return false;
        }
        if (n == 0) {
            h->at_eof = true;
            return false;
        }
        if (!lf_line_stages_has_unread(&h->stages,
                                       offset + (uint64_t)n)) {
            /* Only part of a UTF-16 code unit was written so far. */
            h->at_eof = true;
            return false;
        }
        h->at_eof = false;
        h->read_ms = uv_now(inputs->loop);
        if (feed(h, inputs->chunk, (size_t)n) == LF_EFULL) {
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
    if (h->poll_id > 0) {
        /* NOTE: a polled file keeps its descriptor: fstat() polls it. */
        return;
    }
    uv_timer_stop(&h->close_timer);
    close(h->fd);
    h->fd = -1;
    h->state = HARVESTER_IDLE;
    h->inputs->stats.files_idle++;
    lf_log_info("input", "closing file until it is written again path=%s "
                "offset=%llu", h->path,
                (unsigned long long)lf_line_stages_offset(&h->stages));
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
        lf_file_fstat(h->fd, &st) != 0 ||
        st.size <= lf_line_stages_held_offset(&h->stages)) {
        return 0;
    }
    return st.size - lf_line_stages_held_offset(&h->stages);
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
                          : lf_line_stages_held_offset(&h->stages);

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

    if (h->state == HARVESTER_READING) {
        lf_line_stages_at_eof(&h->stages, uv_now(inputs->loop));
        arm_line_timer(h);
    }
    if (inputs->once) {
        if (finish_stages(h) == 0) {
            harvester_close(h);
        }
        return;
    }
    if (is_deleted(h)) {
        /* No writer can finish a line or a group of a removed file. */
        if (drain_stages(h) != 0) {
            return;
        }
        lf_log_info("input", "closing removed file read to its end path=%s "
                    "offset=%llu", h->path,
                    (unsigned long long)lf_line_stages_offset(&h->stages));
        harvester_close(h);
        return;
    }
    if (h->state != HARVESTER_READING) {
        return; /* the first line is not complete yet */
    }
    if (h->gone) {
        /*
         * NOTE: an unterminated last line of a file renamed away is shipped
         * here, so a writer still in the middle of that line when the file
         * was rotated gets it split in two events.
         */
        if (drain_stages(h) == 0) {
            make_idle(h);
        }
        return;
    }
    if (yield_slot(h)) {
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
            copy = open_harvester(h->inputs, h->info.input, path.data, -1);
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
 * Looks for the rotated copy of the content that the inode of `h`
 * contained before it was truncated while the agent was stopped. A running
 * agent does the same in restart_if_truncated().
 */
static void look_for_replaced_copy(struct harvester *h)
{
    struct truncation *t = &h->truncated;

    lf_log_info("input", "file was truncated while the agent was stopped, "
                "looking for its rotated copy path=%s offset=%llu", h->path,
                (unsigned long long)h->info.replaced_offset);
    t->pending = true;
    t->head_hash = h->info.replaced_head_hash;
    t->doc_file_id = h->info.replaced_doc_file_id;
    t->offset = h->info.replaced_offset;
    t->size_seen = t->offset;
    t->scan = h->inputs->scans;
    find_copy(h);
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
    if (st.size >= lf_line_stages_offset(&h->stages)) {
        rc = lf_file_read_head(h->fd, head, &head_len);
        if (rc != 0 || lf_file_id(&st, head, head_len) == h->info.base_id) {
            h->info.size = st.size;
            return false;
        }
    }

    lf_log_warn("input", "file was truncated, reading it again from the "
                "start path=%s offset=%llu size=%llu", h->path,
                (unsigned long long)lf_line_stages_offset(&h->stages),
                (unsigned long long)st.size);
    if (t->pending) {
        give_up_truncated(h);
    }
    t->pending = true;
    t->head_hash = h->head_hash;
    t->doc_file_id = h->info.doc_file_id;
    t->offset = lf_line_stages_held_offset(&h->stages);
    t->size_seen = h->info.size > t->offset ? h->info.size : t->offset;
    t->scan = h->inputs->scans;
    h->inputs->stats.files_truncated++;

    h->inputs->sink.close_file(h->inputs->sink.arg, h->source, true);
    h->source = NULL;
    /*
     * A line or multiline group still held starts at t->offset, so it is
     * read again from the rotated copy, or counted as lost.
     */
    lf_line_stages_cleanup(&h->stages);
    uv_timer_stop(&h->line_timer);
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

    /*
     * The kernel can give a removed file's inode number to a new file,
     * such as the next rotated copy, at once. The birth time differs.
     */
    found = lf_file_stat_path(h->path, &st) == 0 && st.dev == h->info.dev &&
            st.ino == h->info.ino && st.btime_ns == h->btime_ns;
    if (!found) {
        lf_buf_init(&moved);
        found = find_inode(h->path, h->info.dev, h->info.ino, &moved) &&
                lf_file_stat_path(moved.data, &st) == 0 &&
                st.btime_ns == h->btime_ns;
        if (found) {
            set_path(h, moved.data);
        }
        lf_buf_cleanup(&moved);
    }
    if (!found) {
        lf_log_info("input", "file was removed while closed path=%s "
                    "offset=%llu", h->path,
                    (unsigned long long)lf_line_stages_offset(&h->stages));
        harvester_close(h);
        return false;
    }
    if (st.size == (h->gz != NULL ? h->gz->in_offset
                                  : lf_line_stages_offset(&h->stages))) {
        return false;
    }

    fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0 && (lf_file_fstat(fd, &st) != 0 || st.dev != h->info.dev ||
                    st.ino != h->info.ino || st.btime_ns != h->btime_ns)) {
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
                "offset=%llu", h->path,
                (unsigned long long)lf_line_stages_offset(&h->stages));
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
            lf_log_error("input", "reading the first line failed: %s; "
                         "closing the file input=%s path=%s",
                         lf_strerror(rc), h->info.input->id, h->path);
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
    uv_close((uv_handle_t *)&h->line_timer, free_harvester);
}

static void harvester_close(struct harvester *h)
{
    struct lf_inputs *inputs = h->inputs;

    if (h->state == HARVESTER_CLOSING) {
        return;
    }
    if (h->state != HARVESTER_WAITING_HEAD) {
        lf_line_stages_cleanup(&h->stages);
    }
    uv_timer_stop(&h->line_timer);
    h->state = HARVESTER_CLOSING;
    if (h->wd >= 0 && inputs->watcher != NULL) {
        lf_watcher_remove(inputs->watcher, h->wd);
    }
    if (h->poll_id > 0) {
        lf_poller_remove(inputs->poller, h->poll_id);
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
    if (!inputs->stopped) {
        open_waiting(inputs, h->info.input);
    }

    /* A queued harvester is released by the reader when it comes up. */
    if (!h->ready) {
        release_harvester(h);
    }
}

/*
 * Opens a harvester for `path`. With `end_offset` >= 0, a file unknown to
 * the registry is read from the start of the line that contains that
 * offset, or from the offset itself if it starts a line
 * (start_position: end). With -1 such a file is read from its start.
 */
static struct harvester *open_harvester(struct lf_inputs *inputs,
                                        const struct lf_input_config *input,
                                        const char *path, int64_t end_offset)
{
    struct lf_file_stat st;
    struct harvester *h;
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
            lf_log_error("input", "inflateInit2 failed: %s; skipping the "
                         "file input=%s path=%s", lf_strerror(rc),
                         input->id, path);
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
    if (end_offset > 0) {
        h->info.start_offset =
            last_line_start(inputs, fd, (uint64_t)end_offset);
    }
    h->info.input = input;
    h->counts = find_counts(inputs, input->id);
    h->info.dev = st.dev;
    h->info.ino = st.ino;
    set_path(h, path);
    uv_timer_init(inputs->loop, &h->close_timer);
    h->close_timer.data = h;
    uv_timer_init(inputs->loop, &h->limit_timer);
    h->limit_timer.data = h;
    uv_timer_init(inputs->loop, &h->line_timer);
    h->line_timer.data = h;
    h->open_handles = 3;
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

    watch_file(h);
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
    int64_t end_offset;
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
    if (is_ignored_older(input, path)) {
        return;
    }
    /* start_position: end applies to the files present when it starts. */
    end_offset = input->start_at_end && inputs->first_scan
                     ? (int64_t)st.size
                     : -1;
    if (at_limit(inputs, input) || has_waiting(inputs, input)) {
        push_waiting(inputs, input, path, st.dev, st.ino, end_offset);
        open_waiting(inputs, input);
        return;
    }
    open_harvester(inputs, input, path, end_offset);
}

static void watch_dir_of(struct lf_inputs *inputs,
                         const struct lf_input_config *input,
                         const char *path)
{
    char *copy = lf_strdup(path);

    watch_dir(inputs, input, dirname(copy));
    lf_free(copy);
}

/* Watches every folder that glob(3) finds for `dir_pattern`. */
static void watch_glob_dirs(struct lf_inputs *inputs,
                            const struct lf_input_config *input,
                            const char *dir_pattern)
{
    glob_t g;

    if (glob(dir_pattern, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            watch_dir(inputs, input, g.gl_pathv[i]);
        }
    }
    globfree(&g);
}

/*
 * Watches the folders a pattern can match files in. With wildcards in
 * the folder part ("logs/" "*" "/" "*" "/app.log"), these are the fixed
 * folder above the first wildcard and every folder that each wildcard
 * level matches now ("logs", "logs/" "*", "logs/" "*" "/" "*"). A new
 * folder at any level then triggers a scan, which watches it in turn.
 */
static void watch_pattern_dirs(struct lf_inputs *inputs,
                               const struct lf_input_config *input,
                               const char *pattern)
{
    char *copy;
    char *dir;
    size_t fixed;

    if (inputs->poller == NULL) {
        return;
    }
    copy = lf_strdup(pattern);
    dir = dirname(copy); /* points into `copy` whenever it has a wildcard */
    fixed = strcspn(dir, "*?[");
    if (dir[fixed] == '\0') {
        watch_dir(inputs, input, dir);
        lf_free(copy);
        return;
    }
    for (size_t i = fixed;; i++) {
        char c = dir[i];

        if (c == '/' || c == '\0') {
            dir[i] = '\0';
            watch_glob_dirs(inputs, input, dir);
            dir[i] = c;
        }
        if (c == '\0') {
            break;
        }
    }
    while (fixed > 0 && dir[fixed] != '/') {
        fixed--;
    }
    dir[fixed == 0 ? 1 : fixed] = '\0';
    watch_dir(inputs, input, dir);
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

/*
 * Records that a folder could not be read (EMFILE, EACCES): the matches
 * are incomplete, so no open file may be taken for removed.
 */
static void report_incomplete(struct lf_inputs *inputs,
                              const struct lf_input_config *input,
                              const char *pattern, int error)
{
    if (!inputs->scan_failed) {
        lf_log_warn("input", "glob(\"%s\") failed: %s (%s); files it "
                    "does not list are kept open until a scan succeeds "
                    "input=%s", pattern, lf_strerror(error),
                    lf_err_name(error), input->id);
    }
    inputs->scan_incomplete = true;
}

struct globstar_scan {
    struct lf_inputs *inputs;
    const struct lf_input_config *input;
    size_t count;
};

static void on_globstar_dir(void *arg, const char *dir)
{
    struct globstar_scan *scan = arg;

    watch_dir(scan->inputs, scan->input, dir);
}

static void on_globstar_match(void *arg, const char *path)
{
    struct globstar_scan *scan = arg;

    scan->count++;
    consider_path(scan->inputs, scan->input, path);
}

/* As scan_pattern() for a pattern with `**`, which glob(3) lacks. */
static size_t scan_globstar(struct lf_inputs *inputs,
                            const struct lf_input_config *input,
                            const char *pattern)
{
    struct globstar_scan scan = {inputs, input, 0};
    int rc = lf_globstar_expand(pattern, input->recursive_glob_max_depth,
                                on_globstar_dir, on_globstar_match, &scan);

    if (rc != 0) {
        report_incomplete(inputs, input, pattern, rc);
    }
    return scan.count;
}

/* Returns the number of paths the pattern matched. */
static size_t scan_pattern(struct lf_inputs *inputs,
                           const struct lf_input_config *input,
                           const char *pattern)
{
    size_t count;
    glob_t g;
    int rc;

    if (lf_globstar_has(pattern)) {
        return scan_globstar(inputs, input, pattern);
    }
    watch_pattern_dirs(inputs, input, pattern);
    glob_dir_error = 0;
    rc = glob(pattern, GLOB_NOSORT, on_glob_error, &g);
    if (glob_dir_error != 0 || (rc != 0 && rc != GLOB_NOMATCH)) {
        report_incomplete(inputs, input, pattern,
                          glob_dir_error != 0 ? -glob_dir_error : LF_ENOMEM);
    }
    if (rc != 0) {
        globfree(&g);
        return 0;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        watch_dir_of(inputs, input, g.gl_pathv[i]);
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
    lf_log_warn("input", "no file matches the paths %s%s input=%s",
                list.data,
                inputs->once ? "" : "; files are picked up when they appear",
                input->id);
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

        if (inputs->deferred[i]) {
            pattern += input->path_count;
            continue;
        }
        inputs->first_scan = inputs->unscanned[i];
        for (size_t j = 0; j < input->path_count; j++) {
            matched += scan_pattern(inputs, input, pattern[j]);
        }
        if (matched == 0 && inputs->unscanned[i]) {
            report_no_match(inputs, input, pattern);
        }
        inputs->unscanned[i] = false;
        pattern += input->path_count;
    }
    inputs->first_scan = false;
    inputs->scans++;
    inputs->scan_failed = inputs->scan_incomplete;
    report_polled(inputs);

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

    if (!inputs->stopped && !inputs->discovery_stopped) {
        scan(inputs);
    }
}

static void scan_soon(struct lf_inputs *inputs)
{
    if (!inputs->stopped && !inputs->discovery_stopped &&
        !uv_is_active((uv_handle_t *)&inputs->scan_soon)) {
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

/*
 * Calls on_read_to_end once no harvester has a read queued and none is
 * paused: each has then read its file to the end.
 */
static void check_read_to_end(struct lf_inputs *inputs)
{
    void (*cb)(void *arg) = inputs->on_read_to_end;

    if (cb == NULL || inputs->ready_head != NULL) {
        return;
    }
    for (const struct harvester *h = inputs->harvesters; h != NULL;
         h = h->next) {
        if (h->state == HARVESTER_PAUSED) {
            return;
        }
    }
    inputs->on_read_to_end = NULL;
    cb(inputs->read_to_end_arg);
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
    check_read_to_end(inputs);
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
        /*
         * Events were lost: the rescan finds created and renamed files,
         * and queues a read of every open file, which checks its size.
         */
        inputs->stats.inotify_overflows++;
        lf_log_warn("input", "inotify event queue overflowed, events were "
                    "lost; rescanning every input and checking every open "
                    "file (see fs.inotify.max_queued_events)");
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

static void free_patterns(char **patterns)
{
    for (char **pattern = patterns; *pattern != NULL; pattern++) {
        lf_free(*pattern);
    }
    lf_free(patterns);
}

/*
 * Makes `config` the configuration that scans follow. The inputs flagged
 * in `deferred` (NULL: none) are not scanned until
 * lf_inputs_start_deferred().
 */
static void set_config(struct lf_inputs *inputs,
                       const struct lf_config *config, const bool *deferred)
{
    size_t count = config->input_count;

    inputs->config = config;
    if (inputs->patterns != NULL) {
        free_patterns(inputs->patterns);
    }
    make_patterns(inputs);
    lf_free(inputs->deferred);
    lf_free(inputs->unscanned);
    inputs->deferred = lf_calloc(count + 1, sizeof(*inputs->deferred));
    inputs->unscanned = lf_calloc(count + 1, sizeof(*inputs->unscanned));
    for (size_t i = 0; i < count; i++) {
        inputs->deferred[i] = deferred != NULL && deferred[i];
        inputs->unscanned[i] = inputs->scans == 0 || inputs->deferred[i];
        find_counts(inputs, config->inputs[i].id);
    }
    inputs->scan_interval_ms = LF_CONFIG_DEFAULT_SCAN_FREQUENCY_MS;
    for (size_t i = 0; i < count; i++) {
        uint64_t ms = (uint64_t)config->inputs[i].scan_frequency_ms;
        if (i == 0 || ms < inputs->scan_interval_ms) {
            inputs->scan_interval_ms = ms;
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
    set_config(inputs, config, NULL);

    uv_idle_init(loop, &inputs->reader);
    inputs->reader.data = inputs;
    uv_timer_init(loop, &inputs->scan_timer);
    inputs->scan_timer.data = inputs;
    uv_timer_init(loop, &inputs->scan_soon);
    inputs->scan_soon.data = inputs;

    if (!once) {
        /* Without inotify every path is polled, reported by the scan. */
        rc = lf_watcher_new(loop, on_watch, inputs, &inputs->watcher);
        if (rc != 0) {
            inputs->inotify_error = rc;
            inputs->watcher = NULL;
        }
        inputs->poller = lf_poller_new(loop, on_watch, inputs);
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

/*
 * Returns true when the file at `path` is the one `entry` describes. The
 * inode number is not enough, because the kernel reuses the inode numbers
 * of removed files, so the registry may contain several entries with it.
 */
static bool is_entry_file(const struct lf_registry_entry *entry,
                          const char *path)
{
    char head[LF_FILE_HEAD_MAX];
    struct lf_file_stat st;
    size_t head_len;
    bool match = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        return false;
    }
    if (lf_file_fstat(fd, &st) == 0 && st.size > entry->offset &&
        (lf_gz_path(path) ? lf_gz_read_head(fd, head, &head_len)
                          : lf_file_read_head(fd, head, &head_len)) == 0) {
        match = lf_file_id(&st, head, head_len) == entry->base_id;
    }
    close(fd);
    return match;
}

/* Stores the path of the entry's file in its last folder, if it is there. */
static bool find_moved_file(const struct lf_registry_entry *entry,
                            struct lf_buf *path_out)
{
    return find_inode(entry->path, entry->dev, entry->ino, path_out) &&
           is_entry_file(entry, path_out->data);
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
        h = open_harvester(inputs, input, path.data, -1);
        if (h != NULL) {
            h->expected_id = entry->base_id;
            mark_gone(h);
            lf_log_info("input", "resuming a file renamed away from the "
                        "globs path=%s input=%s offset=%llu", path.data,
                        input->id, (unsigned long long)entry->offset);
        }
    }
    lf_buf_cleanup(&path);
    report_polled(inputs);
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

void lf_inputs_read_to_end(struct lf_inputs *inputs, void (*cb)(void *arg),
                           void *arg)
{
    inputs->discovery_stopped = true;
    uv_timer_stop(&inputs->scan_timer);
    uv_timer_stop(&inputs->scan_soon);
    inputs->on_read_to_end = cb;
    inputs->read_to_end_arg = arg;
    for (struct harvester *h = inputs->harvesters; h != NULL; h = h->next) {
        schedule_read(h);
    }
    /* A reader turn runs even with nothing queued, and then calls `cb`. */
    uv_idle_start(&inputs->reader, on_reader_idle);
}

void lf_inputs_stop(struct lf_inputs *inputs)
{
    /*
     * Pending multiline groups are complete as far as this run can tell,
     * so they are sent before the output drains. Unterminated lines are
     * not: the registry stays at their start and the next run reads them.
     */
    for (struct harvester *h = inputs->harvesters;
         h != NULL && !inputs->stopped; h = h->next) {
        finish_stages(h);
    }
    inputs->stopped = true;
    inputs->on_read_to_end = NULL;
    uv_timer_stop(&inputs->scan_timer);
    uv_timer_stop(&inputs->scan_soon);
}

void lf_inputs_stats(const struct lf_inputs *inputs,
                     struct lf_input_stats *out)
{
    *out = inputs->stats;
    out->paths_polled =
        inputs->poller != NULL ? lf_poller_count(inputs->poller) : 0;
}

bool lf_inputs_input_counts(const struct lf_inputs *inputs, size_t index,
                            const char **id_out, struct lf_input_counts *out)
{
    if (index >= inputs->counter_count) {
        return false;
    }
    *id_out = inputs->counters[index]->id;
    *out = inputs->counters[index]->counts;
    return true;
}

/* Reload */

/* Returns true when the reload to `config` stops `input`'s files. */
static bool stopped_by(const struct lf_config *config, const bool *restart,
                       const struct lf_input_config *input)
{
    const struct lf_input_config *next = find_input(config, input->id);

    return next == NULL || restart[next - config->inputs];
}

/* Records the file of `h`, whose input `next` replaces, for adoption. */
static void push_stopped(struct lf_inputs *inputs, const struct harvester *h,
                         const struct lf_input_config *next)
{
    struct stopped_file *f;

    inputs->stopped_files =
        lf_realloc(inputs->stopped_files,
                   (inputs->stopped_count + 1) * sizeof(*f));
    f = &inputs->stopped_files[inputs->stopped_count++];
    f->input_id = next->id;
    f->path = lf_strdup(h->path);
    f->dev = h->info.dev;
    f->ino = h->info.ino;
    f->base_id = h->state == HARVESTER_WAITING_HEAD ? 0 : h->info.base_id;
    f->btime_ns = h->state == HARVESTER_WAITING_HEAD ? 0 : h->btime_ns;
    f->gone = h->gone;
    f->gone_ms = h->gone_ms;
}

static void free_stopped(struct lf_inputs *inputs)
{
    for (size_t i = 0; i < inputs->stopped_count; i++) {
        lf_free(inputs->stopped_files[i].path);
    }
    lf_free(inputs->stopped_files);
    inputs->stopped_files = NULL;
    inputs->stopped_count = 0;
}

/*
 * Sends the multiline groups that the stages of `h` hold, then closes
 * it. The registry keeps the offset of the first byte not sent, where
 * the next harvester of the file resumes.
 */
static void stop_harvester(struct harvester *h)
{
    lf_log_info("input", "stopping the harvester of a removed or changed "
                "input path=%s input=%s", h->path, h->info.input->id);
    finish_stages(h);
    harvester_close(h);
}

void lf_inputs_reload(struct lf_inputs *inputs, const struct lf_config *config,
                      const bool *restart)
{
    struct harvester *next;
    size_t i = 0;

    /* Dropped first, so closing a harvester opens none of them. */
    while (i < inputs->waiting_count) {
        struct waiting_file *w = &inputs->waiting[i];

        if (!stopped_by(config, restart, w->input)) {
            i++;
            continue;
        }
        lf_free(w->path);
        inputs->waiting_count--;
        memmove(w, w + 1, (inputs->waiting_count - i) * sizeof(*w));
    }
    /*
     * A closed harvester leaves the list unless a read is queued for it.
     * A removed input stops for good. A changed input gets its files
     * back in lf_inputs_start_deferred(), so they are recorded first.
     */
    free_stopped(inputs);
    for (struct harvester *h = inputs->harvesters; h != NULL; h = next) {
        const struct lf_input_config *input = h->info.input;
        const struct lf_input_config *changed;

        next = h->next;
        if (h->state == HARVESTER_CLOSING ||
            !stopped_by(config, restart, input)) {
            continue;
        }
        changed = find_input(config, input->id);
        if (changed != NULL) {
            push_stopped(inputs, h, changed);
        }
        stop_harvester(h);
    }
    /*
     * NOTE: the folders watched for removed inputs stay watched until the
     * inputs close; a change there only triggers a rescan.
     */
    set_config(inputs, config, restart);
    if (!inputs->stopped && !inputs->discovery_stopped) {
        uv_timer_start(&inputs->scan_timer, on_scan_timer,
                       inputs->scan_interval_ms, inputs->scan_interval_ms);
    }
}

/*
 * Stores in `path_out` the name of the stopped file `f` and returns true
 * when the file was renamed away from the globs before or after the
 * stop: it is still in the folder it was last read in, and it was gone
 * already or is no longer under the name its harvester knew. A file
 * still under that name is left to the scan, because a changed `paths`
 * or `exclude_files` may exclude it on purpose.
 */
static bool find_renamed_file(const struct stopped_file *f,
                              struct lf_buf *path_out)
{
    struct lf_file_stat st;

    if (!f->gone && lf_file_stat_path(f->path, &st) == 0 &&
        st.dev == f->dev && st.ino == f->ino) {
        return false;
    }
    /* The kernel reuses the inode numbers of removed files at once. */
    return find_inode(f->path, f->dev, f->ino, path_out) &&
           lf_file_stat_path(path_out->data, &st) == 0 &&
           (f->btime_ns == 0 || st.btime_ns == f->btime_ns);
}

/*
 * Opens the files of changed inputs that the last reload stopped and that
 * the scan of the restarted inputs did not reach. Those files were renamed
 * away from the globs, before the reload or during the wait for their
 * results. Each resumes from its registry offset, which covers every line
 * sent, and is read to its end under the close rules for renamed files.
 */
static void adopt_stopped_files(struct lf_inputs *inputs)
{
    struct lf_buf path;

    lf_buf_init(&path);
    for (size_t i = 0; i < inputs->stopped_count; i++) {
        const struct stopped_file *f = &inputs->stopped_files[i];
        const struct lf_input_config *input;
        struct harvester *h;

        if (find_harvester(inputs, f->dev, f->ino) != NULL ||
            is_waiting(inputs, f->dev, f->ino) ||
            !find_renamed_file(f, &path)) {
            continue;
        }
        input = find_input(inputs->config, f->input_id);
        h = open_harvester(inputs, input, path.data, -1);
        if (h == NULL) {
            continue;
        }
        h->expected_id = f->base_id;
        mark_gone(h);
        if (f->gone) {
            /* close.removed_after counts from the rename, as before. */
            h->gone_ms = f->gone_ms;
            arm_limit_timer(h);
        }
        lf_log_info("input", "resuming a file renamed away from the globs "
                    "after a reload path=%s input=%s", path.data,
                    input->id);
    }
    lf_buf_cleanup(&path);
    free_stopped(inputs);
    report_polled(inputs);
}

void lf_inputs_start_deferred(struct lf_inputs *inputs)
{
    for (size_t i = 0; i < inputs->config->input_count; i++) {
        inputs->deferred[i] = false;
    }
    if (!inputs->stopped && !inputs->discovery_stopped) {
        scan(inputs);
        adopt_stopped_files(inputs);
    }
    free_stopped(inputs);
}

/* Returns true when `input` is one of the entries of config->inputs. */
static bool is_input_of(const struct lf_config *config,
                        const struct lf_input_config *input)
{
    for (size_t i = 0; i < config->input_count; i++) {
        if (input == &config->inputs[i]) {
            return true;
        }
    }
    return false;
}

bool lf_inputs_use_config(const struct lf_inputs *inputs,
                          const struct lf_config *config)
{
    if (inputs->config == config) {
        return true;
    }
    for (const struct harvester *h = inputs->harvesters; h != NULL;
         h = h->next) {
        if (is_input_of(config, h->info.input)) {
            return true;
        }
    }
    for (size_t i = 0; i < inputs->waiting_count; i++) {
        if (is_input_of(config, inputs->waiting[i].input)) {
            return true;
        }
    }
    return false;
}

/*
 * Close callback of the three handles. libuv does not document the order
 * in which it finishes closes, so their struct is freed after the last.
 */
static void free_inputs(uv_handle_t *handle)
{
    struct lf_inputs *inputs = handle->data;

    if (--inputs->open_handles > 0) {
        return;
    }
    for (size_t i = 0; i < inputs->failed_count; i++) {
        lf_free(inputs->failed[i].path);
    }
    lf_free(inputs->failed);
    for (size_t i = 0; i < inputs->waiting_count; i++) {
        lf_free(inputs->waiting[i].path);
    }
    lf_free(inputs->waiting);
    free_stopped(inputs);
    free_patterns(inputs->patterns);
    for (size_t i = 0; i < inputs->counter_count; i++) {
        lf_free(inputs->counters[i]->id);
        lf_free(inputs->counters[i]);
    }
    lf_free(inputs->counters);
    lf_free(inputs->deferred);
    lf_free(inputs->unscanned);
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
    lf_poller_close(inputs->poller);
    inputs->open_handles = 3;
    uv_close((uv_handle_t *)&inputs->scan_timer, free_inputs);
    uv_close((uv_handle_t *)&inputs->scan_soon, free_inputs);
    uv_close((uv_handle_t *)&inputs->reader, free_inputs);
}
