/*
 * Duration conversion with integer arithmetic only, so "1.1" seconds is
 * exactly 1100000000 ns and not 1099999999 as a double would give.
 */
#include "parsers/duration.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <stdbool.h>
#include <string.h>

struct duration_unit {
    const char *name;
    int64_t ns;
    int64_t mantissa; /* ns == mantissa * 10^exponent */
    int exponent;
};

static const struct duration_unit duration_units[] = {
    {"ns", INT64_C(1), 1, 0},           {"us", INT64_C(1000), 1, 3},
    {"ms", INT64_C(1000000), 1, 6},     {"s", INT64_C(1000000000), 1, 9},
    {"m", INT64_C(60000000000), 6, 10}, {"h", INT64_C(3600000000000), 36, 11},
};

/*
 * Digits of a fraction read past the unit's exponent. With a mantissa of
 * at most 36, 10^17 * 36 still fits in uint64, and 17 digits resolve the
 * remainder far below one nanosecond.
 */
enum { EXTRA_FRACTION_DIGITS = 17 };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static const struct duration_unit *find_unit(int64_t unit_ns)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(duration_units); i++) {
        if (duration_units[i].ns == unit_ns) {
            return &duration_units[i];
        }
    }
    return NULL;
}

int lf_duration_unit_parse(const char *unit, int64_t *unit_ns_out)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(duration_units); i++) {
        if (strcmp(duration_units[i].name, unit) == 0) {
            *unit_ns_out = duration_units[i].ns;
            return 0;
        }
    }
    return LF_EINVAL;
}

static int parse_whole(const char *s, size_t len, size_t *i, int64_t unit_ns,
                       int64_t *ns_out)
{
    int64_t units = 0;

    for (; *i < len && is_digit(s[*i]); (*i)++) {
        int64_t digit = s[*i] - '0';

        if (units > (INT64_MAX - digit) / 10) {
            return LF_ERANGE;
        }
        units = units * 10 + digit;
    }
    if (units > INT64_MAX / unit_ns) {
        return LF_ERANGE;
    }
    *ns_out = units * unit_ns;
    return 0;
}

/*
 * A fraction of a unit of m * 10^e ns is split after its e-th digit. The
 * first e digits form an integer F worth F * m ns. The next n digits D
 * add D * m / 10^n ns, truncated.
 */
static void parse_fraction(const char *s, size_t len, size_t *i,
                           const struct duration_unit *unit, int64_t *ns_out)
{
    uint64_t whole_digits = 0;
    uint64_t extra = 0;
    uint64_t extra_scale = 1;
    int count = 0;

    for (; *i < len && is_digit(s[*i]); (*i)++, count++) {
        uint64_t digit = (uint64_t)(s[*i] - '0');

        if (count < unit->exponent) {
            whole_digits = whole_digits * 10 + digit;
        } else if (count < unit->exponent + EXTRA_FRACTION_DIGITS) {
            extra = extra * 10 + digit;
            extra_scale *= 10;
        }
    }
    for (; count < unit->exponent; count++) {
        whole_digits *= 10;
    }
    *ns_out = (int64_t)(whole_digits * (uint64_t)unit->mantissa +
                        extra * (uint64_t)unit->mantissa / extra_scale);
}

int lf_duration_parse(const char *s, size_t len, int64_t unit_ns,
                      int64_t *ns_out)
{
    const struct duration_unit *unit = find_unit(unit_ns);
    size_t i = 0;
    int64_t whole;
    int64_t fraction = 0;
    int rc;

    if (unit == NULL) {
        return LF_EINVAL;
    }
    rc = parse_whole(s, len, &i, unit_ns, &whole);
    if (rc != 0) {
        return rc;
    }
    if (i < len && s[i] == '.') {
        size_t start = ++i;

        parse_fraction(s, len, &i, unit, &fraction);
        if (i == start && start == 1) {
            return LF_EPARSE;
        }
    } else if (i == 0) {
        return LF_EPARSE;
    }
    if (i != len) {
        return LF_EPARSE;
    }
    if (whole > INT64_MAX - fraction) {
        return LF_ERANGE;
    }
    *ns_out = whole + fraction;
    return 0;
}
