/*
 * `logferry registry list` and `logferry registry forget`. Both work on
 * the registry file alone; neither opens the inputs. Listing compares
 * each entry with the file now at its path to report how far behind
 * shipping is.
 */
#include "agent/registry_command.h"
#include "agent/agent.h"
#include "agent/input/file_id.h"
#include "agent/registry/registry.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <jansson.h>

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum file_state {
    FILE_CURRENT,   /* the path still names the file of the entry */
    FILE_TRUNCATED, /* same file, now below the offset or rewritten */
    FILE_ROTATED,   /* the path names another file */
    FILE_GONE,      /* nothing at the path */
};

static const char *const state_names[] = {
    [FILE_CURRENT] = "current",
    [FILE_TRUNCATED] = "truncated",
    [FILE_ROTATED] = "rotated",
    [FILE_GONE] = "gone",
};

struct file_status {
    enum file_state state;
    uint64_t size; /* valid unless the state is rotated or gone */
};

/*
 * Compares the entry with the file at its path, the way the agent does
 * when it resumes: a later generation or a smaller size or another first
 * line means the file was truncated.
 */
static struct file_status check_file(struct lf_registry *registry,
                                     const struct lf_registry_entry *entry)
{
    struct file_status status = {FILE_GONE, 0};
    struct lf_registry_entry *latest;
    struct lf_file_stat st;
    uint64_t head_hash;
    int rc;

    rc = lf_file_stat_path(entry->path, &st);
    if (rc != 0) {
        return status;
    }
    if (st.dev != entry->dev || st.ino != entry->ino) {
        status.state = FILE_ROTATED;
        return status;
    }
    status.size = st.size;
    status.state = FILE_CURRENT;
    latest = lf_registry_find_latest(registry, entry->base_id);
    if ((latest != NULL && latest->generation > entry->generation) ||
        st.size < entry->offset) {
        status.state = FILE_TRUNCATED;
    } else if (entry->head_hash != 0 &&
               lf_file_head_hash_path(entry->path, entry->dev, entry->ino,
                                      &head_hash) == 0 &&
               head_hash != entry->head_hash) {
        status.state = FILE_TRUNCATED;
    }
    return status;
}

static int compare_entries(const void *a, const void *b)
{
    const struct lf_registry_entry *x =
        *(const struct lf_registry_entry *const *)a;
    const struct lf_registry_entry *y =
        *(const struct lf_registry_entry *const *)b;
    int order = strcmp(x->path, y->path);

    if (order != 0) {
        return order;
    }
    return (x->generation > y->generation) - (x->generation < y->generation);
}

/* Returns the entries sorted by path, then generation; free with lf_free. */
static struct lf_registry_entry **sorted_entries(struct lf_registry *registry)
{
    size_t count = lf_registry_count(registry);
    struct lf_registry_entry **entries;

    entries = lf_calloc(count + 1, sizeof(*entries));
    for (size_t i = 0; i < count; i++) {
        entries[i] = lf_registry_entry_at(registry, i);
    }
    qsort(entries, count, sizeof(*entries), compare_entries);
    return entries;
}

/*
 * Prints the path as is when it contains no space, quote, backslash or
 * control byte, and else quoted with C escapes, so that a line always
 * splits on spaces.
 */
static void print_path(FILE *out, const char *path)
{
    bool plain = *path != '\0';

    for (const char *c = path; *c != '\0'; c++) {
        unsigned char byte = (unsigned char)*c;
        if (byte <= ' ' || byte == '"' || byte == '\\' || byte == 0x7f) {
            plain = false;
            break;
        }
    }
    if (plain) {
        fputs(path, out);
        return;
    }
    fputc('"', out);
    for (const char *c = path; *c != '\0'; c++) {
        unsigned char byte = (unsigned char)*c;
        if (byte == '"' || byte == '\\') {
            fprintf(out, "\\%c", byte);
        } else if (byte < ' ' || byte == 0x7f) {
            fprintf(out, "\\x%02x", byte);
        } else {
            fputc(byte, out);
        }
    }
    fputc('"', out);
}

static void print_entry_text(FILE *out, const struct lf_registry_entry *entry,
                             struct file_status status)
{
    print_path(out, entry->path);
    fprintf(out, " id=%016" PRIx64 " dev=%" PRIu64 " ino=%" PRIu64,
            entry->file_id, entry->dev, entry->ino);
    if (entry->generation > 0) {
        fprintf(out, " generation=%" PRIu32, entry->generation);
    }
    fprintf(out, " offset=%" PRIu64, entry->offset);
    if (status.state == FILE_CURRENT || status.state == FILE_TRUNCATED) {
        fprintf(out, " size=%" PRIu64, status.size);
    } else {
        fputs(" size=-", out);
    }
    if (status.state == FILE_CURRENT) {
        fprintf(out, " lag=%" PRIu64, status.size - entry->offset);
    } else {
        fputs(" lag=-", out);
    }
    fprintf(out, " state=%s input=%s\n", state_names[status.state],
            entry->input_id != NULL ? entry->input_id : "-");
}

static json_t *hex_id(uint64_t id)
{
    char text[17];

    snprintf(text, sizeof(text), "%016" PRIx64, id);
    return json_string(text);
}

static void print_entry_json(FILE *out, const struct lf_registry_entry *entry,
                             struct file_status status)
{
    json_t *item = json_object();
    json_t *path = json_string(entry->path);
    char *text;

    if (path != NULL) {
        json_object_set_new(item, "path", path);
    } else {
        /* Not UTF-8: the same hex form registry.json uses. */
        struct lf_buf hex;

        lf_buf_init(&hex);
        for (const char *c = entry->path; *c != '\0'; c++) {
            lf_buf_appendf(&hex, "%02x", (unsigned char)*c);
        }
        json_object_set_new(item, "path_hex",
                            json_stringn(hex.data, hex.len));
        lf_buf_cleanup(&hex);
    }
    json_object_set_new(item, "id", hex_id(entry->file_id));
    json_object_set_new(item, "base_id", hex_id(entry->base_id));
    json_object_set_new(item, "generation", json_integer(entry->generation));
    json_object_set_new(item, "head", entry->head_hash != 0
                                          ? hex_id(entry->head_hash)
                                          : json_null());
    json_object_set_new(item, "dev", json_integer((json_int_t)entry->dev));
    json_object_set_new(item, "ino", json_integer((json_int_t)entry->ino));
    json_object_set_new(item, "input", entry->input_id != NULL
                                           ? json_string(entry->input_id)
                                           : json_null());
    json_object_set_new(item, "offset",
                        json_integer((json_int_t)entry->offset));
    json_object_set_new(item, "updated",
                        json_integer((json_int_t)entry->updated_s));
    json_object_set_new(item, "state",
                        json_string(state_names[status.state]));
    json_object_set_new(item, "size",
                        status.state == FILE_CURRENT ||
                                status.state == FILE_TRUNCATED
                            ? json_integer((json_int_t)status.size)
                            : json_null());
    json_object_set_new(item, "lag",
                        status.state == FILE_CURRENT
                            ? json_integer((json_int_t)(status.size -
                                                        entry->offset))
                            : json_null());
    text = json_dumps(item, JSON_COMPACT | JSON_ENSURE_ASCII);
    fprintf(out, "%s\n", text);
    free(text); /* allocated by jansson with malloc */
    json_decref(item);
}

int lf_registry_list_command(const struct lf_config *config, bool json,
                             FILE *out, FILE *err)
{
    struct lf_registry *registry = NULL;
    struct lf_registry_entry **entries;
    size_t count;
    uint64_t lag = 0;
    char errbuf[1024];

    if (lf_registry_read(config->data_path, &registry, errbuf,
                         sizeof(errbuf)) != 0) {
        fprintf(err, "logferry: %s\n", errbuf);
        return LF_EXIT_FAILURE;
    }
    count = lf_registry_count(registry);
    entries = sorted_entries(registry);
    for (size_t i = 0; i < count; i++) {
        struct file_status status = check_file(registry, entries[i]);

        if (status.state == FILE_CURRENT) {
            lag += status.size - entries[i]->offset;
        }
        if (json) {
            print_entry_json(out, entries[i], status);
        } else {
            print_entry_text(out, entries[i], status);
        }
    }
    if (!json) {
        fprintf(out, "%zu entr%s in %s/registry.json, lag %" PRIu64
                " bytes\n", count, count == 1 ? "y" : "ies",
                config->data_path, lag);
    }
    lf_free(entries);
    lf_registry_free(registry);
    return LF_EXIT_OK;
}

/*
 * Returns true when `arg`, as given or resolved to an absolute path,
 * names the entry's path.
 */
static bool path_matches(const char *arg, const char *resolved,
                         const struct lf_registry_entry *entry)
{
    return strcmp(arg, entry->path) == 0 ||
           (resolved != NULL && strcmp(resolved, entry->path) == 0);
}

/* Marks the entries of `arg`; returns how many it marked. */
static size_t mark_path(struct lf_registry *registry, const char *arg,
                        bool *marked)
{
    char *resolved = realpath(arg, NULL);
    size_t count = lf_registry_count(registry);
    size_t found = 0;

    for (size_t i = 0; i < count; i++) {
        if (path_matches(arg, resolved, lf_registry_entry_at(registry, i))) {
            marked[i] = true;
            found++;
        }
    }
    free(resolved); /* allocated by realpath with malloc */
    return found;
}

/*
 * Marks the other generations of each marked entry's file too: the
 * agent resumes from the latest generation it finds, so one left behind
 * would keep the file from being read from the start.
 */
static void mark_generations(struct lf_registry *registry, bool *marked)
{
    size_t count = lf_registry_count(registry);

    for (size_t i = 0; i < count; i++) {
        const struct lf_registry_entry *entry;

        if (!marked[i]) {
            continue;
        }
        entry = lf_registry_entry_at(registry, i);
        for (size_t j = 0; j < count; j++) {
            if (lf_registry_entry_at(registry, j)->base_id == entry->base_id) {
                marked[j] = true;
            }
        }
    }
}

/*
 * Keeps the latest generation of a file truncated in place, moved back to
 * offset 0, while that file is still at its path. Removed, it would let
 * the file be read as generation 0. With the same first line as before
 * the truncation, generation 0 gives the new lines the document ids of
 * the old lines at the same offsets, and Elasticsearch rejects them with
 * 409 as duplicates.
 */
static void keep_latest_generations(struct lf_registry *registry,
                                    bool *marked, FILE *out)
{
    size_t count = lf_registry_count(registry);

    for (size_t i = 0; i < count; i++) {
        struct lf_registry_entry *entry = lf_registry_entry_at(registry, i);
        uint64_t offset = entry->offset;

        if (!marked[i] || entry->generation == 0 ||
            lf_registry_find_latest(registry, entry->base_id) != entry ||
            check_file(registry, entry).state != FILE_CURRENT) {
            continue;
        }
        marked[i] = false;
        lf_registry_commit(registry, entry, 0, entry->path);
        fputs("forgot ", out);
        print_path(out, entry->path);
        fprintf(out, " id=%016" PRIx64 " offset=%" PRIu64 " (generation %"
                PRIu32 " kept at offset 0)\n", entry->file_id, offset,
                entry->generation);
    }
}

int lf_registry_forget_command(const struct lf_config *config,
                               char *const *paths, size_t count, FILE *out,
                               FILE *err)
{
    struct lf_registry *registry = NULL;
    size_t entry_count;
    bool *marked;
    bool missing = false;
    char errbuf[1024];
    int rc;

    rc = lf_registry_check_owner(config->data_path, errbuf, sizeof(errbuf));
    if (rc != 0) {
        fprintf(err, "logferry: %s\n", errbuf);
        return LF_EXIT_FAILURE;
    }
    rc = lf_registry_open(config->data_path, &registry, errbuf,
                          sizeof(errbuf));
    if (rc == LF_EEXIST) {
        fprintf(err, "logferry: the registry in %s is locked by a running "
                "agent; stop the agent, then run 'registry forget' again\n",
                config->data_path);
        return LF_EXIT_FAILURE;
    }
    if (rc != 0) {
        fprintf(err, "logferry: %s\n", errbuf);
        return LF_EXIT_FAILURE;
    }

    entry_count = lf_registry_count(registry);
    marked = lf_calloc(entry_count + 1, sizeof(*marked));
    for (size_t i = 0; i < count; i++) {
        if (mark_path(registry, paths[i], marked) == 0) {
            fprintf(err, "logferry: no registry entry has the path %s; "
                    "'logferry registry list' prints the paths\n", paths[i]);
            missing = true;
        }
    }
    if (missing) {
        fprintf(err, "logferry: nothing was forgotten\n");
        rc = LF_EXIT_FAILURE;
        goto out;
    }
    mark_generations(registry, marked);
    keep_latest_generations(registry, marked, out);

    /* Backwards, because removal moves the last entry into the hole. */
    for (size_t i = entry_count; i-- > 0;) {
        const struct lf_registry_entry *entry;

        if (!marked[i]) {
            continue;
        }
        entry = lf_registry_entry_at(registry, i);
        fputs("forgot ", out);
        print_path(out, entry->path);
        fprintf(out, " id=%016" PRIx64 " offset=%" PRIu64 "\n",
                entry->file_id, entry->offset);
        lf_registry_remove_at(registry, i);
    }
    rc = LF_EXIT_OK;
    if (lf_registry_save(registry, errbuf, sizeof(errbuf)) != 0) {
        fprintf(err, "logferry: %s; the registry is unchanged\n", errbuf);
        rc = LF_EXIT_FAILURE;
    }

out:
    lf_free(marked);
    lf_registry_free(registry);
    return rc;
}
