/* Parsing of the `http` section: the agent's metrics and health endpoint. */
#ifndef LF_AGENT_CONFIG_CONFIG_HTTP_H
#define LF_AGENT_CONFIG_CONFIG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/conf.h"

#define LF_HTTP_DEFAULT_HOST "127.0.0.1"
#define LF_HTTP_DEFAULT_PORT 5066
#define LF_HTTP_DEFAULT_READY_TIMEOUT_MS (60 * 1000)

struct lf_http_options {
    bool enabled;
    const char *host; /* IPv4 or IPv6 literal, owned by the config doc */
    int port;         /* 0: a free port, logged at start */
    /* How long the output may fail with events waiting before /readyz
       returns 503. */
    long long ready_timeout_ms;
};

/*
 * Fills `options` from the `http` map of `root` (defaults when absent).
 * Returns 0, or LF_ECONFIG with a message naming the key and the value
 * expected.
 */
int lf_config_parse_http(const struct lf_conf_node *root,
                         struct lf_http_options *options, char *errbuf,
                         size_t errlen);

#endif
