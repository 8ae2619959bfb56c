/*
 * The interface every processor type implements so that a processor list
 * can build and run it, and helpers the types share. A type is one entry
 * of the `kinds` table in processors.c.
 */
#ifndef LF_AGENT_PROCESSORS_PROCESSOR_H
#define LF_AGENT_PROCESSORS_PROCESSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/processors/processors.h"
#include "lf/buf.h"
#include "lf/conf.h"
#include "lf/event.h"

struct lf_processor_kind {
    const char *name; /* the key of `- NAME: {...}` in the list */
    /*
     * Builds the processor from the map under its key (a missing node
     * when the key has no value) and stores it in `*out`. The list checks
     * `when` itself: accept it among the keys. Returns 0, or LF_ECONFIG
     * with a message naming the key path; what was stored in `*out`
     * before a failure is freed with destroy().
     */
    int (*create)(const struct lf_conf_node *spec, void **out, char *errbuf,
                  size_t errlen);
    /*
     * Processes `ev`. Runs on the hot path: no allocation but the
     * event's own (lf_event_copy_str(), lf_event_alloc()), no I/O, no
     * logging.
     */
    enum lf_processor_result (*apply)(void *state, struct lf_event *ev);
    void (*destroy)(void *state);
};

extern const struct lf_processor_kind lf_add_fields_kind;
extern const struct lf_processor_kind lf_drop_fields_kind;
extern const struct lf_processor_kind lf_rename_kind;
extern const struct lf_processor_kind lf_copy_fields_kind;
extern const struct lf_processor_kind lf_truncate_fields_kind;
extern const struct lf_processor_kind lf_convert_kind;
extern const struct lf_processor_kind lf_add_tags_kind;
extern const struct lf_processor_kind lf_route_template_kind;
extern const struct lf_processor_kind lf_add_host_metadata_kind;
extern const struct lf_processor_kind lf_add_cloud_metadata_kind;
extern const struct lf_processor_kind lf_add_ecs_task_metadata_kind;

/*
 * Looks up `key` in `ev` as conditions and processors read it: the
 * `message` key falls back to the event's line when no parser set a
 * `message` field, and `tmp` then contains that value. Returns NULL when the
 * event has no such field.
 */
const struct lf_value *lf_processor_get(const struct lf_event *ev,
                                        const char *key, struct lf_value *tmp);

/*
 * Records a processing failure as `error.message`, copied into the
 * event's arena, so the failure stays visible in the document. Messages
 * longer than 511 bytes are cut.
 */
void lf_processor_fail(struct lf_event *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Types a scalar of the configuration the way `fields` values are typed:
 * a plain (unquoted) integer, float or boolean becomes that type,
 * anything else a string borrowed from the document.
 */
void lf_processor_scalar_value(const struct lf_conf_node *node,
                               struct lf_value *out);

/*
 * Calls `cb` for every scalar under `map` with its dotted key: the loader
 * nests `a.b: 1` as `a: {b: 1}`, so field names come back joined. `key`
 * is valid during the call only. Stops at, and returns, the first
 * non-zero result of `cb`. A list or an empty map under a key returns
 * LF_ECONFIG naming it.
 */
int lf_processor_walk_scalars(const struct lf_conf_node *map,
                              int (*cb)(void *arg, const char *key,
                                        const struct lf_conf_node *node,
                                        char *errbuf, size_t errlen),
                              void *arg, char *errbuf, size_t errlen);

/*
 * Reads `key` of `spec` as a list of non-empty strings (a single string
 * is a list of one) and stores the borrowed strings in a new array of
 * `*count_out` entries, which the caller frees with lf_free(). A missing
 * key stores NULL and 0 when `required` is false. Returns 0 or
 * LF_ECONFIG.
 */
int lf_processor_get_str_list(const struct lf_conf_node *spec, const char *key,
                              bool required, const char ***out,
                              size_t *count_out, char *errbuf, size_t errlen);

#endif
