/*
 * Stat polling, the fallback for paths that inotify cannot watch: the
 * instance or watch limit was reached, or the file system does not report
 * changes made elsewhere (NFS, CIFS, FUSE, overlay). Each entry is polled
 * at its own interval, which starts at `interval_ms`, doubles after every
 * poll that finds no change, up to `max_interval_ms`, and drops back to
 * `interval_ms` on a change. One timer serves every entry.
 */
#ifndef LF_AGENT_INPUT_POLLER_H
#define LF_AGENT_INPUT_POLLER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "agent/input/watcher.h"

struct lf_poller;

/*
 * Creates a poller whose changes are reported to `cb` with the events of
 * the watcher: LF_WATCH_DIR_CHANGED for a folder, LF_WATCH_FILE_WRITTEN or
 * LF_WATCH_FILE_MOVED (its link count changed) for an open file.
 */
struct lf_poller *lf_poller_new(uv_loop_t *loop, lf_watch_cb cb, void *arg);

/*
 * Polls the folder at `path` with stat(2). Returns an entry id (> 0), the
 * id of the entry already polling that path, or a negative errno code
 * when the folder cannot be stat-ed now.
 */
int lf_poller_add_dir(struct lf_poller *poller, const char *path,
                      uint64_t interval_ms, uint64_t max_interval_ms,
                      void *cookie);

/* Returns true when the folder at `path` is polled. */
bool lf_poller_has_dir(const struct lf_poller *poller, const char *path);

/* Polls the open file `fd` with fstat(2). `fd` must outlive the entry. */
int lf_poller_add_fd(struct lf_poller *poller, int fd, uint64_t interval_ms,
                     uint64_t max_interval_ms, void *cookie);

/* Stops polling entry `id`. An unknown id is ignored. */
void lf_poller_remove(struct lf_poller *poller, int id);

/* Returns the number of polled folders and files. */
size_t lf_poller_count(const struct lf_poller *poller);

/* Returns the number of stat calls made so far, for tests and stats. */
uint64_t lf_poller_stat_count(const struct lf_poller *poller);

/* Stops the timer and frees the poller once the timer handle closed. */
void lf_poller_close(struct lf_poller *poller);

#endif
