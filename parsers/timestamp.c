/*
 * Timestamp parsing for the parser chain. Text is read into a broken-down
 * civil time by hand and converted to epoch nanoseconds by arithmetic on
 * the proleptic Gregorian calendar, so no call on the per-line path
 * touches the locale or the time zone database. The one exception is a
 * `Local` zone, which calls mktime() once per new local hour. IANA zones
 * are read from their TZif file once, when the configuration is loaded.
 */
#include "parsers/timestamp.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/tzfile.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S INT64_C(1000000000)
#define S_PER_DAY INT64_C(86400)
#define S_PER_HOUR 3600
#define FRACTION_DIGITS 9 /* nanoseconds */

/* The largest offset a zone has had is +14:00; allow any hh:mm below 24h. */
#define MAX_OFFSET_HOURS 23

/* A time read from text, before it is converted to the epoch. */
struct civil {
    int64_t year;
    int month; /* 1-12 */
    int day;   /* 1-31 */
    int hour;  /* 0-23, or 1-12 when hour12 is set */
    int minute;
    int second; /* 0-60: 60 is a leap second */
    int32_t nanos;
    int32_t offset_s; /* when has_offset: seconds east of UTC */
    int64_t epoch_s;  /* when has_epoch */
    bool has_year;
    bool has_offset;
    bool has_epoch;
    bool hour12;
    bool pm;
};

enum layout_op {
    OP_LITERAL,
    OP_BLANKS,
    OP_YEAR4,
    OP_YEAR2,
    OP_MONTH,
    OP_MONTH_NAME,
    OP_DAY,
    OP_DAY_PADDED, /* %e: leading blank allowed */
    OP_HOUR24,
    OP_HOUR24_PADDED,
    OP_HOUR12,
    OP_HOUR12_PADDED,
    OP_MINUTE,
    OP_SECOND,
    OP_FRACTION,
    OP_AM_PM,
    OP_WEEKDAY_NAME,
    OP_OFFSET,
    OP_ZONE_NAME,
    OP_EPOCH,
};

struct layout_step {
    unsigned char op; /* enum layout_op */
    char literal;     /* OP_LITERAL */
};

struct lf_timestamp_layout {
    size_t step_count;
    struct layout_step steps[];
};

/* A lower-case English name; its first three letters abbreviate it. */
struct name {
    const char *text;
    size_t len;
};

#define NAME(text)                                                             \
    {                                                                          \
        text, LF_STRLEN(text)                                                  \
    }

static const struct name month_names[] = {
    NAME("january"),   NAME("february"), NAME("march"),    NAME("april"),
    NAME("may"),       NAME("june"),     NAME("july"),     NAME("august"),
    NAME("september"), NAME("october"),  NAME("november"), NAME("december"),
};

static const struct name weekday_names[] = {
    NAME("sunday"),   NAME("monday"), NAME("tuesday"),  NAME("wednesday"),
    NAME("thursday"), NAME("friday"), NAME("saturday"),
};

enum { NAME_ABBREV_LEN = 3 };

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

static bool is_leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month)
{
    static const unsigned char days[] = {31, 28, 31, 30, 31, 30,
                                         31, 31, 30, 31, 30, 31};

    if (month == 2 && is_leap_year(year)) {
        return 29;
    }
    return days[month - 1];
}

/*
 * The calendar is counted from 1 March, so that the leap day is the last
 * day of a year, in eras of 400 years (146097 days) that repeat exactly.
 * Day 719468 of era 0 is 1970-01-01.
 */
int64_t lf_timestamp_days_from_civil(int64_t year, int month, int day)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = month > 2 ? month - 3 : month + 9;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

    return era * 146097 + day_of_era - 719468;
}

/* The inverse of lf_timestamp_days_from_civil(). */
static void civil_from_days(int64_t days, int64_t *year_out, int *month_out,
                            int *day_out)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t day_of_era = z - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
                           day_of_era / 146096) /
                          365;
    int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    int month = (int)(month_from_march < 10 ? month_from_march + 3
                                            : month_from_march - 9);

    *day_out = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *month_out = month;
    *year_out = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads `min` to `max` decimal digits (max <= 18) at *p. */
static bool read_number(const char **p, const char *end, int min, int max,
                        int64_t *out)
{
    const char *s = *p;
    int64_t value = 0;
    int count = 0;

    while (s < end && count < max && is_digit(*s)) {
        value = value * 10 + (*s - '0');
        s++;
        count++;
    }
    if (count < min) {
        return false;
    }
    *p = s;
    *out = value;
    return true;
}

static bool read_int(const char **p, const char *end, int min, int max,
                     int *out)
{
    int64_t value;

    if (!read_number(p, end, min, max, &value)) {
        return false;
    }
    *out = (int)value;
    return true;
}

static bool read_char(const char **p, const char *end, char c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return true;
    }
    return false;
}

/* Reads fraction digits; digits past nanoseconds are read and dropped. */
static bool read_fraction(const char **p, const char *end, int32_t *out)
{
    const char *s = *p;
    int32_t nanos = 0;
    int count = 0;

    while (s < end && is_digit(*s)) {
        if (count < FRACTION_DIGITS) {
            nanos = nanos * 10 + (*s - '0');
        }
        s++;
        count++;
    }
    if (count == 0) {
        return false;
    }
    for (; count < FRACTION_DIGITS; count++) {
        nanos *= 10;
    }
    *p = s;
    *out = nanos;
    return true;
}

/* Reads "Z", "z", "+hh:mm", "+hhmm" or "+hh" (or with '-'). */
static bool read_offset(const char **p, const char *end, int32_t *out)
{
    const char *s = *p;
    int sign;
    int hours;
    int minutes = 0;

    if (s < end && (*s == 'Z' || *s == 'z')) {
        *p = s + 1;
        *out = 0;
        return true;
    }
    if (s >= end || (*s != '+' && *s != '-')) {
        return false;
    }
    sign = *s == '-' ? -1 : 1;
    s++;
    if (!read_int(&s, end, 2, 2, &hours) || hours > MAX_OFFSET_HOURS) {
        return false;
    }
    if (s < end && *s == ':') {
        s++;
        if (!read_int(&s, end, 2, 2, &minutes)) {
            return false;
        }
    } else if (s < end && is_digit(*s)) {
        if (!read_int(&s, end, 2, 2, &minutes)) {
            return false;
        }
    }
    if (minutes > 59) {
        return false;
    }
    *p = s;
    *out = sign * (hours * S_PER_HOUR + minutes * 60);
    return true;
}

static int seconds_to_ns(int64_t seconds, int32_t nanos, int64_t *ns_out)
{
    if (seconds > INT64_MAX / NS_PER_S ||
        (seconds == INT64_MAX / NS_PER_S && nanos > INT64_MAX % NS_PER_S) ||
        seconds < INT64_MIN / NS_PER_S) {
        return LF_ERANGE;
    }
    *ns_out = seconds * NS_PER_S + nanos;
    return 0;
}

/*
 * Returns the offset of the host's zone at local time `local_s` (seconds
 * since 1970-01-01T00:00 local). Zone rules change offsets only at the
 * start of an hour, so the result is cached per local hour. In the hour
 * that a DST change repeats, mktime() picks one of the two offsets.
 */
static int32_t local_offset(struct lf_tz *tz, int64_t local_s)
{
    int64_t hour = floor_div(local_s, S_PER_HOUR);
    int64_t year;
    int month;
    int day;
    struct tm tm;
    time_t t;

    if (tz->cached && tz->cached_hour == hour) {
        return tz->cached_offset_s;
    }
    civil_from_days(floor_div(hour, 24), &year, &month, &day);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)(year - 1900);
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = (int)(hour - floor_div(hour, 24) * 24);
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t == (time_t)-1) {
        /* The hour is outside what time_t or the zone data can express. */
        return 0;
    }

    tz->cached = true;
    tz->cached_hour = hour;
    tz->cached_offset_s = (int32_t)(hour * S_PER_HOUR - (int64_t)t);
    return tz->cached_offset_s;
}

static int32_t zone_offset(struct lf_tz *tz, int64_t local_s)
{
    switch (tz->kind) {
    case LF_TZ_FIXED:
        return tz->offset_s;
    case LF_TZ_LOCAL:
        return local_offset(tz, local_s);
    case LF_TZ_ZONE:
        return lf_tzfile_offset_local(tz->zone, local_s);
    case LF_TZ_UTC:
        break;
    }
    return 0;
}

static int civil_to_ns(const struct civil *c, struct lf_tz *tz, int64_t *ns_out)
{
    int hour = c->hour;
    int64_t local_s;
    int32_t offset;

    if (c->has_epoch) {
        return seconds_to_ns(c->epoch_s, c->nanos, ns_out);
    }
    if (c->hour12) {
        if (hour < 1 || hour > 12) {
            return LF_EPARSE;
        }
        hour = hour % 12 + (c->pm ? 12 : 0);
    }
    if (c->month < 1 || c->month > 12 || c->day < 1 ||
        c->day > days_in_month(c->year, c->month) || hour > 23 ||
        c->minute > 59 || c->second > 60) {
        return LF_EPARSE;
    }
    local_s =
        lf_timestamp_days_from_civil(c->year, c->month, c->day) * S_PER_DAY +
        hour * S_PER_HOUR + c->minute * 60 + c->second;
    offset = c->has_offset ? c->offset_s : zone_offset(tz, local_s);
    return seconds_to_ns(local_s - offset, c->nanos, ns_out);
}

void lf_tz_init_utc(struct lf_tz *tz)
{
    memset(tz, 0, sizeof(*tz));
    tz->kind = LF_TZ_UTC;
}

void lf_tz_cleanup(struct lf_tz *tz)
{
    lf_tzfile_free(tz->zone);
    lf_tz_init_utc(tz);
}

int lf_tz_from_text(const char *text, struct lf_tz *out, char *errbuf,
                    size_t errlen)
{
    const char *end = text + strlen(text);
    const char *p = text;
    int32_t offset;
    int rc;

    lf_tz_init_utc(out);
    if (strcmp(text, "UTC") == 0) {
        return 0;
    }
    if (strcmp(text, "Local") == 0) {
        out->kind = LF_TZ_LOCAL;
        return 0;
    }
    if (*p == '+' || *p == '-') {
        if (!read_offset(&p, end, &offset) || p != end) {
            snprintf(errbuf, errlen,
                     "an offset is +hh:mm, +hhmm or +hh, "
                     "from -23:59 to +23:59");
            return LF_EINVAL;
        }
        out->kind = LF_TZ_FIXED;
        out->offset_s = offset;
        return 0;
    }
    rc = lf_tzfile_load(text, &out->zone, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    out->kind = LF_TZ_ZONE;
    return 0;
}

int lf_tz_parse(const char *text, struct lf_tz *out)
{
    char reason[256];

    return lf_tz_from_text(text, out, reason, sizeof(reason));
}

static bool read_iso_date(const char **p, const char *end, struct civil *c)
{
    return read_number(p, end, 4, 4, &c->year) && read_char(p, end, '-') &&
           read_int(p, end, 2, 2, &c->month) && read_char(p, end, '-') &&
           read_int(p, end, 2, 2, &c->day);
}

static bool read_iso_time(const char **p, const char *end, struct civil *c)
{
    if (!read_int(p, end, 2, 2, &c->hour) || !read_char(p, end, ':') ||
        !read_int(p, end, 2, 2, &c->minute)) {
        return false;
    }
    if (!read_char(p, end, ':')) {
        return true;
    }
    if (!read_int(p, end, 2, 2, &c->second)) {
        return false;
    }
    if (*p < end && (**p == '.' || **p == ',')) {
        (*p)++;
        return read_fraction(p, end, &c->nanos);
    }
    return true;
}

int lf_timestamp_parse_iso8601(const char *s, size_t len, struct lf_tz *tz,
                               int64_t *ns_out)
{
    const char *p = s;
    const char *end = s + len;
    struct civil c;

    memset(&c, 0, sizeof(c));
    if (!read_iso_date(&p, end, &c)) {
        return LF_EPARSE;
    }
    if (p >= end || (*p != 'T' && *p != 't' && *p != ' ')) {
        return LF_EPARSE;
    }
    p++;
    if (!read_iso_time(&p, end, &c)) {
        return LF_EPARSE;
    }
    if (p < end) {
        if (!read_offset(&p, end, &c.offset_s)) {
            return LF_EPARSE;
        }
        c.has_offset = true;
    }
    if (p != end) {
        return LF_EPARSE;
    }
    return civil_to_ns(&c, tz, ns_out);
}

static bool equals_lower(const char *s, const char *lower, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (ascii_lower(s[i]) != lower[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Matches a full or three-letter English name and returns its index, or
 * -1. No two names share their first three letters.
 */
static int read_name(const char **p, const char *end, const struct name *names,
                     int count)
{
    size_t avail = (size_t)(end - *p);

    if (avail < NAME_ABBREV_LEN) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        const struct name *name = &names[i];

        if (!equals_lower(*p, name->text, NAME_ABBREV_LEN)) {
            continue;
        }
        if (avail >= name->len &&
            equals_lower(*p + NAME_ABBREV_LEN, name->text + NAME_ABBREV_LEN,
                         name->len - NAME_ABBREV_LEN)) {
            *p += name->len;
        } else {
            *p += NAME_ABBREV_LEN;
        }
        return i;
    }
    return -1;
}

static bool read_am_pm(const char **p, const char *end, bool *pm_out)
{
    char first;

    if (end - *p < 2 || ascii_lower((*p)[1]) != 'm') {
        return false;
    }
    first = ascii_lower((*p)[0]);
    if (first != 'a' && first != 'p') {
        return false;
    }
    *pm_out = first == 'p';
    *p += 2;
    return true;
}

static bool read_zone_name(const char **p, const char *end, int32_t *out)
{
    static const struct name utc_names[] = {NAME("utc"), NAME("gmt"),
                                            NAME("z")};
    size_t avail = (size_t)(end - *p);

    for (size_t i = 0; i < LF_ARRAY_SIZE(utc_names); i++) {
        const struct name *name = &utc_names[i];

        if (avail >= name->len && equals_lower(*p, name->text, name->len)) {
            *p += name->len;
            *out = 0;
            return true;
        }
    }
    return false;
}

static bool read_epoch(const char **p, const char *end, int64_t *out)
{
    bool negative = read_char(p, end, '-');
    int64_t value;

    if (!read_number(p, end, 1, 18, &value)) {
        return false;
    }
    *out = negative ? -value : value;
    return true;
}

static bool read_padded(const char **p, const char *end, int *out)
{
    if (*p < end && **p == ' ') {
        (*p)++;
        return read_int(p, end, 1, 1, out);
    }
    return read_int(p, end, 1, 2, out);
}

static bool read_year2(const char **p, const char *end, struct civil *c)
{
    int yy;

    if (!read_int(p, end, 1, 2, &yy)) {
        return false;
    }
    /* POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068. */
    c->year = yy >= 69 ? 1900 + yy : 2000 + yy;
    c->has_year = true;
    return true;
}

static bool read_hour12(const char **p, const char *end, bool padded,
                        struct civil *c)
{
    c->hour12 = true;
    return padded ? read_padded(p, end, &c->hour)
                  : read_int(p, end, 1, 2, &c->hour);
}

static bool read_step(const struct layout_step *step, const char **p,
                      const char *end, struct civil *c)
{
    switch ((enum layout_op)step->op) {
    case OP_LITERAL:
        return read_char(p, end, step->literal);
    case OP_BLANKS:
        while (*p < end && is_blank(**p)) {
            (*p)++;
        }
        return true;
    case OP_YEAR4:
        c->has_year = true;
        return read_number(p, end, 4, 4, &c->year);
    case OP_YEAR2:
        return read_year2(p, end, c);
    case OP_MONTH:
        return read_int(p, end, 1, 2, &c->month);
    case OP_MONTH_NAME:
        c->month = read_name(p, end, month_names, 12) + 1;
        return c->month > 0;
    case OP_DAY:
        return read_int(p, end, 1, 2, &c->day);
    case OP_DAY_PADDED:
        return read_padded(p, end, &c->day);
    case OP_HOUR24:
        c->hour12 = false;
        return read_int(p, end, 1, 2, &c->hour);
    case OP_HOUR24_PADDED:
        c->hour12 = false;
        return read_padded(p, end, &c->hour);
    case OP_HOUR12:
        return read_hour12(p, end, false, c);
    case OP_HOUR12_PADDED:
        return read_hour12(p, end, true, c);
    case OP_MINUTE:
        return read_int(p, end, 1, 2, &c->minute);
    case OP_SECOND:
        return read_int(p, end, 1, 2, &c->second);
    case OP_FRACTION:
        return read_fraction(p, end, &c->nanos);
    case OP_AM_PM:
        return read_am_pm(p, end, &c->pm);
    case OP_WEEKDAY_NAME:
        return read_name(p, end, weekday_names, 7) >= 0;
    case OP_OFFSET:
        c->has_offset = true;
        return read_offset(p, end, &c->offset_s);
    case OP_ZONE_NAME:
        c->has_offset = true;
        return read_zone_name(p, end, &c->offset_s);
    case OP_EPOCH:
        c->has_epoch = true;
        return read_epoch(p, end, &c->epoch_s);
    }
    return false;
}

/*
 * Picks the year for a time that has none, so that the time is at most
 * about one month after the read time. A log is read after it is written.
 * The month of slack absorbs the difference between the zone of the text
 * and UTC, in which `now_ns` is read.
 */
static int64_t infer_year(int month, int64_t now_ns)
{
    int64_t year;
    int now_month;
    int now_day;

    civil_from_days(floor_div(floor_div(now_ns, NS_PER_S), S_PER_DAY), &year,
                    &now_month, &now_day);
    if (month == 1 && now_month == 12) {
        return year + 1;
    }
    if (month > now_month + 1) {
        return year - 1;
    }
    return year;
}

int64_t lf_timestamp_infer_year(int month, int64_t now_ns)
{
    return infer_year(month, now_ns);
}

int lf_timestamp_parse_layout(const struct lf_timestamp_layout *layout,
                              const char *s, size_t len, struct lf_tz *tz,
                              int64_t now_ns, int64_t *ns_out)
{
    const char *p = s;
    const char *end = s + len;
    struct civil c;

    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < layout->step_count; i++) {
        if (!read_step(&layout->steps[i], &p, end, &c)) {
            return LF_EPARSE;
        }
    }
    if (p != end) {
        return LF_EPARSE;
    }
    if (!c.has_year && !c.has_epoch) {
        c.year = infer_year(c.month, now_ns);
    }
    return civil_to_ns(&c, tz, ns_out);
}

/* Layout compilation: what each directive reads and which fields it sets. */
enum layout_field {
    FIELD_NONE = 0,
    FIELD_MONTH = 1u << 0,
    FIELD_DAY = 1u << 1,
    FIELD_EPOCH = 1u << 2,
};

struct directive {
    char letter;
    enum layout_op op;
    unsigned fields; /* enum layout_field bits */
};

static const struct directive directives[] = {
    {'Y', OP_YEAR4, FIELD_NONE},        {'y', OP_YEAR2, FIELD_NONE},
    {'m', OP_MONTH, FIELD_MONTH},       {'b', OP_MONTH_NAME, FIELD_MONTH},
    {'h', OP_MONTH_NAME, FIELD_MONTH},  {'B', OP_MONTH_NAME, FIELD_MONTH},
    {'d', OP_DAY, FIELD_DAY},           {'e', OP_DAY_PADDED, FIELD_DAY},
    {'H', OP_HOUR24, FIELD_NONE},       {'k', OP_HOUR24_PADDED, FIELD_NONE},
    {'I', OP_HOUR12, FIELD_NONE},       {'l', OP_HOUR12_PADDED, FIELD_NONE},
    {'M', OP_MINUTE, FIELD_NONE},       {'S', OP_SECOND, FIELD_NONE},
    {'f', OP_FRACTION, FIELD_NONE},     {'p', OP_AM_PM, FIELD_NONE},
    {'a', OP_WEEKDAY_NAME, FIELD_NONE}, {'A', OP_WEEKDAY_NAME, FIELD_NONE},
    {'z', OP_OFFSET, FIELD_NONE},       {'Z', OP_ZONE_NAME, FIELD_NONE},
    {'s', OP_EPOCH, FIELD_EPOCH},       {'n', OP_BLANKS, FIELD_NONE},
    {'t', OP_BLANKS, FIELD_NONE},
};

/* Directives that stand for a sequence of others, as in strftime(). */
static const struct {
    char letter;
    const char *expansion;
} composite_directives[] = {
    {'T', "%H:%M:%S"},
    {'R', "%H:%M"},
    {'F', "%Y-%m-%d"},
    {'D', "%m/%d/%y"},
};

/* The maximum number of steps per layout character: %T is 5 steps. */
enum { MAX_STEPS_PER_CHAR = 3 };

static const struct directive *find_directive(char letter)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(directives); i++) {
        if (directives[i].letter == letter) {
            return &directives[i];
        }
    }
    return NULL;
}

static const char *find_composite(char letter)
{
    for (size_t i = 0; i < LF_ARRAY_SIZE(composite_directives); i++) {
        if (composite_directives[i].letter == letter) {
            return composite_directives[i].expansion;
        }
    }
    return NULL;
}

static void append_step(struct lf_timestamp_layout *layout, enum layout_op op,
                        char literal)
{
    struct layout_step *step = &layout->steps[layout->step_count++];

    step->op = (unsigned char)op;
    step->literal = literal;
}

/*
 * Appends the steps of `text` and ORs the fields it sets into *fields.
 * Returns the offset of an unsupported directive, or -1 when all are
 * supported.
 */
static long compile_layout(struct lf_timestamp_layout *layout, const char *text,
                           unsigned *fields)
{
    size_t len = strlen(text);

    for (size_t i = 0; i < len; i++) {
        const struct directive *d;
        const char *expansion;

        if (text[i] != '%') {
            append_step(layout, is_blank(text[i]) ? OP_BLANKS : OP_LITERAL,
                        text[i]);
            continue;
        }
        if (i + 1 == len) {
            return (long)i;
        }
        i++;
        d = find_directive(text[i]);
        expansion = find_composite(text[i]);
        if (d != NULL) {
            append_step(layout, d->op, '\0');
            *fields |= d->fields;
        } else if (expansion != NULL) {
            compile_layout(layout, expansion, fields);
        } else if (text[i] == '%') {
            append_step(layout, OP_LITERAL, '%');
        } else {
            return (long)i - 1;
        }
    }
    return -1;
}

int lf_timestamp_layout_new(const char *text, struct lf_timestamp_layout **out,
                            char *errbuf, size_t errlen)
{
    size_t step_cap = strlen(text) * MAX_STEPS_PER_CHAR + 1;
    struct lf_timestamp_layout *layout = NULL;
    unsigned fields = FIELD_NONE;
    long bad_offset;

    layout = lf_malloc(sizeof(*layout) + step_cap * sizeof(layout->steps[0]));
    layout->step_count = 0;
    bad_offset = compile_layout(layout, text, &fields);
    if (bad_offset >= 0) {
        snprintf(errbuf, errlen, "unsupported directive \"%.2s\" at offset %ld",
                 text + bad_offset, bad_offset);
        goto fail;
    }
    if ((fields & FIELD_EPOCH) == 0 &&
        (fields & (FIELD_MONTH | FIELD_DAY)) != (FIELD_MONTH | FIELD_DAY)) {
        snprintf(errbuf, errlen,
                 "layout has no date: it needs a month (%%m, %%b) and a day "
                 "(%%d, %%e), or %%s");
        goto fail;
    }
    *out = layout;
    return 0;

fail:
    lf_free(layout);
    return LF_EINVAL;
}

void lf_timestamp_layout_free(struct lf_timestamp_layout *layout)
{
    lf_free(layout);
}
