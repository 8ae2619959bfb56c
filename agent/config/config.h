/*
 * The agent's typed configuration, built from a YAML document. Loading
 * validates everything a run needs, so `logferry test config` and a real
 * start report the same errors.
 */
#ifndef LF_AGENT_CONFIG_CONFIG_H
#define LF_AGENT_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/conf.h"
#include "lf/event.h"
#include "lf/log.h"
#include "lf/parser.h"
#include "outputs/elasticsearch/es_config.h"

/* Defaults, also stated in docs/configuration.md. */
#define LF_CONFIG_DEFAULT_DATA_PATH "./data"
#define LF_CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS 25000
#define LF_CONFIG_DEFAULT_REGISTRY_FLUSH_MS 1000
#define LF_CONFIG_DEFAULT_REGISTRY_CLEAN_REMOVED_MS (60 * 60 * 1000)
#define LF_CONFIG_DEFAULT_MAX_LINE_BYTES (1024 * 1024)
#define LF_CONFIG_DEFAULT_SCAN_FREQUENCY_MS 10000
#define LF_CONFIG_DEFAULT_CLOSE_INACTIVE_MS (5 * 60 * 1000)
#define LF_CONFIG_DEFAULT_CLOSE_REMOVED_AFTER_MS (5 * 60 * 1000)

struct lf_path_filter; /* compiled `exclude_files` patterns */

enum lf_compression {
    LF_COMPRESSION_AUTO, /* files named *.gz are decompressed */
    LF_COMPRESSION_NONE, /* every file is read as it is */
};

struct lf_input_config {
    const char *id;            /* unique among inputs */
    const char **paths;        /* globs, `path_count` of them */
    size_t path_count;
    struct lf_field *fields;   /* the `fields` map flattened to dotted keys */
    size_t field_count;
    bool preserve_original_event; /* also send the line as event.original */
    size_t max_line_bytes;     /* longer lines are cut and flagged */
    struct lf_parser_chain *parsers; /* owned; applied to every line */
    struct lf_path_filter *exclude;  /* owned; NULL when none */
    long long scan_frequency_ms;     /* rescan of the globs, at least */
    long long close_inactive_ms;     /* release a file unwritten this long */
    long long close_removed_after_ms; /* max time a removed file stays open */
    long long close_timeout_ms;      /* max time a file stays open; 0: off */
    enum lf_compression compression;
};

/* Returns true when `path` matches one of the input's exclude_files. */
bool lf_input_excludes(const struct lf_input_config *input, const char *path);

struct lf_config {
    struct lf_conf *doc;       /* owns every string below */
    const char *data_path;     /* registry folder */
    long long shutdown_timeout_ms;  /* wait for acknowledgements on stop */
    long long registry_flush_ms;    /* how often acknowledged offsets are saved */
    /* Age after which entries of gone files are removed; 0: never. */
    long long registry_clean_removed_ms;
    enum lf_log_level log_level;
    struct lf_input_config *inputs;
    size_t input_count;
    struct lf_es_config es;    /* output.elasticsearch */
};

/*
 * Loads and validates the file at `path`. Returns 0 and fills `config`, or
 * a negative LF_E* code with a message in errbuf that names the file, line
 * and key path and the expected value.
 */
int lf_config_load(const char *path, struct lf_config *config, char *errbuf,
                   size_t errlen);

/* Frees everything lf_config_load() allocated; accepts a zeroed config. */
void lf_config_cleanup(struct lf_config *config);

#endif
