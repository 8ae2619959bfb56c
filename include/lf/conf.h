/*
 * A loaded YAML configuration document and typed, validating accessors.
 *
 * The loader expands dotted keys into nested maps (`path.data: x` and
 * `path: {data: x}` are the same document), substitutes `${VAR}` and
 * `${VAR:-default}` in scalar values, and records the line of every node.
 * Every scalar is stored as a string; the typed getters convert it, so
 * YAML 1.1 surprises (`no` becoming false) cannot happen silently.
 *
 * Error messages have the form "FILE:LINE: KEY.PATH: what is wrong, what is
 * expected" and are written to the caller's errbuf; LINE is the line of
 * the key. An empty file is an empty map. Anchors, aliases, custom tags,
 * non-scalar keys and several documents in one file are rejected. Limits:
 * 16 MiB per file, 64 levels of nesting.
 */
#ifndef LF_LF_CONF_H
#define LF_LF_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define LF_CONF_PATH_MAX 256

struct lf_conf;

/* A view of one node of a document, with its key path for messages. */
struct lf_conf_node {
    const struct lf_conf *conf;
    json_t *json; /* borrowed from the document; NULL when missing */
    char path[LF_CONF_PATH_MAX]; /* "inputs[0].parsers[1].regex" */
};

enum lf_conf_kind {
    LF_CONF_MISSING,
    LF_CONF_NULL,
    LF_CONF_SCALAR,
    LF_CONF_MAP,
    LF_CONF_LIST,
};

/*
 * Loads and parses the file at `path`. On success stores a document the
 * caller frees with lf_conf_free(). Returns LF_ENOENT, LF_EACCES or
 * LF_ECONFIG (syntax error, duplicate key, unset variable) with errbuf set.
 */
int lf_conf_load_file(const char *path, struct lf_conf **out, char *errbuf,
                      size_t errlen);

/* As lf_conf_load_file() for text in memory; `name` is used in messages. */
int lf_conf_load_string(const char *text, size_t len, const char *name,
                        struct lf_conf **out, char *errbuf, size_t errlen);

void lf_conf_free(struct lf_conf *conf);

/* Returns the file name the document was loaded from. */
const char *lf_conf_name(const struct lf_conf *conf);

/* A file that a `${file:/path}` reference of the document was read from. */
struct lf_conf_secret_file {
    const char *path; /* as written after "file:" */
    const char *key;  /* key path of the value that contains the reference */
    unsigned mode;    /* permission bits of the file when it was read */
};

/*
 * Fills `out` with the secret file read `index`-th, in document order,
 * borrowed from the document. Returns false when `index` is past the end.
 */
bool lf_conf_secret_file_at(const struct lf_conf *conf, size_t index,
                            struct lf_conf_secret_file *out);

void lf_conf_root(const struct lf_conf *conf, struct lf_conf_node *out);

enum lf_conf_kind lf_conf_kind(const struct lf_conf_node *node);

/* Returns the 1-based line of the node, or 0 when it is missing. */
int lf_conf_line(const struct lf_conf_node *node);

/* Returns true for a scalar written without quotes (may be typed). */
bool lf_conf_is_plain(const struct lf_conf_node *node);

/*
 * Looks up `key` in a map node; a dotted key ("output.elasticsearch")
 * descends one map per part. Returns 0, or LF_ENOENT with out->json NULL
 * when the key is absent or `map` is missing.
 */
int lf_conf_child(const struct lf_conf_node *map, const char *key,
                  struct lf_conf_node *out);

/* Returns the number of entries of a list or map node, 0 for others. */
size_t lf_conf_size(const struct lf_conf_node *node);

/* Stores entry `index` of a list. Returns 0 or LF_ENOENT. */
int lf_conf_at(const struct lf_conf_node *list, size_t index,
               struct lf_conf_node *out);

/* Stores entry `index` of a map, in file order, and its key. */
int lf_conf_entry(const struct lf_conf_node *map, size_t index,
                  const char **key_out, struct lf_conf_node *out);

/*
 * Typed getters on a map's key. A missing key (or null value) stores the
 * default and returns 0. A value of the wrong type returns LF_ECONFIG with
 * a message naming the key, its line and what is expected.
 */
int lf_conf_get_str(const struct lf_conf_node *map, const char *key,
                    const char *def, const char **out, char *errbuf,
                    size_t errlen);
int lf_conf_get_int(const struct lf_conf_node *map, const char *key,
                    long long def, long long min, long long max,
                    long long *out, char *errbuf, size_t errlen);
int lf_conf_get_bool(const struct lf_conf_node *map, const char *key,
                     bool def, bool *out, char *errbuf, size_t errlen);

/* Durations: "250ms", "5s", "2m", "1h"; a bare number means seconds. */
int lf_conf_get_duration_ms(const struct lf_conf_node *map, const char *key,
                            long long def_ms, long long *out_ms,
                            char *errbuf, size_t errlen);

/* Sizes: "512", "64KiB", "10MiB", "1GiB" (also KB/MB/GB as 1000-based). */
int lf_conf_get_bytes(const struct lf_conf_node *map, const char *key,
                      long long def, long long *out, char *errbuf,
                      size_t errlen);

/* Stores the text of a scalar node; LF_ECONFIG when it is not a scalar. */
int lf_conf_scalar(const struct lf_conf_node *node, const char **out,
                   char *errbuf, size_t errlen);

/*
 * Checks that a map (or a missing node) has no key outside `allowed`. A
 * dotted allowed entry ("backoff.init") allows that nested key and checks
 * the inner map too. An unknown key returns LF_ECONFIG naming it, its
 * line, the closest valid key and the valid keys. A node that is not a
 * map also returns LF_ECONFIG.
 */
int lf_conf_check_keys(const struct lf_conf_node *map,
                       const char *const *allowed, size_t allowed_count,
                       char *errbuf, size_t errlen);

/*
 * Formats "FILE:LINE: PATH: message" into errbuf and returns LF_ECONFIG,
 * so a caller can write `return lf_conf_error(node, ...)`.
 */
int lf_conf_error(const struct lf_conf_node *node, char *errbuf,
                  size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
