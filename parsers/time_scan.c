/*
 * Fixed-format timestamp readers for the presets. They check each digit
 * and separator at its known offset and convert by calendar arithmetic,
 * so reading a timestamp costs a few dozen comparisons and no layout
 * interpretation.
 */
#include "parsers/time_scan.h"

#include "parsers/timestamp.h"

#include <stdbool.h>
#include <string.h>

#define NS_PER_S INT64_C(1000000000)

/* Years whose every instant fits in int64 nanoseconds since 1970. */
enum { YEAR_MIN = 1678, YEAR_MAX = 2261 };

struct civil_time {
    int year;
    int month;
    int day;
    int hour;
    int minute;
    int second;
    int64_t fraction_ns;
    int32_t offset_s; /* east of UTC */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly `count` digits at p. */
static bool read_digits(const char *p, const char *end, size_t count, int *out)
{
    int value = 0;

    if ((size_t)(end - p) < count) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (!is_digit(p[i])) {
            return false;
        }
        value = value * 10 + (p[i] - '0');
    }
    *out = value;
    return true;
}

static bool is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};

    if (month == 2 && is_leap_year(year)) {
        return 29;
    }
    return days[month - 1];
}

/* A second of 60 is a leap second, which the conversion counts as :59+1. */
static bool civil_is_valid(const struct civil_time *t)
{
    return t->year >= YEAR_MIN && t->year <= YEAR_MAX && t->month >= 1 &&
           t->month <= 12 && t->day >= 1 &&
           t->day <= days_in_month(t->year, t->month) && t->hour <= 23 &&
           t->minute <= 59 && t->second <= 60;
}

static bool civil_to_ns(const struct civil_time *t, int64_t *ns_out)
{
    int64_t days;
    int64_t seconds;

    if (!civil_is_valid(t)) {
        return false;
    }
    days = lf_timestamp_days_from_civil(t->year, t->month, t->day);
    seconds = days * 86400 + t->hour * 3600 + t->minute * 60 + t->second -
              t->offset_s;
    *ns_out = seconds * NS_PER_S + t->fraction_ns;
    return true;
}

/* Reads "HH:MM:SS" at p. */
static bool read_clock(const char *p, const char *end, struct civil_time *t)
{
    return end - p >= 8 && read_digits(p, end, 2, &t->hour) && p[2] == ':' &&
           read_digits(p + 3, end, 2, &t->minute) && p[5] == ':' &&
           read_digits(p + 6, end, 2, &t->second);
}

/*
 * Reads the digits of a fraction at p (after its '.' or ','), keeping
 * nanosecond precision. Returns the number of digits, 0 when none.
 */
static size_t read_fraction(const char *p, const char *end, int64_t *ns_out)
{
    int64_t ns = 0;
    size_t count = 0;

    while (p + count < end && is_digit(p[count])) {
        if (count < 9) {
            ns = ns * 10 + (p[count] - '0');
        }
        count++;
    }
    for (size_t i = count; i < 9; i++) {
        ns *= 10;
    }
    *ns_out = ns;
    return count;
}

/* Reads an optional '.' or ',' fraction; returns the bytes it spans. */
static size_t read_optional_fraction(const char *p, const char *end,
                                     struct civil_time *t)
{
    size_t digits;

    if (p >= end || (*p != '.' && *p != ',')) {
        return 0;
    }
    digits = read_fraction(p + 1, end, &t->fraction_ns);
    return digits == 0 ? 0 : digits + 1;
}

/*
 * Reads "+hh", "+hhmm" or "+hh:mm" (or '-') at p. Returns the bytes it
 * spans, 0 when there is no offset.
 */
static size_t read_offset(const char *p, const char *end, int32_t *offset_out)
{
    int hours;
    int minutes = 0;
    size_t used = 3;
    int sign;

    if (p >= end || (*p != '+' && *p != '-') ||
        !read_digits(p + 1, end, 2, &hours)) {
        return 0;
    }
    sign = *p == '-' ? -1 : 1;
    if (end - p >= 6 && p[3] == ':' && read_digits(p + 4, end, 2, &minutes)) {
        used = 6;
    } else if (read_digits(p + 3, end, 2, &minutes)) {
        used = 5;
    }
    if (hours > 23 || minutes > 59 || (p + used < end && is_digit(p[used]))) {
        return 0;
    }
    *offset_out = sign * (hours * 3600 + minutes * 60);
    return used;
}

/*
 * Reads 'Z' or an offset, or after one space an offset with minutes
 * ("... +0100"): a bare " -12" after a time is more often text.
 */
static size_t read_zone(const char *p, const char *end, int32_t *offset_out)
{
    size_t used;

    if (p < end && (*p == 'Z' || *p == 'z')) {
        *offset_out = 0;
        return 1;
    }
    used = read_offset(p, end, offset_out);
    if (used == 0 && p < end && *p == ' ') {
        int32_t offset;

        used = read_offset(p + 1, end, &offset);
        if (used < 5) {
            return 0;
        }
        *offset_out = offset;
        used++;
    }
    return used;
}

size_t lf_time_scan_iso8601(const char *p, const char *end, int64_t *ns_out)
{
    struct civil_time t = {0};
    const char *s = p;

    if (end - p < 19 || !read_digits(p, end, 4, &t.year) || p[4] != '-' ||
        !read_digits(p + 5, end, 2, &t.month) || p[7] != '-' ||
        !read_digits(p + 8, end, 2, &t.day) ||
        (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
        !read_clock(p + 11, end, &t)) {
        return 0;
    }
    s += 19;
    s += read_optional_fraction(s, end, &t);
    s += read_zone(s, end, &t.offset_s);
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return (size_t)(s - p);
}

size_t lf_time_scan_slash_date(const char *p, const char *end, int64_t *ns_out)
{
    struct civil_time t = {0};

    if (end - p < 19 || !read_digits(p, end, 4, &t.year) || p[4] != '/' ||
        !read_digits(p + 5, end, 2, &t.month) || p[7] != '/' ||
        !read_digits(p + 8, end, 2, &t.day) || p[10] != ' ' ||
        !read_clock(p + 11, end, &t) || !civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return 19;
}

/* Reads an English month abbreviation such as "Mar"; 1-12, or 0. */
static int read_month_name(const char *p, const char *end)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    if (end - p < 3) {
        return 0;
    }
    for (int i = 0; i < 12; i++) {
        if (memcmp(p, names + 3 * i, 3) == 0) {
            return i + 1;
        }
    }
    return 0;
}

size_t lf_time_scan_clf(const char *p, const char *end, int64_t *ns_out)
{
    struct civil_time t = {0};
    size_t zone;

    if (end - p < 26 || !read_digits(p, end, 2, &t.day) || p[2] != '/' ||
        p[6] != '/' || !read_digits(p + 7, end, 4, &t.year) || p[11] != ':' ||
        !read_clock(p + 12, end, &t) || p[20] != ' ') {
        return 0;
    }
    t.month = read_month_name(p + 3, end);
    zone = read_offset(p + 21, end, &t.offset_s);
    if (t.month == 0 || zone != 5 || !civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return 26;
}

static bool is_weekday_name(const char *p)
{
    static const char names[] = "MonTueWedThuFriSatSun";

    for (int i = 0; i < 7; i++) {
        if (memcmp(p, names + 3 * i, 3) == 0) {
            return true;
        }
    }
    return false;
}

size_t lf_time_scan_ctime(const char *p, const char *end, int64_t *ns_out)
{
    struct civil_time t = {0};
    const char *s;
    int day_tens = 0;

    /* "Www Mon DD HH:MM:SS" with the day as two digits or " D". */
    if (end - p < 24 || !is_weekday_name(p) || p[3] != ' ' || p[7] != ' ' ||
        (p[8] != ' ' && !read_digits(p + 8, end, 1, &day_tens)) ||
        !read_digits(p + 9, end, 1, &t.day) || p[10] != ' ' ||
        !read_clock(p + 11, end, &t)) {
        return 0;
    }
    t.day += 10 * day_tens;
    t.month = read_month_name(p + 4, end);
    s = p + 19;
    s += read_optional_fraction(s, end, &t);
    if (end - s < 5 || *s != ' ' || !read_digits(s + 1, end, 4, &t.year) ||
        t.month == 0 || !civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return (size_t)(s + 5 - p);
}

size_t lf_time_scan_epoch(const char *p, const char *end, int64_t *ns_out)
{
    size_t digits = 0;
    int64_t value = 0;
    int64_t fraction_ns = 0;
    size_t fraction_digits = 0;
    int64_t unit_ns;

    while (p + digits < end && is_digit(p[digits]) && digits < 14) {
        value = value * 10 + (p[digits] - '0');
        digits++;
    }
    if (digits != 10 && digits != 13) {
        return 0;
    }
    unit_ns = digits == 10 ? NS_PER_S : NS_PER_S / 1000;
    if (p + digits < end && p[digits] == '.') {
        fraction_digits = read_fraction(p + digits + 1, end, &fraction_ns);
        if (fraction_digits > 0) {
            fraction_digits++;
        }
    }
    if (p + digits + fraction_digits < end &&
        is_digit(p[digits + fraction_digits])) {
        return 0;
    }
    /* A millisecond fraction counts sub-millisecond nanoseconds. */
    *ns_out = value * unit_ns + fraction_ns / (NS_PER_S / unit_ns);
    return digits + fraction_digits;
}

/* Reads a two-digit year as strptime's %y does. */
static int expand_short_year(int yy)
{
    return yy >= 69 ? 1900 + yy : 2000 + yy;
}

size_t lf_time_scan_short_slash_date(const char *p, const char *end,
                                     int64_t *ns_out)
{
    struct civil_time t = {0};
    int yy;

    if (end - p < 17 || !read_digits(p, end, 2, &yy) || p[2] != '/' ||
        !read_digits(p + 3, end, 2, &t.month) || p[5] != '/' ||
        !read_digits(p + 6, end, 2, &t.day) || p[8] != ' ' ||
        !read_clock(p + 9, end, &t)) {
        return 0;
    }
    t.year = expand_short_year(yy);
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return 17;
}

size_t lf_time_scan_compact_short(const char *p, const char *end,
                                  int64_t *ns_out)
{
    struct civil_time t = {0};
    int yy;

    if (end - p < 13 || !read_digits(p, end, 2, &yy) ||
        !read_digits(p + 2, end, 2, &t.month) ||
        !read_digits(p + 4, end, 2, &t.day) || p[6] != ' ' ||
        !read_digits(p + 7, end, 2, &t.hour) ||
        !read_digits(p + 9, end, 2, &t.minute) ||
        !read_digits(p + 11, end, 2, &t.second)) {
        return 0;
    }
    t.year = expand_short_year(yy);
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return 13;
}

/*
 * Reads 1 to `max_digits` digits at *p, then `sep` unless it is '\0', and
 * moves *p past them.
 */
static bool read_unpadded(const char **p, const char *end, size_t max_digits,
                          char sep, int *out)
{
    const char *s = *p;
    int value = 0;

    while (s < end && is_digit(*s) && (size_t)(s - *p) < max_digits) {
        value = value * 10 + (*s - '0');
        s++;
    }
    if (s == *p || (s < end && is_digit(*s))) {
        return false;
    }
    if (sep != '\0') {
        if (s == end || *s != sep) {
            return false;
        }
        s++;
    }
    *p = s;
    *out = value;
    return true;
}

size_t lf_time_scan_compact_date(const char *p, const char *end,
                                 int64_t *ns_out)
{
    struct civil_time t = {0};
    const char *s = p + 9;
    int ms = 0;

    if (end - p < 14 || !read_digits(p, end, 4, &t.year) ||
        !read_digits(p + 4, end, 2, &t.month) ||
        !read_digits(p + 6, end, 2, &t.day) || p[8] != '-' ||
        !read_unpadded(&s, end, 2, ':', &t.hour) ||
        !read_unpadded(&s, end, 2, ':', &t.minute) ||
        !read_unpadded(&s, end, 2, '\0', &t.second)) {
        return 0;
    }
    if (s < end && *s == '.') {
        s += read_optional_fraction(s, end, &t);
    } else if (s + 1 < end && *s == ':' && is_digit(s[1])) {
        /* After ':' the digits count milliseconds: ":7" is 7 ms. */
        s++;
        if (!read_unpadded(&s, end, 3, '\0', &ms)) {
            return 0;
        }
        t.fraction_ns = (int64_t)ms * (NS_PER_S / 1000);
    }
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return (size_t)(s - p);
}

size_t lf_time_scan_db2(const char *p, const char *end, int64_t *ns_out)
{
    struct civil_time t = {0};
    const char *s = p + 19;

    if (end - p < 19 || !read_digits(p, end, 4, &t.year) || p[4] != '-' ||
        !read_digits(p + 5, end, 2, &t.month) || p[7] != '-' ||
        !read_digits(p + 8, end, 2, &t.day) || p[10] != '-' ||
        !read_digits(p + 11, end, 2, &t.hour) || p[13] != '.' ||
        !read_digits(p + 14, end, 2, &t.minute) || p[16] != '.' ||
        !read_digits(p + 17, end, 2, &t.second)) {
        return 0;
    }
    if (s < end && *s == '.') {
        s += read_optional_fraction(s, end, &t);
    }
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return (size_t)(s - p);
}

size_t lf_time_scan_dotted_date(const char *p, const char *end, int64_t *ns_out)
{
    struct civil_time t = {0};
    const char *s = p + 10;

    if (end - p < 10 || !read_digits(p, end, 4, &t.year) || p[4] != '.' ||
        !read_digits(p + 5, end, 2, &t.month) || p[7] != '.' ||
        !read_digits(p + 8, end, 2, &t.day)) {
        return 0;
    }
    if (end - s >= 9 && s[0] == ' ' && read_clock(s + 1, end, &t)) {
        s += 9;
        if (s < end && *s == '.') {
            s += read_optional_fraction(s, end, &t);
        }
    }
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return (size_t)(s - p);
}

size_t lf_time_scan_month_day(const char *p, const char *end, int64_t now_ns,
                              int64_t *ns_out)
{
    struct civil_time t = {0};
    const char *s = p + 14;

    if (end - p < 14 || !read_digits(p, end, 2, &t.month) ||
        (p[2] != '-' && p[2] != '.') || !read_digits(p + 3, end, 2, &t.day) ||
        p[5] != ' ' || !read_clock(p + 6, end, &t) || t.month < 1 ||
        t.month > 12) {
        return 0;
    }
    if (s < end && *s == '.') {
        s += read_optional_fraction(s, end, &t);
    }
    t.year = (int)lf_timestamp_infer_year(t.month, now_ns);
    if (!civil_to_ns(&t, ns_out)) {
        return 0;
    }
    return (size_t)(s - p);
}
