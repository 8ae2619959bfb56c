/*
 * The path from a harvested line to the output and back: builds the ECS
 * event (parsers, input fields, agent metadata), publishes it with its
 * deterministic document id, and turns the output's results into
 * committed offsets in the registry.
 */
#ifndef LF_AGENT_PIPELINE_PIPELINE_H
#define LF_AGENT_PIPELINE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config/config.h"
#include "agent/input/input.h"
#include "agent/queue/queue.h"
#include "agent/registry/registry.h"
#include "outputs/elasticsearch/es_output.h"

struct lf_output;

/* Length of a document id: 16 hex digits, '-', up to 16 hex digits. */
#define LF_DOC_ID_MAX 33

struct lf_pipeline_stats {
    uint64_t events_published;
    uint64_t events_indexed;
    uint64_t events_duplicate;
    uint64_t events_rejected;
    /* Events acknowledged because their spool record is durable. */
    uint64_t events_spooled;
    uint64_t parse_failures;
    /* Events that drop_event or include_event removed; never published. */
    uint64_t events_dropped_processor;
    /* Events read again after a crash and not sent, because the spool
     * found at start contains them. */
    uint64_t events_skipped_spooled;
    size_t sources_open; /* files with events not yet resolved or open */
};

struct lf_pipeline;

/*
 * Creates a pipeline. `config` and `registry` are borrowed. The queue is
 * attached afterwards with lf_pipeline_set_queue(), because the queue's
 * callbacks point back at the pipeline.
 */
struct lf_pipeline *lf_pipeline_new(const struct lf_config *config,
                                    struct lf_registry *registry);

/*
 * Sets `cb(arg)`, called whenever the registry changes in memory (an
 * offset is committed or a new file gets its entry), so the owner can
 * schedule a save.
 */
void lf_pipeline_on_commit(struct lf_pipeline *pipeline,
                           void (*cb)(void *arg), void *arg);

/*
 * Makes `config`, borrowed, the configuration whose top-level processors
 * apply to the events built from now on. Events already built are
 * encoded copies, so the previous configuration may be freed after the
 * call.
 */
void lf_pipeline_set_config(struct lf_pipeline *pipeline,
                            const struct lf_config *config);

/*
 * Returns the number of files whose harvester is closed while some of
 * their events still wait for a result.
 */
size_t lf_pipeline_closed_pending(const struct lf_pipeline *pipeline);

/*
 * Notes that the spool found at start contains an event with `span`. Fits
 * lf_queue_scan_spool() (`arg` is the pipeline). A file then opened at an
 * offset inside a range of such events is read on from the run's end, and
 * its registry entry moves there, because the spool sends those events.
 */
void lf_pipeline_add_spooled(void *arg, const struct lf_event_span *span);

/* Sets the queue that events are published to. */
void lf_pipeline_set_queue(struct lf_pipeline *pipeline,
                           struct lf_queue *queue);

/*
 * Fills the sink that lf_inputs_new() takes. `on_caught_up(arg)` runs when
 * a `once` run has read every file to its end.
 */
void lf_pipeline_sink(struct lf_pipeline *pipeline,
                      struct lf_input_sink *sink,
                      void (*on_caught_up)(void *arg), void *arg);

/* Records the output's final result for one published event. */
void lf_pipeline_on_result(struct lf_pipeline *pipeline, struct lf_ack_ref ref,
                           enum lf_delivery result);

/*
 * Records that one published event is durably spooled: it counts as
 * acknowledged, and the spool sends it on.
 */
void lf_pipeline_on_spooled(struct lf_pipeline *pipeline,
                            struct lf_ack_ref ref);

/*
 * Returns true when a file being read or awaiting results uses `entry`
 * (`arg` is the pipeline). Fits lf_registry_prune().
 */
bool lf_pipeline_uses_entry(void *arg, const struct lf_registry_entry *entry);

/* Returns the number of published events without a final result. */
uint64_t lf_pipeline_unresolved(const struct lf_pipeline *pipeline);

/*
 * Returns the time since the oldest published event without a final
 * result was published, in milliseconds; 0 when every event has one. An
 * event counts as resolved once its spool record is durable.
 */
uint64_t lf_pipeline_oldest_unresolved_age_ms(
    const struct lf_pipeline *pipeline);

void lf_pipeline_stats(const struct lf_pipeline *pipeline,
                       struct lf_pipeline_stats *out);

/* Returns the parse failures of the input with id `input_id` in this run. */
uint64_t lf_pipeline_input_parse_failures(const struct lf_pipeline *pipeline,
                                          const char *input_id);

/* Formats the document id of the event at `offset` of file `file_id`. */
void lf_pipeline_doc_id(uint64_t file_id, uint64_t offset,
                        char out[LF_DOC_ID_MAX + 1]);

/* Frees the pipeline and every source; call after the output closed. */
void lf_pipeline_free(struct lf_pipeline *pipeline);

#endif
