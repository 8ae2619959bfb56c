/*
 * Registry pruning: the entries of files that are gone are removed, so the
 * registry does not grow with every file ever read.
 */
#include "agent/registry/registry.h"
#include "agent/input/file_id.h"
#include "lf/buf.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <unistd.h>

/* Returns true when `path` is the entry's inode with the entry's head. */
static bool holds_entry(const char *path,
                        const struct lf_registry_entry *entry)
{
    char head[LF_FILE_HEAD_MAX];
    struct lf_file_stat st;
    size_t head_len;
    bool same;
    int fd;

    if (lf_file_stat_path(path, &st) != 0 || st.dev != entry->dev ||
        st.ino != entry->ino) {
        return false;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        /* Unreadable now, but there: keep the entry. */
        return true;
    }
    same = lf_file_fstat(fd, &st) == 0 &&
           lf_file_read_head(fd, head, &head_len) == 0 &&
           lf_file_id(&st, head, head_len) == entry->base_id;
    close(fd);
    return same;
}

/*
 * Returns true when the file of `entry` still exists: under its last path,
 * or renamed within the same folder.
 */
static bool entry_file_exists(const struct lf_registry_entry *entry)
{
    char *copy;
    const char *dir;
    struct lf_buf path;
    struct dirent *de;
    bool found;
    DIR *d;

    if (holds_entry(entry->path, entry)) {
        return true;
    }
    copy = lf_strdup(entry->path);
    dir = dirname(copy);
    found = false;
    lf_buf_init(&path);
    d = opendir(dir);
    while (d != NULL && !found && (de = readdir(d)) != NULL) {
        if (de->d_ino != entry->ino) {
            continue;
        }
        lf_buf_reset(&path);
        lf_buf_appendf(&path, "%s/%s", dir, de->d_name);
        found = holds_entry(path.data, entry);
    }
    if (d != NULL) {
        closedir(d);
    }
    lf_buf_cleanup(&path);
    lf_free(copy);
    return found;
}

/* Returns true when a later generation of the same file has an entry. */
static bool is_superseded(struct lf_registry *registry,
                          const struct lf_registry_entry *entry)
{
    return lf_registry_find_latest(registry, entry->base_id) != entry;
}

size_t lf_registry_prune(struct lf_registry *registry, int64_t now_s,
                         int64_t max_age_s,
                         bool (*in_use)(void *arg,
                                        const struct lf_registry_entry *entry),
                         void *arg)
{
    struct lf_registry_entry *entry;
    size_t removed = 0;
    size_t i = 0;

    while ((entry = lf_registry_entry_at(registry, i)) != NULL) {
        if (now_s - entry->updated_s < max_age_s ||
            (in_use != NULL && in_use(arg, entry)) ||
            (!is_superseded(registry, entry) && entry_file_exists(entry))) {
            i++;
            continue;
        }
        lf_log_debug("registry", "removing the entry of a file that is gone "
                     "path=%s id=%016llx offset=%llu", entry->path,
                     (unsigned long long)entry->file_id,
                     (unsigned long long)entry->offset);
        lf_registry_remove_at(registry, i);
        removed++;
    }
    return removed;
}
