/*
 * Growable byte buffer. `data` is always NUL-terminated after any append, so
 * a buffer holding text can be passed to C string functions.
 */
#ifndef LF_LF_BUF_H
#define LF_LF_BUF_H

#include <stddef.h>

struct lf_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
};

void lf_buf_init(struct lf_buf *buf);

/* Releases the storage; the buffer may be reused after lf_buf_init(). */
void lf_buf_cleanup(struct lf_buf *buf);

/* Sets the length to 0 and keeps the storage. */
void lf_buf_reset(struct lf_buf *buf);

/* Makes room for `extra` more bytes plus the NUL; may move `data`. */
void lf_buf_reserve(struct lf_buf *buf, size_t extra);

void lf_buf_append(struct lf_buf *buf, const void *data, size_t len);
void lf_buf_append_char(struct lf_buf *buf, char c);
void lf_buf_append_str(struct lf_buf *buf, const char *s);

/* Appends printf-style formatted text. */
void lf_buf_appendf(struct lf_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Removes the first `len` bytes, moving the rest to the front. */
void lf_buf_consume(struct lf_buf *buf, size_t len);

#endif
