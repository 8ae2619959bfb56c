/*
 * Globs with `**`: a `**` path component matches zero or more folders, up
 * to a depth limit. Filebeat's filestream input expands the rightmost `**`
 * of a path to 8 levels (prospector.scanner.recursive_glob in elastic/beats
 * filebeat/docs/inputs/input-filestream-file-options.asciidoc), and here
 * every `**` is expanded. Every other component is matched with fnmatch(3)
 * and FNM_PERIOD, so a leading dot must be matched explicitly, as in
 * glob(3). Folders that `**` steps over must not start with a dot either.
 */
#ifndef LF_AGENT_INPUT_GLOBSTAR_H
#define LF_AGENT_INPUT_GLOBSTAR_H

#include <stdbool.h>

/* Returns true when `pattern` has a `**` component. */
bool lf_globstar_has(const char *pattern);

/*
 * Returns true when `path` matches `pattern`, with each `**` matching at
 * most `max_depth` folders. Empty and "." components ("a//./b") are
 * ignored in both.
 */
bool lf_globstar_match(const char *pattern, const char *path, int max_depth);

/*
 * Returns true when files below the folder `dir` can match `pattern`, so
 * a walk must enter it (and watch it).
 */
bool lf_globstar_may_contain(const char *pattern, const char *dir,
                             int max_depth);

typedef void (*lf_globstar_dir_cb)(void *arg, const char *dir);
typedef void (*lf_globstar_match_cb)(void *arg, const char *path);

/*
 * Walks the folders that `pattern` can reach, from its last folder before
 * the first wildcard. Calls `on_dir` for each folder entered (the start
 * included) and `on_match` for every entry that is not a folder and
 * matches. Symbolic links are followed, and the depth limit also ends
 * link loops. Returns 0, or the negative errno code of the first folder that
 * exists but could not be read (the matches are then incomplete).
 */
int lf_globstar_expand(const char *pattern, int max_depth,
                       lf_globstar_dir_cb on_dir,
                       lf_globstar_match_cb on_match, void *arg);

#endif
