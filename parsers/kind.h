/*
 * The interface every parser type implements so that a chain can build
 * and run it. A type is one entry of the `kinds` table in chain.c; adding
 * a parser means writing these four functions and adding that entry.
 */
#ifndef LF_PARSERS_KIND_H
#define LF_PARSERS_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "lf/conf.h"
#include "lf/event.h"
#include "parsers/regex.h"

enum lf_parser_role {
    /* Matches a whole line format; fails on lines of other formats. */
    LF_PARSER_MATCHER,
    /*
     * Refines fields already set, such as a timestamp. The chain ignores
     * its result, so it never fails a line.
     */
    LF_PARSER_REFINER,
};

struct lf_parser_kind {
    const char *name; /* the key of `- NAME: ...` in the parsers list */
    enum lf_parser_role role;
    /*
     * Builds the parser from the value under its key (a map, or a scalar
     * for types that take one) and stores it in `*out`. Returns 0, or
     * LF_ECONFIG with a message naming the key and line; what was stored
     * in `*out` before a failure is freed with destroy(). A map spec may
     * hold `field`, read by the chain: accept it among the keys.
     */
    int (*create)(const struct lf_conf_node *spec, void **out, char *errbuf,
                  size_t errlen);
    /*
     * Returns the number of capture groups the parser's regex has, so the
     * chain sizes its shared match buffers; NULL when it matches no regex.
     */
    uint32_t (*capture_count)(const void *state);
    /*
     * Parses `text` (`len` bytes, the message or the value of the step's
     * `field`, which lives as long as the event) into fields of `ev`.
     * Returns 0 on a match, LF_ENOMATCH with the event unchanged
     * otherwise. Runs on the hot path: no allocation but the event's own
     * (lf_event_copy_str(), lf_event_alloc()), no I/O, no logging.
     */
    int (*apply)(void *state, struct lf_regex_scratch *scratch,
                 struct lf_event *ev, const char *text, size_t len,
                 int64_t now_ns);
    void (*destroy)(void *state);
};

#endif
