/*
 * Growable byte buffer used for batch bodies, read buffers and messages.
 * Growth doubles the capacity so appends are amortised O(1).
 */
#include "lf/buf.h"
#include "lf/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { LF_BUF_MIN_CAP = 64 };

void lf_buf_init(struct lf_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void lf_buf_cleanup(struct lf_buf *buf)
{
    lf_free(buf->data);
    lf_buf_init(buf);
}

void lf_buf_reset(struct lf_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL) {
        buf->data[0] = '\0';
    }
}

void lf_buf_reserve(struct lf_buf *buf, size_t extra)
{
    size_t need = buf->len + extra + 1;
    size_t cap = buf->cap < LF_BUF_MIN_CAP ? LF_BUF_MIN_CAP : buf->cap;

    if (need <= buf->cap) {
        return;
    }
    while (cap < need) {
        cap *= 2;
    }
    buf->data = lf_realloc(buf->data, cap);
    buf->cap = cap;
}

void lf_buf_append(struct lf_buf *buf, const void *data, size_t len)
{
    lf_buf_reserve(buf, len);
    if (len > 0) {
        memcpy(buf->data + buf->len, data, len);
    }
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void lf_buf_append_char(struct lf_buf *buf, char c)
{
    lf_buf_reserve(buf, 1);
    buf->data[buf->len++] = c;
    buf->data[buf->len] = '\0';
}

void lf_buf_append_str(struct lf_buf *buf, const char *s)
{
    lf_buf_append(buf, s, strlen(s));
}

void lf_buf_appendf(struct lf_buf *buf, const char *fmt, ...)
{
    va_list ap;
    size_t room;
    int n;

    /* Format into the free space first; most messages fit. */
    lf_buf_reserve(buf, LF_BUF_MIN_CAP);
    room = buf->cap - buf->len;
    va_start(ap, fmt);
    n = vsnprintf(buf->data + buf->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf->data[buf->len] = '\0';
        return;
    }

    if ((size_t)n >= room) {
        lf_buf_reserve(buf, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    buf->len += (size_t)n;
}

void lf_buf_consume(struct lf_buf *buf, size_t len)
{
    if (len >= buf->len) {
        lf_buf_reset(buf);
        return;
    }
    memmove(buf->data, buf->data + len, buf->len - len);
    buf->len -= len;
    buf->data[buf->len] = '\0';
}
