/*
 * The `rails` preset: Ruby's Logger header, which Rails uses, and the
 * request lines of Rails' log subscriber, with or without that header.
 *
 *   I, [2024-03-05T07:08:09.123456 #1234]  INFO -- app: message
 *   Started GET "/path?q=1" for 1.2.3.4 at 2024-03-05 07:08:09 +0000
 *   Completed 200 OK in 12ms (Views: 1.2ms | ActiveRecord: 3.4ms)
 *
 * Tags that config.log_tags adds before the message ("[req-id] ") are
 * skipped. Fields: @timestamp (the header's time is read as UTC),
 * log.level, process.pid, log.logger (the progname), and from request
 * lines http.request.method, url.path, url.query, source.address,
 * source.ip, http.response.status_code and event.duration.
 */
#include "parsers/preset_type.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/duration.h"
#include "parsers/level.h"
#include "parsers/preset_scan.h"
#include "parsers/time_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define NS_PER_MS INT64_C(1000000)

struct rails_header {
    int64_t time_ns;
    int64_t pid;
    struct lf_scan_span level;
    struct lf_scan_span progname;
};

/* Reads "X, [TIME #PID]  LEVEL -- PROGNAME: ". Returns the message start. */
static const char *read_header(const char *p, const char *end,
                               struct rails_header *h)
{
    size_t used;

    if (end - p < 4 || strchr("DIWEFUA", p[0]) == NULL || p[1] != ',' ||
        p[2] != ' ' || p[3] != '[') {
        return NULL;
    }
    p += 4;
    used = lf_time_scan_iso8601(p, end, &h->time_ns);
    p += used;
    if (used == 0 || !lf_scan_literal(&p, end, " #", 2) ||
        !lf_scan_uint(&p, end, &h->pid) || !lf_scan_literal(&p, end, "]", 1) ||
        lf_scan_spaces(&p, end) == 0 || !lf_scan_word(&p, end, &h->level) ||
        !lf_scan_literal(&p, end, " -- ", 4) ||
        !lf_scan_until(&p, end, ':', &h->progname) ||
        !lf_scan_literal(&p, end, ":", 1)) {
        return NULL;
    }
    lf_scan_spaces(&p, end);
    return p;
}

/* Skips "[tag] " prefixes that config.log_tags writes. */
static const char *skip_tags(const char *p, const char *end)
{
    while (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (close == NULL || close + 1 >= end || close[1] != ' ') {
            break;
        }
        p = close + 2;
    }
    return p;
}

/* Sets url.path and url.query from "/path?query". */
static void set_path(struct lf_event *ev, struct lf_scan_span target)
{
    const char *query = memchr(target.ptr, '?', target.len);
    size_t path_len = query != NULL ? (size_t)(query - target.ptr) : target.len;

    lf_event_set_str(ev, "url.path", target.ptr, path_len);
    if (query != NULL && query + 1 < target.ptr + target.len) {
        lf_event_set_str(ev, "url.query", query + 1,
                         (size_t)(target.ptr + target.len - query - 1));
    }
}

/* `Started GET "/path" for 1.2.3.4 at 2024-03-05 07:08:09 +0000`. */
static bool read_started(struct lf_event *ev, const char *p, const char *end,
                         bool has_time)
{
    struct lf_scan_span method;
    struct lf_scan_span target;
    struct lf_scan_span client;
    int64_t ns;

    if (!lf_scan_literal(&p, end, "Started ", 8) ||
        !lf_scan_word(&p, end, &method) ||
        !lf_scan_literal(&p, end, " \"", 2) ||
        !lf_scan_until(&p, end, '"', &target) ||
        !lf_scan_literal(&p, end, "\" for ", 6) ||
        !lf_scan_word(&p, end, &client)) {
        return false;
    }
    lf_scan_set_str(ev, "http.request.method", method);
    set_path(ev, target);
    lf_preset_set_client(ev, client.ptr, client.len);
    if (!has_time && lf_scan_literal(&p, end, " at ", 4) &&
        lf_time_scan_iso8601(p, end, &ns) > 0) {
        lf_event_set_timestamp(ev, "@timestamp", ns);
    }
    return true;
}

/* `Completed 200 OK in 12ms (Views: ...)`. */
static bool read_completed(struct lf_event *ev, const char *p, const char *end)
{
    const char *in;
    const char *ms;
    int64_t status;
    int64_t duration;

    if (!lf_scan_literal(&p, end, "Completed ", 10) ||
        !lf_scan_uint(&p, end, &status)) {
        return false;
    }
    lf_event_set_int(ev, "http.response.status_code", status);
    in = memmem(p, (size_t)(end - p), " in ", 4);
    if (in == NULL) {
        return true;
    }
    in += 4;
    ms = memmem(in, (size_t)(end - in), "ms", 2);
    if (ms != NULL &&
        lf_duration_parse(in, (size_t)(ms - in), NS_PER_MS, &duration) == 0) {
        lf_event_set_int(ev, "event.duration", duration);
    }
    return true;
}

static int rails_apply(void *state, struct lf_event *ev, const char *text,
                       size_t len, int64_t now_ns)
{
    const char *end = text + len;
    struct rails_header h;
    const char *message;
    bool has_header;
    bool matched;

    (void)state;
    (void)now_ns;
    memset(&h, 0, sizeof(h));
    message = read_header(text, end, &h);
    has_header = message != NULL;
    if (!has_header) {
        message = text;
    }
    message = skip_tags(message, end);
    matched = read_started(ev, message, end, has_header) ||
              read_completed(ev, message, end);
    if (!has_header) {
        return matched ? 0 : LF_ENOMATCH;
    }
    lf_event_set_timestamp(ev, "@timestamp", h.time_ns);
    lf_level_set(ev, "log.level", h.level.ptr, h.level.len);
    lf_event_set_int(ev, "process.pid", h.pid);
    lf_scan_set_str(ev, "log.logger", h.progname);
    return 0;
}

const struct lf_preset_type lf_preset_rails = {
    .name = "rails",
    .apply = rails_apply,
};
