/*
 * The agent's log: lines of text or JSON on stderr or in a file rotated by
 * size, with repeats of one message rate-limited. The level and options
 * are set once at start-up, before any thread runs. A mutex orders the
 * writes, the rotation and the rate-limit table, because the outputs log
 * from their own threads. A summary thread writes the count of suppressed
 * messages when their window ends.
 */
#include "lf/log.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Rate-limit slots, indexed by a hash of the format string's address. A
 * message whose slot is taken by another message takes it over, after
 * the summary of the one it replaces is written.
 * NOTE: so two frequent messages that hash to one slot are limited less.
 */
enum { REPEAT_SLOTS = 256 };

enum { MESSAGE_MAX = 2048 };

struct repeat_slot {
    const char *fmt; /* NULL: free */
    const char *component;
    enum lf_log_level level;
    int64_t window_start_ms; /* CLOCK_MONOTONIC */
    uint64_t count;          /* messages in the window */
    uint64_t suppressed;     /* of those, not written */
    char last[MESSAGE_MAX];  /* the last one suppressed */
};

static enum lf_log_level max_level = LF_LOG_INFO;

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t summary_cond;
static pthread_t summary_thread;
static bool summary_thread_running;
static bool stopping;
static struct lf_log_options log_options = {
    .format = LF_LOG_FORMAT_TEXT,
};
static char *file_path; /* owned copy of log_options.file_path */
static int out_fd = STDERR_FILENO;
static uint64_t file_size;
static struct repeat_slot *slots; /* REPEAT_SLOTS; NULL while off */

static const char *const level_names[] = {
    [LF_LOG_ERROR] = "error",
    [LF_LOG_WARN] = "warn",
    [LF_LOG_INFO] = "info",
    [LF_LOG_DEBUG] = "debug",
    [LF_LOG_TRACE] = "trace",
};

/* Keys of the key=value pairs that JSON lines carry as fields. */
static const char *const id_keys[] = {
    "input", "output", "path", "host", "index", "group", "stream", "segment",
};

void lf_log_set_level(enum lf_log_level level)
{
    max_level = level;
}

int lf_log_level_parse(const char *name, enum lf_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
         i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum lf_log_level)i;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = LF_LOG_WARN;
        return 0;
    }
    return LF_EINVAL;
}

bool lf_log_enabled(enum lf_log_level level)
{
    return level <= max_level;
}

void lf_log_options_init(struct lf_log_options *options)
{
    memset(options, 0, sizeof(*options));
    options->format = LF_LOG_FORMAT_TEXT;
    options->file_max_bytes = LF_LOG_DEFAULT_FILE_MAX_BYTES;
    options->file_keep = LF_LOG_DEFAULT_FILE_KEEP;
    options->rate_limit_burst = LF_LOG_DEFAULT_RATE_LIMIT_BURST;
    options->rate_limit_interval_ms = LF_LOG_DEFAULT_RATE_LIMIT_INTERVAL_MS;
}

static int64_t monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- writing lines ---- */

static void append_timestamp(struct lf_buf *line)
{
    struct timespec now;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    lf_buf_appendf(line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
}

/*
 * Appends the id pairs of `message` as JSON members. A value ends at the
 * next space, so a value that contains spaces is cut there.
 */
static void append_id_fields(struct lf_buf *line, const char *message)
{
    bool seen[sizeof(id_keys) / sizeof(id_keys[0])] = {false};
    const char *token = message;

    while (*token != '\0') {
        const char *end = strchr(token, ' ');
        const char *equals;

        if (end == NULL) {
            end = token + strlen(token);
        }
        equals = memchr(token, '=', (size_t)(end - token));
        for (size_t i = 0; equals != NULL && i < sizeof(id_keys) /
                                                 sizeof(id_keys[0]); i++) {
            size_t key_len = strlen(id_keys[i]);

            if (!seen[i] && (size_t)(equals - token) == key_len &&
                memcmp(token, id_keys[i], key_len) == 0 && equals + 1 < end) {
                seen[i] = true;
                lf_buf_append_char(line, ',');
                lf_json_append_string(line, id_keys[i], key_len);
                lf_buf_append_char(line, ':');
                lf_json_append_string(line, equals + 1,
                                      (size_t)(end - equals - 1));
            }
        }
        token = *end == ' ' ? end + 1 : end;
    }
}

static void format_line(struct lf_buf *line, enum lf_log_level level,
                        const char *component, const char *message,
                        uint64_t suppressed)
{
    if (log_options.format == LF_LOG_FORMAT_TEXT) {
        append_timestamp(line);
        lf_buf_appendf(line, " %-5s %s: %s\n", level_names[level], component,
                       message);
        return;
    }
    lf_buf_append_str(line, "{\"@timestamp\":\"");
    append_timestamp(line);
    lf_buf_appendf(line, "\",\"log.level\":\"%s\",\"log.logger\":",
                   level_names[level]);
    lf_json_append_string(line, component, strlen(component));
    lf_buf_append_str(line, ",\"message\":");
    lf_json_append_string(line, message, strlen(message));
    if (suppressed > 0) {
        lf_buf_appendf(line, ",\"suppressed\":%" PRIu64, suppressed);
    }
    append_id_fields(line, message);
    lf_buf_append_str(line, "}\n");
}

static void open_stderr(void)
{
    if (out_fd != STDERR_FILENO) {
        close(out_fd);
    }
    out_fd = STDERR_FILENO;
}

static int open_file(void)
{
    off_t end;
    int fd;

    fd = open(file_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    end = lseek(fd, 0, SEEK_END);
    file_size = end > 0 ? (uint64_t)end : 0;
    out_fd = fd;
    return 0;
}

/*
 * Renames path.N-1 to path.N down to path to path.1, dropping the oldest,
 * and opens a new file. On failure the log goes on in the current file,
 * or on stderr when no file can be opened.
 */
static void rotate_file(void)
{
    size_t len = strlen(file_path) + 24;
    char *from = lf_malloc(len);
    char *to = lf_malloc(len);
    int rc = 0;

    if (log_options.file_keep == 0) {
        if (unlink(file_path) != 0) {
            rc = -errno;
        }
    }
    for (unsigned i = log_options.file_keep; i > 0 && rc == 0; i--) {
        if (i == 1) {
            snprintf(from, len, "%s", file_path);
        } else {
            snprintf(from, len, "%s.%u", file_path, i - 1);
        }
        snprintf(to, len, "%s.%u", file_path, i);
        if (rename(from, to) != 0 && errno != ENOENT) {
            rc = -errno;
        }
    }
    lf_free(from);
    lf_free(to);
    if (rc != 0) {
        dprintf(STDERR_FILENO, "logferry: rotating the log file %s failed: "
                "%s; writing on to it\n", file_path, lf_strerror(rc));
        file_size = 0; /* try again after another max_bytes */
        return;
    }
    close(out_fd);
    out_fd = STDERR_FILENO;
    rc = open_file();
    if (rc != 0) {
        dprintf(STDERR_FILENO, "logferry: opening the log file %s after "
                "rotation failed: %s; logging to stderr\n", file_path,
                lf_strerror(rc));
    }
}

/* Writes one line with one write(2), so lines stay whole. */
static void write_line(const struct lf_buf *line)
{
    const char *data = line->data;
    size_t len = line->len;

    if (out_fd != STDERR_FILENO && log_options.file_max_bytes > 0 &&
        file_size > 0 && file_size + len > log_options.file_max_bytes) {
        rotate_file();
    }
    while (len > 0) {
        ssize_t n = write(out_fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* nowhere left to report it */
        }
        data += n;
        len -= (size_t)n;
        file_size += (uint64_t)n;
    }
}

static void emit(enum lf_log_level level, const char *component,
                 const char *message, uint64_t suppressed)
{
    struct lf_buf line;

    lf_buf_init(&line);
    format_line(&line, level, component, message, suppressed);
    write_line(&line);
    lf_buf_cleanup(&line);
}

/* ---- rate limit ---- */

static void format_duration(char *out, size_t len, int64_t ms)
{
    if (ms >= 1000 && ms % 1000 == 0) {
        snprintf(out, len, "%" PRId64 " s", ms / 1000);
    } else {
        snprintf(out, len, "%" PRId64 " ms", ms);
    }
}

/* Writes the summary of the slot's suppressed messages, if any. */
static void write_summary(struct repeat_slot *slot, int64_t window_ms)
{
    char message[MESSAGE_MAX + 128];
    char duration[32];

    if (slot->suppressed == 0) {
        return;
    }
    format_duration(duration, sizeof(duration), window_ms);
    snprintf(message, sizeof(message), "message repeated %" PRIu64 " times "
             "in the last %s and not written, the last one: %s",
             slot->suppressed, duration, slot->last);
    emit(slot->level, slot->component, message, slot->suppressed);
    slot->suppressed = 0;
}

static size_t slot_index(const char *fmt)
{
    uintptr_t h = (uintptr_t)fmt;

    h ^= h >> 17;
    h *= (uintptr_t)0x9e3779b97f4a7c15u;
    return (size_t)(h >> 7) % REPEAT_SLOTS;
}

/*
 * Counts the message in its window. Returns true when it is written,
 * false when it is over the burst and only counted.
 */
static bool admit(enum lf_log_level level, const char *component,
                  const char *fmt, const char *message)
{
    struct repeat_slot *slot = &slots[slot_index(fmt)];
    int64_t now = monotonic_ms();
    bool was_quiet;

    if (slot->fmt != fmt || strcmp(slot->component, component) != 0) {
        if (slot->fmt != NULL) {
            write_summary(slot, now - slot->window_start_ms);
        }
        slot->fmt = fmt;
        slot->component = component;
        slot->count = 0;
        slot->window_start_ms = now;
    } else if (now - slot->window_start_ms >=
               log_options.rate_limit_interval_ms) {
        /* The summary thread had no time to run yet. */
        write_summary(slot, log_options.rate_limit_interval_ms);
        slot->count = 0;
        slot->window_start_ms = now;
    }
    slot->level = level;
    slot->count++;
    if (slot->count <= log_options.rate_limit_burst) {
        return true;
    }
    was_quiet = slot->suppressed == 0;
    slot->suppressed++;
    snprintf(slot->last, sizeof(slot->last), "%s", message);
    if (was_quiet) {
        pthread_cond_signal(&summary_cond);
    }
    return false;
}

/*
 * Writes the summaries of windows that ended, and returns the end of the
 * earliest window still open with suppressed messages, or -1.
 */
static int64_t write_due_summaries(int64_t now)
{
    int64_t next = -1;

    for (size_t i = 0; i < REPEAT_SLOTS; i++) {
        struct repeat_slot *slot = &slots[i];
        int64_t end = slot->window_start_ms +
                      log_options.rate_limit_interval_ms;

        if (slot->fmt == NULL || slot->suppressed == 0) {
            continue;
        }
        if (end <= now) {
            write_summary(slot, log_options.rate_limit_interval_ms);
            /* The next message starts a new window and is written. */
            slot->count = 0;
            slot->window_start_ms = now;
        } else if (next < 0 || end < next) {
            next = end;
        }
    }
    return next;
}

static void *run_summary_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&log_mutex);
    while (!stopping) {
        int64_t next = write_due_summaries(monotonic_ms());

        if (next < 0) {
            pthread_cond_wait(&summary_cond, &log_mutex);
        } else {
            struct timespec deadline = {
                .tv_sec = next / 1000,
                .tv_nsec = (long)(next % 1000) * 1000000,
            };
            pthread_cond_timedwait(&summary_cond, &log_mutex, &deadline);
        }
    }
    pthread_mutex_unlock(&log_mutex);
    return NULL;
}

/* ---- set-up ---- */

static int start_summary_thread(char *errbuf, size_t errlen)
{
    pthread_condattr_t attr;
    int rc;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&summary_cond, &attr);
    pthread_condattr_destroy(&attr);
    slots = lf_calloc(REPEAT_SLOTS, sizeof(*slots));
    stopping = false;
    rc = pthread_create(&summary_thread, NULL, run_summary_thread, NULL);
    if (rc != 0) {
        snprintf(errbuf, errlen, "starting the log summary thread failed: "
                 "%s", lf_strerror(-rc));
        lf_free(slots);
        slots = NULL;
        pthread_cond_destroy(&summary_cond);
        return -rc;
    }
    summary_thread_running = true;
    return 0;
}

int lf_log_configure(const struct lf_log_options *options, char *errbuf,
                     size_t errlen)
{
    int rc;

    log_options = *options;
    log_options.file_path = NULL;
    if (options->file_path != NULL) {
        file_path = lf_strdup(options->file_path);
        log_options.file_path = file_path;
        rc = open_file();
        if (rc != 0) {
            snprintf(errbuf, errlen, "opening the log file %s failed: %s",
                     file_path, lf_strerror(rc));
            lf_free(file_path);
            file_path = NULL;
            log_options.file_path = NULL;
            return rc;
        }
    }
    if (options->rate_limit_burst > 0) {
        return start_summary_thread(errbuf, errlen);
    }
    return 0;
}

void lf_log_shutdown(void)
{
    if (summary_thread_running) {
        pthread_mutex_lock(&log_mutex);
        stopping = true;
        pthread_cond_signal(&summary_cond);
        pthread_mutex_unlock(&log_mutex);
        pthread_join(summary_thread, NULL);
        summary_thread_running = false;
        pthread_cond_destroy(&summary_cond);
    }
    pthread_mutex_lock(&log_mutex);
    if (slots != NULL) {
        int64_t now = monotonic_ms();
        for (size_t i = 0; i < REPEAT_SLOTS; i++) {
            write_summary(&slots[i], now - slots[i].window_start_ms);
        }
        lf_free(slots);
        slots = NULL;
    }
    open_stderr();
    lf_free(file_path);
    file_path = NULL;
    log_options.file_path = NULL;
    pthread_mutex_unlock(&log_mutex);
}

void lf_log(enum lf_log_level level, const char *component, const char *fmt,
            ...)
{
    char message[MESSAGE_MAX];
    va_list ap;

    if (!lf_log_enabled(level)) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    /*
     * Messages quote text from outside (Elasticsearch error reasons that
     * contain field values, file names): a newline or a terminal escape
     * in it must not start a forged line or move the cursor.
     */
    for (char *c = message; *c != '\0'; c++) {
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
            *c = ' ';
        }
    }

    pthread_mutex_lock(&log_mutex);
    if (slots == NULL || level > LF_LOG_INFO ||
        admit(level, component, fmt, message)) {
        emit(level, component, message, 0);
    }
    pthread_mutex_unlock(&log_mutex);
}
