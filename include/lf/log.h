/*
 * The agent's own log: one line per message on stderr or in a file, as
 * text: "2026-12-04T16:44:03.123Z warn  es: bulk request failed: ... host=..."
 * or as one JSON object per line. Messages name the objects they are about
 * with trailing key=value pairs (input=, path=, output=, host=...).
 * Parsers, processors and encoders never log; they return codes.
 */
#ifndef LF_LF_LOG_H
#define LF_LF_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lf_log_level {
    LF_LOG_ERROR, /* data loss or a stopped component: operator must act */
    LF_LOG_WARN,  /* degraded and recovering: retries, bad lines */
    LF_LOG_INFO,  /* lifecycle: start, stop, files opened and closed */
    LF_LOG_DEBUG, /* per batch */
    LF_LOG_TRACE, /* per event */
};

enum lf_log_format {
    LF_LOG_FORMAT_TEXT,
    LF_LOG_FORMAT_JSON, /* @timestamp, log.level, log.logger, message, ids */
};

#define LF_LOG_DEFAULT_FILE_MAX_BYTES (10 * 1024 * 1024)
#define LF_LOG_DEFAULT_FILE_KEEP 5
#define LF_LOG_DEFAULT_RATE_LIMIT_BURST 100
#define LF_LOG_DEFAULT_RATE_LIMIT_INTERVAL_MS (10 * 1000)

struct lf_log_options {
    enum lf_log_format format;
    const char *file_path; /* NULL: stderr */
    /* The file is rotated before a line would take it past this; 0: never. */
    uint64_t file_max_bytes;
    unsigned file_keep; /* rotated files kept: path.1 (newest) to path.N */
    /*
     * Messages with the same format string and component written per
     * window. Those over it are counted, and one line sums them up when
     * the window ends. 0 turns the limit off. Debug and trace messages
     * are never limited.
     */
    unsigned rate_limit_burst;
    long long rate_limit_interval_ms; /* the window */
};

/* Fills `options` with the defaults: text on stderr, rate limit on. */
void lf_log_options_init(struct lf_log_options *options);

/*
 * Applies `options`: opens the file in append mode and starts the thread
 * that writes the summaries of suppressed messages when their window ends.
 * Call once, before other threads log. Returns 0, or a negative LF_E*
 * code with a message in errbuf when the file cannot be opened; the log
 * then stays on stderr.
 */
int lf_log_configure(const struct lf_log_options *options, char *errbuf,
                     size_t errlen);

/*
 * Writes the summaries of messages still suppressed, stops the summary
 * thread and closes the file. Later messages go to stderr.
 */
void lf_log_shutdown(void);

/* Sets the most verbose level written; the default is LF_LOG_INFO. */
void lf_log_set_level(enum lf_log_level level);

/* Parses "error", "warn", "info", "debug" or "trace"; LF_EINVAL otherwise. */
int lf_log_level_parse(const char *name, enum lf_log_level *out);

bool lf_log_enabled(enum lf_log_level level);

/* Writes one line naming `component` when `level` is enabled. */
void lf_log(enum lf_log_level level, const char *component, const char *fmt,
            ...) __attribute__((format(printf, 3, 4)));

#define lf_log_error(component, ...) lf_log(LF_LOG_ERROR, component, __VA_ARGS__)
#define lf_log_warn(component, ...) lf_log(LF_LOG_WARN, component, __VA_ARGS__)
#define lf_log_info(component, ...) lf_log(LF_LOG_INFO, component, __VA_ARGS__)
#define lf_log_debug(component, ...)                                          \
    do {                                                                      \
        if (lf_log_enabled(LF_LOG_DEBUG)) {                                   \
            lf_log(LF_LOG_DEBUG, component, __VA_ARGS__);                     \
        }                                                                     \
    } while (0)

#endif
