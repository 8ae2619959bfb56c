/*
 * `logferry registry list` and `logferry registry forget`: print the
 * acknowledged offsets the agent keeps in path.data/registry.json, and
 * remove the entries of files so that the next run reads them again.
 */
#ifndef LF_AGENT_REGISTRY_COMMAND_H
#define LF_AGENT_REGISTRY_COMMAND_H

#include <stdbool.h>
#include <stdio.h>

#include "agent/config/config.h"

/*
 * Prints one line per registry entry to `out`, sorted by path, then a
 * summary line; with `json`, one JSON object per entry and no summary.
 * Reads the last saved registry without taking its lock, so it works
 * while an agent runs. Returns LF_EXIT_OK, or LF_EXIT_FAILURE when the
 * registry cannot be read (the reason goes to `err`).
 */
int lf_registry_list_command(const struct lf_config *config, bool json,
                             FILE *out, FILE *err);

/*
 * Removes every entry whose path is one of the `count` `paths`, with the
 * entries of the other generations of the same file, and saves the
 * registry. The latest generation of a file truncated in place stays, at
 * offset 0, while the file is at its path, so that the file keeps the
 * document ids of that generation. Takes the registry's lock, so it fails while an agent runs.
 * Changes nothing when a path has no entry. Returns LF_EXIT_OK or
 * LF_EXIT_FAILURE (the reason goes to `err`).
 */
int lf_registry_forget_command(const struct lf_config *config,
                               char *const *paths, size_t count, FILE *out,
                               FILE *err);

#endif
