/*
 * Small cursor helpers shared by the hand-written presets of application
 * log formats (python.c, java.c, go.c, rails.c). A cursor is a pointer
 * into the line that only moves forward and never passes `end`.
 */
#ifndef LF_PARSERS_PRESET_SCAN_H
#define LF_PARSERS_PRESET_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lf/event.h"
#include "parsers/level.h"

struct lf_scan_span {
    const char *ptr;
    size_t len;
};

static inline bool lf_scan_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skips spaces; returns how many. */
static inline size_t lf_scan_spaces(const char **p, const char *end)
{
    const char *start = *p;

    while (*p < end && **p == ' ') {
        (*p)++;
    }
    return (size_t)(*p - start);
}

/* Consumes `lit` (`len` bytes) when the text at *p starts with it. */
static inline bool lf_scan_literal(const char **p, const char *end,
                                   const char *lit, size_t len)
{
    if ((size_t)(end - *p) < len || memcmp(*p, lit, len) != 0) {
        return false;
    }
    *p += len;
    return true;
}

/* Reads bytes up to `stop` (not consumed); false when `stop` is absent. */
static inline bool lf_scan_until(const char **p, const char *end, char stop,
                                 struct lf_scan_span *out)
{
    const char *hit = memchr(*p, stop, (size_t)(end - *p));

    if (hit == NULL) {
        return false;
    }
    out->ptr = *p;
    out->len = (size_t)(hit - *p);
    *p = hit;
    return true;
}

/* Reads a run of bytes other than space and tab; false when empty. */
static inline bool lf_scan_word(const char **p, const char *end,
                                struct lf_scan_span *out)
{
    const char *s = *p;

    while (s < end && *s != ' ' && *s != '\t') {
        s++;
    }
    if (s == *p) {
        return false;
    }
    out->ptr = *p;
    out->len = (size_t)(s - *p);
    *p = s;
    return true;
}

/* Reads 1 to 18 decimal digits as a non-negative integer. */
static inline bool lf_scan_uint(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    int64_t value = 0;

    while (s < end && lf_scan_is_digit(*s) && s - *p < 18) {
        value = value * 10 + (*s - '0');
        s++;
    }
    if (s == *p || (s < end && lf_scan_is_digit(*s))) {
        return false;
    }
    *out = value;
    *p = s;
    return true;
}

/* Removes leading and trailing spaces (padding such as "[   main]"). */
static inline struct lf_scan_span lf_scan_trim(struct lf_scan_span s)
{
    while (s.len > 0 && s.ptr[0] == ' ') {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && s.ptr[s.len - 1] == ' ') {
        s.len--;
    }
    return s;
}

/* Reads a level word such as "INFO" or "W"; false for other words. */
static inline bool lf_scan_level(const char **p, const char *end,
                                 struct lf_scan_span *out)
{
    const char *s = *p;

    while (s < end && s[0] >= 'A' && s[0] <= 'Z') {
        s++;
    }
    if (s == *p ||
        (s < end && *s != ' ' && *s != '\t' && *s != ':' && *s != ']')) {
        return false;
    }
    if (lf_level_canonical(*p, (size_t)(s - *p)) == NULL) {
        return false;
    }
    out->ptr = *p;
    out->len = (size_t)(s - *p);
    *p = s;
    return true;
}

static inline void lf_scan_set_str(struct lf_event *ev, const char *key,
                                   struct lf_scan_span s)
{
    if (s.len > 0) {
        lf_event_set_str(ev, key, s.ptr, s.len);
    }
}

#endif
