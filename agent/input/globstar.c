/*
 * `**` globs, matched component by component. glob(3) has no `**`, so
 * patterns that use it are expanded by walking the folders from the
 * pattern's fixed prefix, entering only folders that can still lead to a
 * match.
 */
#include "agent/input/globstar.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <dirent.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>

/* Path components beyond this many never match. */
#define MAX_COMPONENTS 256

struct components {
    char *copy; /* owned; every component is NUL-terminated inside it */
    const char *part[MAX_COMPONENTS];
    int count;
    bool absolute;
};

static bool split(const char *path, struct components *out)
{
    char *p;

    out->copy = lf_strdup(path);
    out->count = 0;
    out->absolute = path[0] == '/';
    p = out->copy;
    while (*p != '\0') {
        char *end = strchr(p, '/');

        if (end != NULL) {
            *end = '\0';
        }
        if (*p != '\0' && strcmp(p, ".") != 0) {
            if (out->count == MAX_COMPONENTS) {
                return false;
            }
            out->part[out->count++] = p;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return true;
}

static bool is_globstar(const char *part)
{
    return strcmp(part, "**") == 0;
}

/*
 * Matches path components from `si` against pattern components from `pi`.
 * With `prefix`, the path is a folder, and the result is whether the
 * pattern can match below it.
 */
static bool match_from(const struct components *pattern, int pi,
                       const struct components *path, int si, int max_depth,
                       bool prefix)
{
    if (si == path->count) {
        if (prefix) {
            return pi < pattern->count;
        }
        for (; pi < pattern->count; pi++) {
            if (!is_globstar(pattern->part[pi])) {
                return false;
            }
        }
        return true;
    }
    if (pi == pattern->count) {
        return false;
    }
    if (is_globstar(pattern->part[pi])) {
        for (int k = 0; k <= max_depth && si + k <= path->count; k++) {
            if (k > 0 && path->part[si + k - 1][0] == '.') {
                break;
            }
            if (match_from(pattern, pi + 1, path, si + k, max_depth,
                           prefix)) {
                return true;
            }
        }
        return false;
    }
    if (fnmatch(pattern->part[pi], path->part[si], FNM_PERIOD) != 0) {
        return false;
    }
    return match_from(pattern, pi + 1, path, si + 1, max_depth, prefix);
}

static bool match(const char *pattern, const char *path, int max_depth,
                  bool prefix)
{
    struct components p;
    struct components s;
    bool matched = false;

    if (split(pattern, &p) && split(path, &s) && p.absolute == s.absolute) {
        matched = match_from(&p, 0, &s, 0, max_depth, prefix);
    }
    lf_free(p.copy);
    lf_free(s.copy);
    return matched;
}

bool lf_globstar_has(const char *pattern)
{
    const char *p = pattern;

    while ((p = strstr(p, "**")) != NULL) {
        bool starts = p == pattern || p[-1] == '/';
        bool ends = p[2] == '\0' || p[2] == '/';

        if (starts && ends) {
            return true;
        }
        p += 2;
    }
    return false;
}

bool lf_globstar_match(const char *pattern, const char *path, int max_depth)
{
    return match(pattern, path, max_depth, false);
}

bool lf_globstar_may_contain(const char *pattern, const char *dir,
                             int max_depth)
{
    return match(pattern, dir, max_depth, true);
}

struct walk {
    const char *pattern;
    int max_depth;
    lf_globstar_dir_cb on_dir;
    lf_globstar_match_cb on_match;
    void *arg;
    struct lf_buf path;
    int error;
};

static void walk_dir(struct walk *walk)
{
    size_t len = walk->path.len;
    struct dirent *de;
    DIR *dir = opendir(walk->path.data);

    if (dir == NULL) {
        if (errno != ENOENT && errno != ENOTDIR && walk->error == 0) {
            walk->error = -errno;
        }
        return;
    }
    walk->on_dir(walk->arg, walk->path.data);
    while ((de = readdir(dir)) != NULL) {
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        walk->path.len = len;
        if (len > 0 && walk->path.data[len - 1] != '/') {
            lf_buf_append_char(&walk->path, '/');
        }
        lf_buf_append_str(&walk->path, de->d_name);
        if (stat(walk->path.data, &st) != 0) {
            continue; /* removed meanwhile, or a dangling link */
        }
        if (S_ISDIR(st.st_mode)) {
            if (lf_globstar_may_contain(walk->pattern, walk->path.data,
                                        walk->max_depth)) {
                walk_dir(walk);
            }
        } else if (lf_globstar_match(walk->pattern, walk->path.data,
                                     walk->max_depth)) {
            walk->on_match(walk->arg, walk->path.data);
        }
    }
    closedir(dir);
    walk->path.len = len;
    walk->path.data[len] = '\0';
}

int lf_globstar_expand(const char *pattern, int max_depth,
                       lf_globstar_dir_cb on_dir,
                       lf_globstar_match_cb on_match, void *arg)
{
    struct walk walk = {
        .pattern = pattern,
        .max_depth = max_depth,
        .on_dir = on_dir,
        .on_match = on_match,
        .arg = arg,
    };
    size_t fixed = strcspn(pattern, "*?[");

    /* Start at the last '/' before the first wildcard. */
    while (fixed > 0 && pattern[fixed - 1] != '/') {
        fixed--;
    }
    lf_buf_init(&walk.path);
    if (fixed == 0) {
        lf_buf_append_char(&walk.path, '.');
    } else {
        lf_buf_append(&walk.path, pattern, fixed > 1 ? fixed - 1 : 1);
    }
    walk_dir(&walk);
    lf_buf_cleanup(&walk.path);
    return walk.error;
}
