/*
 * One inotify instance for the whole agent, read on the loop through a
 * uv_poll_t. Directories are watched for files that appear or move, open
 * files for appends and renames. Each watch carries a caller cookie.
 */
#ifndef LF_AGENT_INPUT_WATCHER_H
#define LF_AGENT_INPUT_WATCHER_H

#include <stdint.h>

#include <uv.h>

enum lf_watch_event {
    LF_WATCH_DIR_CHANGED,  /* an entry was created, moved in or out */
    LF_WATCH_FILE_WRITTEN, /* data appended or the file was truncated */
    LF_WATCH_FILE_MOVED,   /* renamed, deleted, or its last link removed */
    LF_WATCH_OVERFLOW,     /* the kernel queue overflowed: rescan all */
};

typedef void (*lf_watch_cb)(void *arg, enum lf_watch_event event,
                            void *cookie);

struct lf_watcher;

/*
 * Creates the watcher. Returns 0, or a negative errno code when inotify is
 * unavailable (the caller then relies on periodic scans).
 */
int lf_watcher_new(uv_loop_t *loop, lf_watch_cb cb, void *arg,
                   struct lf_watcher **out);

/* Watches a directory; returns the watch descriptor or a negative code. */
int lf_watcher_add_dir(struct lf_watcher *watcher, const char *path,
                       void *cookie);

/* Watches an open file by path; returns the watch descriptor or an error. */
int lf_watcher_add_file(struct lf_watcher *watcher, const char *path,
                        void *cookie);

/* Removes a watch; events already queued for it are dropped. */
void lf_watcher_remove(struct lf_watcher *watcher, int wd);

/* Closes the instance and frees the watcher once the poll handle closed. */
void lf_watcher_close(struct lf_watcher *watcher);

#endif
