/*
 * Stat polling on one libuv timer. Every poll compares a snapshot of the
 * stat data (inode, size, modification and change times, link count) with
 * the previous one. Entries due within POLL_SLACK_MS of each other are
 * polled in the same timer callback, so the timer wakes once per group.
 */
#include "agent/input/poller.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#define POLL_SLACK_MS 50

struct snapshot {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint64_t nlink;
};

struct entry {
    int id;
    int fd;      /* an open file, or -1 for a folder polled by path */
    char *path;  /* owned; NULL for an open file */
    void *cookie;
    struct snapshot last;
    uint64_t interval_ms;
    uint64_t min_interval_ms;
    uint64_t max_interval_ms;
    uint64_t due_ms; /* loop time of the next poll */
};

struct lf_poller {
    uv_loop_t *loop;
    uv_timer_t timer;
    lf_watch_cb cb;
    void *arg;
    struct entry *entries;
    size_t count;
    size_t cap;
    int next_id;
    uint64_t stat_count;
};

static void on_timer(uv_timer_t *timer);

static int take_snapshot(const struct entry *entry, struct snapshot *out)
{
    struct stat st;
    int rc;

    if (entry->fd >= 0) {
        rc = fstat(entry->fd, &st);
    } else {
        rc = stat(entry->path, &st);
    }
    if (rc != 0) {
        return -errno;
    }
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                    st.st_mtim.tv_nsec;
    out->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 +
                    st.st_ctim.tv_nsec;
    out->nlink = (uint64_t)st.st_nlink;
    return 0;
}

/* Arms the timer for the entry due first, or stops it if there is none. */
static void arm_timer(struct lf_poller *poller)
{
    uint64_t now = uv_now(poller->loop);
    uint64_t due = UINT64_MAX;

    for (size_t i = 0; i < poller->count; i++) {
        if (poller->entries[i].due_ms < due) {
            due = poller->entries[i].due_ms;
        }
    }
    if (due == UINT64_MAX) {
        uv_timer_stop(&poller->timer);
        return;
    }
    uv_timer_start(&poller->timer, on_timer, due > now ? due - now : 0, 0);
}

static void remove_at(struct lf_poller *poller, size_t index)
{
    lf_free(poller->entries[index].path);
    poller->entries[index] = poller->entries[--poller->count];
}

/*
 * Polls one entry and returns the event to report, or -1 when nothing
 * changed. A folder that can no longer be stat-ed is reported once and
 * dropped: the next scan polls it again if it comes back.
 */
static int poll_entry(struct lf_poller *poller, struct entry *entry,
                      bool *vanished_out)
{
    struct snapshot now;
    int event = -1;

    *vanished_out = false;
    poller->stat_count++;
    if (take_snapshot(entry, &now) != 0) {
        /* An open file's fstat() does not fail; a folder may be gone. */
        *vanished_out = entry->fd < 0;
        return *vanished_out ? LF_WATCH_DIR_CHANGED : -1;
    }
    if (entry->fd < 0) {
        if (now.ino != entry->last.ino || now.dev != entry->last.dev ||
            now.mtime_ns != entry->last.mtime_ns ||
            now.ctime_ns != entry->last.ctime_ns) {
            event = LF_WATCH_DIR_CHANGED;
        }
    } else if (now.nlink != entry->last.nlink) {
        event = LF_WATCH_FILE_MOVED;
    } else if (now.size != entry->last.size ||
               now.mtime_ns != entry->last.mtime_ns) {
        event = LF_WATCH_FILE_WRITTEN;
    }
    entry->last = now;
    if (event >= 0) {
        entry->interval_ms = entry->min_interval_ms;
    } else if (entry->interval_ms < entry->max_interval_ms) {
        entry->interval_ms *= 2;
        if (entry->interval_ms > entry->max_interval_ms) {
            entry->interval_ms = entry->max_interval_ms;
        }
    }
    entry->due_ms = uv_now(poller->loop) + entry->interval_ms;
    return event;
}

static void on_timer(uv_timer_t *timer)
{
    struct lf_poller *poller = timer->data;
    uint64_t limit = uv_now(poller->loop) + POLL_SLACK_MS;
    size_t i = 0;

    /*
     * The callback may add entries but never removes them synchronously
     * (readers and scans run later on the loop), so indexes stay valid.
     */
    while (i < poller->count) {
        struct entry *entry = &poller->entries[i];
        void *cookie = entry->cookie;
        bool vanished;
        int event;

        if (entry->due_ms > limit) {
            i++;
            continue;
        }
        event = poll_entry(poller, entry, &vanished);
        if (vanished) {
            remove_at(poller, i);
        } else {
            i++;
        }
        if (event >= 0) {
            poller->cb(poller->arg, (enum lf_watch_event)event, cookie);
        }
    }
    arm_timer(poller);
}

struct lf_poller *lf_poller_new(uv_loop_t *loop, lf_watch_cb cb, void *arg)
{
    struct lf_poller *poller = lf_calloc(1, sizeof(*poller));

    poller->loop = loop;
    poller->cb = cb;
    poller->arg = arg;
    uv_timer_init(loop, &poller->timer);
    poller->timer.data = poller;
    return poller;
}

static int add_entry(struct lf_poller *poller, int fd, const char *path,
                     uint64_t interval_ms, uint64_t max_interval_ms,
                     void *cookie)
{
    struct entry entry = {
        .fd = fd,
        .path = NULL,
        .cookie = cookie,
        .interval_ms = interval_ms,
        .min_interval_ms = interval_ms,
        .max_interval_ms = max_interval_ms < interval_ms ? interval_ms
                                                         : max_interval_ms,
    };
    int rc;

    if (path != NULL) {
        entry.path = (char *)(uintptr_t)path; /* borrowed for the stat */
    }
    rc = take_snapshot(&entry, &entry.last);
    if (rc != 0) {
        return rc;
    }
    entry.path = path != NULL ? lf_strdup(path) : NULL;
    entry.id = ++poller->next_id;
    entry.due_ms = uv_now(poller->loop) + interval_ms;
    if (poller->count == poller->cap) {
        poller->cap = poller->cap == 0 ? 16 : poller->cap * 2;
        poller->entries = lf_realloc(poller->entries,
                                     poller->cap * sizeof(*poller->entries));
    }
    poller->entries[poller->count++] = entry;
    if (!uv_is_active((uv_handle_t *)&poller->timer) ||
        uv_timer_get_due_in(&poller->timer) > interval_ms) {
        arm_timer(poller);
    }
    return entry.id;
}

static const struct entry *find_dir(const struct lf_poller *poller,
                                    const char *path)
{
    for (size_t i = 0; i < poller->count; i++) {
        const struct entry *entry = &poller->entries[i];

        if (entry->path != NULL && strcmp(entry->path, path) == 0) {
            return entry;
        }
    }
    return NULL;
}

bool lf_poller_has_dir(const struct lf_poller *poller, const char *path)
{
    return find_dir(poller, path) != NULL;
}

int lf_poller_add_dir(struct lf_poller *poller, const char *path,
                      uint64_t interval_ms, uint64_t max_interval_ms,
                      void *cookie)
{
    const struct entry *entry = find_dir(poller, path);

    if (entry != NULL) {
        return entry->id;
    }
    return add_entry(poller, -1, path, interval_ms, max_interval_ms, cookie);
}

int lf_poller_add_fd(struct lf_poller *poller, int fd, uint64_t interval_ms,
                     uint64_t max_interval_ms, void *cookie)
{
    return add_entry(poller, fd, NULL, interval_ms, max_interval_ms, cookie);
}

void lf_poller_remove(struct lf_poller *poller, int id)
{
    for (size_t i = 0; i < poller->count; i++) {
        if (poller->entries[i].id == id) {
            remove_at(poller, i);
            return;
        }
    }
}

size_t lf_poller_count(const struct lf_poller *poller)
{
    return poller->count;
}

uint64_t lf_poller_stat_count(const struct lf_poller *poller)
{
    return poller->stat_count;
}

static void on_closed(uv_handle_t *handle)
{
    struct lf_poller *poller = handle->data;

    for (size_t i = 0; i < poller->count; i++) {
        lf_free(poller->entries[i].path);
    }
    lf_free(poller->entries);
    lf_free(poller);
}

void lf_poller_close(struct lf_poller *poller)
{
    if (poller != NULL) {
        uv_close((uv_handle_t *)&poller->timer, on_closed);
    }
}
