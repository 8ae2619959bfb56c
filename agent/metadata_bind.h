/*
 * Starts a metadata source for every metadata processor of the
 * configuration and binds the processor to it, so events get the latest
 * fields of their source.
 */
#ifndef LF_AGENT_METADATA_BIND_H
#define LF_AGENT_METADATA_BIND_H

#include <stdbool.h>

#include <uv.h>

#include "agent/config/config.h"

struct lf_metadata_binds;

/*
 * Creates and starts the sources of every metadata processor, the
 * inputs' and the top-level ones; processors with the same request share
 * one source. `ready(arg)` runs once from the loop when every source has
 * ended its first fetch, successfully or not, or at once when there is no
 * metadata processor. Returns 0, or a negative LF_E* code with a message
 * logged when a source could not be created.
 */
int lf_metadata_binds_start(uv_loop_t *loop, const struct lf_config *config,
                            void (*ready)(void *arg), void *arg,
                            struct lf_metadata_binds **out);

/*
 * Returns true when `binds` started no metadata source, so nothing calls
 * back into it and lf_metadata_binds_free() may run while the loop runs.
 */
bool lf_metadata_binds_empty(const struct lf_metadata_binds *binds);

/* Closes the sources; the loop runs until their handles are closed. */
void lf_metadata_binds_close(struct lf_metadata_binds *binds);

/* Frees what is left after the loop ended; accepts NULL. */
void lf_metadata_binds_free(struct lf_metadata_binds *binds);

#endif
