/*
 * The agent's output: Elasticsearch, CloudWatch Logs or both, whichever
 * the configuration names, behind one set of calls so that the pipeline
 * and the agent do not depend on which ones run.
 *
 * With both, every event is published to each output, and its result is
 * reported through on_result only once both outputs gave a final result
 * for it, so the registry moves only past lines both destinations have
 * (or rejected for good). Each output keeps its own batches, retries and
 * backoff. The result reported is rejected when either output rejected
 * the event, indexed when either indexed it, and duplicate otherwise.
 */
#ifndef LF_AGENT_OUTPUT_H
#define LF_AGENT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "agent/config/config.h"
#include "lf/event.h"
#include "outputs/cloudwatch/cw_output.h"
#include "outputs/elasticsearch/es_output.h"

/* Number of outputs one agent may run at once. */
#define LF_OUTPUT_MAX 2

struct lf_output;

/* Both outputs take the same callbacks. */
typedef struct lf_es_output_callbacks lf_output_callbacks;

/* Counters of one output that both kinds of output keep. */
struct lf_output_counts {
    uint64_t events_delivered; /* indexed or accepted by the service */
    uint64_t events_duplicate;
    uint64_t events_rejected;
    uint64_t events_retried; /* Elasticsearch item retries, else 0 */
    uint64_t requests_sent;
    uint64_t requests_failed;  /* transport errors and error replies */
    uint64_t requests_retried; /* CloudWatch Logs requests sent again
                                  after a backoff, else 0 */
    uint64_t publish_failed;   /* events the other output took and this
                                  one failed to take, counted rejected */
    uint64_t events_pending;   /* accepted without a result yet */
    /* Loop time of the first failed request since the last success, or 0. */
    uint64_t failing_since_ms;
};

/*
 * Creates the configured outputs on `loop`; `config` must outlive them.
 * Returns 0, or a negative LF_E* code after logging what failed.
 */
int lf_output_new(uv_loop_t *loop, const struct lf_config *config,
                  const lf_output_callbacks *callbacks, struct lf_output **out);

/*
 * Publishes one event to every output; see lf_es_output_publish(). Returns
 * LF_EFULL, with nothing taken, while any output has no room.
 */
int lf_output_publish(struct lf_output *output, const struct lf_event *ev,
                      const char *doc_id, struct lf_ack_ref ref);

void lf_output_flush(struct lf_output *output);

/* Returns the number of published events without a final result yet. */
size_t lf_output_pending(const struct lf_output *output);

/* Returns the number of configured outputs: 1 or 2. */
size_t lf_output_count(const struct lf_output *output);

/* Returns the kind of output `i`: "elasticsearch" or "cloudwatch". */
const char *lf_output_name_at(const struct lf_output *output, size_t i);

/* Fills the counters of output `i`. */
void lf_output_counts_at(const struct lf_output *output, size_t i,
                         struct lf_output_counts *counts);

/*
 * Fills the CloudWatch Logs output's counters and returns true, or
 * returns false when no such output runs.
 */
bool lf_output_cw_stats(const struct lf_output *output, struct lf_cw_stats *cw);

/* Fills the Elasticsearch output's counters; all zero without one. */
void lf_output_es_stats(const struct lf_output *output, struct lf_es_stats *es);

/*
 * Logs the counters of an output other than Elasticsearch on a line of
 * its own ("cloudwatch: summary: ..."), because the agent's summary line
 * has the Elasticsearch counters. With both outputs it also logs one
 * "output: summary" line per output with the counters both keep.
 */
void lf_output_log_summary(const struct lf_output *output);

/*
 * Returns the kinds of the outputs: "elasticsearch", "cloudwatch" or
 * "elasticsearch,cloudwatch".
 */
const char *lf_output_name(const struct lf_output *output);

/*
 * Returns where the outputs send: the first Elasticsearch host, the
 * CloudWatch Logs endpoint, or both joined by a comma.
 */
const char *lf_output_describe(const struct lf_output *output);

/*
 * Closes every output; see lf_es_output_close(). `done` runs once all of
 * them are closed. Accepts NULL.
 */
void lf_output_close(struct lf_output *output, void (*done)(void *arg),
                     void *arg);

#endif
