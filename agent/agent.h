/*
 * The agent's lifecycle: owns the loop and wires inputs, pipeline, output
 * and registry together.
 */
#ifndef LF_AGENT_AGENT_H
#define LF_AGENT_AGENT_H

#include <stdbool.h>

#include "agent/config/config.h"

/* Process exit codes. */
enum lf_exit {
    LF_EXIT_OK = 0,
    LF_EXIT_FAILURE = 1, /* something could not be delivered or saved */
    LF_EXIT_USAGE = 2,   /* invalid command line or configuration */
};

/*
 * Makes SIGHUP set a flag instead of ending the process, from the start
 * of main() until lf_agent_run() takes the signal over, so that a reload
 * sent while the agent starts cannot kill it.
 */
void lf_agent_defer_sighup(void);

/*
 * Runs until SIGTERM or SIGINT, or with `once` until every matched file is
 * read to its end and acknowledged. Returns an enum lf_exit value.
 */
int lf_agent_run(const struct lf_config *config, bool once);

#endif
