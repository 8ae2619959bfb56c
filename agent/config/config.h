/*
 * The agent's typed configuration, built from a YAML document. Loading
 * validates everything a run needs, so `logferry test config` and a real
 * start report the same errors.
 */
#ifndef LF_AGENT_CONFIG_CONFIG_H
#define LF_AGENT_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/config/config_http.h"
#include "agent/input/container.h"
#include "agent/input/encoding.h"
#include "agent/queue/queue.h"
#include "lf/conf.h"
#include "lf/event.h"
#include "lf/log.h"
#include "lf/parser.h"
#include "outputs/cloudwatch/cw_config.h"
#include "outputs/elasticsearch/es_config.h"

/* Defaults, also stated in docs/configuration.md. */
#define LF_CONFIG_DEFAULT_DATA_PATH "./data"
#define LF_CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS 25000
#define LF_CONFIG_DEFAULT_REGISTRY_FLUSH_MS 1000
#define LF_CONFIG_DEFAULT_REGISTRY_CLEAN_REMOVED_MS (60 * 60 * 1000)
#define LF_CONFIG_DEFAULT_MAX_LINE_BYTES (1024 * 1024)
#define LF_CONFIG_DEFAULT_SCAN_FREQUENCY_MS 10000
#define LF_CONFIG_DEFAULT_PARTIAL_LINE_TIMEOUT_MS 5000
#define LF_CONFIG_DEFAULT_STAT_POLL_INTERVAL_MS 1000
#define LF_CONFIG_DEFAULT_STAT_POLL_MAX_INTERVAL_MS 10000
#define LF_CONFIG_DEFAULT_RECURSIVE_GLOB_MAX_DEPTH 8
#define LF_CONFIG_DEFAULT_CLOSE_INACTIVE_MS (5 * 60 * 1000)
#define LF_CONFIG_DEFAULT_CLOSE_REMOVED_AFTER_MS (5 * 60 * 1000)

struct lf_path_filter; /* compiled `exclude_files` patterns */
struct lf_processors; /* agent/processors/processors.h */
struct lf_line_filter; /* agent/input/line_filter.h */
struct lf_multiline_rule; /* agent/input/multiline.h */
struct lf_log_metrics; /* agent/metrics/log_metrics.h */

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
    /* Owned; run after the parsers and before the global processors. */
    struct lf_processors *processors;
    struct lf_path_filter *exclude;  /* owned; NULL when none */
    long long scan_frequency_ms;     /* rescan of the globs, at least */
    /* An unterminated last line unchanged this long is shipped; 0: never. */
    long long partial_line_timeout_ms;
    enum lf_encoding encoding; /* of the file; events are UTF-8 */
    enum lf_container_format format; /* container log lines to decode */
    struct lf_multiline_rule *multiline; /* owned; NULL when off */
    struct lf_line_filter *line_filter;  /* owned; NULL when none */
    /* Stat polling of paths inotify cannot watch: first and max interval. */
    long long stat_poll_interval_ms;
    long long stat_poll_max_interval_ms;
    int recursive_glob_max_depth; /* max folders that one `**` matches */
    long long ignore_older_ms;    /* skip files older than this; 0: off */
    size_t harvester_limit;       /* max open files; 0: no limit */
    bool start_at_end;            /* start_position: end */
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
    struct lf_log_options logging; /* the rest of `logging` */
    /*
     * Owned; one warning per line when the file, or a ${file:...} file it
     * reads, contains secrets that other users can read.
     */
    char *secrets_warning;
    struct lf_input_config *inputs;
    size_t input_count;
    struct lf_processors *processors; /* owned; top-level `processors` */
    bool use_elasticsearch;    /* output.elasticsearch is configured */
    struct lf_log_metrics *metrics; /* owned; `metrics` rules, NULL: none */
    struct lf_es_config es;    /* output.elasticsearch */
    struct lf_queue_options queue; /* `queue`; disk_path NULL: no spool */
    bool use_cloudwatch;       /* output.cloudwatch is configured */
    struct lf_cw_config cw;    /* output.cloudwatch */
    struct lf_http_options http;   /* `http`: metrics and health endpoint */
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
