/*
 * `logferry parse`: reads lines on standard input and prints the document
 * the agent would ship for each, one JSON object per line, so a parser can
 * be tried before it is deployed.
 */
#ifndef LF_AGENT_PARSE_COMMAND_H
#define LF_AGENT_PARSE_COMMAND_H

#include <stdio.h>

#include "agent/config/config.h"

/*
 * Runs the lines read from `in_fd` through the line stages, parsers and
 * document building of the input `input_id` (NULL when the configuration
 * has one input) and writes the documents to `out`, then a summary to
 * `err`. Returns LF_EXIT_OK when every line was parsed, LF_EXIT_FAILURE
 * when a line matched no parser or reading failed, and LF_EXIT_USAGE for
 * an unknown input.
 */
int lf_parse_command(const struct lf_config *config, const char *input_id,
                     int in_fd, FILE *out, FILE *err);

#endif
