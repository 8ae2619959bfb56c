/*
 * add_cloud_metadata for EC2. IMDSv2 needs two requests: a PUT that
 * returns a session token, then GETs that carry it. Both requests share
 * one deadline, so a missing service delays the first events by the
 * timeout and no more. They never use a proxy: the service is link-local
 * and rejects token requests that carry X-Forwarded-For.
 */
#include "agent/metadata/ec2_meta.h"

#include "agent/metadata/meta_json.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EC2_TOKEN_PATH "/latest/api/token"
#define EC2_IDENTITY_PATH "/latest/dynamic/instance-identity/document"

/*
 * Lifetime of the session token, in seconds. A fetch sends the token once,
 * right after receiving it, so any lifetime longer than the fetch timeout
 * works.
 */
#define EC2_TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds: 60"

/* Limit on the token length, far above what IMDS returns, so that another
   service on the endpoint cannot make the request header grow unbounded. */
enum { EC2_TOKEN_MAX_LEN = 1024 };

enum { EC2_DETAIL_LEN = 512 };

struct ec2_fetch {
    char *endpoint; /* base URL without a trailing "/" */
    struct lf_http_client *http;
    uint64_t deadline_ns; /* uv_hrtime() at which the fetch times out */
    lf_meta_fetch_done_cb done;
    void *done_arg;
    struct lf_buf url;    /* URL of the request in flight */
    struct lf_buf header; /* token header of the identity request */
    char detail[EC2_DETAIL_LEN];
};

const char *lf_ec2_meta_endpoint(const char *configured, const char *env)
{
    if (configured != NULL) {
        return configured;
    }
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return LF_EC2_META_DEFAULT_ENDPOINT;
}

int lf_ec2_meta_parse_identity(const char *json, size_t len,
                               struct lf_meta_set **out, char *errbuf,
                               size_t errlen)
{
    static const struct {
        const char *key;
        const char *member;
    } fields[] = {
        {"cloud.account.id", "accountId"},
        {"cloud.region", "region"},
        {"cloud.availability_zone", "availabilityZone"},
        {"cloud.instance.id", "instanceId"},
        {"cloud.machine.type", "instanceType"},
        {"aws.ec2.image.id", "imageId"},
    };
    struct lf_meta_builder b;
    json_t *doc = NULL;
    int rc;

    *out = NULL;
    lf_meta_builder_init(&b);
    rc = lf_meta_json_load_object(json, len, "instance identity document",
                                  &doc, errbuf, errlen);
    if (rc != 0) {
        goto fail;
    }

    rc = lf_meta_builder_add_str(&b, "cloud.provider", "aws",
                                 LF_STRLEN("aws"));
    for (size_t i = 0; i < LF_ARRAY_SIZE(fields) && rc == 0; i++) {
        rc = lf_meta_json_add(&b, fields[i].key, doc, fields[i].member);
    }
    if (rc != 0) {
        goto fail;
    }
    if (!lf_meta_builder_has(&b, "cloud.instance.id") ||
        !lf_meta_builder_has(&b, "cloud.region")) {
        snprintf(errbuf, errlen,
                 "instance identity document has no instanceId or region");
        rc = LF_EPARSE;
        goto fail;
    }
    *out = lf_meta_builder_finish(&b);

fail:
    json_decref(doc);
    lf_meta_builder_cleanup(&b);
    return rc;
}

/* Ends the fetch: reports to the source, which may start the next one. */
static void finish(struct ec2_fetch *f, int error, struct lf_meta_set *set)
{
    lf_meta_fetch_done_cb done = f->done;

    f->done = NULL;
    f->http = NULL;
    lf_buf_reset(&f->header);
    done(f->done_arg, error, set, f->detail);
}

/*
 * Milliseconds left before the deadline, or 0 when it has passed. The
 * clock is uv_hrtime() and not the loop's cached time, which can lag when
 * the fetch starts outside a loop callback.
 */
static long remaining_ms(const struct ec2_fetch *f)
{
    uint64_t now = uv_hrtime();

    return now < f->deadline_ns ? (long)((f->deadline_ns - now) / 1000000)
                                : 0;
}

static long connect_timeout_ms(long timeout_ms)
{
    return timeout_ms < LF_EC2_META_CONNECT_TIMEOUT_MS
               ? timeout_ms
               : LF_EC2_META_CONNECT_TIMEOUT_MS;
}

/*
 * Checks a transfer result; on failure, fills the detail naming `what` and
 * returns the code to report.
 */
static int check_response(struct ec2_fetch *f, const char *what,
                          const struct lf_http_response *res)
{
    if (res->error != 0) {
        snprintf(f->detail, sizeof(f->detail), "%s %s failed: %s", what,
                 f->url.data, res->error_text);
        return res->error;
    }
    if (res->status != 200) {
        snprintf(f->detail, sizeof(f->detail),
                 "%s %s returned HTTP status %ld", what, f->url.data,
                 res->status);
        return LF_EPROTO;
    }
    return 0;
}

static void on_identity(void *arg, const struct lf_http_response *res)
{
    struct ec2_fetch *f = arg;
    struct lf_meta_set *set = NULL;
    char errbuf[256];
    int rc;

    rc = check_response(f, "GET", res);
    if (rc == 0) {
        rc = lf_ec2_meta_parse_identity(res->body, res->body_len, &set,
                                        errbuf, sizeof(errbuf));
        if (rc != 0) {
            snprintf(f->detail, sizeof(f->detail), "GET %s: %s", f->url.data,
                     errbuf);
        }
    }
    finish(f, rc, set);
}

/*
 * Returns the length of the token in `body` without trailing white space,
 * or 0 when it is empty, too long or contains a byte that cannot go into
 * a header.
 */
static size_t token_length(const char *body, size_t len)
{
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
                       body[len - 1] == ' ')) {
        len--;
    }
    if (len > EC2_TOKEN_MAX_LEN) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (body[i] <= ' ' || body[i] == 0x7f) {
            return 0;
        }
    }
    return len;
}

static void on_token(void *arg, const struct lf_http_response *res)
{
    struct ec2_fetch *f = arg;
    const char *headers[1];
    struct lf_http_request req = {0};
    size_t token_len;
    int rc;

    rc = check_response(f, "PUT", res);
    if (rc != 0) {
        finish(f, rc, NULL);
        return;
    }
    token_len = token_length(res->body, res->body_len);
    if (token_len == 0) {
        snprintf(f->detail, sizeof(f->detail),
                 "PUT %s returned an empty or invalid token", f->url.data);
        finish(f, LF_EPROTO, NULL);
        return;
    }

    lf_buf_reset(&f->url);
    lf_buf_appendf(&f->url, "%s%s", f->endpoint, EC2_IDENTITY_PATH);
    req.timeout_ms = remaining_ms(f);
    if (req.timeout_ms == 0) {
        snprintf(f->detail, sizeof(f->detail), "timed out before GET %s",
                 f->url.data);
        finish(f, LF_ETIMEDOUT, NULL);
        return;
    }

    lf_buf_reset(&f->header);
    lf_buf_append_str(&f->header, "X-aws-ec2-metadata-token: ");
    lf_buf_append(&f->header, res->body, token_len);
    headers[0] = f->header.data;
    req.method = "GET";
    req.url = f->url.data;
    req.headers = headers;
    req.header_count = 1;
    req.connect_timeout_ms = connect_timeout_ms(req.timeout_ms);
    req.no_proxy = 1;
    rc = lf_http_client_send(f->http, &req, on_identity, f);
    if (rc != 0) {
        snprintf(f->detail, sizeof(f->detail), "GET %s could not start",
                 f->url.data);
        finish(f, rc, NULL);
    }
}

static int ec2_fetch(void *state, struct lf_http_client *http,
                     long timeout_ms, lf_meta_fetch_done_cb done, void *arg)
{
    struct ec2_fetch *f = state;
    const char *headers[] = {EC2_TOKEN_TTL_HEADER};
    struct lf_http_request req = {0};
    int rc;

    lf_buf_reset(&f->url);
    lf_buf_appendf(&f->url, "%s%s", f->endpoint, EC2_TOKEN_PATH);
    f->detail[0] = '\0';
    f->deadline_ns = uv_hrtime() + (uint64_t)timeout_ms * 1000000;

    req.method = "PUT";
    req.url = f->url.data;
    req.headers = headers;
    req.header_count = LF_ARRAY_SIZE(headers);
    req.timeout_ms = timeout_ms;
    req.connect_timeout_ms = connect_timeout_ms(timeout_ms);
    req.no_proxy = 1;
    rc = lf_http_client_send(http, &req, on_token, f);
    if (rc != 0) {
        return rc;
    }
    f->http = http;
    f->done = done;
    f->done_arg = arg;
    return 0;
}

static void ec2_free(void *state)
{
    struct ec2_fetch *f = state;

    lf_buf_cleanup(&f->url);
    lf_buf_cleanup(&f->header);
    lf_free(f->endpoint);
    lf_free(f);
}

int lf_ec2_meta_source_new(uv_loop_t *loop,
                           const struct lf_ec2_meta_options *opts,
                           struct lf_meta_source **out, char *errbuf,
                           size_t errlen)
{
    const char *endpoint = lf_ec2_meta_endpoint(
        opts->endpoint, getenv(LF_EC2_META_ENDPOINT_ENV));
    struct lf_meta_source_options source_opts = {0};
    struct lf_meta_fetcher fetcher = {0};
    struct ec2_fetch *f;
    char *base = NULL;
    int rc;

    *out = NULL;
    rc = lf_meta_base_url(endpoint, false, "endpoint", &base, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }

    f = lf_calloc(1, sizeof(*f));
    f->endpoint = base;
    lf_buf_init(&f->url);
    lf_buf_init(&f->header);

    fetcher.component = "add_cloud_metadata";
    fetcher.state = f;
    fetcher.fetch = ec2_fetch;
    fetcher.free = ec2_free;
    fetcher.host = f->endpoint;
    source_opts.timeout_ms = opts->timeout_ms > 0
                                 ? opts->timeout_ms
                                 : LF_EC2_META_DEFAULT_TIMEOUT_MS;
    return lf_meta_source_new(loop, &fetcher, &source_opts, out);
}
