/*
 * Event encoding for the queue. Encoding appends to one reused buffer and
 * decoding points the event into the record, so neither allocates per
 * field once the buffer and the event's arrays have grown.
 */
#include "agent/queue/event_codec.h"
#include "lf/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Version 2 adds the event's span after the version byte. */
enum { CODEC_VERSION = 1, CODEC_VERSION_SPAN = 2, CODEC_SPAN_BYTES = 24 };

static void put_u8(char *p, unsigned v)
{
    p[0] = (char)(v & 0xff);
}

static void put_u16(char *p, uint64_t v)
{
    for (int i = 0; i < 2; i++) {
        p[i] = (char)((v >> (8 * i)) & 0xff);
    }
}

static void put_u32(char *p, uint64_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (char)((v >> (8 * i)) & 0xff);
    }
}

static void put_u64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (char)((v >> (8 * i)) & 0xff);
    }
}

/* Returns the encoded size of `ev`, or 0 when a length field overflows. */
static size_t encoded_size(const struct lf_event *ev, size_t doc_id_len)
{
    size_t size = 1 + 1 + doc_id_len + 4 + 4 + 4 + ev->message_len + 2 + 2;

    if (doc_id_len > LF_EVENT_CODEC_DOC_ID_MAX ||
        ev->message_len > UINT32_MAX || ev->tag_count > UINT16_MAX ||
        ev->field_count > UINT16_MAX) {
        return 0;
    }
    for (size_t i = 0; i < ev->tag_count; i++) {
        size_t len = strlen(ev->tag_list[i]);

        if (len > UINT16_MAX) {
            return 0;
        }
        size += 2 + len + 1;
    }
    for (size_t i = 0; i < ev->field_count; i++) {
        const struct lf_field *field = &ev->fields[i];
        size_t key_len = ev->key_lens[i];

        if (key_len > UINT16_MAX) {
            return 0;
        }
        size += 2 + key_len + 1 + 1;
        switch (field->value.type) {
        case LF_VALUE_STRING:
        case LF_VALUE_JSON:
            if (field->value.u.str.len > UINT32_MAX) {
                return 0;
            }
            size += 4 + field->value.u.str.len;
            break;
        case LF_VALUE_BOOL:
            size += 1;
            break;
        case LF_VALUE_INT:
        case LF_VALUE_FLOAT:
        case LF_VALUE_TIMESTAMP:
            size += 8;
            break;
        }
    }
    return size;
}

/* Writes `len` bytes at `p` and returns the position after them. */
static char *put_bytes(char *p, const void *data, size_t len)
{
    if (len > 0) {
        memcpy(p, data, len);
    }
    return p + len;
}

static char *put_value(char *p, const struct lf_value *value)
{
    uint64_t bits;

    put_u8(p++, (unsigned)value->type);
    switch (value->type) {
    case LF_VALUE_STRING:
    case LF_VALUE_JSON:
        put_u32(p, value->u.str.len);
        return put_bytes(p + 4, value->u.str.ptr, value->u.str.len);
    case LF_VALUE_BOOL:
        put_u8(p, value->u.b ? 1 : 0);
        return p + 1;
    case LF_VALUE_INT:
        put_u64(p, (uint64_t)value->u.i);
        return p + 8;
    case LF_VALUE_TIMESTAMP:
        put_u64(p, (uint64_t)value->u.ts_ns);
        return p + 8;
    case LF_VALUE_FLOAT:
        memcpy(&bits, &value->u.f, sizeof(bits));
        put_u64(p, bits);
        return p + 8;
    }
    return p;
}

int lf_event_encode(const struct lf_event *ev, const char *doc_id,
                    const struct lf_event_span *span, struct lf_buf *out)
{
    size_t doc_id_len = strlen(doc_id);
    size_t size = encoded_size(ev, doc_id_len);
    char *start;
    char *p;

    if (size == 0) {
        return LF_ETOOBIG;
    }
    lf_buf_reserve(out, size + CODEC_SPAN_BYTES);
    start = out->data + out->len;
    p = start;
    if (span != NULL) {
        put_u8(p++, CODEC_VERSION_SPAN);
        put_u64(p, span->file_id);
        put_u64(p + 8, span->prev_end);
        put_u64(p + 16, span->end);
        p += CODEC_SPAN_BYTES;
    } else {
        put_u8(p++, CODEC_VERSION);
    }
    put_u8(p++, (unsigned)doc_id_len);
    p = put_bytes(p, doc_id, doc_id_len);
    put_u32(p, ev->tags);
    put_u32(p + 4, ev->log_flags);
    put_u32(p + 8, ev->message_len);
    p = put_bytes(p + 12, ev->message, ev->message_len);
    put_u16(p, ev->tag_count);
    p += 2;
    for (size_t i = 0; i < ev->tag_count; i++) {
        size_t len = strlen(ev->tag_list[i]);

        put_u16(p, len);
        p = put_bytes(p + 2, ev->tag_list[i], len + 1);
    }
    put_u16(p, ev->field_count);
    p += 2;
    for (size_t i = 0; i < ev->field_count; i++) {
        size_t key_len = ev->key_lens[i];

        put_u16(p, key_len);
        p = put_bytes(p + 2, ev->fields[i].key, key_len + 1);
        p = put_value(p, &ev->fields[i].value);
    }
    out->len += (size_t)(p - start);
    out->data[out->len] = '\0';
    return 0;
}

/* A bounds-checked reader over one record. */
struct reader {
    const unsigned char *p;
    const unsigned char *end;
    bool failed;
};

static const unsigned char *take(struct reader *r, size_t len)
{
    const unsigned char *p = r->p;

    if (r->failed || (size_t)(r->end - r->p) < len) {
        r->failed = true;
        return NULL;
    }
    r->p += len;
    return p;
}

static uint64_t take_uint(struct reader *r, size_t width)
{
    const unsigned char *p = take(r, width);
    uint64_t v = 0;

    if (p == NULL) {
        return 0;
    }
    for (size_t i = 0; i < width; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* Takes a string of `len` bytes followed by a NUL, as keys and tags are. */
static const char *take_cstr(struct reader *r, size_t len)
{
    const unsigned char *p = take(r, len + 1);

    if (p == NULL || p[len] != '\0' || memchr(p, '\0', len) != NULL) {
        r->failed = true;
        return NULL;
    }
    return (const char *)p;
}

static bool take_value(struct reader *r, struct lf_value *value)
{
    unsigned type = (unsigned)take_uint(r, 1);
    uint64_t bits;

    switch (type) {
    case LF_VALUE_STRING:
    case LF_VALUE_JSON:
        value->type = (enum lf_value_type)type;
        value->u.str.len = (size_t)take_uint(r, 4);
        value->u.str.ptr = (const char *)take(r, value->u.str.len);
        break;
    case LF_VALUE_BOOL:
        value->type = LF_VALUE_BOOL;
        bits = take_uint(r, 1);
        if (bits > 1) {
            r->failed = true;
        }
        value->u.b = bits == 1;
        break;
    case LF_VALUE_INT:
        value->type = LF_VALUE_INT;
        value->u.i = (int64_t)take_uint(r, 8);
        break;
    case LF_VALUE_TIMESTAMP:
        value->type = LF_VALUE_TIMESTAMP;
        value->u.ts_ns = (int64_t)take_uint(r, 8);
        break;
    case LF_VALUE_FLOAT:
        value->type = LF_VALUE_FLOAT;
        bits = take_uint(r, 8);
        memcpy(&value->u.f, &bits, sizeof(bits));
        break;
    default:
        r->failed = true;
        break;
    }
    return !r->failed;
}

int lf_event_decode(const void *data, size_t len, struct lf_event *ev,
                    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1])
{
    struct reader r = {.p = data, .end = (const unsigned char *)data + len};
    const unsigned char *id;
    size_t id_len;
    size_t count;

    lf_event_reset(ev);
    switch (take_uint(&r, 1)) {
    case CODEC_VERSION:
        break;
    case CODEC_VERSION_SPAN:
        take(&r, CODEC_SPAN_BYTES);
        break;
    default:
        return LF_ECORRUPT;
    }
    id_len = (size_t)take_uint(&r, 1);
    id = take(&r, id_len);
    if (id == NULL) {
        return LF_ECORRUPT;
    }
    memcpy(doc_id, id, id_len);
    doc_id[id_len] = '\0';
    ev->tags = (unsigned)take_uint(&r, 4);
    ev->log_flags = (unsigned)take_uint(&r, 4);
    ev->message_len = (size_t)take_uint(&r, 4);
    ev->message = (const char *)take(&r, ev->message_len);

    count = (size_t)take_uint(&r, 2);
    for (size_t i = 0; i < count && !r.failed; i++) {
        const char *tag = take_cstr(&r, (size_t)take_uint(&r, 2));

        if (tag != NULL) {
            lf_event_add_tag(ev, tag);
        }
    }
    count = (size_t)take_uint(&r, 2);
    for (size_t i = 0; i < count && !r.failed; i++) {
        const char *key = take_cstr(&r, (size_t)take_uint(&r, 2));
        struct lf_value value;

        if (key != NULL && take_value(&r, &value)) {
            lf_event_set(ev, key, &value);
        }
    }
    if (r.failed || r.p != r.end) {
        lf_event_reset(ev);
        return LF_ECORRUPT;
    }
    return 0;
}

int lf_event_decode_span(const void *data, size_t len,
                         struct lf_event_span *span_out)
{
    struct reader r = {.p = data, .end = (const unsigned char *)data + len};

    switch (take_uint(&r, 1)) {
    case CODEC_VERSION:
        return r.failed ? LF_ECORRUPT : LF_ENOENT;
    case CODEC_VERSION_SPAN:
        break;
    default:
        return LF_ECORRUPT;
    }
    span_out->file_id = take_uint(&r, 8);
    span_out->prev_end = take_uint(&r, 8);
    span_out->end = take_uint(&r, 8);
    return r.failed ? LF_ECORRUPT : 0;
}
