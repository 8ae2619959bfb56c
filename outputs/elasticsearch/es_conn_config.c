/*
 * Connection settings of `output.elasticsearch`: the path prefix, the
 * proxy, bearer tokens, Elastic Cloud IDs and TLS. Messages name the key
 * and its line, and never quote a password, key or token.
 */
#include "outputs/elasticsearch/es_config.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Elastic Cloud endpoints listen on 443 unless the Cloud ID names a port. */
#define ES_CLOUD_DEFAULT_PORT "443"

/* Certificate and key files larger than this are rejected as mistakes. */
#define ES_MAX_PEM_FILE_BYTES (1024 * 1024)

const char *const lf_es_conn_keys[LF_ES_CONN_KEY_COUNT] = {
    "path",
    "proxy_url",
    "bearer_token",
    "cloud.id",
    "cloud.auth",
    "ssl.certificate_authorities",
    "ssl.certificate",
    "ssl.key",
    "ssl.verification_mode",
    "ssl.ca_trusted_fingerprint",
};

/* ---- Cloud ID ---- */

static int base64_value(char c)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

    return p == NULL ? -1 : (int)(p - alphabet);
}

/*
 * Decodes standard base64 with padding into `out`. Returns false on a
 * character outside the alphabet or a length that is not a multiple of 4.
 */
static bool decode_base64(const char *in, struct lf_buf *out)
{
    size_t len = strlen(in);

    if (len == 0 || len % 4 != 0) {
        return false;
    }
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        bool last = i + 4 == len;

        for (size_t k = 0; k < 4; k++) {
            v[k] = base64_value(in[i + k]);
        }
        if (v[0] < 0 || v[1] < 0) {
            return false;
        }
        lf_buf_append_char(out, (char)(v[0] << 2 | v[1] >> 4));
        if (last && in[i + 2] == '=' && in[i + 3] == '=') {
            break;
        }
        if (v[2] < 0) {
            return false;
        }
        lf_buf_append_char(out, (char)((v[1] & 15) << 4 | v[2] >> 2));
        if (last && in[i + 3] == '=') {
            break;
        }
        if (v[3] < 0) {
            return false;
        }
        lf_buf_append_char(out, (char)((v[2] & 3) << 6 | v[3]));
    }
    return true;
}

static bool is_host_part(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

static bool is_port(const char *s, size_t len)
{
    unsigned long port = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/*
 * Splits "name[:port]" of a decoded Cloud ID. `*port` keeps its value
 * when the part names no port.
 */
static bool split_port(const char *part, size_t len, size_t *name_len,
                       const char **port, size_t *port_len)
{
    const char *colon = memchr(part, ':', len);

    *name_len = len;
    if (colon != NULL) {
        *name_len = (size_t)(colon - part);
        *port = colon + 1;
        *port_len = len - *name_len - 1;
        if (!is_port(*port, *port_len)) {
            return false;
        }
    }
    return is_host_part(part, *name_len);
}

/*
 * The format Elastic documents: an optional "<deployment name>:" before
 * base64 of "<host>[:port]$<es id>[:port]$<kibana id>[:port]". The
 * Elasticsearch URL is https://<es id>.<host>:<port>. A port on the es id
 * wins over the host's, which wins over 443.
 */
char *lf_es_cloud_id_decode(const char *cloud_id, const char **reason)
{
    const char *encoded = strrchr(cloud_id, ':');
    const char *port = ES_CLOUD_DEFAULT_PORT;
    size_t port_len = LF_STRLEN(ES_CLOUD_DEFAULT_PORT);
    const char *host;
    const char *es_id;
    const char *end;
    size_t host_len;
    size_t id_len;
    struct lf_buf decoded;
    struct lf_buf url;

    encoded = encoded == NULL ? cloud_id : encoded + 1;
    lf_buf_init(&decoded);
    lf_buf_init(&url);
    if (!decode_base64(encoded, &decoded) || decoded.len == 0 ||
        memchr(decoded.data, '\0', decoded.len) != NULL) {
        *reason = "the part after the last ':' is not valid base64";
        goto fail;
    }

    host = decoded.data;
    es_id = strchr(host, '$');
    end = es_id == NULL ? NULL : strchr(es_id + 1, '$');
    if (end == NULL) {
        *reason = "the decoded value is not <host>$<es id>$<kibana id>";
        goto fail;
    }
    es_id++;
    if (!split_port(host, (size_t)(es_id - 1 - host), &host_len, &port,
                    &port_len) ||
        !split_port(es_id, (size_t)(end - es_id), &id_len, &port, &port_len)) {
        *reason = "the decoded host or Elasticsearch id is not a valid host "
                  "name and port";
        goto fail;
    }

    lf_buf_appendf(&url, "https://%.*s.%.*s:%.*s", (int)id_len, es_id,
                   (int)host_len, host, (int)port_len, port);
    lf_buf_cleanup(&decoded);
    return url.data;

fail:
    lf_buf_cleanup(&decoded);
    lf_buf_cleanup(&url);
    return NULL;
}

/* ---- helpers ---- */

static int key_error(const struct lf_conf_node *section, const char *key,
                     char *errbuf, size_t errlen, const char *message)
{
    struct lf_conf_node node;

    lf_conf_child(section, key, &node);
    return lf_conf_error(&node, errbuf, errlen, "%s", message);
}

/* Reads a whole file of at most ES_MAX_PEM_FILE_BYTES into `out`. */
static int read_small_file(const char *path, struct lf_buf *out)
{
    char chunk[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0) {
            break;
        }
        if (out->len + (size_t)n > ES_MAX_PEM_FILE_BYTES) {
            rc = LF_ETOOBIG;
            break;
        }
        lf_buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return rc;
}

/*
 * Appends the PEM text of `node`: the value itself when it contains a
 * PEM header, else the file it names. `marker` is the header the text
 * must contain ("CERTIFICATE-----").
 */
static int append_pem(const struct lf_conf_node *node, const char *key,
                      const char *marker, struct lf_buf *out, char *errbuf,
                      size_t errlen)
{
    const char *value;
    size_t start = out->len;
    int rc = lf_conf_scalar(node, &value, errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    if (strstr(value, "-----BEGIN ") != NULL) {
        if (strstr(value, marker) == NULL) {
            return lf_conf_error(node, errbuf, errlen,
                                 "%s: the inline PEM has no '%s' block", key,
                                 marker);
        }
        lf_buf_append_str(out, value);
        lf_buf_append_char(out, '\n');
        return 0;
    }
    if (value[0] == '\0') {
        return lf_conf_error(node, errbuf, errlen,
                             "%s: expected a file name or inline PEM, got an "
                             "empty value",
                             key);
    }
    rc = read_small_file(value, out);
    if (rc != 0) {
        return lf_conf_error(
            node, errbuf, errlen, "%s: reading '%s' failed: %s", key, value,
            rc == LF_ETOOBIG ? "larger than 1 MiB" : lf_strerror(rc));
    }
    lf_buf_append_char(out, '\n');
    if (strstr(out->data + start, marker) == NULL) {
        return lf_conf_error(node, errbuf, errlen,
                             "%s: '%s' contains no PEM '%s' block", key, value,
                             marker);
    }
    return 0;
}

/* ---- path, proxy and credentials ---- */

static int parse_path(const struct lf_conf_node *section,
                      struct lf_es_config *out, char *errbuf, size_t errlen)
{
    const char *path;
    size_t len;
    int rc = lf_conf_get_str(section, "path", NULL, &path, errbuf, errlen);

    if (rc != 0 || path == NULL) {
        return rc;
    }
    if (path[0] != '/') {
        return key_error(section, "path", errbuf, errlen,
                         "the path prefix must start with '/', as in /es");
    }
    for (const char *c = path; *c != '\0'; c++) {
        if (*c == '?' || *c == '#' || *c == '%' || isspace((unsigned char)*c) ||
            iscntrl((unsigned char)*c)) {
            return key_error(section, "path", errbuf, errlen,
                             "the path prefix must not contain a query, a "
                             "fragment, '%' or spaces");
        }
    }
    if (lf_es_path_has_dot_segment(path)) {
        return key_error(section, "path", errbuf, errlen,
                         "the path prefix must not contain '.' or '..' "
                         "segments, which would be removed before sending");
    }
    len = strlen(path);
    while (len > 0 && path[len - 1] == '/') {
        len--;
    }
    if (len > 0) {
        out->path = lf_strndup(path, len);
    }
    return 0;
}

static int parse_proxy(const struct lf_conf_node *section,
                       struct lf_es_config *out, char *errbuf, size_t errlen)
{
    static const char *const schemes[] = {"http://", "https://", "socks5://",
                                          "socks5h://"};
    const char *url;
    bool known = false;
    int rc = lf_conf_get_str(section, "proxy_url", NULL, &url, errbuf, errlen);

    if (rc != 0 || url == NULL) {
        return rc;
    }
    /*
     * NOTE: proxy authentication is not supported. Checked first, so that
     * no message quotes a URL with a password.
     */
    if (strchr(url, '@') != NULL) {
        return key_error(section, "proxy_url", errbuf, errlen,
                         "credentials in proxy_url are not supported; "
                         "remove the user and password from the URL");
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(schemes); i++) {
        if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0) {
            known = true;
        }
    }
    if (!known) {
        struct lf_conf_node node;

        lf_conf_child(section, "proxy_url", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid proxy URL '%s': it must start with "
                             "http://, https://, socks5:// or socks5h://",
                             url);
    }
    out->proxy_url = url;
    return 0;
}

/* Rejects a configuration with more than one kind of credentials. */
static int check_one_credential(const struct lf_conf_node *section,
                                const struct lf_es_config *out, char *errbuf,
                                size_t errlen)
{
    struct lf_conf_node node;
    int kinds = (out->username != NULL) + (out->api_key != NULL) +
                (out->bearer_token != NULL);

    if (kinds <= 1) {
        return 0;
    }
    lf_conf_child(
        section, out->bearer_token != NULL ? "bearer_token" : "api_key", &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "set one of username and password, api_key, "
                         "bearer_token or cloud.auth, not several");
}

static int parse_cloud_auth(const struct lf_conf_node *section,
                            struct lf_es_config *out, char *errbuf,
                            size_t errlen)
{
    const char *auth;
    const char *colon;
    int rc =
        lf_conf_get_str(section, "cloud.auth", NULL, &auth, errbuf, errlen);

    if (rc != 0 || auth == NULL) {
        return rc;
    }
    colon = strchr(auth, ':');
    if (colon == NULL || colon == auth || colon[1] == '\0') {
        return key_error(section, "cloud.auth", errbuf, errlen,
                         "expected <user>:<password>");
    }
    if (out->username != NULL) {
        return key_error(section, "cloud.auth", errbuf, errlen,
                         "set either cloud.auth or username and password, "
                         "not both");
    }
    out->cloud_auth = lf_strdup(auth);
    out->cloud_auth[colon - auth] = '\0';
    out->username = out->cloud_auth;
    out->password = out->cloud_auth + (colon - auth) + 1;
    return 0;
}

static int parse_cloud(const struct lf_conf_node *section,
                       struct lf_es_config *out, char *errbuf, size_t errlen)
{
    struct lf_conf_node hosts;
    const char *cloud_id;
    const char *reason = NULL;
    char *url;
    int rc =
        lf_conf_get_str(section, "cloud.id", NULL, &cloud_id, errbuf, errlen);

    if (rc == 0) {
        rc = parse_cloud_auth(section, out, errbuf, errlen);
    }
    if (rc != 0 || cloud_id == NULL) {
        return rc;
    }
    if (lf_conf_child(section, "hosts", &hosts) == 0 &&
        lf_conf_kind(&hosts) != LF_CONF_NULL) {
        return key_error(section, "cloud.id", errbuf, errlen,
                         "set either hosts or cloud.id, not both");
    }
    url = lf_es_cloud_id_decode(cloud_id, &reason);
    if (url == NULL) {
        struct lf_conf_node node;

        lf_conf_child(section, "cloud.id", &node);
        return lf_conf_error(&node, errbuf, errlen, "invalid cloud.id: %s",
                             reason);
    }
    /* parse_hosts() stored the default host. */
    lf_free((void *)(uintptr_t)out->hosts[0]);
    out->hosts[0] = url;
    out->host_count = 1;
    return 0;
}

static int parse_credentials(const struct lf_conf_node *section,
                             struct lf_es_config *out, char *errbuf,
                             size_t errlen)
{
    int rc = lf_conf_get_str(section, "bearer_token", NULL, &out->bearer_token,
                             errbuf, errlen);

    if (rc == 0 && out->bearer_token != NULL &&
        (out->bearer_token[0] == '\0' ||
         strpbrk(out->bearer_token, " \t\r\n") != NULL)) {
        return key_error(section, "bearer_token", errbuf, errlen,
                         "the bearer token is empty or contains white "
                         "space");
    }
    if (rc == 0) {
        rc = parse_cloud(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = check_one_credential(section, out, errbuf, errlen);
    }
    return rc;
}

/* ---- TLS ---- */

static int parse_verification_mode(const struct lf_conf_node *section,
                                   struct lf_es_config *out, char *errbuf,
                                   size_t errlen)
{
    const char *mode;
    int rc = lf_conf_get_str(section, "ssl.verification_mode", "full", &mode,
                             errbuf, errlen);

    if (rc != 0) {
        return rc;
    }
    if (strcmp(mode, "full") == 0) {
        out->tls.verify = LF_TLS_VERIFY_FULL;
    } else if (strcmp(mode, "certificate") == 0) {
        out->tls.verify = LF_TLS_VERIFY_CERTIFICATE;
    } else if (strcmp(mode, "none") == 0) {
        out->tls.verify = LF_TLS_VERIFY_NONE;
    } else {
        struct lf_conf_node node;

        lf_conf_child(section, "ssl.verification_mode", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "expected full, certificate or none, got '%s'",
                             mode);
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 64 hex digits, in either case, optionally in pairs split by ':'. */
static int parse_fingerprint(const struct lf_conf_node *section,
                             struct lf_es_config *out, char *errbuf,
                             size_t errlen)
{
    const char *text;
    size_t n = 0;
    int rc = lf_conf_get_str(section, "ssl.ca_trusted_fingerprint", NULL, &text,
                             errbuf, errlen);

    if (rc != 0 || text == NULL) {
        return rc;
    }
    for (const char *p = text; *p != '\0'; p++) {
        int high = hex_value(p[0]);
        int low = high < 0 ? -1 : hex_value(p[1]);

        if (low < 0 || n == LF_TLS_SHA256_LEN) {
            n = 0;
            break;
        }
        out->tls.ca_sha256[n++] = (unsigned char)(high << 4 | low);
        p++;
        if (p[1] == ':' && p[2] != '\0') {
            p++;
        }
    }
    if (n != LF_TLS_SHA256_LEN) {
        struct lf_conf_node node;

        lf_conf_child(section, "ssl.ca_trusted_fingerprint", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid fingerprint '%s': expected the SHA-256 "
                             "of the CA certificate as 64 hex digits, as "
                             "printed by 'openssl x509 -fingerprint -sha256'",
                             text);
    }
    out->tls.pin_ca = true;
    if (out->tls.verify == LF_TLS_VERIFY_NONE) {
        return key_error(section, "ssl.ca_trusted_fingerprint", errbuf, errlen,
                         "a CA fingerprint has no effect with "
                         "ssl.verification_mode: none; remove one of them");
    }
    return 0;
}

static int parse_authorities(const struct lf_conf_node *section,
                             struct lf_es_config *out, char *errbuf,
                             size_t errlen)
{
    static const char key[] = "ssl.certificate_authorities";
    struct lf_conf_node list;
    struct lf_buf pem;
    int rc = 0;

    lf_conf_child(section, key, &list);
    if (lf_conf_kind(&list) == LF_CONF_MISSING ||
        lf_conf_kind(&list) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&list) == LF_CONF_MAP) {
        return lf_conf_error(&list, errbuf, errlen,
                             "expected a list of files or PEM certificates, "
                             "got a map");
    }

    lf_buf_init(&pem);
    if (lf_conf_kind(&list) == LF_CONF_SCALAR) {
        rc = append_pem(&list, key, "CERTIFICATE-----", &pem, errbuf, errlen);
    } else if (lf_conf_size(&list) == 0) {
        rc = lf_conf_error(&list, errbuf, errlen,
                           "expected at least one file or PEM certificate, "
                           "got an empty list");
    }
    for (size_t i = 0; rc == 0 && lf_conf_kind(&list) == LF_CONF_LIST &&
                       i < lf_conf_size(&list);
         i++) {
        struct lf_conf_node entry;

        lf_conf_at(&list, i, &entry);
        rc = append_pem(&entry, key, "CERTIFICATE-----", &pem, errbuf, errlen);
    }
    if (rc != 0) {
        lf_buf_cleanup(&pem);
        return rc;
    }
    out->tls.ca_pem = pem.data;
    return 0;
}

static int read_pem_key(const struct lf_conf_node *section, const char *key,
                        const char *marker, const char **out, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node node;
    struct lf_buf pem;
    int rc;

    if (lf_conf_child(section, key, &node) != 0 ||
        lf_conf_kind(&node) == LF_CONF_NULL) {
        return 0;
    }
    lf_buf_init(&pem);
    rc = append_pem(&node, key, marker, &pem, errbuf, errlen);
    if (rc != 0) {
        if (pem.data != NULL) {
            memset(pem.data, 0, pem.len);
        }
        lf_buf_cleanup(&pem);
        return rc;
    }
    *out = pem.data;
    return 0;
}

static int parse_client_certificate(const struct lf_conf_node *section,
                                    struct lf_es_config *out, char *errbuf,
                                    size_t errlen)
{
    int rc = read_pem_key(section, "ssl.certificate", "CERTIFICATE-----",
                          &out->tls.cert_pem, errbuf, errlen);

    if (rc == 0) {
        rc = read_pem_key(section, "ssl.key", "PRIVATE KEY-----",
                          &out->tls.key_pem, errbuf, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    if ((out->tls.cert_pem == NULL) != (out->tls.key_pem == NULL)) {
        return key_error(
            section, out->tls.cert_pem != NULL ? "ssl.certificate" : "ssl.key",
            errbuf, errlen, "set both ssl.certificate and ssl.key, or neither");
    }
    /* NOTE: no passphrase option exists, so encrypted keys are rejected. */
    if (out->tls.key_pem != NULL &&
        strstr(out->tls.key_pem, "ENCRYPTED") != NULL) {
        return key_error(section, "ssl.key", errbuf, errlen,
                         "encrypted private keys are not supported; decrypt "
                         "it with 'openssl pkey'");
    }
    if (out->tls.key_pem == NULL) {
        return 0;
    }
    rc = lf_http_tls_check_client_key(out->tls.cert_pem, out->tls.key_pem);
    if (rc == LF_EPARSE) {
        return key_error(section, "ssl.key", errbuf, errlen,
                         "reading the client certificate or its key "
                         "failed; both must be PEM");
    }
    if (rc != 0) {
        return key_error(section, "ssl.key", errbuf, errlen,
                         "the private key does not match ssl.certificate; "
                         "set the key the certificate was issued for");
    }
    return 0;
}

static int parse_tls(const struct lf_conf_node *section,
                     struct lf_es_config *out, char *errbuf, size_t errlen)
{
    int rc = parse_verification_mode(section, out, errbuf, errlen);

    if (rc == 0) {
        rc = parse_fingerprint(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_authorities(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_client_certificate(section, out, errbuf, errlen);
    }
    return rc;
}

int lf_es_conn_config_parse(const struct lf_conf_node *section,
                            struct lf_es_config *out, char *errbuf,
                            size_t errlen)
{
    int rc = parse_path(section, out, errbuf, errlen);

    if (rc == 0) {
        rc = parse_proxy(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_credentials(section, out, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_tls(section, out, errbuf, errlen);
    }
    return rc;
}

static void free_secret(const char *secret)
{
    char *s = (char *)(uintptr_t)secret;

    if (s != NULL) {
        memset(s, 0, strlen(s));
        lf_free(s);
    }
}

void lf_es_conn_config_cleanup(struct lf_es_config *config)
{
    lf_free((void *)(uintptr_t)config->path);
    if (config->cloud_auth != NULL) {
        /* Two strings: the user name and, after its NUL, the password. */
        size_t user_len = strlen(config->cloud_auth);
        size_t password_len = strlen(config->cloud_auth + user_len + 1);

        memset(config->cloud_auth, 0, user_len + 1 + password_len);
        lf_free(config->cloud_auth);
    }
    lf_free((void *)(uintptr_t)config->tls.ca_pem);
    lf_free((void *)(uintptr_t)config->tls.cert_pem);
    free_secret(config->tls.key_pem);
    config->path = NULL;
    config->cloud_auth = NULL;
    config->tls.ca_pem = NULL;
    config->tls.cert_pem = NULL;
    config->tls.key_pem = NULL;
}
