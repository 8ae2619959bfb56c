/*
 * Built-in format parsers: the table of presets at the end of this file,
 * and the access log reader of the nginx and apache presets, whose error
 * log readers are in web_error.c. The access log reader is written by
 * hand rather than as a regex, because the format has a fixed order of
 * delimiters and one forward scan finds every field. The few choices a
 * regex would leave to backtracking (where a vhost prefix ends, which
 * address of a forwarded list is the client) are made explicitly below.
 *
 * Fields of the access preset, compared with the output of Filebeat's
 * nginx and apache modules in tests/unit/test_presets.c:
 *   source.address, source.ip        the client (see choose_client())
 *   destination.address, .ip,        a vhost prefix ("example.com:80 "),
 *   .domain, .port                   as Apache's vhost_combined writes it
 *   user.name                        absent when "-"
 *   @timestamp                       from [$time_local]
 *   http.request.method, url.original, url.path, url.query,
 *   url.fragment, http.version       from "$request" when it has the form
 *                                    "METHOD TARGET HTTP/VERSION"
 *   http.response.status_code        integer
 *   http.response.body.bytes         integer, absent when "-"
 *   http.request.referrer            absent when "-"
 *   user_agent.original              absent when "-"
 */
#include "parsers/presets.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/number.h"
#include "parsers/preset_type.h"
#include "parsers/syslog.h"
#include "parsers/timestamp.h"
#include "parsers/web_error.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define ACCESS_TIME_LAYOUT "%d/%b/%Y:%H:%M:%S %z"

/* Long enough for any IPv6 text form, with room to spare for the NUL. */
enum { IP_TEXT_MAX = 63 };

struct span {
    const char *ptr;
    size_t len;
};

/* The raw fields of one access log line, before conversion. */
struct access_line {
    struct span addresses; /* vhost and client address list */
    struct span user;
    struct span time;
    struct span request;
    struct span status;
    struct span bytes;
    struct span referrer; /* ptr NULL in the common format */
    struct span agent;
};

struct access_state {
    struct lf_timestamp_layout *time_layout;
    struct lf_tz tz; /* unused: the layout has %z */
};

struct lf_preset {
    const struct lf_preset_type *type;
    void *state; /* owned by the type; NULL when it keeps none */
};

static bool span_is_dash(struct span s)
{
    return s.len == 1 && s.ptr[0] == '-';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Returns the closing quote of a string whose body starts at `body`.
 * Apache writes a quote inside a field as \" and a backslash as \\, so a
 * quote ends the string when an even number of backslashes precede it.
 */
static const char *find_closing_quote(const char *body, const char *end)
{
    const char *p = body;

    while (p < end) {
        const char *quote = memchr(p, '"', (size_t)(end - p));
        const char *backslashes;

        if (quote == NULL) {
            return NULL;
        }
        backslashes = quote;
        while (backslashes > body && backslashes[-1] == '\\') {
            backslashes--;
        }
        if ((quote - backslashes) % 2 == 0) {
            return quote;
        }
        p = quote + 1;
    }
    return NULL;
}

/* Reads `"text"` at *p into `out`. */
static bool read_quoted(const char **p, const char *end, struct span *out)
{
    const char *close;

    if (*p >= end || **p != '"') {
        return false;
    }
    close = find_closing_quote(*p + 1, end);
    if (close == NULL) {
        return false;
    }
    out->ptr = *p + 1;
    out->len = (size_t)(close - out->ptr);
    *p = close + 1;
    return true;
}

static bool read_char(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c) {
        return false;
    }
    (*p)++;
    return true;
}

/*
 * Finds the two bytes `a` `b` in [p, end). memmem() costs more than the
 * whole field scan for needles this short.
 */
static const char *find_pair(const char *p, const char *end, char a, char b)
{
    while (p < end) {
        const char *hit = memchr(p, a, (size_t)(end - p));

        if (hit == NULL || hit + 1 >= end) {
            return NULL;
        }
        if (hit[1] == b) {
            return hit;
        }
        p = hit + 1;
    }
    return NULL;
}

/* Finds " - ", the separator after the addresses. */
static const char *find_dash_separator(const char *p, const char *end)
{
    for (;;) {
        const char *hit = find_pair(p, end, ' ', '-');

        if (hit == NULL || (end - hit >= 3 && hit[2] == ' ')) {
            return hit;
        }
        p = hit + 1;
    }
}

/* Reads digits, or "-" when `dash_ok`, up to the next blank or the end. */
static bool read_number_field(const char **p, const char *end, bool dash_ok,
                              struct span *out)
{
    const char *s = *p;

    if (dash_ok && s < end && *s == '-') {
        s++;
    } else {
        while (s < end && is_digit(*s)) {
            s++;
        }
    }
    if (s == *p || (s < end && !is_blank(*s))) {
        return false;
    }
    out->ptr = *p;
    out->len = (size_t)(s - *p);
    *p = s;
    return true;
}

/* Reads ` "referrer" "agent"`, which the common format does not have. */
static void read_referrer_and_agent(const char *p, const char *end,
                                    struct access_line *line)
{
    struct span referrer;
    struct span agent;

    if (!read_char(&p, end, ' ') || !read_quoted(&p, end, &referrer) ||
        !read_char(&p, end, ' ') || !read_quoted(&p, end, &agent)) {
        return;
    }
    /* Later fields, which many log_format lines append, are ignored. */
    line->referrer = referrer;
    line->agent = agent;
}

/*
 * Splits a line into its fields. The address part ends at the first
 * " - ": neither hosts nor addresses contain one. The remote user ends
 * at the first " [".
 */
static bool scan_access_line(const char *s, size_t len,
                             struct access_line *line)
{
    const char *end = s + len;
    const char *p;
    const char *mark;

    memset(line, 0, sizeof(*line));
    mark = find_dash_separator(s, end);
    if (mark == NULL || mark == s) {
        return false;
    }
    line->addresses = (struct span){s, (size_t)(mark - s)};
    p = mark + 3;

    mark = find_pair(p, end, ' ', '[');
    if (mark == NULL) {
        return false;
    }
    line->user = (struct span){p, (size_t)(mark - p)};
    p = mark + 2;

    mark = memchr(p, ']', (size_t)(end - p));
    if (mark == NULL) {
        return false;
    }
    line->time = (struct span){p, (size_t)(mark - p)};
    p = mark + 1;

    if (!read_char(&p, end, ' ') || !read_quoted(&p, end, &line->request) ||
        !read_char(&p, end, ' ') ||
        !read_number_field(&p, end, false, &line->status) ||
        !read_char(&p, end, ' ') ||
        !read_number_field(&p, end, true, &line->bytes)) {
        return false;
    }
    read_referrer_and_agent(p, end, line);
    return true;
}

enum ip_kind {
    IP_NONE,
    IP_PUBLIC,
    IP_SPECIAL, /* private, loopback, link-local, shared or unspecified */
};

static bool ipv4_is_special(const unsigned char *a)
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
           (a[0] == 100 && (a[1] & 0xc0) == 64) ||
           (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168);
}

static bool ipv6_is_special(const unsigned char *a)
{
    static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};
    bool zero_prefix = true;

    for (int i = 0; i < 15; i++) {
        zero_prefix = zero_prefix && a[i] == 0;
    }
    if (zero_prefix && a[15] <= 1) {
        return true; /* :: and ::1 */
    }
    if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
        return ipv4_is_special(a + sizeof(v4_mapped));
    }
    /* fc00::/7 unique local, fe80::/10 link-local. */
    return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static enum ip_kind classify_ip(struct span s)
{
    char text[IP_TEXT_MAX + 1];
    unsigned char addr[16];

    if (s.len == 0 || s.len > IP_TEXT_MAX) {
        return IP_NONE;
    }
    memcpy(text, s.ptr, s.len);
    text[s.len] = '\0';
    if (inet_pton(AF_INET, text, addr) == 1) {
        return ipv4_is_special(addr) ? IP_SPECIAL : IP_PUBLIC;
    }
    if (inet_pton(AF_INET6, text, addr) == 1) {
        return ipv6_is_special(addr) ? IP_SPECIAL : IP_PUBLIC;
    }
    return IP_NONE;
}

static bool is_address_separator(char c)
{
    return is_blank(c) || c == ',' || c == '"';
}

/* Reads the next address of a list such as `"a, b" c`; false at the end. */
static bool next_address(const char **p, const char *end, struct span *out)
{
    const char *s = *p;

    while (s < end && is_address_separator(*s)) {
        s++;
    }
    if (s == end) {
        return false;
    }
    out->ptr = s;
    while (s < end && !is_address_separator(*s)) {
        s++;
    }
    out->len = (size_t)(s - out->ptr);
    *p = s;
    return true;
}

/*
 * Splits off a vhost prefix: a first word followed by a blank and more
 * text. A first word followed by a comma or in quotes starts a forwarded
 * list instead. "203.0.113.9 10.0.0.1" is read as vhost and client, as
 * Filebeat reads it. No rule can tell it from a forwarded address and a
 * client logged without a comma.
 */
static struct span split_vhost(struct span *addresses)
{
    const char *p = addresses->ptr;
    const char *end = p + addresses->len;
    struct span vhost = {NULL, 0};
    const char *rest;

    while (p < end && !is_address_separator(*p)) {
        p++;
    }
    if (p == addresses->ptr || p == end || !is_blank(*p)) {
        return vhost;
    }
    rest = p;
    while (rest < end && is_blank(*rest)) {
        rest++;
    }
    if (rest == end) {
        return vhost;
    }
    vhost = (struct span){addresses->ptr, (size_t)(p - addresses->ptr)};
    addresses->len = (size_t)(end - rest);
    addresses->ptr = rest;
    return vhost;
}

/*
 * Picks the client from the address list: the first public IP address,
 * or the first entry when none is public. Proxies that log
 * X-Forwarded-For put the client first, but a private address in front
 * of it is usually a hop inside the same network.
 */
static struct span choose_client(struct span addresses, bool *is_ip_out)
{
    const char *p = addresses.ptr;
    const char *end = p + addresses.len;
    struct span first = {NULL, 0};
    struct span address;
    enum ip_kind first_kind = IP_NONE;

    while (next_address(&p, end, &address)) {
        enum ip_kind kind = classify_ip(address);

        if (kind == IP_PUBLIC) {
            *is_ip_out = true;
            return address;
        }
        if (first.ptr == NULL) {
            first = address;
            first_kind = kind;
        }
    }
    *is_ip_out = first_kind != IP_NONE;
    return first;
}

/* Splits "host:port" or "[v6]:port". `port` is empty without a port. */
static void split_host_port(struct span in, struct span *host,
                            struct span *port)
{
    const char *end = in.ptr + in.len;
    const char *colon = NULL;
    size_t colons = 0;

    *host = in;
    *port = (struct span){NULL, 0};
    if (in.len > 0 && in.ptr[0] == '[') {
        const char *close = memchr(in.ptr, ']', in.len);

        if (close != NULL) {
            *host = (struct span){in.ptr + 1, (size_t)(close - in.ptr - 1)};
            if (close + 1 < end && close[1] == ':') {
                *port = (struct span){close + 2, (size_t)(end - close - 2)};
            }
        }
        return;
    }
    for (const char *c = in.ptr; c < end; c++) {
        if (*c == ':') {
            colon = c;
            colons++;
        }
    }
    /* More than one colon is an IPv6 address without a port. */
    if (colons == 1) {
        *host = (struct span){in.ptr, (size_t)(colon - in.ptr)};
        *port = (struct span){colon + 1, (size_t)(end - colon - 1)};
    }
}

static void set_str(struct lf_event *ev, const char *key, struct span s)
{
    lf_event_set_str(ev, key, s.ptr, s.len);
}

/* Sets an integer field; text that is not a number tags the event. */
static void set_int(struct lf_event *ev, const char *key, struct span s)
{
    int64_t value;

    if (lf_number_parse_int(s.ptr, s.len, &value) != 0) {
        ev->tags |= LF_TAG_CONVERSION_FAILURE;
        return;
    }
    lf_event_set_int(ev, key, value);
}

static void set_vhost(struct lf_event *ev, struct span vhost)
{
    struct span host;
    struct span port;

    split_host_port(vhost, &host, &port);
    if (host.len == 0) {
        return;
    }
    set_str(ev, "destination.address", host);
    if (classify_ip(host) != IP_NONE) {
        set_str(ev, "destination.ip", host);
    } else {
        set_str(ev, "destination.domain", host);
    }
    if (port.len > 0) {
        set_int(ev, "destination.port", port);
    }
}

static void set_addresses(struct lf_event *ev, struct span addresses)
{
    struct span vhost = split_vhost(&addresses);
    struct span client;
    bool is_ip = false;

    if (vhost.len > 0) {
        set_vhost(ev, vhost);
    }
    client = choose_client(addresses, &is_ip);
    if (client.len == 0) {
        return;
    }
    set_str(ev, "source.address", client);
    if (is_ip) {
        set_str(ev, "source.ip", client);
    }
}

/*
 * Sets url.path, url.query and url.fragment from a request target. The
 * absolute form that proxies receive ("http://host/p?q") has its scheme
 * and authority skipped; the authority ("host:443") and asterisk ("*")
 * forms have no path.
 */
static void set_url_parts(struct lf_event *ev, struct span target)
{
    const char *p = target.ptr;
    const char *end = p + target.len;
    const char *scheme_end;
    const char *path;
    const char *query;
    const char *fragment;

    if (p < end && *p != '/') {
        scheme_end = memmem(p, target.len, "://", 3);
        if (scheme_end == NULL) {
            return;
        }
        p = scheme_end + 3;
        while (p < end && *p != '/' && *p != '?' && *p != '#') {
            p++;
        }
    }
    path = p;
    while (p < end && *p != '?' && *p != '#') {
        p++;
    }
    if (p > path) {
        lf_event_set_str(ev, "url.path", path, (size_t)(p - path));
    }
    if (p < end && *p == '?') {
        query = ++p;
        while (p < end && *p != '#') {
            p++;
        }
        if (p > query) {
            lf_event_set_str(ev, "url.query", query, (size_t)(p - query));
        }
    }
    if (p < end && *p == '#' && p + 1 < end) {
        fragment = p + 1;
        lf_event_set_str(ev, "url.fragment", fragment,
                         (size_t)(end - fragment));
    }
}

static bool is_method_char(char c)
{
    /* RFC 9110 token characters. */
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Sets the request fields from "METHOD TARGET HTTP/VERSION". Anything
 * else (an empty request, "-", bytes of a TLS handshake sent to a plain
 * port) sets none: the raw text stays in the message.
 */
static void set_request(struct lf_event *ev, struct span request)
{
    const char *end = request.ptr + request.len;
    const char *method_end = request.ptr;
    const char *version;
    struct span target;

    while (method_end < end && is_method_char(*method_end)) {
        method_end++;
    }
    if (method_end == request.ptr || method_end == end || *method_end != ' ') {
        return;
    }
    version = end;
    while (version > method_end + 1 && version[-1] != ' ') {
        version--;
    }
    if (version <= method_end + 2 || end - version <= 5 ||
        memcmp(version, "HTTP/", 5) != 0) {
        return;
    }
    target =
        (struct span){method_end + 1, (size_t)(version - 1 - (method_end + 1))};
    lf_event_set_str(ev, "http.request.method", request.ptr,
                     (size_t)(method_end - request.ptr));
    set_str(ev, "url.original", target);
    set_url_parts(ev, target);
    lf_event_set_str(ev, "http.version", version + 5,
                     (size_t)(end - version - 5));
}

/* Sets a string field unless it is empty or "-", the log's "no value". */
static void set_optional(struct lf_event *ev, const char *key, struct span s)
{
    if (s.ptr != NULL && s.len > 0 && !span_is_dash(s)) {
        set_str(ev, key, s);
    }
}

static int apply_access(struct access_state *access, struct lf_event *ev,
                        const char *text, size_t len)
{
    struct access_line line;
    int64_t ns;

    if (text == NULL || !scan_access_line(text, len, &line)) {
        return LF_ENOMATCH;
    }
    set_addresses(ev, line.addresses);
    set_optional(ev, "user.name", line.user);
    if (lf_timestamp_parse_layout(access->time_layout, line.time.ptr,
                                  line.time.len, &access->tz, 0, &ns) == 0) {
        lf_event_set_timestamp(ev, "@timestamp", ns);
    } else {
        ev->tags |= LF_TAG_TIMESTAMP_FAILURE;
    }
    set_request(ev, line.request);
    set_int(ev, "http.response.status_code", line.status);
    if (!span_is_dash(line.bytes)) {
        set_int(ev, "http.response.body.bytes", line.bytes);
    }
    set_optional(ev, "http.request.referrer", line.referrer);
    set_optional(ev, "user_agent.original", line.agent);
    return 0;
}

void lf_preset_set_request(struct lf_event *ev, const char *ptr, size_t len)
{
    set_request(ev, (struct span){ptr, len});
}

void lf_preset_set_client(struct lf_event *ev, const char *ptr, size_t len)
{
    struct span client = {ptr, len};

    set_str(ev, "source.address", client);
    if (classify_ip(client) != IP_NONE) {
        set_str(ev, "source.ip", client);
    }
}

static void access_destroy(void *state)
{
    struct access_state *access = state;

    if (access == NULL) {
        return;
    }
    lf_timestamp_layout_free(access->time_layout);
    lf_free(access);
}

static int access_create(void **state_out)
{
    struct access_state *access = lf_calloc(1, sizeof(*access));
    char errbuf[128];
    int rc;

    lf_tz_init_utc(&access->tz);
    rc = lf_timestamp_layout_new(ACCESS_TIME_LAYOUT, &access->time_layout,
                                 errbuf, sizeof(errbuf));
    if (rc != 0) {
        access_destroy(access);
        return rc;
    }
    *state_out = access;
    return 0;
}

static int nginx_apply(void *state, struct lf_event *ev, const char *text,
                       size_t len, int64_t now_ns)
{
    (void)now_ns;
    if (apply_access(state, ev, text, len) == 0) {
        return 0;
    }
    return lf_nginx_error_apply(ev, text, len);
}

static int apache_apply(void *state, struct lf_event *ev, const char *text,
                        size_t len, int64_t now_ns)
{
    (void)now_ns;
    if (apply_access(state, ev, text, len) == 0) {
        return 0;
    }
    return lf_apache_error_apply(ev, text, len);
}

const struct lf_preset_type lf_preset_nginx = {
    .name = "nginx",
    .create = access_create,
    .apply = nginx_apply,
    .destroy = access_destroy,
};

const struct lf_preset_type lf_preset_apache = {
    .name = "apache",
    .create = access_create,
    .apply = apache_apply,
    .destroy = access_destroy,
};

static int syslog_preset_create(const char *name, void **state_out)
{
    struct lf_syslog *parser;
    int rc = lf_syslog_preset_new(name, &parser);

    if (rc == 0) {
        *state_out = parser;
    }
    return rc;
}

static int syslog_create(void **state_out)
{
    return syslog_preset_create("syslog", state_out);
}

static int auth_create(void **state_out)
{
    return syslog_preset_create("auth", state_out);
}

static int syslog_apply(void *state, struct lf_event *ev, const char *text,
                        size_t len, int64_t now_ns)
{
    return lf_syslog_apply(state, ev, text, len, now_ns);
}

static void syslog_destroy(void *state)
{
    lf_syslog_free(state);
}

/* Syslog lines in both formats, in UTC (syslog.c). */
static const struct lf_preset_type syslog_preset = {
    .name = "syslog",
    .create = syslog_create,
    .apply = syslog_apply,
    .destroy = syslog_destroy,
};

/* Syslog lines, and the messages of sshd, sudo and others (auth.c). */
static const struct lf_preset_type auth_preset = {
    .name = "auth",
    .create = auth_create,
    .apply = syslog_apply,
    .destroy = syslog_destroy,
};

/* Every preset; LF_PRESET_NAMES lists the same names in the same order. */
static const struct lf_preset_type *const preset_types[] = {
    &lf_preset_nginx,
    &lf_preset_apache,
    &lf_preset_app,
    &lf_preset_python,
    &lf_preset_java,
    &lf_preset_go,
    &lf_preset_rails,
    &syslog_preset,
    &auth_preset,
};

int lf_preset_new(const char *name, struct lf_preset **out)
{
    const struct lf_preset_type *type = NULL;
    struct lf_preset *preset;
    int rc = 0;

    for (size_t i = 0; i < LF_ARRAY_SIZE(preset_types); i++) {
        if (strcmp(name, preset_types[i]->name) == 0) {
            type = preset_types[i];
            break;
        }
    }
    if (type == NULL) {
        return LF_ENOENT;
    }
    preset = lf_calloc(1, sizeof(*preset));
    preset->type = type;
    if (type->create != NULL) {
        rc = type->create(&preset->state);
    }
    if (rc != 0) {
        lf_preset_free(preset);
        return rc;
    }
    *out = preset;
    return 0;
}

void lf_preset_free(struct lf_preset *preset)
{
    if (preset == NULL) {
        return;
    }
    if (preset->type->destroy != NULL) {
        preset->type->destroy(preset->state);
    }
    lf_free(preset);
}

int lf_preset_apply(struct lf_preset *preset, struct lf_event *ev,
                    const char *text, size_t len, int64_t now_ns)
{
    if (text == NULL) {
        return LF_ENOMATCH;
    }
    return preset->type->apply(preset->state, ev, text, len, now_ns);
}
