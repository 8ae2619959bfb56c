/*
 * Grok expansion: turns `%{NAME:field:type}` references and Oniguruma
 * (Ruby) regex syntax into one PCRE2 pattern whose capture groups are
 * named g0, g1, ... in order, plus a table mapping each group to its field.
 */
#ifndef LF_PARSERS_GROK_EXPAND_H
#define LF_PARSERS_GROK_EXPAND_H

#include <stddef.h>

#include "lf/buf.h"
#include "parsers/grok_library.h"

/* References nest at most this deep; deeper usually means a cycle. */
#define LF_GROK_MAX_DEPTH 32

/* Group `g<index>` of the expanded regex and where its value goes. */
struct lf_grok_capture {
    char *key;        /* owned dotted field path, such as "url.path" */
    const char *type; /* "string", "integer" or "float" */
};

struct lf_grok_expansion {
    /* Inputs, borrowed for the duration of the expansion. */
    const struct lf_grok_def *library; /* sorted by name */
    size_t library_count;
    const struct lf_grok_def *custom; /* pattern_definitions; win */
    size_t custom_count;
    /* Outputs: the regex grows with each expanded pattern. */
    struct lf_buf regex;
    struct lf_grok_capture *captures; /* owned, `capture_count` used */
    size_t capture_count;
};

/* Sets the inputs and empties the outputs. */
void lf_grok_expansion_init(struct lf_grok_expansion *x,
                            const struct lf_grok_def *library,
                            size_t library_count,
                            const struct lf_grok_def *custom,
                            size_t custom_count);

/* Frees the regex and the captures, including the keys still owned. */
void lf_grok_expansion_cleanup(struct lf_grok_expansion *x);

/*
 * Appends the PCRE2 form of `pattern` to x->regex and its captures to
 * x->captures, numbering on from earlier calls. The result is meant to be
 * compiled with `(?msn)` in front, as grok.c explains: only named groups
 * capture, so `%{NAME}` without a field becomes a non-capturing group.
 * Returns 0, or LF_EINVAL with a reason in `reason` for an unknown
 * pattern name, a reference cycle, nesting deeper than LF_GROK_MAX_DEPTH,
 * a malformed reference, a bad field name or type, or a construct that
 * has no PCRE2 equivalent.
 */
int lf_grok_expand(struct lf_grok_expansion *x, const char *pattern,
                   char *reason, size_t reason_len);

/* Returns the definition of `name` (`len` bytes) in a sorted table. */
const struct lf_grok_def *lf_grok_find(const struct lf_grok_def *table,
                                       size_t count, const char *name,
                                       size_t len);

#endif
