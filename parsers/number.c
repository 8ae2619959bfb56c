/*
 * Number conversion for typed fields. Integers are parsed by hand. Floats
 * take an exact fast path when the decimal mantissa and its power of ten
 * are both exactly representable as doubles, which covers the values
 * that logs carry (latencies, ratios). The rest goes to strtod(), which
 * rounds correctly. strtod() reads the decimal point from LC_NUMERIC, and
 * the agent never calls setlocale(), so that is always '.'.
 */
#include "parsers/number.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: every integer up to this is exact in a double. */
#define EXACT_MANTISSA_MAX (UINT64_C(1) << 53)

/* 10^22 is the largest power of ten that a double represents exactly. */
#define EXACT_POW10_MAX 22

/* Longer float text is rejected instead of being copied to the heap. */
enum { FLOAT_TEXT_MAX = 63 };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int lf_number_parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool negative = false;
    uint64_t limit;
    uint64_t value = 0;

    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        i++;
    }
    if (i == len) {
        return LF_EPARSE;
    }
    limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        uint64_t digit;

        if (!is_digit(s[i])) {
            return LF_EPARSE;
        }
        digit = (uint64_t)(s[i] - '0');
        if (value > (limit - digit) / 10) {
            return LF_ERANGE;
        }
        value = value * 10 + digit;
    }
    if (negative) {
        *out = value == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)value;
    } else {
        *out = (int64_t)value;
    }
    return 0;
}

/* The syntax of a float, with what the fast path needs. */
struct float_text {
    uint64_t mantissa; /* the digits without the point */
    int digit_count;   /* significant digits in `mantissa` */
    int64_t exponent;  /* power of ten to apply to `mantissa` */
    bool negative;
    bool exact; /* mantissa kept every digit */
};

static bool read_exponent(const char *s, size_t len, size_t *i, int64_t *out)
{
    bool negative = false;
    int64_t value = 0;
    size_t start;

    if (*i < len && (s[*i] == '+' || s[*i] == '-')) {
        negative = s[*i] == '-';
        (*i)++;
    }
    start = *i;
    while (*i < len && is_digit(s[*i])) {
        /* Saturate: any exponent past this overflows or underflows. */
        if (value < 100000) {
            value = value * 10 + (s[*i] - '0');
        }
        (*i)++;
    }
    *out = negative ? -value : value;
    return *i > start;
}

static void add_digit(struct float_text *f, char c)
{
    if (f->digit_count == 0 && c == '0') {
        return;
    }
    if (f->digit_count < 19) {
        f->mantissa = f->mantissa * 10 + (uint64_t)(c - '0');
        f->digit_count++;
    } else {
        f->exact = false;
    }
}

static int scan_float(const char *s, size_t len, struct float_text *f)
{
    size_t i = 0;
    size_t digits = 0;
    int64_t exponent = 0;

    memset(f, 0, sizeof(*f));
    f->exact = true;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        f->negative = s[0] == '-';
        i++;
    }
    for (; i < len && is_digit(s[i]); i++, digits++) {
        add_digit(f, s[i]);
        if (!f->exact) {
            f->exponent++;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++, digits++) {
            add_digit(f, s[i]);
            if (f->exact) {
                f->exponent--;
            }
        }
    }
    if (digits == 0) {
        return LF_EPARSE;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (!read_exponent(s, len, &i, &exponent)) {
            return LF_EPARSE;
        }
    }
    f->exponent += exponent;
    return i == len ? 0 : LF_EPARSE;
}

static int parse_float_slow(const char *s, size_t len, double *out)
{
    char text[FLOAT_TEXT_MAX + 1];
    double value;

    if (len > FLOAT_TEXT_MAX) {
        return LF_ETOOBIG;
    }
    memcpy(text, s, len);
    text[len] = '\0';
    errno = 0;
    value = strtod(text, NULL);
    if (errno == ERANGE && isinf(value)) {
        return LF_ERANGE;
    }
    *out = value;
    return 0;
}

int lf_number_parse_float(const char *s, size_t len, double *out)
{
    static const double pow10[EXACT_POW10_MAX + 1] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    struct float_text f;
    int rc = scan_float(s, len, &f);
    double value;

    if (rc != 0) {
        return rc;
    }
    if (!f.exact || f.mantissa > EXACT_MANTISSA_MAX ||
        f.exponent < -EXACT_POW10_MAX || f.exponent > EXACT_POW10_MAX) {
        return parse_float_slow(s, len, out);
    }
    /* One exact operand and one rounding: the result is correctly rounded. */
    value = (double)f.mantissa;
    if (f.exponent < 0) {
        value /= pow10[-f.exponent];
    } else {
        value *= pow10[f.exponent];
    }
    *out = f.negative ? -value : value;
    return 0;
}
