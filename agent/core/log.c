/*
 * Line-oriented logging to stderr. The level is the one piece of mutable
 * process-wide state in the agent: it is set once at start-up, before any
 * thread runs, and only read afterwards.
 */
#include "lf/log.h"
#include "lf/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum lf_log_level max_level = LF_LOG_INFO;

static const char *const level_names[] = {
    [LF_LOG_ERROR] = "error",
    [LF_LOG_WARN] = "warn",
    [LF_LOG_INFO] = "info",
    [LF_LOG_DEBUG] = "debug",
    [LF_LOG_TRACE] = "trace",
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

void lf_log(enum lf_log_level level, const char *component, const char *fmt,
            ...)
{
    char line[2048];
    struct timespec now;
    struct tm tm;
    int n;
    va_list ap;

    if (!lf_log_enabled(level)) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000,
                 level_names[level], component);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);

    /*
     * Messages quote text from outside (Elasticsearch error reasons that
     * contain field values, file names): a newline or a terminal escape
     * in it must not start a forged line or move the cursor.
     */
    for (char *c = line + n; *c != '\0'; c++) {
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
            *c = ' ';
        }
    }

    /* One write per line keeps lines whole when several threads log. */
    fprintf(stderr, "%s\n", line);
}
