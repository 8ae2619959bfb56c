/*
 * Conditions of a processor's `when:`, in Filebeat's syntax: `equals`,
 * `contains`, `regexp`, `range`, `has_fields`, `and`, `or` and `not`.
 * Compiled once (regexes with the pcre2 JIT) and evaluated per event.
 */
#ifndef LF_AGENT_PROCESSORS_CONDITION_H
#define LF_AGENT_PROCESSORS_CONDITION_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/conf.h"
#include "lf/event.h"

struct lf_condition;

/*
 * Compiles the condition map at `node`. Returns 0 and stores it, or
 * LF_ECONFIG with a message naming the key path, the value and what to
 * write instead. The condition borrows strings from the document.
 */
int lf_condition_new(const struct lf_conf_node *node, struct lf_condition **out,
                     char *errbuf, size_t errlen);

/* Returns a condition that holds when `inner` does not; takes `inner`. */
struct lf_condition *lf_condition_negate(struct lf_condition *inner);

/* Frees the condition; accepts NULL. */
void lf_condition_free(struct lf_condition *cond);

/*
 * Returns true when `ev` satisfies the condition. A field the event lacks,
 * or whose type the check does not apply to (a number for `contains`),
 * fails that check. Not thread-safe: regex checks own their match data.
 */
bool lf_condition_eval(struct lf_condition *cond, const struct lf_event *ev);

#endif
