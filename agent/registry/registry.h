/*
 * The registry: the acknowledged byte offset of every file identity, kept
 * in `registry.json` under the data path. It only ever contains offsets whose
 * events the output acknowledged, so a restart resumes exactly there.
 *
 * Saving writes a new file, fsyncs it, keeps the previous version as
 * `registry.json.prev`, renames the new one into place and fsyncs the
 * folder. Loading falls back to the previous version, with an error
 * logged, when the current one is unreadable; it never starts from zero
 * silently. An invalid entry in a readable file is skipped with a warning,
 * so one bad entry cannot stop the agent from starting. Paths that are not
 * valid UTF-8 are stored hex-encoded as `path_hex`.
 */
#ifndef LF_AGENT_REGISTRY_REGISTRY_H
#define LF_AGENT_REGISTRY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/input/cut.h"

struct lf_registry_entry {
    uint64_t file_id; /* see agent/input/file_id.h */
    uint64_t base_id; /* file_id of generation 0 of the same file */
    uint32_t generation; /* truncations in place seen before this entry */
    /*
     * The file id in the documents' ids. It is file_id, except for a
     * rotated copy read as the continuation of the file it was copied
     * from: that copy uses the ids of the original.
     */
    uint64_t doc_file_id;
    uint64_t head_hash; /* lf_file_head_hash() of the first line, or 0 */
    uint64_t offset;  /* acknowledged bytes from the start of the file */
    char *path;       /* owned; the last name the file was read under */
    uint64_t dev;
    uint64_t ino;
    int64_t updated_s; /* Unix time of the last change */
    char *input_id;    /* owned; the input that read the file, or NULL */
    struct lf_cuts cuts; /* cuts after `offset`; see agent/input/cut.h */
};

struct lf_registry;

/*
 * Checks that the process runs as the user who owns folder `dir`
 * (path.data), so that the files a command writes there stay readable
 * and replaceable by the agent. A missing folder passes. Returns 0, or
 * LF_EPERM with a message naming the owner and the fix in errbuf.
 */
int lf_registry_check_owner(const char *dir, char *errbuf, size_t errlen);

/*
 * Opens the registry in folder `dir`, creating the folder if needed, and
 * locks it so that a second agent cannot share it. Returns 0, LF_EEXIST
 * when another process holds the lock, or another negative LF_E* code,
 * with a message in errbuf.
 */
int lf_registry_open(const char *dir, struct lf_registry **out, char *errbuf,
                     size_t errlen);

/*
 * Loads the registry in folder `dir` without locking it, so that it can
 * be read while an agent runs: the agent replaces the file by a rename,
 * so the copy read is always whole. A missing folder or file gives an
 * empty registry. lf_registry_save() fails with LF_ESTATE on it. Returns 0
 * or a negative LF_E* code with a message in errbuf.
 */
int lf_registry_read(const char *dir, struct lf_registry **out, char *errbuf,
                     size_t errlen);

/* Releases the lock, if taken, and frees the registry; accepts NULL. */
void lf_registry_free(struct lf_registry *registry);

/* Returns the entry of `file_id`, or NULL. Valid until lf_registry_free. */
struct lf_registry_entry *lf_registry_find(struct lf_registry *registry,
                                           uint64_t file_id);

/*
 * Returns the entry with base id `base_id` and the highest generation, or
 * NULL. Valid until lf_registry_free.
 */
struct lf_registry_entry *lf_registry_find_latest(struct lf_registry *registry,
                                                  uint64_t base_id);

/*
 * Returns the entry with head hash `head_hash` and the highest offset, or
 * NULL: the file a compressed copy was made of.
 */
struct lf_registry_entry *lf_registry_find_head(struct lf_registry *registry,
                                                uint64_t head_hash);

/*
 * Records that `file_id` is acknowledged up to `offset`, creating its entry
 * if needed. A new entry is generation 0 of its file, read under its own
 * document ids; callers set base_id, generation and doc_file_id when that
 * is not so. `path` is copied. Returns the entry.
 */
struct lf_registry_entry *lf_registry_update(struct lf_registry *registry,
                                             uint64_t file_id,
                                             uint64_t offset,
                                             const char *path, uint64_t dev,
                                             uint64_t ino);

/*
 * Moves an entry returned by lf_registry_update() to `offset`, and to
 * `path` if the file was renamed. Cheaper than an update: no lookup.
 */
void lf_registry_commit(struct lf_registry *registry,
                        struct lf_registry_entry *entry, uint64_t offset,
                        const char *path);

/*
 * Adds a cut to the entry. A commit at or past the cut's offset removes it.
 * Returns true when the entry changed and needs a save.
 */
bool lf_registry_add_cut(struct lf_registry *registry,
                         struct lf_registry_entry *entry,
                         const struct lf_cut *cut);

/* Records which input reads the entry's file; `input_id` is copied. */
void lf_registry_set_input(struct lf_registry *registry,
                           struct lf_registry_entry *entry,
                           const char *input_id);

/* Returns entry `index` (0 to count - 1), valid until lf_registry_free. */
struct lf_registry_entry *lf_registry_entry_at(struct lf_registry *registry,
                                               size_t index);

/*
 * Removes and frees entry `index`. The last entry takes its place, so
 * indexes past `index` change; pointers to other entries stay valid.
 */
void lf_registry_remove_at(struct lf_registry *registry, size_t index);

/*
 * Removes the entries of files that are gone, and returns their count. An
 * entry is removed when it was not updated for `max_age_s` seconds and
 * `in_use` (may be NULL) returns false for it. It must also be gone: a
 * later generation of the file has an entry, or no file with its device,
 * inode and first line exists under its last path or in that folder.
 */
size_t lf_registry_prune(struct lf_registry *registry, int64_t now_s,
                         int64_t max_age_s,
                         bool (*in_use)(void *arg,
                                        const struct lf_registry_entry *entry),
                         void *arg);

/* Returns the number of entries. */
size_t lf_registry_count(const struct lf_registry *registry);

/* Returns true when entries changed since the last save. */
bool lf_registry_dirty(const struct lf_registry *registry);

/*
 * Writes the registry durably. Returns 0 or a negative LF_E* code with a
 * message in errbuf; the previous file stays intact on failure. Needs a
 * registry from lf_registry_open(), which holds the lock.
 */
int lf_registry_save(struct lf_registry *registry, char *errbuf,
                     size_t errlen);

/* Returns the count of successful saves since open. */
uint64_t lf_registry_saves(const struct lf_registry *registry);

#endif
