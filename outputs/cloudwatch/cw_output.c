/*
 * CloudWatch Logs output, batching side: log streams keyed by group and
 * stream name, one batcher each, the flush timer, results and the
 * lifecycle. cw_send.c sends the requests.
 */
#include "outputs/cloudwatch/cw_output.h"
#include "outputs/cloudwatch/cw_output_private.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <string.h>
#include <time.h>

#define CW_INITIAL_BUCKETS 64
/* Shortest period of the flush timer. */
#define CW_FLUSH_TICK_MIN_MS 5

static const char *const reason_names[LF_CW_REJECT_REASON_COUNT] = {
    [LF_CW_REJECT_TOO_OLD] = "too_old",
    [LF_CW_REJECT_TOO_NEW] = "too_new",
    [LF_CW_REJECT_EXPIRED] = "expired",
    [LF_CW_REJECT_POLICY] = "policy",
    [LF_CW_REJECT_REQUEST] = "request",
    [LF_CW_REJECT_NOT_FOUND] = "not_found",
};

const char *lf_cw_reject_reason_name(enum lf_cw_reject_reason reason)
{
    return reason < LF_CW_REJECT_REASON_COUNT ? reason_names[reason] : "?";
}

static int64_t wall_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a over the group, a NUL and the stream name. */
static uint64_t name_hash(const char *group, size_t group_len, const char *name,
                          size_t name_len)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < group_len; i++) {
        h = (h ^ (unsigned char)group[i]) * 1099511628211ULL;
    }
    h *= 1099511628211ULL;
    for (size_t i = 0; i < name_len; i++) {
        h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
    }
    return h;
}

static void grow_buckets(struct lf_cw_output *output)
{
    size_t count = output->bucket_count * 2;
    struct lf_cw_stream **buckets = lf_calloc(count, sizeof(*buckets));

    for (size_t i = 0; i < output->bucket_count; i++) {
        struct lf_cw_stream *s = output->buckets[i];

        while (s != NULL) {
            struct lf_cw_stream *next = s->next;
            size_t slot = (size_t)(s->hash & (count - 1));

            s->next = buckets[slot];
            buckets[slot] = s;
            s = next;
        }
    }
    lf_free(output->buckets);
    output->buckets = buckets;
    output->bucket_count = count;
}

static struct lf_cw_stream *new_stream(struct lf_cw_output *output,
                                       const char *group, size_t group_len,
                                       const char *name, size_t name_len,
                                       uint64_t hash)
{
    struct lf_cw_stream *s = lf_calloc(1, sizeof(*s));
    char errbuf[256];
    size_t slot;

    s->batcher =
        lf_cw_batcher_new(&output->config->batch, errbuf, sizeof(errbuf));
    if (s->batcher == NULL) {
        /* The configuration loader checked the same limits. */
        lf_log_error(LF_CW_LOG, "invalid batch limits: %s group=%.*s "
                     "stream=%.*s", errbuf, (int)group_len, group,
                     (int)name_len, name);
        lf_free(s);
        return NULL;
    }
    s->output = output;
    s->group = lf_strndup(group, group_len);
    s->name = lf_strndup(name, name_len);
    s->hash = hash;
    uv_timer_init(output->loop, &s->timer);
    s->timer.data = s;
    if (output->stream_count + 1 > output->bucket_count) {
        grow_buckets(output);
    }
    slot = (size_t)(hash & (output->bucket_count - 1));
    s->next = output->buckets[slot];
    output->buckets[slot] = s;
    output->stream_count++;
    lf_log_debug(LF_CW_LOG, "new log stream group=%s stream=%s", s->group,
                 s->name);
    return s;
}

static struct lf_cw_stream *find_stream(struct lf_cw_output *output,
                                        const char *group, size_t group_len,
                                        const char *name, size_t name_len)
{
    uint64_t hash = name_hash(group, group_len, name, name_len);
    struct lf_cw_stream *s;

    s = output->buckets[hash & (output->bucket_count - 1)];
    for (; s != NULL; s = s->next) {
        if (s->hash == hash && strlen(s->group) == group_len &&
            strlen(s->name) == name_len &&
            memcmp(s->group, group, group_len) == 0 &&
            memcmp(s->name, name, name_len) == 0) {
            return s;
        }
    }
    return new_stream(output, group, group_len, name, name_len, hash);
}

static void report(struct lf_cw_output *output, struct lf_ack_ref ref,
                   enum lf_delivery result)
{
    output->pending--;
    output->callbacks.on_result(output->callbacks.arg, ref, result);
}

static void reject_event(struct lf_cw_output *output, struct lf_ack_ref ref,
                         enum lf_cw_reject_reason reason)
{
    output->stats.events_rejected++;
    output->stats.rejected_by_reason[reason]++;
    report(output, ref, LF_DELIVERY_REJECTED);
}

static enum lf_cw_reject_reason reason_of(enum lf_cw_event_status status)
{
    switch (status) {
    case LF_CW_EVENT_TOO_OLD:
        return LF_CW_REJECT_TOO_OLD;
    case LF_CW_EVENT_TOO_NEW:
        return LF_CW_REJECT_TOO_NEW;
    default:
        return LF_CW_REJECT_EXPIRED;
    }
}

static void maybe_ready(struct lf_cw_output *output)
{
    if (output->full && output->pending < output->config->max_pending_events &&
        output->state == LF_CW_OUTPUT_RUNNING) {
        output->full = false;
        if (output->callbacks.on_ready != NULL) {
            output->callbacks.on_ready(output->callbacks.arg);
        }
    }
}

/* Reports one event: rejected for `reason`, or else as `accepted_as`. */
static void settle_event(struct lf_cw_output *output, struct lf_ack_ref ref,
                         bool rejected, enum lf_cw_reject_reason reason,
                         enum lf_delivery accepted_as)
{
    if (rejected) {
        reject_event(output, ref, reason);
        return;
    }
    if (accepted_as == LF_DELIVERY_DUPLICATE) {
        output->stats.events_duplicate++;
    } else {
        output->stats.events_delivered++;
    }
    report(output, ref, accepted_as);
}

static struct lf_cw_split_result *find_split(struct lf_cw_stream *stream,
                                             struct lf_cw_event_ref ref)
{
    struct lf_cw_split_result *r;

    for (size_t i = 0; i < stream->split_count; i++) {
        r = &stream->splits[i];
        if (r->ref.source == ref.source && r->ref.ticket == ref.ticket) {
            return r;
        }
    }
    if (stream->split_count == stream->split_cap) {
        stream->split_cap = stream->split_cap ? stream->split_cap * 2 : 4;
        stream->splits =
            lf_realloc(stream->splits, stream->split_cap * sizeof(*r));
    }
    r = &stream->splits[stream->split_count++];
    memset(r, 0, sizeof(*r));
    r->ref = ref;
    return r;
}

/*
 * Records the result of one part of a split event. Once every part has
 * one, reports the event: rejected with the reason of its first rejected
 * part, else delivered when this agent stored any part, else duplicate.
 * Returns true when the event was reported.
 */
static bool settle_part(struct lf_cw_stream *stream,
                        const struct lf_cw_entry *e, bool rejected,
                        enum lf_cw_reject_reason reason,
                        enum lf_delivery accepted_as)
{
    struct lf_cw_split_result *r = find_split(stream, e->ref);
    struct lf_ack_ref ref = {e->ref.source, e->ref.ticket};

    if (rejected && !r->rejected) {
        r->rejected = true;
        r->reason = reason;
    }
    if (!rejected && accepted_as != LF_DELIVERY_DUPLICATE) {
        r->delivered = true;
    }
    if (++r->parts_settled < e->part_count) {
        return false;
    }
    settle_event(stream->output, ref, r->rejected, r->reason,
                 r->delivered ? LF_DELIVERY_INDEXED : LF_DELIVERY_DUPLICATE);
    *r = stream->splits[--stream->split_count];
    return true;
}

/*
 * `status` NULL settles every entry as `accepted_as`, or as rejected for
 * `reason` when that is LF_DELIVERY_REJECTED. A split event is reported
 * once all its parts are settled, which may take several batches.
 */
void lf_cw_stream_settle(struct lf_cw_stream *stream,
                         const enum lf_cw_event_status *status,
                         enum lf_delivery accepted_as,
                         enum lf_cw_reject_reason reason)
{
    struct lf_cw_output *output = stream->output;
    struct lf_cw_batch *batch = stream->batch;

    stream->batch = NULL;
    stream->op = LF_CW_OP_NONE;
    stream->wait = LF_CW_WAIT_NONE;
    stream->attempt = 0;
    stream->refreshed = false;
    stream->token_resends = 0;
    for (size_t i = 0; i < batch->count; i++) {
        const struct lf_cw_entry *e = &batch->entries[i];
        struct lf_ack_ref ref = {e->ref.source, e->ref.ticket};
        bool rejected = accepted_as == LF_DELIVERY_REJECTED;
        enum lf_cw_reject_reason entry_reason = reason;

        if (status != NULL) {
            rejected = status[i] != LF_CW_EVENT_ACCEPTED;
            entry_reason = reason_of(status[i]);
        }
        if (e->part_count > 1) {
            if (settle_part(stream, e, rejected, entry_reason, accepted_as)) {
                stream->pending_events--;
            }
            continue;
        }
        stream->pending_events--;
        settle_event(output, ref, rejected, entry_reason, accepted_as);
    }
    lf_cw_batch_free(batch);
    lf_cw_stream_maybe_send(stream);
    maybe_ready(output);
}

static bool stream_due(const struct lf_cw_stream *stream)
{
    const struct lf_cw_output *output = stream->output;
    size_t entries = lf_cw_batcher_pending(stream->batcher);

    if (entries == 0) {
        return false;
    }
    return output->flushing || output->full ||
           entries >= output->config->batch.max_batch_events ||
           stream->pending_bytes >= output->config->batch.max_batch_bytes ||
           uv_now(output->loop) - stream->pending_since_ms >=
               (uint64_t)output->config->flush_interval_ms;
}

void lf_cw_stream_maybe_send(struct lf_cw_stream *stream)
{
    if (stream->output->state != LF_CW_OUTPUT_RUNNING ||
        stream->batch != NULL || !stream_due(stream)) {
        return;
    }
    stream->batch = lf_cw_batcher_take(stream->batcher);
    stream->pending_since_ms = uv_now(stream->output->loop);
    stream->pending_bytes =
        stream->pending_bytes > stream->batch->size_bytes
            ? stream->pending_bytes - stream->batch->size_bytes
            : 0;
    stream->op = LF_CW_OP_PUT_LOG_EVENTS;
    lf_cw_send_op(stream);
}

static void for_each_stream(struct lf_cw_output *output,
                            void (*fn)(struct lf_cw_stream *stream))
{
    for (size_t i = 0; i < output->bucket_count; i++) {
        struct lf_cw_stream *s = output->buckets[i];

        while (s != NULL) {
            struct lf_cw_stream *next = s->next;

            fn(s);
            s = next;
        }
    }
}

static bool any_pending_entries(const struct lf_cw_output *output)
{
    for (size_t i = 0; i < output->bucket_count; i++) {
        for (struct lf_cw_stream *s = output->buckets[i]; s != NULL;
             s = s->next) {
            if (lf_cw_batcher_pending(s->batcher) > 0) {
                return true;
            }
        }
    }
    return false;
}

static void on_flush_timer(uv_timer_t *timer)
{
    struct lf_cw_output *output = timer->data;

    for_each_stream(output, lf_cw_stream_maybe_send);
    if (!any_pending_entries(output)) {
        uv_timer_stop(&output->flush_timer);
    }
}

static void arm_flush_timer(struct lf_cw_output *output)
{
    uint64_t tick = (uint64_t)output->config->flush_interval_ms / 4;

    if (uv_is_active((uv_handle_t *)&output->flush_timer)) {
        return;
    }
    if (tick < CW_FLUSH_TICK_MIN_MS) {
        tick = CW_FLUSH_TICK_MIN_MS;
    }
    uv_timer_start(&output->flush_timer, on_flush_timer, tick, tick);
}

static int64_t event_time_ms(const struct lf_event *ev, int64_t now_ms)
{
    const struct lf_value *ts = lf_event_get(ev, "@timestamp");

    if (ts != NULL && ts->type == LF_VALUE_TIMESTAMP) {
        return ts->u.ts_ns / 1000000;
    }
    return now_ms;
}

static struct lf_cw_stream *stream_for(struct lf_cw_output *output,
                                       const struct lf_event *ev)
{
    const struct lf_cw_config *config = output->config;
    size_t group_len;

    lf_buf_reset(&output->name_buf);
    lf_cw_name_template_format(&config->group_template, ev, true,
                               &output->name_buf);
    group_len = output->name_buf.len;
    lf_cw_name_template_format(&config->stream_template, ev, false,
                               &output->name_buf);
    return find_stream(output, output->name_buf.data, group_len,
                       output->name_buf.data + group_len,
                       output->name_buf.len - group_len);
}

int lf_cw_output_publish(struct lf_cw_output *output, const struct lf_event *ev,
                         const char *doc_id, struct lf_ack_ref ref)
{
    struct lf_cw_event_ref cref = {ref.source, ref.ticket};
    enum lf_cw_add_result added;
    struct lf_cw_stream *stream;
    const char *message = ev->message;
    size_t message_len = ev->message_len;
    int64_t now_ms = wall_clock_ms();

    (void)doc_id;
    if (output->state != LF_CW_OUTPUT_RUNNING) {
        return LF_ESTATE;
    }
    if (output->pending >= output->config->max_pending_events) {
        if (!output->full) {
            output->full = true;
            /* Nothing new comes in until results do: send what waits. */
            for_each_stream(output, lf_cw_stream_maybe_send);
        }
        return LF_EFULL;
    }
    stream = stream_for(output, ev);
    if (stream == NULL) {
        return LF_ECONFIG;
    }
    if (output->config->format == LF_CW_FORMAT_JSON) {
        lf_buf_reset(&output->doc_buf);
        lf_json_append_event(&output->doc_buf, ev);
        message = output->doc_buf.data;
        message_len = output->doc_buf.len;
    }
    output->pending++;
    lf_cw_batcher_add(stream->batcher, event_time_ms(ev, now_ms), message,
                      message_len, cref, now_ms, &added);
    if (added == LF_CW_ADD_DROPPED) {
        reject_event(output, ref, LF_CW_REJECT_POLICY);
        return 0;
    }
    if (lf_cw_batcher_pending(stream->batcher) == 1 && stream->batch == NULL) {
        stream->pending_since_ms = uv_now(output->loop);
    }
    stream->pending_events++;
    stream->pending_bytes += message_len + LF_CW_EVENT_OVERHEAD_BYTES;
    lf_cw_stream_maybe_send(stream);
    arm_flush_timer(output);
    return 0;
}

void lf_cw_output_flush(struct lf_cw_output *output)
{
    if (output->state != LF_CW_OUTPUT_RUNNING) {
        return;
    }
    output->flushing = true;
    for_each_stream(output, lf_cw_stream_maybe_send);
    if (any_pending_entries(output)) {
        arm_flush_timer(output);
    }
}

size_t lf_cw_output_pending(const struct lf_cw_output *output)
{
    return output->pending;
}

static void add_batch_stats(struct lf_cw_batch_stats *sum,
                            const struct lf_cw_batch_stats *s)
{
    sum->too_old_dropped += s->too_old_dropped;
    sum->too_old_clamped += s->too_old_clamped;
    sum->too_new_dropped += s->too_new_dropped;
    sum->too_new_clamped += s->too_new_clamped;
    sum->empty_dropped += s->empty_dropped;
    sum->empty_replaced += s->empty_replaced;
    sum->split_events += s->split_events;
    sum->split_parts += s->split_parts;
    sum->truncated += s->truncated;
    sum->invalid_utf8 += s->invalid_utf8;
}

void lf_cw_output_stats(const struct lf_cw_output *output,
                        struct lf_cw_stats *out)
{
    *out = output->stats;
    memset(&out->batch, 0, sizeof(out->batch));
    for (size_t i = 0; i < output->bucket_count; i++) {
        for (const struct lf_cw_stream *s = output->buckets[i]; s != NULL;
             s = s->next) {
            add_batch_stats(&out->batch, lf_cw_batcher_stats(s->batcher));
        }
    }
}

static void on_creds_change(void *arg)
{
    lf_cw_resume_credential_waits(arg);
}

/* Splits the endpoint into the Host header and the request path. */
static void parse_endpoint(struct lf_cw_output *output)
{
    const char *endpoint = output->config->endpoint;
    const char *authority = strstr(endpoint, "://") + 3;
    const char *slash = strchr(authority, '/');
    struct lf_buf url;

    lf_buf_init(&url);
    if (slash == NULL) {
        output->host = lf_strdup(authority);
        output->path = lf_strdup("/");
        lf_buf_appendf(&url, "%s/", endpoint);
    } else {
        output->host = lf_strndup(authority, (size_t)(slash - authority));
        output->path = lf_strdup(slash);
        lf_buf_append_str(&url, endpoint);
    }
    output->url = url.data;
}

int lf_cw_output_new(uv_loop_t *loop, const struct lf_cw_config *config,
                     const struct lf_cw_output_callbacks *callbacks,
                     struct lf_cw_output **out)
{
    struct lf_cw_output *output = lf_calloc(1, sizeof(*output));
    int rc;

    output->loop = loop;
    output->config = config;
    output->callbacks = *callbacks;
    output->bucket_count = CW_INITIAL_BUCKETS;
    output->buckets = lf_calloc(output->bucket_count, sizeof(*output->buckets));
    output->rng = (uint64_t)wall_clock_ms() ^ (uint64_t)(uintptr_t)output;
    lf_buf_init(&output->name_buf);
    lf_buf_init(&output->doc_buf);
    lf_buf_init(&output->body);
    lf_cw_signed_request_init(&output->signed_req);
    parse_endpoint(output);
    output->signer = lf_sigv4_signer_new();
    if (output->signer == NULL) {
        rc = LF_EINVAL;
        goto fail;
    }
    rc = lf_http_client_new(loop, &output->http);
    if (rc != 0) {
        goto fail;
    }
    output->creds =
        lf_aws_creds_provider_new(loop, output->http, config->region,
                                  config->profile, on_creds_change, output);
    lf_aws_creds_set_process_timeout(
        output->creds, (uint64_t)config->credential_process_timeout_ms);
    if (config->role_arn != NULL) {
        lf_aws_creds_assume_role(output->creds, config->role_arn,
                                 config->role_session_name,
                                 config->external_id);
    }
    uv_timer_init(loop, &output->flush_timer);
    output->flush_timer.data = output;
    uv_timer_init(loop, &output->creds_timer);
    output->creds_timer.data = output;
    lf_log_info(LF_CW_LOG,
                "output started endpoint=%s region=%s "
                "log_group=%s log_stream=%s",
                config->endpoint, config->region, config->log_group,
                config->log_stream);
    *out = output;
    return 0;

fail:
    lf_sigv4_signer_free(output->signer);
    lf_cw_signed_request_cleanup(&output->signed_req);
    lf_free(output->host);
    lf_free(output->path);
    lf_free(output->url);
    lf_free(output->buckets);
    lf_free(output);
    return rc;
}

static void free_output(struct lf_cw_output *output)
{
    void (*done)(void *arg) = output->close_done;
    void *arg = output->close_arg;

    for (size_t i = 0; i < output->bucket_count; i++) {
        struct lf_cw_stream *s = output->buckets[i];

        while (s != NULL) {
            struct lf_cw_stream *next = s->next;

            lf_cw_batch_free(s->batch);
            lf_cw_batcher_free(s->batcher);
            lf_free(s->splits);
            lf_free(s->group);
            lf_free(s->name);
            lf_free(s->sequence_token);
            lf_free(s);
            s = next;
        }
    }
    lf_free(output->buckets);
    lf_aws_creds_provider_free(output->creds);
    lf_sigv4_signer_free(output->signer);
    lf_cw_signed_request_cleanup(&output->signed_req);
    lf_buf_cleanup(&output->name_buf);
    lf_buf_cleanup(&output->doc_buf);
    lf_buf_cleanup(&output->body);
    lf_free(output->host);
    lf_free(output->path);
    lf_free(output->url);
    lf_free(output);
    if (done != NULL) {
        done(arg);
    }
}

static void maybe_free(struct lf_cw_output *output)
{
    if (output->open_handles == 0 && output->http_closed) {
        free_output(output);
    }
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct lf_cw_output *output = handle->data;

    output->open_handles--;
    maybe_free(output);
}

static void on_http_closed(void *arg)
{
    struct lf_cw_output *output = arg;

    output->http_closed = true;
    maybe_free(output);
}

/* The closed timer's data is the output, which counts open handles. */
static void close_stream_timer(struct lf_cw_stream *stream)
{
    stream->timer.data = stream->output;
    stream->output->open_handles++;
    uv_close((uv_handle_t *)&stream->timer, on_handle_closed);
}

void lf_cw_output_close(struct lf_cw_output *output, void (*done)(void *arg),
                        void *arg)
{
    if (output == NULL || output->state == LF_CW_OUTPUT_CLOSING) {
        return;
    }
    output->state = LF_CW_OUTPUT_CLOSING;
    output->close_done = done;
    output->close_arg = arg;
    for_each_stream(output, close_stream_timer);
    output->open_handles += 2;
    uv_close((uv_handle_t *)&output->flush_timer, on_handle_closed);
    uv_close((uv_handle_t *)&output->creds_timer, on_handle_closed);
    lf_http_client_close(output->http, on_http_closed, output);
}
