/* Parsing of the `queue` section of the configuration. */
#ifndef LF_AGENT_CONFIG_CONFIG_QUEUE_H
#define LF_AGENT_CONFIG_CONFIG_QUEUE_H

#include <stddef.h>

#include "agent/queue/queue.h"
#include "lf/conf.h"

/*
 * Fills `options` from the `queue` map of `root` (defaults when absent).
 * Returns 0, or LF_ECONFIG with a message naming the key and the value
 * expected.
 */
int lf_config_parse_queue(const struct lf_conf_node *root,
                          struct lf_queue_options *options, char *errbuf,
                          size_t errlen);

#endif
