/*
 * inotify on libuv. The instance is non-blocking and read until EAGAIN on
 * every readiness callback. Watch descriptors map to cookies through a
 * small array, since an agent has one watch per directory and per open
 * file.
 */
#include "agent/input/watcher.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <linux/magic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DIR_MASK                                                              \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)
#define FILE_MASK (IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)

struct watch {
    int wd;
    void *cookie;
    bool is_dir;
};

struct lf_watcher {
    uv_poll_t poll;
    int fd;
    lf_watch_cb cb;
    void *arg;
    struct watch *watches;
    size_t count;
    size_t cap;
};

static struct watch *find_watch(struct lf_watcher *watcher, int wd)
{
    for (size_t i = 0; i < watcher->count; i++) {
        if (watcher->watches[i].wd == wd) {
            return &watcher->watches[i];
        }
    }
    return NULL;
}

static void dispatch(struct lf_watcher *watcher,
                     const struct inotify_event *ie)
{
    struct watch *watch;

    if (ie->mask & IN_Q_OVERFLOW) {
        watcher->cb(watcher->arg, LF_WATCH_OVERFLOW, NULL);
        return;
    }
    watch = find_watch(watcher, ie->wd);
    if (watch == NULL) {
        return; /* removed while the event was queued */
    }
    if (watch->is_dir) {
        watcher->cb(watcher->arg, LF_WATCH_DIR_CHANGED, watch->cookie);
    } else if (ie->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)) {
        /* IN_ATTRIB also reports the link count dropping to zero. */
        watcher->cb(watcher->arg, LF_WATCH_FILE_MOVED, watch->cookie);
    } else {
        watcher->cb(watcher->arg, LF_WATCH_FILE_WRITTEN, watch->cookie);
    }
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
    struct lf_watcher *watcher = handle->data;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

    (void)events;
    if (status < 0) {
        return;
    }
    for (;;) {
        ssize_t n = read(watcher->fd, buf, sizeof(buf));
        if (n <= 0) {
            break; /* EAGAIN: drained */
        }
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ie = (const struct inotify_event *)p;
            dispatch(watcher, ie);
            p += sizeof(*ie) + ie->len;
        }
    }
}

int lf_watcher_new(uv_loop_t *loop, lf_watch_cb cb, void *arg,
                   struct lf_watcher **out)
{
    struct lf_watcher *watcher;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int rc;

    if (fd < 0) {
        return -errno;
    }
    watcher = lf_calloc(1, sizeof(*watcher));
    watcher->fd = fd;
    watcher->cb = cb;
    watcher->arg = arg;

    rc = uv_poll_init(loop, &watcher->poll, fd);
    if (rc != 0) {
        close(fd);
        lf_free(watcher);
        return rc;
    }
    watcher->poll.data = watcher;
    uv_poll_start(&watcher->poll, UV_READABLE, on_readable);
    *out = watcher;
    return 0;
}

static int add_watch(struct lf_watcher *watcher, const char *path,
                     uint32_t mask, void *cookie, bool is_dir)
{
    int wd = inotify_add_watch(watcher->fd, path, mask);
    struct watch *watch;

    if (wd < 0) {
        return -errno;
    }
    /* inotify returns the same descriptor for an inode watched twice. */
    watch = find_watch(watcher, wd);
    if (watch == NULL) {
        if (watcher->count == watcher->cap) {
            watcher->cap = watcher->cap == 0 ? 16 : watcher->cap * 2;
            watcher->watches = lf_realloc(
                watcher->watches, watcher->cap * sizeof(*watcher->watches));
        }
        watch = &watcher->watches[watcher->count++];
        watch->wd = wd;
    }
    watch->cookie = cookie;
    watch->is_dir = is_dir;
    return wd;
}

int lf_watcher_add_dir(struct lf_watcher *watcher, const char *path,
                       void *cookie)
{
    return add_watch(watcher, path, DIR_MASK, cookie, true);
}

int lf_watcher_add_file(struct lf_watcher *watcher, const char *path,
                        void *cookie)
{
    return add_watch(watcher, path, FILE_MASK, cookie, false);
}

void lf_watcher_remove(struct lf_watcher *watcher, int wd)
{
    struct watch *watch = find_watch(watcher, wd);

    if (watch == NULL) {
        return;
    }
    inotify_rm_watch(watcher->fd, wd);
    *watch = watcher->watches[--watcher->count];
}

const char *lf_watcher_fs_without_events(long f_type)
{
    /* f_type is a signed long holding 32-bit magic numbers. */
    switch ((unsigned long)f_type & 0xffffffffUL) {
    case NFS_SUPER_MAGIC:
        return "nfs";
    case SMB_SUPER_MAGIC:
    case CIFS_SUPER_MAGIC:
        return "cifs";
    case SMB2_SUPER_MAGIC:
        return "smb2";
    case CEPH_SUPER_MAGIC:
        return "ceph";
    case V9FS_MAGIC:
        return "9p";
    case FUSE_SUPER_MAGIC:
        return "fuse";
    case OVERLAYFS_SUPER_MAGIC:
        return "overlay";
    default:
        return NULL;
    }
}

const char *lf_watcher_check_fs(const char *path, int fd)
{
    struct statfs sfs;
    int rc = path != NULL ? statfs(path, &sfs) : fstatfs(fd, &sfs);

    if (rc != 0) {
        return NULL;
    }
    return lf_watcher_fs_without_events((long)sfs.f_type);
}

static void on_closed(uv_handle_t *handle)
{
    struct lf_watcher *watcher = handle->data;

    close(watcher->fd);
    lf_free(watcher->watches);
    lf_free(watcher);
}

void lf_watcher_close(struct lf_watcher *watcher)
{
    if (watcher != NULL) {
        uv_close((uv_handle_t *)&watcher->poll, on_closed);
    }
}
