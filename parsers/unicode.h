/*
 * Helpers shared by the parsers that decode escapes (json, logfmt):
 * hexadecimal digits and UTF-8 encoding of a code point.
 */
#ifndef LF_PARSERS_UNICODE_H
#define LF_PARSERS_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Returns the value of a hexadecimal digit, or -1 for another byte. */
static inline int lf_hex_digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Writes `cp` as UTF-8 into `out` (room for 4 bytes) and returns the
 * length. A surrogate or a value past U+10FFFF is written as U+FFFD.
 */
static inline size_t lf_utf8_encode(char *out, uint32_t cp)
{
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        cp = 0xfffd;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

#endif
