/*
 * Processor lists: the `processors:` list of an input or of the whole
 * agent, compiled once at start and applied to every event after its
 * parsers ran. Processors are pure: no I/O, no logging, no allocation
 * per event beyond the event's own arena.
 */
#ifndef LF_AGENT_PROCESSORS_PROCESSORS_H
#define LF_AGENT_PROCESSORS_PROCESSORS_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * Metadata processors (add_host_metadata, add_cloud_metadata,
 * add_ecs_task_metadata) copy fields that the agent fetches on its loop.
 * The agent finds each one with lf_processors_metadata_step(), starts a
 * source for its request, and binds the step to a function returning the
 * source's latest fields. An unbound step adds nothing, as in `logferry
 * parse`, which runs no loop.
 */
enum lf_metadata_kind {
    LF_METADATA_HOST,
    LF_METADATA_CLOUD,    /* EC2 instance metadata (IMDSv2) */
    LF_METADATA_ECS_TASK, /* ECS task metadata endpoint v4 */
};

struct lf_metadata_request {
    enum lf_metadata_kind kind;
    const char *endpoint; /* add_cloud_metadata; NULL: the default */
    long timeout_ms;      /* add_cloud_metadata; 0: the source's default */
    uint64_t refresh_ms;  /* 0: the source's default */
};

/* The latest field set of a metadata source. */
struct lf_metadata_fields {
    const struct lf_field *fields; /* valid until the next call */
    size_t count;
};

/*
 * Returns the latest fields, or NULL while none were fetched. Called on
 * the thread that applies the list, once per event.
 */
typedef const struct lf_metadata_fields *(*lf_metadata_fn)(void *arg);

struct lf_metadata_step;

/* Returns the `index`-th metadata processor of the list, or NULL. */
struct lf_metadata_step *lf_processors_metadata_step(
    struct lf_processors *procs, size_t index);

const struct lf_metadata_request *
lf_metadata_step_request(const struct lf_metadata_step *step);

/* Makes the step add the fields `fn(arg)` returns. */
void lf_metadata_step_bind(struct lf_metadata_step *step, lf_metadata_fn fn,
                           void *arg);

#endif
