/*
 * Tests of `output.elasticsearch` settings: defaults, every key, and the
 * messages of invalid values.
 */
#include "outputs/elasticsearch/es_config.h"
#include "lf/conf.h"
#include "lf/error.h"

#include <string.h>

#include "lf_test.h"

/*
 * Loads `yaml` and parses its `output.elasticsearch` section. The
 * document is returned in `*doc_out` because the config borrows from it.
 */
static int parse_yaml(const char *yaml, struct lf_conf **doc_out,
                      struct lf_es_config *config, char *errbuf, size_t errlen)
{
    struct lf_conf_node root;
    struct lf_conf_node section;
    int rc;

    *doc_out = NULL;
    rc = lf_conf_load_string(yaml, strlen(yaml), "test.yaml", doc_out, errbuf,
                             errlen);
    if (rc != 0) {
        LF_FAIL_AT("cannot load test document: %s", errbuf);
        memset(config, 0, sizeof(*config));
        return rc;
    }
    lf_conf_root(*doc_out, &root);
    lf_conf_child(&root, "output.elasticsearch", &section);
    return lf_es_config_parse(&section, config, errbuf, errlen);
}

/* Checks that `yaml` fails with exactly `expected` as its message. */
static void check_error(const char *yaml, const char *expected)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK_INT_EQ(config.host_count, 0);
    LF_CHECK(config.hosts == NULL);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void check_defaults(const struct lf_es_config *config)
{
    LF_CHECK_INT_EQ(config->host_count, 1);
    if (config->host_count == 1) {
        LF_CHECK_STR_EQ(config->hosts[0], "http://127.0.0.1:9200");
    }
    LF_CHECK_STR_EQ(config->index, "logs-generic-default");
    LF_CHECK_STR_EQ(config->pipeline, NULL);
    LF_CHECK_STR_EQ(config->username, NULL);
    LF_CHECK_STR_EQ(config->password, NULL);
    LF_CHECK_STR_EQ(config->api_key, NULL);
    LF_CHECK(config->compress);
    LF_CHECK_INT_EQ(config->compression_level, 1);
    LF_CHECK_INT_EQ(config->bulk_max_size, 1600);
    LF_CHECK_INT_EQ(config->bulk_max_bytes, 5 * 1024 * 1024);
    LF_CHECK_INT_EQ(config->flush_interval_ms, 1000);
    LF_CHECK_INT_EQ(config->workers, 2);
    LF_CHECK_INT_EQ(config->timeout_ms, 90000);
    LF_CHECK_INT_EQ(config->backoff_init_ms, 1000);
    LF_CHECK_INT_EQ(config->backoff_max_ms, 60000);
}

static void test_es_config_defaults_when_missing(void)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(
        parse_yaml("inputs: []\n", &doc, &config, errbuf, sizeof(errbuf)), 0);
    check_defaults(&config);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_es_config_defaults_when_empty(void)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(parse_yaml("output:\n  elasticsearch: {}\n", &doc, &config,
                               errbuf, sizeof(errbuf)),
                    0);
    check_defaults(&config);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_es_config_every_key(void)
{
    static const char yaml[] = "output:\n"
                               "  elasticsearch:\n"
                               "    hosts:\n"
                               "      - https://es1.example.com:9243/\n"
                               "      - http://[::1]:9200\n"
                               "      - http://proxy.internal/elastic//\n"
                               "    index: logs-app-prod\n"
                               "    pipeline: app-pipeline\n"
                               "    username: shipper\n"
                               "    password: s3cret\n"
                               "    compression: none\n"
                               "    compression_level: 6\n"
                               "    bulk_max_size: 500\n"
                               "    bulk_max_bytes: 2MiB\n"
                               "    flush_interval: 250ms\n"
                               "    workers: 4\n"
                               "    timeout: 30s\n"
                               "    backoff.init: 500ms\n"
                               "    backoff:\n"
                               "      max: 2m\n";
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_INT_EQ(config.host_count, 3);
    if (config.host_count == 3) {
        LF_CHECK_STR_EQ(config.hosts[0], "https://es1.example.com:9243");
        LF_CHECK_STR_EQ(config.hosts[1], "http://[::1]:9200");
        LF_CHECK_STR_EQ(config.hosts[2], "http://proxy.internal/elastic");
    }
    LF_CHECK_STR_EQ(config.index, "logs-app-prod");
    LF_CHECK_STR_EQ(config.pipeline, "app-pipeline");
    LF_CHECK_STR_EQ(config.username, "shipper");
    LF_CHECK_STR_EQ(config.password, "s3cret");
    LF_CHECK_STR_EQ(config.api_key, NULL);
    LF_CHECK(!config.compress);
    LF_CHECK_INT_EQ(config.compression_level, 6);
    LF_CHECK_INT_EQ(config.bulk_max_size, 500);
    LF_CHECK_INT_EQ(config.bulk_max_bytes, 2 * 1024 * 1024);
    LF_CHECK_INT_EQ(config.flush_interval_ms, 250);
    LF_CHECK_INT_EQ(config.workers, 4);
    LF_CHECK_INT_EQ(config.timeout_ms, 30000);
    LF_CHECK_INT_EQ(config.backoff_init_ms, 500);
    LF_CHECK_INT_EQ(config.backoff_max_ms, 120000);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_es_config_single_host_and_api_key(void)
{
    static const char yaml[] = "output.elasticsearch:\n"
                               "  hosts: HTTPS://es.example.com\n"
                               "  api_key: VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6"
                               "dWkybHAyYXhUTm1zeWFrdzl0dk5udw==\n";
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_INT_EQ(config.host_count, 1);
    if (config.host_count == 1) {
        LF_CHECK_STR_EQ(config.hosts[0], "HTTPS://es.example.com");
    }
    LF_CHECK_STR_EQ(config.api_key, "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6"
                                    "dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_es_config_invalid_urls(void)
{
    check_error("output.elasticsearch:\n"
                "  hosts:\n"
                "    - http://ok:9200\n"
                "    - ftp://files.example.com\n",
                "test.yaml:4: output.elasticsearch.hosts[1]: invalid URL "
                "'ftp://files.example.com': it must start with http:// or "
                "https://");
    check_error("output.elasticsearch.hosts: [\"http://\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://': missing host name");
    check_error("output.elasticsearch.hosts: [\"http://es:0\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://es:0': the port must be a number from 1 to 65535");
    check_error("output.elasticsearch.hosts: [\"http://es:65536\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://es:65536': the port must be a number from 1 to "
                "65535");
    check_error("output.elasticsearch.hosts: [\"http://es:92a0\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://es:92a0': unexpected character after the host");
    check_error("output.elasticsearch.hosts: [\"http://es:9200/x?pretty\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://es:9200/x?pretty': the path must not contain a "
                "query, a fragment or spaces");
    check_error("output.elasticsearch.hosts: [\"http://es:9200/a/../b\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://es:9200/a/../b': the path must not contain '.' or "
                "'..' segments");
    check_error("output.elasticsearch.hosts: [\"http://es:9200/.\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://es:9200/.': the path must not contain '.' or '..' "
                "segments");
    check_error("output.elasticsearch.hosts: [\"http://[zz]:9200\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://[zz]:9200': invalid IPv6 address");
    check_error("output.elasticsearch.hosts: \"127.0.0.1:9200\"\n",
                "test.yaml:1: output.elasticsearch.hosts: invalid URL "
                "'127.0.0.1:9200': it must start with http:// or https://");
}

/* The URL is logged, so a password in it would leak. */
static void test_es_config_rejects_credentials_in_url(void)
{
    check_error("output.elasticsearch.hosts: [\"https://u:p@es:9200\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'https://***@es:9200': credentials do not belong in the URL, "
                "set username and password or api_key");
}

/* A password with '@' in it, or a URL with a missing or mistyped scheme. */
static void test_es_config_hides_password_in_bad_url(void)
{
    check_error("output.elasticsearch.hosts: [\"u:s3cret@es:9200\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'***@es:9200': it must start with http:// or https://");
    check_error("output.elasticsearch.hosts: [\"http:/u:s3cret@es:9200\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'***@es:9200': it must start with http:// or https://");
    check_error("output.elasticsearch.hosts: [\"http://u@x:s3cret@es:9200\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'http://***@es:9200': credentials do not belong in the URL, "
                "set username and password or api_key");
    check_error("output.elasticsearch.hosts: [\"ftp://u:s3cret@es\"]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: invalid URL "
                "'ftp://***@es': it must start with http:// or https://");
}

static void test_es_config_hosts_shapes(void)
{
    check_error("output.elasticsearch.hosts: []\n",
                "test.yaml:1: output.elasticsearch.hosts: expected at least "
                "one URL, got an empty list");
    check_error("output.elasticsearch.hosts: {a: b}\n",
                "test.yaml:1: output.elasticsearch.hosts: expected a list of "
                "URLs, got a map");
    check_error("output.elasticsearch.hosts: [[\"http://es\"]]\n",
                "test.yaml:1: output.elasticsearch.hosts[0]: expected a "
                "string, got a list");
}

static void test_es_config_unknown_key(void)
{
    check_error("output.elasticsearch:\n"
                "  hsots: [\"http://es:9200\"]\n",
                "test.yaml:2: output.elasticsearch: unknown key 'hsots', did "
                "you mean 'hosts'? Valid keys: hosts, index, pipeline, "
                "username, password, api_key, compression, "
                "compression_level, bulk_max_size, bulk_max_bytes, "
                "flush_interval, workers, timeout, backoff.init, "
                "backoff.max, dead_letter.enabled, dead_letter.max_bytes, "
                "index_fallback, op_type, routing, path, proxy_url, "
                "bearer_token, cloud.id, cloud.auth, "
                "ssl.certificate_authorities, ssl.certificate, ssl.key, "
                "ssl.verification_mode, ssl.ca_trusted_fingerprint");
    check_error("output.elasticsearch:\n"
                "  backoff.min: 1s\n",
                "test.yaml:2: output.elasticsearch.backoff: unknown key "
                "'min'. Valid keys: init, max");
}

static void test_es_config_invalid_index(void)
{
    check_error("output.elasticsearch.index: Logs-App\n",
                "test.yaml:1: output.elasticsearch.index: invalid index name "
                "'Logs-App': it must be lower case");
    check_error("output.elasticsearch.index: _logs\n",
                "test.yaml:1: output.elasticsearch.index: invalid index name "
                "'_logs': it cannot start with '-', '_' or '+'");
    check_error("output.elasticsearch.index: \"logs app\"\n",
                "test.yaml:1: output.elasticsearch.index: invalid index name "
                "'logs app': it cannot contain \\ / * ? \" < > | , # : or "
                "spaces");
    check_error("output.elasticsearch.index: \"..\"\n",
                "test.yaml:1: output.elasticsearch.index: invalid index name "
                "'..': it cannot be '.' or '..'");
    check_error("output.elasticsearch.index: \"\"\n",
                "test.yaml:1: output.elasticsearch.index: invalid index name "
                "'': it is empty");
    check_error("output.elasticsearch.pipeline: \"\"\n",
                "test.yaml:1: output.elasticsearch.pipeline: empty pipeline "
                "name (remove the key to send without a pipeline)");
}

static void test_es_config_index_length_limit(void)
{
    char yaml[512];
    char name[257];
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    memset(name, 'a', 255);
    name[255] = '\0';
    snprintf(yaml, sizeof(yaml), "output.elasticsearch.index: %s\n", name);
    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_INT_EQ(strlen(config.index), 255);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    name[255] = 'a';
    name[256] = '\0';
    snprintf(yaml, sizeof(yaml), "output.elasticsearch.index: %s\n", name);
    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK(strstr(errbuf, "it is longer than 255 bytes") != NULL);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_es_config_auth_combinations(void)
{
    check_error("output.elasticsearch:\n"
                "  username: shipper\n",
                "test.yaml:2: output.elasticsearch.username: set both "
                "username and password, or neither");
    check_error("output.elasticsearch:\n"
                "  password: s3cret\n",
                "test.yaml:2: output.elasticsearch.password: set both "
                "username and password, or neither");
    check_error("output.elasticsearch:\n"
                "  username: shipper\n"
                "  password: s3cret\n"
                "  api_key: abc\n",
                "test.yaml:4: output.elasticsearch.api_key: set either "
                "username and password or api_key, not both");
    check_error("output.elasticsearch.api_key: \"\"\n",
                "test.yaml:1: output.elasticsearch.api_key: the API key is "
                "empty");
}

static void test_es_config_compression(void)
{
    check_error("output.elasticsearch.compression: zstd\n",
                "test.yaml:1: output.elasticsearch.compression: expected gzip "
                "or none, got 'zstd'");
    check_error("output.elasticsearch.compression_level: 13\n",
                "test.yaml:1: output.elasticsearch.compression_level: "
                "expected an integer from 1 to 12, got '13'");
    check_error("output.elasticsearch.compression_level: 0\n",
                "test.yaml:1: output.elasticsearch.compression_level: "
                "expected an integer from 1 to 12, got '0'");
}

static void test_es_config_batching_limits(void)
{
    check_error("output.elasticsearch.workers: 17\n",
                "test.yaml:1: output.elasticsearch.workers: expected an "
                "integer from 1 to 16, got '17'");
    check_error("output.elasticsearch.workers: 0\n",
                "test.yaml:1: output.elasticsearch.workers: expected an "
                "integer from 1 to 16, got '0'");
    check_error("output.elasticsearch.bulk_max_size: 0\n",
                "test.yaml:1: output.elasticsearch.bulk_max_size: expected an "
                "integer from 1 to 100000, got '0'");
    check_error("output.elasticsearch.bulk_max_bytes: 200MiB\n",
                "test.yaml:1: output.elasticsearch.bulk_max_bytes: expected a "
                "size from 1 byte to 100MiB, got 209715200 bytes");
    check_error("output.elasticsearch.bulk_max_bytes: 0\n",
                "test.yaml:1: output.elasticsearch.bulk_max_bytes: expected a "
                "size from 1 byte to 100MiB, got 0 bytes");
}

/* Parses `yaml`, which must be valid, and checks the request options. */
static void check_request(const char *yaml, const char *op_type,
                          bool dynamic, size_t routing_parts)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_STR_EQ(config.op_type, op_type);
    LF_CHECK_INT_EQ(lf_es_template_is_dynamic(&config.index_template),
                    dynamic);
    LF_CHECK_INT_EQ((int)config.routing.count, (int)routing_parts);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_es_config_index_templates(void)
{
    check_request("output.elasticsearch.index: logs-app-default\n", "create",
                  false, 0);
    check_request("output.elasticsearch.index: app-%{+yyyy.MM.dd}\n",
                  "index", true, 0);
    check_request("output.elasticsearch.index: logs-app-%{+yyyy.MM.dd}\n",
                  "create", true, 0);
    check_request("output.elasticsearch:\n"
                  "  index: logs-%{[service.name]}-default\n"
                  "  routing: \"%{[user.id]}\"\n",
                  "create", true, 1);
    check_request("output.elasticsearch:\n"
                  "  index: app-%{[service.name]}-%{+yyyy.MM}\n"
                  "  index_fallback: app-unknown\n",
                  "index", true, 0);
    check_request("output.elasticsearch:\n"
                  "  index: app-%{+yyyy.MM.dd}\n"
                  "  op_type: create\n",
                  "create", true, 0);

    check_error("output.elasticsearch.index: app-%{+yyyy.MM.dd\n",
                "test.yaml:1: output.elasticsearch.index: '%{' without a "
                "closing '}' in 'app-%{+yyyy.MM.dd'");
    check_error("output.elasticsearch.index: app-%{+YYYY.ww}\n",
                "test.yaml:1: output.elasticsearch.index: unsupported date "
                "pattern 'YYYY.ww' at 'Y': use yyyy, yy, MM, dd and HH "
                "separated by '.', '-' or '_'");
    check_error("output.elasticsearch.index: app-%{[]}\n",
                "test.yaml:1: output.elasticsearch.index: invalid field "
                "reference '%{[]}': write %{[field.name]}");
    check_error("output.elasticsearch.index: App-%{[a]}\n",
                "test.yaml:1: output.elasticsearch.index: invalid index name "
                "'App-%{[a]}': it must be lower case");
    check_error("output.elasticsearch:\n"
                "  index: app-%{[a]}\n"
                "  index_fallback: Bad\n",
                "test.yaml:3: output.elasticsearch.index_fallback: invalid "
                "index name 'Bad': it must be lower case");
    check_error("output.elasticsearch:\n"
                "  index: logs-app-default\n"
                "  op_type: index\n",
                "test.yaml:3: output.elasticsearch.op_type: data streams "
                "(logs-*-* names, here 'logs-app-default' or its fallback) "
                "accept only op_type: create");
    check_error("output.elasticsearch.op_type: upsert\n",
                "test.yaml:1: output.elasticsearch.op_type: expected create "
                "or index, got 'upsert'");
    check_error("output.elasticsearch.routing: \"\"\n",
                "test.yaml:1: output.elasticsearch.routing: empty routing "
                "(remove the key to send without routing)");
}

static void test_es_config_dead_letter(void)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch.workers: 2\n", &doc,
                               &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK(config.dead_letter);
    LF_CHECK(config.dead_letter_max_bytes == 100ULL * 1024 * 1024);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  dead_letter.enabled: false\n"
                               "  dead_letter.max_bytes: 1MiB\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK(!config.dead_letter);
    LF_CHECK(config.dead_letter_max_bytes == 1024 * 1024);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    check_error("output.elasticsearch.dead_letter.max_bytes: 1KiB\n",
                "test.yaml:1: output.elasticsearch.dead_letter.max_bytes: "
                "expected a size of at least 64KiB, got 1024 bytes; set "
                "dead_letter.enabled: false to keep no dead-letter queue");
}

static void test_es_config_durations(void)
{
    check_error("output.elasticsearch.flush_interval: 0s\n",
                "test.yaml:1: output.elasticsearch.flush_interval: expected a "
                "duration of at least 1ms, got 0");
    check_error("output.elasticsearch.timeout: 0\n",
                "test.yaml:1: output.elasticsearch.timeout: expected a "
                "duration of at least 1ms, got 0");
    check_error("output.elasticsearch:\n"
                "  backoff:\n"
                "    init: 10s\n"
                "    max: 5s\n",
                "test.yaml:4: output.elasticsearch.backoff.max: backoff.max "
                "(5000ms) is shorter than backoff.init (10000ms)");
}

static void test_es_config_cleanup_zeroed(void)
{
    struct lf_es_config config;

    memset(&config, 0, sizeof(config));
    lf_es_config_cleanup(&config);
    LF_CHECK(config.hosts == NULL);
}

int main(void)
{
    LF_RUN(test_es_config_defaults_when_missing);
    LF_RUN(test_es_config_defaults_when_empty);
    LF_RUN(test_es_config_every_key);
    LF_RUN(test_es_config_single_host_and_api_key);
    LF_RUN(test_es_config_invalid_urls);
    LF_RUN(test_es_config_rejects_credentials_in_url);
    LF_RUN(test_es_config_hides_password_in_bad_url);
    LF_RUN(test_es_config_hosts_shapes);
    LF_RUN(test_es_config_unknown_key);
    LF_RUN(test_es_config_invalid_index);
    LF_RUN(test_es_config_index_length_limit);
    LF_RUN(test_es_config_auth_combinations);
    LF_RUN(test_es_config_compression);
    LF_RUN(test_es_config_batching_limits);
    LF_RUN(test_es_config_durations);
    LF_RUN(test_es_config_index_templates);
    LF_RUN(test_es_config_dead_letter);
    LF_RUN(test_es_config_cleanup_zeroed);
    return lf_test_end();
}
