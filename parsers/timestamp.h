/*
 * Timestamp parsing without strptime, mktime or locale calls on the hot
 * path: ISO 8601 / RFC 3339 text and strftime-style layouts compiled once,
 * converted to nanoseconds since the Unix epoch by calendar arithmetic.
 */
#ifndef LF_PARSERS_TIMESTAMP_H
#define LF_PARSERS_TIMESTAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lf_tz_kind {
    LF_TZ_UTC,
    LF_TZ_FIXED, /* a constant offset such as +02:00 */
    LF_TZ_LOCAL, /* the host's zone (TZ or /etc/localtime), with DST */
    LF_TZ_ZONE,  /* an IANA zone such as Europe/Berlin, with DST */
};

struct lf_tzfile;

/*
 * The zone that a timestamp without its own offset is read in. A local
 * zone caches the offset of the last local hour it converted, so mktime()
 * runs once per hour of log time, not once per line. That cache makes a
 * zone mutable: use one per thread. An IANA zone owns its table: move it,
 * never copy it, and release it with lf_tz_cleanup().
 */
struct lf_tz {
    enum lf_tz_kind kind;
    int32_t offset_s;       /* LF_TZ_FIXED: seconds east of UTC */
    struct lf_tzfile *zone; /* LF_TZ_ZONE: owned */
    bool cached;            /* LF_TZ_LOCAL: the two members below are set */
    int64_t cached_hour;    /* local hours since 1970-01-01T00 local */
    int32_t cached_offset_s;
};

/* Sets `tz` to UTC. */
void lf_tz_init_utc(struct lf_tz *tz);

/*
 * Parses a zone setting: "UTC", "Local", a fixed offset "+02:00", "-0530"
 * or "+02", or an IANA zone name such as "Europe/Berlin", read from the
 * TZif file under $TZDIR or /usr/share/zoneinfo. Returns 0 on success.
 * Returns LF_EINVAL for a malformed offset or zone name, LF_ENOENT when no
 * zone has that name, LF_EPARSE when its file is not valid TZif, or
 * another negative code when reading fails. On failure `errbuf` contains
 * the reason. Call lf_tz_cleanup() after success.
 */
int lf_tz_from_text(const char *text, struct lf_tz *out, char *errbuf,
                    size_t errlen);

/* Calls lf_tz_from_text() without the reason. */
int lf_tz_parse(const char *text, struct lf_tz *out);

/* Frees an IANA zone's table and sets `tz` to UTC. Accepts any kind. */
void lf_tz_cleanup(struct lf_tz *tz);

/*
 * Parses an ISO 8601 / RFC 3339 date and time: "2024-03-05T07:08:09Z",
 * "2024-03-05 07:08:09.123456+01:00", "2024-03-05T07:08". The separator is
 * 'T', 't' or a space. The fraction takes '.' or ',' and keeps nanosecond
 * precision, truncating later digits. The offset is 'Z', "+hh:mm", "+hhmm"
 * or "+hh". Without an offset the time is read in `tz`. The whole of `s`
 * must be consumed. Returns 0 and stores the time, LF_EPARSE when the
 * text is not such a timestamp, or LF_ERANGE when it falls outside the
 * range of int64 nanoseconds (1677-09-21 to 2262-04-11).
 */
int lf_timestamp_parse_iso8601(const char *s, size_t len, struct lf_tz *tz,
                               int64_t *ns_out);

struct lf_timestamp_layout;

/*
 * Compiles a strftime-style layout such as "%d/%b/%Y:%H:%M:%S %z".
 * Directives: %Y %y %m %d %e %H %k %I %l %M %S %p %b %h %B %a %A %z %Z %s
 * %T %F %D %R %n %t %%. %f reads fraction digits, keeping 9 and dropping
 * the rest. Month and day names are English and case-insensitive. %Z
 * accepts only UTC, GMT and Z. A space matches any run of blanks,
 * including none, as in strptime(). The layout must give a date: a month
 * and a day, or %s. A layout without a year takes it from the read time.
 * Returns 0 and stores a layout the caller frees, or LF_EINVAL with a
 * message in errbuf.
 */
int lf_timestamp_layout_new(const char *layout,
                            struct lf_timestamp_layout **out, char *errbuf,
                            size_t errlen);

void lf_timestamp_layout_free(struct lf_timestamp_layout *layout);

/*
 * Parses `s` with `layout`. Without %z, %Z or %s the time is read in `tz`.
 * `now_ns` is the read time. A layout without a year takes the year of
 * `now_ns`, with two exceptions. A January time read in December takes
 * the next year. A month more than one month after the month of `now_ns`
 * takes the year before. Returns 0, LF_EPARSE when `s` does not fit the
 * layout or names an impossible date, or LF_ERANGE.
 */
int lf_timestamp_parse_layout(const struct lf_timestamp_layout *layout,
                              const char *s, size_t len, struct lf_tz *tz,
                              int64_t now_ns, int64_t *ns_out);

/*
 * Returns the year of a time that gives only its month (1-12), read at
 * `now_ns`, by the rule of lf_timestamp_parse_layout().
 */
int64_t lf_timestamp_infer_year(int month, int64_t now_ns);

/*
 * Returns the number of days from 1970-01-01 to the given date of the
 * proleptic Gregorian calendar (negative before 1970). `month` is 1-12 and
 * `day` 1-31; the date is not validated.
 */
int64_t lf_timestamp_days_from_civil(int64_t year, int month, int day);

#endif
