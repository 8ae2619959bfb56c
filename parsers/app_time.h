/*
 * Timestamp detection for the `app` preset: a timestamp at the start of a
 * line, bare or in brackets, in one of many fixed formats, or one after a
 * few machine-written words. The formats are listed in
 * docs/configuration.md under the `app` preset.
 */
#ifndef LF_PARSERS_APP_TIME_H
#define LF_PARSERS_APP_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lf_app_time_finder;

/* A timestamp found in a line. */
struct lf_app_time {
    int64_t ns; /* since the Unix epoch */
    bool found;
    bool comma; /* the timestamp was followed by ", " */
};

/*
 * Creates a finder. One thread at a time may use it, because parsing may
 * update the cache of its time zone. Returns 0 and stores a finder the
 * caller frees, or LF_EINVAL.
 */
int lf_app_time_finder_new(struct lf_app_time_finder **out);

void lf_app_time_finder_free(struct lf_app_time_finder *finder);

/*
 * Finds the timestamp of the line [text, end) and stores it in `out`.
 * `now_ns` is the read time, which gives the year of forms without one.
 * Returns where the rest of the line starts: after the timestamp and the
 * '|' or ',' that may end it, or `text` when there is no timestamp.
 */
const char *lf_app_time_find(struct lf_app_time_finder *finder,
                             const char *text, const char *end, int64_t now_ns,
                             struct lf_app_time *out);

/*
 * Tells whether [p, p + len) is an upper-case code such as "RAS" or
 * "KERNEL": two or more upper-case letters, digits and '_', starting with
 * a letter.
 */
bool lf_app_is_upper_code(const char *p, size_t len);

/*
 * Tells whether `c` may occur in a machine-written field such as a node
 * name or a file name: a letter, a digit or one of ".-_:/".
 */
static inline bool lf_app_is_field_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '/';
}

#endif
