/*
 * Log level normalisation: the many spellings of a severity that logging
 * libraries write become the six ECS `log.level` values used here.
 */
#ifndef LF_PARSERS_LEVEL_H
#define LF_PARSERS_LEVEL_H

#include <stddef.h>

#include "lf/event.h"

/*
 * Returns the canonical level for `s` ("trace", "debug", "info", "warn",
 * "error" or "fatal", as a string literal), or NULL for any other
 * spelling. Matching ignores ASCII case.
 */
const char *lf_level_canonical(const char *s, size_t len);

/*
 * Sets `key` of `ev` to the normalised level of `s`: the canonical name
 * when there is one, otherwise `s` in lower case. `s` is borrowed when it
 * is already lower case and copied into the event's arena otherwise.
 */
void lf_level_set(struct lf_event *ev, const char *key, const char *s,
                  size_t len);

#endif
