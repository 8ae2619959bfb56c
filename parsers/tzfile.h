/*
 * IANA time zones read from the system's TZif files (RFC 8536, versions 1
 * to 4) at configuration time, so that local times convert to UTC with
 * the offset in force at that instant, daylight saving time included.
 */
#ifndef LF_PARSERS_TZFILE_H
#define LF_PARSERS_TZFILE_H

#include <stddef.h>
#include <stdint.h>

/* The directory searched when TZDIR is unset or empty. */
#define LF_TZFILE_DEFAULT_DIR "/usr/share/zoneinfo"

struct lf_tzfile;

/*
 * Loads the zone `name`, such as "Europe/Berlin", from $TZDIR or
 * LF_TZFILE_DEFAULT_DIR. Returns 0 and stores a zone the caller frees.
 * Returns LF_EINVAL when `name` is not a relative path of letters, digits,
 * '_', '-' and '+', which rejects "." and "..". Returns LF_ENOENT when no
 * such file exists, LF_EPARSE when the file is not valid TZif, or another
 * negative errno code when reading fails. On failure `errbuf` contains
 * the reason and the path that was read.
 */
int lf_tzfile_load(const char *name, struct lf_tzfile **out, char *errbuf,
                   size_t errlen);

/*
 * Parses the TZif data in `data` (`len` bytes). Returns 0 and stores a zone
 * the caller frees, or LF_EPARSE with the reason in `errbuf`. Files with
 * leap-second records (the "right/" zones) are rejected, because their
 * transition times do not count POSIX seconds.
 */
int lf_tzfile_parse(const unsigned char *data, size_t len,
                    struct lf_tzfile **out, char *errbuf, size_t errlen);

void lf_tzfile_free(struct lf_tzfile *zone);

/*
 * Returns the offset east of UTC, in seconds, in force at `utc_s` seconds
 * since the Unix epoch. After the last transition of the table it follows
 * the POSIX TZ rule of the file's footer, if the file has one.
 */
int32_t lf_tzfile_offset_at(const struct lf_tzfile *zone, int64_t utc_s);

/*
 * Returns the offset to subtract from the wall time `local_s` (seconds
 * since 1970-01-01T00:00 in the zone) to get UTC. A wall time that occurs
 * twice, when clocks go back, takes the earlier instant: the offset in
 * force before the change. A wall time that never occurs, when clocks go
 * forward, takes the offset in force before the change too, so it lands
 * after the change, later by the length of the gap. Python's zoneinfo
 * gives the same instants with fold=0.
 */
int32_t lf_tzfile_offset_local(const struct lf_tzfile *zone, int64_t local_s);

#endif
