/*
 * The `go` preset: logrus's text formatter and zap's console encoder.
 *
 *   logrus: time="2024-03-05T07:08:09Z" level=info msg="started" k=v
 *   zap:    2024-03-05T07:08:09.123Z<TAB>INFO<TAB>[logger<TAB>]
 *           pkg/file.go:12<TAB>message[<TAB>{"k":"v"}]
 *
 * A logrus line is a list of key=value pairs, so it is read by the `app`
 * preset's pair rules (time, level, msg and the mapped keys; other keys
 * become labels.*). A zap line sets @timestamp, log.level, log.logger,
 * log.origin.file.name and log.origin.file.line.
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

struct zap_header {
    int64_t time_ns;
    struct lf_scan_span level;
    struct lf_scan_span logger;
    struct lf_scan_span file;
    int64_t line;
};

/* Reads a tab-separated field up to the next tab. */
static bool read_field(const char **p, const char *end,
                       struct lf_scan_span *out)
{
    return lf_scan_until(p, end, '\t', out) && out->len > 0 &&
           lf_scan_literal(p, end, "\t", 1);
}

/* Splits "pkg/file.go:12" into the file and the line number. */
static bool split_caller(struct lf_scan_span caller, struct lf_scan_span *file,
                         int64_t *line)
{
    const char *end = caller.ptr + caller.len;
    const char *colon = end;
    const char *p;

    while (colon > caller.ptr && colon[-1] != ':') {
        colon--;
    }
    if (colon <= caller.ptr + 1) {
        return false;
    }
    p = colon;
    if (!lf_scan_uint(&p, end, line) || p != end) {
        return false;
    }
    *file = (struct lf_scan_span){caller.ptr, (size_t)(colon - 1 - caller.ptr)};
    return file->len > 3 && memcmp(file->ptr + file->len - 3, ".go", 3) == 0;
}

static bool read_zap(const char *text, size_t len, struct zap_header *h)
{
    const char *end = text + len;
    const char *p = text;
    struct lf_scan_span field;
    size_t used;

    memset(h, 0, sizeof(*h));
    used = lf_time_scan_iso8601(p, end, &h->time_ns);
    p += used;
    if (used == 0 || !lf_scan_literal(&p, end, "\t", 1) ||
        !lf_scan_level(&p, end, &h->level) ||
        !lf_scan_literal(&p, end, "\t", 1) || !read_field(&p, end, &field)) {
        return false;
    }
    /* A named logger comes before the caller. */
    if (split_caller(field, &h->file, &h->line)) {
        return true;
    }
    h->logger = field;
    return read_field(&p, end, &field) &&
           split_caller(field, &h->file, &h->line);
}

static int go_apply(void *state, struct lf_event *ev, const char *text,
                    size_t len, int64_t now_ns)
{
    struct zap_header h;

    if (len > 6 &&
        (memcmp(text, "time=\"", 6) == 0 || memcmp(text, "level=", 6) == 0)) {
        return lf_preset_app.apply(state, ev, text, len, now_ns);
    }
    if (!read_zap(text, len, &h)) {
        return LF_ENOMATCH;
    }
    lf_event_set_timestamp(ev, "@timestamp", h.time_ns);
    lf_level_set(ev, "log.level", h.level.ptr, h.level.len);
    lf_scan_set_str(ev, "log.logger", h.logger);
    lf_scan_set_str(ev, "log.origin.file.name", h.file);
    lf_event_set_int(ev, "log.origin.file.line", h.line);
    return 0;
}

/* The state is the `app` preset's, for logrus lines. */
static int go_create(void **state_out)
{
    return lf_preset_app.create(state_out);
}

static void go_destroy(void *state)
{
    lf_preset_app.destroy(state);
}

const struct lf_preset_type lf_preset_go = {
    .name = "go",
    .create = go_create,
    .apply = go_apply,
    .destroy = go_destroy,
};
