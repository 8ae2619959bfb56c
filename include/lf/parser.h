/*
 * Parser chains: the `parsers:` list of an input, compiled once at start
 * and applied to every line. Parsers are pure: no I/O, no logging, no
 * allocation per line once the chain is built.
 */
#ifndef LF_LF_PARSER_H
#define LF_LF_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "lf/conf.h"
#include "lf/event.h"

struct lf_parser_chain;

/*
 * Compiles the `parsers:` list at `list` (a list node, or a missing node for
 * no parsing). Returns 0 and stores the chain, or LF_ECONFIG with a message
 * that names the key path and line (bad pattern, unknown preset or type).
 * The chain borrows strings from the document: free it first.
 */
int lf_parser_chain_new(const struct lf_conf_node *list,
                        struct lf_parser_chain **out, char *errbuf,
                        size_t errlen);

void lf_parser_chain_free(struct lf_parser_chain *chain);

/*
 * Parses the event. Steps that match the message are alternatives: the
 * first match sets its fields and the other such steps are skipped. Steps
 * given a `field` parse that field and run whenever reached (see chain.c).
 * `now_ns` is the read time, used for timestamps that lack a year or zone.
 * An event that no message step matches, or whose field a field step does
 * not match, gets LF_TAG_PARSE_FAILURE and keeps its message. A timestamp
 * that does not parse gets LF_TAG_TIMESTAMP_FAILURE. Returns 0, or
 * LF_ENOMATCH after such a failure. Not thread-safe: a chain owns its
 * match buffers, so use one chain per thread.
 */
int lf_parser_chain_apply(struct lf_parser_chain *chain, struct lf_event *ev,
                          int64_t now_ns);

#endif
