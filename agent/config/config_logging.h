/* Parsing of the `logging` section: the agent's own log. */
#ifndef LF_AGENT_CONFIG_CONFIG_LOGGING_H
#define LF_AGENT_CONFIG_CONFIG_LOGGING_H

#include <stddef.h>

#include "lf/conf.h"
#include "lf/log.h"

/*
 * Fills `options` from logging.format, logging.to, logging.file.* and
 * logging.rate_limit.* of `root` (defaults when absent). The file path
 * points into the config document. Returns 0, or LF_ECONFIG with a
 * message naming the key and the value expected.
 */
int lf_config_parse_logging(const struct lf_conf_node *root,
                            struct lf_log_options *options, char *errbuf,
                            size_t errlen);

#endif
