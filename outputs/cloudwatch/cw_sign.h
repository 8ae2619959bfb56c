/*
 * Signing of CloudWatch Logs JSON 1.1 requests: SigV4 over the Host,
 * Content-Type and X-Amz-Target headers and the body, written as the
 * "Name: value" header lines the HTTP client sends. Pure code: no I/O.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_CW_SIGN_H
#define LF_OUTPUTS_CLOUDWATCH_CW_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "lf/buf.h"
#include "outputs/cloudwatch/sigv4.h"

/* Header lines of a signed request: Content-Type, X-Amz-Target and the
 * signer's. Host is not among them, because libcurl writes it from the
 * URL. */
#define LF_CW_SIGNED_LINES_MAX (2 + LF_SIGV4_MAX_ADDED_HEADERS)

/* A signed request's header lines, which contain the session token. */
struct lf_cw_signed_request {
    struct lf_sigv4_output sig;
    struct lf_buf text; /* the lines, each NUL-terminated */
    const char *lines[LF_CW_SIGNED_LINES_MAX];
    size_t line_count;
};

void lf_cw_signed_request_init(struct lf_cw_signed_request *r);

/* Wipes the header lines; call it once the request is sent. */
void lf_cw_signed_request_wipe(struct lf_cw_signed_request *r);

/* Wipes and frees what `r` holds. */
void lf_cw_signed_request_cleanup(struct lf_cw_signed_request *r);

/*
 * Signs a POST of `body` to `path` on `host` with X-Amz-Target `target`,
 * for the `logs` service in `region` at `time_s`, and fills `out`.
 * Returns 0 or the error of lf_sigv4_sign().
 */
int lf_cw_sign_request(struct lf_sigv4_signer *signer,
                       const struct lf_sigv4_credentials *creds,
                       const char *region, const char *host, const char *path,
                       const char *target, const void *body, size_t body_len,
                       int64_t time_s, struct lf_cw_signed_request *out);

#endif
