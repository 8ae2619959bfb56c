/*
 * Durations for `type: duration` fields: a captured decimal number in a
 * configured unit, stored as integer nanoseconds as ECS `event.duration`
 * expects.
 */
#ifndef LF_PARSERS_DURATION_H
#define LF_PARSERS_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Stores the length of `unit` ("ns", "us", "ms", "s", "m" or "h") in
 * nanoseconds. Returns 0, or LF_EINVAL for any other name.
 */
int lf_duration_unit_parse(const char *unit, int64_t *unit_ns_out);

/*
 * Converts digits with an optional fraction ("250", "1.5", ".5", "2.")
 * counted in units of `unit_ns` to nanoseconds, truncating below one
 * nanosecond. Signs, exponents and blanks are rejected: a duration is
 * never negative. Returns 0, LF_EPARSE, or LF_ERANGE when the result does
 * not fit in int64.
 */
int lf_duration_parse(const char *s, size_t len, int64_t unit_ns,
                      int64_t *ns_out);

#endif
