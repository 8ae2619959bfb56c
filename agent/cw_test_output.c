/*
 * `logferry test output` for CloudWatch Logs: credentials, then one
 * signed DescribeLogGroups call, on a private loop.
 */
#include "agent/cw_test_output.h"
#include "agent/agent.h"
#include "agent/net/http_client.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/aws_creds.h"
#include "outputs/cloudwatch/cw_encode.h"
#include "outputs/cloudwatch/cw_sign.h"

#include <jansson.h>
#include <uv.h>

#include <stdbool.h>
#include <string.h>
#include <time.h>

/* How long the credential lookup may take. */
#define CW_TEST_CREDENTIALS_TIMEOUT_MS 10000
#define CW_TEST_REQUEST_TIMEOUT_MS 10000
#define CW_TARGET_DESCRIBE_LOG_GROUPS LF_CW_TARGET_PREFIX ".DescribeLogGroups"

struct cw_probe {
    bool done;
    int error;
    long status;
    char *body;
    char *error_type;
    char error_text[256];
};

static void on_tick(uv_timer_t *timer)
{
    (void)timer;
}

static void on_deadline(uv_timer_t *timer)
{
    *(bool *)timer->data = true;
}

static void on_probe_done(void *arg, const struct lf_http_response *res)
{
    struct cw_probe *probe = arg;

    probe->done = true;
    probe->error = res->error;
    probe->status = res->status;
    probe->body = lf_strndup(res->body, res->body_len);
    probe->error_type =
        res->header_value != NULL ? lf_strdup(res->header_value) : NULL;
    snprintf(probe->error_text, sizeof(probe->error_text), "%s",
             res->error_text);
}

static const char *source_name(enum lf_aws_creds_source source)
{
    static const char *const names[] = {
        [LF_AWS_CREDS_NONE] = "none",
        [LF_AWS_CREDS_ENV] = "environment",
        [LF_AWS_CREDS_WEB_IDENTITY] = "web identity",
        [LF_AWS_CREDS_PROFILE] = "shared files",
        [LF_AWS_CREDS_ECS] = "ECS container credentials",
        [LF_AWS_CREDS_IMDS] = "EC2 instance profile",
        [LF_AWS_CREDS_ASSUMED_ROLE] = "assumed role",
        [LF_AWS_CREDS_PROCESS] = "credential_process",
    };

    return source < LF_ARRAY_SIZE(names) ? names[source] : "?";
}

/*
 * Runs the loop until credentials come or the lookup times out. The
 * timers belong to the caller, because they are closed here and must
 * live until the loop has finished closing them.
 */
static const struct lf_aws_credentials *
wait_for_credentials(uv_loop_t *loop, struct lf_aws_creds_provider *p,
                     uv_timer_t *tick, uv_timer_t *deadline)
{
    const struct lf_aws_credentials *creds;
    bool timed_out = false;

    uv_timer_init(loop, tick);
    uv_timer_init(loop, deadline);
    deadline->data = &timed_out;
    /* The tick lets failed lookups, retried every second, run again. */
    uv_timer_start(tick, on_tick, LF_AWS_CREDS_MIN_REFRESH_MS,
                   LF_AWS_CREDS_MIN_REFRESH_MS);
    uv_timer_start(deadline, on_deadline, CW_TEST_CREDENTIALS_TIMEOUT_MS, 0);
    creds = lf_aws_creds_get(p, (int64_t)time(NULL));
    while (creds == NULL && !timed_out) {
        uv_run(loop, UV_RUN_ONCE);
        creds = lf_aws_creds_get(p, (int64_t)time(NULL));
    }
    uv_close((uv_handle_t *)tick, NULL);
    uv_close((uv_handle_t *)deadline, NULL);
    return creds;
}

/* Appends the literal start of the log group template to `out`, nothing
 * when the template starts with a field. */
static void group_prefix(const struct lf_cw_config *cw, struct lf_buf *out)
{
    const struct lf_cw_name_template *tpl = &cw->group_template;

    if (tpl->count > 0 && !tpl->parts[0].field) {
        lf_buf_append(out, tpl->parts[0].text, tpl->parts[0].len);
    }
}

/* Splits the endpoint URL into the Host header and the request path. */
static void split_endpoint(const char *endpoint, struct lf_buf *host,
                           struct lf_buf *path, struct lf_buf *url)
{
    const char *authority = strstr(endpoint, "://") + 3;
    const char *slash = strchr(authority, '/');

    if (slash == NULL) {
        lf_buf_append_str(host, authority);
        lf_buf_append_str(path, "/");
        lf_buf_appendf(url, "%s/", endpoint);
    } else {
        lf_buf_append(host, authority, (size_t)(slash - authority));
        lf_buf_append_str(path, slash);
        lf_buf_append_str(url, endpoint);
    }
}

/* Prints the DescribeLogGroups result for the group. Returns true when
 * the call succeeded and, for a fixed name, the group exists or
 * auto_create is on. */
static bool report_groups(const struct lf_cw_config *cw,
                          const struct cw_probe *probe, const char *prefix,
                          FILE *out)
{
    struct lf_cw_error err;
    bool fixed =
        cw->group_template.count == 1 && !cw->group_template.parts[0].field;
    bool found = false;
    json_t *root;
    json_t *groups;
    size_t i;
    json_t *group;

    if (probe->error != 0) {
        fprintf(out, "access: FAILED: %s (%s)\n", lf_strerror(probe->error),
                probe->error_text);
        return false;
    }
    if (probe->status != 200) {
        lf_cw_error_init(&err);
        lf_cw_parse_error((int)probe->status, probe->error_type, probe->body,
                          strlen(probe->body), &err);
        fprintf(out, "access: FAILED: DescribeLogGroups: HTTP %ld %s: %s\n",
                probe->status, err.code[0] != '\0' ? err.code : "(no code)",
                err.message != NULL ? err.message : "(no message)");
        lf_cw_error_cleanup(&err);
        return false;
    }
    fprintf(out, "access: OK: DescribeLogGroups succeeded\n");
    if (!fixed) {
        fprintf(out,
                "log group: %s names event fields; groups starting "
                "with '%s' are not checked one by one\n",
                cw->log_group, prefix);
        return true;
    }
    root = json_loads(probe->body, 0, NULL);
    groups = json_object_get(root, "logGroups");
    json_array_foreach(groups, i, group)
    {
        const char *name =
            json_string_value(json_object_get(group, "logGroupName"));

        if (name != NULL && strcmp(name, cw->log_group) == 0) {
            found = true;
        }
    }
    json_decref(root);
    if (found) {
        fprintf(out, "log group: %s exists\n", cw->log_group);
    } else {
        fprintf(out, "log group: %s not found; %s\n", cw->log_group,
                cw->auto_create ? "auto_create creates it on first use"
                                : "create it, or set auto_create: true");
    }
    return found || cw->auto_create;
}

static void on_closed(void *arg)
{
    (void)arg;
}

int lf_cw_test_output_command(const struct lf_config *config, FILE *out)
{
    const struct lf_cw_config *cw = &config->cw;
    const struct lf_aws_credentials *creds;
    struct lf_aws_creds_provider *provider;
    struct lf_cw_signed_request signed_req;
    struct lf_sigv4_signer *signer = NULL;
    struct lf_http_client *http = NULL;
    struct lf_http_request req = {0};
    struct lf_sigv4_credentials sc;
    struct cw_probe probe = {0};
    struct lf_buf prefix, body, host, path, url;
    uv_loop_t loop;
    uv_timer_t tick;
    uv_timer_t deadline;
    bool ok = false;
    int rc;

    rc = uv_loop_init(&loop);
    if (rc != 0) {
        fprintf(stderr, "logferry: creating the event loop failed: %s\n",
                uv_strerror(rc));
        return LF_EXIT_FAILURE;
    }
    rc = lf_http_client_new(&loop, &http);
    if (rc != 0) {
        fprintf(stderr, "logferry: creating the HTTP client failed: %s\n",
                lf_strerror(rc));
        uv_loop_close(&loop);
        return LF_EXIT_FAILURE;
    }
    lf_buf_init(&prefix);
    lf_buf_init(&body);
    lf_buf_init(&host);
    lf_buf_init(&path);
    lf_buf_init(&url);
    lf_cw_signed_request_init(&signed_req);
    provider = lf_aws_creds_provider_new(&loop, http, cw->region, cw->profile,
                                         NULL, NULL);
    lf_aws_creds_set_process_timeout(
        provider, (uint64_t)cw->credential_process_timeout_ms);
    if (cw->role_arn != NULL) {
        lf_aws_creds_assume_role(provider, cw->role_arn, cw->role_session_name,
                                 cw->external_id);
    }
    fprintf(out, "output.cloudwatch: log group %s, region %s, endpoint %s\n",
            cw->log_group, cw->region, cw->endpoint);

    creds = wait_for_credentials(&loop, provider, &tick, &deadline);
    if (creds == NULL) {
        fprintf(out,
                "credentials: FAILED: none found within %ds (the "
                "reason is logged above)\n",
                CW_TEST_CREDENTIALS_TIMEOUT_MS / 1000);
        goto done;
    }
    fprintf(out, "credentials: OK: %s, access key %s\n",
            source_name(lf_aws_creds_source(provider)), creds->access_key_id);

    group_prefix(cw, &prefix);
    lf_buf_append_str(&body, "{");
    if (prefix.len > 0) {
        lf_buf_append_str(&body, "\"logGroupNamePrefix\":");
        lf_json_append_string(&body, prefix.data, prefix.len);
        lf_buf_append_char(&body, ',');
    }
    lf_buf_append_str(&body, "\"limit\":50}");
    split_endpoint(cw->endpoint, &host, &path, &url);
    signer = lf_sigv4_signer_new();
    sc.access_key_id = creds->access_key_id;
    sc.secret_access_key = creds->secret_access_key;
    sc.session_token = creds->session_token;
    rc = signer != NULL
             ? lf_cw_sign_request(signer, &sc, cw->region, host.data, path.data,
                                  CW_TARGET_DESCRIBE_LOG_GROUPS, body.data,
                                  body.len, (int64_t)time(NULL), &signed_req)
             : LF_EINVAL;
    if (rc == 0) {
        req.method = "POST";
        req.url = url.data;
        req.headers = signed_req.lines;
        req.header_count = signed_req.line_count;
        req.body = body.data;
        req.body_len = body.len;
        req.timeout_ms = CW_TEST_REQUEST_TIMEOUT_MS;
        req.capture_header = "X-Amzn-Errortype";
        rc = lf_http_client_send(http, &req, on_probe_done, &probe);
    }
    lf_cw_signed_request_wipe(&signed_req);
    if (rc != 0) {
        fprintf(out, "access: FAILED: %s\n", lf_strerror(rc));
        goto done;
    }
    while (!probe.done) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    ok = report_groups(cw, &probe, prefix.data != NULL ? prefix.data : "", out);

done:
    lf_aws_creds_provider_free(provider);
    lf_http_client_close(http, on_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    lf_sigv4_signer_free(signer);
    lf_cw_signed_request_cleanup(&signed_req);
    lf_buf_cleanup(&prefix);
    lf_buf_cleanup(&body);
    lf_buf_cleanup(&host);
    lf_buf_cleanup(&path);
    lf_buf_cleanup(&url);
    lf_free(probe.body);
    lf_free(probe.error_type);
    fprintf(out, ok ? "Result: OK: the output can ship\n"
                    : "Result: FAILED: the output cannot ship\n");
    return ok ? LF_EXIT_OK : LF_EXIT_FAILURE;
}
