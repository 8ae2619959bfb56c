/*
 * A TZif reader (RFC 8536) for the `timezone` option of the parsers. The
 * file is read once, when the configuration is loaded. Converting a time
 * is then a binary search over the transition table, or the POSIX TZ rule
 * of the file's footer for instants past the table. This is the one part
 * of the parsers that reads files, and it does so only at start.
 */
#include "parsers/tzfile.h"

#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/timestamp.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_PER_DAY INT64_C(86400)
#define S_PER_HOUR 3600

/* Zone files of tzdata 2025b are at most a few kB; this only bounds a read. */
#define MAX_TZFILE_BYTES (1024 * 1024)

/* RFC 8536 section 3.1: the header is 44 bytes; counts start at byte 20. */
#define TZIF_HEADER_BYTES 44
#define TZIF_COUNTS_OFFSET 20
#define TZIF_TTINFO_BYTES 6

/* POSIX: a rule's time of day defaults to 02:00:00 local time. */
#define DEFAULT_RULE_TIME_S (2 * S_PER_HOUR)

/* RFC 8536 section 3.3.1: rule times in a version 3 footer span +-167h. */
#define MAX_RULE_TIME_HOURS 167
#define MAX_OFFSET_HOURS 24

enum rule_kind {
    RULE_JULIAN,   /* Jn: day 1-365, February 29 never counted */
    RULE_DAY,      /* n: day 0-365, February 29 counted */
    RULE_MONTHDAY, /* Mm.w.d: weekday d of week w (5 = last) of month m */
};

struct rule {
    enum rule_kind kind;
    int day;        /* RULE_JULIAN, RULE_DAY; weekday 0-6 for RULE_MONTHDAY */
    int week;       /* RULE_MONTHDAY: 1-5 */
    int month;      /* RULE_MONTHDAY: 1-12 */
    int32_t time_s; /* local time of day of the change, may be negative */
};

/* The POSIX TZ string of a footer, such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct posix_tz {
    int32_t std_offset_s; /* east of UTC, the opposite sign of POSIX */
    int32_t dst_offset_s;
    bool has_dst;
    struct rule start; /* DST starts, in standard time */
    struct rule end;   /* DST ends, in daylight saving time */
};

struct lf_tzfile {
    int64_t *times;     /* transition instants, ascending, UTC seconds */
    uint8_t *types;     /* the time type in force from times[i] on */
    int32_t *offsets_s; /* per time type: seconds east of UTC */
    size_t time_count;
    size_t type_count;
    bool has_footer; /* `footer` applies after the last transition */
    struct posix_tz footer;
};

struct tzif_counts {
    uint32_t isut;
    uint32_t isstd;
    uint32_t leap;
    uint32_t time;
    uint32_t type;
    uint32_t chars;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

static uint32_t read_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static int64_t read_be64(const unsigned char *p)
{
    uint64_t hi = read_be32(p);
    uint64_t lo = read_be32(p + 4);

    return (int64_t)(hi << 32 | lo);
}

static void read_counts(const unsigned char *header, struct tzif_counts *c)
{
    const unsigned char *p = header + TZIF_COUNTS_OFFSET;

    c->isut = read_be32(p);
    c->isstd = read_be32(p + 4);
    c->leap = read_be32(p + 8);
    c->time = read_be32(p + 12);
    c->type = read_be32(p + 16);
    c->chars = read_be32(p + 20);
}

/* Returns the size of the data block that follows a header. */
static size_t block_size(const struct tzif_counts *c, size_t time_bytes)
{
    return (size_t)c->time * (time_bytes + 1) +
           (size_t)c->type * TZIF_TTINFO_BYTES + c->chars +
           (size_t)c->leap * (time_bytes + 4) + c->isstd + c->isut;
}

static int check_counts(const struct tzif_counts *c, char *errbuf,
                        size_t errlen)
{
    if (c->type == 0 || c->type > 256 || c->chars == 0) {
        snprintf(errbuf, errlen,
                 "invalid TZif header: %u time types, %u "
                 "designation bytes",
                 c->type, c->chars);
        return LF_EPARSE;
    }
    if ((c->isut != 0 && c->isut != c->type) ||
        (c->isstd != 0 && c->isstd != c->type)) {
        snprintf(errbuf, errlen,
                 "invalid TZif header: indicator counts do "
                 "not match the %u time types",
                 c->type);
        return LF_EPARSE;
    }
    if (c->leap != 0) {
        snprintf(errbuf, errlen,
                 "TZif file has leap-second records, which "
                 "are not supported: use a zone outside right/");
        return LF_EPARSE;
    }
    return 0;
}

/* Reads the transition table of a data block with `time_bytes` (4 or 8). */
static int read_block(struct lf_tzfile *zone, const unsigned char *p,
                      const struct tzif_counts *c, size_t time_bytes,
                      char *errbuf, size_t errlen)
{
    const unsigned char *type_index = p + (size_t)c->time * time_bytes;
    const unsigned char *ttinfo = type_index + c->time;

    zone->time_count = c->time;
    zone->type_count = c->type;
    zone->times = lf_calloc(c->time == 0 ? 1 : c->time, sizeof(int64_t));
    zone->types = lf_calloc(c->time == 0 ? 1 : c->time, sizeof(uint8_t));
    zone->offsets_s = lf_calloc(c->type, sizeof(int32_t));
    for (size_t i = 0; i < c->time; i++) {
        const unsigned char *t = p + i * time_bytes;

        zone->times[i] = time_bytes == 8 ? read_be64(t) : (int32_t)read_be32(t);
        zone->types[i] = type_index[i];
        if (type_index[i] >= c->type ||
            (i > 0 && zone->times[i] <= zone->times[i - 1])) {
            snprintf(errbuf, errlen,
                     "invalid TZif data: transition %zu is "
                     "out of order or names a missing time type",
                     i);
            return LF_EPARSE;
        }
    }
    for (size_t i = 0; i < c->type; i++) {
        int32_t offset = (int32_t)read_be32(ttinfo + i * TZIF_TTINFO_BYTES);

        /* RFC 8536 section 3.2: -2^31 is invalid, and so is a day or more. */
        if (offset <= -MAX_OFFSET_HOURS * S_PER_HOUR ||
            offset >= MAX_OFFSET_HOURS * S_PER_HOUR) {
            snprintf(errbuf, errlen,
                     "invalid TZif data: time type %zu has "
                     "offset %ld s",
                     i, (long)offset);
            return LF_EPARSE;
        }
        zone->offsets_s[i] = offset;
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads at most `max` as a decimal number of 1 to 3 digits. */
static bool read_small_int(const char **p, int max, int *out)
{
    const char *s = *p;
    int value = 0;
    int digits = 0;

    while (is_digit(*s) && digits < 3) {
        value = value * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || value > max) {
        return false;
    }
    *p = s;
    *out = value;
    return true;
}

/* Reads a zone abbreviation: letters, or <...> with digits and signs. */
static bool read_abbrev(const char **p)
{
    const char *s = *p;

    if (*s == '<') {
        s++;
        while (is_alpha(*s) || is_digit(*s) || *s == '+' || *s == '-') {
            s++;
        }
        if (*s != '>' || s == *p + 1) {
            return false;
        }
        *p = s + 1;
        return true;
    }
    while (is_alpha(*s)) {
        s++;
    }
    if (s - *p < 3) {
        return false;
    }
    *p = s;
    return true;
}

/* Reads [+-]hh[:mm[:ss]] with hh at most `max_hours`. */
static bool read_hms(const char **p, int max_hours, int32_t *out)
{
    const char *s = *p;
    int sign = 1;
    int hours;
    int minutes = 0;
    int seconds = 0;

    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (!read_small_int(&s, max_hours, &hours)) {
        return false;
    }
    if (*s == ':') {
        s++;
        if (!read_small_int(&s, 59, &minutes)) {
            return false;
        }
        if (*s == ':') {
            s++;
            if (!read_small_int(&s, 59, &seconds)) {
                return false;
            }
        }
    }
    *p = s;
    *out = sign * (hours * S_PER_HOUR + minutes * 60 + seconds);
    return true;
}

static bool read_rule_date(const char **p, struct rule *r)
{
    const char *s = *p;

    if (*s == 'J') {
        s++;
        r->kind = RULE_JULIAN;
        if (!read_small_int(&s, 365, &r->day) || r->day < 1) {
            return false;
        }
    } else if (*s == 'M') {
        s++;
        r->kind = RULE_MONTHDAY;
        if (!read_small_int(&s, 12, &r->month) || r->month < 1 || *s++ != '.' ||
            !read_small_int(&s, 5, &r->week) || r->week < 1 || *s++ != '.' ||
            !read_small_int(&s, 6, &r->day)) {
            return false;
        }
    } else {
        r->kind = RULE_DAY;
        if (!read_small_int(&s, 365, &r->day)) {
            return false;
        }
    }
    r->time_s = DEFAULT_RULE_TIME_S;
    if (*s == '/') {
        s++;
        if (!read_hms(&s, MAX_RULE_TIME_HOURS, &r->time_s)) {
            return false;
        }
    }
    *p = s;
    return true;
}

/*
 * Parses a POSIX TZ string as RFC 8536 section 3.3 allows it in a footer.
 * A string with a DST name must have a rule: zic always writes one.
 */
static bool parse_posix_tz(const char *s, struct posix_tz *tz)
{
    int32_t offset;

    memset(tz, 0, sizeof(*tz));
    if (!read_abbrev(&s) || !read_hms(&s, MAX_OFFSET_HOURS, &offset)) {
        return false;
    }
    tz->std_offset_s = -offset;
    if (*s == '\0') {
        return true;
    }
    if (!read_abbrev(&s)) {
        return false;
    }
    tz->has_dst = true;
    tz->dst_offset_s = tz->std_offset_s + S_PER_HOUR;
    if (*s != ',') {
        if (!read_hms(&s, MAX_OFFSET_HOURS, &offset)) {
            return false;
        }
        tz->dst_offset_s = -offset;
    }
    if (*s++ != ',' || !read_rule_date(&s, &tz->start) || *s++ != ',' ||
        !read_rule_date(&s, &tz->end)) {
        return false;
    }
    return *s == '\0';
}

/* Reads the footer "\nTZ\n" that ends a version 2+ file at `p`. */
static int read_footer(struct lf_tzfile *zone, const unsigned char *p,
                       const unsigned char *end, char *errbuf, size_t errlen)
{
    const unsigned char *close;
    char text[128];
    size_t len;

    if (p >= end || *p != '\n' ||
        (close = memchr(p + 1, '\n', (size_t)(end - p - 1))) == NULL) {
        snprintf(errbuf, errlen, "invalid TZif footer: missing newlines");
        return LF_EPARSE;
    }
    len = (size_t)(close - p - 1);
    if (len == 0) {
        return 0;
    }
    if (len >= sizeof(text)) {
        snprintf(errbuf, errlen, "invalid TZif footer: %zu bytes long", len);
        return LF_EPARSE;
    }
    memcpy(text, p + 1, len);
    text[len] = '\0';
    if (!parse_posix_tz(text, &zone->footer)) {
        snprintf(errbuf, errlen,
                 "invalid TZif footer: '%s' is not a POSIX "
                 "TZ string",
                 text);
        return LF_EPARSE;
    }
    zone->has_footer = true;
    return 0;
}

static int parse_tzif(struct lf_tzfile *zone, const unsigned char *data,
                      size_t len, char *errbuf, size_t errlen)
{
    const unsigned char *end = data + len;
    struct tzif_counts c;
    size_t size;
    int rc;

    if (len < TZIF_HEADER_BYTES || memcmp(data, "TZif", 4) != 0) {
        snprintf(errbuf, errlen,
                 "not a TZif file: the magic 'TZif' is "
                 "missing");
        return LF_EPARSE;
    }
    read_counts(data, &c);
    size = block_size(&c, 4);
    if (size > len - TZIF_HEADER_BYTES) {
        snprintf(errbuf, errlen, "truncated TZif file: %zu bytes", len);
        return LF_EPARSE;
    }
    if (data[4] == '\0') {
        rc = check_counts(&c, errbuf, errlen);
        return rc != 0 ? rc
                       : read_block(zone, data + TZIF_HEADER_BYTES, &c, 4,
                                    errbuf, errlen);
    }

    /* Version 2 and later: skip the 32-bit block for the 64-bit one. */
    data += TZIF_HEADER_BYTES + size;
    if ((size_t)(end - data) < TZIF_HEADER_BYTES ||
        memcmp(data, "TZif", 4) != 0) {
        snprintf(errbuf, errlen,
                 "truncated TZif file: the second header "
                 "is missing");
        return LF_EPARSE;
    }
    read_counts(data, &c);
    size = block_size(&c, 8);
    if (size > (size_t)(end - data) - TZIF_HEADER_BYTES) {
        snprintf(errbuf, errlen, "truncated TZif file: %zu bytes", len);
        return LF_EPARSE;
    }
    rc = check_counts(&c, errbuf, errlen);
    if (rc == 0) {
        rc = read_block(zone, data + TZIF_HEADER_BYTES, &c, 8, errbuf, errlen);
    }
    if (rc == 0) {
        rc = read_footer(zone, data + TZIF_HEADER_BYTES + size, end, errbuf,
                         errlen);
    }
    return rc;
}

int lf_tzfile_parse(const unsigned char *data, size_t len,
                    struct lf_tzfile **out, char *errbuf, size_t errlen)
{
    struct lf_tzfile *zone = lf_calloc(1, sizeof(*zone));
    int rc = parse_tzif(zone, data, len, errbuf, errlen);

    if (rc != 0) {
        lf_tzfile_free(zone);
        return rc;
    }
    *out = zone;
    return 0;
}

void lf_tzfile_free(struct lf_tzfile *zone)
{
    if (zone == NULL) {
        return;
    }
    lf_free(zone->times);
    lf_free(zone->types);
    lf_free(zone->offsets_s);
    lf_free(zone);
}

/* Accepts names as the tz database writes them, so no path escapes TZDIR. */
static bool is_zone_name(const char *name)
{
    const char *component = name;

    if (name[0] == '\0' || name[0] == '/') {
        return false;
    }
    for (const char *s = name;; s++) {
        if (*s == '/' || *s == '\0') {
            size_t len = (size_t)(s - component);

            if (len == 0) {
                return false;
            }
            if (*s == '\0') {
                return true;
            }
            component = s + 1;
        } else if (!is_alpha(*s) && !is_digit(*s) && *s != '_' && *s != '-' &&
                   *s != '+') {
            return false;
        }
    }
}

static int read_file(const char *path, unsigned char **data_out,
                     size_t *len_out, char *errbuf, size_t errlen)
{
    unsigned char *data = NULL;
    FILE *file = fopen(path, "rbe");
    struct stat st;
    int rc = 0;

    if (file == NULL) {
        rc = -errno;
        goto fail;
    }
    if (fstat(fileno(file), &st) != 0) {
        rc = -errno;
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = LF_EISDIR;
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_TZFILE_BYTES) {
        rc = LF_EPARSE;
        snprintf(errbuf, errlen, "%s is not a zone file", path);
        goto fail;
    }
    data = lf_malloc(st.st_size == 0 ? 1 : (size_t)st.st_size);
    if (fread(data, 1, (size_t)st.st_size, file) != (size_t)st.st_size) {
        rc = LF_EIO;
        goto fail;
    }
    fclose(file);
    *data_out = data;
    *len_out = (size_t)st.st_size;
    return 0;

fail:
    if (rc != LF_EPARSE) {
        snprintf(errbuf, errlen, "cannot read %s: %s", path, lf_strerror(rc));
    }
    if (file != NULL) {
        fclose(file);
    }
    lf_free(data);
    return rc;
}

int lf_tzfile_load(const char *name, struct lf_tzfile **out, char *errbuf,
                   size_t errlen)
{
    const char *dir = getenv("TZDIR");
    unsigned char *data = NULL;
    char path[PATH_MAX];
    char reason[256];
    size_t len = 0;
    int n;
    int rc;

    if (!is_zone_name(name)) {
        snprintf(errbuf, errlen,
                 "a zone name is a relative path of "
                 "letters, digits, '_', '-' and '+'");
        return LF_EINVAL;
    }
    if (dir == NULL || dir[0] == '\0') {
        dir = LF_TZFILE_DEFAULT_DIR;
    }
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(errbuf, errlen, "zone path %s/%s is too long", dir, name);
        return LF_ENAMETOOLONG;
    }
    rc = read_file(path, &data, &len, errbuf, errlen);
    if (rc == LF_EISDIR) {
        /* "Europe" is a directory of zones, not a zone. */
        rc = LF_ENOENT;
    }
    if (rc != 0) {
        return rc;
    }
    rc = lf_tzfile_parse(data, len, out, reason, sizeof(reason));
    if (rc != 0) {
        snprintf(errbuf, errlen, "%s: %s", path, reason);
    }
    lf_free(data);
    return rc;
}

/* Returns the day of the year `year` on which `r` falls, from the epoch. */
static int64_t rule_day(int64_t year, const struct rule *r)
{
    int64_t jan1 = lf_timestamp_days_from_civil(year, 1, 1);
    bool leap = lf_timestamp_days_from_civil(year, 3, 1) -
                    lf_timestamp_days_from_civil(year, 2, 1) ==
                29;
    int64_t first;
    int64_t next;
    int64_t weekday;
    int64_t day;

    switch (r->kind) {
    case RULE_JULIAN:
        return jan1 + r->day - 1 + (leap && r->day >= 60 ? 1 : 0);
    case RULE_DAY:
        return jan1 + r->day;
    case RULE_MONTHDAY:
        break;
    }
    first = lf_timestamp_days_from_civil(year, r->month, 1);
    next = r->month == 12 ? lf_timestamp_days_from_civil(year + 1, 1, 1)
                          : lf_timestamp_days_from_civil(year, r->month + 1, 1);
    /* 1970-01-01 was a Thursday, weekday 4 counting from Sunday. */
    weekday = (first + 4) - floor_div(first + 4, 7) * 7;
    day = first + (r->day - weekday + 7) % 7 + (int64_t)(r->week - 1) * 7;
    while (day >= next) {
        day -= 7;
    }
    return day;
}

static int64_t year_of_day(int64_t days)
{
    int64_t year = 1970 + floor_div(days * 400, 146097);

    while (lf_timestamp_days_from_civil(year, 1, 1) > days) {
        year--;
    }
    while (lf_timestamp_days_from_civil(year + 1, 1, 1) <= days) {
        year++;
    }
    return year;
}

static int32_t posix_offset_at(const struct posix_tz *tz, int64_t utc_s)
{
    int64_t year;
    int64_t start;
    int64_t end;
    bool dst;

    if (!tz->has_dst) {
        return tz->std_offset_s;
    }
    year = year_of_day(floor_div(utc_s + tz->std_offset_s, S_PER_DAY));
    start = rule_day(year, &tz->start) * S_PER_DAY + tz->start.time_s -
            tz->std_offset_s;
    end = rule_day(year, &tz->end) * S_PER_DAY + tz->end.time_s -
          tz->dst_offset_s;
    if (start < end) {
        dst = utc_s >= start && utc_s < end;
    } else {
        /* Southern hemisphere: DST spans the turn of the year. */
        dst = !(utc_s >= end && utc_s < start);
    }
    return dst ? tz->dst_offset_s : tz->std_offset_s;
}

int32_t lf_tzfile_offset_at(const struct lf_tzfile *zone, int64_t utc_s)
{
    size_t lo = 0;
    size_t hi = zone->time_count;

    if (zone->time_count == 0) {
        return zone->has_footer ? posix_offset_at(&zone->footer, utc_s)
                                : zone->offsets_s[0];
    }
    /* RFC 8536 section 3.2: time type 0 applies before the first change. */
    if (utc_s < zone->times[0]) {
        return zone->offsets_s[0];
    }
    if (utc_s >= zone->times[zone->time_count - 1] && zone->has_footer) {
        return posix_offset_at(&zone->footer, utc_s);
    }
    /* Finds the last transition at or before utc_s. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (zone->times[mid] <= utc_s) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return zone->offsets_s[zone->types[lo]];
}

/*
 * Every offset is less than a day, so the instants a wall time can name
 * lie within a day of it. The offsets in force a day before and a day
 * after are the two candidates. A candidate is valid when the instant it
 * gives has that offset.
 * NOTE: this assumes at most one transition within those two days. A zone
 * that changed its offset twice that quickly converts wall times near
 * those changes with one of the two offsets, not always the right one.
 */
int32_t lf_tzfile_offset_local(const struct lf_tzfile *zone, int64_t local_s)
{
    int32_t before = lf_tzfile_offset_at(zone, local_s - S_PER_DAY);
    int32_t after = lf_tzfile_offset_at(zone, local_s + S_PER_DAY);

    if (before == after) {
        return before;
    }
    if (lf_tzfile_offset_at(zone, local_s - before) == before) {
        return before;
    }
    if (lf_tzfile_offset_at(zone, local_s - after) == after) {
        return after;
    }
    /* The wall time falls in a gap: keep the offset before the change. */
    return before;
}
