/*
 * The syslog parser: a hand-written scanner for the RFC 3164 and RFC 5424
 * headers, so a line costs one pass and no regex. String fields point
 * into the line. Only structured data keys and escaped values are copied
 * into the event's arena.
 */
#include "parsers/syslog.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/auth.h"
#include "parsers/field_map.h"

#include <string.h>

/* RFC 5424 section 6.2.1: facility 0-23 times 8 plus severity 0-7. */
#define MAX_PRIORITY 191
#define PRIORITY_DIGITS 3

/* "Mmm dd hh:mm:ss" as syslogd writes it, with an optional fraction. */
#define BSD_TIME_LAYOUT "%b %e %H:%M:%S"
#define BSD_TIME_FRACTION_LAYOUT "%b %e %H:%M:%S.%f"

#define SD_KEY_PREFIX "log.syslog.structured_data."

/* RFC 5424 section 6.4: a UTF-8 MSG starts with a byte order mark. */
static const char utf8_bom[] = "\xEF\xBB\xBF";

struct lf_syslog {
    enum lf_syslog_format format;
    bool auth; /* also read sshd and sudo messages */
    struct lf_tz tz;
    struct lf_timestamp_layout *bsd_layout;
    struct lf_timestamp_layout *bsd_fraction_layout;
};

struct span {
    const char *ptr; /* NULL when the part is absent or nil ("-") */
    size_t len;
};

/* The parts of one line's header, before they become fields. */
struct header {
    int priority;  /* -1 when the line has no <PRI> */
    bool iso_time; /* `time` is RFC 3339, not "Mmm dd hh:mm:ss" */
    struct span version;
    struct span time;
    struct span hostname;
    struct span appname;
    struct span procid;
    struct span msgid;
    struct span structured_data;
    struct span msg;
};

/* RFC 5424 table 1, with the keywords that syslog(3) and rsyslog use. */
static const char *const facility_names[] = {
    "kern",   "user",     "mail",    "daemon",       "auth",     "syslog",
    "lpr",    "news",     "uucp",    "cron",         "authpriv", "ftp",
    "ntp",    "security", "console", "solaris-cron", "local0",   "local1",
    "local2", "local3",   "local4",  "local5",       "local6",   "local7",
};

/* RFC 5424 table 2, and the `log.level` each severity maps to. */
static const struct {
    const char *name;
    const char *level;
} severities[] = {
    {"emergency", "fatal"},    {"alert", "fatal"},  {"critical", "fatal"},
    {"error", "error"},        {"warning", "warn"}, {"notice", "info"},
    {"informational", "info"}, {"debug", "debug"},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads "<PRI>" at *p, if present, into h->priority. */
static bool read_priority(const char **p, const char *end, struct header *h)
{
    const char *s;
    int value = 0;
    int digits = 0;

    if (*p >= end || **p != '<') {
        return true;
    }
    s = *p + 1;
    while (s < end && is_digit(*s) && digits < PRIORITY_DIGITS) {
        value = value * 10 + (*s - '0');
        s++;
        digits++;
    }
    /* A leading zero is only valid in "<0>" (RFC 5424 section 6.2.1). */
    if (digits == 0 || s >= end || *s != '>' || value > MAX_PRIORITY ||
        (digits > 1 && (*p)[1] == '0')) {
        return false;
    }
    h->priority = value;
    *p = s + 1;
    return true;
}

/* Reads a run of bytes up to a space or the end; empty is invalid. */
static bool read_token(const char **p, const char *end, struct span *out)
{
    const char *s = *p;

    while (s < end && *s != ' ') {
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

static bool read_space(const char **p, const char *end)
{
    if (*p < end && **p == ' ') {
        (*p)++;
        return true;
    }
    return false;
}

/* Reads a header field of RFC 5424 and the space after it; "-" is nil. */
static bool read_field(const char **p, const char *end, struct span *out)
{
    if (!read_token(p, end, out) || !read_space(p, end)) {
        return false;
    }
    if (out->len == 1 && out->ptr[0] == '-') {
        out->ptr = NULL;
        out->len = 0;
    }
    return true;
}

/* True when a version ("1", "2", ...) and a space follow the <PRI>. */
static bool has_version(const char *p, const char *end)
{
    if (p >= end || *p < '1' || *p > '9') {
        return false;
    }
    p++;
    if (p < end && is_digit(*p)) {
        p++;
    }
    return p < end && *p == ' ';
}

/*
 * Reads one SD-ELEMENT, "[id name="value" ...]". Inside a value a
 * backslash escapes the next byte, so "\]" does not end the element.
 */
static bool skip_sd_element(const char **p, const char *end)
{
    const char *s = *p + 1;
    bool quoted = false;

    for (; s < end; s++) {
        if (quoted && *s == '\\') {
            s++;
        } else if (*s == '"') {
            quoted = !quoted;
        } else if (!quoted && *s == ']') {
            *p = s + 1;
            return true;
        }
    }
    return false;
}

static bool read_structured_data(const char **p, const char *end,
                                 struct span *out)
{
    const char *start = *p;

    if (*p < end && **p == '-') {
        (*p)++;
        return true;
    }
    if (*p >= end || **p != '[') {
        return false;
    }
    while (*p < end && **p == '[') {
        if (!skip_sd_element(p, end)) {
            return false;
        }
    }
    out->ptr = start;
    out->len = (size_t)(*p - start);
    return true;
}

/* VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD */
static bool scan_rfc5424(const char *p, const char *end, struct header *h)
{
    if (h->priority < 0 || !has_version(p, end) ||
        !read_token(&p, end, &h->version) || !read_space(&p, end) ||
        !read_field(&p, end, &h->time) || !read_field(&p, end, &h->hostname) ||
        !read_field(&p, end, &h->appname) || !read_field(&p, end, &h->procid) ||
        !read_field(&p, end, &h->msgid) ||
        !read_structured_data(&p, end, &h->structured_data)) {
        return false;
    }
    h->iso_time = true;
    if (p == end) {
        return true;
    }
    if (!read_space(&p, end)) {
        return false;
    }
    if ((size_t)(end - p) >= LF_STRLEN(utf8_bom) &&
        memcmp(p, utf8_bom, LF_STRLEN(utf8_bom)) == 0) {
        p += LF_STRLEN(utf8_bom);
    }
    h->msg = (struct span){p, (size_t)(end - p)};
    return true;
}

/*
 * Reads "Mmm dd hh:mm:ss[.fraction]" with a day of one or two digits,
 * space-padded or not, as the syslog daemons of Linux and macOS write it.
 * Only the shape is checked here; the layout checks the values.
 */
static bool read_bsd_time(const char **p, const char *end, struct span *out)
{
    const char *s = *p;
    int digits = 0;

    if (end - s < 3 || !is_alnum(s[0]) || is_digit(s[0])) {
        return false;
    }
    s += 3;
    while (s < end && *s == ' ') {
        s++;
    }
    while (s < end && is_digit(*s) && digits < 2) {
        s++;
        digits++;
    }
    if (digits == 0 || !read_space(&s, end) || end - s < 8 || s[2] != ':' ||
        s[5] != ':') {
        return false;
    }
    s += 8;
    if (s < end && *s == '.') {
        s++;
        while (s < end && is_digit(*s)) {
            s++;
        }
    }
    out->ptr = *p;
    out->len = (size_t)(s - *p);
    *p = s;
    return true;
}

/* Hostnames and IPv4 addresses: a letter or digit, then [A-Za-z0-9._-]. */
static bool is_hostname(struct span s)
{
    if (s.len == 0 || !is_alnum(s.ptr[0])) {
        return false;
    }
    for (size_t i = 1; i < s.len; i++) {
        char c = s.ptr[i];

        if (!is_alnum(c) && c != '.' && c != '-' && c != '_') {
            return false;
        }
    }
    return true;
}

/* Reads "[PID]" at `s` when digits fill the brackets. */
static bool read_pid(const char **s, const char *end, struct span *out)
{
    const char *p;

    if (*s >= end || **s != '[') {
        return false;
    }
    p = *s + 1;
    while (p < end && is_digit(*p)) {
        p++;
    }
    if (p == *s + 1 || p >= end || *p != ']') {
        return false;
    }
    *out = (struct span){*s + 1, (size_t)(p - *s - 1)};
    *s = p + 1;
    return true;
}

/* True at ": " or at a ':' that ends the line. */
static bool at_tag_end(const char *s, const char *end)
{
    return s < end && *s == ':' && (s + 1 == end || s[1] == ' ');
}

/*
 * Reads "TAG[PID]: MSG" or "TAG: MSG". The tag is the shortest text on
 * the first line that such an ending follows, so it may contain spaces
 * and brackets: macOS writes "Google Chrome[85294]: ..." and
 * "com.apple.xpc.launchd[1] (com.apple.quicklook[21498]): ...".
 */
static bool read_tag(const char *p, const char *end, struct header *h)
{
    if (p >= end) {
        return false;
    }
    for (const char *s = p + 1; s < end && *s != '\n'; s++) {
        const char *after = s;
        struct span pid = {NULL, 0};

        if (!at_tag_end(s, end) &&
            !(read_pid(&after, end, &pid) && at_tag_end(after, end))) {
            continue;
        }
        if (pid.ptr == NULL) {
            after = s;
        }
        after++;
        read_space(&after, end);
        h->appname = (struct span){p, (size_t)(s - p)};
        h->procid = pid;
        h->msg = (struct span){after, (size_t)(end - after)};
        return true;
    }
    return false;
}

/*
 * Reads "HOSTNAME TAG: MSG" after the time. The hostname may be missing,
 * leaving two spaces or none before the tag. A line without the tag form
 * keeps all of it as the message, as syslogd's own lines do ("last
 * message repeated 2 times").
 */
static void scan_bsd_body(const char *p, const char *end, struct header *h)
{
    const char *s = p;
    struct span host = {NULL, 0};

    if (read_token(&s, end, &host) && is_hostname(host) &&
        read_space(&s, end) && read_tag(s, end, h)) {
        h->hostname = host;
        return;
    }
    if (p < end && *p == ' ') {
        p++;
    }
    if (!read_tag(p, end, h)) {
        h->msg = (struct span){p, (size_t)(end - p)};
    }
}

/* Checks the shape "YYYY-MM-DDThh:mm:ss"; the parser checks the values. */
static bool is_iso_date(struct span s)
{
    return s.len >= LF_STRLEN("YYYY-MM-DDThh:mm:ss") && s.ptr[4] == '-' &&
           s.ptr[7] == '-' && s.ptr[10] == 'T' && s.ptr[13] == ':';
}

/* [<PRI>]TIMESTAMP SP [HOSTNAME SP] TAG[\[PID\]]: MSG */
static bool scan_rfc3164(const char *p, const char *end, struct header *h)
{
    if (p < end && is_digit(*p)) {
        /* rsyslog's file format writes an RFC 3339 time here. */
        if (!read_token(&p, end, &h->time) || !is_iso_date(h->time)) {
            return false;
        }
        h->iso_time = true;
    } else if (!read_bsd_time(&p, end, &h->time)) {
        return false;
    }
    if (p == end) {
        h->msg = (struct span){p, 0};
        return true;
    }
    if (!read_space(&p, end)) {
        return false;
    }
    scan_bsd_body(p, end, h);
    return true;
}

static bool scan_line(const struct lf_syslog *parser, const char *text,
                      size_t len, struct header *h)
{
    const char *p = text;
    const char *end = text + len;
    enum lf_syslog_format format = parser->format;

    memset(h, 0, sizeof(*h));
    h->priority = -1;
    if (!read_priority(&p, end, h)) {
        return false;
    }
    if (format == LF_SYSLOG_AUTO) {
        format = h->priority >= 0 && has_version(p, end) ? LF_SYSLOG_RFC5424
                                                         : LF_SYSLOG_RFC3164;
    }
    if (format == LF_SYSLOG_RFC5424) {
        return scan_rfc5424(p, end, h);
    }
    return scan_rfc3164(p, end, h);
}

static void set_span(struct lf_event *ev, const char *key, struct span s)
{
    if (s.ptr != NULL && s.len > 0) {
        lf_event_set_str(ev, key, s.ptr, s.len);
    }
}

static void set_priority(struct lf_event *ev, int priority)
{
    int facility = priority / 8;
    int severity = priority % 8;

    lf_event_set_int(ev, "log.syslog.priority", priority);
    lf_event_set_int(ev, "log.syslog.facility.code", facility);
    lf_event_set_str(ev, "log.syslog.facility.name", facility_names[facility],
                     strlen(facility_names[facility]));
    lf_event_set_int(ev, "log.syslog.severity.code", severity);
    lf_event_set_str(ev, "log.syslog.severity.name", severities[severity].name,
                     strlen(severities[severity].name));
    lf_event_set_str(ev, "log.level", severities[severity].level,
                     strlen(severities[severity].level));
}

/* Returns false when the line has a time that does not convert. */
static bool set_time(struct lf_syslog *parser, struct lf_event *ev,
                     const struct header *h, int64_t now_ns)
{
    const struct lf_timestamp_layout *layout = parser->bsd_layout;
    int64_t ns;
    int rc;

    if (h->time.ptr == NULL) {
        return true;
    }
    if (h->iso_time) {
        rc = lf_timestamp_parse_iso8601(h->time.ptr, h->time.len, &parser->tz,
                                        &ns);
    } else {
        if (memchr(h->time.ptr, '.', h->time.len) != NULL) {
            layout = parser->bsd_fraction_layout;
        }
        rc = lf_timestamp_parse_layout(layout, h->time.ptr, h->time.len,
                                       &parser->tz, now_ns, &ns);
    }
    if (rc != 0) {
        ev->tags |= LF_TAG_TIMESTAMP_FAILURE;
        return false;
    }
    lf_event_set_timestamp(ev, "@timestamp", ns);
    return true;
}

/* Sets `process.pid` when the PROCID is a decimal number. */
static void set_pid(struct lf_event *ev, struct span procid)
{
    int64_t pid = 0;

    if (procid.ptr == NULL || procid.len == 0 || procid.len > 10) {
        return;
    }
    for (size_t i = 0; i < procid.len; i++) {
        if (!is_digit(procid.ptr[i])) {
            return;
        }
        pid = pid * 10 + (procid.ptr[i] - '0');
    }
    lf_event_set_int(ev, "process.pid", pid);
}

/* Copies a PARAM-VALUE without its escaping backslashes into the arena. */
static const char *unescape_value(struct lf_event *ev, struct span value,
                                  size_t *len_out)
{
    char *copy;
    size_t n = 0;

    if (memchr(value.ptr, '\\', value.len) == NULL) {
        *len_out = value.len;
        return value.ptr;
    }
    copy = lf_event_alloc(ev, value.len + 1);
    for (size_t i = 0; i < value.len; i++) {
        /* RFC 5424 section 6.3.3: only \" \\ and \] are escapes. */
        if (value.ptr[i] == '\\' && i + 1 < value.len &&
            (value.ptr[i + 1] == '"' || value.ptr[i + 1] == '\\' ||
             value.ptr[i + 1] == ']')) {
            i++;
        }
        copy[n++] = value.ptr[i];
    }
    copy[n] = '\0';
    *len_out = n;
    return copy;
}

/* Sets "log.syslog.structured_data.ID.NAME" to the parameter's value. */
static void set_sd_param(struct lf_event *ev, struct span id, struct span name,
                         struct span value)
{
    size_t key_len = LF_STRLEN(SD_KEY_PREFIX) + id.len + 1 + name.len;
    char *key = lf_event_alloc(ev, key_len + 1);
    const char *text;
    size_t text_len;

    memcpy(key, SD_KEY_PREFIX, LF_STRLEN(SD_KEY_PREFIX));
    memcpy(key + LF_STRLEN(SD_KEY_PREFIX), id.ptr, id.len);
    key[LF_STRLEN(SD_KEY_PREFIX) + id.len] = '.';
    memcpy(key + LF_STRLEN(SD_KEY_PREFIX) + id.len + 1, name.ptr, name.len);
    key[key_len] = '\0';
    text = unescape_value(ev, value, &text_len);
    lf_event_set_str(ev, key, text, text_len);
}

/*
 * Reads the parameters of one element, from after its SD-ID to its "]".
 * The scan in read_structured_data() has already matched the brackets
 * and quotes; a parameter without the name="value" shape ends the element.
 */
static const char *set_sd_params(struct lf_event *ev, struct span id,
                                 const char *p, const char *end)
{
    while (p < end && *p == ' ') {
        const char *name = ++p;
        const char *value;

        while (p < end && *p != '=' && *p != ' ' && *p != ']') {
            p++;
        }
        if (end - p < 2 || p[0] != '=' || p[1] != '"') {
            break;
        }
        value = p + 2;
        for (p = value; p < end && *p != '"'; p++) {
            if (*p == '\\') {
                p++;
            }
        }
        if (p >= end) {
            break;
        }
        set_sd_param(ev, id, (struct span){name, (size_t)(value - 2 - name)},
                     (struct span){value, (size_t)(p - value)});
        p++;
    }
    return p;
}

/*
 * Sets one field per SD-PARAM. An element without parameters sets none.
 * NOTE: event fields are flat, so a parameter that occurs twice in one
 * element keeps its last value, and a '.' in an SD-ID or name nests the
 * object one level deeper in the document.
 */
static void set_structured_data(struct lf_event *ev, struct span sd)
{
    const char *p = sd.ptr;
    const char *end = sd.ptr + sd.len;

    while (p < end && *p == '[') {
        const char *id = ++p;

        while (p < end && *p != ' ' && *p != ']') {
            p++;
        }
        p = set_sd_params(ev, (struct span){id, (size_t)(p - id)}, p, end);
        /* Skips to the next element, past anything malformed. */
        while (p < end && *p != '[') {
            p++;
        }
    }
}

static void set_fields(struct lf_syslog *parser, struct lf_event *ev,
                       const struct header *h, int64_t now_ns)
{
    bool time_ok;

    if (h->priority >= 0) {
        set_priority(ev, h->priority);
    }
    set_span(ev, "log.syslog.version", h->version);
    time_ok = set_time(parser, ev, h, now_ns);
    set_span(ev, "host.hostname", h->hostname);
    set_span(ev, "log.syslog.hostname", h->hostname);
    set_span(ev, "process.name", h->appname);
    set_span(ev, "log.syslog.appname", h->appname);
    set_span(ev, "log.syslog.procid", h->procid);
    set_pid(ev, h->procid);
    set_span(ev, "log.syslog.msgid", h->msgid);
    if (h->structured_data.ptr != NULL) {
        set_structured_data(ev, h->structured_data);
    }
    /* The time's text is kept: the whole line stays the message. */
    if (time_ok) {
        lf_event_set_str(ev, "message", h->msg.ptr != NULL ? h->msg.ptr : "",
                         h->msg.len);
    }
    if (parser->auth && h->appname.ptr != NULL && h->msg.ptr != NULL) {
        lf_auth_apply(ev, h->appname.ptr, h->appname.len, h->msg.ptr,
                      h->msg.len);
    }
}

int lf_syslog_apply(struct lf_syslog *parser, struct lf_event *ev,
                    const char *text, size_t len, int64_t now_ns)
{
    struct header h;

    if (text == NULL || !scan_line(parser, text, len, &h)) {
        return LF_ENOMATCH;
    }
    set_fields(parser, ev, &h, now_ns);
    return 0;
}

int lf_syslog_new(enum lf_syslog_format format, struct lf_tz *tz, bool auth,
                  struct lf_syslog **out)
{
    struct lf_syslog *parser = lf_calloc(1, sizeof(*parser));
    char errbuf[128];
    int rc;

    parser->format = format;
    parser->auth = auth;
    parser->tz = *tz;
    lf_tz_init_utc(tz);
    rc = lf_timestamp_layout_new(BSD_TIME_LAYOUT, &parser->bsd_layout, errbuf,
                                 sizeof(errbuf));
    if (rc == 0) {
        rc = lf_timestamp_layout_new(BSD_TIME_FRACTION_LAYOUT,
                                     &parser->bsd_fraction_layout, errbuf,
                                     sizeof(errbuf));
    }
    if (rc != 0) {
        lf_syslog_free(parser);
        return rc;
    }
    *out = parser;
    return 0;
}

int lf_syslog_preset_new(const char *name, struct lf_syslog **out)
{
    struct lf_tz utc;
    bool auth = strcmp(name, "auth") == 0;

    if (!auth && strcmp(name, "syslog") != 0) {
        return LF_ENOENT;
    }
    lf_tz_init_utc(&utc);
    return lf_syslog_new(LF_SYSLOG_AUTO, &utc, auth, out);
}

void lf_syslog_free(struct lf_syslog *parser)
{
    if (parser == NULL) {
        return;
    }
    lf_timestamp_layout_free(parser->bsd_layout);
    lf_timestamp_layout_free(parser->bsd_fraction_layout);
    lf_tz_cleanup(&parser->tz);
    lf_free(parser);
}

/* The `- syslog:` step of a parser chain. */

static const char *const syslog_keys[] = {"format", "timezone", "field"};

static const struct {
    const char *name;
    enum lf_syslog_format format;
} format_names[] = {
    {"auto", LF_SYSLOG_AUTO},
    {"rfc3164", LF_SYSLOG_RFC3164},
    {"rfc5424", LF_SYSLOG_RFC5424},
};

static int format_from_conf(const struct lf_conf_node *spec,
                            enum lf_syslog_format *out, char *errbuf,
                            size_t errlen)
{
    struct lf_conf_node node;
    const char *name = NULL;
    int rc = lf_conf_get_str(spec, "format", "auto", &name, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(format_names); i++) {
        if (strcmp(format_names[i].name, name) == 0) {
            *out = format_names[i].format;
            return 0;
        }
    }
    lf_conf_child(spec, "format", &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "invalid format '%s': expected auto, rfc3164 or "
                         "rfc5424",
                         name);
}

static int syslog_create(const struct lf_conf_node *spec, void **out,
                         char *errbuf, size_t errlen)
{
    enum lf_syslog_format format = LF_SYSLOG_AUTO;
    struct lf_conf_node node;
    struct lf_syslog *parser = NULL;
    struct lf_tz tz;
    int rc = 0;

    lf_tz_init_utc(&tz);
    /* `- syslog:` with no options is a null value: take the defaults. */
    if (lf_conf_kind(spec) != LF_CONF_NULL) {
        rc = lf_conf_check_keys(spec, syslog_keys, LF_ARRAY_SIZE(syslog_keys),
                                errbuf, errlen);
        if (rc == 0) {
            rc = format_from_conf(spec, &format, errbuf, errlen);
        }
        if (rc == 0 && lf_conf_child(spec, "timezone", &node) == 0) {
            rc = lf_field_map_tz_from_conf(&node, &tz, errbuf, errlen);
        }
    }
    if (rc == 0) {
        rc = lf_syslog_new(format, &tz, false, &parser);
    }
    lf_tz_cleanup(&tz);
    if (rc == 0) {
        *out = parser;
    }
    return rc;
}

static int syslog_apply(void *state, struct lf_regex_scratch *scratch,
                        struct lf_event *ev, const char *text, size_t len,
                        int64_t now_ns)
{
    (void)scratch;
    return lf_syslog_apply(state, ev, text, len, now_ns);
}

static void syslog_destroy(void *state)
{
    lf_syslog_free(state);
}

const struct lf_parser_kind lf_syslog_kind = {
    .name = "syslog",
    .role = LF_PARSER_MATCHER,
    .create = syslog_create,
    .apply = syslog_apply,
    .destroy = syslog_destroy,
};
