/*
 * The `logging` section apart from logging.level: line format, stderr
 * or a file rotated by size, and the rate limit of repeated messages.
 */
#include "agent/config/config_logging.h"
#include "agent/config/conf_private.h"
#include "lf/error.h"

#include <string.h>

/* Smallest logging.file.max_bytes, so that each rotated file has many lines. */
#define MIN_FILE_MAX_BYTES (64 * 1024)
#define MAX_FILE_KEEP 100
#define MAX_RATE_LIMIT_BURST 1000000

static int parse_format(const struct lf_conf_node *root,
                        struct lf_log_options *options, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc;

    rc = lf_conf_get_str(root, "logging.format", "text", &name, errbuf,
                         errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(name, "text") == 0) {
        options->format = LF_LOG_FORMAT_TEXT;
    } else if (strcmp(name, "json") == 0) {
        options->format = LF_LOG_FORMAT_JSON;
    } else {
        lf_conf_child(root, "logging.format", &node);
        return lf_conf_expect_error(&node, errbuf, errlen, "text or json");
    }
    return 0;
}

static int parse_file(const struct lf_conf_node *root,
                      struct lf_log_options *options, char *errbuf,
                      size_t errlen)
{
    struct lf_conf_node node;
    const char *to;
    long long max_bytes;
    long long keep;
    int rc;

    rc = lf_conf_get_str(root, "logging.to", "stderr", &to, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(to, "stderr") != 0 && strcmp(to, "file") != 0) {
        lf_conf_child(root, "logging.to", &node);
        return lf_conf_expect_error(&node, errbuf, errlen, "stderr or file");
    }
    rc = lf_conf_get_str(root, "logging.file.path", NULL,
                         &options->file_path, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(to, "file") == 0 &&
        (options->file_path == NULL || options->file_path[0] == '\0')) {
        lf_conf_child(root, "logging.to", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "file needs logging.file.path; set it to the "
                             "log file's path");
    }
    if (strcmp(to, "stderr") == 0 && options->file_path != NULL) {
        lf_conf_child(root, "logging.file.path", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "set while logging.to is stderr; add "
                             "logging.to: file");
    }

    rc = lf_conf_get_bytes(root, "logging.file.max_bytes",
                           LF_LOG_DEFAULT_FILE_MAX_BYTES, &max_bytes, errbuf,
                           errlen);
    if (rc != 0) {
        return rc;
    }
    if (max_bytes != 0 && max_bytes < MIN_FILE_MAX_BYTES) {
        lf_conf_child(root, "logging.file.max_bytes", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected 0 (never rotate) or at least 64KiB, "
                             "got %lld bytes", max_bytes);
    }
    options->file_max_bytes = (uint64_t)max_bytes;
    rc = lf_conf_get_int(root, "logging.file.keep", LF_LOG_DEFAULT_FILE_KEEP,
                         0, MAX_FILE_KEEP, &keep, errbuf, errlen);
    options->file_keep = (unsigned)keep;
    return rc;
}

static int parse_rate_limit(const struct lf_conf_node *root,
                            struct lf_log_options *options, char *errbuf,
                            size_t errlen)
{
    struct lf_conf_node node;
    long long burst;
    int rc;

    rc = lf_conf_get_int(root, "logging.rate_limit.burst",
                         LF_LOG_DEFAULT_RATE_LIMIT_BURST, 0,
                         MAX_RATE_LIMIT_BURST, &burst, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    options->rate_limit_burst = (unsigned)burst;
    rc = lf_conf_get_duration_ms(root, "logging.rate_limit.interval",
                                 LF_LOG_DEFAULT_RATE_LIMIT_INTERVAL_MS,
                                 &options->rate_limit_interval_ms, errbuf,
                                 errlen);
    if (rc == 0 && options->rate_limit_interval_ms == 0) {
        lf_conf_child(root, "logging.rate_limit.interval", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a duration of at least 1ms, got 0");
    }
    return rc;
}

int lf_config_parse_logging(const struct lf_conf_node *root,
                            struct lf_log_options *options, char *errbuf,
                            size_t errlen)
{
    int rc;

    lf_log_options_init(options);
    rc = parse_format(root, options, errbuf, errlen);
    if (rc == 0) {
        rc = parse_file(root, options, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_rate_limit(root, options, errbuf, errlen);
    }
    return rc;
}
