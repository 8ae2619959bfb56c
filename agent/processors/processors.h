/*
 * Processor lists: the `processors:` list of an input or of the whole
 * agent, compiled once at start and applied to every event after its
 * parsers ran. Processors are pure: no I/O, no logging, no allocation
 * per event beyond the event's own arena.
 */
#ifndef LF_AGENT_PROCESSORS_PROCESSORS_H
#define LF_AGENT_PROCESSORS_PROCESSORS_H

#include "lf/conf.h"
#include "lf/event.h"

struct lf_processors;

/* The outcome of running a processor list on an event. */
enum lf_processor_result {
    LF_PROCESSOR_KEEP, /* ship the event */
    LF_PROCESSOR_DROP, /* drop_event or include_event removed it */
};

/*
 * Compiles the `processors:` list at `list` (a list node, or a missing or
 * null node for none). Returns 0 and stores the list, or LF_ECONFIG with
 * a message that names the key path, its line, the value and what to
 * write instead. The list borrows strings from the document: free it
 * first.
 */
int lf_processors_new(const struct lf_conf_node *list,
                      struct lf_processors **out, char *errbuf, size_t errlen);

/* Frees the list; accepts NULL. */
void lf_processors_free(struct lf_processors *procs);

/*
 * Runs every processor in list order on `ev`, each only when its `when:`
 * condition holds. Stops at the first processor that drops the event.
 * A processor that fails (a missing field without ignore_missing, a
 * value that does not convert) sets `error.message`; with
 * fail_on_error, its changes are undone first. Either way the later
 * processors still run. Not thread-safe: a list owns scratch state, so
 * use one list per thread.
 */
enum lf_processor_result lf_processors_apply(struct lf_processors *procs,
                                             struct lf_event *ev);

#endif
