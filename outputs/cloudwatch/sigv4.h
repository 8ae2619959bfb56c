/*
 * AWS Signature Version 4 (HMAC-SHA256) for requests to AWS services:
 * canonical request, string to sign, signing key, signature, and either
 * the `Authorization` header or the pre-signed query parameters.
 * Specification: "Create a signed AWS API request" and "Elements of an AWS
 * API request signature" in the AWS IAM user guide. Pure code on
 * libcrypto: no I/O, no logging.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_SIGV4_H
#define LF_OUTPUTS_CLOUDWATCH_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf/buf.h"

/* Lowercase hex SHA-256 of a zero-length payload. */
#define LF_SIGV4_EMPTY_PAYLOAD_SHA256                                          \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Payload hash sent instead of the body's SHA-256 when it is not signed. */
#define LF_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

#define LF_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* ISO 8601 basic format, "20150830T123600Z", without its NUL. */
#define LF_SIGV4_AMZ_DATE_LEN 16

/* Hex of a SHA-256 digest or an HMAC-SHA256 signature, without its NUL. */
#define LF_SIGV4_HEX_LEN 64

/* The signer adds at most these headers: token, date, body hash and auth. */
#define LF_SIGV4_MAX_ADDED_HEADERS 4

struct lf_sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL for long-term credentials */
};

/* One request header, not NUL-terminated. Names match case-insensitively. */
struct lf_sigv4_header {
    const char *name;
    size_t name_len;
    const char *value; /* may hold folded lines; see lf_sigv4_sign() */
    size_t value_len;
};

struct lf_sigv4_request {
    const char *method; /* "POST" */
    const char *path;   /* path as sent on the request line, never NULL */
    size_t path_len;
    const char *query; /* query after '?', NULL or empty when there is none */
    size_t query_len;
    const struct lf_sigv4_header *headers; /* must include Host */
    size_t header_count;
    const void *payload; /* body; NULL with payload_len 0 when empty */
    size_t payload_len;
};

enum lf_sigv4_mode {
    LF_SIGV4_MODE_HEADER, /* sign into an Authorization header */
    LF_SIGV4_MODE_QUERY,  /* pre-sign: X-Amz-* query parameters */
};

enum lf_sigv4_flag {
    /* Remove "." and ".." segments and empty segments from the path.
     * Every service except S3 expects this. NOTE: botocore 1.43 also
     * drops the '/' that RFC 3986 keeps after a final "." or ".." ("/a/."
     * is "/a" there, "/a/" here), so such paths sign differently. */
    LF_SIGV4_NORMALIZE_PATH = 1u << 0,
    /* Also send and sign x-amz-content-sha256 (header mode only). */
    LF_SIGV4_CONTENT_SHA256_HEADER = 1u << 1,
    /* Use UNSIGNED-PAYLOAD in place of the body's hash. */
    LF_SIGV4_UNSIGNED_PAYLOAD_HASH = 1u << 2,
    /* Sign without the session token and add it to the request after
     * signing, as some services require. */
    LF_SIGV4_OMIT_SESSION_TOKEN = 1u << 3,
};

struct lf_sigv4_params {
    const char *region;  /* "us-east-1" */
    const char *service; /* signing name, "logs" for CloudWatch Logs */
    int64_t time_s;      /* request time, seconds since the Unix epoch */
    enum lf_sigv4_mode mode;
    unsigned flags;     /* LF_SIGV4_* bits */
    uint32_t expires_s; /* X-Amz-Expires, query mode only, 1 to 604800 */
};

/*
 * Result of one signing. The header pointers in `added` point into this
 * struct and into the credentials given to lf_sigv4_sign(), so they are
 * valid until the next lf_sigv4_sign() on it, its cleanup, or the end of
 * the credentials' life, whichever comes first.
 */
struct lf_sigv4_output {
    struct lf_buf canonical_request;
    struct lf_buf string_to_sign;
    struct lf_buf signed_headers; /* "host;x-amz-date" */
    struct lf_buf authorization;  /* header mode: Authorization value */
    struct lf_buf query;          /* query mode: parameters to append */
    char amz_date[LF_SIGV4_AMZ_DATE_LEN + 1];
    char payload_hash[LF_SIGV4_HEX_LEN + 1]; /* or UNSIGNED-PAYLOAD */
    char signature[LF_SIGV4_HEX_LEN + 1];
    /* Header mode: headers to add to the request, in this order. */
    struct lf_sigv4_header added[LF_SIGV4_MAX_ADDED_HEADERS];
    size_t added_count;
};

/*
 * Signer state: libcrypto handles and the derived signing key of the last
 * date, region, service and secret key. The key changes once a day, so
 * almost every signature costs one HMAC over the string to sign. Not
 * thread-safe: use one signer per thread.
 */
struct lf_sigv4_signer;

/* Returns a new signer, or NULL when libcrypto lacks HMAC or SHA-256. */
struct lf_sigv4_signer *lf_sigv4_signer_new(void);

void lf_sigv4_signer_free(struct lf_sigv4_signer *signer);

/* Returns how many signing keys the signer has derived since it was made. */
uint64_t lf_sigv4_signer_key_derivations(const struct lf_sigv4_signer *s);

void lf_sigv4_output_init(struct lf_sigv4_output *out);

void lf_sigv4_output_cleanup(struct lf_sigv4_output *out);

/*
 * Signs `req` and fills `out`, replacing what it held.
 *
 * Header values are canonicalised as SigV4 requires: leading and trailing
 * whitespace removed, and every run of spaces, tabs, CR and LF inside
 * (including obsolete line folding) replaced by one space. Repeated
 * header names are signed once, with their values joined by ',' in
 * request order. Every header in `req` is signed, so leave out the ones a
 * proxy may rewrite.
 *
 * The path is percent-encoded once per byte outside the unreserved set
 * (A-Z a-z 0-9 - . _ ~), keeping '/'. A path already percent-encoded is
 * therefore encoded again, as every service except S3 expects. Query
 * keys and values are percent-decoded, then encoded the same way and
 * sorted, so "a b" and "a%20b" sign alike. '+' is a literal plus.
 *
 * Returns 0 or LF_EINVAL. The request is invalid when a required field
 * is missing, a header name is empty, the query has a malformed escape,
 * or expires_s is out of range in query mode. It is also invalid when
 * `req` already carries a header that the signer sets: Authorization,
 * X-Amz-Date, X-Amz-Security-Token or X-Amz-Content-SHA256.
 */
int lf_sigv4_sign(struct lf_sigv4_signer *signer,
                  const struct lf_sigv4_credentials *creds,
                  const struct lf_sigv4_params *params,
                  const struct lf_sigv4_request *req,
                  struct lf_sigv4_output *out);

/*
 * Writes the lowercase hex SHA-256 of `data` into `hex_out`, which has
 * room for LF_SIGV4_HEX_LEN + 1 bytes. Returns 0, or LF_EINVAL when
 * libcrypto fails.
 */
int lf_sigv4_sha256_hex(struct lf_sigv4_signer *signer, const void *data,
                        size_t len, char *hex_out);

#endif
