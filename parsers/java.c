/*
 * The `java` preset: the default layouts of the common Java logging
 * setups, each checked from the start of the line. Fields are set only
 * once the whole header has matched.
 *
 *   Spring Boot 2.x and 3.0/3.1:
 *     2024-03-05 07:08:09.123  INFO 1234 --- [  main] o.s.b.Logger : msg
 *   Spring Boot 3.2 and later (ISO time, application name):
 *     2024-03-05T07:08:09.123Z  INFO 1234 --- [app] [main] o.s.Logger : msg
 *   logback (BasicConfigurator), with a time of day or a full date:
 *     07:08:09.123 [main] INFO com.example.App - msg
 *   log4j "%d %p %c [%t] - %m":
 *     2024-03-05 07:08:09,123 INFO com.example.App [main] - msg
 *
 * Fields: @timestamp (read as UTC unless the time has a zone), log.level,
 * log.logger, process.thread.name, and for Spring Boot process.pid and
 * service.name.
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

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_DAY (INT64_C(86400) * NS_PER_S)

struct java_header {
    int64_t time_ns;
    struct lf_scan_span level;
    struct lf_scan_span logger;
    struct lf_scan_span thread;
    struct lf_scan_span service;
    int64_t pid; /* -1 when absent */
};

/* Reads "[text]" at *p, padding removed. */
static bool read_bracketed(const char **p, const char *end,
                           struct lf_scan_span *out)
{
    return lf_scan_literal(p, end, "[", 1) && lf_scan_until(p, end, ']', out) &&
           lf_scan_literal(p, end, "]", 1) &&
           (*out = lf_scan_trim(*out)).len > 0;
}

/*
 * Reads "HH:MM:SS.mmm", a time of day without a date, and dates it on
 * the day of the read time. A time more than an hour after the read time
 * belongs to the day before, as a line written just before midnight and
 * read just after it.
 */
static size_t read_time_of_day(const char *p, const char *end, int64_t now_ns,
                               int64_t *ns_out)
{
    int64_t day_start =
        now_ns - (now_ns % NS_PER_DAY + NS_PER_DAY) % NS_PER_DAY;
    int64_t ns;
    int64_t fraction_ms;
    int64_t parts[3];
    const char *s = p;

    for (int i = 0; i < 3; i++) {
        if (end - s < 2 || !lf_scan_is_digit(s[0]) || !lf_scan_is_digit(s[1]) ||
            (i < 2 && (end - s < 3 || s[2] != ':'))) {
            return 0;
        }
        parts[i] = (s[0] - '0') * 10 + (s[1] - '0');
        s += i < 2 ? 3 : 2;
    }
    if (end - s < 4 || (s[0] != '.' && s[0] != ',') ||
        !lf_scan_is_digit(s[1]) || !lf_scan_is_digit(s[2]) ||
        !lf_scan_is_digit(s[3]) || parts[0] > 23 || parts[1] > 59 ||
        parts[2] > 60) {
        return 0;
    }
    fraction_ms = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    ns = day_start +
         ((parts[0] * 3600 + parts[1] * 60 + parts[2]) * 1000 + fraction_ms) *
             (NS_PER_S / 1000);
    if (ns > now_ns + 3600 * NS_PER_S) {
        ns -= NS_PER_DAY;
    }
    *ns_out = ns;
    return (size_t)(s + 4 - p);
}

/*
 * After the time: "  INFO 1234 --- [app] [main] logger : ". The
 * application name is there from Spring Boot 3.2 when it is configured.
 */
static bool read_spring(const char *p, const char *end, struct java_header *h)
{
    struct lf_scan_span first;

    if (lf_scan_spaces(&p, end) == 0 || !lf_scan_level(&p, end, &h->level) ||
        lf_scan_spaces(&p, end) == 0 || !lf_scan_uint(&p, end, &h->pid) ||
        !lf_scan_literal(&p, end, " --- ", 5) ||
        !read_bracketed(&p, end, &first)) {
        return false;
    }
    h->thread = first;
    if (lf_scan_literal(&p, end, " [", 2)) {
        p--;
        h->service = first;
        if (!read_bracketed(&p, end, &h->thread)) {
            return false;
        }
    }
    return lf_scan_spaces(&p, end) > 0 && lf_scan_word(&p, end, &h->logger) &&
           lf_scan_spaces(&p, end) > 0 && lf_scan_literal(&p, end, ":", 1);
}

/* After the time: " [main] INFO logger - ". */
static bool read_logback(const char *p, const char *end, struct java_header *h)
{
    return lf_scan_literal(&p, end, " ", 1) &&
           read_bracketed(&p, end, &h->thread) && lf_scan_spaces(&p, end) > 0 &&
           lf_scan_level(&p, end, &h->level) && lf_scan_spaces(&p, end) > 0 &&
           lf_scan_word(&p, end, &h->logger) &&
           lf_scan_literal(&p, end, " -", 2);
}

/* After the time: " INFO logger [main] - ". */
static bool read_log4j(const char *p, const char *end, struct java_header *h)
{
    return lf_scan_spaces(&p, end) > 0 && lf_scan_level(&p, end, &h->level) &&
           lf_scan_spaces(&p, end) > 0 && lf_scan_word(&p, end, &h->logger) &&
           lf_scan_literal(&p, end, " ", 1) &&
           read_bracketed(&p, end, &h->thread) &&
           lf_scan_literal(&p, end, " -", 2);
}

static bool read_header(const char *text, size_t len, int64_t now_ns,
                        struct java_header *h)
{
    const char *end = text + len;
    size_t used;

    memset(h, 0, sizeof(*h));
    h->pid = -1;
    used = lf_time_scan_iso8601(text, end, &h->time_ns);
    if (used == 0) {
        used = read_time_of_day(text, end, now_ns, &h->time_ns);
        return used > 0 && read_logback(text + used, end, h);
    }
    if (read_spring(text + used, end, h)) {
        return true;
    }
    memset(&h->thread, 0, sizeof(h->thread));
    memset(&h->service, 0, sizeof(h->service));
    memset(&h->level, 0, sizeof(h->level));
    h->pid = -1;
    return read_logback(text + used, end, h) || read_log4j(text + used, end, h);
}

static int java_apply(void *state, struct lf_event *ev, const char *text,
                      size_t len, int64_t now_ns)
{
    struct java_header h;

    (void)state;
    if (!read_header(text, len, now_ns, &h)) {
        return LF_ENOMATCH;
    }
    lf_event_set_timestamp(ev, "@timestamp", h.time_ns);
    lf_level_set(ev, "log.level", h.level.ptr, h.level.len);
    lf_scan_set_str(ev, "log.logger", h.logger);
    lf_scan_set_str(ev, "process.thread.name", h.thread);
    lf_scan_set_str(ev, "service.name", h.service);
    if (h.pid >= 0) {
        lf_event_set_int(ev, "process.pid", h.pid);
    }
    return 0;
}

const struct lf_preset_type lf_preset_java = {
    .name = "java",
    .apply = java_apply,
};
