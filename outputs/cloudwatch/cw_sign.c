/*
 * Signing of CloudWatch Logs JSON 1.1 requests.
 */
#include "outputs/cloudwatch/cw_sign.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/cw_encode.h"

#include <string.h>

void lf_cw_signed_request_init(struct lf_cw_signed_request *r)
{
    memset(r, 0, sizeof(*r));
    lf_sigv4_output_init(&r->sig);
    lf_buf_init(&r->text);
}

void lf_cw_signed_request_wipe(struct lf_cw_signed_request *r)
{
    if (r->text.data != NULL) {
        explicit_bzero(r->text.data, r->text.cap);
    }
    lf_buf_reset(&r->text);
    r->line_count = 0;
}

void lf_cw_signed_request_cleanup(struct lf_cw_signed_request *r)
{
    lf_cw_signed_request_wipe(r);
    lf_buf_cleanup(&r->text);
    lf_sigv4_output_cleanup(&r->sig);
}

static void add_line(struct lf_cw_signed_request *r, size_t *offsets,
                     const char *name, size_t name_len, const char *value,
                     size_t value_len)
{
    offsets[r->line_count++] = r->text.len;
    lf_buf_appendf(&r->text, "%.*s: %.*s", (int)name_len, name, (int)value_len,
                   value);
    lf_buf_append_char(&r->text, '\0');
}

int lf_cw_sign_request(struct lf_sigv4_signer *signer,
                       const struct lf_sigv4_credentials *creds,
                       const char *region, const char *host, const char *path,
                       const char *target, const void *body, size_t body_len,
                       int64_t time_s, struct lf_cw_signed_request *out)
{
    struct lf_sigv4_header headers[3] = {
        {"Host", 4, host, strlen(host)},
        {"Content-Type", 12, LF_CW_CONTENT_TYPE, LF_STRLEN(LF_CW_CONTENT_TYPE)},
        {"X-Amz-Target", 12, target, strlen(target)},
    };
    struct lf_sigv4_params params = {
        .region = region,
        .service = LF_CW_SIGNING_NAME,
        .time_s = time_s,
        .mode = LF_SIGV4_MODE_HEADER,
        .flags = LF_SIGV4_NORMALIZE_PATH,
    };
    struct lf_sigv4_request req = {
        .method = "POST",
        .path = path,
        .path_len = strlen(path),
        .headers = headers,
        .header_count = LF_ARRAY_SIZE(headers),
        .payload = body,
        .payload_len = body_len,
    };
    size_t offsets[LF_CW_SIGNED_LINES_MAX];
    int rc;

    lf_cw_signed_request_wipe(out);
    rc = lf_sigv4_sign(signer, creds, &params, &req, &out->sig);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 1; i < LF_ARRAY_SIZE(headers); i++) {
        add_line(out, offsets, headers[i].name, headers[i].name_len,
                 headers[i].value, headers[i].value_len);
    }
    for (size_t i = 0; i < out->sig.added_count; i++) {
        const struct lf_sigv4_header *h = &out->sig.added[i];

        add_line(out, offsets, h->name, h->name_len, h->value, h->value_len);
    }
    for (size_t i = 0; i < out->line_count; i++) {
        out->lines[i] = out->text.data + offsets[i];
    }
    return 0;
}
