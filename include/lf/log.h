/*
 * The agent's own log: one line per message on stderr, as
 * "2026-12-04T16:44:03.123Z warn  es: bulk request failed: ... host=..."
 * Parsers, processors and encoders never log; they return codes.
 */
#ifndef LF_LF_LOG_H
#define LF_LF_LOG_H

#include <stdbool.h>

enum lf_log_level {
    LF_LOG_ERROR, /* data loss or a stopped component: operator must act */
    LF_LOG_WARN,  /* degraded and recovering: retries, bad lines */
    LF_LOG_INFO,  /* lifecycle: start, stop, files opened and closed */
    LF_LOG_DEBUG, /* per batch */
    LF_LOG_TRACE, /* per event */
};

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
