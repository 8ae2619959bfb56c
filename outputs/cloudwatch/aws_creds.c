/*
 * The credential chain: environment, shared files, ECS container
 * endpoint. The first two are read synchronously when a lookup starts;
 * the endpoint is fetched through the agent's HTTP client.
 */
#include "outputs/cloudwatch/aws_creds.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/aws_process.h"
#include "outputs/cloudwatch/aws_profile.h"
#include "outputs/cloudwatch/sigv4.h"

#include <jansson.h>

#include <stdarg.h>
#include <strings.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CREDS_LOG "cloudwatch"
#define ECS_TIMEOUT_MS 5000
/* On EC2, IMDS responds at once. Elsewhere nothing listens there. */
#define IMDS_TIMEOUT_MS 2000
#define IMDS_CONNECT_TIMEOUT_MS 1000
#define IMDS_TOKEN_TTL_S "21600"
#define IMDS_ROLE_PATH "/latest/meta-data/iam/security-credentials/"
#define STS_TIMEOUT_MS 10000
#define TOKEN_FILE_MAX 16384

/* Step of a fetch; the IMDS steps run in this order. */
enum fetch_step {
    FETCH_ECS,
    FETCH_IMDS_TOKEN,
    FETCH_IMDS_ROLE,
    FETCH_IMDS_CREDENTIALS,
    FETCH_STS,
    FETCH_ASSUME_ROLE,
    FETCH_PROCESS,
};

struct creds_fetch {
    struct lf_aws_creds_provider *provider; /* NULL once it is freed */
    enum fetch_step step;
    char *imds_base;    /* IMDS base URL */
    char *imds_token;   /* session token of the IMDS steps */
    struct lf_buf body; /* request body, borrowed by the HTTP client */
    struct lf_aws_process *process; /* FETCH_PROCESS run */
    char *profile;                  /* FETCH_PROCESS: profile, for logs */
};

struct lf_aws_creds_provider {
    uv_loop_t *loop;
    struct lf_http_client *http;
    const char *profile;
    void (*on_change)(void *arg);
    void *arg;
    struct lf_aws_credentials current;
    enum lf_aws_creds_source source;
    bool have;
    int64_t margin_s;          /* not used in their last seconds */
    uint64_t next_refresh_ms;  /* loop time; 0: none planned */
    struct creds_fetch *fetch; /* in flight, or NULL */
    const char *region;        /* of the STS endpoint */
    const char *role_arn;      /* role to assume, or NULL */
    const char *role_session_name;
    const char *external_id;
    /* The profile's roles, assumed in order before role_arn above. */
    struct lf_aws_chain chain;
    size_t role_index; /* roles of `chain` and role_arn assumed so far */
    uint64_t process_timeout_ms;
    struct lf_aws_credentials base; /* signs AssumeRole */
    struct lf_sigv4_signer *signer;
    bool failed_logged;
    uint64_t refreshes;
};

static void free_fetch(struct creds_fetch *fetch);

void lf_aws_credentials_cleanup(struct lf_aws_credentials *c)
{
    char *fields[] = {c->access_key_id, c->secret_access_key, c->session_token};

    for (size_t i = 0; i < LF_ARRAY_SIZE(fields); i++) {
        if (fields[i] != NULL) {
            explicit_bzero(fields[i], strlen(fields[i]));
            lf_free(fields[i]);
        }
    }
    memset(c, 0, sizeof(*c));
}

int lf_aws_parse_time(const char *text, int64_t *out_s)
{
    struct tm tm;
    const char *end;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL) {
        return LF_EINVAL;
    }
    if (*end == '.') {
        end++;
        while (*end >= '0' && *end <= '9') {
            end++;
        }
    }
    if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0) {
        return LF_EINVAL;
    }
    t = timegm(&tm);
    if (t == (time_t)-1) {
        return LF_EINVAL;
    }
    *out_s = (int64_t)t;
    return 0;
}

struct lf_aws_creds_provider *
lf_aws_creds_provider_new(uv_loop_t *loop, struct lf_http_client *http,
                          const char *region, const char *profile,
                          void (*on_change)(void *arg), void *arg)
{
    struct lf_aws_creds_provider *p = lf_calloc(1, sizeof(*p));

    p->loop = loop;
    p->http = http;
    p->region = region;
    p->profile = profile;
    p->on_change = on_change;
    p->arg = arg;
    p->process_timeout_ms = LF_AWS_PROCESS_TIMEOUT_MS;
    return p;
}

void lf_aws_creds_provider_free(struct lf_aws_creds_provider *p)
{
    if (p == NULL) {
        return;
    }
    if (p->fetch != NULL && p->fetch->step == FETCH_PROCESS) {
        lf_aws_process_cancel(p->fetch->process);
        free_fetch(p->fetch);
    } else if (p->fetch != NULL) {
        p->fetch->provider = NULL;
    }
    lf_aws_credentials_cleanup(&p->current);
    lf_aws_credentials_cleanup(&p->base);
    lf_sigv4_signer_free(p->signer);
    lf_aws_chain_cleanup(&p->chain);
    lf_free(p);
}

static const char *nonempty_env(const char *name)
{
    const char *value = getenv(name);

    return value != NULL && value[0] != '\0' ? value : NULL;
}

/*
 * Logs a failed lookup once until a lookup succeeds, because a failed
 * lookup is retried every LF_AWS_CREDS_MIN_REFRESH_MS.
 */
static void log_failure(struct lf_aws_creds_provider *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void log_failure(struct lf_aws_creds_provider *p, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    if (p->failed_logged) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    lf_log_error(CREDS_LOG, "%s; retrying every %ds", message,
                 LF_AWS_CREDS_MIN_REFRESH_MS / 1000);
    p->failed_logged = true;
}

static void set_current(struct lf_aws_creds_provider *p,
                        enum lf_aws_creds_source source, const char *key_id,
                        const char *secret, const char *token,
                        int64_t expiration_s)
{
    lf_aws_credentials_cleanup(&p->current);
    p->current.access_key_id = lf_strdup(key_id);
    p->current.secret_access_key = lf_strdup(secret);
    p->current.session_token = token != NULL ? lf_strdup(token) : NULL;
    p->current.expiration_s = expiration_s;
    p->margin_s = LF_AWS_CREDS_EXPIRY_MARGIN_S;
    if (expiration_s != 0) {
        int64_t quarter = (expiration_s - (int64_t)time(NULL)) / 4;

        if (quarter < p->margin_s) {
            p->margin_s = quarter > 0 ? quarter : 0;
        }
    }
    p->source = source;
    p->have = true;
    p->refreshes++;
    p->failed_logged = false;
}

/* Fills the credentials from the environment; returns false when unset. */
static bool from_env(struct lf_aws_creds_provider *p)
{
    const char *key_id = nonempty_env("AWS_ACCESS_KEY_ID");
    const char *secret = nonempty_env("AWS_SECRET_ACCESS_KEY");

    if (key_id == NULL || secret == NULL) {
        return false;
    }
    set_current(p, LF_AWS_CREDS_ENV, key_id, secret,
                nonempty_env("AWS_SESSION_TOKEN"), 0);
    return true;
}

static void forget_profile_chain(struct lf_aws_creds_provider *p)
{
    lf_aws_chain_cleanup(&p->chain);
    p->role_index = 0;
}

/* A role to assume and what AssumeRole sends with it, borrowed. */
struct role_ref {
    const char *role_arn;
    const char *session_name; /* or NULL */
    const char *external_id;  /* or NULL */
};

/*
 * Finds the next role to assume: the roles of the profile's chain in
 * order, where role_arn of the output takes the place of the selected
 * profile's own role, which comes last. Returns false when every role
 * was assumed.
 */
static bool next_role(const struct lf_aws_creds_provider *p,
                      struct role_ref *out)
{
    size_t total = p->chain.role_count;

    if (p->role_arn != NULL && total == 0) {
        total = 1;
    }
    if (p->role_index >= total) {
        return false;
    }
    if (p->role_arn != NULL && p->role_index == total - 1) {
        out->role_arn = p->role_arn;
        out->session_name = p->role_session_name;
        out->external_id = p->external_id;
    } else {
        const struct lf_aws_chain_role *r = &p->chain.roles[p->role_index];

        out->role_arn = r->role_arn;
        out->session_name = r->role_session_name;
        out->external_id = r->external_id;
    }
    return true;
}

static int start_ecs(struct lf_aws_creds_provider *p);
static int start_imds(struct lf_aws_creds_provider *p);
static int start_process(struct lf_aws_creds_provider *p);

/*
 * Starts the source of the profile's chain. Returns 1 when it gave the
 * credentials or started a fetch, or a negative code (logged).
 */
static int start_chain_source(struct lf_aws_creds_provider *p)
{
    const struct lf_aws_chain *chain = &p->chain;
    /* A credential_source belongs to the innermost role's profile. */
    const char *profile =
        chain->role_count > 0 ? chain->roles[0].profile : chain->base.name;
    int rc;

    switch (chain->source) {
    case LF_AWS_CHAIN_KEYS:
        set_current(p, LF_AWS_CREDS_PROFILE, chain->base.aws_access_key_id,
                    chain->base.aws_secret_access_key,
                    chain->base.aws_session_token, 0);
        return 1;
    case LF_AWS_CHAIN_PROCESS:
        return start_process(p);
    case LF_AWS_CHAIN_ENVIRONMENT:
        if (from_env(p)) {
            return 1;
        }
        log_failure(p,
                    "AWS profile '%s' has credential_source Environment, "
                    "but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not "
                    "set; set both",
                    profile);
        return LF_ECONFIG;
    case LF_AWS_CHAIN_EC2_METADATA:
        rc = start_imds(p);
        if (rc == 0) {
            log_failure(p,
                        "AWS profile '%s' has credential_source "
                        "Ec2InstanceMetadata, but AWS_EC2_METADATA_DISABLED "
                        "is true; unset it",
                        profile);
            rc = LF_ECONFIG;
        }
        return rc;
    case LF_AWS_CHAIN_ECS_CONTAINER:
        rc = start_ecs(p);
        if (rc == 0) {
            log_failure(p,
                        "AWS profile '%s' has credential_source EcsContainer, "
                        "but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                        "nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set; run "
                        "in an ECS task with a task role",
                        profile);
            rc = LF_ECONFIG;
        }
        return rc;
    }
    return LF_EINVAL;
}

/*
 * Resolves the profile's credential chain and starts its source. Returns
 * 1 when it gave credentials or started a fetch, 0 when the files or the
 * profile are missing or contain no credentials, or a negative code when
 * a file or the chain is invalid (logged).
 */
static int from_profile(struct lf_aws_creds_provider *p)
{
    struct lf_aws_shared_config *cfg = lf_aws_shared_config_new();
    struct lf_aws_profile_env env;
    const char *name;
    char errbuf[512];
    int rc;

    lf_aws_profile_env_from_process(&env);
    name = lf_aws_profile_select(&env, p->profile);
    rc = lf_aws_shared_config_load(cfg, &env, errbuf, sizeof(errbuf));
    if (rc == 0) {
        rc = lf_aws_shared_config_resolve(cfg, name, &p->chain, errbuf,
                                          sizeof(errbuf));
    }
    lf_aws_shared_config_free(cfg);
    if (rc == LF_ENOENT) {
        return 0;
    }
    if (rc != 0) {
        log_failure(p, "reading AWS profile '%s' failed: %s", name, errbuf);
        return rc;
    }
    return start_chain_source(p);
}

/* Reads the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE into `out`. */
static int read_token_file(const char *path, struct lf_buf *out)
{
    char chunk[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        lf_buf_append(out, chunk, (size_t)n);
        if (out->len > TOKEN_FILE_MAX) {
            close(fd);
            return LF_ETOOBIG;
        }
    }
    close(fd);
    explicit_bzero(chunk, sizeof(chunk));
    if (n < 0) {
        return -errno;
    }
    while (out->len > 0 && (out->data[out->len - 1] == '\n' ||
                            out->data[out->len - 1] == '\r')) {
        out->data[--out->len] = '\0';
    }
    return 0;
}

static void finish_lookup(struct lf_aws_creds_provider *p)
{
    if (p->on_change != NULL) {
        p->on_change(p->arg);
    }
}

/* Plans the next fetch halfway through the remaining life. */
static void plan_refresh(struct lf_aws_creds_provider *p, int64_t now_s)
{
    int64_t left_ms = (p->current.expiration_s - now_s) * 1000;
    uint64_t wait_ms = left_ms > 0 ? (uint64_t)left_ms / 2 : 0;

    if (wait_ms < LF_AWS_CREDS_MIN_REFRESH_MS) {
        wait_ms = LF_AWS_CREDS_MIN_REFRESH_MS;
    }
    p->next_refresh_ms = uv_now(p->loop) + wait_ms;
}

/* Takes the credentials of an ECS or IMDS reply, which name them alike. */
static int parse_json_credentials(struct lf_aws_creds_provider *p,
                                  enum lf_aws_creds_source source,
                                  const char *body, size_t len,
                                  const char **reason)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *code = json_string_value(json_object_get(root, "Code"));
    const char *key_id =
        json_string_value(json_object_get(root, "AccessKeyId"));
    const char *secret =
        json_string_value(json_object_get(root, "SecretAccessKey"));
    const char *token = json_string_value(json_object_get(root, "Token"));
    const char *expiration =
        json_string_value(json_object_get(root, "Expiration"));
    int64_t expiration_s = 0;
    int rc = LF_EPROTO;

    if (root == NULL) {
        *reason = "the reply is not JSON";
    } else if (code != NULL && strcmp(code, "Success") != 0) {
        *reason = "the reply's Code is not Success";
    } else if (key_id == NULL || secret == NULL || key_id[0] == '\0' ||
               secret[0] == '\0') {
        *reason = "AccessKeyId or SecretAccessKey is missing";
    } else if (expiration != NULL &&
               lf_aws_parse_time(expiration, &expiration_s) != 0) {
        *reason = "Expiration is not an ISO 8601 UTC time";
    } else {
        set_current(p, source, key_id, secret, token, expiration_s);
        rc = 0;
    }
    if (root != NULL) {
        json_t *secret_node = json_object_get(root, "SecretAccessKey");

        if (json_is_string(secret_node)) {
            json_string_set(secret_node, "");
        }
        json_decref(root);
    }
    return rc;
}

/*
 * Copies the text of the first <tag>...</tag> of an XML document into
 * `out`. STS replies contain no attributes, CDATA or nested tags of the
 * same name in the elements read here. Returns false when it is missing.
 */
static bool xml_element(const char *xml, size_t len, const char *tag,
                        struct lf_buf *out)
{
    char open_tag[64];
    char close_tag[64];
    const char *start;
    const char *end;

    snprintf(open_tag, sizeof(open_tag), "<%s>", tag);
    snprintf(close_tag, sizeof(close_tag), "</%s>", tag);
    start = memmem(xml, len, open_tag, strlen(open_tag));
    if (start == NULL) {
        return false;
    }
    start += strlen(open_tag);
    end = memmem(start, len - (size_t)(start - xml), close_tag,
                 strlen(close_tag));
    if (end == NULL) {
        return false;
    }
    lf_buf_reset(out);
    lf_buf_append(out, start, (size_t)(end - start));
    return true;
}

/* Takes the credentials of an AssumeRoleWithWebIdentity reply. */
static int parse_sts_credentials(struct lf_aws_creds_provider *p,
                                 enum lf_aws_creds_source source,
                                 const char *body, size_t len,
                                 const char **reason)
{
    struct lf_buf fields[4];
    static const char *const tags[4] = {"AccessKeyId", "SecretAccessKey",
                                        "SessionToken", "Expiration"};
    int64_t expiration_s = 0;
    int rc = 0;

    for (size_t i = 0; i < 4; i++) {
        lf_buf_init(&fields[i]);
        if (rc == 0 && !xml_element(body, len, tags[i], &fields[i])) {
            *reason = "Credentials lack AccessKeyId, SecretAccessKey, "
                      "SessionToken or Expiration";
            rc = LF_EPROTO;
        }
    }
    if (rc == 0 && lf_aws_parse_time(fields[3].data, &expiration_s) != 0) {
        *reason = "Expiration is not an ISO 8601 UTC time";
        rc = LF_EPROTO;
    }
    if (rc == 0) {
        set_current(p, source, fields[0].data, fields[1].data, fields[2].data,
                    expiration_s);
    }
    for (size_t i = 0; i < 4; i++) {
        if (fields[i].data != NULL) {
            explicit_bzero(fields[i].data, fields[i].cap);
        }
        lf_buf_cleanup(&fields[i]);
    }
    return rc;
}

static const char *step_source_name(enum fetch_step step)
{
    switch (step) {
    case FETCH_ECS:
        return "ECS container credentials";
    case FETCH_STS:
        return "web identity credentials from STS";
    case FETCH_ASSUME_ROLE:
        return "role credentials from STS AssumeRole";
    case FETCH_PROCESS:
        return "credentials from credential_process";
    default:
        return "EC2 instance profile credentials";
    }
}

static void free_fetch(struct creds_fetch *fetch)
{
    if (fetch->imds_token != NULL) {
        explicit_bzero(fetch->imds_token, strlen(fetch->imds_token));
    }
    lf_free(fetch->imds_token);
    lf_free(fetch->imds_base);
    lf_free(fetch->profile);
    if (fetch->body.data != NULL) {
        explicit_bzero(fetch->body.data, fetch->body.cap);
    }
    lf_buf_cleanup(&fetch->body);
    lf_free(fetch);
}

static void on_fetch_reply(void *arg, const struct lf_http_response *res);

/* Sends one request of `fetch`. Returns 0 or a negative code (logged). */
static int send_fetch(struct creds_fetch *fetch,
                      const struct lf_http_request *req)
{
    struct lf_aws_creds_provider *p = fetch->provider;
    int rc = lf_http_client_send(p->http, req, on_fetch_reply, fetch);

    if (rc != 0) {
        log_failure(p, "fetching %s failed: %s", step_source_name(fetch->step),
                    lf_strerror(rc));
    }
    return rc;
}

/*
 * Sends the first request of `fetch` and makes it the provider's fetch.
 * Returns 1 when it was sent, or a negative code after freeing `fetch`.
 */
static int start_fetch(struct creds_fetch *fetch,
                       const struct lf_http_request *req)
{
    int rc = send_fetch(fetch, req);

    if (rc != 0) {
        free_fetch(fetch);
        return rc;
    }
    fetch->provider->fetch = fetch;
    return 1;
}

/* Sends the next IMDSv2 request after `fetch->step` succeeded. */
static int send_imds_step(struct creds_fetch *fetch, const char *role,
                          size_t role_len)
{
    struct lf_http_request req = {0};
    struct lf_buf url;
    struct lf_buf header;
    const char *headers[1];
    int rc;

    lf_buf_init(&url);
    lf_buf_init(&header);
    if (fetch->step == FETCH_IMDS_TOKEN) {
        lf_buf_appendf(&url, "%s/latest/api/token", fetch->imds_base);
        lf_buf_append_str(
            &header, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL_S);
        req.method = "PUT";
    } else {
        lf_buf_appendf(&url, "%s" IMDS_ROLE_PATH "%.*s", fetch->imds_base,
                       (int)role_len, role);
        lf_buf_appendf(&header, "X-aws-ec2-metadata-token: %s",
                       fetch->imds_token);
        req.method = "GET";
    }
    headers[0] = header.data;
    req.url = url.data;
    req.headers = headers;
    req.header_count = 1;
    req.timeout_ms = IMDS_TIMEOUT_MS;
    req.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS;
    req.no_proxy = 1;
    rc = send_fetch(fetch, &req);
    explicit_bzero(header.data, header.len);
    lf_buf_cleanup(&header);
    lf_buf_cleanup(&url);
    return rc;
}

/*
 * Moves an IMDS fetch to its next step after a 200 reply. Returns 1 when
 * a request was sent, 0 when the credentials were taken, or a negative
 * code with `*reason` set.
 */
static int next_imds_step(struct creds_fetch *fetch,
                          const struct lf_http_response *res,
                          const char **reason)
{
    size_t role_len;

    switch (fetch->step) {
    case FETCH_IMDS_TOKEN:
        fetch->imds_token = lf_strndup(res->body, res->body_len);
        fetch->step = FETCH_IMDS_ROLE;
        return send_imds_step(fetch, "", 0) == 0 ? 1 : LF_EHTTP;
    case FETCH_IMDS_ROLE:
        role_len = strcspn(res->body, "\r\n");
        if (role_len == 0) {
            *reason = "the instance has no IAM role";
            return LF_ENOENT;
        }
        fetch->step = FETCH_IMDS_CREDENTIALS;
        return send_imds_step(fetch, res->body, role_len) == 0 ? 1 : LF_EHTTP;
    default:
        return parse_json_credentials(fetch->provider, LF_AWS_CREDS_IMDS,
                                      res->body, res->body_len, reason);
    }
}

static int start_assume_role(struct lf_aws_creds_provider *p);

/*
 * Ends `fetch` with result `rc`. After credentials, starts AssumeRole for
 * the next role of the chain, else plans the refresh and reports the end
 * of the lookup.
 */
static void complete_fetch(struct lf_aws_creds_provider *p,
                           struct creds_fetch *fetch, int rc)
{
    const char *source = step_source_name(fetch->step);
    struct role_ref role;

    p->fetch = NULL;
    if (fetch->step == FETCH_ASSUME_ROLE) {
        lf_aws_credentials_cleanup(&p->base);
        if (rc == 0) {
            p->role_index++;
        }
    }
    free_fetch(fetch);
    if (rc == 0 && next_role(p, &role)) {
        rc = start_assume_role(p);
        if (rc == 1) {
            return;
        }
    }
    if (rc == 0) {
        lf_log_debug(CREDS_LOG, "%s fetched access_key_id=%s expiration=%lld",
                     source, p->current.access_key_id,
                     (long long)p->current.expiration_s);
        if (p->current.expiration_s != 0) {
            plan_refresh(p, (int64_t)time(NULL));
        }
    } else {
        p->next_refresh_ms = uv_now(p->loop) + LF_AWS_CREDS_MIN_REFRESH_MS;
    }
    finish_lookup(p);
}

static void on_fetch_reply(void *arg, const struct lf_http_response *res)
{
    struct creds_fetch *fetch = arg;
    struct lf_aws_creds_provider *p = fetch->provider;
    const char *source = step_source_name(fetch->step);
    const char *reason = "invalid reply";
    int rc;

    if (p == NULL || res->error == LF_ECANCELED) {
        free_fetch(fetch);
        return;
    }
    if (res->error != 0) {
        log_failure(p, "fetching %s failed: %s (%s)", source,
                    lf_strerror(res->error), res->error_text);
        rc = res->error;
    } else if (res->status != 200) {
        struct lf_buf code;

        lf_buf_init(&code);
        if (fetch->step < FETCH_STS ||
            !xml_element(res->body, res->body_len, "Code", &code)) {
            lf_buf_append_str(&code, "");
        }
        log_failure(p, "fetching %s failed: HTTP %ld%s%.64s", source,
                    res->status, code.len > 0 ? " " : "", code.data);
        lf_buf_cleanup(&code);
        rc = LF_EHTTP;
    } else if (fetch->step == FETCH_ECS) {
        rc = parse_json_credentials(p, LF_AWS_CREDS_ECS, res->body,
                                    res->body_len, &reason);
    } else if (fetch->step == FETCH_STS) {
        rc = parse_sts_credentials(p, LF_AWS_CREDS_WEB_IDENTITY, res->body,
                                   res->body_len, &reason);
    } else if (fetch->step == FETCH_ASSUME_ROLE) {
        rc = parse_sts_credentials(p, LF_AWS_CREDS_ASSUMED_ROLE, res->body,
                                   res->body_len, &reason);
    } else {
        rc = next_imds_step(fetch, res, &reason);
        if (rc == 1) {
            return; /* the next step owns the fetch */
        }
    }
    if (rc == LF_EPROTO || rc == LF_ENOENT) {
        log_failure(p, "invalid %s: %s", source, reason);
    }
    complete_fetch(p, fetch, rc);
}

/* Returns true for an https URL, or an http URL to a loopback address. */
static bool is_loopback_http(const char *url)
{
    static const char *const hosts[] = {"127.", "localhost", "[::1]"};
    const char *host;

    if (strncmp(url, "https://", 8) == 0) {
        return true;
    }
    if (strncmp(url, "http://", 7) != 0) {
        return false;
    }
    host = url + 7;
    for (size_t i = 0; i < LF_ARRAY_SIZE(hosts); i++) {
        if (strncmp(host, hosts[i], strlen(hosts[i])) == 0) {
            return true;
        }
    }
    return false;
}

static struct creds_fetch *new_fetch(struct lf_aws_creds_provider *p,
                                     enum fetch_step step)
{
    struct creds_fetch *fetch = lf_calloc(1, sizeof(*fetch));

    fetch->provider = p;
    fetch->step = step;
    lf_buf_init(&fetch->body);
    return fetch;
}

/*
 * Starts a fetch from the ECS container credentials endpoint. Returns 1
 * when it started, 0 when neither URI variable is set, or a negative code
 * (logged).
 */
static int start_ecs(struct lf_aws_creds_provider *p)
{
    const char *relative =
        nonempty_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = nonempty_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *token = nonempty_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *token_file =
        nonempty_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    struct lf_http_request req = {0};
    struct creds_fetch *fetch;
    struct lf_buf url;
    struct lf_buf header;
    struct lf_buf file_token;
    const char *headers[1];
    int rc = 1;

    if (relative == NULL && full == NULL) {
        return 0;
    }
    lf_buf_init(&url);
    lf_buf_init(&header);
    lf_buf_init(&file_token);
    if (relative != NULL) {
        lf_buf_appendf(&url, "%s%s", LF_AWS_ECS_CREDENTIALS_HOST, relative);
    } else if (!is_loopback_http(full)) {
        log_failure(p,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI '%s' is not "
                    "allowed: use https, or http to a loopback address",
                    full);
        rc = LF_ECONFIG;
        goto done;
    } else {
        lf_buf_append_str(&url, full);
    }
    if (token_file != NULL) {
        int frc = read_token_file(token_file, &file_token);

        if (frc != 0) {
            log_failure(p,
                        "reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
                        "'%s' failed: %s",
                        token_file, lf_strerror(frc));
            rc = frc;
            goto done;
        }
        token = file_token.data != NULL ? file_token.data : "";
    }
    if (token != NULL) {
        lf_buf_appendf(&header, "Authorization: %s", token);
    }
    headers[0] = header.data;
    req.method = "GET";
    req.url = url.data;
    req.headers = headers;
    req.header_count = token != NULL ? 1 : 0;
    req.timeout_ms = ECS_TIMEOUT_MS;
    req.no_proxy = 1;
    fetch = new_fetch(p, FETCH_ECS);
    rc = start_fetch(fetch, &req);

done:
    if (header.data != NULL) {
        explicit_bzero(header.data, header.len);
    }
    if (file_token.data != NULL) {
        explicit_bzero(file_token.data, file_token.len);
    }
    lf_buf_cleanup(&header);
    lf_buf_cleanup(&file_token);
    lf_buf_cleanup(&url);
    return rc;
}

/*
 * Starts the IMDSv2 steps for the EC2 instance profile. Returns 1 when
 * they started, 0 when AWS_EC2_METADATA_DISABLED is "true", or a negative
 * code (logged).
 */
static int start_imds(struct lf_aws_creds_provider *p)
{
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    const char *base = nonempty_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    struct creds_fetch *fetch;
    size_t len;
    int rc;

    if (disabled != NULL && strcasecmp(disabled, "true") == 0) {
        return 0;
    }
    if (base == NULL) {
        base = LF_AWS_IMDS_HOST;
    }
    len = strlen(base);
    while (len > 0 && base[len - 1] == '/') {
        len--;
    }
    fetch = new_fetch(p, FETCH_IMDS_TOKEN);
    fetch->imds_base = lf_strndup(base, len);
    rc = send_imds_step(fetch, "", 0);
    if (rc != 0) {
        free_fetch(fetch);
        return rc;
    }
    p->fetch = fetch;
    return 1;
}

/* Appends `s` percent-encoded for a form body (RFC 3986 unreserved kept). */
static void append_form_value(struct lf_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            lf_buf_append_char(out, (char)c);
        } else {
            lf_buf_append_char(out, '%');
            lf_buf_append_char(out, hex[c >> 4]);
            lf_buf_append_char(out, hex[c & 15]);
        }
    }
}

/* Builds the STS URL: AWS_ENDPOINT_URL_STS, else the regional endpoint. */
static void sts_url(const struct lf_aws_creds_provider *p, struct lf_buf *url)
{
    const char *endpoint = nonempty_env("AWS_ENDPOINT_URL_STS");

    if (endpoint != NULL) {
        lf_buf_append_str(url, endpoint);
        if (strchr(strstr(endpoint, "://") != NULL ? strstr(endpoint, "://") + 3
                                                   : endpoint,
                   '/') == NULL) {
            lf_buf_append_char(url, '/');
        }
        return;
    }
    lf_buf_appendf(url, "https://sts.%s.amazonaws.com%s/", p->region,
                   strncmp(p->region, "cn-", 3) == 0 ? ".cn" : "");
}

/*
 * Starts AssumeRoleWithWebIdentity with the token in
 * AWS_WEB_IDENTITY_TOKEN_FILE for AWS_ROLE_ARN. The call is not signed:
 * the token authenticates it. Returns 1 when it started, 0 when the
 * variables are not set, or a negative code (logged).
 */
static int start_web_identity(struct lf_aws_creds_provider *p)
{
    const char *token_file = nonempty_env("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role_arn = nonempty_env("AWS_ROLE_ARN");
    const char *session = nonempty_env("AWS_ROLE_SESSION_NAME");
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
    };
    struct lf_http_request req = {0};
    struct creds_fetch *fetch;
    struct lf_buf token;
    struct lf_buf *body;
    struct lf_buf url;
    char default_session[64];
    int rc;

    if (token_file == NULL || role_arn == NULL) {
        return 0;
    }
    if (session == NULL) {
        snprintf(default_session, sizeof(default_session), "logferry-%lld",
                 (long long)time(NULL));
        session = default_session;
    }
    lf_buf_init(&token);
    lf_buf_init(&url);
    rc = read_token_file(token_file, &token);
    if (rc != 0) {
        log_failure(p, "reading AWS_WEB_IDENTITY_TOKEN_FILE '%s' failed: %s",
                    token_file, lf_strerror(rc));
        goto done;
    }
    fetch = new_fetch(p, FETCH_STS);
    body = &fetch->body;
    lf_buf_append_str(body, "Action=AssumeRoleWithWebIdentity"
                            "&Version=2011-06-15&RoleArn=");
    append_form_value(body, role_arn, strlen(role_arn));
    lf_buf_append_str(body, "&RoleSessionName=");
    append_form_value(body, session, strlen(session));
    lf_buf_append_str(body, "&WebIdentityToken=");
    append_form_value(body, token.data != NULL ? token.data : "", token.len);
    sts_url(p, &url);
    req.method = "POST";
    req.url = url.data;
    req.headers = headers;
    req.header_count = LF_ARRAY_SIZE(headers);
    req.body = body->data;
    req.body_len = body->len;
    req.timeout_ms = STS_TIMEOUT_MS;
    rc = start_fetch(fetch, &req);

done:
    if (token.data != NULL) {
        explicit_bzero(token.data, token.cap);
    }
    lf_buf_cleanup(&token);
    lf_buf_cleanup(&url);
    return rc;
}

/* Returns the host of an http(s) URL, with its port, in `out`. */
static void url_host(const char *url, struct lf_buf *out)
{
    const char *host = strstr(url, "://");

    host = host != NULL ? host + 3 : url;
    lf_buf_append(out, host, strcspn(host, "/?#"));
}

/*
 * Moves the credentials the chain found to `base` and starts STS
 * AssumeRole for role_arn, signed with them. Returns 1 when it started or
 * a negative code (logged).
 */
static int start_assume_role(struct lf_aws_creds_provider *p)
{
    struct lf_http_request req = {0};
    struct lf_sigv4_output signed_out;
    struct lf_sigv4_header headers[2];
    struct lf_sigv4_credentials sc;
    struct lf_sigv4_params params = {0};
    struct lf_sigv4_request sreq = {0};
    const char *lines[2 + LF_SIGV4_MAX_ADDED_HEADERS];
    static const char content_type[] =
        "application/x-www-form-urlencoded; charset=utf-8";
    struct creds_fetch *fetch;
    struct lf_buf url;
    struct lf_buf host;
    struct lf_buf header_text;
    size_t offsets[2 + LF_SIGV4_MAX_ADDED_HEADERS];
    size_t n = 0;
    char default_session[64];
    struct role_ref role = {0};
    const char *session;
    const char *path;
    int rc;

    if (!next_role(p, &role)) {
        return LF_ESTATE;
    }
    session = role.session_name;

    lf_aws_credentials_cleanup(&p->base);
    p->base = p->current;
    memset(&p->current, 0, sizeof(p->current));
    p->have = false;
    if (p->signer == NULL) {
        p->signer = lf_sigv4_signer_new();
    }
    if (session == NULL) {
        snprintf(default_session, sizeof(default_session), "logferry-%lld",
                 (long long)time(NULL));
        session = default_session;
    }
    fetch = new_fetch(p, FETCH_ASSUME_ROLE);
    lf_buf_append_str(&fetch->body, "Action=AssumeRole&Version=2011-06-15"
                                    "&RoleArn=");
    append_form_value(&fetch->body, role.role_arn, strlen(role.role_arn));
    lf_buf_append_str(&fetch->body, "&RoleSessionName=");
    append_form_value(&fetch->body, session, strlen(session));
    if (role.external_id != NULL) {
        lf_buf_append_str(&fetch->body, "&ExternalId=");
        append_form_value(&fetch->body, role.external_id,
                          strlen(role.external_id));
    }
    lf_buf_init(&url);
    lf_buf_init(&host);
    lf_buf_init(&header_text);
    sts_url(p, &url);
    url_host(url.data, &host);
    path = strstr(url.data, "://") + 3 + host.len;
    headers[0] = (struct lf_sigv4_header){"Host", 4, host.data, host.len};
    headers[1] = (struct lf_sigv4_header){"Content-Type", 12, content_type,
                                          LF_STRLEN(content_type)};
    sc.access_key_id = p->base.access_key_id;
    sc.secret_access_key = p->base.secret_access_key;
    sc.session_token = p->base.session_token;
    params.region = p->region;
    params.service = "sts";
    params.time_s = (int64_t)time(NULL);
    params.mode = LF_SIGV4_MODE_HEADER;
    params.flags = LF_SIGV4_NORMALIZE_PATH;
    sreq.method = "POST";
    sreq.path = path;
    sreq.path_len = strlen(path);
    sreq.headers = headers;
    sreq.header_count = 2;
    sreq.payload = fetch->body.data;
    sreq.payload_len = fetch->body.len;
    lf_sigv4_output_init(&signed_out);
    rc = p->signer != NULL
             ? lf_sigv4_sign(p->signer, &sc, &params, &sreq, &signed_out)
             : LF_EINVAL;
    if (rc != 0) {
        log_failure(p, "signing the STS AssumeRole request failed: %s",
                    lf_strerror(rc));
        free_fetch(fetch);
        goto done;
    }
    offsets[n++] = header_text.len;
    lf_buf_appendf(&header_text, "Content-Type: %s", content_type);
    lf_buf_append_char(&header_text, '\0');
    for (size_t i = 0; i < signed_out.added_count; i++) {
        const struct lf_sigv4_header *h = &signed_out.added[i];

        offsets[n++] = header_text.len;
        lf_buf_appendf(&header_text, "%.*s: %.*s", (int)h->name_len, h->name,
                       (int)h->value_len, h->value);
        lf_buf_append_char(&header_text, '\0');
    }
    for (size_t i = 0; i < n; i++) {
        lines[i] = header_text.data + offsets[i];
    }
    req.method = "POST";
    req.url = url.data;
    req.headers = lines;
    req.header_count = n;
    req.body = fetch->body.data;
    req.body_len = fetch->body.len;
    req.timeout_ms = STS_TIMEOUT_MS;
    rc = start_fetch(fetch, &req);

done:
    if (header_text.data != NULL) {
        explicit_bzero(header_text.data, header_text.cap);
    }
    lf_buf_cleanup(&header_text);
    lf_sigv4_output_cleanup(&signed_out);
    lf_buf_cleanup(&host);
    lf_buf_cleanup(&url);
    return rc;
}

/*
 * Takes the credentials of a credential_process output: a JSON object
 * with Version 1, AccessKeyId, SecretAccessKey, and optionally
 * SessionToken and Expiration.
 */
static int parse_process_credentials(struct lf_aws_creds_provider *p,
                                     const char *out, size_t len,
                                     const char **reason)
{
    json_t *root = json_loadb(out, len, 0, NULL);
    json_t *version = json_object_get(root, "Version");
    const char *key_id =
        json_string_value(json_object_get(root, "AccessKeyId"));
    const char *secret =
        json_string_value(json_object_get(root, "SecretAccessKey"));
    json_t *token = json_object_get(root, "SessionToken");
    json_t *expiration = json_object_get(root, "Expiration");
    int64_t expiration_s = 0;
    int rc = LF_EPROTO;

    if (!json_is_object(root)) {
        *reason = "the output is not a JSON object";
    } else if (!json_is_integer(version) || json_integer_value(version) != 1) {
        *reason = "Version is not 1";
    } else if (key_id == NULL || secret == NULL || key_id[0] == '\0' ||
               secret[0] == '\0') {
        *reason = "AccessKeyId or SecretAccessKey is missing";
    } else if (token != NULL && !json_is_string(token) &&
               !json_is_null(token)) {
        *reason = "SessionToken is not a string";
    } else if (expiration != NULL && !json_is_null(expiration) &&
               (!json_is_string(expiration) ||
                lf_aws_parse_time(json_string_value(expiration),
                                  &expiration_s) != 0)) {
        *reason = "Expiration is not an ISO 8601 UTC time";
    } else {
        set_current(p, LF_AWS_CREDS_PROCESS, key_id, secret,
                    json_string_value(token), expiration_s);
        rc = 0;
    }
    if (root != NULL) {
        json_t *secret_node = json_object_get(root, "SecretAccessKey");

        if (json_is_string(secret_node)) {
            json_string_set(secret_node, "");
        }
        json_decref(root);
    }
    return rc;
}

/* Copies up to `len` bytes of standard error for a log line, with control
 * characters and non-ASCII bytes written as '?', and trailing blanks cut. */
static void printable_stderr(const char *text, size_t len, char *out,
                             size_t out_len)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < out_len; i++) {
        unsigned char c = (unsigned char)text[i];

        out[n++] = c == '\n' ? ' ' : (c < 0x20 || c > 0x7e) ? '?' : (char)c;
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
}

static void on_process_done(void *arg,
                            const struct lf_aws_process_result *result)
{
    struct creds_fetch *fetch = arg;
    struct lf_aws_creds_provider *p = fetch->provider;
    const char *reason = "invalid output";
    char err[LF_AWS_PROCESS_MAX_STDERR + 1];
    int rc = result->error;

    fetch->process = NULL; /* it frees itself */
    printable_stderr(result->err, result->err_len, err, sizeof(err));
    if (rc == LF_ETIMEDOUT) {
        log_failure(p,
                    "credential_process of AWS profile '%s' timed out after "
                    "%llums and was killed; standard error: '%s'",
                    fetch->profile, (unsigned long long)p->process_timeout_ms,
                    err);
    } else if (rc == LF_ETOOBIG) {
        log_failure(p,
                    "credential_process of AWS profile '%s' wrote more than "
                    "%d bytes to standard output",
                    fetch->profile, LF_AWS_PROCESS_MAX_STDOUT);
    } else if (rc != 0 && result->term_signal != 0) {
        log_failure(p,
                    "credential_process of AWS profile '%s' was killed by "
                    "signal %d; standard error: '%s'",
                    fetch->profile, result->term_signal, err);
    } else if (rc != 0) {
        log_failure(p,
                    "credential_process of AWS profile '%s' exited with "
                    "status %lld; standard error: '%s'",
                    fetch->profile, (long long)result->exit_status, err);
    } else {
        rc =
            parse_process_credentials(p, result->out, result->out_len, &reason);
        if (rc != 0) {
            log_failure(p,
                        "invalid output of credential_process of AWS "
                        "profile '%s': %s",
                        fetch->profile, reason);
        }
    }
    complete_fetch(p, fetch, rc);
}

/*
 * Starts the credential_process of the chain's base profile. Returns 1
 * when it started, or a negative code (logged). The command is logged by
 * its program name alone, because its arguments may contain secrets.
 */
static int start_process(struct lf_aws_creds_provider *p)
{
    const struct lf_aws_profile *prof = &p->chain.base;
    struct creds_fetch *fetch;
    char errbuf[512];
    char **argv;

    argv =
        lf_aws_process_split(prof->credential_process, errbuf, sizeof(errbuf));
    if (argv == NULL) {
        log_failure(p, "AWS profile '%s' is invalid: %s", prof->name, errbuf);
        return LF_ECONFIG;
    }
    fetch = new_fetch(p, FETCH_PROCESS);
    fetch->profile = lf_strdup(prof->name);
    fetch->process =
        lf_aws_process_start(p->loop, argv, p->process_timeout_ms,
                             on_process_done, fetch, errbuf, sizeof(errbuf));
    lf_aws_process_argv_free(argv);
    if (fetch->process == NULL) {
        log_failure(p, "credential_process of AWS profile '%s' failed: %s",
                    prof->name, errbuf);
        free_fetch(fetch);
        return LF_EIO;
    }
    p->fetch = fetch;
    return 1;
}

void lf_aws_creds_set_process_timeout(struct lf_aws_creds_provider *p,
                                      uint64_t timeout_ms)
{
    p->process_timeout_ms = timeout_ms;
}

void lf_aws_creds_assume_role(struct lf_aws_creds_provider *p,
                              const char *role_arn,
                              const char *role_session_name,
                              const char *external_id)
{
    p->role_arn = role_arn;
    p->role_session_name = role_session_name;
    p->external_id = external_id;
}

/*
 * Runs the chain until a source gives credentials, starts a fetch or
 * fails. A source that is configured but fails stops the chain, as in the
 * AWS SDKs, so that a broken setup is not hidden by a later source.
 */
static void start_lookup(struct lf_aws_creds_provider *p)
{
    int (*const fetchers[])(struct lf_aws_creds_provider *) = {
        start_ecs,
        start_imds,
    };
    struct role_ref role;
    bool explicit_profile;
    int rc;

    p->next_refresh_ms = 0;
    forget_profile_chain(p);
    /* A profile set in the configuration takes precedence over the
     * environment's keys, as an explicit profile does in botocore. */
    explicit_profile = p->profile != NULL && p->profile[0] != '\0';
    rc = !explicit_profile && from_env(p) ? 1 : start_web_identity(p);
    if (rc == 0) {
        rc = from_profile(p);
    }
    if (rc == 1 && p->fetch == NULL) {
        /* A synchronous source gave the credentials. */
        if (!next_role(p, &role)) {
            return;
        }
        rc = start_assume_role(p);
    }
    for (size_t i = 0; rc == 0 && i < LF_ARRAY_SIZE(fetchers); i++) {
        rc = fetchers[i](p);
    }
    if (rc == 1) {
        return;
    }
    if (rc == 0) {
        log_failure(p, "no AWS credentials found: set AWS_ACCESS_KEY_ID "
                       "and AWS_SECRET_ACCESS_KEY, a profile in "
                       "~/.aws/credentials, or run with an ECS task role "
                       "or an EC2 instance profile");
    }
    p->next_refresh_ms = uv_now(p->loop) + LF_AWS_CREDS_MIN_REFRESH_MS;
}

static bool creds_usable(const struct lf_aws_creds_provider *p, int64_t now_s)
{
    return p->have && (p->current.expiration_s == 0 ||
                       p->current.expiration_s - now_s > p->margin_s);
}

const struct lf_aws_credentials *
lf_aws_creds_get(struct lf_aws_creds_provider *p, int64_t now_s)
{
    bool usable = creds_usable(p, now_s);
    bool due = p->next_refresh_ms != 0 ? uv_now(p->loop) >= p->next_refresh_ms
                                       : !p->have;

    if (p->fetch == NULL && due) {
        bool had = p->have;

        start_lookup(p);
        /* A synchronous source may have replaced the credentials. */
        if (!had && p->have) {
            return &p->current;
        }
        usable = creds_usable(p, now_s);
    }
    return usable ? &p->current : NULL;
}

void lf_aws_creds_invalidate(struct lf_aws_creds_provider *p)
{
    lf_aws_credentials_cleanup(&p->current);
    p->have = false;
    p->source = LF_AWS_CREDS_NONE;
    p->next_refresh_ms = 0;
}

enum lf_aws_creds_source
lf_aws_creds_source(const struct lf_aws_creds_provider *p)
{
    return p->source;
}

uint64_t lf_aws_creds_refreshes(const struct lf_aws_creds_provider *p)
{
    return p->refreshes;
}
