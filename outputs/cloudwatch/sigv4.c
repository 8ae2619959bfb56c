/*
 * SigV4 signing for the CloudWatch Logs output, on libcrypto's EVP API
 * (the TLS library that Debian's libcurl4 links). The steps follow the
 * specification's order: canonical request, string to sign, signing key,
 * signature, then the Authorization header or the query parameters.
 */
#include "outputs/cloudwatch/sigv4.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SHA256_LEN 32
#define DATE_STAMP_LEN 8 /* "20150830" */
#define TERMINATOR "aws4_request"

/* The longest X-Amz-Expires a pre-signed request may carry: 7 days. */
#define MAX_EXPIRES_S 604800u

/* X-Amz-* parameters of a pre-signed request, signature excluded. */
#define PRESIGN_PARAM_COUNT 6

struct lf_sigv4_signer {
    EVP_MD *sha256;
    EVP_MD_CTX *md_ctx;
    EVP_MAC *hmac;
    EVP_MAC_CTX *mac_ctx;
    uint64_t key_derivations;

    /* Cache of the derived signing key and what it was derived from. The
     * secret is kept as its SHA-256 so that rotated credentials miss. */
    bool key_valid;
    char key_date[DATE_STAMP_LEN + 1];
    char *key_region;
    char *key_service;
    unsigned char key_secret_sha256[SHA256_LEN];
    unsigned char key[SHA256_LEN];
};

/* A canonical header: lowercase name and canonical value, owned. */
struct canon_header {
    char *name;
    struct lf_buf value;
    size_t order; /* position in the request, for a stable sort */
};

struct query_param {
    struct lf_buf key; /* encoded */
    struct lf_buf value;
};

static const char hex_digits[] = "0123456789abcdef";

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

struct lf_sigv4_signer *lf_sigv4_signer_new(void)
{
    struct lf_sigv4_signer *s = lf_calloc(1, sizeof(*s));
    char digest_name[] = "SHA256";
    OSSL_PARAM mac_params[2];

    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    s->md_ctx = EVP_MD_CTX_new();
    s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (s->sha256 == NULL || s->md_ctx == NULL || s->hmac == NULL) {
        goto fail;
    }
    s->mac_ctx = EVP_MAC_CTX_new(s->hmac);
    if (s->mac_ctx == NULL) {
        goto fail;
    }

    mac_params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0);
    mac_params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(s->mac_ctx, mac_params) != 1) {
        goto fail;
    }
    return s;

fail:
    lf_sigv4_signer_free(s);
    return NULL;
}

void lf_sigv4_signer_free(struct lf_sigv4_signer *signer)
{
    if (signer == NULL) {
        return;
    }
    EVP_MAC_CTX_free(signer->mac_ctx);
    EVP_MAC_free(signer->hmac);
    EVP_MD_CTX_free(signer->md_ctx);
    EVP_MD_free(signer->sha256);
    lf_free(signer->key_region);
    lf_free(signer->key_service);
    OPENSSL_cleanse(signer->key, sizeof(signer->key));
    lf_free(signer);
}

uint64_t lf_sigv4_signer_key_derivations(const struct lf_sigv4_signer *s)
{
    return s->key_derivations;
}

void lf_sigv4_output_init(struct lf_sigv4_output *out)
{
    memset(out, 0, sizeof(*out));
    lf_buf_init(&out->canonical_request);
    lf_buf_init(&out->string_to_sign);
    lf_buf_init(&out->signed_headers);
    lf_buf_init(&out->authorization);
    lf_buf_init(&out->query);
}

void lf_sigv4_output_cleanup(struct lf_sigv4_output *out)
{
    lf_buf_cleanup(&out->canonical_request);
    lf_buf_cleanup(&out->string_to_sign);
    lf_buf_cleanup(&out->signed_headers);
    lf_buf_cleanup(&out->authorization);
    lf_buf_cleanup(&out->query);
}

static int sha256(struct lf_sigv4_signer *s, const void *data, size_t len,
                  unsigned char *digest_out)
{
    unsigned int digest_len = 0;

    if (EVP_DigestInit_ex2(s->md_ctx, s->sha256, NULL) != 1 ||
        EVP_DigestUpdate(s->md_ctx, data, len) != 1 ||
        EVP_DigestFinal_ex(s->md_ctx, digest_out, &digest_len) != 1 ||
        digest_len != SHA256_LEN) {
        return LF_EINVAL;
    }
    return 0;
}

int lf_sigv4_sha256_hex(struct lf_sigv4_signer *signer, const void *data,
                        size_t len, char *hex_out)
{
    unsigned char digest[SHA256_LEN];
    int rc = sha256(signer, data, len, digest);

    if (rc == 0) {
        hex_encode(digest, sizeof(digest), hex_out);
    }
    return rc;
}

static int hmac(struct lf_sigv4_signer *s, const unsigned char *key,
                size_t key_len, const void *data, size_t len,
                unsigned char *mac_out)
{
    size_t mac_len = 0;

    if (EVP_MAC_init(s->mac_ctx, key, key_len, NULL) != 1 ||
        EVP_MAC_update(s->mac_ctx, data, len) != 1 ||
        EVP_MAC_final(s->mac_ctx, mac_out, &mac_len, SHA256_LEN) != 1 ||
        mac_len != SHA256_LEN) {
        return LF_EINVAL;
    }
    return 0;
}

/* ---- Canonical URI ---- */

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static void append_uri_encoded(struct lf_buf *buf, const char *s, size_t len,
                               bool keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_unreserved(c) || (keep_slash && c == '/')) {
            lf_buf_append_char(buf, (char)c);
        } else {
            char esc[3] = {'%', "0123456789ABCDEF"[c >> 4],
                           "0123456789ABCDEF"[c & 0x0f]};

            lf_buf_append(buf, esc, sizeof(esc));
        }
    }
}

struct segment {
    const char *start;
    size_t len;
};

/*
 * Appends the path with empty, "." and ".." segments removed, as RFC 3986
 * section 5.2.4 does for dot segments. A trailing '/' survives, and so
 * does the directory a final "." or ".." leaves ("/a/b/.." is "/a/").
 */
static void append_normalized_path(struct lf_buf *buf, const char *path,
                                   size_t len)
{
    struct segment *stack = lf_calloc(len / 2 + 1, sizeof(*stack));
    size_t depth = 0;
    size_t i = 0;
    bool trailing_slash = false;

    while (i < len) {
        size_t start;

        while (i < len && path[i] == '/') {
            i++;
        }
        start = i;
        while (i < len && path[i] != '/') {
            i++;
        }
        if (i == start) {
            trailing_slash = true;
            continue;
        }
        trailing_slash = i < len;
        if (i - start == 1 && path[start] == '.') {
            trailing_slash = true;
        } else if (i - start == 2 && memcmp(path + start, "..", 2) == 0) {
            depth -= depth > 0 ? 1 : 0;
            trailing_slash = true;
        } else {
            stack[depth].start = path + start;
            stack[depth].len = i - start;
            depth++;
        }
    }

    lf_buf_append_char(buf, '/');
    for (size_t k = 0; k < depth; k++) {
        append_uri_encoded(buf, stack[k].start, stack[k].len, false);
        if (k + 1 < depth || trailing_slash) {
            lf_buf_append_char(buf, '/');
        }
    }
    lf_free(stack);
}

static void append_canonical_uri(struct lf_buf *buf,
                                 const struct lf_sigv4_request *req,
                                 bool normalize)
{
    if (normalize) {
        append_normalized_path(buf, req->path, req->path_len);
    } else if (req->path_len == 0) {
        lf_buf_append_char(buf, '/');
    } else {
        append_uri_encoded(buf, req->path, req->path_len, true);
    }
}

/* ---- Canonical query string ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Percent-decodes `s` then appends it encoded. */
static int append_reencoded(struct lf_buf *buf, const char *s, size_t len)
{
    struct lf_buf decoded;
    int rc = 0;

    lf_buf_init(&decoded);
    for (size_t i = 0; i < len && rc == 0; i++) {
        int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;

        if (s[i] != '%') {
            lf_buf_append_char(&decoded, s[i]);
        } else if (hi < 0 || lo < 0) {
            rc = LF_EINVAL;
        } else {
            lf_buf_append_char(&decoded, (char)(hi << 4 | lo));
            i += 2;
        }
    }
    if (rc == 0) {
        append_uri_encoded(buf, decoded.data, decoded.len, false);
    }
    lf_buf_cleanup(&decoded);
    return rc;
}

static int compare_buf(const struct lf_buf *a, const struct lf_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n > 0 ? memcmp(a->data, b->data, n) : 0;

    if (c != 0) {
        return c;
    }
    return (a->len > b->len) - (a->len < b->len);
}

static int compare_params(const void *pa, const void *pb)
{
    const struct query_param *a = pa;
    const struct query_param *b = pb;
    int c = compare_buf(&a->key, &b->key);

    return c != 0 ? c : compare_buf(&a->value, &b->value);
}

static void free_params(struct query_param *params, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        lf_buf_cleanup(&params[i].key);
        lf_buf_cleanup(&params[i].value);
    }
    lf_free(params);
}

/*
 * Splits a raw query on '&' and '=' into encoded keys and values, in an
 * array with room for `extra` more parameters.
 */
static int parse_query(const char *query, size_t len,
                       struct query_param **params_out, size_t *count_out,
                       size_t extra)
{
    size_t cap = extra + 1;
    size_t count = 0;
    struct query_param *params = NULL;
    size_t i = 0;
    int rc = 0;

    for (size_t k = 0; k < len; k++) {
        cap += query[k] == '&' ? 1 : 0;
    }
    params = lf_calloc(cap, sizeof(*params));

    while (i < len) {
        size_t start = i;
        size_t eq;
        struct query_param *param;

        while (i < len && query[i] != '&') {
            i++;
        }
        if (i == start) {
            i++;
            continue;
        }
        eq = start;
        while (eq < i && query[eq] != '=') {
            eq++;
        }
        param = &params[count++];
        lf_buf_init(&param->key);
        lf_buf_init(&param->value);
        rc = append_reencoded(&param->key, query + start, eq - start);
        if (rc == 0 && eq < i) {
            rc = append_reencoded(&param->value, query + eq + 1, i - eq - 1);
        }
        if (rc != 0) {
            goto fail;
        }
        i++;
    }
    *params_out = params;
    *count_out = count;
    return 0;

fail:
    free_params(params, count);
    return rc;
}

static void add_param(struct query_param *p, const char *key, const char *value,
                      size_t value_len)
{
    lf_buf_init(&p->key);
    lf_buf_init(&p->value);
    lf_buf_append_str(&p->key, key);
    append_uri_encoded(&p->value, value, value_len, false);
}

static void append_query(struct lf_buf *buf, const struct query_param *params,
                         size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            lf_buf_append_char(buf, '&');
        }
        lf_buf_append(buf, params[i].key.data, params[i].key.len);
        lf_buf_append_char(buf, '=');
        if (params[i].value.len > 0) {
            lf_buf_append(buf, params[i].value.data, params[i].value.len);
        }
    }
}

/* ---- Canonical headers ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends `s` with outer whitespace removed and inner runs made one space. */
static void append_trimmed(struct lf_buf *buf, const char *s, size_t len)
{
    bool pending_space = false;
    bool started = false;

    for (size_t i = 0; i < len; i++) {
        if (is_space(s[i])) {
            pending_space = started;
            continue;
        }
        if (pending_space) {
            lf_buf_append_char(buf, ' ');
            pending_space = false;
        }
        lf_buf_append_char(buf, s[i]);
        started = true;
    }
}

static int compare_headers(const void *pa, const void *pb)
{
    const struct canon_header *a = pa;
    const struct canon_header *b = pb;
    int c = strcmp(a->name, b->name);

    if (c != 0) {
        return c;
    }
    return (a->order > b->order) - (a->order < b->order);
}

static char *lowercase_name(const char *name, size_t len)
{
    char *lower;
    size_t start = 0;

    while (start < len && is_space(name[start])) {
        start++;
    }
    while (len > start && is_space(name[len - 1])) {
        len--;
    }
    lower = lf_strndup(name + start, len - start);
    for (char *p = lower; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    return lower;
}

static bool is_signer_header(const char *lower)
{
    return strcmp(lower, "authorization") == 0 ||
           strcmp(lower, "x-amz-date") == 0 ||
           strcmp(lower, "x-amz-security-token") == 0 ||
           strcmp(lower, "x-amz-content-sha256") == 0;
}

static void free_headers(struct canon_header *headers, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        lf_free(headers[i].name);
        lf_buf_cleanup(&headers[i].value);
    }
    lf_free(headers);
}

static void push_header(struct canon_header *h, size_t order,
                        const char *lower_name, const char *value,
                        size_t value_len)
{
    h->name = lf_strdup(lower_name);
    h->order = order;
    lf_buf_init(&h->value);
    append_trimmed(&h->value, value, value_len);
}

/*
 * Collects the request's headers and the ones the signer signs, sorted by
 * name with repeated names kept in request order.
 */
static int collect_headers(const struct lf_sigv4_request *req,
                           const struct lf_sigv4_credentials *creds,
                           const struct lf_sigv4_params *params,
                           const struct lf_sigv4_output *out,
                           struct canon_header **headers_out, size_t *count_out)
{
    size_t cap = req->header_count + LF_SIGV4_MAX_ADDED_HEADERS;
    struct canon_header *headers = lf_calloc(cap, sizeof(*headers));
    size_t n = 0;
    bool header_mode = params->mode == LF_SIGV4_MODE_HEADER;
    bool sign_token = creds->session_token != NULL &&
                      !(params->flags & LF_SIGV4_OMIT_SESSION_TOKEN);

    for (size_t i = 0; i < req->header_count; i++) {
        const struct lf_sigv4_header *h = &req->headers[i];
        char *lower = lowercase_name(h->name, h->name_len);

        if (lower[0] == '\0' || is_signer_header(lower)) {
            lf_free(lower);
            free_headers(headers, n);
            return LF_EINVAL;
        }
        push_header(&headers[n], n, lower, h->value, h->value_len);
        n++;
        lf_free(lower);
    }
    if (header_mode) {
        push_header(&headers[n], n, "x-amz-date", out->amz_date,
                    LF_SIGV4_AMZ_DATE_LEN);
        n++;
        if (sign_token) {
            push_header(&headers[n], n, "x-amz-security-token",
                        creds->session_token, strlen(creds->session_token));
            n++;
        }
        if (params->flags & LF_SIGV4_CONTENT_SHA256_HEADER) {
            push_header(&headers[n], n, "x-amz-content-sha256",
                        out->payload_hash, strlen(out->payload_hash));
            n++;
        }
    }
    qsort(headers, n, sizeof(*headers), compare_headers);
    *headers_out = headers;
    *count_out = n;
    return 0;
}

/*
 * Appends "name:value\n" per distinct name, repeated names joined by ',',
 * then the blank line, and fills `signed_headers` with the names.
 */
static void append_canonical_headers(struct lf_buf *buf,
                                     struct lf_buf *signed_headers,
                                     const struct canon_header *headers,
                                     size_t count)
{
    for (size_t i = 0; i < count; i++) {
        bool repeat =
            i > 0 && strcmp(headers[i].name, headers[i - 1].name) == 0;

        if (repeat) {
            lf_buf_append_char(buf, ',');
        } else {
            if (i > 0) {
                lf_buf_append_char(buf, '\n');
                lf_buf_append_char(signed_headers, ';');
            }
            lf_buf_append_str(buf, headers[i].name);
            lf_buf_append_char(buf, ':');
            lf_buf_append_str(signed_headers, headers[i].name);
        }
        if (headers[i].value.len > 0) {
            lf_buf_append(buf, headers[i].value.data, headers[i].value.len);
        }
    }
    lf_buf_append_str(buf, "\n\n");
}

/* ---- Steps ---- */

static int format_amz_date(int64_t time_s, char *out)
{
    time_t t = (time_t)time_s;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, LF_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) !=
            LF_SIGV4_AMZ_DATE_LEN) {
        return LF_EINVAL;
    }
    return 0;
}

static void append_scope(struct lf_buf *buf, const struct lf_sigv4_params *p,
                         const char *amz_date)
{
    lf_buf_append(buf, amz_date, DATE_STAMP_LEN);
    lf_buf_appendf(buf, "/%s/%s/" TERMINATOR, p->region, p->service);
}

/*
 * Builds the query-mode parameters: the request's own plus X-Amz-*, in
 * `params` (sorted for signing), and the unsorted list to send in
 * `out->query` without the signature.
 */
static int presign_params(const struct lf_sigv4_request *req,
                          const struct lf_sigv4_credentials *creds,
                          const struct lf_sigv4_params *p,
                          struct lf_sigv4_output *out,
                          struct query_param **params_out, size_t *count_out)
{
    struct query_param *params = NULL;
    size_t n = 0;
    struct lf_buf credential;
    char expires[16];
    bool sign_token = creds->session_token != NULL &&
                      !(p->flags & LF_SIGV4_OMIT_SESSION_TOKEN);
    size_t first_added;
    int rc = parse_query(req->query, req->query ? req->query_len : 0, &params,
                         &n, PRESIGN_PARAM_COUNT);

    if (rc != 0) {
        return rc;
    }
    first_added = n;
    lf_buf_init(&credential);
    lf_buf_appendf(&credential, "%s/", creds->access_key_id);
    append_scope(&credential, p, out->amz_date);
    snprintf(expires, sizeof(expires), "%u", (unsigned)p->expires_s);

    add_param(&params[n++], "X-Amz-Algorithm", LF_SIGV4_ALGORITHM,
              strlen(LF_SIGV4_ALGORITHM));
    add_param(&params[n++], "X-Amz-Credential", credential.data,
              credential.len);
    add_param(&params[n++], "X-Amz-Date", out->amz_date, LF_SIGV4_AMZ_DATE_LEN);
    add_param(&params[n++], "X-Amz-SignedHeaders", out->signed_headers.data,
              out->signed_headers.len);
    add_param(&params[n++], "X-Amz-Expires", expires, strlen(expires));
    if (creds->session_token != NULL) {
        add_param(&params[n++], "X-Amz-Security-Token", creds->session_token,
                  strlen(creds->session_token));
    }
    lf_buf_cleanup(&credential);

    /* The parameters to send are the X-Amz-* ones in the order above. */
    lf_buf_reset(&out->query);
    for (size_t i = first_added; i < n; i++) {
        append_query(&out->query, &params[i], 1);
        lf_buf_append_char(&out->query, '&');
    }
    if (creds->session_token != NULL && !sign_token) {
        lf_buf_cleanup(&params[n - 1].key);
        lf_buf_cleanup(&params[n - 1].value);
        n--;
    }
    qsort(params, n, sizeof(*params), compare_params);
    *params_out = params;
    *count_out = n;
    return 0;
}

static int build_canonical_request(const struct lf_sigv4_request *req,
                                   const struct lf_sigv4_credentials *creds,
                                   const struct lf_sigv4_params *p,
                                   struct lf_sigv4_output *out)
{
    struct canon_header *headers = NULL;
    size_t header_count = 0;
    struct query_param *params = NULL;
    size_t param_count = 0;
    struct lf_buf *cr = &out->canonical_request;
    struct lf_buf canonical_headers;
    int rc;

    lf_buf_init(&canonical_headers);
    rc = collect_headers(req, creds, p, out, &headers, &header_count);
    if (rc != 0) {
        goto out;
    }
    append_canonical_headers(&canonical_headers, &out->signed_headers, headers,
                             header_count);

    if (p->mode == LF_SIGV4_MODE_QUERY) {
        rc = presign_params(req, creds, p, out, &params, &param_count);
    } else {
        rc = parse_query(req->query, req->query ? req->query_len : 0, &params,
                         &param_count, 0);
        if (rc == 0 && param_count > 1) {
            qsort(params, param_count, sizeof(*params), compare_params);
        }
    }
    if (rc != 0) {
        goto out;
    }

    lf_buf_appendf(cr, "%s\n", req->method);
    append_canonical_uri(cr, req, p->flags & LF_SIGV4_NORMALIZE_PATH);
    lf_buf_append_char(cr, '\n');
    append_query(cr, params, param_count);
    lf_buf_append_char(cr, '\n');
    lf_buf_append(cr, canonical_headers.data, canonical_headers.len);
    lf_buf_append(cr, out->signed_headers.data, out->signed_headers.len);
    lf_buf_append_char(cr, '\n');
    lf_buf_append_str(cr, out->payload_hash);

out:
    free_headers(headers, header_count);
    free_params(params, param_count);
    lf_buf_cleanup(&canonical_headers);
    return rc;
}

static int build_string_to_sign(struct lf_sigv4_signer *s,
                                const struct lf_sigv4_params *p,
                                struct lf_sigv4_output *out)
{
    char cr_hash[LF_SIGV4_HEX_LEN + 1];
    int rc = lf_sigv4_sha256_hex(s, out->canonical_request.data,
                                 out->canonical_request.len, cr_hash);

    if (rc != 0) {
        return rc;
    }
    lf_buf_appendf(&out->string_to_sign, LF_SIGV4_ALGORITHM "\n%s\n",
                   out->amz_date);
    append_scope(&out->string_to_sign, p, out->amz_date);
    lf_buf_appendf(&out->string_to_sign, "\n%s", cr_hash);
    return 0;
}

static bool key_cached(const struct lf_sigv4_signer *s,
                       const struct lf_sigv4_params *p, const char *date,
                       const unsigned char *secret_sha256)
{
    return s->key_valid && memcmp(s->key_date, date, DATE_STAMP_LEN) == 0 &&
           strcmp(s->key_region, p->region) == 0 &&
           strcmp(s->key_service, p->service) == 0 &&
           CRYPTO_memcmp(s->key_secret_sha256, secret_sha256, SHA256_LEN) == 0;
}

/*
 * Derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 * service), "aws4_request"), unless the cached key has the same inputs.
 */
static int derive_signing_key(struct lf_sigv4_signer *s,
                              const struct lf_sigv4_credentials *creds,
                              const struct lf_sigv4_params *p,
                              const char *amz_date)
{
    unsigned char secret_sha256[SHA256_LEN];
    unsigned char k[SHA256_LEN];
    size_t secret_len = strlen(creds->secret_access_key);
    struct lf_buf secret;
    int rc;

    rc = sha256(s, creds->secret_access_key, secret_len, secret_sha256);
    if (rc != 0 || key_cached(s, p, amz_date, secret_sha256)) {
        return rc;
    }

    /* Reserved up front, so that no reallocation leaves a copy of the
     * secret behind. */
    lf_buf_init(&secret);
    lf_buf_reserve(&secret, LF_STRLEN("AWS4") + secret_len);
    lf_buf_append_str(&secret, "AWS4");
    lf_buf_append(&secret, creds->secret_access_key, secret_len);
    rc = hmac(s, (const unsigned char *)secret.data, secret.len, amz_date,
              DATE_STAMP_LEN, k);
    OPENSSL_cleanse(secret.data, secret.len);
    lf_buf_cleanup(&secret);
    if (rc == 0) {
        rc = hmac(s, k, SHA256_LEN, p->region, strlen(p->region), k);
    }
    if (rc == 0) {
        rc = hmac(s, k, SHA256_LEN, p->service, strlen(p->service), k);
    }
    if (rc == 0) {
        rc = hmac(s, k, SHA256_LEN, TERMINATOR, strlen(TERMINATOR), s->key);
    }
    OPENSSL_cleanse(k, sizeof(k));
    s->key_valid = rc == 0;
    if (rc != 0) {
        return rc;
    }

    memcpy(s->key_date, amz_date, DATE_STAMP_LEN);
    s->key_date[DATE_STAMP_LEN] = '\0';
    lf_free(s->key_region);
    lf_free(s->key_service);
    s->key_region = lf_strdup(p->region);
    s->key_service = lf_strdup(p->service);
    memcpy(s->key_secret_sha256, secret_sha256, SHA256_LEN);
    s->key_derivations++;
    return 0;
}

static void set_added(struct lf_sigv4_output *out, const char *name,
                      const char *value, size_t value_len)
{
    struct lf_sigv4_header *h = &out->added[out->added_count++];

    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = value_len;
}

static void finish_header_mode(const struct lf_sigv4_credentials *creds,
                               const struct lf_sigv4_params *p,
                               struct lf_sigv4_output *out)
{
    lf_buf_appendf(&out->authorization, LF_SIGV4_ALGORITHM " Credential=%s/",
                   creds->access_key_id);
    append_scope(&out->authorization, p, out->amz_date);
    lf_buf_append_str(&out->authorization, ", SignedHeaders=");
    lf_buf_append(&out->authorization, out->signed_headers.data,
                  out->signed_headers.len);
    lf_buf_appendf(&out->authorization, ", Signature=%s", out->signature);

    if (creds->session_token != NULL) {
        set_added(out, "X-Amz-Security-Token", creds->session_token,
                  strlen(creds->session_token));
    }
    set_added(out, "X-Amz-Date", out->amz_date, LF_SIGV4_AMZ_DATE_LEN);
    if (p->flags & LF_SIGV4_CONTENT_SHA256_HEADER) {
        set_added(out, "x-amz-content-sha256", out->payload_hash,
                  strlen(out->payload_hash));
    }
    set_added(out, "Authorization", out->authorization.data,
              out->authorization.len);
}

static bool params_valid(const struct lf_sigv4_credentials *creds,
                         const struct lf_sigv4_params *p,
                         const struct lf_sigv4_request *req)
{
    if (creds->access_key_id == NULL || creds->secret_access_key == NULL ||
        p->region == NULL || p->service == NULL || req->method == NULL ||
        req->path == NULL) {
        return false;
    }
    if (req->payload == NULL && req->payload_len != 0) {
        return false;
    }
    return p->mode == LF_SIGV4_MODE_HEADER ||
           (p->expires_s >= 1 && p->expires_s <= MAX_EXPIRES_S);
}

int lf_sigv4_sign(struct lf_sigv4_signer *signer,
                  const struct lf_sigv4_credentials *creds,
                  const struct lf_sigv4_params *params,
                  const struct lf_sigv4_request *req,
                  struct lf_sigv4_output *out)
{
    unsigned char sig[SHA256_LEN];
    int rc;

    lf_buf_reset(&out->canonical_request);
    lf_buf_reset(&out->string_to_sign);
    lf_buf_reset(&out->signed_headers);
    lf_buf_reset(&out->authorization);
    lf_buf_reset(&out->query);
    out->added_count = 0;
    out->signature[0] = '\0';
    if (!params_valid(creds, params, req)) {
        return LF_EINVAL;
    }

    rc = format_amz_date(params->time_s, out->amz_date);
    if (rc == 0 && (params->flags & LF_SIGV4_UNSIGNED_PAYLOAD_HASH)) {
        snprintf(out->payload_hash, sizeof(out->payload_hash), "%s",
                 LF_SIGV4_UNSIGNED_PAYLOAD);
    } else if (rc == 0) {
        rc = lf_sigv4_sha256_hex(signer, req->payload ? req->payload : "",
                                 req->payload_len, out->payload_hash);
    }
    if (rc == 0) {
        rc = build_canonical_request(req, creds, params, out);
    }
    if (rc == 0) {
        rc = build_string_to_sign(signer, params, out);
    }
    if (rc == 0) {
        rc = derive_signing_key(signer, creds, params, out->amz_date);
    }
    if (rc == 0) {
        rc = hmac(signer, signer->key, SHA256_LEN, out->string_to_sign.data,
                  out->string_to_sign.len, sig);
    }
    if (rc != 0) {
        return rc;
    }

    hex_encode(sig, sizeof(sig), out->signature);
    if (params->mode == LF_SIGV4_MODE_HEADER) {
        finish_header_mode(creds, params, out);
    } else {
        lf_buf_appendf(&out->query, "X-Amz-Signature=%s", out->signature);
    }
    return 0;
}
