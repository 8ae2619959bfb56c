/*
 * `**` globs: the matcher (zero or more folders up to the depth limit,
 * hidden folders, fnmatch components), the folder pruning test and the
 * walk over a real folder tree. Also the file system types that inotify
 * cannot be trusted on.
 */
#include "agent/input/globstar.h"
#include "agent/input/watcher.h"
#include "lf/buf.h"
#include "lf/mem.h"
#include "lf_test.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct match_case {
    const char *pattern;
    const char *path;
    int max_depth;
    bool expected;
};

static const struct match_case match_cases[] = {
    {"/logs/**/app.log", "/logs/app.log", 8, true},
    {"/logs/**/app.log", "/logs/a/app.log", 8, true},
    {"/logs/**/app.log", "/logs/a/b/c/app.log", 8, true},
    {"/logs/**/app.log", "/logs/a/b/c/app.log", 3, true},
    {"/logs/**/app.log", "/logs/a/b/c/d/app.log", 3, false},
    {"/logs/**/app.log", "/logs/a/app.log.1", 8, false},
    {"/logs/**/app.log", "/other/a/app.log", 8, false},
    {"/logs/**/*.log", "/logs/a/b/x.log", 8, true},
    {"/logs/**/*.log", "/logs/a/b/.x.log", 8, false},
    {"/logs/**/*.log", "/logs/.hidden/x.log", 8, false},
    {"/logs/.hidden/**/*.log", "/logs/.hidden/a/x.log", 8, true},
    {"/logs/**", "/logs/a/b", 8, true},
    {"/logs/**", "/logs", 8, true},
    {"/logs/*/**/app.log", "/logs/app.log", 8, false},
    {"/logs/*/**/app.log", "/logs/a/app.log", 8, true},
    {"/logs/**/x/**/y.log", "/logs/x/y.log", 8, true},
    {"/logs/**/x/**/y.log", "/logs/a/x/b/c/y.log", 8, true},
    {"/logs/**/x/**/y.log", "/logs/a/b/c/y.log", 8, false},
    {"/logs/[ab]?/**/app.log", "/logs/b1/c/app.log", 8, true},
    {"/logs/[ab]?/**/app.log", "/logs/c1/c/app.log", 8, false},
    {"/logs//./**/app.log", "/logs/a//app.log", 8, true},
    {"logs/**/app.log", "/logs/a/app.log", 8, false},
};

static void test_globstar_match_table(void)
{
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]);
         i++) {
        const struct match_case *c = &match_cases[i];
        bool matched = lf_globstar_match(c->pattern, c->path, c->max_depth);

        if (matched != c->expected) {
            LF_FAIL_AT("lf_globstar_match(\"%s\", \"%s\", %d) == %d, "
                       "expected %d", c->pattern, c->path, c->max_depth,
                       matched, c->expected);
        }
    }
}

static void test_globstar_may_contain(void)
{
    LF_CHECK(lf_globstar_may_contain("/logs/**/app.log", "/logs", 8));
    LF_CHECK(lf_globstar_may_contain("/logs/**/app.log", "/logs/a/b", 8));
    LF_CHECK(lf_globstar_may_contain("/logs/**/app.log", "/logs/a/b", 2));
    LF_CHECK(!lf_globstar_may_contain("/logs/**/app.log", "/logs/a/b/c", 2));
    LF_CHECK(!lf_globstar_may_contain("/logs/**/app.log", "/other", 8));
    LF_CHECK(!lf_globstar_may_contain("/logs/**/app.log", "/logs/.git", 8));
    LF_CHECK(lf_globstar_may_contain("/logs/*/x/**/a.log", "/logs/q", 8));
    LF_CHECK(!lf_globstar_may_contain("/logs/*/x/**/a.log", "/logs/q/y",
                                      8));
    LF_CHECK(!lf_globstar_may_contain("/logs/*.log", "/logs/a", 8));
}

static void test_globstar_has(void)
{
    LF_CHECK(lf_globstar_has("/logs/**/app.log"));
    LF_CHECK(lf_globstar_has("/logs/**"));
    LF_CHECK(lf_globstar_has("**/app.log"));
    LF_CHECK(!lf_globstar_has("/logs/a**/app.log"));
    LF_CHECK(!lf_globstar_has("/logs/**b/app.log"));
    LF_CHECK(!lf_globstar_has("/logs/*/app.log"));
}

struct collected {
    struct lf_buf dirs;
    struct lf_buf matches;
    size_t dir_count;
    size_t match_count;
};

static void collect_dir(void *arg, const char *dir)
{
    struct collected *c = arg;

    c->dir_count++;
    lf_buf_appendf(&c->dirs, "%s\n", dir);
}

static void collect_match(void *arg, const char *path)
{
    struct collected *c = arg;

    c->match_count++;
    lf_buf_appendf(&c->matches, "%s\n", path);
}

static void make_file(const char *root, const char *relative)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", root, relative);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    LF_CHECK(fd >= 0);
    if (fd >= 0) {
        close(fd);
    }
}

static void make_dir(const char *root, const char *relative)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", root, relative);
    LF_CHECK_INT_EQ(mkdir(path, 0755), 0);
}

static bool contains_line(const struct lf_buf *buf, const char *root,
                          const char *relative)
{
    char line[512];

    snprintf(line, sizeof(line), "%s%s%s\n", root, relative[0] ? "/" : "",
             relative);
    return buf->data != NULL && strstr(buf->data, line) != NULL;
}

static void test_globstar_expand_tree(void)
{
    char root[] = "/tmp/lf-test-globstar-XXXXXX";
    char pattern[256];
    struct collected c = {0};
    int rc;

    LF_CHECK(mkdtemp(root) != NULL);
    make_dir(root, "a");
    make_dir(root, "a/b");
    make_dir(root, "a/b/c");
    make_dir(root, ".hidden");
    make_file(root, "top.log");
    make_file(root, "a/one.log");
    make_file(root, "a/b/c/deep.log");
    make_file(root, "a/b/skip.txt");
    make_file(root, ".hidden/secret.log");
    {
        char link[512];

        /* A link back up: the depth limit ends the loop. */
        snprintf(link, sizeof(link), "%s/a/b/up", root);
        LF_CHECK_INT_EQ(symlink("..", link), 0);
    }

    lf_buf_init(&c.dirs);
    lf_buf_init(&c.matches);
    snprintf(pattern, sizeof(pattern), "%s/**/*.log", root);
    rc = lf_globstar_expand(pattern, 2, collect_dir, collect_match, &c);
    LF_CHECK_INT_EQ(rc, 0);

    /* Depth 2 enters a and a/b, but not a/b/c or a/b/up. */
    LF_CHECK(contains_line(&c.matches, root, "top.log"));
    LF_CHECK(contains_line(&c.matches, root, "a/one.log"));
    LF_CHECK(!contains_line(&c.matches, root, "a/b/c/deep.log"));
    LF_CHECK(!contains_line(&c.matches, root, ".hidden/secret.log"));
    LF_CHECK_INT_EQ(c.match_count, 2);
    LF_CHECK(contains_line(&c.dirs, root, ""));
    LF_CHECK(contains_line(&c.dirs, root, "a"));
    LF_CHECK(contains_line(&c.dirs, root, "a/b"));
    LF_CHECK_INT_EQ(c.dir_count, 3);

    /*
     * Depth 8 follows the link a/b/up (which is a) three times: one.log
     * at depths 1, 3, 5 and 7, deep.log at 3, 5 and 7, then the limit
     * stops the loop.
     */
    lf_buf_reset(&c.matches);
    c.match_count = 0;
    rc = lf_globstar_expand(pattern, 8, collect_dir, collect_match, &c);
    LF_CHECK_INT_EQ(rc, 0);
    LF_CHECK(contains_line(&c.matches, root, "a/b/c/deep.log"));
    LF_CHECK(contains_line(&c.matches, root, "a/b/up/b/up/b/up/one.log"));
    LF_CHECK(contains_line(&c.matches, root, "a/b/up/b/up/b/c/deep.log"));
    LF_CHECK_INT_EQ(c.match_count, 8);

    lf_buf_cleanup(&c.dirs);
    lf_buf_cleanup(&c.matches);
    {
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        LF_CHECK_INT_EQ(system(cmd), 0);
    }
}

static void test_watcher_fs_without_events(void)
{
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events(NFS_SUPER_MAGIC), "nfs");
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events((long)CIFS_SUPER_MAGIC),
                    "cifs");
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events((long)(int)CIFS_SUPER_MAGIC),
                    "cifs");
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events(FUSE_SUPER_MAGIC), "fuse");
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events(OVERLAYFS_SUPER_MAGIC),
                    "overlay");
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events(EXT4_SUPER_MAGIC), NULL);
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events(TMPFS_MAGIC), NULL);
    LF_CHECK_STR_EQ(lf_watcher_fs_without_events(XFS_SUPER_MAGIC), NULL);
}

int main(void)
{
    LF_RUN(test_globstar_match_table);
    LF_RUN(test_globstar_may_contain);
    LF_RUN(test_globstar_has);
    LF_RUN(test_globstar_expand_tree);
    LF_RUN(test_watcher_fs_without_events);
    return lf_test_end();
}
