/*
 * Registry persistence: save and reload, the previous copy as fallback,
 * corrupt files reported instead of silently reset, the folder lock,
 * generations of a truncated file, and pruning of entries of gone files.
 */
#include "agent/input/file_id.h"
#include "agent/registry/registry.h"
#include "lf/error.h"
#include "lf_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[256];

static void make_scratch(void)
{
    snprintf(scratch, sizeof(scratch), "/tmp/lf-test-registry-XXXXXX");
    LF_CHECK(mkdtemp(scratch) != NULL);
}

static void remove_scratch(void)
{
    const char *names[] = {"registry.json", "registry.json.prev",
                           "registry.json.new", ".lock"};
    char path[512];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/data/%s", scratch, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/data", scratch);
    rmdir(path);
    rmdir(scratch);
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/data/%s", scratch, name);
    f = fopen(path, "w");
    LF_CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_registry_roundtrip(void)
{
    struct lf_registry *reg = NULL;
    struct lf_registry_entry *entry;
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_registry_count(reg), 0);
    lf_registry_update(reg, UINT64_C(0xfedcba9876543210), 4096, "logs/a.log",
                       2049, 77);
    lf_registry_update(reg, 5, 10, "logs/b.log", 2049, 78);
    lf_registry_update(reg, 5, 25, "logs/b.log.1", 2049, 78);
    LF_CHECK(lf_registry_dirty(reg));
    LF_CHECK_INT_EQ(lf_registry_save(reg, err, sizeof(err)), 0);
    LF_CHECK(!lf_registry_dirty(reg));
    lf_registry_free(reg);

    reg = NULL;
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_registry_count(reg), 2);
    entry = lf_registry_find(reg, UINT64_C(0xfedcba9876543210));
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->offset, 4096);
        LF_CHECK_STR_EQ(entry->path, "logs/a.log");
        LF_CHECK_INT_EQ(entry->dev, 2049);
        LF_CHECK_INT_EQ(entry->ino, 77);
    }
    entry = lf_registry_find(reg, 5);
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->offset, 25);
        LF_CHECK_STR_EQ(entry->path, "logs/b.log.1");
    }
    LF_CHECK(lf_registry_find(reg, 6) == NULL);
    lf_registry_free(reg);
    remove_scratch();
}

static void test_registry_falls_back_to_previous(void)
{
    struct lf_registry *reg = NULL;
    struct lf_registry_entry *entry;
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    lf_registry_update(reg, 1, 100, "a.log", 1, 1);
    LF_CHECK_INT_EQ(lf_registry_save(reg, err, sizeof(err)), 0);
    lf_registry_update(reg, 1, 200, "a.log", 1, 1);
    LF_CHECK_INT_EQ(lf_registry_save(reg, err, sizeof(err)), 0);
    lf_registry_free(reg);

    /* A torn current file: the previous save (offset 100) is used. */
    write_file("registry.json", "{\"version\":1,\"files\":[{\"id\":");
    reg = NULL;
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    entry = reg == NULL ? NULL : lf_registry_find(reg, 1);
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->offset, 100);
    }
    lf_registry_free(reg);
    remove_scratch();
}

static void test_registry_corrupt_without_copy_fails(void)
{
    struct lf_registry *reg = NULL;
    char dir[300];
    char err[512];
    int rc;

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    mkdir(dir, 0750);
    write_file("registry.json", "not json");
    rc = lf_registry_open(dir, &reg, err, sizeof(err));
    LF_CHECK_INT_EQ(rc, LF_ECORRUPT);
    LF_CHECK(reg == NULL);
    LF_CHECK(strstr(err, "registry.json:1: invalid JSON") != NULL);
    LF_CHECK(strstr(err, "no previous copy exists") != NULL);
    remove_scratch();
}

static void test_registry_lock_excludes_second(void)
{
    struct lf_registry *first = NULL;
    struct lf_registry *second = NULL;
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &first, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &second, err, sizeof(err)),
                    LF_EEXIST);
    LF_CHECK(strstr(err, "in use by another logferry process") != NULL);
    lf_registry_free(first);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &second, err, sizeof(err)), 0);
    lf_registry_free(second);
    remove_scratch();
}

static void test_registry_generations_roundtrip(void)
{
    struct lf_registry *reg = NULL;
    struct lf_registry_entry *entry;
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    entry = lf_registry_update(reg, 100, 500, "logs/a.log", 2049, 7);
    LF_CHECK_INT_EQ(entry->base_id, 100);
    LF_CHECK_INT_EQ(entry->doc_file_id, 100);
    LF_CHECK_INT_EQ(entry->generation, 0);
    entry = lf_registry_update(reg, 101, 40, "logs/a.log", 2049, 7);
    entry->base_id = 100;
    entry->generation = 1;
    entry = lf_registry_update(reg, 300, 600, "logs/a.log.1", 2049, 8);
    entry->doc_file_id = 100;
    LF_CHECK_INT_EQ(lf_registry_save(reg, err, sizeof(err)), 0);
    lf_registry_free(reg);

    reg = NULL;
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_registry_count(reg), 3);
    entry = lf_registry_find_latest(reg, 100);
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->file_id, 101);
        LF_CHECK_INT_EQ(entry->generation, 1);
        LF_CHECK_INT_EQ(entry->offset, 40);
        LF_CHECK_INT_EQ(entry->doc_file_id, 101);
    }
    entry = lf_registry_find(reg, 300);
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->base_id, 300);
        LF_CHECK_INT_EQ(entry->doc_file_id, 100);
        LF_CHECK_INT_EQ(entry->generation, 0);
    }
    LF_CHECK(lf_registry_find_latest(reg, 101) == NULL);
    lf_registry_free(reg);
    remove_scratch();
}

static void test_registry_bad_generation_skipped(void)
{
    struct lf_registry *reg = NULL;
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(mkdir(dir, 0750), 0);
    write_file("registry.json",
               "{\"version\": 1, \"files\": ["
               "{\"id\": \"a\", \"path\": \"x\", \"offset\": 1, "
               "\"dev\": 1, \"ino\": 1, \"updated\": 1, "
               "\"base\": \"zz\", \"generation\": 1},"
               "{\"id\": \"b\", \"path\": \"y\", \"offset\": 2, "
               "\"dev\": 1, \"ino\": 2, \"updated\": 1, "
               "\"base\": \"c\", \"generation\": 4294967296},"
               "{\"id\": \"d\", \"path\": \"z\", \"offset\": 3, "
               "\"dev\": 1, \"ino\": 3, \"updated\": 1, "
               "\"base\": \"c\", \"generation\": 2}]}");
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_registry_count(reg), 1);
    LF_CHECK(lf_registry_find(reg, 0xd) != NULL);
    LF_CHECK(lf_registry_find_latest(reg, 0xc) == lf_registry_find(reg, 0xd));
    lf_registry_free(reg);
    remove_scratch();
}

/* Writes `text` to `path` and stores the file's registry base id. */
static void make_log(const char *path, const char *text, uint64_t *base_out,
                     struct lf_file_stat *st)
{
    char head[LF_FILE_HEAD_MAX];
    size_t head_len = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

    LF_CHECK(fd >= 0);
    LF_CHECK_INT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    LF_CHECK_INT_EQ(lf_file_fstat(fd, st), 0);
    LF_CHECK_INT_EQ(lf_file_read_head(fd, head, &head_len), 0);
    *base_out = lf_file_id(st, head, head_len);
    close(fd);
}

static bool in_use_id(void *arg, const struct lf_registry_entry *entry)
{
    return entry->file_id == *(const uint64_t *)arg;
}

static void test_registry_prune_gone_files(void)
{
    struct lf_registry *reg = NULL;
    struct lf_registry_entry *entry;
    struct lf_file_stat st_live;
    struct lf_file_stat st_moved;
    struct lf_file_stat st_open;
    uint64_t live_id;
    uint64_t moved_id;
    uint64_t open_id;
    char dir[300];
    char live[320];
    char moved[320];
    char moved_new[320];
    char open_path[320];
    char err[512];
    const int64_t now = 1000000;

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    snprintf(live, sizeof(live), "%s/live.log", scratch);
    snprintf(moved, sizeof(moved), "%s/moved.log", scratch);
    snprintf(moved_new, sizeof(moved_new), "%s/moved.log.1", scratch);
    snprintf(open_path, sizeof(open_path), "%s/open.log", scratch);
    make_log(live, "live first line\n", &live_id, &st_live);
    make_log(moved, "moved first line\n", &moved_id, &st_moved);
    make_log(open_path, "open first line\n", &open_id, &st_open);
    LF_CHECK_INT_EQ(rename(moved, moved_new), 0);
    LF_CHECK_INT_EQ(unlink(open_path), 0);

    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    /* Exists under its path, and a superseded older generation of it. */
    lf_registry_update(reg, 11, 0, live, st_live.dev, st_live.ino);
    entry = lf_registry_update(reg, 12, 16, live, st_live.dev, st_live.ino);
    entry->base_id = live_id;
    entry->generation = 2;
    lf_registry_find(reg, 11)->base_id = live_id;
    lf_registry_find(reg, 11)->generation = 1;
    /* Renamed within its folder. */
    entry = lf_registry_update(reg, moved_id, 17, moved, st_moved.dev,
                               st_moved.ino);
    /* Removed from the disk but still in use. */
    lf_registry_update(reg, open_id, 16, open_path, st_open.dev,
                       st_open.ino);
    /* Removed, and an inode reused by other content. */
    lf_registry_update(reg, 21, 5, "/nonexistent/lf-test/gone.log", 1, 2);
    lf_registry_update(reg, 22, 5, live, st_live.dev, st_live.ino);
    /* Removed but updated recently. */
    entry = lf_registry_update(reg, 23, 5, "/nonexistent/lf-test/new.log", 1,
                               3);
    for (size_t i = 0; i < lf_registry_count(reg); i++) {
        lf_registry_entry_at(reg, i)->updated_s = now - 100;
    }
    entry->updated_s = now - 5;

    LF_CHECK_INT_EQ(lf_registry_prune(reg, now, 60, in_use_id, &open_id), 3);
    LF_CHECK_INT_EQ(lf_registry_count(reg), 4);
    LF_CHECK(lf_registry_find(reg, 11) == NULL);
    LF_CHECK(lf_registry_find(reg, 12) != NULL);
    LF_CHECK(lf_registry_find(reg, moved_id) != NULL);
    LF_CHECK(lf_registry_find(reg, open_id) != NULL);
    LF_CHECK(lf_registry_find(reg, 21) == NULL);
    LF_CHECK(lf_registry_find(reg, 22) == NULL);
    LF_CHECK(lf_registry_find(reg, 23) != NULL);
    LF_CHECK(lf_registry_dirty(reg));

    /* Once the recent one is old enough and nothing uses the open one. */
    LF_CHECK_INT_EQ(lf_registry_prune(reg, now + 100, 60, NULL, NULL), 2);
    LF_CHECK_INT_EQ(lf_registry_count(reg), 2);
    LF_CHECK(lf_registry_find(reg, 12) != NULL);
    LF_CHECK(lf_registry_find(reg, moved_id) != NULL);
    lf_registry_free(reg);
    unlink(live);
    unlink(moved_new);
    remove_scratch();
}

static void test_registry_cuts_saved_and_dropped(void)
{
    struct lf_registry *reg = NULL;
    struct lf_registry_entry *entry;
    struct lf_cut line_cut = {.offset = 40, .kinds = LF_CUT_LINE};
    struct lf_cut mark = {.offset = 90, .kinds = LF_CUT_SHIPPED << 1,
                          .start = 20};
    struct lf_cut behind = {.offset = 10, .kinds = LF_CUT_GROUP};
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    entry = lf_registry_update(reg, 7, 30, "logs/a.log", 1, 2);
    LF_CHECK(lf_registry_add_cut(reg, entry, &line_cut));
    LF_CHECK(!lf_registry_add_cut(reg, entry, &line_cut));
    LF_CHECK(lf_registry_add_cut(reg, entry, &mark));
    /* A cut at or before the saved offset is of no use. */
    LF_CHECK(!lf_registry_add_cut(reg, entry, &behind));
    LF_CHECK_INT_EQ(lf_registry_save(reg, err, sizeof(err)), 0);
    lf_registry_free(reg);

    reg = NULL;
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    entry = lf_registry_find(reg, 7);
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->cuts.count, 2);
        LF_CHECK_INT_EQ(entry->cuts.items[0].offset, 40);
        LF_CHECK_INT_EQ(entry->cuts.items[0].kinds, LF_CUT_LINE);
        LF_CHECK_INT_EQ(entry->cuts.items[1].offset, 90);
        LF_CHECK_INT_EQ(entry->cuts.items[1].kinds, LF_CUT_SHIPPED << 1);
        LF_CHECK_INT_EQ(entry->cuts.items[1].start, 20);
        lf_registry_commit(reg, entry, 40, "logs/a.log");
        LF_CHECK_INT_EQ(entry->cuts.count, 1);
        LF_CHECK_INT_EQ(entry->cuts.items[0].offset, 90);
        lf_registry_commit(reg, entry, 95, "logs/a.log");
        LF_CHECK_INT_EQ(entry->cuts.count, 0);
    }
    lf_registry_free(reg);
    remove_scratch();
}

static void test_registry_invalid_cut_skipped(void)
{
    struct lf_registry *reg = NULL;
    struct lf_registry_entry *entry;
    char dir[300];
    char err[512];

    make_scratch();
    snprintf(dir, sizeof(dir), "%s/data", scratch);
    LF_CHECK_INT_EQ(mkdir(dir, 0700), 0);
    write_file("registry.json",
               "{\"version\": 1, \"files\": [{\"id\": \"0000000000000007\", "
               "\"path\": \"a.log\", \"offset\": 30, \"dev\": 1, "
               "\"ino\": 2, \"updated\": 0, \"cuts\": [[50, 1, 0], "
               "[\"x\", 1, 0], [60, 0, 0], [20, 4, 0]]}]}");
    LF_CHECK_INT_EQ(lf_registry_open(dir, &reg, err, sizeof(err)), 0);
    entry = lf_registry_find(reg, 7);
    LF_CHECK(entry != NULL);
    if (entry != NULL) {
        LF_CHECK_INT_EQ(entry->cuts.count, 1);
        LF_CHECK_INT_EQ(entry->cuts.items[0].offset, 50);
    }
    lf_registry_free(reg);
    remove_scratch();
}

int main(void)
{
    LF_RUN(test_registry_roundtrip);
    LF_RUN(test_registry_falls_back_to_previous);
    LF_RUN(test_registry_corrupt_without_copy_fails);
    LF_RUN(test_registry_lock_excludes_second);
    LF_RUN(test_registry_generations_roundtrip);
    LF_RUN(test_registry_bad_generation_skipped);
    LF_RUN(test_registry_prune_gone_files);
    LF_RUN(test_registry_cuts_saved_and_dropped);
    LF_RUN(test_registry_invalid_cut_skipped);
    return lf_test_end();
}
