/*
 * Elasticsearch output, request side: sends a batch to `_bulk`, reads the
 * HTTP status and then every item of the reply, and reports each event's
 * result. Failures become retries of the whole request, of the failed
 * items only, or of each half after 413. Each failure is logged here,
 * where it is handled, with the host in every line.
 */
#include "outputs/elasticsearch/es_output_private.h"
#include "outputs/elasticsearch/es_reply.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Requests go to `/<index>/_bulk`, so action lines need not repeat the
 * index. filter_path keeps only the fields es_reply.c reads, so replies
 * stay small.
 */
#define ES_BULK_PATH "/_bulk?filter_path=errors,items.*.error,items.*.status"

/* Rejected documents logged one by one per reply; the rest are counted. */
enum { ES_REJECTED_LOG_MAX = 5 };

/* Bytes of an error body quoted in a log line. */
enum { ES_BODY_QUOTE_MAX = 200 };

enum {
    HTTP_REQUEST_TIMEOUT = 408,
    HTTP_PAYLOAD_TOO_LARGE = 413,
    HTTP_TOO_MANY_REQUESTS = 429,
    HTTP_SERVICE_UNAVAILABLE = 503,
    HTTP_GATEWAY_TIMEOUT = 504,
};

/* Handling of the batch for a whole-request HTTP status. */
enum status_action {
    STATUS_READ_ITEMS,   /* 2xx: every item has its own result */
    STATUS_RETRY,        /* overload or outage: retry with backoff */
    STATUS_RETRY_CONFIG, /* auth, proxy or URL problem: retry, log error */
    STATUS_SPLIT,        /* 413: send each half on its own */
    STATUS_REJECT_ALL,   /* any other 4xx: the request cannot succeed */
};

static enum status_action classify_status(long status)
{
    if (status >= 200 && status < 300) {
        return STATUS_READ_ITEMS;
    }
    if (status == HTTP_PAYLOAD_TOO_LARGE) {
        return STATUS_SPLIT;
    }
    if (status == HTTP_REQUEST_TIMEOUT || status == HTTP_TOO_MANY_REQUESTS ||
        status >= 500 || status < 200) {
        return STATUS_RETRY;
    }
    /*
     * 401, 403 and 407 need credentials fixed; 3xx and 404 mean the URL
     * does not reach `_bulk`. No document was looked at, so the batch
     * waits until the operator fixes it instead of being dropped.
     */
    if (status < 400 || status == 401 || status == 403 || status == 404 ||
        status == 407) {
        return STATUS_RETRY_CONFIG;
    }
    return STATUS_REJECT_ALL;
}

/*
 * Returns true when a whole-request failure reports an overloaded cluster:
 * 429, 503, 504, or a rejected execution whatever the status.
 * `description` is what describe_body() wrote for the reply.
 */
static bool is_overload(long status, const char *description)
{
    static const char rejected[] = "es_rejected_execution_exception:";

    return status == HTTP_TOO_MANY_REQUESTS ||
           status == HTTP_SERVICE_UNAVAILABLE ||
           status == HTTP_GATEWAY_TIMEOUT ||
           strncmp(description, rejected, LF_STRLEN(rejected)) == 0;
}

/* ---- request parts ---- */

static void append_base64(struct lf_buf *out, const char *in, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)in;

    for (size_t i = 0; i < len; i += 3) {
        unsigned n = (unsigned)p[i] << 16;
        size_t left = len - i;

        if (left > 1) {
            n |= (unsigned)p[i + 1] << 8;
        }
        if (left > 2) {
            n |= p[i + 2];
        }
        lf_buf_append_char(out, alphabet[n >> 18 & 63]);
        lf_buf_append_char(out, alphabet[n >> 12 & 63]);
        lf_buf_append_char(out, left > 1 ? alphabet[n >> 6 & 63] : '=');
        lf_buf_append_char(out, left > 2 ? alphabet[n & 63] : '=');
    }
}

/*
 * Percent-encodes everything but RFC 3986 unreserved characters, which is
 * safe in a path segment and in a query value.
 */
static void append_percent_encoded(struct lf_buf *out, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)value; *p != '\0';
         p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
            lf_buf_append_char(out, (char)*p);
        } else {
            lf_buf_append_char(out, '%');
            lf_buf_append_char(out, hex[*p >> 4]);
            lf_buf_append_char(out, hex[*p & 15]);
        }
    }
}

static bool is_base64(const char *s)
{
    return s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789+/=")] == '\0';
}

/*
 * Basic auth from username and password (or cloud.auth), a bearer token,
 * or an API key: the "encoded" form Elasticsearch returns is sent as it
 * is, and an "id:api_key" pair is encoded here.
 */
static char *build_auth_header(const struct lf_es_config *config)
{
    struct lf_buf header;

    lf_buf_init(&header);
    if (config->username != NULL) {
        struct lf_buf pair;

        lf_buf_init(&pair);
        lf_buf_appendf(&pair, "%s:%s", config->username, config->password);
        lf_buf_append_str(&header, "Authorization: Basic ");
        append_base64(&header, pair.data, pair.len);
        memset(pair.data, 0, pair.len);
        lf_buf_cleanup(&pair);
    } else if (config->bearer_token != NULL) {
        lf_buf_appendf(&header, "Authorization: Bearer %s",
                       config->bearer_token);
    } else if (is_base64(config->api_key)) {
        lf_buf_appendf(&header, "Authorization: ApiKey %s", config->api_key);
    } else {
        lf_buf_append_str(&header, "Authorization: ApiKey ");
        append_base64(&header, config->api_key, strlen(config->api_key));
    }
    return header.data;
}

char *lf_es_auth_header(const struct lf_es_config *config)
{
    if (config->username == NULL && config->api_key == NULL &&
        config->bearer_token == NULL) {
        return NULL;
    }
    return build_auth_header(config);
}

void lf_es_auth_header_free(char *header)
{
    if (header != NULL) {
        memset(header, 0, strlen(header));
        lf_free(header);
    }
}

int lf_es_send_init(struct lf_es_output *output)
{
    const struct lf_es_config *config = output->config;

    output->urls = lf_calloc(config->host_count, sizeof(*output->urls));
    for (size_t i = 0; i < config->host_count; i++) {
        struct lf_buf url;

        lf_buf_init(&url);
        lf_buf_append_str(&url, config->hosts[i]);
        if (config->path != NULL) {
            lf_buf_append_str(&url, config->path);
        }
        /* An index that varies per event is in each action line. */
        if (!lf_es_template_is_dynamic(&config->index_template)) {
            lf_buf_append_char(&url, '/');
            append_percent_encoded(&url, config->index);
        }
        lf_buf_append_str(&url, ES_BULK_PATH);
        if (config->pipeline != NULL) {
            lf_buf_append_str(&url, "&pipeline=");
            append_percent_encoded(&url, config->pipeline);
        }
        output->urls[i] = url.data;
    }
    output->auth_header = lf_es_auth_header(config);
    lf_es_hosts_init(output);
    if (config->tls.verify == LF_TLS_VERIFY_NONE) {
        lf_log_warn(LF_ES_LOG,
                    "ssl.verification_mode is none: server certificates are "
                    "not verified, so anyone on the network path can read "
                    "and change the requests; use it only for testing");
    }
    return 0;
}

void lf_es_send_cleanup(struct lf_es_output *output)
{
    if (output->urls != NULL) {
        for (size_t i = 0; i < output->config->host_count; i++) {
            lf_free(output->urls[i]);
        }
    }
    lf_free(output->urls);
    output->urls = NULL;
    lf_es_auth_header_free(output->auth_header);
    output->auth_header = NULL;
    lf_es_hosts_cleanup(output);
}

const char *lf_es_send_host(const struct lf_es_output *output,
                            const struct lf_es_batch *batch)
{
    return output->config->hosts[batch->host];
}

/* ---- log helpers ---- */

/*
 * Describes an error reply for a log line: "type: reason" from an
 * Elasticsearch error object, else the start of the body with control
 * characters replaced (a proxy's HTML page, say).
 */
static void describe_body(const struct lf_http_response *res, char *out,
                          size_t outlen)
{
    json_t *root = json_loadb(res->body, res->body_len, 0, NULL);
    json_t *error = json_object_get(root, "error");
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *reason = json_string_value(json_object_get(error, "reason"));
    size_t n = 0;

    if (type != NULL) {
        snprintf(out, outlen, "%s: %s", type, reason != NULL ? reason : "");
    } else if (json_is_string(error)) {
        snprintf(out, outlen, "%s", json_string_value(error));
    } else if (res->body_len == 0) {
        snprintf(out, outlen, "empty body");
    } else {
        for (; n < res->body_len && n < ES_BODY_QUOTE_MAX && n + 1 < outlen;
             n++) {
            unsigned char c = (unsigned char)res->body[n];

            out[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
        out[n] = '\0';
    }
    json_decref(root);
}

/* Formats a backoff delay for a log line: "250ms" or "1.5s". */
static void format_delay(char *out, size_t outlen, uint64_t delay_ms)
{
    if (delay_ms < 1000) {
        snprintf(out, outlen, "%llums", (unsigned long long)delay_ms);
    } else {
        snprintf(out, outlen, "%.1fs", (double)delay_ms / 1000.0);
    }
}

/*
 * Copies a string member of item `index`'s action line, for logs. `key`
 * is the member's start up to its opening quote, such as "\"_id\":\"".
 * Stores "" when the line has no such member.
 */
static void copy_action_member(const struct lf_es_batch *batch, size_t index,
                               const char *key, char *out, size_t outlen)
{
    const struct lf_es_item *item = &batch->items[index];
    const char *line = batch->body.data + item->offset;
    const char *end = memchr(line, '\n', item->len);
    const char *value;
    size_t n = 0;

    if (end == NULL) {
        end = line + item->len;
    }
    value = memmem(line, (size_t)(end - line), key, strlen(key));

    if (value != NULL) {
        value += strlen(key);
        while (value + n < end && value[n] != '"' && n + 1 < outlen) {
            n++;
        }
        memcpy(out, value, n);
    }
    out[n] = '\0';
}

/*
 * Puts the batch back in the queue and starts a backoff step. Only the
 * failure that starts a step is logged, so an outage logs one line per
 * step however many requests were in flight.
 */
static void retry_request(struct lf_es_output *output,
                          struct lf_es_batch *batch, enum lf_log_level level,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void retry_request(struct lf_es_output *output,
                          struct lf_es_batch *batch, enum lf_log_level level,
                          const char *fmt, ...)
{
    char what[512];
    char delay[32];
    uint64_t delay_ms;
    va_list ap;

    output->stats.requests_failed++;
    lf_es_output_requeue(output, batch);
    if (!lf_es_output_backoff(output, &delay_ms)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    format_delay(delay, sizeof(delay), delay_ms);
    lf_log(level, LF_ES_LOG, "%s, retrying in %s attempt=%u events=%zu host=%s",
           what, delay, output->backoff_attempt, batch->count,
           lf_es_send_host(output, batch));
}

/*
 * Handles a connection error, timeout, TLS error or 5xx: the host is
 * skipped for a while and the batch goes at once to the next live host.
 * A backoff step starts only when every host is down.
 */
static void fail_over(struct lf_es_output *output, struct lf_es_batch *batch,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_over(struct lf_es_output *output, struct lf_es_batch *batch,
                      const char *fmt, ...)
{
    char what[512];
    char interval[32];
    uint64_t interval_ms;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (!lf_es_hosts_mark_down(output, batch->host, &interval_ms)) {
        retry_request(output, batch, LF_LOG_WARN, "%s", what);
        return;
    }
    if (interval_ms > 0) {
        format_delay(interval, sizeof(interval), interval_ms);
        lf_log_warn(LF_ES_LOG,
                    "%s, skipping this host for %s and sending events=%zu "
                    "to the next host=%s",
                    what, interval, batch->count,
                    lf_es_send_host(output, batch));
    }
    output->stats.requests_failed++;
    lf_es_output_requeue(output, batch);
    lf_es_output_pump(output);
}

/* ---- replies ---- */

static void log_rejected(const struct lf_es_output *output,
                         const struct lf_es_batch *batch, size_t index,
                         const struct lf_es_item_result *item)
{
    char id[128];
    char name[LF_ES_INDEX_NAME_MAX + 1];

    copy_action_member(batch, index, "\"_id\":\"", id, sizeof(id));
    /* A fixed index is in the request path, not in the action line. */
    copy_action_member(batch, index, "\"_index\":\"", name, sizeof(name));
    lf_log_error(
        LF_ES_LOG,
        "document rejected: %s: %s%s%s status=%d _id=%s index=%s "
        "host=%s",
        item->error_type, item->error_reason,
        item->cause_reason[0] != '\0' ? ", caused by: " : "",
        item->cause_reason, item->status, id,
        name[0] != '\0' ? name : output->config->index,
        lf_es_send_host(output, batch));
}

static void log_item_retry(struct lf_es_output *output,
                           const struct lf_es_batch *batch,
                           const struct lf_es_reply *reply,
                           const struct lf_es_item_result *first)
{
    uint64_t delay_ms;
    char delay[32];

    if (!lf_es_output_backoff(output, &delay_ms)) {
        return;
    }
    format_delay(delay, sizeof(delay), delay_ms);
    lf_log_warn(LF_ES_LOG,
                "%zu of %zu documents failed temporarily (status=%d %s: "
                "%s), retrying them in %s attempt=%u host=%s",
                reply->count[LF_ES_ITEM_RETRY], reply->item_count,
                first->status,
                first->error_type[0] != '\0' ? first->error_type : "no error",
                first->error_reason, delay, output->backoff_attempt,
                lf_es_send_host(output, batch));
}

static void log_reply_summary(const struct lf_es_output *output,
                              const struct lf_es_batch *batch,
                              const struct lf_es_reply *reply)
{
    lf_log_debug(
        LF_ES_LOG,
        "bulk request done events=%zu indexed=%zu duplicate=%zu "
        "rejected=%zu retry=%zu bytes=%zu took_ms=%llu host=%s",
        reply->item_count, reply->count[LF_ES_ITEM_INDEXED],
        reply->count[LF_ES_ITEM_DUPLICATE], reply->count[LF_ES_ITEM_REJECTED],
        reply->count[LF_ES_ITEM_RETRY], lf_es_batch_payload(batch)->len,
        (unsigned long long)(uv_now(output->loop) - batch->sent_ms),
        lf_es_send_host(output, batch));
}

/*
 * Reports item `index` or adds it to the retry batch. Returns false when
 * on_result closed the output.
 */
static bool settle_item(struct lf_es_output *output, struct lf_es_batch *batch,
                        size_t index, const struct lf_es_item_result *item,
                        struct lf_es_batch **retry, size_t *rejected,
                        const bool *relocated)
{
    struct lf_ack_ref ref = batch->items[index].ref;

    switch (item->outcome) {
    case LF_ES_ITEM_INDEXED:
        lf_es_output_report(output, ref, LF_DELIVERY_INDEXED);
        break;
    case LF_ES_ITEM_DUPLICATE:
        lf_es_output_report(output, ref, LF_DELIVERY_DUPLICATE);
        break;
    case LF_ES_ITEM_REJECTED:
        if (relocated != NULL && relocated[index]) {
            break; /* already in the retry batch, with a field moved */
        }
        if (++*rejected <= ES_REJECTED_LOG_MAX) {
            log_rejected(output, batch, index, item);
        }
        lf_es_output_report(output, ref, LF_DELIVERY_REJECTED);
        break;
    case LF_ES_ITEM_RETRY:
        if (*retry == NULL) {
            *retry = lf_es_batch_new(output);
        }
        lf_es_batch_copy_item(*retry, batch, index);
        output->stats.events_retried++;
        break;
    }
    return output->state == LF_ES_OUTPUT_RUNNING;
}

/*
 * Settles every item of the reply in order. Items after a break in the
 * reply have no result and are retried like a 429.
 */
static void settle_reply(struct lf_es_output *output, struct lf_es_batch *batch,
                         struct lf_es_reply *reply)
{
    struct lf_es_item_result item;
    struct lf_es_item_result first_retry = {.outcome = LF_ES_ITEM_RETRY};
    struct lf_es_batch *retry = NULL;
    size_t rejected = 0;
    bool overloaded = false;
    bool *relocated;

    /* Dead-letter records are on disk before any rejection is reported. */
    relocated = lf_es_reject_items(output, batch, reply, &retry);
    for (size_t i = 0; lf_es_reply_next(reply, &item); i++) {
        if (item.outcome == LF_ES_ITEM_RETRY &&
            reply->count[LF_ES_ITEM_RETRY] == 1) {
            first_retry = item;
        }
        overloaded = overloaded || lf_es_item_overloaded(&item);
        if (!settle_item(output, batch, i, &item, &retry, &rejected,
                         relocated)) {
            lf_free(relocated);
            lf_es_batch_free(retry);
            lf_es_batch_free(batch);
            return;
        }
    }
    lf_free(relocated);
    log_reply_summary(output, batch, reply);

    if (rejected > ES_REJECTED_LOG_MAX) {
        lf_log_error(
            LF_ES_LOG, "%zu more documents rejected in one request host=%s",
            rejected - ES_REJECTED_LOG_MAX, lf_es_send_host(output, batch));
    }
    if (lf_es_reply_missing(reply) > 0) {
        lf_log_warn(LF_ES_LOG,
                    "bulk reply ended after %zu of %zu items, retrying the "
                    "other %zu host=%s",
                    reply->item_count - lf_es_reply_missing(reply),
                    reply->item_count, lf_es_reply_missing(reply),
                    lf_es_send_host(output, batch));
    }
    if (retry == NULL) {
        lf_es_output_backoff_reset(output, batch);
        lf_es_output_batch_done(output, batch);
        return;
    }
    if (overloaded) {
        lf_es_output_overloaded(output, batch);
    }
    /*
     * The retry batch takes the finished batch's slot. Documents resent
     * with a field moved to labels need no backoff of their own.
     */
    if (reply->count[LF_ES_ITEM_RETRY] > 0) {
        log_item_retry(output, batch, reply, &first_retry);
    } else {
        lf_es_output_backoff_reset(output, batch);
    }
    lf_es_batch_free(batch);
    lf_es_output_submit(output, retry);
}

static void read_items(struct lf_es_output *output, struct lf_es_batch *batch,
                       const struct lf_http_response *res)
{
    struct lf_es_reply reply;
    int rc = lf_es_reply_open(&reply, res->body, res->body_len, batch->count);

    if (rc != 0) {
        retry_request(output, batch, LF_LOG_WARN,
                      "bulk reply with status %ld is not a list of %zu "
                      "items: %s (%s)",
                      res->status, batch->count, lf_strerror(rc),
                      lf_err_name(rc));
        return;
    }
    settle_reply(output, batch, &reply);
}

/* 413: each half goes on its own; a single document cannot shrink. */
static void split_batch(struct lf_es_output *output, struct lf_es_batch *batch)
{
    struct lf_es_batch *halves[2];
    size_t middle = batch->count / 2;

    if (batch->count == 1) {
        lf_log_error(LF_ES_LOG,
                     "document rejected: request of %zu bytes is too large "
                     "(413) even alone host=%s",
                     batch->body.len, lf_es_send_host(output, batch));
        lf_es_reject_batch(output, batch, LF_ES_REJECT_TOO_LARGE,
                           HTTP_PAYLOAD_TOO_LARGE, NULL,
                           "request too large even for this document alone");
        lf_es_output_report(output, batch->items[0].ref, LF_DELIVERY_REJECTED);
        lf_es_output_batch_done(output, batch);
        return;
    }

    lf_log_warn(LF_ES_LOG,
                "bulk request of %zu bytes too large (413), splitting "
                "events=%zu in two host=%s",
                batch->body.len, batch->count, lf_es_send_host(output, batch));
    for (size_t h = 0; h < 2; h++) {
        halves[h] = lf_es_batch_new(output);
    }
    for (size_t i = 0; i < batch->count; i++) {
        lf_es_batch_copy_item(halves[i < middle ? 0 : 1], batch, i);
    }
    lf_es_batch_free(batch);

    /* One batch more than the limit, until one of them finishes. */
    output->closed_count++;
    lf_es_output_submit(output, halves[0]);
    lf_es_output_submit(output, halves[1]);
}

static void reject_all(struct lf_es_output *output, struct lf_es_batch *batch,
                       const struct lf_http_response *res)
{
    char why[512];

    describe_body(res, why, sizeof(why));
    lf_log_error(LF_ES_LOG,
                 "bulk request rejected with status %ld, rejecting events=%zu: "
                 "%s host=%s",
                 res->status, batch->count, why,
                 lf_es_send_host(output, batch));
    lf_es_reject_batch(output, batch, LF_ES_REJECT_REQUEST, (int)res->status,
                       NULL, why);
    for (size_t i = 0; i < batch->count; i++) {
        lf_es_output_report(output, batch->items[i].ref, LF_DELIVERY_REJECTED);
        if (output->state != LF_ES_OUTPUT_RUNNING) {
            lf_es_batch_free(batch);
            return;
        }
    }
    lf_es_output_batch_done(output, batch);
}

static void handle_status(struct lf_es_output *output,
                          struct lf_es_batch *batch,
                          const struct lf_http_response *res)
{
    char why[512];

    switch (classify_status(res->status)) {
    case STATUS_READ_ITEMS:
        read_items(output, batch, res);
        break;
    case STATUS_SPLIT:
        output->stats.requests_failed++;
        split_batch(output, batch);
        break;
    case STATUS_RETRY:
        describe_body(res, why, sizeof(why));
        if (is_overload(res->status, why)) {
            lf_es_output_overloaded(output, batch);
        }
        if (res->status >= 500) {
            fail_over(output, batch, "bulk request failed with status %ld: %s",
                      res->status, why);
            break;
        }
        retry_request(output, batch, LF_LOG_WARN,
                      "bulk request failed with status %ld: %s", res->status,
                      why);
        break;
    case STATUS_RETRY_CONFIG:
        describe_body(res, why, sizeof(why));
        retry_request(output, batch, LF_LOG_ERROR,
                      "bulk request refused with status %ld, check hosts, "
                      "username and password or api_key: %s",
                      res->status, why);
        break;
    case STATUS_REJECT_ALL:
        output->stats.requests_failed++;
        reject_all(output, batch, res);
        break;
    }
}

/* Counts the reply class and latency, and tracks a run of failures. */
static void observe_response(struct lf_es_output *output,
                             const struct lf_http_response *res)
{
    struct lf_es_stats *stats = &output->stats;
    size_t bucket = 0;

    if (res->error != 0 || res->status < 100 || res->status > 599) {
        stats->responses_by_class[0]++;
    } else {
        stats->responses_by_class[res->status / 100]++;
        while (bucket < LF_ES_LATENCY_BOUND_COUNT &&
               res->total_s > lf_es_latency_bounds_s[bucket]) {
            bucket++;
        }
        stats->latency_counts[bucket]++;
        stats->latency_sum_s += res->total_s;
    }
    if (res->error == 0 && res->status >= 200 && res->status < 300) {
        stats->failing_since_ms = 0;
    } else if (stats->failing_since_ms == 0) {
        uint64_t now = uv_now(output->loop);

        stats->failing_since_ms = now > 0 ? now : 1; /* 0 means none */
    }
}

static void on_response(void *arg, const struct lf_http_response *res)
{
    struct lf_es_batch *batch = arg;
    struct lf_es_output *output = batch->output;

    output->in_flight--;
    if (output->state != LF_ES_OUTPUT_RUNNING || res->error == LF_ECANCELED) {
        lf_es_batch_free(batch);
        return;
    }
    observe_response(output, res);
    if (res->error != 0) {
        fail_over(output, batch, "bulk request failed: %s (%s) detail=\"%s\"",
                  lf_strerror(res->error), lf_err_name(res->error),
                  res->error_text);
        return;
    }
    if (res->status < 500) {
        lf_es_hosts_mark_up(output, batch->host);
    }
    handle_status(output, batch, res);
}

void lf_es_send_batch(struct lf_es_output *output, struct lf_es_batch *batch)
{
    const struct lf_buf *payload = lf_es_batch_payload(batch);
    const char *headers[3];
    size_t header_count = 0;
    struct lf_http_request req;
    int rc;

    batch->host = lf_es_hosts_pick(output);
    headers[header_count++] = "Content-Type: application/x-ndjson";
    if (payload == &batch->gz) {
        headers[header_count++] = "Content-Encoding: gzip";
    }
    if (output->auth_header != NULL) {
        headers[header_count++] = output->auth_header;
    }
    req = (struct lf_http_request){
        .method = "POST",
        .url = output->urls[batch->host],
        .headers = headers,
        .header_count = header_count,
        .body = payload->data,
        .body_len = payload->len,
        .timeout_ms = (long)output->config->timeout_ms,
        .proxy_url = output->config->proxy_url,
        .tls = &output->config->tls,
    };

    batch->state = LF_ES_BATCH_SENDING;
    batch->sent_ms = uv_now(output->loop);
    rc = lf_http_client_send(output->http, &req, on_response, batch);
    if (rc != 0) {
        retry_request(output, batch, LF_LOG_WARN,
                      "starting a bulk request failed: %s (%s)",
                      lf_strerror(rc), lf_err_name(rc));
        return;
    }
    output->in_flight++;
    output->stats.requests_sent++;
    output->stats.bytes_sent += payload->len;
}
