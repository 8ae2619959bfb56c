/*
 * The `python` preset: lines of the standard logging module in its
 * default format and the asctime formats most applications configure.
 * Each form is checked from the start of the line and the fields are set
 * only once the whole header has matched.
 *
 *   %(levelname)s:%(name)s:%(message)s                  (the default)
 *   %(asctime)s - %(name)s - %(levelname)s - %(message)s
 *   %(asctime)s %(levelname)s %(name)s: %(message)s
 *   [%(asctime)s] %(levelname)s in %(module)s: %(message)s  (Flask)
 *
 * Fields: @timestamp (asctime, read as UTC), log.level, log.logger.
 */
#include "parsers/preset_type.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/level.h"
#include "parsers/preset_scan.h"
#include "parsers/time_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct python_header {
    int64_t time_ns;
    bool has_time;
    struct lf_scan_span level;
    struct lf_scan_span logger;
};

/* "LEVEL:logger:message". */
static bool read_default(const char *p, const char *end,
                         struct python_header *h)
{
    return lf_scan_level(&p, end, &h->level) &&
           lf_scan_literal(&p, end, ":", 1) &&
           lf_scan_until(&p, end, ':', &h->logger) && h->logger.len > 0 &&
           memchr(h->logger.ptr, ' ', h->logger.len) == NULL;
}

/* " - name - LEVEL - " after the asctime. */
static bool read_dash_form(const char *p, const char *end,
                           struct python_header *h)
{
    const char *dash;

    if (!lf_scan_literal(&p, end, " - ", 3)) {
        return false;
    }
    dash = memmem(p, (size_t)(end - p), " - ", 3);
    if (dash == NULL || dash == p) {
        return false;
    }
    h->logger = (struct lf_scan_span){p, (size_t)(dash - p)};
    p = dash + 3;
    return lf_scan_level(&p, end, &h->level) &&
           (p == end || lf_scan_literal(&p, end, " -", 2));
}

/* " LEVEL name: " after the asctime. */
static bool read_colon_form(const char *p, const char *end,
                            struct python_header *h)
{
    if (!lf_scan_literal(&p, end, " ", 1) ||
        !lf_scan_level(&p, end, &h->level) ||
        !lf_scan_literal(&p, end, " ", 1) ||
        !lf_scan_word(&p, end, &h->logger) ||
        h->logger.ptr[h->logger.len - 1] != ':') {
        return false;
    }
    h->logger.len--;
    return h->logger.len > 0;
}

/* "] LEVEL in module: " after a bracketed asctime. */
static bool read_flask_form(const char *p, const char *end,
                            struct python_header *h)
{
    struct lf_scan_span module;

    return lf_scan_literal(&p, end, "] ", 2) &&
           lf_scan_level(&p, end, &h->level) &&
           lf_scan_literal(&p, end, " in ", 4) &&
           lf_scan_word(&p, end, &module) && module.ptr[module.len - 1] == ':';
}

static bool read_header(const char *text, size_t len, struct python_header *h)
{
    const char *end = text + len;
    bool bracketed = len > 0 && text[0] == '[';
    const char *p = bracketed ? text + 1 : text;
    size_t used;

    memset(h, 0, sizeof(*h));
    if (!bracketed && read_default(p, end, h)) {
        return true;
    }
    used = lf_time_scan_iso8601(p, end, &h->time_ns);
    if (used == 0) {
        return false;
    }
    h->has_time = true;
    p += used;
    if (bracketed) {
        return read_flask_form(p, end, h);
    }
    return read_dash_form(p, end, h) || read_colon_form(p, end, h);
}

static int python_apply(void *state, struct lf_event *ev, const char *text,
                        size_t len, int64_t now_ns)
{
    struct python_header h;

    (void)state;
    (void)now_ns;
    if (!read_header(text, len, &h)) {
        return LF_ENOMATCH;
    }
    if (h.has_time) {
        lf_event_set_timestamp(ev, "@timestamp", h.time_ns);
    }
    lf_level_set(ev, "log.level", h.level.ptr, h.level.len);
    lf_scan_set_str(ev, "log.logger", h.logger);
    return 0;
}

const struct lf_preset_type lf_preset_python = {
    .name = "python",
    .apply = python_apply,
};
