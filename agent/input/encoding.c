/*
 * UTF-16 to UTF-8 conversion for the line reader. Invalid input never
 * stops a line: each bad code unit becomes U+FFFD and decoding goes on.
 */
#include "agent/input/encoding.h"
#include "lf/error.h"

#include <stdint.h>
#include <string.h>

#define REPLACEMENT_CHARACTER 0xfffd

int lf_encoding_parse(const char *name, enum lf_encoding *out)
{
    if (strcmp(name, "utf-8") == 0) {
        *out = LF_ENCODING_UTF8;
    } else if (strcmp(name, "utf-16le") == 0) {
        *out = LF_ENCODING_UTF16LE;
    } else if (strcmp(name, "utf-16be") == 0) {
        *out = LF_ENCODING_UTF16BE;
    } else {
        return LF_EINVAL;
    }
    return 0;
}

size_t lf_encoding_unit(enum lf_encoding encoding)
{
    return encoding == LF_ENCODING_UTF8 ? 1 : 2;
}

const char *lf_encoding_newline(enum lf_encoding encoding)
{
    switch (encoding) {
    case LF_ENCODING_UTF16LE:
        return "\n\0";
    case LF_ENCODING_UTF16BE:
        return "\0\n";
    case LF_ENCODING_UTF8:
        break;
    }
    return "\n";
}

static void append_utf8(struct lf_buf *out, uint32_t cp)
{
    char bytes[4];
    size_t n;

    if (cp < 0x80) {
        bytes[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        bytes[0] = (char)(0xc0 | (cp >> 6));
        bytes[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        bytes[0] = (char)(0xe0 | (cp >> 12));
        bytes[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        bytes[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        bytes[0] = (char)(0xf0 | (cp >> 18));
        bytes[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        bytes[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        bytes[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    lf_buf_append(out, bytes, n);
}

static uint32_t unit_at(const unsigned char *p, enum lf_encoding encoding)
{
    if (encoding == LF_ENCODING_UTF16LE) {
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    }
    return ((uint32_t)p[0] << 8) | (uint32_t)p[1];
}

void lf_encoding_utf16_to_utf8(const char *data, size_t len,
                               enum lf_encoding encoding, struct lf_buf *out)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;

    lf_buf_reserve(out, len + len / 2);
    while (i + 1 < len) {
        uint32_t unit = unit_at(p + i, encoding);
        uint32_t low;

        i += 2;
        if (unit < 0xd800 || unit > 0xdfff) {
            append_utf8(out, unit);
            continue;
        }
        /* A high surrogate must be followed by a low one. */
        if (unit <= 0xdbff && i + 1 < len) {
            low = unit_at(p + i, encoding);
            if (low >= 0xdc00 && low <= 0xdfff) {
                i += 2;
                append_utf8(out, 0x10000 + ((unit - 0xd800) << 10) +
                                     (low - 0xdc00));
                continue;
            }
        }
        append_utf8(out, REPLACEMENT_CHARACTER);
    }
    if (i < len) {
        append_utf8(out, REPLACEMENT_CHARACTER);
    }
}

size_t lf_encoding_utf8_cut(const char *data, size_t len, size_t max)
{
    size_t cut;

    if (len <= max) {
        return len;
    }
    cut = max;
    /* Back up over continuation bytes to the start of the cut sequence. */
    while (cut > 0 && ((unsigned char)data[cut] & 0xc0) == 0x80) {
        cut--;
    }
    return cut;
}
