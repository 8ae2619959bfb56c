/*
 * `output.elasticsearch` settings: read from the configuration document,
 * checked, and given their defaults. Every error names the key and its
 * line, so a start-up failure points at what to fix.
 */
#include "outputs/elasticsearch/es_config.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define ES_DEFAULT_HOST "http://127.0.0.1:9200"
#define ES_DEFAULT_INDEX "logs-generic-default"
#define ES_DEFAULT_BULK_MAX_SIZE 1600
#define ES_DEFAULT_BULK_MAX_BYTES (5LL * 1024 * 1024)
#define ES_DEFAULT_FLUSH_INTERVAL_MS 1000
#define ES_DEFAULT_WORKERS 2
#define ES_DEFAULT_TIMEOUT_MS (90 * 1000)
#define ES_DEFAULT_BACKOFF_INIT_MS 1000
#define ES_DEFAULT_BACKOFF_MAX_MS (60 * 1000)
#define ES_DEFAULT_DEAD_LETTER_MAX_BYTES (100LL * 1024 * 1024)
/* Smallest dead_letter.max_bytes: room for a few typical records. */
#define ES_MIN_DEAD_LETTER_MAX_BYTES (64LL * 1024)

/* libdeflate's compression levels. */
#define ES_MIN_COMPRESSION_LEVEL 1
#define ES_MAX_COMPRESSION_LEVEL 12

#define ES_MAX_WORKERS 16

/* A guard against typos; bulk_max_bytes bounds a request anyway. */
#define ES_MAX_BULK_SIZE 100000

/* Elasticsearch's default http.max_content_length is 100mb. */
#define ES_MAX_BULK_BYTES (100LL * 1024 * 1024)

#define ES_MAX_PORT 65535

static const char *const es_keys[] = {
    "hosts",         "index",          "pipeline",       "username",
    "password",      "api_key",        "compression",    "compression_level",
    "bulk_max_size", "bulk_max_bytes", "flush_interval", "workers",
    "timeout",       "backoff.init",   "backoff.max",
    "dead_letter.enabled", "dead_letter.max_bytes", "index_fallback",
    "op_type",       "routing",
};

/* Returns the end of `host[:port]` starting at `p`, or NULL when invalid. */
static const char *scan_host_port(const char *p, const char **why)
{
    const char *start = p;
    unsigned long port = 0;
    const char *digits;

    if (*p == '[') {
        /* An IPv6 literal, "[::1]". */
        p += strspn(p + 1, "0123456789abcdefABCDEF:.") + 1;
        if (*p != ']' || p == start + 1) {
            *why = "invalid IPv6 address";
            return NULL;
        }
        p++;
    } else {
        while (isalnum((unsigned char)*p) || *p == '-' || *p == '.' ||
               *p == '_') {
            p++;
        }
        if (p == start) {
            *why = "missing host name";
            return NULL;
        }
    }

    if (*p != ':') {
        return p;
    }
    digits = ++p;
    while (isdigit((unsigned char)*p) && port <= ES_MAX_PORT) {
        port = port * 10 + (unsigned long)(*p - '0');
        p++;
    }
    if (p == digits || port == 0 || port > ES_MAX_PORT) {
        *why = "the port must be a number from 1 to 65535";
        return NULL;
    }
    return p;
}

/*
 * Checks an http(s) URL and returns its length without trailing slashes,
 * or 0 with `*why` set. Credentials, queries and fragments are rejected:
 * the URL is written in every log line, and "/_bulk?..." is appended.
 */
static size_t check_url(const char *url, const char **why)
{
    static const char http[] = "http://";
    static const char https[] = "https://";
    const char *p;
    size_t len;

    if (strncasecmp(url, http, LF_STRLEN(http)) == 0) {
        p = url + LF_STRLEN(http);
    } else if (strncasecmp(url, https, LF_STRLEN(https)) == 0) {
        p = url + LF_STRLEN(https);
    } else {
        *why = "it must start with http:// or https://";
        return 0;
    }
    if (strcspn(p, "/") > strcspn(p, "@")) {
        *why = "credentials do not belong in the URL, set username and "
               "password or api_key";
        return 0;
    }

    p = scan_host_port(p, why);
    if (p == NULL) {
        return 0;
    }
    if (*p != '\0' && *p != '/') {
        *why = "unexpected character after the host";
        return 0;
    }
    for (const char *c = p; *c != '\0'; c++) {
        if (*c == '?' || *c == '#' || isspace((unsigned char)*c) ||
            iscntrl((unsigned char)*c)) {
            *why = "the path must not contain a query, a fragment or spaces";
            return 0;
        }
    }
    if (lf_es_path_has_dot_segment(p)) {
        *why = "the path must not contain '.' or '..' segments";
        return 0;
    }

    len = strlen(url);
    while (url[len - 1] == '/') {
        len--;
    }
    return len;
}

bool lf_es_path_has_dot_segment(const char *path)
{
    const char *segment = path;

    while (*segment == '/') {
        segment++;
    }
    while (*segment != '\0') {
        size_t len = strcspn(segment, "/");

        if ((len == 1 && segment[0] == '.') ||
            (len == 2 && segment[0] == '.' && segment[1] == '.')) {
            return true;
        }
        segment += len;
        while (*segment == '/') {
            segment++;
        }
    }
    return false;
}

static int add_host(const struct lf_conf_node *node, struct lf_es_config *out,
                    char *errbuf, size_t errlen)
{
    const char *url;
    const char *why = NULL;
    size_t len;
    int rc = lf_conf_scalar(node, &url, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    len = check_url(url, &why);
    if (len == 0) {
        /*
         * The message goes to logs: never echo credentials in the URL.
         * Everything up to the last '@' is hidden, because a password may
         * contain '@' and '/' and the scheme may be missing or mistyped.
         */
        const char *at = strrchr(url, '@');
        const char *scheme_end = strstr(url, "://");
        int scheme_len = 0;

        if (at != NULL) {
            if (scheme_end != NULL && scheme_end < at) {
                scheme_len = (int)(scheme_end - url) + 3;
            }
            return lf_conf_error(node, errbuf, errlen,
                                 "invalid URL '%.*s***@%s': %s", scheme_len,
                                 url, at + 1, why);
        }
        return lf_conf_error(node, errbuf, errlen, "invalid URL '%s': %s", url,
                             why);
    }
    out->hosts[out->host_count++] = lf_strndup(url, len);
    return 0;
}

/* `hosts` is a list of URLs; a single URL is accepted too. */
static int parse_hosts(const struct lf_conf_node *section,
                       struct lf_es_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node hosts;
    size_t count;
    int rc = 0;

    lf_conf_child(section, "hosts", &hosts);
    switch (lf_conf_kind(&hosts)) {
    case LF_CONF_MISSING:
    case LF_CONF_NULL:
        out->hosts = lf_calloc(1, sizeof(*out->hosts));
        out->hosts[out->host_count++] = lf_strdup(ES_DEFAULT_HOST);
        return 0;
    case LF_CONF_SCALAR:
        out->hosts = lf_calloc(1, sizeof(*out->hosts));
        return add_host(&hosts, out, errbuf, errlen);
    case LF_CONF_LIST:
        break;
    case LF_CONF_MAP:
        return lf_conf_error(&hosts, errbuf, errlen,
                             "expected a list of URLs, got a map");
    }

    count = lf_conf_size(&hosts);
    if (count == 0) {
        return lf_conf_error(&hosts, errbuf, errlen,
                             "expected at least one URL, got an empty list");
    }
    out->hosts = lf_calloc(count, sizeof(*out->hosts));
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct lf_conf_node entry;

        lf_conf_at(&hosts, i, &entry);
        rc = add_host(&entry, out, errbuf, errlen);
    }
    return rc;
}

/* Parses the template at `key` into `tpl`, naming the key on error. */
static int parse_template(const struct lf_conf_node *section, const char *key,
                          const char *text, struct lf_es_template *tpl,
                          char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    char why[256];

    if (lf_es_template_parse(text, tpl, why, sizeof(why)) == 0) {
        return 0;
    }
    lf_conf_child(section, key, &node);
    return lf_conf_error(&node, errbuf, errlen, "%s", why);
}

/*
 * Checks `index` with each field replaced by "x" and each date by a
 * sample date, and `index_fallback` as it is.
 */
static int check_index_names(const struct lf_conf_node *section,
                             struct lf_es_config *out, char *errbuf,
                             size_t errlen)
{
    struct lf_conf_node node;
    struct lf_buf sample;
    const char *problem;
    int rc = 0;

    lf_buf_init(&sample);
    lf_es_template_sample(&out->index_template, &sample);
    problem = lf_es_index_name_problem(sample.data, sample.len);
    if (problem != NULL) {
        lf_conf_child(section, "index", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "invalid index name '%s': %s", out->index, problem);
    }
    problem = lf_es_index_name_problem(out->index_fallback,
                                       strlen(out->index_fallback));
    if (rc == 0 && problem != NULL) {
        lf_conf_child(section, "index_fallback", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "invalid index name '%s': %s", out->index_fallback,
                           problem);
    }
    lf_buf_cleanup(&sample);
    return rc;
}

/*
 * `op_type` defaults to `index` for an index with a date pattern that is
 * not a data stream, else to `create`. Data streams take only `create`.
 */
static int parse_op_type(const struct lf_conf_node *section,
                         struct lf_es_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    struct lf_buf sample;
    bool data_stream;
    int rc;

    lf_buf_init(&sample);
    lf_es_template_sample(&out->index_template, &sample);
    data_stream = lf_es_index_is_data_stream(sample.data) ||
                  (out->index_template.has_field &&
                   lf_es_index_is_data_stream(out->index_fallback));
    lf_buf_cleanup(&sample);

    rc = lf_conf_get_str(section, "op_type",
                         out->index_template.has_date && !data_stream
                             ? "index"
                             : "create",
                         &out->op_type, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    lf_conf_child(section, "op_type", &node);
    if (strcmp(out->op_type, "create") != 0 &&
        strcmp(out->op_type, "index") != 0) {
        return lf_conf_error(&node, errbuf, errlen,
                             "expected create or index, got '%s'",
                             out->op_type);
    }
    if (strcmp(out->op_type, "index") == 0 && data_stream) {
        return lf_conf_error(&node, errbuf, errlen,
                             "data streams (logs-*-* names, here '%s' or its "
                             "fallback) accept only op_type: create",
                             out->index);
    }
    return 0;
}

static int parse_index(const struct lf_conf_node *section,
                       struct lf_es_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    const char *routing = NULL;
    int rc;

    rc = lf_conf_get_str(section, "index", ES_DEFAULT_INDEX, &out->index,
                         errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(section, "index_fallback", ES_DEFAULT_INDEX,
                             &out->index_fallback, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(section, "pipeline", NULL, &out->pipeline, errbuf,
                             errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(section, "routing", NULL, &routing, errbuf,
                             errlen);
    }
    if (rc == 0) {
        rc = parse_template(section, "index", out->index,
                            &out->index_template, errbuf, errlen);
    }
    if (rc == 0 && routing != NULL) {
        rc = parse_template(section, "routing", routing, &out->routing, errbuf,
                            errlen);
    }
    if (rc == 0) {
        rc = check_index_names(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_op_type(section, out, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }

    if (out->pipeline != NULL && out->pipeline[0] == '\0') {
        lf_conf_child(section, "pipeline", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "empty pipeline name (remove the key to "
                             "send without a pipeline)");
    }
    if (routing != NULL && out->routing.count == 0) {
        lf_conf_child(section, "routing", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "empty routing (remove the key to send without "
                             "routing)");
    }
    return 0;
}

/* Either username and password, or api_key, or neither. */
static int parse_auth(const struct lf_conf_node *section,
                      struct lf_es_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc;

    rc = lf_conf_get_str(section, "username", NULL, &out->username, errbuf,
                         errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(section, "password", NULL, &out->password, errbuf,
                             errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_str(section, "api_key", NULL, &out->api_key, errbuf,
                             errlen);
    }
    if (rc != 0) {
        return rc;
    }

    if ((out->username == NULL) != (out->password == NULL)) {
        lf_conf_child(section, out->username != NULL ? "username" : "password",
                      &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "set both username and password, or neither");
    }
    if (out->username != NULL && out->api_key != NULL) {
        lf_conf_child(section, "api_key", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "set either username and password or api_key, "
                             "not both");
    }
    if (out->api_key != NULL && out->api_key[0] == '\0') {
        lf_conf_child(section, "api_key", &node);
        return lf_conf_error(&node, errbuf, errlen, "the API key is empty");
    }
    return 0;
}

static int parse_compression(const struct lf_conf_node *section,
                             struct lf_es_config *out, char *errbuf,
                             size_t errlen)
{
    const char *mode;
    long long level;
    int rc;

    rc = lf_conf_get_str(section, "compression", "gzip", &mode, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(mode, "gzip") == 0) {
        out->compress = true;
    } else if (strcmp(mode, "none") == 0) {
        out->compress = false;
    } else {
        struct lf_conf_node node;

        lf_conf_child(section, "compression", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected gzip or none, got '%s'", mode);
    }

    rc = lf_conf_get_int(section, "compression_level", ES_MIN_COMPRESSION_LEVEL,
                         ES_MIN_COMPRESSION_LEVEL, ES_MAX_COMPRESSION_LEVEL,
                         &level, errbuf, errlen);
    out->compression_level = (int)level;
    return rc;
}

static int parse_batching(const struct lf_conf_node *section,
                          struct lf_es_config *out, char *errbuf, size_t errlen)
{
    long long size = 0;
    long long bytes = 0;
    long long workers = 0;
    int rc;

    rc = lf_conf_get_int(section, "bulk_max_size", ES_DEFAULT_BULK_MAX_SIZE, 1,
                         ES_MAX_BULK_SIZE, &size, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bytes(section, "bulk_max_bytes",
                               ES_DEFAULT_BULK_MAX_BYTES, &bytes, errbuf,
                               errlen);
    }
    if (rc == 0 && (bytes < 1 || bytes > ES_MAX_BULK_BYTES)) {
        struct lf_conf_node node;

        lf_conf_child(section, "bulk_max_bytes", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "expected a size from 1 byte to 100MiB, got %lld "
                           "bytes",
                           bytes);
    }
    if (rc == 0) {
        rc = lf_conf_get_int(section, "workers", ES_DEFAULT_WORKERS, 1,
                             ES_MAX_WORKERS, &workers, errbuf, errlen);
    }
    out->bulk_max_size = (size_t)size;
    out->bulk_max_bytes = (size_t)bytes;
    out->workers = (int)workers;
    return rc;
}

/* Reads a duration that must be at least one millisecond. */
static int get_positive_duration(const struct lf_conf_node *section,
                                 const char *key, long long def_ms,
                                 long long *out_ms, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;
    int rc =
        lf_conf_get_duration_ms(section, key, def_ms, out_ms, errbuf, errlen);

    if (rc != 0 || *out_ms > 0) {
        return rc;
    }
    lf_conf_child(section, key, &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "expected a duration of at least 1ms, got 0");
}

static int parse_timing(const struct lf_conf_node *section,
                        struct lf_es_config *out, char *errbuf, size_t errlen)
{
    int rc;

    rc = get_positive_duration(section, "flush_interval",
                               ES_DEFAULT_FLUSH_INTERVAL_MS,
                               &out->flush_interval_ms, errbuf, errlen);
    if (rc == 0) {
        rc = get_positive_duration(section, "timeout", ES_DEFAULT_TIMEOUT_MS,
                                   &out->timeout_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = get_positive_duration(section, "backoff.init",
                                   ES_DEFAULT_BACKOFF_INIT_MS,
                                   &out->backoff_init_ms, errbuf, errlen);
    }
    if (rc == 0) {
        rc = get_positive_duration(section, "backoff.max",
                                   ES_DEFAULT_BACKOFF_MAX_MS,
                                   &out->backoff_max_ms, errbuf, errlen);
    }
    if (rc == 0 && out->backoff_max_ms < out->backoff_init_ms) {
        struct lf_conf_node node;

        lf_conf_child(section, "backoff.max", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "backoff.max (%lldms) is shorter than backoff.init "
                           "(%lldms)",
                           out->backoff_max_ms, out->backoff_init_ms);
    }
    return rc;
}

static int parse_dead_letter(const struct lf_conf_node *section,
                             struct lf_es_config *out, char *errbuf,
                             size_t errlen)
{
    long long max_bytes = 0;
    int rc;

    rc = lf_conf_get_bool(section, "dead_letter.enabled", true,
                          &out->dead_letter, errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_bytes(section, "dead_letter.max_bytes",
                               ES_DEFAULT_DEAD_LETTER_MAX_BYTES, &max_bytes,
                               errbuf, errlen);
    }
    if (rc == 0 && max_bytes < ES_MIN_DEAD_LETTER_MAX_BYTES) {
        struct lf_conf_node node;

        lf_conf_child(section, "dead_letter.max_bytes", &node);
        rc = lf_conf_error(&node, errbuf, errlen,
                           "expected a size of at least 64KiB, got %lld "
                           "bytes; set dead_letter.enabled: false to keep "
                           "no dead-letter queue",
                           max_bytes);
    }
    out->dead_letter_max_bytes = (uint64_t)max_bytes;
    return rc;
}

int lf_es_config_parse(const struct lf_conf_node *section,
                       struct lf_es_config *out, char *errbuf, size_t errlen)
{
    const char *keys[LF_ARRAY_SIZE(es_keys) + LF_ES_CONN_KEY_COUNT];
    size_t key_count = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < LF_ARRAY_SIZE(es_keys); i++) {
        keys[key_count++] = es_keys[i];
    }
    for (size_t i = 0; i < LF_ES_CONN_KEY_COUNT; i++) {
        keys[key_count++] = lf_es_conn_keys[i];
    }
    rc = lf_conf_check_keys(section, keys, key_count, errbuf, errlen);
    if (rc == 0) {
        rc = parse_hosts(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_index(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_auth(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_compression(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_batching(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_timing(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_dead_letter(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_es_conn_config_parse(section, out, errbuf, errlen);
    }
    if (rc != 0) {
        lf_es_config_cleanup(out);
    }
    return rc;
}

void lf_es_config_cleanup(struct lf_es_config *config)
{
    for (size_t i = 0; i < config->host_count; i++) {
        lf_free((void *)(uintptr_t)config->hosts[i]);
    }
    lf_free(config->hosts);
    lf_es_template_cleanup(&config->index_template);
    lf_es_template_cleanup(&config->routing);
    lf_es_conn_config_cleanup(config);
    memset(config, 0, sizeof(*config));
}
