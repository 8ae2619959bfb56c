/*
 * `logferry test output`: checks that the configured output can ship.
 */
#ifndef LF_AGENT_TEST_OUTPUT_COMMAND_H
#define LF_AGENT_TEST_OUTPUT_COMMAND_H

#include <stdio.h>

#include "agent/config/config.h"

/*
 * Connects to each host of `config->es`, reads its version (`GET /`, with
 * the X-elastic-product header), and checks with
 * `_security/user/_has_privileges` that the credentials may `create_doc`
 * on the index. Prints what it found per host to `out`. Returns
 * LF_EXIT_OK when at least one host passes every check, else
 * LF_EXIT_FAILURE. With `output.cloudwatch`, also runs
 * lf_cw_test_output_command(), and the result is a failure when either
 * output fails. lf_http_global_init() must have run.
 */
int lf_test_output_command(const struct lf_config *config, FILE *out);

#endif
