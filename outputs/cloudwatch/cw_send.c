/*
 * CloudWatch Logs output, sending side: builds the JSON 1.1 request of a
 * stream's current operation, signs it with SigV4 and sends it. The reply
 * settles the batch, or leads to creating the group and stream, a resend
 * with the expected sequence token, a credential refresh or a backoff.
 */
#include "outputs/cloudwatch/cw_output_private.h"
#include "outputs/cloudwatch/cw_encode.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Backoff doubles from backoff.init; the shift stops growing here. */
#define CW_BACKOFF_MAX_SHIFT 30

/* Header whose value names the error of a JSON 1.1 reply. */
#define CW_ERROR_TYPE_HEADER "X-Amzn-Errortype"

static const char *op_name(enum lf_cw_op op)
{
    switch (op) {
    case LF_CW_OP_PUT_LOG_EVENTS:
        return "PutLogEvents";
    case LF_CW_OP_CREATE_LOG_GROUP:
        return "CreateLogGroup";
    case LF_CW_OP_PUT_RETENTION_POLICY:
        return "PutRetentionPolicy";
    case LF_CW_OP_CREATE_LOG_STREAM:
        return "CreateLogStream";
    default:
        return "none";
    }
}

static const char *op_target(enum lf_cw_op op)
{
    switch (op) {
    case LF_CW_OP_CREATE_LOG_GROUP:
        return LF_CW_TARGET_CREATE_LOG_GROUP;
    case LF_CW_OP_PUT_RETENTION_POLICY:
        return LF_CW_TARGET_PUT_RETENTION_POLICY;
    case LF_CW_OP_CREATE_LOG_STREAM:
        return LF_CW_TARGET_CREATE_LOG_STREAM;
    default:
        return LF_CW_TARGET_PUT_LOG_EVENTS;
    }
}

/* ---- backoff ---- */

/* xorshift64: jitter needs spread, not quality. */
static uint64_t next_random(struct lf_cw_output *output)
{
    uint64_t x = output->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    output->rng = x;
    return x;
}

/*
 * Returns backoff.init * 2^(attempt - 1), capped at backoff.max, with
 * +-20% jitter, so that streams and agents that failed together do not
 * retry together.
 */
static uint64_t backoff_delay_ms(struct lf_cw_stream *stream)
{
    struct lf_cw_output *output = stream->output;
    uint64_t init = (uint64_t)output->config->backoff_init_ms;
    uint64_t max = (uint64_t)output->config->backoff_max_ms;
    unsigned shift = stream->attempt - 1;
    uint64_t base;

    if (shift > CW_BACKOFF_MAX_SHIFT) {
        shift = CW_BACKOFF_MAX_SHIFT;
    }
    base = init << shift;
    if (base > max || base >> shift != init) {
        base = max;
    }
    return base * 8 / 10 + next_random(output) % (base * 4 / 10 + 1);
}

static void on_backoff_timer(uv_timer_t *timer)
{
    struct lf_cw_stream *stream = timer->data;

    stream->wait = LF_CW_WAIT_NONE;
    stream->output->stats.retries++;
    lf_cw_send_op(stream);
}

void lf_cw_backoff(struct lf_cw_stream *stream, const char *reason)
{
    uint64_t delay;

    stream->attempt++;
    delay = backoff_delay_ms(stream);
    lf_log_warn(LF_CW_LOG,
                "%s failed: %s; retrying in %.3gs group=%s "
                "stream=%s attempt=%u",
                op_name(stream->op), reason, (double)delay / 1000.0,
                stream->group, stream->name, stream->attempt);
    stream->wait = LF_CW_WAIT_BACKOFF;
    uv_timer_start(&stream->timer, on_backoff_timer, delay, 0);
}

/* ---- credentials ---- */

static void on_creds_timer(uv_timer_t *timer)
{
    lf_cw_resume_credential_waits(timer->data);
}

static void resume_if_waiting(struct lf_cw_stream *stream)
{
    if (stream->wait == LF_CW_WAIT_CREDENTIALS) {
        stream->wait = LF_CW_WAIT_NONE;
        lf_cw_send_op(stream);
    }
}

void lf_cw_resume_credential_waits(struct lf_cw_output *output)
{
    if (output->state != LF_CW_OUTPUT_RUNNING) {
        return;
    }
    for (size_t i = 0; i < output->bucket_count; i++) {
        struct lf_cw_stream *s = output->buckets[i];

        while (s != NULL) {
            struct lf_cw_stream *next = s->next;

            resume_if_waiting(s);
            s = next;
        }
    }
}

/* ---- requests ---- */

static void build_body(struct lf_cw_stream *stream, struct lf_buf *body)
{
    const struct lf_cw_config *config = stream->output->config;

    lf_buf_reset(body);
    switch (stream->op) {
    case LF_CW_OP_PUT_LOG_EVENTS:
        lf_cw_encode_put_log_events(body, stream->group, stream->name,
                                    stream->batch, stream->sequence_token);
        break;
    case LF_CW_OP_CREATE_LOG_GROUP:
        lf_buf_append_str(body, "{\"logGroupName\":");
        lf_json_append_string(body, stream->group, strlen(stream->group));
        lf_buf_append_char(body, '}');
        break;
    case LF_CW_OP_PUT_RETENTION_POLICY:
        lf_buf_append_str(body, "{\"logGroupName\":");
        lf_json_append_string(body, stream->group, strlen(stream->group));
        lf_buf_appendf(body, ",\"retentionInDays\":%d}",
                       config->retention_days);
        break;
    default:
        lf_buf_append_str(body, "{\"logGroupName\":");
        lf_json_append_string(body, stream->group, strlen(stream->group));
        lf_buf_append_str(body, ",\"logStreamName\":");
        lf_json_append_string(body, stream->name, strlen(stream->name));
        lf_buf_append_char(body, '}');
        break;
    }
}

struct cw_request {
    struct lf_cw_stream *stream;
    struct lf_buf body; /* sent; owned until the reply */
};

static void on_reply(void *arg, const struct lf_http_response *res);

void lf_cw_send_op(struct lf_cw_stream *stream)
{
    struct lf_cw_output *output = stream->output;
    const struct lf_aws_credentials *creds;
    struct lf_sigv4_credentials sc;
    struct lf_http_request req = {0};
    struct cw_request *cr;
    int rc;

    if (output->state != LF_CW_OUTPUT_RUNNING) {
        return;
    }
    creds = lf_aws_creds_get(output->creds, (int64_t)time(NULL));
    if (creds == NULL) {
        stream->wait = LF_CW_WAIT_CREDENTIALS;
        if (!uv_is_active((uv_handle_t *)&output->creds_timer)) {
            uv_timer_start(&output->creds_timer, on_creds_timer,
                           LF_AWS_CREDS_MIN_REFRESH_MS, 0);
        }
        return;
    }
    cr = lf_calloc(1, sizeof(*cr));
    cr->stream = stream;
    lf_buf_init(&cr->body);
    build_body(stream, &cr->body);
    sc.access_key_id = creds->access_key_id;
    sc.secret_access_key = creds->secret_access_key;
    sc.session_token = creds->session_token;
    rc = lf_cw_sign_request(output->signer, &sc, output->config->region,
                            output->host, output->path, op_target(stream->op),
                            cr->body.data, cr->body.len, (int64_t)time(NULL),
                            &output->signed_req);
    if (rc == 0) {
        req.method = "POST";
        req.url = output->url;
        req.headers = output->signed_req.lines;
        req.header_count = output->signed_req.line_count;
        req.body = cr->body.data;
        req.body_len = cr->body.len;
        req.timeout_ms = output->config->timeout_ms;
        req.capture_header = CW_ERROR_TYPE_HEADER;
        rc = lf_http_client_send(output->http, &req, on_reply, cr);
    }
    lf_cw_signed_request_wipe(&output->signed_req);
    if (rc != 0) {
        lf_buf_cleanup(&cr->body);
        lf_free(cr);
        lf_cw_backoff(stream, lf_strerror(rc));
        return;
    }
    output->stats.requests_sent++;
    output->stats.bytes_sent += req.body_len;
}

/* ---- replies ---- */

static void on_put_success(struct lf_cw_stream *stream,
                           const struct lf_http_response *res)
{
    struct lf_cw_put_reply reply;
    enum lf_cw_event_status *status;
    int rejected;

    lf_cw_put_reply_init(&reply);
    if (lf_cw_parse_put_reply(res->body, res->body_len, &reply) != 0) {
        lf_log_warn(LF_CW_LOG,
                    "PutLogEvents reply is not valid JSON; "
                    "counting the batch as accepted group=%s stream=%s",
                    stream->group, stream->name);
    }
    if (reply.next_sequence_token != NULL && stream->sequence_token != NULL) {
        lf_free(stream->sequence_token);
        stream->sequence_token = reply.next_sequence_token;
        reply.next_sequence_token = NULL;
    }
    status = lf_calloc(stream->batch->count, sizeof(*status));
    rejected = lf_cw_batch_map_rejected(stream->batch, &reply.rejected, status);
    if (rejected < 0) {
        lf_log_warn(LF_CW_LOG,
                    "rejectedLogEventsInfo names events outside "
                    "the batch; counting the batch as accepted group=%s "
                    "stream=%s",
                    stream->group, stream->name);
    } else if (rejected > 0) {
        lf_log_warn(LF_CW_LOG,
                    "CloudWatch Logs rejected %d of %zu events "
                    "as too old, too new or expired group=%s stream=%s",
                    rejected, stream->batch->count, stream->group,
                    stream->name);
    }
    lf_cw_put_reply_cleanup(&reply);
    lf_cw_stream_settle(stream, status, LF_DELIVERY_INDEXED,
                        LF_CW_REJECT_REQUEST);
    lf_free(status);
}

/* Moves the stream to the next step of creating its group and stream. */
static void on_create_step_done(struct lf_cw_stream *stream)
{
    struct lf_cw_output *output = stream->output;

    stream->attempt = 0;
    switch (stream->op) {
    case LF_CW_OP_CREATE_LOG_GROUP:
        stream->op = output->config->retention_days > 0
                         ? LF_CW_OP_PUT_RETENTION_POLICY
                         : LF_CW_OP_CREATE_LOG_STREAM;
        break;
    case LF_CW_OP_PUT_RETENTION_POLICY:
        stream->op = LF_CW_OP_CREATE_LOG_STREAM;
        break;
    default:
        stream->op = LF_CW_OP_PUT_LOG_EVENTS;
        break;
    }
    lf_cw_send_op(stream);
}

static void on_success(struct lf_cw_stream *stream,
                       const struct lf_http_response *res)
{
    struct lf_cw_output *output = stream->output;

    switch (stream->op) {
    case LF_CW_OP_PUT_LOG_EVENTS:
        on_put_success(stream, res);
        return;
    case LF_CW_OP_CREATE_LOG_GROUP:
        output->stats.groups_created++;
        lf_log_info(LF_CW_LOG, "created log group group=%s", stream->group);
        break;
    case LF_CW_OP_PUT_RETENTION_POLICY:
        lf_log_info(LF_CW_LOG,
                    "set the retention of log group group=%s "
                    "days=%d",
                    stream->group, output->config->retention_days);
        break;
    default:
        output->stats.streams_created++;
        lf_log_info(LF_CW_LOG, "created log stream group=%s stream=%s",
                    stream->group, stream->name);
        break;
    }
    on_create_step_done(stream);
}

static void reject_batch(struct lf_cw_stream *stream,
                         const struct lf_cw_error *err,
                         enum lf_cw_reject_reason reason)
{
    lf_log_error(LF_CW_LOG,
                 "%s rejected: HTTP %d %s: %s; %zu events "
                 "dropped group=%s stream=%s",
                 op_name(stream->op), err->status,
                 err->code[0] != '\0' ? err->code : "(no code)",
                 err->message != NULL ? err->message : "(no message)",
                 stream->batch->count, stream->group, stream->name);
    lf_cw_stream_settle(stream, NULL, LF_DELIVERY_REJECTED, reason);
}

static void adopt_token(struct lf_cw_stream *stream,
                        const struct lf_cw_error *err)
{
    if (err->expected_sequence_token != NULL) {
        lf_free(stream->sequence_token);
        stream->sequence_token = lf_strdup(err->expected_sequence_token);
    }
}

static void on_not_found(struct lf_cw_stream *stream,
                         const struct lf_cw_error *err)
{
    if (!stream->output->config->auto_create) {
        reject_batch(stream, err, LF_CW_REJECT_NOT_FOUND);
        return;
    }
    /* CreateLogStream fails with ResourceNotFoundException when the group
     * is missing. */
    stream->op = stream->op == LF_CW_OP_PUT_LOG_EVENTS
                     ? LF_CW_OP_CREATE_LOG_STREAM
                     : LF_CW_OP_CREATE_LOG_GROUP;
    stream->attempt = 0;
    lf_log_info(LF_CW_LOG, "%s: %s group=%s stream=%s", err->code,
                err->message != NULL ? err->message : "not found",
                stream->group, stream->name);
    lf_cw_send_op(stream);
}

static void on_error(struct lf_cw_stream *stream, const struct lf_cw_error *err)
{
    struct lf_cw_output *output = stream->output;
    char reason[256];

    snprintf(reason, sizeof(reason), "HTTP %d %s", err->status,
             err->code[0] != '\0' ? err->code : "(no code)");
    switch (err->action) {
    case LF_CW_ERROR_RETRY:
        if (err->status == 429 || strstr(err->code, "Throttl") != NULL) {
            output->stats.throttled++;
        }
        lf_cw_backoff(stream, reason);
        return;
    case LF_CW_ERROR_CREATE:
        on_not_found(stream, err);
        return;
    case LF_CW_ERROR_ALREADY_EXISTS:
        if (stream->op == LF_CW_OP_PUT_LOG_EVENTS) {
            reject_batch(stream, err, LF_CW_REJECT_REQUEST);
        } else {
            on_create_step_done(stream);
        }
        return;
    case LF_CW_ERROR_DENIED:
        lf_log_error(LF_CW_LOG,
                     "%s refused: %s: %s; the batch is kept and sent again "
                     "after a backoff, fix the IAM policy, the credentials "
                     "or the clock group=%s stream=%s",
                     op_name(stream->op), reason,
                     err->message != NULL ? err->message : "(no message)",
                     stream->group, stream->name);
        output->stats.requests_denied++;
        lf_cw_backoff(stream, reason);
        return;
    case LF_CW_ERROR_REFRESH_CREDENTIALS:
        if (stream->refreshed) {
            /* The credentials fetched again were refused as well, so
             * fetch them once more after a backoff instead of dropping
             * the batch. */
            lf_aws_creds_invalidate(output->creds);
            output->stats.requests_denied++;
            lf_cw_backoff(stream, reason);
            return;
        }
        stream->refreshed = true;
        output->stats.credential_refreshes++;
        lf_log_warn(LF_CW_LOG,
                    "%s: %s; fetching credentials again and "
                    "resending group=%s stream=%s",
                    op_name(stream->op), reason, stream->group, stream->name);
        lf_aws_creds_invalidate(output->creds);
        lf_cw_send_op(stream);
        return;
    case LF_CW_ERROR_RESEND_WITH_TOKEN:
        adopt_token(stream, err);
        output->stats.token_resends++;
        if (stream->sequence_token == NULL ||
            ++stream->token_resends > LF_CW_MAX_TOKEN_RESENDS) {
            stream->token_resends = 0;
            lf_cw_backoff(stream, reason);
            return;
        }
        lf_cw_send_op(stream);
        return;
    case LF_CW_ERROR_ALREADY_ACCEPTED:
        adopt_token(stream, err);
        if (stream->op == LF_CW_OP_PUT_LOG_EVENTS) {
            lf_cw_stream_settle(stream, NULL, LF_DELIVERY_DUPLICATE,
                                LF_CW_REJECT_REQUEST);
            return;
        }
        reject_batch(stream, err, LF_CW_REJECT_REQUEST);
        return;
    default:
        reject_batch(stream, err, LF_CW_REJECT_REQUEST);
        return;
    }
}

/* Updates failing_since_ms, which /readyz reads: it is set at the first
 * failure after a 2xx reply and cleared by the next 2xx reply. */
static void note_reply(struct lf_cw_output *output, bool ok)
{
    if (ok) {
        output->stats.failing_since_ms = 0;
    } else if (output->stats.failing_since_ms == 0) {
        uint64_t now = uv_now(output->loop);

        output->stats.failing_since_ms = now > 0 ? now : 1; /* 0 means none */
    }
}

static void on_reply(void *arg, const struct lf_http_response *res)
{
    struct cw_request *cr = arg;
    struct lf_cw_stream *stream = cr->stream;
    struct lf_cw_output *output = stream->output;
    struct lf_cw_error err;

    lf_buf_cleanup(&cr->body);
    lf_free(cr);
    if (res->error == LF_ECANCELED || output->state != LF_CW_OUTPUT_RUNNING) {
        return;
    }
    note_reply(output,
               res->error == 0 && res->status >= 200 && res->status < 300);
    if (res->error != 0) {
        output->stats.requests_failed++;
        lf_cw_backoff(stream, res->error_text[0] != '\0'
                                  ? res->error_text
                                  : lf_strerror(res->error));
        return;
    }
    if (res->status >= 200 && res->status < 300) {
        on_success(stream, res);
        return;
    }
    output->stats.requests_failed++;
    lf_cw_error_init(&err);
    lf_cw_parse_error((int)res->status, res->header_value, res->body,
                      res->body_len, &err);
    on_error(stream, &err);
    lf_cw_error_cleanup(&err);
}
