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

/*
 * Watches a directory. Returns the watch descriptor or a negative errno
 * code. LF_ENOSPC (fs.inotify.max_user_watches reached) and LF_ENOMEM
 * mean the caller must poll the path instead.
 */
int lf_watcher_add_dir(struct lf_watcher *watcher, const char *path,
                       void *cookie);

/* Watches an open file by path; returns the watch descriptor or an error. */
int lf_watcher_add_file(struct lf_watcher *watcher, const char *path,
                        void *cookie);

/* Removes a watch; events already queued for it are dropped. */
void lf_watcher_remove(struct lf_watcher *watcher, int wd);

/*
 * Returns the name of the file system behind f_type (from statfs(2)) when
 * inotify on it misses changes made by other hosts or layers: nfs, cifs,
 * smb2, ceph, 9p, fuse or overlay. Returns NULL for the others.
 */
const char *lf_watcher_fs_without_events(long f_type);

/*
 * As lf_watcher_fs_without_events() for the file system holding `path`,
 * or for the open file `fd` when `path` is NULL. NULL also when statfs
 * fails: the watch is tried and its own error decides.
 */
const char *lf_watcher_check_fs(const char *path, int fd);

/* Closes the instance and frees the watcher once the poll handle closed. */
void lf_watcher_close(struct lf_watcher *watcher);

#endif
