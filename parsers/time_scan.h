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

#endif
