/*
 * `logferry test output` for `output.cloudwatch`.
 */
#ifndef LF_AGENT_CW_TEST_OUTPUT_H
#define LF_AGENT_CW_TEST_OUTPUT_H

#include <stdio.h>

#include "agent/config/config.h"

/*
 * Looks up credentials as the output does (within 10 s), then calls
 * DescribeLogGroups, signed, with the log group's fixed prefix, and
 * reports whether the group exists. Prints each step to `out`. Returns
 * LF_EXIT_OK when credentials were found and the call succeeded, else
 * LF_EXIT_FAILURE. Nothing is written to CloudWatch Logs.
 * lf_http_global_init() must have run.
 */
int lf_cw_test_output_command(const struct lf_config *config, FILE *out);

#endif
