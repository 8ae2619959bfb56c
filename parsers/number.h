/*
 * Locale-free conversion of captured text to integers and floats for
 * typed fields.
 */
#ifndef LF_PARSERS_NUMBER_H
#define LF_PARSERS_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses an optional sign and 1 or more decimal digits, nothing else.
 * Returns 0, LF_EPARSE for other text, or LF_ERANGE when the value does
 * not fit in int64.
 */
int lf_number_parse_int(const char *s, size_t len, int64_t *out);

/*
 * Parses a decimal float: an optional sign, digits with an optional '.'
 * (a digit on at least one side), and an optional exponent ("1.5e-3").
 * Infinity, NaN, hexadecimal and surrounding blanks are rejected, because
 * JSON cannot carry the first two and a log field never needs the rest.
 * The result is correctly rounded. Returns 0, LF_EPARSE, LF_ERANGE when
 * the value overflows a double, or LF_ETOOBIG for text of more than 63
 * bytes that needs more than 19 significant digits or a large exponent.
 */
int lf_number_parse_float(const char *s, size_t len, double *out);

#endif
