/*
 * The agent's output: Elasticsearch or CloudWatch Logs, whichever the
 * configuration names, behind one set of calls so that the pipeline and
 * the agent do not depend on which one runs.
 */
#ifndef LF_AGENT_OUTPUT_H
#define LF_AGENT_OUTPUT_H

#include <stddef.h>

#include <uv.h>

#include "agent/config/config.h"
#include "lf/event.h"
#include "outputs/elasticsearch/es_output.h"

struct lf_output;

/* Both outputs take the same callbacks. */
typedef struct lf_es_output_callbacks lf_output_callbacks;

/*
 * Creates the configured output on `loop`; `config` must outlive it.
 * Returns 0, or a negative LF_E* code after logging what failed.
 */
int lf_output_new(uv_loop_t *loop, const struct lf_config *config,
                  const lf_output_callbacks *callbacks, struct lf_output **out);

/* Publishes one event; see lf_es_output_publish(). */
int lf_output_publish(struct lf_output *output, const struct lf_event *ev,
                      const char *doc_id, struct lf_ack_ref ref);

void lf_output_flush(struct lf_output *output);

size_t lf_output_pending(const struct lf_output *output);

/* Fills the Elasticsearch output's counters; all zero for another output. */
void lf_output_es_stats(const struct lf_output *output, struct lf_es_stats *es);

/*
 * Logs the counters of an output other than Elasticsearch on a line of
 * its own ("cloudwatch: summary: ..."), because the agent's summary line
 * has the Elasticsearch counters. Does nothing for Elasticsearch.
 */
void lf_output_log_summary(const struct lf_output *output);

/* Returns the output's kind: "elasticsearch" or "cloudwatch". */
const char *lf_output_name(const struct lf_output *output);

/* Returns where the output sends: the first host or the endpoint. */
const char *lf_output_describe(const struct lf_output *output);

/* Closes the output; see lf_es_output_close(). Accepts NULL. */
void lf_output_close(struct lf_output *output, void (*done)(void *arg),
                     void *arg);

#endif
