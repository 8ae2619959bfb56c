/*
 * Decoding of Docker json-file and CRI log lines, between the line reader
 * and multiline grouping. Each stream joins its own parts, because a
 * runtime interleaves the parts of a long stdout line with stderr lines.
 */
#include "agent/input/container.h"
#include "lf/error.h"
#include "parsers/timestamp.h"

#include <jansson.h>

#include <string.h>

/* One decoded line: the application's text and its container metadata. */
struct decoded {
    const char *text;
    size_t len;
    enum lf_container_stream stream;
    bool partial;        /* more parts of the same line follow */
    bool has_timestamp;
    int64_t timestamp_ns;
};

static const char *const stream_names[] = {"stdout", "stderr", NULL};

int lf_container_format_parse(const char *name,
                              enum lf_container_format *out)
{
    static const char *const names[] = {"plain", "docker", "cri", "auto"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i], name) == 0) {
            *out = (enum lf_container_format)i;
            return 0;
        }
    }
    return LF_EINVAL;
}

void lf_container_init(struct lf_container *container,
                       enum lf_container_format format, size_t max_bytes)
{
    memset(container, 0, sizeof(*container));
    container->format = format;
    container->max_bytes = max_bytes;
    for (int i = 0; i < LF_CONTAINER_STREAMS; i++) {
        lf_buf_init(&container->parts[i].text);
    }
    lf_buf_init(&container->message);
}

void lf_container_cleanup(struct lf_container *container)
{
    for (int i = 0; i < LF_CONTAINER_STREAMS; i++) {
        lf_buf_cleanup(&container->parts[i].text);
    }
    lf_buf_cleanup(&container->message);
}

static void parts_reset(struct lf_container_parts *parts)
{
    lf_buf_reset(&parts->text);
    parts->active = false;
    parts->truncated = false;
}

void lf_container_reset(struct lf_container *container)
{
    for (int i = 0; i < LF_CONTAINER_STREAMS; i++) {
        parts_reset(&container->parts[i]);
    }
}

uint64_t lf_container_held_offset(const struct lf_container *container)
{
    uint64_t offset = UINT64_MAX;

    for (int i = 0; i < LF_CONTAINER_STREAMS; i++) {
        const struct lf_container_parts *parts = &container->parts[i];

        if (parts->active && parts->offset < offset) {
            offset = parts->offset;
        }
    }
    return offset;
}

static enum lf_container_stream stream_of(const char *name, size_t len)
{
    for (int i = 0; stream_names[i] != NULL; i++) {
        if (strlen(stream_names[i]) == len &&
            memcmp(stream_names[i], name, len) == 0) {
            return (enum lf_container_stream)i;
        }
    }
    return LF_CONTAINER_OTHER;
}

static bool parse_time(const char *text, size_t len, int64_t *ns_out)
{
    struct lf_tz utc;

    lf_tz_init_utc(&utc);
    return lf_timestamp_parse_iso8601(text, len, &utc, ns_out) == 0;
}

/* Returns the value of the 4 hex digits at `p`, or -1. */
static long hex4(const char *p)
{
    long value = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int digit;

        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        } else {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

/* Returns the code unit of a "\uXXXX" escape at data[i], or -1. */
static long unicode_escape_at(const char *data, size_t len, size_t i)
{
    if (i + 6 > len || data[i] != '\\' || data[i + 1] != 'u') {
        return -1;
    }
    return hex4(data + i + 2);
}

/*
 * Copies `data` into `out` with every "\uXXXX" escape of an unpaired
 * UTF-16 surrogate replaced by "\ufffd" (U+FFFD). JSON's grammar allows
 * such escapes, but jansson rejects the whole document. Returns true when
 * one was replaced.
 */
static bool replace_lone_surrogates(const char *data, size_t len,
                                    struct lf_buf *out)
{
    bool replaced = false;
    size_t i = 0;

    lf_buf_reset(out);
    while (i < len) {
        long unit = unicode_escape_at(data, len, i);
        long next = -1;

        if (unit >= 0xd800 && unit <= 0xdbff) {
            next = unicode_escape_at(data, len, i + 6);
        }
        if (next >= 0xdc00 && next <= 0xdfff) {
            lf_buf_append(out, data + i, 12); /* a valid pair */
            i += 12;
        } else if (unit >= 0xd800 && unit <= 0xdfff) {
            lf_buf_append(out, "\\ufffd", 6);
            replaced = true;
            i += 6;
        } else if (data[i] == '\\' && i + 1 < len) {
            lf_buf_append(out, data + i, 2); /* another escape */
            i += 2;
        } else {
            lf_buf_append(out, data + i, 1);
            i++;
        }
    }
    return replaced;
}

/*
 * Decodes a json-file line. The text is copied into `message`, because
 * the JSON document is freed before the caller uses it.
 * NOTE: jansson builds a document per line, so this path allocates per
 * event, unlike the plain path; its throughput is not measured.
 */
static bool decode_docker(struct lf_container *container, const char *data,
                          size_t len, struct decoded *out)
{
    json_t *doc = json_loadb(data, len, JSON_ALLOW_NUL, NULL);
    json_t *log;
    json_t *stream;
    json_t *time;
    size_t text_len;

    if (doc == NULL &&
        replace_lone_surrogates(data, len, &container->message)) {
        doc = json_loadb(container->message.data, container->message.len,
                         JSON_ALLOW_NUL, NULL);
    }
    log = json_object_get(doc, "log");
    stream = json_object_get(doc, "stream");
    time = json_object_get(doc, "time");

    if (!json_is_object(doc) || !json_is_string(log)) {
        json_decref(doc);
        return false;
    }
    lf_buf_reset(&container->message);
    text_len = json_string_length(log);
    lf_buf_append(&container->message, json_string_value(log), text_len);
    out->partial = text_len == 0 || container->message.data[text_len - 1] !=
                                        '\n';
    if (!out->partial) {
        /* The "\n" (and a "\r" before it) end the line, as in a file. */
        text_len--;
        if (text_len > 0 && container->message.data[text_len - 1] == '\r') {
            text_len--;
        }
    }
    out->text = container->message.data != NULL ? container->message.data
                                                : "";
    out->len = text_len;
    out->stream = LF_CONTAINER_OTHER;
    if (json_is_string(stream)) {
        out->stream = stream_of(json_string_value(stream),
                                json_string_length(stream));
    }
    out->has_timestamp =
        json_is_string(time) &&
        parse_time(json_string_value(time), json_string_length(time),
                   &out->timestamp_ns);
    json_decref(doc);
    return true;
}

/*
 * Decodes "<time> <stream> <tag> <message>". The tag is "P" or "F",
 * optionally followed by ":"-separated runtime tags; older runtimes write
 * no tag, and the line is then whole.
 */
static bool decode_cri(const char *data, size_t len, struct decoded *out)
{
    const char *end = data + len;
    const char *time_end = memchr(data, ' ', len);
    const char *stream;
    const char *stream_end;
    const char *rest;

    if (time_end == NULL ||
        !parse_time(data, (size_t)(time_end - data), &out->timestamp_ns)) {
        return false;
    }
    stream = time_end + 1;
    stream_end = memchr(stream, ' ', (size_t)(end - stream));
    if (stream_end == NULL) {
        return false;
    }
    out->stream = stream_of(stream, (size_t)(stream_end - stream));
    if (out->stream == LF_CONTAINER_OTHER) {
        return false;
    }
    out->has_timestamp = true;
    out->partial = false;
    rest = stream_end + 1;
    if (rest < end && (*rest == 'P' || *rest == 'F') &&
        (rest + 1 == end || rest[1] == ' ' || rest[1] == ':')) {
        out->partial = *rest == 'P';
        rest = memchr(rest, ' ', (size_t)(end - rest));
        rest = rest != NULL ? rest + 1 : end;
    }
    out->text = rest;
    out->len = (size_t)(end - rest);
    return true;
}

static bool decode(struct lf_container *container, const struct lf_line *line,
                   struct decoded *out)
{
    bool json = line->len > 0 && line->data[0] == '{';

    switch (container->format) {
    case LF_CONTAINER_DOCKER:
        return decode_docker(container, line->data, line->len, out);
    case LF_CONTAINER_CRI:
        return decode_cri(line->data, line->len, out);
    case LF_CONTAINER_AUTO:
        if (json && decode_docker(container, line->data, line->len, out)) {
            return true;
        }
        return decode_cri(line->data, line->len, out);
    case LF_CONTAINER_PLAIN:
        break;
    }
    return false;
}

/* Appends a part within max_bytes. */
static void hold_part(struct lf_container *container,
                      struct lf_container_parts *parts,
                      const struct lf_line *line, const struct decoded *part)
{
    size_t room = container->max_bytes - parts->text.len;
    size_t len = part->len;

    if (!parts->active) {
        parts->active = true;
        parts->offset = line->offset;
        parts->has_timestamp = part->has_timestamp;
        parts->timestamp_ns = part->timestamp_ns;
    }
    if (len > room) {
        len = room;
        parts->truncated = true;
    }
    parts->truncated = parts->truncated || line->truncated;
    parts->end_offset = line->end_offset;
    lf_buf_append(&parts->text, part->text, len);
}

/* Hands out the joined parts in `out` and reuses the old message buffer. */
static void take_parts(struct lf_container *container,
                       struct lf_container_parts *parts, struct lf_line *out)
{
    struct lf_buf swap = container->message;

    container->message = parts->text;
    parts->text = swap;
    out->data = container->message.data != NULL ? container->message.data
                                                : "";
    out->len = container->message.len;
    out->offset = parts->offset;
    out->truncated = parts->truncated;
    out->has_timestamp = parts->has_timestamp;
    out->timestamp_ns = parts->timestamp_ns;
    parts_reset(parts);
}

bool lf_container_flush(struct lf_container *container,
                        enum lf_container_stream stream, struct lf_line *out)
{
    struct lf_container_parts *parts = &container->parts[stream];

    if (!parts->active) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->stream = stream_names[stream];
    out->end_offset = parts->end_offset;
    out->commit_offset = parts->end_offset;
    take_parts(container, parts, out);
    return true;
}

enum lf_container_stream
lf_container_oldest_held(const struct lf_container *container)
{
    enum lf_container_stream oldest = LF_CONTAINER_STREAMS;

    for (int i = 0; i < LF_CONTAINER_STREAMS; i++) {
        const struct lf_container_parts *parts = &container->parts[i];

        if (!parts->active) {
            continue;
        }
        if (oldest == LF_CONTAINER_STREAMS ||
            parts->offset < container->parts[oldest].offset) {
            oldest = (enum lf_container_stream)i;
        }
    }
    return oldest;
}

enum lf_container_stream lf_container_stream_of(const char *name)
{
    return name == NULL ? LF_CONTAINER_OTHER : stream_of(name, strlen(name));
}

bool lf_container_push(struct lf_container *container,
                       const struct lf_line *line, struct lf_line *out)
{
    struct lf_container_parts *parts;
    struct decoded part;

    *out = *line;
    if (container->format == LF_CONTAINER_PLAIN ||
        !decode(container, line, &part)) {
        return true;
    }
    if (container->shipped != NULL &&
        lf_cuts_shipped(container->shipped, (unsigned)part.stream,
                        line->end_offset, container->restart_offset)) {
        return false;
    }
    parts = &container->parts[part.stream];
    container->last_stream = part.stream;
    out->stream = stream_names[part.stream];
    if (!part.partial && !parts->active) {
        out->data = part.text;
        out->len = part.len;
        if (out->len > container->max_bytes) {
            out->len = container->max_bytes;
            out->truncated = true;
        }
        out->has_timestamp = part.has_timestamp;
        out->timestamp_ns = part.timestamp_ns;
        return true;
    }

    hold_part(container, parts, line, &part);
    if (part.partial) {
        return false;
    }
    take_parts(container, parts, out);
    return true;
}
