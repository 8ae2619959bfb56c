/*
 * The regex parser: a PCRE2 pattern, JIT-compiled once, whose named
 * captures are mapped to typed ECS fields. Captures without a mapping are
 * not added to the event.
 */
#ifndef LF_PARSERS_REGEX_H
#define LF_PARSERS_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf/event.h"
#include "parsers/field_map.h"

struct lf_regex;

/*
 * Match buffers for applying patterns: one per chain, sized for the
 * pattern with the most groups, so a match allocates nothing.
 */
struct lf_regex_scratch;

/*
 * Compiles `pattern`. Matching works on bytes, not UTF-8 characters, so
 * a line with invalid UTF-8 (Latin-1 text, binary noise) still matches
 * `.*`. The cost is that a class or quantifier written with a non-ASCII
 * character applies to single bytes of it. Returns 0 and stores the
 * regex, or LF_EINVAL with the PCRE2 message and offset in errbuf. JIT
 * compilation is used when the platform allows it.
 */
int lf_regex_new(const char *pattern, struct lf_regex **out, char *errbuf,
                 size_t errlen);

void lf_regex_free(struct lf_regex *re);

/*
 * Returns the group number of the capture called `name`, LF_ENOENT when
 * there is none, or LF_EEXIST when several groups share the name (as
 * `(?J)` allows outside a `(?|...)` branch reset).
 */
int lf_regex_capture_number(const struct lf_regex *re, const char *name);

/* Returns the number of capture groups of the pattern. */
uint32_t lf_regex_capture_count(const struct lf_regex *re);

/*
 * Maps group `number` to `map`. Takes ownership of the map's layout and
 * zone, also on failure. Returns 0, or LF_EINVAL when the pattern has no
 * such group.
 */
int lf_regex_add_field(struct lf_regex *re, int number,
                       struct lf_field_map *map);

/* Creates buffers for patterns of up to `capture_count` groups. */
struct lf_regex_scratch *lf_regex_scratch_new(uint32_t capture_count);

void lf_regex_scratch_free(struct lf_regex_scratch *scratch);

/*
 * Matches `subject` (`len` bytes: the message or a field's value, which
 * must live as long as the event) and sets the mapped fields of the captures
 * that took part in the match (see lf_field_map_apply() for conversions and
 * tags). Returns 0 on a match, LF_ENOMATCH when the line does not match
 * or the match exceeds the PCRE2 backtracking or JIT stack limit (the
 * event is unchanged then), or LF_EINVAL when `scratch` is too small.
 */
int lf_regex_apply(struct lf_regex *re, struct lf_regex_scratch *scratch,
                   struct lf_event *ev, const char *subject, size_t len,
                   int64_t now_ns);

/*
 * Stores where group `number` of the last successful lf_regex_apply() on
 * `scratch` matched, as an offset into its subject and a length. Returns
 * false when the group did not take part in the match or `number` is out
 * of range.
 */
bool lf_regex_scratch_group(const struct lf_regex_scratch *scratch,
                            uint32_t number, size_t *start_out,
                            size_t *len_out);

#endif
