/*
 * Error log readers for the `nginx` and `apache` presets. Both formats
 * start with a fixed header (time, level, process) and end with free
 * text, so a forward scan of the header and a search for the trailing
 * context that nginx appends are enough.
 *
 * nginx: @timestamp, log.level, process.pid, process.thread.id,
 * nginx.error.connection_id (the `*N` counter), and from the trailing
 * ", client: ..., request: "..."" context: source.address, source.ip,
 * the request fields, url.domain, url.port (from `host`) and
 * http.request.referrer.
 *
 * Apache: @timestamp, log.level, apache.error.module (2.4), process.pid,
 * process.thread.id, source.address, source.ip, source.port.
 *
 * Times carry no zone in either log and are read as UTC.
 */
#include "parsers/web_error.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/level.h"
#include "parsers/number.h"
#include "parsers/preset_type.h"
#include "parsers/time_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define NGINX_CONTEXT_START ", client: "

struct span {
    const char *ptr;
    size_t len;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads decimal digits at *p into `out`; false when there are none. */
static bool read_uint(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;

    while (s < end && is_digit(*s) && s - *p < 18) {
        s++;
    }
    if (s == *p || (s < end && is_digit(*s))) {
        return false;
    }
    if (lf_number_parse_int(*p, (size_t)(s - *p), out) != 0) {
        return false;
    }
    *p = s;
    return true;
}

static bool read_literal(const char **p, const char *end, const char *lit,
                         size_t lit_len)
{
    if ((size_t)(end - *p) < lit_len || memcmp(*p, lit, lit_len) != 0) {
        return false;
    }
    *p += lit_len;
    return true;
}

/* Reads "[word]" at *p into `out`. */
static bool read_bracketed(const char **p, const char *end, struct span *out)
{
    const char *close;

    if (*p >= end || **p != '[') {
        return false;
    }
    close = memchr(*p + 1, ']', (size_t)(end - *p - 1));
    if (close == NULL) {
        return false;
    }
    out->ptr = *p + 1;
    out->len = (size_t)(close - out->ptr);
    *p = close + 1;
    return true;
}

/* Reads one value of nginx's context: "quoted" or up to the next ", ". */
static struct span read_context_value(const char **p, const char *end)
{
    const char *s = *p;
    const char *stop;
    struct span value;

    if (s < end && *s == '"') {
        /* nginx escapes a quote inside a value as \x22. */
        stop = memchr(s + 1, '"', (size_t)(end - s - 1));
        if (stop != NULL) {
            value = (struct span){s + 1, (size_t)(stop - s - 1)};
            *p = stop + 1;
            return value;
        }
    }
    stop = s;
    while (stop < end && !(*stop == ',' && stop + 1 < end && stop[1] == ' ')) {
        stop++;
    }
    value = (struct span){s, (size_t)(stop - s)};
    *p = stop;
    return value;
}

static void set_host(struct lf_event *ev, struct span host)
{
    const char *colon = memchr(host.ptr, ':', host.len);
    int64_t port;

    if (colon == NULL) {
        lf_event_set_str(ev, "url.domain", host.ptr, host.len);
        return;
    }
    if (memchr(colon + 1, ':', (size_t)(host.ptr + host.len - colon - 1)) !=
        NULL) {
        return; /* an IPv6 literal: no domain */
    }
    lf_event_set_str(ev, "url.domain", host.ptr, (size_t)(colon - host.ptr));
    if (lf_number_parse_int(
            colon + 1, (size_t)(host.ptr + host.len - colon - 1), &port) == 0) {
        lf_event_set_int(ev, "url.port", port);
    }
}

static bool key_is(struct span key, const char *name)
{
    return key.len == strlen(name) && memcmp(key.ptr, name, key.len) == 0;
}

/*
 * Reads the context nginx appends to a message that concerns a request:
 * ", client: A, server: S, request: "R", upstream: "U", host: "H",
 * referrer: "F"". Keys not listed below are skipped.
 */
static void set_nginx_context(struct lf_event *ev, const char *p,
                              const char *end)
{
    while (p < end) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        struct span key;
        struct span value;

        if (colon == NULL || colon + 1 >= end || colon[1] != ' ') {
            return;
        }
        key = (struct span){p, (size_t)(colon - p)};
        p = colon + 2;
        value = read_context_value(&p, end);
        if (key_is(key, "client")) {
            lf_preset_set_client(ev, value.ptr, value.len);
        } else if (key_is(key, "request")) {
            lf_preset_set_request(ev, value.ptr, value.len);
        } else if (key_is(key, "host") && value.len > 0) {
            set_host(ev, value);
        } else if (key_is(key, "referrer") && value.len > 0) {
            lf_event_set_str(ev, "http.request.referrer", value.ptr, value.len);
        }
        if (!read_literal(&p, end, ", ", 2)) {
            return;
        }
    }
}

/* Finds the last ", client: " of a message, where nginx's context starts. */
static const char *find_nginx_context(const char *p, const char *end)
{
    const char *found = NULL;

    for (;;) {
        const char *hit = memmem(p, (size_t)(end - p), NGINX_CONTEXT_START,
                                 LF_STRLEN(NGINX_CONTEXT_START));

        if (hit == NULL) {
            return found;
        }
        found = hit;
        p = hit + 1;
    }
}

int lf_nginx_error_apply(struct lf_event *ev, const char *text, size_t len)
{
    const char *end = text + len;
    const char *p = text;
    const char *context;
    struct span level;
    int64_t ns;
    int64_t pid;
    int64_t tid;
    int64_t connection = -1;
    size_t used = lf_time_scan_slash_date(p, end, &ns);

    if (used == 0) {
        return LF_ENOMATCH;
    }
    p += used;
    if (!read_literal(&p, end, " ", 1) || !read_bracketed(&p, end, &level) ||
        level.len == 0 || !read_literal(&p, end, " ", 1) ||
        !read_uint(&p, end, &pid) || !read_literal(&p, end, "#", 1) ||
        !read_uint(&p, end, &tid) || !read_literal(&p, end, ":", 1)) {
        return LF_ENOMATCH;
    }
    if (read_literal(&p, end, " *", 2) && !read_uint(&p, end, &connection)) {
        return LF_ENOMATCH;
    }
    lf_event_set_timestamp(ev, "@timestamp", ns);
    lf_level_set(ev, "log.level", level.ptr, level.len);
    lf_event_set_int(ev, "process.pid", pid);
    lf_event_set_int(ev, "process.thread.id", tid);
    if (connection >= 0) {
        lf_event_set_int(ev, "nginx.error.connection_id", connection);
    }
    context = find_nginx_context(p, end);
    if (context != NULL) {
        set_nginx_context(ev, context + 2, end);
    }
    return 0;
}

/* Sets source.* from Apache's "[client ADDRESS[:PORT]]". */
static void set_apache_client(struct lf_event *ev, struct span client)
{
    const char *colon = NULL;
    const char *end = client.ptr + client.len;
    size_t colons = 0;
    int64_t port;

    for (const char *c = client.ptr; c < end; c++) {
        if (*c == ':') {
            colon = c;
            colons++;
        }
    }
    /* One colon separates an IPv4 address or a name from the port. */
    if (colons == 1 &&
        lf_number_parse_int(colon + 1, (size_t)(end - colon - 1), &port) == 0) {
        lf_preset_set_client(ev, client.ptr, (size_t)(colon - client.ptr));
        lf_event_set_int(ev, "source.port", port);
        return;
    }
    /* NOTE: an IPv6 client with a port ("::1:5678") is kept whole. */
    lf_preset_set_client(ev, client.ptr, client.len);
}

/* Reads "pid N" or "pid N:tid M" (the text of a bracket). */
static void set_apache_process(struct lf_event *ev, struct span s)
{
    const char *p = s.ptr + LF_STRLEN("pid ");
    const char *end = s.ptr + s.len;
    int64_t pid;
    int64_t tid;

    if (!read_uint(&p, end, &pid)) {
        return;
    }
    lf_event_set_int(ev, "process.pid", pid);
    if (read_literal(&p, end, ":tid ", LF_STRLEN(":tid ")) &&
        read_uint(&p, end, &tid)) {
        lf_event_set_int(ev, "process.thread.id", tid);
    }
}

static bool span_starts_with(struct span s, const char *prefix, size_t n)
{
    return s.len > n && memcmp(s.ptr, prefix, n) == 0;
}

/* Sets log.level, and apache.error.module from "module:level" (2.4). */
static void set_apache_level(struct lf_event *ev, struct span s)
{
    const char *colon = memchr(s.ptr, ':', s.len);

    if (colon == NULL) {
        lf_level_set(ev, "log.level", s.ptr, s.len);
        return;
    }
    lf_event_set_str(ev, "apache.error.module", s.ptr, (size_t)(colon - s.ptr));
    lf_level_set(ev, "log.level", colon + 1,
                 (size_t)(s.ptr + s.len - colon - 1));
}

static bool is_level_bracket(struct span s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];

        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == ':')) {
            return false;
        }
    }
    return s.len > 0;
}

int lf_apache_error_apply(struct lf_event *ev, const char *text, size_t len)
{
    const char *end = text + len;
    const char *p = text;
    struct span group;
    int64_t ns;
    size_t used;

    if (p >= end || *p != '[') {
        return LF_ENOMATCH;
    }
    used = lf_time_scan_ctime(p + 1, end, &ns);
    if (used == 0 || p + 1 + used >= end || p[1 + used] != ']') {
        return LF_ENOMATCH;
    }
    p += used + 2;
    if (!read_literal(&p, end, " ", 1) || !read_bracketed(&p, end, &group) ||
        !is_level_bracket(group)) {
        return LF_ENOMATCH;
    }
    lf_event_set_timestamp(ev, "@timestamp", ns);
    set_apache_level(ev, group);
    while (read_literal(&p, end, " ", 1) && read_bracketed(&p, end, &group)) {
        if (span_starts_with(group, "pid ", LF_STRLEN("pid "))) {
            set_apache_process(ev, group);
        } else if (span_starts_with(group, "client ", LF_STRLEN("client "))) {
            group.ptr += LF_STRLEN("client ");
            group.len -= LF_STRLEN("client ");
            set_apache_client(ev, group);
        }
    }
    return 0;
}
