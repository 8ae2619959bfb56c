/*
 * Character encodings of input files (the `encoding` option). Lines are
 * framed in the file's encoding and converted to UTF-8 for the event, so
 * offsets stay file byte offsets.
 */
#ifndef LF_AGENT_INPUT_ENCODING_H
#define LF_AGENT_INPUT_ENCODING_H

#include <stddef.h>

#include "lf/buf.h"

enum lf_encoding {
    LF_ENCODING_UTF8,
    LF_ENCODING_UTF16LE,
    LF_ENCODING_UTF16BE,
};

/*
 * Parses an `encoding` value ("utf-8", "utf-16le", "utf-16be"). Returns 0,
 * or LF_EINVAL for another name.
 */
int lf_encoding_parse(const char *name, enum lf_encoding *out);

/* Returns the size of one code unit in bytes: 1 or 2. */
size_t lf_encoding_unit(enum lf_encoding encoding);

/* Returns the lf_encoding_unit() bytes of "\n" in the encoding. */
const char *lf_encoding_newline(enum lf_encoding encoding);

/*
 * Appends the UTF-8 form of `len` bytes of UTF-16 text to `out`. Unpaired
 * surrogates and an odd final byte become U+FFFD.
 */
void lf_encoding_utf16_to_utf8(const char *data, size_t len,
                               enum lf_encoding encoding, struct lf_buf *out);

/*
 * Returns the largest length up to `max` that does not end inside a UTF-8
 * sequence of `data`, so a cut line stays valid UTF-8.
 */
size_t lf_encoding_utf8_cut(const char *data, size_t len, size_t max);

#endif
