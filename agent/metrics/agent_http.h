/*
 * The agent's HTTP endpoints: /metrics (Prometheus text format), /stats
 * (the same numbers as JSON), /healthz and /readyz.
 */
#ifndef LF_AGENT_METRICS_AGENT_HTTP_H
#define LF_AGENT_METRICS_AGENT_HTTP_H

#include "agent/config/config.h"
#include "agent/input/input.h"
#include "agent/output.h"
#include "agent/pipeline/pipeline.h"
#include "agent/queue/queue.h"
#include "agent/registry/registry.h"
#include "outputs/elasticsearch/es_output.h"

#include <uv.h>

/* The components whose counters are served; all borrowed. */
struct lf_agent_http_sources {
    struct lf_pipeline *pipeline;
    struct lf_inputs *inputs;
    struct lf_output *output;
    struct lf_queue *queue;
    struct lf_registry *registry;
    double start_time_s; /* Unix time the agent started */
};

struct lf_agent_http;
struct lf_reload;

/*
 * Starts serving on `config->http.host` and `config->http.port` and logs
 * the address, with the port picked when that port is 0. `sources` is
 * copied; `config` and the components must outlive the server. Returns 0, or a negative LF_E*
 * code after logging an error that names the address.
 */
int lf_agent_http_start(uv_loop_t *loop, const struct lf_config *config,
                        const struct lf_agent_http_sources *sources,
                        struct lf_agent_http **out);

/*
 * Sets the reloader whose counters /metrics and /stats serve; borrowed.
 * Until it is set the reload counters are 0. Accepts a NULL `http`.
 */
void lf_agent_http_set_reload(struct lf_agent_http *http,
                              const struct lf_reload *reload);

/* Closes the listener and its connections; accepts NULL. */
void lf_agent_http_close(struct lf_agent_http *http);

#endif
