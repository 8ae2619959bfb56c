/*
 * Registry storage: an array of entries in memory, a small JSON document
 * on disk. The file is rewritten whole; with one entry per tracked file it
 * stays a few kilobytes, so rewriting is cheaper than journaling.
 */
#include "agent/registry/registry.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <jansson.h>

#include <errno.h>
#include <pwd.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REGISTRY_VERSION 1

struct lf_registry {
    char *dir;
    int dir_fd;
    int lock_fd;
    struct lf_registry_entry **entries;
    size_t count;
    size_t cap;
    bool dirty;
    uint64_t saves;
};

static void entry_free(struct lf_registry_entry *entry)
{
    if (entry != NULL) {
        lf_free(entry->path);
        lf_free(entry->input_id);
        lf_cuts_cleanup(&entry->cuts);
        lf_free(entry);
    }
}

void lf_registry_free(struct lf_registry *registry)
{
    if (registry == NULL) {
        return;
    }
    for (size_t i = 0; i < registry->count; i++) {
        entry_free(registry->entries[i]);
    }
    lf_free(registry->entries);
    if (registry->lock_fd >= 0) {
        close(registry->lock_fd);
    }
    if (registry->dir_fd >= 0) {
        close(registry->dir_fd);
    }
    lf_free(registry->dir);
    lf_free(registry);
}

static int make_dirs(const char *dir)
{
    char *path = lf_strdup(dir);
    int rc = 0;

    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST) {
            rc = -errno;
        }
        *p = '/';
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && mkdir(path, 0750) != 0 && errno != EEXIST) {
        rc = -errno;
    }
    lf_free(path);
    return rc;
}

static struct lf_registry_entry *add_entry(struct lf_registry *registry,
                                           uint64_t file_id)
{
    struct lf_registry_entry *entry = lf_calloc(1, sizeof(*entry));

    if (registry->count == registry->cap) {
        registry->cap = registry->cap == 0 ? 16 : registry->cap * 2;
        registry->entries = lf_realloc(
            registry->entries, registry->cap * sizeof(*registry->entries));
    }
    entry->file_id = file_id;
    entry->base_id = file_id;
    entry->doc_file_id = file_id;
    registry->entries[registry->count++] = entry;
    return entry;
}

static int parse_u64(json_t *obj, const char *key, uint64_t *out)
{
    json_t *value = json_object_get(obj, key);

    if (!json_is_integer(value) || json_integer_value(value) < 0) {
        return LF_ECORRUPT;
    }
    *out = (uint64_t)json_integer_value(value);
    return 0;
}

/*
 * Reads the optional `cuts` array of [offset, kinds, start] triples. A
 * malformed cut is skipped with a warning, so the entry stays usable.
 */
static void parse_cuts(struct lf_registry_entry *entry, json_t *item)
{
    json_t *cuts = json_object_get(item, "cuts");
    json_t *cut;
    size_t i;

    json_array_foreach(cuts, i, cut) {
        json_t *offset = json_array_get(cut, 0);
        json_t *kinds = json_array_get(cut, 1);
        json_t *start = json_array_get(cut, 2);

        if (!json_is_integer(offset) || json_integer_value(offset) < 0 ||
            !json_is_integer(kinds) || json_integer_value(kinds) <= 0 ||
            !json_is_integer(start) || json_integer_value(start) < 0) {
            lf_log_warn("registry", "skipping an invalid cut of entry "
                        "path=%s", entry->path);
            continue;
        }
        lf_cuts_add(&entry->cuts, (uint64_t)json_integer_value(offset),
                    (unsigned)json_integer_value(kinds),
                    (uint64_t)json_integer_value(start));
    }
}

/* Decodes a `path_hex` value; returns NULL when it is not valid hex. */
static char *decode_hex_path(const char *hex)
{
    size_t len = strlen(hex);
    char *path;

    if (len % 2 != 0) {
        return NULL;
    }
    path = lf_malloc(len / 2 + 1);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            lf_free(path);
            return NULL;
        }
        path[i] = (char)byte;
    }
    path[len / 2] = '\0';
    return path;
}

/*
 * Reads the optional hex id `key` into *out, which keeps its value when
 * the key is absent. Returns LF_ECORRUPT for a value that is not hex.
 */
static int parse_hex_id(json_t *item, const char *key, uint64_t *out)
{
    json_t *value = json_object_get(item, key);
    const char *text = json_string_value(value);
    char *end;

    if (value == NULL) {
        return 0;
    }
    if (text == NULL || *text == '\0') {
        return LF_ECORRUPT;
    }
    errno = 0;
    *out = strtoull(text, &end, 16);
    return errno != 0 || *end != '\0' ? LF_ECORRUPT : 0;
}

static int parse_entry(struct lf_registry *registry, json_t *item)
{
    const char *id_text = json_string_value(json_object_get(item, "id"));
    const char *path = json_string_value(json_object_get(item, "path"));
    const char *path_hex =
        json_string_value(json_object_get(item, "path_hex"));
    char *decoded = NULL;
    const char *input_id;
    struct lf_registry_entry *entry;
    uint64_t offset;
    uint64_t dev;
    uint64_t ino;
    uint64_t updated;
    uint64_t generation = 0;
    uint64_t base_id;
    uint64_t doc_file_id;
    uint64_t head_hash = 0;
    char *end;
    uint64_t file_id;

    if (path_hex != NULL) {
        decoded = decode_hex_path(path_hex);
        path = decoded;
    }
    if (id_text == NULL || path == NULL) {
        return LF_ECORRUPT;
    }
    errno = 0;
    file_id = strtoull(id_text, &end, 16);
    if (errno != 0 || *end != '\0' || end == id_text ||
        parse_u64(item, "offset", &offset) != 0 ||
        parse_u64(item, "dev", &dev) != 0 ||
        parse_u64(item, "ino", &ino) != 0 ||
        parse_u64(item, "updated", &updated) != 0) {
        lf_free(decoded);
        return LF_ECORRUPT;
    }
    base_id = file_id;
    doc_file_id = file_id;
    if (parse_hex_id(item, "base", &base_id) != 0 ||
        parse_hex_id(item, "doc_id", &doc_file_id) != 0 ||
        parse_hex_id(item, "head", &head_hash) != 0 ||
        (json_object_get(item, "generation") != NULL &&
         (parse_u64(item, "generation", &generation) != 0 ||
          generation > UINT32_MAX))) {
        lf_free(decoded);
        return LF_ECORRUPT;
    }

    entry = add_entry(registry, file_id);
    entry->offset = offset;
    entry->path = decoded != NULL ? decoded : lf_strdup(path);
    input_id = json_string_value(json_object_get(item, "input"));
    if (input_id != NULL) {
        entry->input_id = lf_strdup(input_id);
    }
    entry->dev = dev;
    entry->ino = ino;
    entry->updated_s = (int64_t)updated;
    entry->base_id = base_id;
    entry->doc_file_id = doc_file_id;
    entry->head_hash = head_hash;
    entry->generation = (uint32_t)generation;
    parse_cuts(entry, item);
    lf_cuts_drop_through(&entry->cuts, entry->offset);
    return 0;
}

/* Loads `name`; returns LF_ENOENT when it does not exist. */
static int load_file(struct lf_registry *registry, const char *name,
                     char *errbuf, size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL;
    json_t *files;
    int fd;
    int rc = 0;

    fd = openat(registry->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(errbuf, errlen, "open(\"%s/%s\") failed: %s", registry->dir,
                 name, lf_strerror(rc));
        return rc;
    }
    root = json_loadfd(fd, 0, &jerr);
    close(fd);
    if (root == NULL) {
        snprintf(errbuf, errlen, "%s/%s:%d: invalid JSON: %s", registry->dir,
                 name, jerr.line, jerr.text);
        return LF_ECORRUPT;
    }

    files = json_object_get(root, "files");
    if (json_integer_value(json_object_get(root, "version")) !=
            REGISTRY_VERSION ||
        !json_is_array(files)) {
        snprintf(errbuf, errlen,
                 "%s/%s: not a version %d registry (expected "
                 "{\"version\":%d,\"files\":[...]})",
                 registry->dir, name, REGISTRY_VERSION, REGISTRY_VERSION);
        rc = LF_ECORRUPT;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(files); i++) {
        if (parse_entry(registry, json_array_get(files, i)) != 0) {
            lf_log_warn("registry", "entry %zu is invalid and was "
                        "skipped; its file is read from the start and "
                        "lines sent before are answered 409 path=%s/%s",
                        i, registry->dir, name);
        }
    }

out:
    if (rc != 0) {
        for (size_t i = 0; i < registry->count; i++) {
            entry_free(registry->entries[i]);
        }
        registry->count = 0;
    }
    json_decref(root);
    return rc;
}

/*
 * Loads the current file, or the previous one when the current one is
 * unreadable. A missing pair means a first start.
 */
static int load(struct lf_registry *registry, char *errbuf, size_t errlen)
{
    char first_error[512];
    int first_rc;
    int rc;

    first_rc = load_file(registry, "registry.json", first_error,
                         sizeof(first_error));
    if (first_rc == 0) {
        return 0;
    }

    rc = load_file(registry, "registry.json.prev", errbuf, errlen);
    if (rc == LF_ENOENT) {
        if (first_rc == LF_ENOENT) {
            return 0; /* first start */
        }
        snprintf(errbuf, errlen, "%s, and no previous copy exists",
                 first_error);
        return first_rc;
    }
    if (rc == 0) {
        lf_log_error("registry",
                     "%s; resuming from the previous copy "
                     "registry.json.prev, lines after it are sent again "
                     "path=%s/registry.json",
                     first_error, registry->dir);
    }
    return rc;
}

static int lock_dir(struct lf_registry *registry, char *errbuf, size_t errlen)
{
    registry->lock_fd = openat(registry->dir_fd, ".lock",
                               O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (registry->lock_fd < 0) {
        int rc = -errno;
        snprintf(errbuf, errlen, "open(\"%s/.lock\") failed: %s",
                 registry->dir, lf_strerror(rc));
        return rc;
    }
    if (flock(registry->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(errbuf, errlen,
                 "data path %s is in use by another logferry process; "
                 "give each agent its own path.data",
                 registry->dir);
        return LF_EEXIST;
    }
    return 0;
}

int lf_registry_check_owner(const char *dir, char *errbuf, size_t errlen)
{
    struct stat st;
    struct passwd *owner;
    uid_t uid = geteuid();

    if (stat(dir, &st) != 0) {
        return 0;
    }
    if (st.st_uid == uid) {
        return 0;
    }
    owner = getpwuid(st.st_uid);
    if (owner != NULL) {
        snprintf(errbuf, errlen,
                 "%s belongs to user %s (uid %u) but this command runs as "
                 "uid %u, so the agent could not read or replace the files "
                 "it writes; run it as that user, for example with "
                 "'sudo -u %s'",
                 dir, owner->pw_name, (unsigned)st.st_uid, (unsigned)uid,
                 owner->pw_name);
    } else {
        snprintf(errbuf, errlen,
                 "%s belongs to uid %u but this command runs as uid %u, so "
                 "the agent could not read or replace the files it writes; "
                 "run it as uid %u",
                 dir, (unsigned)st.st_uid, (unsigned)uid, (unsigned)st.st_uid);
    }
    return LF_EPERM;
}

int lf_registry_open(const char *dir, struct lf_registry **out, char *errbuf,
                     size_t errlen)
{
    struct lf_registry *registry = lf_calloc(1, sizeof(*registry));
    int rc;

    registry->dir = lf_strdup(dir);
    registry->dir_fd = -1;
    registry->lock_fd = -1;

    rc = make_dirs(dir);
    if (rc != 0) {
        snprintf(errbuf, errlen, "mkdir(\"%s\") failed: %s", dir,
                 lf_strerror(rc));
        goto fail;
    }
    registry->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (registry->dir_fd < 0) {
        rc = -errno;
        snprintf(errbuf, errlen, "open(\"%s\") failed: %s", dir,
                 lf_strerror(rc));
        goto fail;
    }

    rc = lock_dir(registry, errbuf, errlen);
    if (rc == 0) {
        rc = load(registry, errbuf, errlen);
    }
    if (rc != 0) {
        goto fail;
    }
    *out = registry;
    return 0;

fail:
    lf_registry_free(registry);
    return rc;
}

int lf_registry_read(const char *dir, struct lf_registry **out, char *errbuf,
                     size_t errlen)
{
    struct lf_registry *registry = lf_calloc(1, sizeof(*registry));
    int rc;

    registry->dir = lf_strdup(dir);
    registry->lock_fd = -1;
    registry->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (registry->dir_fd < 0) {
        rc = -errno;
        if (rc == LF_ENOENT) {
            *out = registry; /* no agent ran with this data path yet */
            return 0;
        }
        snprintf(errbuf, errlen, "open(\"%s\") failed: %s", dir,
                 lf_strerror(rc));
        lf_registry_free(registry);
        return rc;
    }
    rc = load(registry, errbuf, errlen);
    if (rc != 0) {
        lf_registry_free(registry);
        return rc;
    }
    *out = registry;
    return 0;
}

struct lf_registry_entry *lf_registry_find(struct lf_registry *registry,
                                           uint64_t file_id)
{
    for (size_t i = 0; i < registry->count; i++) {
        if (registry->entries[i]->file_id == file_id) {
            return registry->entries[i];
        }
    }
    return NULL;
}

struct lf_registry_entry *lf_registry_find_latest(struct lf_registry *registry,
                                                  uint64_t base_id)
{
    struct lf_registry_entry *latest = NULL;

    for (size_t i = 0; i < registry->count; i++) {
        struct lf_registry_entry *entry = registry->entries[i];
        if (entry->base_id == base_id &&
            (latest == NULL || entry->generation > latest->generation)) {
            latest = entry;
        }
    }
    return latest;
}

struct lf_registry_entry *lf_registry_find_head(struct lf_registry *registry,
                                                uint64_t head_hash)
{
    struct lf_registry_entry *found = NULL;

    for (size_t i = 0; i < registry->count; i++) {
        struct lf_registry_entry *entry = registry->entries[i];
        if (head_hash != 0 && entry->head_hash == head_hash &&
            (found == NULL || entry->offset > found->offset)) {
            found = entry;
        }
    }
    return found;
}

struct lf_registry_entry *lf_registry_update(struct lf_registry *registry,
                                             uint64_t file_id,
                                             uint64_t offset,
                                             const char *path, uint64_t dev,
                                             uint64_t ino)
{
    struct lf_registry_entry *entry = lf_registry_find(registry, file_id);

    if (entry == NULL) {
        entry = add_entry(registry, file_id);
    }
    if (entry->path == NULL || strcmp(entry->path, path) != 0) {
        lf_free(entry->path);
        entry->path = lf_strdup(path);
    }
    entry->offset = offset;
    entry->dev = dev;
    entry->ino = ino;
    entry->updated_s = (int64_t)time(NULL);
    registry->dirty = true;
    return entry;
}

void lf_registry_commit(struct lf_registry *registry,
                        struct lf_registry_entry *entry, uint64_t offset,
                        const char *path)
{
    if (strcmp(entry->path, path) != 0) {
        lf_free(entry->path);
        entry->path = lf_strdup(path);
    }
    entry->offset = offset;
    entry->updated_s = (int64_t)time(NULL);
    lf_cuts_drop_through(&entry->cuts, offset);
    registry->dirty = true;
}

bool lf_registry_add_cut(struct lf_registry *registry,
                         struct lf_registry_entry *entry,
                         const struct lf_cut *cut)
{
    if (cut->offset <= entry->offset ||
        !lf_cuts_add(&entry->cuts, cut->offset, cut->kinds, cut->start)) {
        return false;
    }
    registry->dirty = true;
    return true;
}

void lf_registry_set_input(struct lf_registry *registry,
                           struct lf_registry_entry *entry,
                           const char *input_id)
{
    if (entry->input_id != NULL && strcmp(entry->input_id, input_id) == 0) {
        return;
    }
    lf_free(entry->input_id);
    entry->input_id = lf_strdup(input_id);
    registry->dirty = true;
}

struct lf_registry_entry *lf_registry_entry_at(struct lf_registry *registry,
                                               size_t index)
{
    return index < registry->count ? registry->entries[index] : NULL;
}

void lf_registry_remove_at(struct lf_registry *registry, size_t index)
{
    if (index >= registry->count) {
        return;
    }
    entry_free(registry->entries[index]);
    registry->entries[index] = registry->entries[--registry->count];
    registry->dirty = true;
}

size_t lf_registry_count(const struct lf_registry *registry)
{
    return registry->count;
}

bool lf_registry_dirty(const struct lf_registry *registry)
{
    return registry->dirty;
}

uint64_t lf_registry_saves(const struct lf_registry *registry)
{
    return registry->saves;
}

/* Stores the path as a string, or hex-encoded when it is not UTF-8. */
static void add_path(json_t *item, const char *path)
{
    json_t *value = json_string(path);
    struct lf_buf hex;

    if (value != NULL) {
        json_object_set_new(item, "path", value);
        return;
    }
    lf_buf_init(&hex);
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0';
         p++) {
        lf_buf_appendf(&hex, "%02x", *p);
    }
    json_object_set_new(item, "path_hex", json_string(hex.data));
    lf_buf_cleanup(&hex);
}

static json_t *serialize_cuts(const struct lf_cuts *cuts)
{
    json_t *array = json_array();

    for (size_t i = 0; i < cuts->count; i++) {
        const struct lf_cut *cut = &cuts->items[i];

        json_array_append_new(array,
                              json_pack("[III]", (json_int_t)cut->offset,
                                        (json_int_t)cut->kinds,
                                        (json_int_t)cut->start));
    }
    return array;
}

static char *serialize(const struct lf_registry *registry)
{
    json_t *root = json_object();
    json_t *files = json_array();
    char *text;

    json_object_set_new(root, "version", json_integer(REGISTRY_VERSION));
    for (size_t i = 0; i < registry->count; i++) {
        const struct lf_registry_entry *entry = registry->entries[i];
        json_t *item = json_object();
        char id[17];

        snprintf(id, sizeof(id), "%016" PRIx64, entry->file_id);
        json_object_set_new(item, "id", json_string(id));
        if (entry->base_id != entry->file_id) {
            snprintf(id, sizeof(id), "%016" PRIx64, entry->base_id);
            json_object_set_new(item, "base", json_string(id));
            json_object_set_new(item, "generation",
                                json_integer(entry->generation));
        }
        if (entry->head_hash != 0) {
            snprintf(id, sizeof(id), "%016" PRIx64, entry->head_hash);
            json_object_set_new(item, "head", json_string(id));
        }
        if (entry->doc_file_id != entry->file_id) {
            snprintf(id, sizeof(id), "%016" PRIx64, entry->doc_file_id);
            json_object_set_new(item, "doc_id", json_string(id));
        }
        add_path(item, entry->path);
        if (entry->input_id != NULL) {
            json_object_set_new(item, "input", json_string(entry->input_id));
        }
        json_object_set_new(item, "offset",
                            json_integer((json_int_t)entry->offset));
        json_object_set_new(item, "dev", json_integer((json_int_t)entry->dev));
        json_object_set_new(item, "ino", json_integer((json_int_t)entry->ino));
        json_object_set_new(item, "updated",
                            json_integer((json_int_t)entry->updated_s));
        if (entry->cuts.count > 0) {
            json_object_set_new(item, "cuts", serialize_cuts(&entry->cuts));
        }
        json_array_append_new(files, item);
    }
    json_object_set_new(root, "files", files);
    text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(root);
    return text;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes and fsyncs registry.json.new. */
static int write_new(struct lf_registry *registry, const char *text)
{
    int fd;
    int rc;

    fd = openat(registry->dir_fd, "registry.json.new",
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -errno;
    }
    rc = write_all(fd, text, strlen(text));
    if (rc == 0 && write_all(fd, "\n", 1) == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

/*
 * Keeps the current file as registry.json.prev through a hard link, so
 * that registry.json itself exists at every instant.
 */
static int keep_previous(struct lf_registry *registry)
{
    unlinkat(registry->dir_fd, "registry.json.prev.tmp", 0);
    if (linkat(registry->dir_fd, "registry.json", registry->dir_fd,
               "registry.json.prev.tmp", 0) != 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (renameat(registry->dir_fd, "registry.json.prev.tmp", registry->dir_fd,
                 "registry.json.prev") != 0) {
        return -errno;
    }
    return 0;
}

int lf_registry_save(struct lf_registry *registry, char *errbuf,
                     size_t errlen)
{
    char *text;
    const char *step = "write registry.json.new";
    int rc;

    if (registry->lock_fd < 0) {
        snprintf(errbuf, errlen, "saving registry in %s failed: it was "
                 "opened for reading only", registry->dir);
        return LF_ESTATE;
    }
    text = serialize(registry);
    rc = write_new(registry, text);
    if (rc == 0) {
        step = "keep registry.json.prev";
        rc = keep_previous(registry);
    }
    if (rc == 0) {
        step = "rename registry.json.new";
        if (renameat(registry->dir_fd, "registry.json.new", registry->dir_fd,
                     "registry.json") != 0) {
            rc = -errno;
        }
    }
    if (rc == 0) {
        step = "fsync the data folder";
        if (fsync(registry->dir_fd) != 0) {
            rc = -errno;
        }
    }
    free(text); /* allocated by jansson with malloc */

    if (rc != 0) {
        snprintf(errbuf, errlen, "saving registry in %s failed: %s: %s",
                 registry->dir, step, lf_strerror(rc));
        return rc;
    }
    registry->dirty = false;
    registry->saves++;
    return 0;
}
