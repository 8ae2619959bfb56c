/*
 * `logferry dlq list` and `logferry dlq replay`: read the dead-letter
 * queue of the Elasticsearch output under path.data, and send its
 * records again.
 */
#ifndef LF_AGENT_DLQ_COMMAND_H
#define LF_AGENT_DLQ_COMMAND_H

#include <stdio.h>

#include "agent/config/config.h"

/*
 * Prints one line per record to `out`, oldest first, then a summary
 * line. Returns LF_EXIT_OK, or LF_EXIT_FAILURE when a file cannot be
 * read (the reason goes to `err`).
 */
int lf_dlq_list_command(const struct lf_config *config, FILE *out, FILE *err);

/*
 * Sends every record again through the configured output, with its
 * `_index`, `_id` and action. Records answered 2xx or 409 are removed;
 * the others stay. Nothing is removed before the kept records are
 * written to a new file, so an interrupted replay loses no record, and
 * a record sent twice is answered 409. Needs the agent stopped: the
 * agent holds the queue's lock. Returns LF_EXIT_OK when every record was
 * delivered, LF_EXIT_FAILURE when some are kept or the queue could not
 * be read or rewritten.
 */
int lf_dlq_replay_command(const struct lf_config *config, FILE *out,
                          FILE *err);

#endif
