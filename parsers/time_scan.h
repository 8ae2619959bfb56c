/*
 * Readers for the timestamp formats that the presets meet at a known
 * position of a line. Each reads a timestamp at the start of [p, end) and
 * returns how many bytes it spans, or 0 with `*ns_out` unchanged when the
 * text does not start with a valid one. Times without a zone are read as
 * UTC. Results are nanoseconds since the Unix epoch.
 */
#ifndef LF_PARSERS_TIME_SCAN_H
#define LF_PARSERS_TIME_SCAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * ISO 8601 / RFC 3339: "2024-03-05T07:08:09", 'T', 't' or one space
 * between date and time, an optional fraction after '.' or ',' (digits
 * past the ninth are read and dropped), and an optional zone: 'Z', "+hh",
 * "+hhmm" or "+hh:mm". After one space, "+hhmm" and "+hh:mm" are read
 * too ("... +0000").
 */
size_t lf_time_scan_iso8601(const char *p, const char *end, int64_t *ns_out);

/* "2024/03/05 07:08:09", as the nginx error log writes it. */
size_t lf_time_scan_slash_date(const char *p, const char *end, int64_t *ns_out);

/* "05/Mar/2024:07:08:09 +0000", the common log format's $time_local. */
size_t lf_time_scan_clf(const char *p, const char *end, int64_t *ns_out);

/*
 * "Tue Mar 05 07:08:09.123456 2024", as ctime() and the Apache error log
 * write it; the fraction is optional.
 */
size_t lf_time_scan_ctime(const char *p, const char *end, int64_t *ns_out);

/*
 * Unix time at the start of a line: 10 digits of seconds or 13 digits of
 * milliseconds, each with an optional fraction after '.', followed by
 * the end or a byte that is not a digit.
 */
size_t lf_time_scan_epoch(const char *p, const char *end, int64_t *ns_out);

/*
 * "yy/MM/dd HH:mm:ss" ("17/06/09 20:10:40"), the date of the console
 * pattern in Spark's conf/log4j.properties.template. Two-digit years
 * 69-99 are 1969-1999 and 00-68 are 2000-2068, as strptime's %y reads
 * them.
 */
size_t lf_time_scan_short_slash_date(const char *p, const char *end,
                                     int64_t *ns_out);

/* "yyMMdd HHmmss" ("081109 203615"), with years as above. */
size_t lf_time_scan_compact_short(const char *p, const char *end,
                                  int64_t *ns_out);

/*
 * "yyyyMMdd-HH:mm:ss" with an optional count of milliseconds after ':' or
 * a fraction after '.': "20171223-22:15:29:615". Hours, minutes, seconds
 * and milliseconds may be unpadded, as Java's SimpleDateFormat pattern
 * "yyyyMMdd-H:m:s:S" writes them: "20171223-22:16:0:7" is 22:16:00.007.
 */
size_t lf_time_scan_compact_date(const char *p, const char *end,
                                 int64_t *ns_out);

/*
 * The IBM DB2 timestamp "yyyy-MM-dd-HH.mm.ss" with an optional fraction
 * after '.': "2005-06-03-15.42.50.675872".
 */
size_t lf_time_scan_db2(const char *p, const char *end, int64_t *ns_out);

/*
 * "yyyy.MM.dd", optionally followed by one space and "HH:mm:ss" with an
 * optional fraction. A date alone is read as its midnight.
 */
size_t lf_time_scan_dotted_date(const char *p, const char *end,
                                int64_t *ns_out);

/*
 * A month and day without a year, "MM-dd HH:mm:ss" (Android logcat) or
 * "MM.dd HH:mm:ss", with an optional fraction after '.'. The year comes
 * from `now_ns`, the read time, by lf_timestamp_infer_year().
 */
size_t lf_time_scan_month_day(const char *p, const char *end, int64_t now_ns,
                              int64_t *ns_out);

#endif
