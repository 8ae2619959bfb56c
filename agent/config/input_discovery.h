/*
 * Input options that decide which files are opened and how they are
 * watched: stat polling fallback, `**` depth, ignore_older,
 * harvester_limit and start_position.
 */
#ifndef LF_AGENT_CONFIG_INPUT_DISCOVERY_H
#define LF_AGENT_CONFIG_INPUT_DISCOVERY_H

#include <stddef.h>

#include "agent/config/config.h"
#include "lf/conf.h"

/* The keys parsed here, for the input's list of allowed keys. */
extern const char *const lf_input_discovery_keys[];
extern const size_t lf_input_discovery_key_count;

/*
 * Parses the discovery options of `input_node` into `input`, with their
 * defaults when absent. Returns 0 or LF_ECONFIG with errbuf set.
 */
int lf_input_discovery_parse(const struct lf_conf_node *input_node,
                             struct lf_input_config *input, char *errbuf,
                             size_t errlen);

#endif
