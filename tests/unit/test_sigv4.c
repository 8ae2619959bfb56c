/*
 * SigV4 signing against the AWS test vectors in fixtures/sigv4-test-suite.
 * Each case's request.txt is parsed and signed with its context.json.
 * The canonical request, string to sign, signature and signed request
 * are compared byte for byte, for header signing and query signing.
 */
#include "outputs/cloudwatch/sigv4.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <jansson.h>

#include <dirent.h>
#include <time.h>

#define MAX_HEADERS 16

/* A header from two string literals. */
/* clang-format off */
#define HEADER(name, value) {name, sizeof(name) - 1, value, sizeof(value) - 1}
/* clang-format on */

/* A request read from request.txt, with pointers into `text`. */
struct parsed_request {
    char *text;
    const char *line; /* request line, without "\n" */
    size_t line_len;
    const char *target; /* path and query between the two spaces */
    size_t target_len;
    const char *header_block; /* raw header lines, each ending in "\n" */
    size_t header_block_len;
    struct lf_sigv4_header headers[MAX_HEADERS];
    size_t header_count;
    const char *body;
    size_t body_len;
    struct lf_sigv4_request req;
};

struct vector_context {
    json_t *root;
    struct lf_sigv4_credentials creds;
    struct lf_sigv4_params params;
};

static char *read_text(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    struct lf_buf buf;
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        return NULL;
    }
    lf_buf_init(&buf);
    lf_buf_reserve(&buf, 1);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        lf_buf_append(&buf, chunk, n);
    }
    fclose(f);
    *len_out = buf.len;
    return buf.data;
}

static const char *find_line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    return nl ? nl : end;
}

/* Reads one header line, or a folded continuation of the last header. */
static int parse_header_line(struct parsed_request *pr, const char *p,
                             const char *eol)
{
    struct lf_sigv4_header *h;
    const char *colon;

    if ((*p == ' ' || *p == '\t') && pr->header_count > 0) {
        h = &pr->headers[pr->header_count - 1];
        h->value_len = (size_t)(eol - h->value);
        return 0;
    }
    colon = memchr(p, ':', (size_t)(eol - p));
    if (colon == NULL || pr->header_count == MAX_HEADERS) {
        return -1;
    }
    h = &pr->headers[pr->header_count++];
    h->name = p;
    h->name_len = (size_t)(colon - p);
    h->value = colon + 1;
    h->value_len = (size_t)(eol - colon - 1);
    return 0;
}

static void split_target(struct parsed_request *pr)
{
    const char *q = memchr(pr->target, '?', pr->target_len);

    pr->req.path = pr->target;
    pr->req.path_len = q ? (size_t)(q - pr->target) : pr->target_len;
    pr->req.query = q ? q + 1 : NULL;
    pr->req.query_len = q ? pr->target_len - pr->req.path_len - 1 : 0;
}

static int parse_request(const char *path, struct parsed_request *pr)
{
    size_t len = 0;
    const char *p;
    const char *end;
    const char *eol;
    const char *first_space;
    const char *last_space;
    static char method[16];

    memset(pr, 0, sizeof(*pr));
    pr->text = read_text(path, &len);
    if (pr->text == NULL) {
        return -1;
    }
    p = pr->text;
    end = p + len;

    eol = find_line_end(p, end);
    pr->line = p;
    pr->line_len = (size_t)(eol - p);
    first_space = memchr(p, ' ', pr->line_len);
    last_space = eol - 1;
    while (last_space > p && *last_space != ' ') {
        last_space--;
    }
    if (first_space == NULL || last_space <= first_space ||
        (size_t)(first_space - p) >= sizeof(method)) {
        return -1;
    }
    snprintf(method, sizeof(method), "%.*s", (int)(first_space - p), p);
    pr->target = first_space + 1;
    pr->target_len = (size_t)(last_space - first_space - 1);

    p = eol < end ? eol + 1 : end;
    pr->header_block = p;
    while (p < end && *p != '\n') {
        eol = find_line_end(p, end);
        if (parse_header_line(pr, p, eol) != 0) {
            return -1;
        }
        p = eol < end ? eol + 1 : end;
    }
    pr->header_block_len = (size_t)(p - pr->header_block);
    pr->body = p < end ? p + 1 : end;
    pr->body_len = (size_t)(end - pr->body);

    pr->req.method = method;
    split_target(pr);
    pr->req.headers = pr->headers;
    pr->req.header_count = pr->header_count;
    pr->req.payload = pr->body_len > 0 ? pr->body : NULL;
    pr->req.payload_len = pr->body_len;
    return 0;
}

static int64_t parse_timestamp(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
        return -1;
    }
    return (int64_t)timegm(&tm);
}

static int load_context(const char *path, struct vector_context *ctx)
{
    json_t *creds;

    memset(ctx, 0, sizeof(*ctx));
    ctx->root = json_load_file(path, 0, NULL);
    if (ctx->root == NULL) {
        return -1;
    }
    creds = json_object_get(ctx->root, "credentials");
    ctx->creds.access_key_id =
        json_string_value(json_object_get(creds, "access_key_id"));
    ctx->creds.secret_access_key =
        json_string_value(json_object_get(creds, "secret_access_key"));
    ctx->creds.session_token =
        json_string_value(json_object_get(creds, "token"));

    ctx->params.region =
        json_string_value(json_object_get(ctx->root, "region"));
    ctx->params.service =
        json_string_value(json_object_get(ctx->root, "service"));
    ctx->params.time_s = parse_timestamp(
        json_string_value(json_object_get(ctx->root, "timestamp")));
    ctx->params.expires_s = (uint32_t)json_integer_value(
        json_object_get(ctx->root, "expiration_in_seconds"));
    if (json_is_true(json_object_get(ctx->root, "normalize"))) {
        ctx->params.flags |= LF_SIGV4_NORMALIZE_PATH;
    }
    if (json_is_true(json_object_get(ctx->root, "sign_body"))) {
        ctx->params.flags |= LF_SIGV4_CONTENT_SHA256_HEADER;
    }
    if (json_is_true(json_object_get(ctx->root, "omit_session_token"))) {
        ctx->params.flags |= LF_SIGV4_OMIT_SESSION_TOKEN;
    }
    return ctx->params.time_s < 0 ? -1 : 0;
}

/* Rebuilds the request as the vectors print it after header signing. */
static void build_header_signed(const struct parsed_request *pr,
                                const struct lf_sigv4_output *out,
                                struct lf_buf *buf)
{
    lf_buf_append(buf, pr->line, pr->line_len);
    lf_buf_append_char(buf, '\n');
    lf_buf_append(buf, pr->header_block, pr->header_block_len);
    for (size_t i = 0; i < out->added_count; i++) {
        lf_buf_append(buf, out->added[i].name, out->added[i].name_len);
        lf_buf_append_char(buf, ':');
        lf_buf_append(buf, out->added[i].value, out->added[i].value_len);
        lf_buf_append_char(buf, '\n');
    }
    lf_buf_append_char(buf, '\n');
    lf_buf_append(buf, pr->body, pr->body_len);
}

/* Rebuilds the request with the pre-signing parameters in its query. */
static void build_query_signed(const struct parsed_request *pr,
                               const struct lf_sigv4_output *out,
                               struct lf_buf *buf)
{
    const char *after_target = pr->target + pr->target_len;
    size_t tail_len = pr->line_len - (size_t)(after_target - pr->line);

    lf_buf_append(buf, pr->line, (size_t)(after_target - pr->line));
    lf_buf_append_char(buf, pr->req.query != NULL ? '&' : '?');
    lf_buf_append(buf, out->query.data, out->query.len);
    lf_buf_append(buf, after_target, tail_len);
    lf_buf_append_char(buf, '\n');
    lf_buf_append(buf, pr->header_block, pr->header_block_len);
    lf_buf_append_char(buf, '\n');
    lf_buf_append(buf, pr->body, pr->body_len);
}

static void check_file_eq(const char *dir, const char *name, const char *actual,
                          size_t actual_len)
{
    char path[4608];
    size_t len = 0;
    char *expected;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    expected = read_text(path, &len);
    if (expected == NULL) {
        LF_FAIL_AT("cannot read %s", path);
        return;
    }
    if (actual_len != len || memcmp(actual, expected, len) != 0) {
        LF_FAIL_AT("%s:\n--- got ---\n%.*s\n--- expected ---\n%s", path,
                   (int)actual_len, actual, expected);
    }
    lf_free(expected);
}

static void check_mode(struct lf_sigv4_signer *signer, const char *dir,
                       struct parsed_request *pr, struct vector_context *ctx,
                       enum lf_sigv4_mode mode)
{
    const char *prefix = mode == LF_SIGV4_MODE_HEADER ? "header" : "query";
    struct lf_sigv4_output out;
    struct lf_buf signed_request;
    char name[64];
    int rc;

    lf_sigv4_output_init(&out);
    lf_buf_init(&signed_request);
    ctx->params.mode = mode;
    rc = lf_sigv4_sign(signer, &ctx->creds, &ctx->params, &pr->req, &out);
    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        snprintf(name, sizeof(name), "%s-canonical-request.txt", prefix);
        check_file_eq(dir, name, out.canonical_request.data,
                      out.canonical_request.len);
        snprintf(name, sizeof(name), "%s-string-to-sign.txt", prefix);
        check_file_eq(dir, name, out.string_to_sign.data,
                      out.string_to_sign.len);
        snprintf(name, sizeof(name), "%s-signature.txt", prefix);
        check_file_eq(dir, name, out.signature, strlen(out.signature));

        if (mode == LF_SIGV4_MODE_HEADER) {
            build_header_signed(pr, &out, &signed_request);
        } else {
            build_query_signed(pr, &out, &signed_request);
        }
        snprintf(name, sizeof(name), "%s-signed-request.txt", prefix);
        check_file_eq(dir, name, signed_request.data, signed_request.len);
    }
    lf_buf_cleanup(&signed_request);
    lf_sigv4_output_cleanup(&out);
}

static int run_vector(struct lf_sigv4_signer *signer, const char *dir)
{
    struct parsed_request pr;
    struct vector_context ctx;
    char path[4608];
    int failed_before = lf_test_failed_checks;

    snprintf(path, sizeof(path), "%s/request.txt", dir);
    if (parse_request(path, &pr) != 0) {
        LF_FAIL_AT("cannot parse %s", path);
        lf_free(pr.text);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/context.json", dir);
    if (load_context(path, &ctx) != 0) {
        LF_FAIL_AT("cannot load %s", path);
    } else {
        check_mode(signer, dir, &pr, &ctx, LF_SIGV4_MODE_HEADER);
        check_mode(signer, dir, &pr, &ctx, LF_SIGV4_MODE_QUERY);
    }
    json_decref(ctx.root);
    lf_free(pr.text);
    return lf_test_failed_checks == failed_before ? 0 : -1;
}

static void test_sigv4_test_suite(void)
{
    char suite[4096];
    char dir[4352];
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    DIR *d;
    struct dirent *entry;
    int cases = 0;

    snprintf(suite, sizeof(suite), "%s",
             lf_test_fixture("sigv4-test-suite/v4"));
    d = opendir(suite);
    LF_CHECK(d != NULL);
    LF_CHECK(signer != NULL);
    if (d == NULL || signer == NULL) {
        lf_sigv4_signer_free(signer);
        return;
    }
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        snprintf(dir, sizeof(dir), "%s/%s", suite, entry->d_name);
        if (run_vector(signer, dir) != 0) {
            fprintf(stderr, "  in case %s\n", entry->d_name);
        }
        cases++;
    }
    closedir(d);

    /* Every case has the same date, region, service and secret. */
    LF_CHECK(cases > 0);
    LF_CHECK_INT_EQ(lf_sigv4_signer_key_derivations(signer), 1);
    lf_sigv4_signer_free(signer);
}

static const struct lf_sigv4_credentials test_creds = {
    .access_key_id = "AKIDEXAMPLE",
    .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    .session_token = NULL,
};

static const char put_body[] =
    "{\"logGroupName\":\"/ecs/rewards-api\",\"logStreamName\":\"api/1\","
    "\"logEvents\":[{\"timestamp\":1440938160000,\"message\":\"hello\"}]}";

static const struct lf_sigv4_header put_headers[] = {
    {"Host", 4, "logs.us-east-1.amazonaws.com", 28},
    {"Content-Type", 12, "application/x-amz-json-1.1", 26},
    {"X-Amz-Target", 12, "Logs_20140328.PutLogEvents", 26},
};

static struct lf_sigv4_request put_request(void)
{
    struct lf_sigv4_request req = {
        .method = "POST",
        .path = "/",
        .path_len = 1,
        .headers = put_headers,
        .header_count = 3,
        .payload = put_body,
        .payload_len = sizeof(put_body) - 1,
    };

    return req;
}

/*
 * The expected signature comes from botocore 1.43.11, an independent
 * signer: SigV4Auth(Credentials(...), "logs", "us-east-1").add_auth(req)
 * on AWSRequest("POST", "https://logs.us-east-1.amazonaws.com/") with the
 * same body and headers, and the clock fixed at 2015-08-30T12:36:00Z.
 */
#define BOTOCORE_PUT_SIGNATURE                                                 \
    "3b466e669b4dd5de765808554b1e7a6b39f046faf0dd6d2a90f991bf144386ba"

static void test_sigv4_put_log_events_botocore(void)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
        .mode = LF_SIGV4_MODE_HEADER,
        .flags = LF_SIGV4_NORMALIZE_PATH,
    };
    struct lf_sigv4_output out;

    lf_sigv4_output_init(&out);
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out), 0);
    LF_CHECK_STR_EQ(out.signature, BOTOCORE_PUT_SIGNATURE);
    LF_CHECK_MEM_EQ(out.signed_headers.data, out.signed_headers.len,
                    "content-type;host;x-amz-date;x-amz-target");
    LF_CHECK_INT_EQ(out.added_count, 2);
    LF_CHECK_MEM_EQ(out.added[0].value, out.added[0].value_len,
                    "20150830T123600Z");
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void test_sigv4_unsigned_payload(void)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
        .flags =
            LF_SIGV4_UNSIGNED_PAYLOAD_HASH | LF_SIGV4_CONTENT_SHA256_HEADER,
    };
    struct lf_sigv4_output out;
    const char *last_line;

    lf_sigv4_output_init(&out);
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out), 0);
    LF_CHECK_STR_EQ(out.payload_hash, "UNSIGNED-PAYLOAD");
    last_line = strrchr(out.canonical_request.data, '\n');
    LF_CHECK_STR_EQ(last_line, "\nUNSIGNED-PAYLOAD");
    LF_CHECK_INT_EQ(out.added_count, 3);
    LF_CHECK_MEM_EQ(out.added[1].name, out.added[1].name_len,
                    "x-amz-content-sha256");
    LF_CHECK_MEM_EQ(out.added[1].value, out.added[1].value_len,
                    "UNSIGNED-PAYLOAD");
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void test_sigv4_key_cached_per_day(void)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_credentials rotated = test_creds;
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
    };
    struct lf_sigv4_output out;

    lf_sigv4_output_init(&out);
    for (int i = 0; i < 3; i++) {
        params.time_s += 60;
        LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out),
                        0);
    }
    LF_CHECK_INT_EQ(lf_sigv4_signer_key_derivations(signer), 1);

    params.time_s += 86400;
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out), 0);
    LF_CHECK_INT_EQ(lf_sigv4_signer_key_derivations(signer), 2);

    rotated.secret_access_key = "another-secret";
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &rotated, &params, &req, &out), 0);
    LF_CHECK_INT_EQ(lf_sigv4_signer_key_derivations(signer), 3);

    params.region = "eu-west-1";
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &rotated, &params, &req, &out), 0);
    LF_CHECK_INT_EQ(lf_sigv4_signer_key_derivations(signer), 4);
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void test_sigv4_rejects_signer_headers(void)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    static const struct lf_sigv4_header with_date[] = {
        {"Host", 4, "example.com", 11},
        {"X-AMZ-Date", 10, "20150830T123600Z", 16},
    };
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
    };
    struct lf_sigv4_output out;

    lf_sigv4_output_init(&out);
    req.headers = with_date;
    req.header_count = 2;
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(out.added_count, 0);
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void test_sigv4_rejects_bad_escape(void)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
    };
    struct lf_sigv4_output out;

    lf_sigv4_output_init(&out);
    req.query = "a=%4";
    req.query_len = 4;
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out),
                    LF_EINVAL);
    req.query = "a=%zz";
    req.query_len = 5;
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out),
                    LF_EINVAL);
    params.mode = LF_SIGV4_MODE_QUERY;
    params.expires_s = 604801;
    req.query = NULL;
    req.query_len = 0;
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out),
                    LF_EINVAL);
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void test_sigv4_query_decoded_then_encoded(void)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
    };
    struct lf_sigv4_output out;
    const char *query_line;

    lf_sigv4_output_init(&out);
    req.query = "b=a b&a=x%2fy&a=+&c";
    req.query_len = strlen(req.query);
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out), 0);
    query_line = strchr(out.canonical_request.data, '\n');
    query_line = query_line ? strchr(query_line + 1, '\n') : NULL;
    LF_CHECK(query_line != NULL);
    if (query_line != NULL) {
        LF_CHECK_INT_EQ(strncmp(query_line, "\na=%2B&a=x%2Fy&b=a%20b&c=\n", 26),
                        0);
    }
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

/* Checks line `index` (0-based) of the canonical request in `out`. */
static void check_canonical_line(const struct lf_sigv4_output *out, int index,
                                 const char *expected)
{
    const char *line = out->canonical_request.data;
    const char *end;

    for (int i = 0; i < index && line != NULL; i++) {
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    if (line == NULL) {
        LF_FAIL_AT("canonical request has no line %d", index);
        return;
    }
    end = strchr(line, '\n');
    LF_CHECK_MEM_EQ(line, end ? (size_t)(end - line) : strlen(line), expected);
}

static void test_sigv4_path_normalization(void)
{
    static const struct {
        const char *path;
        unsigned flags;
        const char *canonical;
    } cases[] = {
        {"", LF_SIGV4_NORMALIZE_PATH, "/"},
        {"/", LF_SIGV4_NORMALIZE_PATH, "/"},
        {"/a/b/..", LF_SIGV4_NORMALIZE_PATH, "/a/"},
        {"/a/./b", LF_SIGV4_NORMALIZE_PATH, "/a/b"},
        {"/a/b/.", LF_SIGV4_NORMALIZE_PATH, "/a/b/"},
        {"/../a", LF_SIGV4_NORMALIZE_PATH, "/a"},
        {"//a///b//", LF_SIGV4_NORMALIZE_PATH, "/a/b/"},
        {"/a/..b/.c", LF_SIGV4_NORMALIZE_PATH, "/a/..b/.c"},
        {"/a%2Fb", LF_SIGV4_NORMALIZE_PATH, "/a%252Fb"},
        {"", 0, "/"},
        {"//a/../b", 0, "//a/../b"},
        {"/a b+c", 0, "/a%20b%2Bc"},
    };
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
    };
    struct lf_sigv4_output out;

    lf_sigv4_output_init(&out);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        req.path = cases[i].path;
        req.path_len = strlen(cases[i].path);
        params.flags = cases[i].flags;
        LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out),
                        0);
        check_canonical_line(&out, 1, cases[i].canonical);
    }
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void test_sigv4_header_canonical_values(void)
{
    static const struct lf_sigv4_header headers[] = {
        HEADER("Host", "example.com"),
        HEADER(" X-Quoted ", "  \"a   b\t\tc\"  "),
        HEADER("X-Folded", "one\r\n two\r\n\tthree"),
        HEADER("x-empty", "   "),
        HEADER("X-FOLDED", "four"),
    };
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_request req = put_request();
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = "logs",
        .time_s = 1440938160,
    };
    struct lf_sigv4_output out;

    lf_sigv4_output_init(&out);
    req.headers = headers;
    req.header_count = sizeof(headers) / sizeof(headers[0]);
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, &test_creds, &params, &req, &out), 0);
    check_canonical_line(&out, 3, "host:example.com");
    check_canonical_line(&out, 4, "x-amz-date:20150830T123600Z");
    check_canonical_line(&out, 5, "x-empty:");
    check_canonical_line(&out, 6, "x-folded:one two three,four");
    check_canonical_line(&out, 7, "x-quoted:\"a b c\"");
    LF_CHECK_MEM_EQ(out.signed_headers.data, out.signed_headers.len,
                    "host;x-amz-date;x-empty;x-folded;x-quoted");
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
}

static void check_botocore_case(struct lf_sigv4_signer *signer,
                                const struct lf_sigv4_credentials *creds,
                                const struct lf_sigv4_params *params,
                                const char *host, json_t *c)
{
    json_t *header_list = json_object_get(c, "headers");
    struct lf_sigv4_header headers[MAX_HEADERS];
    const char *query = json_string_value(json_object_get(c, "query"));
    const char *body = json_string_value(json_object_get(c, "body"));
    struct lf_sigv4_request req = {
        .method = "POST",
        .path = json_string_value(json_object_get(c, "path")),
        .headers = headers,
        .payload = body,
        .payload_len = body ? strlen(body) : 0,
    };
    struct lf_sigv4_output out;
    size_t i;
    json_t *pair;

    headers[0] = (struct lf_sigv4_header){"Host", 4, host, strlen(host)};
    req.header_count = 1;
    json_array_foreach(header_list, i, pair)
    {
        struct lf_sigv4_header *h = &headers[req.header_count++];

        h->name = json_string_value(json_array_get(pair, 0));
        h->name_len = strlen(h->name);
        h->value = json_string_value(json_array_get(pair, 1));
        h->value_len = strlen(h->value);
    }
    req.path_len = strlen(req.path);
    req.query = query;
    req.query_len = strlen(query);

    lf_sigv4_output_init(&out);
    LF_CHECK_INT_EQ(lf_sigv4_sign(signer, creds, params, &req, &out), 0);
    LF_CHECK_STR_EQ(out.canonical_request.data,
                    json_string_value(json_object_get(c, "canonical_request")));
    LF_CHECK_STR_EQ(out.authorization.data,
                    json_string_value(json_object_get(c, "authorization")));
    lf_sigv4_output_cleanup(&out);
}

static void test_sigv4_botocore_cases(void)
{
    json_t *root =
        json_load_file(lf_test_fixture("sigv4-botocore/cases.json"), 0, NULL);
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_credentials creds;
    struct lf_sigv4_params params = {
        .mode = LF_SIGV4_MODE_HEADER,
        .flags = LF_SIGV4_NORMALIZE_PATH,
    };
    size_t i;
    json_t *c;

    LF_CHECK(root != NULL);
    if (root == NULL) {
        lf_sigv4_signer_free(signer);
        return;
    }
    creds.access_key_id =
        json_string_value(json_object_get(root, "access_key_id"));
    creds.secret_access_key =
        json_string_value(json_object_get(root, "secret_access_key"));
    creds.session_token =
        json_string_value(json_object_get(root, "session_token"));
    params.region = json_string_value(json_object_get(root, "region"));
    params.service = json_string_value(json_object_get(root, "service"));
    params.time_s =
        parse_timestamp(json_string_value(json_object_get(root, "time")));

    LF_CHECK(json_array_size(json_object_get(root, "cases")) > 0);
    json_array_foreach(json_object_get(root, "cases"), i, c)
    {
        if (json_array_size(json_object_get(c, "headers")) >= MAX_HEADERS) {
            LF_FAIL_AT("case %zu has too many headers", i);
            continue;
        }
        check_botocore_case(signer, &creds, &params,
                            json_string_value(json_object_get(root, "host")),
                            c);
    }
    json_decref(root);
    lf_sigv4_signer_free(signer);
}

int main(void)
{
    LF_RUN(test_sigv4_test_suite);
    LF_RUN(test_sigv4_put_log_events_botocore);
    LF_RUN(test_sigv4_unsigned_payload);
    LF_RUN(test_sigv4_key_cached_per_day);
    LF_RUN(test_sigv4_rejects_signer_headers);
    LF_RUN(test_sigv4_rejects_bad_escape);
    LF_RUN(test_sigv4_query_decoded_then_encoded);
    LF_RUN(test_sigv4_path_normalization);
    LF_RUN(test_sigv4_header_canonical_values);
    LF_RUN(test_sigv4_botocore_cases);
    return lf_test_end();
}
