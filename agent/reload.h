/*
 * Configuration reload on SIGHUP: loads the file the agent started with
 * again, rejects it unless it validates, and applies what may change at
 * run time (inputs, processors, logging.level) without losing offsets.
 */
#ifndef LF_AGENT_RELOAD_H
#define LF_AGENT_RELOAD_H

#include <uv.h>

#include "agent/config/config.h"
#include "agent/input/input.h"
#include "agent/pipeline/pipeline.h"

/* The running components that a reload changes; all borrowed. */
struct lf_reload_targets {
    uv_loop_t *loop;
    struct lf_inputs *inputs;
    struct lf_pipeline *pipeline;
};

struct lf_reload;

/* Outcomes of the reloads since the agent started. */
struct lf_reload_stats {
    uint64_t accepted; /* files that validated, applied or with no change */
    uint64_t rejected; /* files that did not load or validate */
    bool last_rejected; /* the last reload was rejected */
    /* Unix time of the last accepted file, or of the start; in seconds. */
    double last_success_time_s;
};

/*
 * Creates the reloader of a running agent. `config` is the configuration
 * the agent started with, and lf_conf_name() of its document is the file
 * to reload. It is borrowed for the whole run, because the output, the
 * queue and the HTTP endpoint keep using it. The reloader owns the
 * configurations that reloads load.
 */
struct lf_reload *lf_reload_new(const struct lf_config *config,
                                const struct lf_reload_targets *targets);

/*
 * Fills `out` with the reload counters. `start_time_s` is the Unix time
 * the agent loaded its first configuration, reported as the last success
 * until a reload is accepted. Accepts a NULL `reload` (no reload yet, or a
 * --once run) and then fills zero counts.
 */
void lf_reload_stats(const struct lf_reload *reload, double start_time_s,
                     struct lf_reload_stats *out);

/*
 * Reloads the configuration file. A file that does not load or validate
 * is rejected with an error logged, and the running configuration stays.
 * A request while a reload is still being applied runs when it ends.
 */
void lf_reload_request(struct lf_reload *reload);

/*
 * Stops applying reloads and closes the reloader's handles; call before
 * the inputs close. Accepts NULL.
 */
void lf_reload_close(struct lf_reload *reload);

/*
 * Frees the loaded configurations after the loop ended, so after the
 * inputs, the pipeline and the metadata sources stopped using them.
 * Accepts NULL.
 */
void lf_reload_free(struct lf_reload *reload);

#endif
