/*
 * Builds the agent's typed configuration from the YAML document. Every key
 * a run needs is validated here, so `logferry test config` and a real start
 * report the same errors. Parser chains and Elasticsearch settings are read
 * by their own modules from the nodes handed to them.
 */
#include "agent/config/config.h"
#include "agent/config/config_http.h"
#include "agent/config/config_logging.h"
#include "agent/config/config_queue.h"
#include "agent/config/config_secrets.h"
#include "agent/config/conf_private.h"
#include "agent/config/input_discovery.h"
#include "agent/input/line_filter.h"
#include "agent/input/multiline.h"
#include "agent/metrics/log_metrics.h"
#include "agent/processors/processors.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Smallest accepted `max_line_bytes`. */
#define CONFIG_MIN_MAX_LINE_BYTES 1024

/*
 * Largest accepted `max_line_bytes`: a line that spans reads is held in
 * memory up to this size, and Elasticsearch's default
 * http.max_content_length (100mb) must still take the document.
 */
#define CONFIG_MAX_MAX_LINE_BYTES (64 * 1024 * 1024)

static const char *const root_keys[] = {
    "path.data",
    "inputs",
    "output.elasticsearch",
    "shutdown.timeout",
    "registry.flush",
    "registry.clean_removed",
    "logging.level",
    "logging.format",
    "logging.to",
    "logging.file.path",
    "logging.file.max_bytes",
    "logging.file.keep",
    "logging.rate_limit.burst",
    "logging.rate_limit.interval",
    "processors",
    "queue",
    "output.cloudwatch",
    "http",
    "metrics",
};

static const char *const input_keys[] = {
    "id",      "paths",          "fields",        "preserve_original_event",
    "parsers", "max_line_bytes", "exclude_files", "scan_frequency",
    "partial_line_timeout", "multiline", "include_lines", "exclude_lines",
    "encoding", "format", "close", "compression", "processors",
};

/* Smallest accepted `scan_frequency`: rescans cost a glob per pattern. */
#define CONFIG_MIN_SCAN_FREQUENCY_MS 100

struct lf_path_filter {
    pcre2_code **patterns;
    pcre2_match_data *match; /* sized for the largest pattern */
    size_t count;
};

static void filter_free(struct lf_path_filter *filter)
{
    if (filter == NULL) {
        return;
    }
    for (size_t i = 0; i < filter->count; i++) {
        pcre2_code_free(filter->patterns[i]);
    }
    pcre2_match_data_free(filter->match);
    lf_free(filter->patterns);
    lf_free(filter);
}

bool lf_input_excludes(const struct lf_input_config *input, const char *path)
{
    const struct lf_path_filter *filter = input->exclude;

    for (size_t i = 0; filter != NULL && i < filter->count; i++) {
        if (pcre2_match(filter->patterns[i], (PCRE2_SPTR)path,
                        PCRE2_ZERO_TERMINATED, 0, 0, filter->match,
                        NULL) >= 0) {
            return true;
        }
    }
    return false;
}

static int compile_exclude(const struct lf_conf_node *node,
                           struct lf_path_filter *filter, char *errbuf,
                           size_t errlen)
{
    PCRE2_UCHAR message[256];
    PCRE2_SIZE error_offset;
    const char *text;
    int error;
    pcre2_code *code;
    int rc = lf_conf_scalar(node, &text, errbuf, errlen);

    if (rc != 0) {
        return lf_conf_expect_error(node, errbuf, errlen,
                                    "a regular expression string");
    }
    code = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &error,
                         &error_offset, NULL);
    if (code == NULL) {
        pcre2_get_error_message(error, message, sizeof(message));
        return lf_conf_error(node, errbuf, errlen,
                             "invalid regular expression at offset %zu: %s",
                             (size_t)error_offset, (const char *)message);
    }
    filter->patterns[filter->count++] = code;
    return 0;
}

/* Compiles `exclude_files`, a list of regexes matched against paths. */
static int parse_exclude(const struct lf_conf_node *input_node,
                         struct lf_input_config *input, char *errbuf,
                         size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node item;
    struct lf_path_filter *filter;
    size_t count;
    int rc = 0;

    if (lf_conf_child(input_node, "exclude_files", &list) != 0 ||
        lf_conf_kind(&list) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&list) != LF_CONF_LIST) {
        return lf_conf_expect_error(&list, errbuf, errlen,
                                    "a list of regular expressions");
    }
    count = lf_conf_size(&list);
    filter = lf_calloc(1, sizeof(*filter));
    filter->patterns = lf_calloc(count + 1, sizeof(*filter->patterns));
    for (size_t i = 0; rc == 0 && i < count; i++) {
        lf_conf_at(&list, i, &item);
        rc = compile_exclude(&item, filter, errbuf, errlen);
    }
    if (rc != 0 || count == 0) {
        filter_free(filter);
        return rc;
    }
    /* One match data block fits every pattern: only the result is used. */
    filter->match = pcre2_match_data_create(1, NULL);
    input->exclude = filter;
    return 0;
}

static int parse_scan_frequency(const struct lf_conf_node *input_node,
                                struct lf_input_config *input, char *errbuf,
                                size_t errlen)
{
    struct lf_conf_node node;
    int rc = lf_conf_get_duration_ms(input_node, "scan_frequency",
                                     LF_CONFIG_DEFAULT_SCAN_FREQUENCY_MS,
                                     &input->scan_frequency_ms, errbuf,
                                     errlen);

    if (rc == 0 && input->scan_frequency_ms < CONFIG_MIN_SCAN_FREQUENCY_MS) {
        lf_conf_child(input_node, "scan_frequency", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected at least 100ms, got %lld ms",
                             input->scan_frequency_ms);
    }
    return rc;
}

/* Growable array behind lf_input_config.fields. */
struct field_list {
    struct lf_input_config *input;
    size_t cap;
};

/*
 * Frees a string that the configuration allocated but exposes as const.
 * The integer round trip drops the qualifier without a cast warning.
 */
static void free_owned(const char *s)
{
    lf_free((void *)(uintptr_t)s);
}

/* ---- top-level settings ---- */

static int parse_data_path(const struct lf_conf_node *root,
                           struct lf_config *config, char *errbuf,
                           size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    rc = lf_conf_get_str(root, "path.data", LF_CONFIG_DEFAULT_DATA_PATH,
                         &config->data_path, errbuf, errlen);
    if (rc == 0 && config->data_path[0] == '\0') {
        lf_conf_child(root, "path.data", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a directory path, got an empty "
                             "string");
    }
    return rc;
}

static int parse_log_level(const struct lf_conf_node *root,
                           struct lf_config *config, char *errbuf,
                           size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc;

    rc = lf_conf_get_str(root, "logging.level", "info", &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (lf_log_level_parse(name, &config->log_level) != 0) {
        lf_conf_child(root, "logging.level", &node);
        return lf_conf_expect_error(&node, errbuf, errlen,
                                    "one of error, warn, info, debug or "
                                    "trace");
    }
    return 0;
}

static int parse_settings(const struct lf_conf_node *root,
                          struct lf_config *config, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    rc = parse_data_path(root, config, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(
            root, "shutdown.timeout", LF_CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS,
            &config->shutdown_timeout_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(
            root, "registry.flush", LF_CONFIG_DEFAULT_REGISTRY_FLUSH_MS,
            &config->registry_flush_ms, errbuf, errlen);
    }
    if (rc == 0 && config->registry_flush_ms == 0) {
        lf_conf_child(root, "registry.flush", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a duration of at least 1ms, got 0");
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(
            root, "registry.clean_removed",
            LF_CONFIG_DEFAULT_REGISTRY_CLEAN_REMOVED_MS,
            &config->registry_clean_removed_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_log_level(root, config, errbuf, errlen);
    }
    return rc;
}

/* ---- fields ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Skips "0" or a digit run without a leading zero, so "007" and "0123"
 * stay strings instead of losing their zeros. Returns NULL when absent.
 */
static const char *skip_unsigned(const char *p)
{
    if (*p == '0') {
        return is_digit(p[1]) ? NULL : p + 1;
    }
    if (!is_digit(*p)) {
        return NULL;
    }
    while (is_digit(*p)) {
        p++;
    }
    return p;
}

static bool parse_field_int(const char *text, int64_t *out)
{
    const char *sign_end = *text == '-' || *text == '+' ? text + 1 : text;
    const char *end = skip_unsigned(sign_end);
    long long value;

    if (end == NULL || *end != '\0') {
        return false;
    }
    errno = 0;
    value = strtoll(text, NULL, 10);
    if (errno == ERANGE) {
        return false;
    }
    *out = (int64_t)value;
    return true;
}

/* Accepts 1.5, -0.25, 1e3 and 2.5E-3: digits on both sides of a point. */
static bool parse_field_float(const char *text, double *out)
{
    const char *p = *text == '-' || *text == '+' ? text + 1 : text;
    bool fraction_or_exponent = false;
    double value;

    p = skip_unsigned(p);
    if (p == NULL) {
        return false;
    }
    if (*p == '.') {
        p++;
        if (!is_digit(*p)) {
            return false;
        }
        while (is_digit(*p)) {
            p++;
        }
        fraction_or_exponent = true;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        p += *p == '-' || *p == '+';
        if (!is_digit(*p)) {
            return false;
        }
        while (is_digit(*p)) {
            p++;
        }
        fraction_or_exponent = true;
    }
    if (*p != '\0' || !fraction_or_exponent) {
        return false;
    }
    value = strtod(text, NULL);
    if (!isfinite(value)) {
        return false;
    }
    *out = value;
    return true;
}

static bool parse_field_bool(const char *text, bool *out)
{
    static const char *const true_names[] = {"true", "True", "TRUE"};
    static const char *const false_names[] = {"false", "False", "FALSE"};

    for (size_t i = 0; i < LF_ARRAY_SIZE(true_names); i++) {
        if (strcmp(text, true_names[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(text, false_names[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/*
 * Converts a plain scalar that reads as an integer, a float or a boolean.
 * Quoted scalars and everything else become strings owned by the config.
 */
static void field_value(const struct lf_conf_node *node, const char *text,
                        struct lf_value *out)
{
    if (lf_conf_is_plain(node)) {
        if (parse_field_int(text, &out->u.i)) {
            out->type = LF_VALUE_INT;
            return;
        }
        if (parse_field_float(text, &out->u.f)) {
            out->type = LF_VALUE_FLOAT;
            return;
        }
        if (parse_field_bool(text, &out->u.b)) {
            out->type = LF_VALUE_BOOL;
            return;
        }
    }
    out->type = LF_VALUE_STRING;
    out->u.str.len = strlen(text);
    out->u.str.ptr = lf_strndup(text, out->u.str.len);
}

static void add_field(struct field_list *list, const char *key,
                      const struct lf_conf_node *node, const char *text)
{
    struct lf_input_config *input = list->input;
    struct lf_field *field;

    if (input->field_count == list->cap) {
        list->cap = list->cap == 0 ? 8 : list->cap * 2;
        input->fields =
            lf_realloc(input->fields, list->cap * sizeof(*input->fields));
    }
    field = &input->fields[input->field_count];
    field->key = lf_strdup(key);
    field_value(node, text, &field->value);
    input->field_count++;
}

/*
 * Fields every document gets from the agent itself. An input's `fields`
 * may not set them: the agent's value would silently win or lose, and a
 * wrong @timestamp makes Elasticsearch reject every document.
 */
static const char *const reserved_fields[] = {
    "@timestamp",   "message",       "tags",          "log.file.path",
    "log.offset",   "log.flags",     "agent.type",    "agent.version",
    "input.type",   "event.original",
};

static int check_reserved(const struct lf_conf_node *node, const char *key,
                          char *errbuf, size_t errlen)
{
    char label[64];
    size_t n = 0;

    for (size_t i = 0; i < LF_ARRAY_SIZE(reserved_fields); i++) {
        if (strcmp(key, reserved_fields[i]) != 0) {
            continue;
        }
        /* Suggest a flat ECS label: "log.offset" becomes "log_offset". */
        for (const char *p = key; *p != '\0' && n + 1 < sizeof(label); p++) {
            if (*p != '@') {
                label[n++] = *p == '.' ? '_' : *p;
            }
        }
        label[n] = '\0';
        return lf_conf_error(node, errbuf, errlen,
                             "%s is set by logferry for every event and "
                             "cannot be set in fields; use another name, "
                             "such as labels.%s",
                             key, label);
    }
    return 0;
}

/* Adds every scalar under `map` with its dotted key after `prefix`. */
static int flatten_fields(const struct lf_conf_node *map, struct lf_buf *prefix,
                          struct field_list *list, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    const char *key;
    const char *text;
    size_t prefix_len = prefix->len;
    int rc = 0;

    for (size_t i = 0; rc == 0 && lf_conf_entry(map, i, &key, &node) == 0;
         i++) {
        if (prefix_len > 0) {
            lf_buf_append_char(prefix, '.');
        }
        lf_buf_append_str(prefix, key);
        if (lf_conf_kind(&node) == LF_CONF_MAP) {
            rc = flatten_fields(&node, prefix, list, errbuf, errlen);
        } else if (lf_conf_kind(&node) == LF_CONF_SCALAR) {
            rc = check_reserved(&node, prefix->data, errbuf, errlen);
            if (rc == 0) {
                lf_conf_scalar(&node, &text, errbuf, errlen);
                add_field(list, prefix->data, &node, text);
            }
        } else {
            rc = lf_conf_expect_error(&node, errbuf, errlen,
                                      "a string, number or boolean");
        }
        prefix->len = prefix_len;
        prefix->data[prefix_len] = '\0';
    }
    return rc;
}

static int parse_fields(const struct lf_conf_node *input_node,
                        struct lf_input_config *input, char *errbuf,
                        size_t errlen)
{
    struct field_list list = {input, 0};
    struct lf_conf_node node;
    struct lf_buf prefix;
    int rc;

    lf_conf_child(input_node, "fields", &node);
    if (lf_conf_kind(&node) == LF_CONF_MISSING ||
        lf_conf_kind(&node) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&node) != LF_CONF_MAP) {
        return lf_conf_expect_error(&node, errbuf, errlen,
                                    "a map of field names to values");
    }
    lf_buf_init(&prefix);
    lf_buf_reserve(&prefix, LF_CONF_PATH_MAX);
    rc = flatten_fields(&node, &prefix, &list, errbuf, errlen);
    lf_buf_cleanup(&prefix);
    return rc;
}

/* ---- inputs ---- */

static int parse_id(const struct lf_conf_node *input_node,
                    struct lf_input_config *input, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    if (lf_conf_child(input_node, "id", &node) != 0 ||
        lf_conf_kind(&node) == LF_CONF_NULL) {
        return lf_conf_error(input_node, errbuf, errlen,
                             "missing 'id': give each input a unique id, "
                             "such as `id: app`");
    }
    rc = lf_conf_scalar(&node, &input->id, errbuf, errlen);
    if (rc == 0 && input->id[0] == '\0') {
        return lf_conf_error(&node, errbuf, errlen,
                             "expected a non-empty input id, got an empty "
                             "string");
    }
    return rc;
}

/* Rejects an id already used by one of the first `index` inputs. */
static int check_unique_id(const struct lf_conf_node *inputs_node,
                           const struct lf_config *config, size_t index,
                           char *errbuf, size_t errlen)
{
    const char *id = config->inputs[index].id;
    struct lf_conf_node input;
    struct lf_conf_node first;
    struct lf_conf_node node;

    for (size_t i = 0; i < index; i++) {
        if (strcmp(config->inputs[i].id, id) != 0) {
            continue;
        }
        lf_conf_at(inputs_node, i, &input);
        lf_conf_child(&input, "id", &first);
        lf_conf_at(inputs_node, index, &input);
        lf_conf_child(&input, "id", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "duplicate input id '%s', already used by "
                             "%s on line %d: input ids must be unique",
                             id, first.path, lf_conf_line(&first));
    }
    return 0;
}

static int paths_error(const struct lf_conf_node *node, char *errbuf,
                       size_t errlen)
{
    const char *text;

    if (lf_conf_kind(node) == LF_CONF_SCALAR) {
        lf_conf_scalar(node, &text, errbuf, errlen);
        return lf_conf_error(node, errbuf, errlen,
                             "expected a list of glob strings, got '%.*s': "
                             "write it as a list, such as [\"%.*s\"]",
                             lf_conf_quote_width(strlen(text)), text,
                             lf_conf_quote_width(strlen(text)), text);
    }
    return lf_conf_expect_error(node, errbuf, errlen, "a list of glob strings");
}

static int parse_paths(const struct lf_conf_node *input_node,
                       struct lf_input_config *input, char *errbuf,
                       size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node node;
    size_t count;

    if (lf_conf_child(input_node, "paths", &list) != 0) {
        return lf_conf_error(input_node, errbuf, errlen,
                             "missing 'paths': list the files to read, such "
                             "as `paths: [\"/var/log/app/*.log\"]`");
    }
    if (lf_conf_kind(&list) != LF_CONF_LIST) {
        return paths_error(&list, errbuf, errlen);
    }
    count = lf_conf_size(&list);
    if (count == 0) {
        return lf_conf_error(&list, errbuf, errlen,
                             "expected at least one glob, got an empty list");
    }

    input->paths = lf_calloc(count, sizeof(*input->paths));
    for (size_t i = 0; i < count; i++) {
        const char *glob;

        lf_conf_at(&list, i, &node);
        if (lf_conf_kind(&node) != LF_CONF_SCALAR) {
            return lf_conf_expect_error(&node, errbuf, errlen, "a glob string");
        }
        lf_conf_scalar(&node, &glob, errbuf, errlen);
        if (glob[0] == '\0') {
            return lf_conf_error(&node, errbuf, errlen,
                                 "expected a glob string, got an empty "
                                 "string");
        }
        input->paths[input->path_count++] = glob;
    }
    return 0;
}

/*
 * Reads the `close` map: `inactive`, `removed_after` and `timeout`, each a
 * duration; `timeout: 0s`, the default, turns the timeout off.
 */
static int parse_close(const struct lf_conf_node *input_node,
                       struct lf_input_config *input, char *errbuf,
                       size_t errlen)
{
    static const char *const close_keys[] = {
        "inactive", "removed_after", "timeout",
    };
    struct lf_conf_node node;
    int rc;

    if (lf_conf_child(input_node, "close", &node) == 0 &&
        lf_conf_kind(&node) != LF_CONF_NULL) {
        if (lf_conf_kind(&node) != LF_CONF_MAP) {
            return lf_conf_expect_error(&node, errbuf, errlen,
                                        "a map of inactive, removed_after "
                                        "and timeout durations");
        }
        rc = lf_conf_check_keys(&node, close_keys,
                                LF_ARRAY_SIZE(close_keys), errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    rc = lf_conf_get_duration_ms(input_node, "close.inactive",
                                 LF_CONFIG_DEFAULT_CLOSE_INACTIVE_MS,
                                 &input->close_inactive_ms, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(
            input_node, "close.removed_after",
            LF_CONFIG_DEFAULT_CLOSE_REMOVED_AFTER_MS,
            &input->close_removed_after_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_duration_ms(input_node, "close.timeout", 0,
                                     &input->close_timeout_ms, errbuf,
                                     errlen);
    }
    return rc;
}

static int parse_compression(const struct lf_conf_node *input_node,
                             struct lf_input_config *input, char *errbuf,
                             size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc;

    rc = lf_conf_get_str(input_node, "compression", "auto", &name, errbuf,
                         errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(name, "auto") == 0) {
        input->compression = LF_COMPRESSION_AUTO;
    } else if (strcmp(name, "none") == 0) {
        input->compression = LF_COMPRESSION_NONE;
    } else {
        lf_conf_child(input_node, "compression", &node);
        return lf_conf_expect_error(&node, errbuf, errlen, "auto or none");
    }
    return 0;
}

static int parse_max_line_bytes(const struct lf_conf_node *input_node,
                                struct lf_input_config *input, char *errbuf,
                                size_t errlen)
{
    struct lf_conf_node node;
    long long bytes;
    int rc;

    rc = lf_conf_get_bytes(input_node, "max_line_bytes",
                           LF_CONFIG_DEFAULT_MAX_LINE_BYTES, &bytes, errbuf,
                           errlen);
    if (rc != 0) {
        return rc;
    }
    if (bytes < CONFIG_MIN_MAX_LINE_BYTES) {
        lf_conf_child(input_node, "max_line_bytes", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected at least 1KiB (%d bytes), got %lld "
                             "bytes",
                             CONFIG_MIN_MAX_LINE_BYTES, bytes);
    }
    if (bytes > CONFIG_MAX_MAX_LINE_BYTES) {
        lf_conf_child(input_node, "max_line_bytes", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected at most 64MiB (%d bytes), got %lld "
                             "bytes; a line is held in memory until its end",
                             CONFIG_MAX_MAX_LINE_BYTES, bytes);
    }
    input->max_line_bytes = (size_t)bytes;
    return 0;
}

static int parse_encoding(const struct lf_conf_node *input_node,
                          struct lf_input_config *input, char *errbuf,
                          size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc = lf_conf_get_str(input_node, "encoding", "utf-8", &name, errbuf,
                             errlen);

    if (rc == 0 && lf_encoding_parse(name, &input->encoding) != 0) {
        lf_conf_child(input_node, "encoding", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected utf-8, utf-16le or utf-16be, got "
                             "\"%s\"", name);
    }
    return rc;
}

static int parse_format(const struct lf_conf_node *input_node,
                        struct lf_input_config *input, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node node;
    const char *name;
    int rc = lf_conf_get_str(input_node, "format", "plain", &name, errbuf,
                             errlen);

    if (rc == 0 && lf_container_format_parse(name, &input->format) != 0) {
        lf_conf_child(input_node, "format", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected plain, docker, cri or auto, got "
                             "\"%s\"", name);
    }
    return rc;
}

/* Reads the options of the line stages (agent/input/line_stages.h). */
static int parse_line_options(const struct lf_conf_node *input_node,
                              struct lf_input_config *input, char *errbuf,
                              size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    /* The getter rejects negative durations; 0 turns the flush off. */
    rc = lf_conf_get_duration_ms(input_node, "partial_line_timeout",
                                 LF_CONFIG_DEFAULT_PARTIAL_LINE_TIMEOUT_MS,
                                 &input->partial_line_timeout_ms, errbuf,
                                 errlen);
    if (rc == 0) {
        rc = parse_encoding(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_format(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        lf_conf_child(input_node, "multiline", &node);
        rc = lf_multiline_rule_parse(&node, input->max_line_bytes,
                                     &input->multiline, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_line_filter_parse(input_node, &input->line_filter, errbuf,
                                  errlen);
    }
    return rc;
}

/* Checks the input's keys against its own and the discovery options. */
static int check_input_keys(const struct lf_conf_node *input_node,
                            char *errbuf, size_t errlen)
{
    enum { KEY_MAX = 64 };
    const char *keys[KEY_MAX];
    size_t count = 0;

    for (size_t i = 0; i < LF_ARRAY_SIZE(input_keys) && count < KEY_MAX;
         i++) {
        keys[count++] = input_keys[i];
    }
    for (size_t i = 0; i < lf_input_discovery_key_count && count < KEY_MAX;
         i++) {
        keys[count++] = lf_input_discovery_keys[i];
    }
    return lf_conf_check_keys(input_node, keys, count, errbuf, errlen);
}

static int parse_input(const struct lf_conf_node *input_node,
                       struct lf_input_config *input, char *errbuf,
                       size_t errlen)
{
    struct lf_conf_node parsers;
    struct lf_conf_node processors;
    int rc;

    if (lf_conf_kind(input_node) != LF_CONF_MAP) {
        return lf_conf_expect_error(input_node, errbuf, errlen,
                                    "an input map with id and paths");
    }
    rc = check_input_keys(input_node, errbuf, errlen);
    if (rc == 0) {
        rc = parse_id(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_paths(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_fields(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(input_node, "preserve_original_event", false,
                              &input->preserve_original_event, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_max_line_bytes(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_exclude(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_scan_frequency(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_line_options(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_input_discovery_parse(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_close(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_compression(input_node, input, errbuf, errlen);
    }
    if (rc == 0) {
        lf_conf_child(input_node, "parsers", &parsers);
        rc = lf_parser_chain_new(&parsers, &input->parsers, errbuf, errlen);
    }
    if (rc == 0) {
        lf_conf_child(input_node, "processors", &processors);
        rc = lf_processors_new(&processors, &input->processors, errbuf,
                               errlen);
    }
    return rc;
}

static int parse_inputs(const struct lf_conf_node *root,
                        struct lf_config *config, char *errbuf, size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node node;
    size_t count;
    int rc = 0;

    lf_conf_child(root, "inputs", &list);
    if (lf_conf_kind(&list) == LF_CONF_MISSING ||
        lf_conf_kind(&list) == LF_CONF_NULL) {
        return lf_conf_error(&list, errbuf, errlen,
                             "missing: add an `inputs` list with at least "
                             "one input, such as `inputs: [{id: app, paths: "
                             "[\"/var/log/app/*.log\"]}]`");
    }
    if (lf_conf_kind(&list) != LF_CONF_LIST) {
        return lf_conf_expect_error(&list, errbuf, errlen, "a list of inputs");
    }
    count = lf_conf_size(&list);
    if (count == 0) {
        return lf_conf_error(&list, errbuf, errlen,
                             "expected at least one input, got an empty "
                             "list");
    }

    config->inputs = lf_calloc(count, sizeof(*config->inputs));
    config->input_count = count;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        lf_conf_at(&list, i, &node);
        rc = parse_input(&node, &config->inputs[i], errbuf, errlen);
        if (rc == 0) {
            rc = check_unique_id(&list, config, i, errbuf, errlen);
        }
    }
    return rc;
}

/* ---- output ---- */

static bool section_set(const struct lf_conf_node *node)
{
    return lf_conf_kind(node) != LF_CONF_MISSING &&
           lf_conf_kind(node) != LF_CONF_NULL;
}

/*
 * Parses output.elasticsearch, output.cloudwatch or both. With both, the
 * agent sends every event to each and commits an offset once both have
 * a result for the lines before it.
 */
static int parse_output(const struct lf_conf_node *root,
                        struct lf_config *config, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    struct lf_conf_node cw_node;
    int rc;

    lf_conf_child(root, "output.elasticsearch", &node);
    lf_conf_child(root, "output.cloudwatch", &cw_node);
    if (!section_set(&node) && !section_set(&cw_node)) {
        return lf_conf_error(&node, errbuf, errlen,
                             "missing: add an `output.elasticsearch` section "
                             "with the cluster's hosts, such as `hosts: "
                             "[\"http://127.0.0.1:9200\"]`, an "
                             "`output.cloudwatch` section, or both");
    }
    if (section_set(&node)) {
        config->use_elasticsearch = true;
        rc = lf_es_config_parse(&node, &config->es, errbuf, errlen);
        config->es.data_path = config->data_path;
        if (rc != 0) {
            return rc;
        }
    }
    if (section_set(&cw_node)) {
        config->use_cloudwatch = true;
        return lf_cw_config_parse(&cw_node, &config->cw, errbuf, errlen);
    }
    return 0;
}

/* ---- public ---- */

static int parse_metrics(const struct lf_conf_node *root,
                         struct lf_config *config, char *errbuf,
                         size_t errlen)
{
    const char **ids = lf_calloc(config->input_count + 1, sizeof(*ids));
    struct lf_conf_node list;
    int rc;

    for (size_t i = 0; i < config->input_count; i++) {
        ids[i] = config->inputs[i].id;
    }
    lf_conf_child(root, "metrics", &list);
    rc = lf_log_metrics_new(&list, ids, config->input_count,
                            &config->metrics, errbuf, errlen);
    lf_free(ids);
    return rc;
}

int lf_config_load(const char *path, struct lf_config *config, char *errbuf,
                   size_t errlen)
{
    struct lf_conf_node root;
    struct lf_conf_node processors;
    int rc;

    memset(config, 0, sizeof(*config));
    rc = lf_conf_load_file(path, &config->doc, errbuf, errlen);
    if (rc != 0) {
        goto fail;
    }

    lf_conf_root(config->doc, &root);
    rc = lf_conf_check_keys(&root, root_keys, LF_ARRAY_SIZE(root_keys), errbuf,
                            errlen);
    if (rc == 0) {
        rc = parse_settings(&root, config, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_inputs(&root, config, errbuf, errlen);
    }
    if (rc == 0) {
        lf_conf_child(&root, "processors", &processors);
        rc = lf_processors_new(&processors, &config->processors, errbuf,
                               errlen);
    }
    if (rc == 0) {
        rc = parse_output(&root, config, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_config_parse_queue(&root, &config->queue, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_config_parse_http(&root, &config->http, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_config_parse_logging(&root, &config->logging, errbuf,
                                     errlen);
    }
    if (rc == 0) {
        rc = parse_metrics(&root, config, errbuf, errlen);
    }
    if (rc != 0) {
        goto fail;
    }
    config->secrets_warning = lf_config_check_secrets(path, &root);
    return 0;

fail:
    lf_config_cleanup(config);
    return rc;
}

static void input_cleanup(struct lf_input_config *input)
{
    lf_parser_chain_free(input->parsers);
    lf_processors_free(input->processors);
    filter_free(input->exclude);
    lf_multiline_rule_free(input->multiline);
    lf_line_filter_free(input->line_filter);
    for (size_t i = 0; i < input->field_count; i++) {
        struct lf_field *field = &input->fields[i];

        free_owned(field->key);
        if (field->value.type == LF_VALUE_STRING) {
            free_owned(field->value.u.str.ptr);
        }
    }
    lf_free(input->fields);
    lf_free(input->paths);
}

void lf_config_cleanup(struct lf_config *config)
{
    if (config == NULL) {
        return;
    }
    /* Chains and the output borrow strings from the document: free first. */
    for (size_t i = 0; i < config->input_count; i++) {
        input_cleanup(&config->inputs[i]);
    }
    lf_free(config->inputs);
    lf_processors_free(config->processors);
    lf_log_metrics_free(config->metrics);
    lf_es_config_cleanup(&config->es);
    lf_cw_config_cleanup(&config->cw);
    lf_conf_free(config->doc);
    lf_free(config->secrets_warning);
    memset(config, 0, sizeof(*config));
}
