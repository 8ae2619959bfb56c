/*
 * `logferry test output`: one request at a time on a private loop, with
 * the same URL, path prefix, proxy, TLS settings and credentials as the
 * output. Nothing is written to the cluster.
 */
#include "agent/test_output_command.h"
#include "agent/cw_test_output.h"
#include "agent/agent.h"
#include "agent/net/http_client.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <jansson.h>
#include <uv.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The checks wait at most this long per request, or `timeout` if shorter. */
#define TEST_OUTPUT_MAX_TIMEOUT_MS 30000

/* Bytes of a reply body quoted when it is not an Elasticsearch error. */
#define TEST_OUTPUT_BODY_QUOTE_MAX 200

/* Longest version, cluster or user name printed; longer ones are cut. */
#define TEST_OUTPUT_NAME_MAX 256

/* The privilege the output's `create` actions need on the index. */
#define TEST_OUTPUT_PRIVILEGE "create_doc"

/* The result of one request, copied out of the client's callback. */
struct probe {
    bool done;
    int error;
    long status;
    char *body;
    char *product; /* X-elastic-product, or NULL */
    char error_text[256];
};

struct checker {
    const struct lf_es_config *es;
    uv_loop_t loop;
    struct lf_http_client *http;
    char *auth_header;
    FILE *out;
};

static void on_probe_done(void *arg, const struct lf_http_response *res)
{
    struct probe *probe = arg;

    probe->done = true;
    probe->error = res->error;
    probe->status = res->status;
    probe->body = lf_strndup(res->body, res->body_len);
    probe->product =
        res->header_value != NULL ? lf_strdup(res->header_value) : NULL;
    snprintf(probe->error_text, sizeof(probe->error_text), "%s",
             res->error_text);
}

static void probe_cleanup(struct probe *probe)
{
    lf_free(probe->body);
    lf_free(probe->product);
    memset(probe, 0, sizeof(*probe));
}

/* Sends one request to `host` + path prefix + `path` and waits for it. */
static int run_probe(struct checker *checker, const char *host,
                     const char *method, const char *path, const char *body,
                     struct probe *probe)
{
    const struct lf_es_config *es = checker->es;
    const char *headers[2];
    size_t header_count = 0;
    struct lf_http_request req;
    struct lf_buf url;
    long timeout_ms = es->timeout_ms < TEST_OUTPUT_MAX_TIMEOUT_MS
                          ? (long)es->timeout_ms
                          : TEST_OUTPUT_MAX_TIMEOUT_MS;
    int rc;

    memset(probe, 0, sizeof(*probe));
    lf_buf_init(&url);
    lf_buf_appendf(&url, "%s%s%s", host, es->path != NULL ? es->path : "",
                   path);
    if (body != NULL) {
        headers[header_count++] = "Content-Type: application/json";
    }
    if (checker->auth_header != NULL) {
        headers[header_count++] = checker->auth_header;
    }
    req = (struct lf_http_request){
        .method = method,
        .url = url.data,
        .headers = headers,
        .header_count = header_count,
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
        .timeout_ms = timeout_ms,
        .proxy_url = es->proxy_url,
        .tls = &es->tls,
        .capture_header = "X-elastic-product",
    };
    rc = lf_http_client_send(checker->http, &req, on_probe_done, probe);
    lf_buf_cleanup(&url);
    while (rc == 0 && !probe->done) {
        uv_run(&checker->loop, UV_RUN_ONCE);
    }
    return rc;
}

/*
 * Replaces control characters in `text` with spaces, so that text from a
 * server cannot start a forged line or send terminal escape sequences.
 */
static char *make_printable(char *text)
{
    for (char *c = text; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = ' ';
        }
    }
    return text;
}

/* Copies a string of a server's reply into `out` with make_printable(). */
static const char *printable_copy(const char *text, char *out, size_t size)
{
    if (text == NULL) {
        return NULL;
    }
    snprintf(out, size, "%s", text);
    return make_printable(out);
}

/*
 * Describes a failed reply: "type: reason" of an Elasticsearch error, its
 * text form, or the start of the body.
 */
static void describe_reply(const struct probe *probe, char *out, size_t outlen)
{
    json_t *root = json_loads(probe->body, 0, NULL);
    json_t *error = json_object_get(root, "error");
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *reason = json_string_value(json_object_get(error, "reason"));

    if (type != NULL) {
        snprintf(out, outlen, "%s: %s", type, reason != NULL ? reason : "");
    } else if (json_is_string(error)) {
        snprintf(out, outlen, "%s", json_string_value(error));
    } else if (probe->body[0] == '\0') {
        snprintf(out, outlen, "empty body");
    } else {
        snprintf(out, outlen, "%.*s", TEST_OUTPUT_BODY_QUOTE_MAX, probe->body);
    }
    make_printable(out);
    json_decref(root);
}

static const char *verification_name(enum lf_tls_verify verify)
{
    switch (verify) {
    case LF_TLS_VERIFY_FULL:
        return "full";
    case LF_TLS_VERIFY_CERTIFICATE:
        return "certificate, so the host name is not checked";
    case LF_TLS_VERIFY_NONE:
        return "none, so the server is not authenticated";
    }
    return "?";
}

/* Prints the failure of a request that got no HTTP reply. */
static void print_transport_error(struct checker *checker,
                                  const struct probe *probe)
{
    const char *hint = "";

    if (probe->error == LF_ETLS) {
        hint = "; check ssl.certificate_authorities, "
               "ssl.ca_trusted_fingerprint, ssl.verification_mode and the "
               "client certificate";
    }
    fprintf(checker->out, "  connection: FAILED: %s (%s)%s\n",
            lf_strerror(probe->error), probe->error_text, hint);
}

static void print_http_error(struct checker *checker, const char *what,
                             const struct probe *probe)
{
    char why[512];
    const char *hint = "";

    describe_reply(probe, why, sizeof(why));
    if (probe->status == 401) {
        hint = checker->auth_header == NULL
                   ? "; no credentials are configured"
                   : "; check the configured credentials";
    }
    fprintf(checker->out, "  %s: FAILED: status %ld: %s%s\n", what,
            probe->status, why, hint);
}

/* GET /: reachable, Elasticsearch, and which version. */
static bool check_version(struct checker *checker, const char *host)
{
    struct probe probe;
    json_t *root = NULL;
    char number_text[TEST_OUTPUT_NAME_MAX];
    char cluster_text[TEST_OUTPUT_NAME_MAX];
    const char *number;
    const char *cluster;
    bool ok = false;
    int rc = run_probe(checker, host, "GET", "/", NULL, &probe);

    if (rc != 0) {
        fprintf(checker->out, "  connection: FAILED: %s\n", lf_strerror(rc));
        goto done;
    }
    if (probe.error != 0) {
        print_transport_error(checker, &probe);
        goto done;
    }
    if (strncasecmp(host, "https://", LF_STRLEN("https://")) == 0) {
        fprintf(checker->out, "  connection: OK (TLS, verification %s%s)\n",
                verification_name(checker->es->tls.verify),
                checker->es->tls.pin_ca ? ", CA fingerprint pinned" : "");
    } else {
        fprintf(checker->out, "  connection: OK (plain HTTP)\n");
    }
    if (probe.status != 200) {
        print_http_error(checker, "version", &probe);
        goto done;
    }

    root = json_loads(probe.body, 0, NULL);
    number = json_string_value(
        json_object_get(json_object_get(root, "version"), "number"));
    number = printable_copy(number, number_text, sizeof(number_text));
    cluster = json_string_value(json_object_get(root, "cluster_name"));
    cluster = printable_copy(cluster, cluster_text, sizeof(cluster_text));
    if (probe.product == NULL || strcmp(probe.product, "Elasticsearch") != 0) {
        fprintf(checker->out,
                "  version: FAILED: the reply has no 'X-elastic-product: "
                "Elasticsearch' header, so this is not Elasticsearch 7.14 "
                "or later, or a proxy removes the header\n");
    } else if (number == NULL) {
        fprintf(checker->out, "  version: FAILED: the reply to GET / has no "
                              "version.number\n");
    } else if (strtol(number, NULL, 10) < 8) {
        fprintf(checker->out,
                "  version: FAILED: Elasticsearch %s; logferry needs 8.0 "
                "or later\n",
                number);
    } else {
        fprintf(checker->out, "  version: %s (cluster %s)\n", number,
                cluster != NULL ? cluster : "unnamed");
        ok = true;
    }

done:
    json_decref(root);
    probe_cleanup(&probe);
    return ok;
}

/* Returns true when the reply means that the cluster runs no security. */
static bool security_is_off(const struct probe *probe)
{
    return (probe->status == 400 || probe->status == 404 ||
            probe->status == 500) &&
           (strstr(probe->body, "no handler found") != NULL ||
            strstr(probe->body, "Security must be explicitly enabled") != NULL);
}

/* POST _security/user/_has_privileges with create_doc on the index. */
static bool check_write_access(struct checker *checker, const char *host)
{
    const char *index = checker->es->index;
    struct probe probe;
    json_t *request;
    json_t *root = NULL;
    json_t *granted;
    char user_text[TEST_OUTPUT_NAME_MAX];
    const char *user;
    char *body;
    bool ok = false;
    int rc;

    request = json_pack("{s:[{s:[s],s:[s]}]}", "index", "names", index,
                        "privileges", TEST_OUTPUT_PRIVILEGE);
    body = json_dumps(request, JSON_COMPACT);
    json_decref(request);
    rc = run_probe(checker, host, "POST", "/_security/user/_has_privileges",
                   body, &probe);
    free(body);
    if (rc != 0 || probe.error != 0) {
        fprintf(checker->out, "  write access: FAILED: %s\n",
                lf_strerror(rc != 0 ? rc : probe.error));
        goto done;
    }
    if (security_is_off(&probe)) {
        fprintf(checker->out,
                "  write access: OK: security is disabled on this cluster, "
                "so anyone who can reach it may write\n");
        ok = true;
        goto done;
    }
    if (probe.status != 200) {
        print_http_error(checker, "write access", &probe);
        goto done;
    }

    root = json_loads(probe.body, 0, NULL);
    user = json_string_value(json_object_get(root, "username"));
    user = printable_copy(user, user_text, sizeof(user_text));
    granted =
        json_object_get(json_object_get(json_object_get(root, "index"), index),
                        TEST_OUTPUT_PRIVILEGE);
    if (!json_is_boolean(granted)) {
        fprintf(checker->out,
                "  write access: FAILED: the privileges reply does not "
                "answer %s on %s\n",
                TEST_OUTPUT_PRIVILEGE, index);
    } else if (!json_is_true(granted)) {
        fprintf(checker->out,
                "  write access: FAILED: user %s lacks the %s privilege on "
                "%s\n",
                user != NULL ? user : "?", TEST_OUTPUT_PRIVILEGE, index);
    } else {
        fprintf(checker->out,
                "  write access: OK: user %s has the %s privilege on %s\n",
                user != NULL ? user : "?", TEST_OUTPUT_PRIVILEGE, index);
        ok = true;
    }

done:
    json_decref(root);
    probe_cleanup(&probe);
    return ok;
}

static void on_client_closed(void *arg)
{
    (void)arg;
}

static int test_es_output(const struct lf_config *config, FILE *out)
{
    struct checker checker = {.es = &config->es, .out = out};
    size_t passed = 0;
    int rc;

    rc = uv_loop_init(&checker.loop);
    if (rc != 0) {
        fprintf(stderr, "logferry: creating the event loop failed: %s\n",
                uv_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    rc = lf_http_client_new(&checker.loop, &checker.http);
    if (rc != 0) {
        fprintf(stderr, "logferry: creating the HTTP client failed: %s\n",
                lf_strerror(rc));
        uv_loop_close(&checker.loop);
        return LF_EXIT_FAILURE;
    }
    checker.auth_header = lf_es_auth_header(&config->es);

    fprintf(out, "output.elasticsearch: index %s, %zu host%s\n",
            config->es.index, config->es.host_count,
            config->es.host_count == 1 ? "" : "s");
    for (size_t i = 0; i < config->es.host_count; i++) {
        const char *host = config->es.hosts[i];

        fprintf(out, "%s\n", host);
        if (check_version(&checker, host) &&
            check_write_access(&checker, host)) {
            passed++;
        }
    }

    lf_es_auth_header_free(checker.auth_header);
    lf_http_client_close(checker.http, on_client_closed, NULL);
    uv_run(&checker.loop, UV_RUN_DEFAULT);
    uv_loop_close(&checker.loop);

    if (passed == 0) {
        fprintf(out, "Result: FAILED: no host passed every check, so the "
                     "output cannot ship\n");
        return LF_EXIT_FAILURE;
    }
    fprintf(out,
            "Result: OK: the output can ship through %zu of %zu "
            "host%s\n",
            passed, config->es.host_count,
            config->es.host_count == 1 ? "" : "s");
    return LF_EXIT_OK;
}

int lf_test_output_command(const struct lf_config *config, FILE *out)
{
    int rc = LF_EXIT_OK;

    if (config->use_elasticsearch) {
        rc = test_es_output(config, out);
    }
    if (config->use_cloudwatch) {
        int cw_rc = lf_cw_test_output_command(config, out);

        if (rc == LF_EXIT_OK) {
            rc = cw_rc;
        }
    }
    return rc;
}
