/*
 * Registry persistence: save and reload, the previous copy as fallback,
 * corrupt files reported instead of silently reset, and the folder lock.
 */
#include "agent/registry/registry.h"
#include "lf/error.h"
#include "lf_test.h"

#include <fcntl.h>
#include <stdlib.h>
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
    LF_RUN(test_registry_cuts_saved_and_dropped);
    LF_RUN(test_registry_invalid_cut_skipped);
    return lf_test_end();
}
