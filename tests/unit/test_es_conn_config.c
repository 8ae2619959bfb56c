/*
 * Tests of the connection settings of `output.elasticsearch`: Cloud ID
 * decoding, credentials, the path prefix, the proxy and TLS. No test
 * makes a request.
 */
#include "outputs/elasticsearch/es_config.h"
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_test.h"

/*
 * A self-signed P-256 certificate with its key, and a key of another pair,
 * made with openssl for these tests only: they protect nothing.
 */
#define TEST_CERT_PEM                                                          \
    "-----BEGIN CERTIFICATE-----\n"                                            \
    "MIIBnzCCAUWgAwIBAgIUIxPKwKfXWSi076bc0htW8HUjtIswCgYIKoZIzj0EAwIw\n"       \
    "JDEiMCAGA1UEAwwZbG9nZmVycnkgdW5pdCB0ZXN0IGNsaWVudDAgFw0yNjEyMDUw\n"       \
    "MTUxMDlaGA8yMTI2MTExMTAxNTEwOVowJDEiMCAGA1UEAwwZbG9nZmVycnkgdW5p\n"       \
    "dCB0ZXN0IGNsaWVudDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHzZcJ87GzbC\n"       \
    "Pqn992rdyWMq4V0DnWGPmUpNWKAaZZuLcAZ6QX/0X8pHXYvDcQuVRXTGidshvLSI\n"       \
    "8CvfX9zqdtGjUzBRMB0GA1UdDgQWBBTNwZtXrhYRhduyurIBQ3eIszbXvDAfBgNV\n"       \
    "HSMEGDAWgBTNwZtXrhYRhduyurIBQ3eIszbXvDAPBgNVHRMBAf8EBTADAQH/MAoG\n"       \
    "CCqGSM49BAMCA0gAMEUCIAz7+GU1PQ4Fdsz3CUofWQ7BLPT5Cran4bRQGgOmY1ra\n"       \
    "AiEAiGGlE2xzzSq5fv60agVxqnloOpn4z4XhJDnzOBz4KAA=\n"                       \
    "-----END CERTIFICATE-----\n"
#define TEST_KEY_PEM                                                           \
    "-----BEGIN PRIVATE KEY-----\n"                                            \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFhQu0sWvRoorI49y\n"       \
    "dwIDcfvZXu9vUotAwVPFvp3ArAWhRANCAAR82XCfOxs2wj6p/fdq3cljKuFdA51h\n"       \
    "j5lKTVigGmWbi3AGekF/9F/KR12Lw3ELlUV0xonbIby0iPAr31/c6nbR\n"               \
    "-----END PRIVATE KEY-----\n"
#define TEST_OTHER_KEY_PEM                                                     \
    "-----BEGIN PRIVATE KEY-----\n"                                            \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGWyy+DkC3VmengNm\n"       \
    "wPFQ8U61TxPwskLJlMekBIOauVqhRANCAARUiAF52xvqu5Afi3YANp7RiQIeR2Wh\n"       \
    "64PqQNv7VDZ91MVOw9yq6QNAxTGYGbZ/LF2rxWN4C9FGWdSvBS/FeXE2\n"               \
    "-----END PRIVATE KEY-----\n"

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

static void check_error(const char *yaml, const char *expected)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
}

static void check_cloud_id(const char *cloud_id, const char *expected_url)
{
    const char *reason = NULL;
    char *url = lf_es_cloud_id_decode(cloud_id, &reason);

    LF_CHECK_STR_EQ(url, expected_url);
    LF_CHECK_STR_EQ(reason, NULL);
    lf_free(url);
}

static void check_cloud_id_invalid(const char *cloud_id,
                                   const char *expected_reason)
{
    const char *reason = NULL;
    char *url = lf_es_cloud_id_decode(cloud_id, &reason);

    LF_CHECK_STR_EQ(url, NULL);
    LF_CHECK_STR_EQ(reason, expected_reason);
    lf_free(url);
}

static void test_cloud_id_decoding(void)
{
    /* The example of Elastic's Cloud ID documentation. */
    check_cloud_id("staging:dXMtZWFzdC0xLmF3cy5mb3VuZC5pbyRjZWM2ZjI2MWE3NGJmMj"
                   "RjZTMzYmI4ODExYjg0Mjk0ZiRjNmMyY2E2ZDA0MjI0OWFmMGNjN2Q3YTll"
                   "OTYyNTc0Mw==",
                   "https://cec6f261a74bf24ce33bb8811b84294f.us-east-1.aws."
                   "found.io:443");
    /* Without the deployment name. */
    check_cloud_id("YS5iJGMkZA==", "https://c.a.b:443");
    /* The host's port applies to the Elasticsearch endpoint. */
    check_cloud_id("name:dXMtY2VudHJhbDEuZ2NwLmNsb3VkLmVzLmlvOjkyNDMkYWJjMTIz"
                   "JGRlZjQ1Ng==",
                   "https://abc123.us-central1.gcp.cloud.es.io:9243");
    /* A port on the Elasticsearch id wins. */
    check_cloud_id("name:dXMtY2VudHJhbDEuZ2NwLmNsb3VkLmVzLmlvJGFiYzEyMzo5MjAw"
                   "JGRlZjQ1Ng==",
                   "https://abc123.us-central1.gcp.cloud.es.io:9200");
    check_cloud_id("a:b:aG9zdC5leGFtcGxlOjkyNDMkZXNpZDo5MjQ0JGti",
                   "https://esid.host.example:9244");
}

static void test_cloud_id_invalid(void)
{
    static const char base64_reason[] =
        "the part after the last ':' is not valid base64";
    static const char parts_reason[] =
        "the decoded value is not <host>$<es id>$<kibana id>";
    static const char host_reason[] =
        "the decoded host or Elasticsearch id is not a valid host name and "
        "port";

    check_cloud_id_invalid("", base64_reason);
    check_cloud_id_invalid("name:", base64_reason);
    check_cloud_id_invalid("name:not base64!", base64_reason);
    check_cloud_id_invalid("name:YS5i", parts_reason);     /* "a.b" */
    check_cloud_id_invalid("name:YS5iJGM", base64_reason); /* no padding */
    check_cloud_id_invalid("name:JGVzJGti", host_reason);  /* "$es$kb" */
    check_cloud_id_invalid("name:aDo5OTk5OSRlcyRrYg==", host_reason);
    check_cloud_id_invalid("name:aC94JGVzJGti", host_reason); /* "h/x$es$kb" */
}

static void test_cloud_config(void)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  cloud.id: \"name:YS5iJGMkZA==\"\n"
                               "  cloud.auth: \"elastic:pa:ss\"\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_INT_EQ(config.host_count, 1);
    if (config.host_count == 1) {
        LF_CHECK_STR_EQ(config.hosts[0], "https://c.a.b:443");
    }
    LF_CHECK_STR_EQ(config.username, "elastic");
    LF_CHECK_STR_EQ(config.password, "pa:ss");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    check_error("output.elasticsearch:\n"
                "  hosts: [\"http://127.0.0.1:9200\"]\n"
                "  cloud.id: \"name:YS5iJGMkZA==\"\n",
                "test.yaml:3: output.elasticsearch.cloud.id: set either "
                "hosts or cloud.id, not both");
    check_error("output.elasticsearch:\n"
                "  cloud.id: \"name:YS5i\"\n",
                "test.yaml:2: output.elasticsearch.cloud.id: invalid "
                "cloud.id: the decoded value is not <host>$<es id>$<kibana "
                "id>");
    check_error("output.elasticsearch:\n"
                "  cloud.auth: \"elastic\"\n",
                "test.yaml:2: output.elasticsearch.cloud.auth: expected "
                "<user>:<password>");
    check_error("output.elasticsearch:\n"
                "  cloud.auth: \"elastic:secret\"\n"
                "  username: u\n"
                "  password: p\n",
                "test.yaml:2: output.elasticsearch.cloud.auth: set either "
                "cloud.auth or username and password, not both");
    check_error("output.elasticsearch:\n"
                "  cloud.auth: \"elastic:secret\"\n"
                "  api_key: \"id:key\"\n",
                "test.yaml:3: output.elasticsearch.api_key: set one of "
                "username and password, api_key, bearer_token or "
                "cloud.auth, not several");
}

static void test_bearer_token(void)
{
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  bearer_token: dGhpcyBpcyBhIHRva2Vu\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(config.bearer_token, "dGhpcyBpcyBhIHRva2Vu");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    check_error("output.elasticsearch:\n"
                "  bearer_token: \"two words\"\n",
                "test.yaml:2: output.elasticsearch.bearer_token: the bearer "
                "token is empty or contains white space");
    check_error("output.elasticsearch:\n"
                "  username: u\n"
                "  password: hunter2\n"
                "  bearer_token: abc\n",
                "test.yaml:4: output.elasticsearch.bearer_token: set one of "
                "username and password, api_key, bearer_token or "
                "cloud.auth, not several");
}

static void test_path_and_proxy(void)
{
    static const char *const dot_paths[] = {"/a/../../b/./c", "/..", "/.",
                                            "/es/./", "//../x"};
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  path: /es/\n"
                               "  proxy_url: http://127.0.0.1:3128\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(config.path, "/es");
    LF_CHECK_STR_EQ(config.proxy_url, "http://127.0.0.1:3128");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  path: /\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(config.path, NULL);
    LF_CHECK_STR_EQ(config.proxy_url, NULL);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    /* Dots inside a segment name are kept. */
    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  path: /v.1/..x/.y/\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(config.path, "/v.1/..x/.y");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    check_error("output.elasticsearch:\n"
                "  path: es\n",
                "test.yaml:2: output.elasticsearch.path: the path prefix "
                "must start with '/', as in /es");
    check_error("output.elasticsearch:\n"
                "  path: /es?x=1\n",
                "test.yaml:2: output.elasticsearch.path: the path prefix "
                "must not contain a query, a fragment, '%' or spaces");

    /* libcurl would send "/a/../../b/./c" as "/b/c". */
    for (size_t i = 0; i < LF_ARRAY_SIZE(dot_paths); i++) {
        char yaml[128];

        snprintf(yaml, sizeof(yaml), "output.elasticsearch:\n  path: %s\n",
                 dot_paths[i]);
        check_error(yaml, "test.yaml:2: output.elasticsearch.path: the path "
                          "prefix must not contain '.' or '..' segments, "
                          "which would be removed before sending");
    }
    check_error("output.elasticsearch:\n"
                "  proxy_url: ftp://proxy\n",
                "test.yaml:2: output.elasticsearch.proxy_url: invalid proxy "
                "URL 'ftp://proxy': it must start with http://, https://, "
                "socks5:// or socks5h://");
    /* A URL with a password is never quoted, whatever else is wrong. */
    check_error("output.elasticsearch:\n"
                "  proxy_url: ftp://user:hunter2@proxy\n",
                "test.yaml:2: output.elasticsearch.proxy_url: credentials in "
                "proxy_url are not supported; remove the user and password "
                "from the URL");
    check_error("output.elasticsearch:\n"
                "  proxy_url: http://user:hunter2@proxy:3128\n",
                "test.yaml:2: output.elasticsearch.proxy_url: credentials in "
                "proxy_url are not supported; remove the user and password "
                "from the URL");
}

static void test_tls_defaults_and_modes(void)
{
    static const struct {
        const char *mode;
        enum lf_tls_verify verify;
    } modes[] = {
        {"full", LF_TLS_VERIFY_FULL},
        {"certificate", LF_TLS_VERIFY_CERTIFICATE},
        {"none", LF_TLS_VERIFY_NONE},
    };
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";
    char yaml[256];

    LF_CHECK_INT_EQ(parse_yaml("output.elasticsearch:\n"
                               "  index: x\n",
                               &doc, &config, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ(config.tls.verify, LF_TLS_VERIFY_FULL);
    LF_CHECK(!config.tls.pin_ca);
    LF_CHECK_STR_EQ(config.tls.ca_pem, NULL);
    LF_CHECK_STR_EQ(config.tls.cert_pem, NULL);
    LF_CHECK_STR_EQ(config.tls.key_pem, NULL);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    for (size_t i = 0; i < LF_ARRAY_SIZE(modes); i++) {
        snprintf(yaml, sizeof(yaml),
                 "output.elasticsearch:\n  ssl.verification_mode: %s\n",
                 modes[i].mode);
        LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                        0);
        LF_CHECK_INT_EQ(config.tls.verify, modes[i].verify);
        lf_es_config_cleanup(&config);
        lf_conf_free(doc);
    }
    check_error("output.elasticsearch:\n"
                "  ssl.verification_mode: strict\n",
                "test.yaml:2: output.elasticsearch.ssl.verification_mode: "
                "expected full, certificate or none, got 'strict'");
}

static void test_tls_fingerprint(void)
{
    static const unsigned char expected[LF_TLS_SHA256_LEN] = {
        0x3b, 0x24, 0xd3, 0x38, 0x44, 0xd7, 0x77, 0xb8, 0xb1, 0xae, 0x3f,
        0x2e, 0x3e, 0x5e, 0x1b, 0x6b, 0xd7, 0x9a, 0x0a, 0x3b, 0x8f, 0x28,
        0xae, 0xf7, 0xb8, 0xb6, 0xe6, 0xe1, 0xd9, 0xd2, 0xd5, 0xd5,
    };
    static const char *const spellings[] = {
        "3b24d33844d777b8b1ae3f2e3e5e1b6bd79a0a3b8f28aef7b8b6e6e1d9d2d5d5",
        "3B:24:D3:38:44:D7:77:B8:B1:AE:3F:2E:3E:5E:1B:6B:D7:9A:0A:3B:8F:28:"
        "AE:F7:B8:B6:E6:E1:D9:D2:D5:D5",
    };
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";
    char yaml[256];

    for (size_t i = 0; i < LF_ARRAY_SIZE(spellings); i++) {
        snprintf(yaml, sizeof(yaml),
                 "output.elasticsearch:\n  ssl.ca_trusted_fingerprint: %s\n",
                 spellings[i]);
        LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                        0);
        LF_CHECK(config.tls.pin_ca);
        LF_CHECK(memcmp(config.tls.ca_sha256, expected, sizeof(expected)) == 0);
        lf_es_config_cleanup(&config);
        lf_conf_free(doc);
    }
    check_error("output.elasticsearch:\n"
                "  ssl.ca_trusted_fingerprint: 3b24d3\n",
                "test.yaml:2: output.elasticsearch.ssl.ca_trusted_fingerprint:"
                " invalid fingerprint '3b24d3': expected the SHA-256 of the "
                "CA certificate as 64 hex digits, as printed by 'openssl "
                "x509 -fingerprint -sha256'");
    check_error("output.elasticsearch:\n"
                "  ssl.verification_mode: none\n"
                "  ssl.ca_trusted_fingerprint: "
                "3b24d33844d777b8b1ae3f2e3e5e1b6bd79a0a3b8f28aef7b8b6e6e1d9d2d5"
                "d5\n",
                "test.yaml:3: output.elasticsearch.ssl.ca_trusted_fingerprint:"
                " a CA fingerprint has no effect with ssl.verification_mode: "
                "none; remove one of them");
}

/* Writes `content` to a new temporary file named in `path`. */
static bool write_temp(char *path, const char *content)
{
    int fd = mkstemp(path);
    size_t len = strlen(content);
    bool ok;

    LF_CHECK(fd >= 0);
    if (fd < 0) {
        return false;
    }
    ok = write(fd, content, len) == (ssize_t)len;
    close(fd);
    return ok;
}

static void test_tls_files_and_inline(void)
{
    char ca_path[] = "/tmp/lf_test_ca_XXXXXX";
    char key_path[] = "/tmp/lf_test_key_XXXXXX";
    char other_key_path[] = "/tmp/lf_test_key_XXXXXX";
    char bad_key_path[] = "/tmp/lf_test_key_XXXXXX";
    struct lf_es_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";
    char yaml[1024];

    if (!write_temp(ca_path, TEST_CERT_PEM) ||
        !write_temp(key_path, TEST_KEY_PEM)) {
        LF_FAIL_AT("cannot write temporary files");
        return;
    }
    snprintf(yaml, sizeof(yaml),
             "output.elasticsearch:\n"
             "  ssl.certificate_authorities:\n"
             "    - %s\n"
             "    - |\n"
             "      -----BEGIN CERTIFICATE-----\n"
             "      MIIC\n"
             "      -----END CERTIFICATE-----\n"
             "  ssl.certificate: %s\n"
             "  ssl.key: %s\n",
             ca_path, ca_path, key_path);
    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_STR_EQ(config.tls.ca_pem,
                    TEST_CERT_PEM "\n-----BEGIN CERTIFICATE-----\nMIIC\n"
                                  "-----END CERTIFICATE-----\n\n");
    LF_CHECK_STR_EQ(config.tls.cert_pem, TEST_CERT_PEM "\n");
    LF_CHECK_STR_EQ(config.tls.key_pem, TEST_KEY_PEM "\n");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    /* The key must be the certificate's, and both must be PEM. */
    if (write_temp(other_key_path, TEST_OTHER_KEY_PEM) &&
        write_temp(bad_key_path, "-----BEGIN PRIVATE KEY-----\nMIIE\n"
                                 "-----END PRIVATE KEY-----\n")) {
        snprintf(yaml, sizeof(yaml),
                 "output.elasticsearch:\n"
                 "  ssl.certificate: %s\n"
                 "  ssl.key: %s\n",
                 ca_path, other_key_path);
        LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                        LF_ECONFIG);
        LF_CHECK_STR_EQ(errbuf,
                        "test.yaml:3: output.elasticsearch.ssl.key: the "
                        "private key does not match ssl.certificate; set "
                        "the key the certificate was issued for");
        lf_es_config_cleanup(&config);
        lf_conf_free(doc);

        snprintf(yaml, sizeof(yaml),
                 "output.elasticsearch:\n"
                 "  ssl.certificate: %s\n"
                 "  ssl.key: %s\n",
                 ca_path, bad_key_path);
        LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                        LF_ECONFIG);
        LF_CHECK_STR_EQ(errbuf,
                        "test.yaml:3: output.elasticsearch.ssl.key: reading "
                        "the client certificate or its key failed; both "
                        "must be PEM");
        lf_es_config_cleanup(&config);
        lf_conf_free(doc);
    } else {
        LF_FAIL_AT("cannot write temporary files");
    }
    unlink(other_key_path);
    unlink(bad_key_path);

    /* A single file needs no list; a certificate needs its key. */
    snprintf(yaml, sizeof(yaml),
             "output.elasticsearch:\n"
             "  ssl.certificate_authorities: %s\n"
             "  ssl.certificate: %s\n",
             ca_path, ca_path);
    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yaml:3: output.elasticsearch."
                            "ssl.certificate: set both ssl.certificate and "
                            "ssl.key, or neither");
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    /* A key file given as a CA has no certificate block. */
    snprintf(yaml, sizeof(yaml),
             "output.elasticsearch:\n"
             "  ssl.certificate_authorities: [%s]\n",
             key_path);
    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    snprintf(yaml, sizeof(yaml),
             "test.yaml:2: output.elasticsearch.ssl.certificate_authorities[0]"
             ": ssl.certificate_authorities: '%s' contains no PEM "
             "'CERTIFICATE-----' block",
             key_path);
    LF_CHECK_STR_EQ(errbuf, yaml);
    LF_CHECK(strstr(errbuf, "MIIE") == NULL);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);

    unlink(ca_path);
    unlink(key_path);

    check_error("output.elasticsearch:\n"
                "  ssl.certificate_authorities: [/nonexistent/ca.pem]\n",
                "test.yaml:2: output.elasticsearch.ssl.certificate_"
                "authorities[0]: ssl.certificate_authorities: reading "
                "'/nonexistent/ca.pem' failed: no such file or directory");
    check_error("output.elasticsearch:\n"
                "  ssl.certificate_authorities: []\n",
                "test.yaml:2: output.elasticsearch.ssl.certificate_"
                "authorities: expected at least one file or PEM certificate, "
                "got an empty list");
}

int main(void)
{
    LF_RUN(test_cloud_id_decoding);
    LF_RUN(test_cloud_id_invalid);
    LF_RUN(test_cloud_config);
    LF_RUN(test_bearer_token);
    LF_RUN(test_path_and_proxy);
    LF_RUN(test_tls_defaults_and_modes);
    LF_RUN(test_tls_fingerprint);
    LF_RUN(test_tls_files_and_inline);
    return lf_test_end();
}
