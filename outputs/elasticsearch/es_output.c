/*
 * Elasticsearch output, batching side: events are encoded into the open
 * batch, closed batches are compressed on libuv's thread pool and queued,
 * and at most `workers` requests run at once (es_send.c sends them). The
 * output keeps at most `workers` + 1 closed batches, which bounds memory.
 */
#include "outputs/elasticsearch/es_output.h"
#include "outputs/elasticsearch/es_output_private.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include "outputs/elasticsearch/es_gzip.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ES_CONTAINER_OF(ptr, type, member)                                     \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Backoff doubles from backoff.init; the shift stops growing here. */
enum { ES_BACKOFF_MAX_SHIFT = 30 };

/* Each backoff wait is drawn within this percentage of its nominal value. */
enum { ES_BACKOFF_JITTER_PERCENT = 20 };

static const char *const state_names[] = {
    [LF_ES_OUTPUT_RUNNING] = "running",
    [LF_ES_OUTPUT_CLOSING] = "closing",
};

static void set_state(struct lf_es_output *output,
                      enum lf_es_output_state state)
{
    lf_log_debug(LF_ES_LOG, "output %s -> %s host=%s",
                 state_names[output->state], state_names[state],
                 output->config->hosts[0]);
    output->state = state;
}

static size_t max_closed_batches(const struct lf_es_output *output)
{
    return (size_t)output->config->workers + 1;
}

static bool batch_is_full(const struct lf_es_output *output,
                          const struct lf_es_batch *batch)
{
    return batch->count >= output->config->bulk_max_size ||
           batch->body.len >= output->config->bulk_max_bytes;
}

/*
 * Returns true when publish has a chance to take an event. It may still
 * return LF_EFULL when the event overflows the open batch and no slot is
 * free, and then the next finished batch calls on_ready again.
 */
static bool can_accept(const struct lf_es_output *output)
{
    return output->open == NULL || !batch_is_full(output, output->open) ||
           output->closed_count < max_closed_batches(output);
}

/* ---- compression on the thread pool ---- */

static struct lf_es_gzip *
take_compressor(struct lf_es_output *output)
{
    struct lf_es_gzip *c;

    if (output->idle_count > 0) {
        return output->idle_compressors[--output->idle_count];
    }
    c = lf_es_gzip_new(output->config->compression_level);
    return c;
}

static void return_compressor(struct lf_es_output *output,
                              struct lf_es_gzip *c)
{
    if (output->idle_count == output->idle_cap) {
        size_t cap = output->idle_cap == 0 ? 4 : output->idle_cap * 2;

        output->idle_compressors = lf_realloc(
            output->idle_compressors, cap * sizeof(*output->idle_compressors));
        output->idle_cap = cap;
    }
    output->idle_compressors[output->idle_count++] = c;
}

/* Runs on a pool thread: touches only the batch and its compressor. */
static void compress_work(uv_work_t *work)
{
    struct lf_es_batch *batch = ES_CONTAINER_OF(work, struct lf_es_batch, work);

    batch->compress_rc = lf_es_batch_compress(batch, batch->compressor);
}

static void enqueue_tail(struct lf_es_output *output, struct lf_es_batch *batch)
{
    batch->next = NULL;
    if (output->queue_tail == NULL) {
        output->queue_head = batch;
    } else {
        output->queue_tail->next = batch;
    }
    output->queue_tail = batch;
}

static void maybe_finish_close(struct lf_es_output *output);

static void compress_done(uv_work_t *work, int status)
{
    struct lf_es_batch *batch = ES_CONTAINER_OF(work, struct lf_es_batch, work);
    struct lf_es_output *output = batch->output;

    /* Jobs are never cancelled with uv_cancel(): status is always 0. */
    (void)status;
    output->compressing--;
    return_compressor(output, batch->compressor);
    batch->compressor = NULL;
    /* A closing output has already unlinked the batch from its queue. */
    if (output->state != LF_ES_OUTPUT_RUNNING) {
        lf_es_batch_free(batch);
        maybe_finish_close(output);
        return;
    }
    if (batch->compress_rc != 0) {
        lf_log_warn(LF_ES_LOG,
                    "compressing a bulk request failed: %s (%s), sending it "
                    "uncompressed events=%zu host=%s",
                    lf_strerror(batch->compress_rc),
                    lf_err_name(batch->compress_rc), batch->count,
                    output->config->hosts[0]);
        lf_buf_reset(&batch->gz);
    }
    batch->state = LF_ES_BATCH_READY;
    lf_es_output_pump(output);
}

void lf_es_output_submit(struct lf_es_output *output, struct lf_es_batch *batch)
{
    int rc;

    lf_buf_reset(&batch->gz);
    enqueue_tail(output, batch);
    if (!output->config->compress) {
        batch->state = LF_ES_BATCH_READY;
        lf_es_output_pump(output);
        return;
    }

    /*
     * NOTE: jobs share libuv's thread pool (4 threads unless
     * UV_THREADPOOL_SIZE sets another size) with uv_fs requests, and up to
     * `workers` + 1 of them can run at once. With many workers they can
     * delay file system requests of the inputs.
     */
    batch->state = LF_ES_BATCH_COMPRESSING;
    batch->compressor = take_compressor(output);
    rc =
        uv_queue_work(output->loop, &batch->work, compress_work, compress_done);
    if (rc == 0) {
        output->compressing++;
        return;
    }

    /* Only a NULL callback makes uv_queue_work() fail: send it plain. */
    return_compressor(output, batch->compressor);
    batch->compressor = NULL;
    batch->state = LF_ES_BATCH_READY;
    lf_es_output_pump(output);
}

/* ---- the send queue ---- */

void lf_es_output_requeue(struct lf_es_output *output,
                          struct lf_es_batch *batch)
{
    batch->state = LF_ES_BATCH_READY;
    batch->next = output->queue_head;
    output->queue_head = batch;
    if (output->queue_tail == NULL) {
        output->queue_tail = batch;
    }
}

static struct lf_es_batch *dequeue(struct lf_es_output *output)
{
    struct lf_es_batch *batch = output->queue_head;

    output->queue_head = batch->next;
    if (output->queue_head == NULL) {
        output->queue_tail = NULL;
    }
    batch->next = NULL;
    return batch;
}

/*
 * Batches leave in the order they were closed, so a batch compressed
 * early waits for the ones before it. That keeps documents roughly in
 * time order and makes requests predictable.
 */
void lf_es_output_pump(struct lf_es_output *output)
{
    while (output->state == LF_ES_OUTPUT_RUNNING && !output->backing_off &&
           output->in_flight < output->in_flight_limit &&
           output->queue_head != NULL &&
           output->queue_head->state == LF_ES_BATCH_READY) {
        lf_es_send_batch(output, dequeue(output));
    }
}

/* ---- batching ---- */

/* Closes the open batch. Returns 0, or LF_EFULL when no slot is free. */
static int close_open_batch(struct lf_es_output *output)
{
    struct lf_es_batch *batch = output->open;

    if (batch == NULL || batch->count == 0) {
        return 0;
    }
    if (output->closed_count >= max_closed_batches(output)) {
        return LF_EFULL;
    }
    uv_timer_stop(&output->flush_timer);
    output->open = NULL;
    output->flush_requested = false;
    output->closed_count++;
    lf_es_output_submit(output, batch);
    return 0;
}

static void on_flush_timer(uv_timer_t *timer)
{
    struct lf_es_output *output =
        ES_CONTAINER_OF(timer, struct lf_es_output, flush_timer);

    if (close_open_batch(output) != 0) {
        output->flush_requested = true;
    }
}

static void start_flush_timer(struct lf_es_output *output)
{
    uv_timer_start(&output->flush_timer, on_flush_timer,
                   (uint64_t)output->config->flush_interval_ms, 0);
}

/* Takes back the item just added: publish returns LF_EFULL instead. */
static int undo_last_item(struct lf_es_output *output,
                          struct lf_es_batch *batch)
{
    batch->count--;
    batch->body.len = batch->items[batch->count].offset;
    batch->body.data[batch->body.len] = '\0';
    output->pending_events--;
    output->blocked = true;
    return LF_EFULL;
}

/*
 * The item just encoded made the batch pass bulk_max_bytes: it moves to a
 * new open batch and the old one closes without it.
 */
static int start_next_batch(struct lf_es_output *output)
{
    struct lf_es_batch *full = output->open;
    struct lf_es_batch *next;

    if (output->closed_count >= max_closed_batches(output)) {
        return undo_last_item(output, full);
    }
    next = lf_es_batch_new(output);
    lf_es_batch_move_last(next, full);
    close_open_batch(output);
    output->open = next;
    start_flush_timer(output);
    return 0;
}

/* Returns the open batch that takes the next item, or NULL with `*rc`. */
static struct lf_es_batch *open_batch_for_item(struct lf_es_output *output,
                                               int *rc)
{
    if (output->state != LF_ES_OUTPUT_RUNNING) {
        *rc = LF_ESTATE;
        return NULL;
    }
    if (output->open != NULL && batch_is_full(output, output->open) &&
        close_open_batch(output) != 0) {
        output->blocked = true;
        *rc = LF_EFULL;
        return NULL;
    }
    if (output->open == NULL) {
        output->open = lf_es_batch_new(output);
    }
    return output->open;
}

/* Closes or moves on from `batch` after an item was added to it. */
static int after_item_added(struct lf_es_output *output,
                            struct lf_es_batch *batch)
{
    int rc = 0;

    output->pending_events++;
    if (batch->count == 1) {
        start_flush_timer(output);
    } else if (batch->body.len > output->config->bulk_max_bytes) {
        rc = start_next_batch(output);
    }
    if (rc == 0 && batch_is_full(output, output->open)) {
        /* With no free slot it stays open; publish reports FULL next. */
        close_open_batch(output);
    }
    return rc;
}

int lf_es_output_publish_lines(struct lf_es_output *output, const char *action,
                               size_t action_len, const char *doc,
                               size_t doc_len, struct lf_ack_ref ref)
{
    int rc = 0;
    struct lf_es_batch *batch = open_batch_for_item(output, &rc);

    if (batch == NULL) {
        return rc;
    }
    lf_es_batch_add_lines(batch, action, action_len, doc, doc_len, ref,
                          false);
    return after_item_added(output, batch);
}

int lf_es_output_publish(struct lf_es_output *output, const struct lf_event *ev,
                         const char *doc_id, struct lf_ack_ref ref)
{
    struct lf_es_batch *batch;
    size_t offset;
    int rc = 0;

    batch = open_batch_for_item(output, &rc);
    if (batch == NULL) {
        return rc;
    }
    offset = batch->body.len;
    rc = lf_es_encode_item(&output->encoder, &batch->body, doc_id, ev);
    if (rc != 0) {
        return rc;
    }
    lf_es_batch_add(batch, offset, ref);
    return after_item_added(output, batch);
}

void lf_es_output_flush(struct lf_es_output *output)
{
    if (output->state == LF_ES_OUTPUT_RUNNING &&
        close_open_batch(output) != 0) {
        output->flush_requested = true;
    }
}

size_t lf_es_output_pending(const struct lf_es_output *output)
{
    return output->pending_events;
}

/* The Prometheus client libraries' default buckets, 5 ms to 10 s. */
const double lf_es_latency_bounds_s[LF_ES_LATENCY_BOUND_COUNT] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void lf_es_output_stats(const struct lf_es_output *output,
                        struct lf_es_stats *out)
{
    *out = output->stats;
}

/* ---- results ---- */

void lf_es_output_report(struct lf_es_output *output, struct lf_ack_ref ref,
                         enum lf_delivery result)
{
    switch (result) {
    case LF_DELIVERY_INDEXED:
        output->stats.events_indexed++;
        break;
    case LF_DELIVERY_DUPLICATE:
        output->stats.events_duplicate++;
        break;
    case LF_DELIVERY_REJECTED:
        output->stats.events_rejected++;
        break;
    }
    output->pending_events--;
    output->callbacks.on_result(output->callbacks.arg, ref, result);
}

void lf_es_output_batch_done(struct lf_es_output *output,
                             struct lf_es_batch *batch)
{
    lf_es_batch_free(batch);
    output->closed_count--;
    if (output->state != LF_ES_OUTPUT_RUNNING) {
        return;
    }

    if (output->open != NULL &&
        (output->flush_requested || batch_is_full(output, output->open))) {
        close_open_batch(output);
    }
    lf_es_output_pump(output);

    if (output->blocked && can_accept(output)) {
        output->blocked = false;
        if (output->callbacks.on_ready != NULL) {
            output->callbacks.on_ready(output->callbacks.arg);
        }
    }
}

/* ---- backoff ---- */

/* xorshift64: jitter needs spread, not quality. */
static uint64_t next_random(struct lf_es_output *output)
{
    uint64_t x = output->rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    output->rng_state = x;
    return x;
}

/*
 * Returns backoff.init * 2^(attempt - 1) within 20% either way, drawn at
 * random, and at most backoff.max. The jitter keeps agents that failed
 * together from retrying together.
 */
static uint64_t backoff_delay_ms(struct lf_es_output *output)
{
    uint64_t init = (uint64_t)output->config->backoff_init_ms;
    uint64_t max = (uint64_t)output->config->backoff_max_ms;
    unsigned shift = output->backoff_attempt - 1;
    uint64_t delay = max;
    uint64_t low;
    uint64_t high;

    if (shift < ES_BACKOFF_MAX_SHIFT && (init << shift) < max) {
        delay = init << shift;
    }
    low = delay - delay * ES_BACKOFF_JITTER_PERCENT / 100;
    high = delay + delay * ES_BACKOFF_JITTER_PERCENT / 100;
    delay = low + next_random(output) % (high - low + 1);
    return delay < max ? delay : max;
}

static void on_backoff_timer(uv_timer_t *timer)
{
    struct lf_es_output *output =
        ES_CONTAINER_OF(timer, struct lf_es_output, backoff_timer);

    output->backing_off = false;
    lf_es_output_pump(output);
}

bool lf_es_output_backoff(struct lf_es_output *output, uint64_t *delay_ms_out)
{
    uint64_t delay;

    if (output->backing_off) {
        return false;
    }
    output->backoff_attempt++;
    delay = backoff_delay_ms(output);
    output->backing_off = true;
    uv_timer_start(&output->backoff_timer, on_backoff_timer, delay, 0);
    *delay_ms_out = delay;
    return true;
}

void lf_es_output_backoff_reset(struct lf_es_output *output,
                                const struct lf_es_batch *batch)
{
    if (output->backoff_attempt > 0) {
        lf_log_info(LF_ES_LOG,
                    "bulk requests succeed again failed_attempts=%u host=%s",
                    output->backoff_attempt, lf_es_send_host(output, batch));
    }
    output->backoff_attempt = 0;
    if (output->in_flight_limit < (size_t)output->config->workers) {
        output->in_flight_limit++;
        lf_log_info(LF_ES_LOG,
                    "requests in flight allowed raised to %zu of %d host=%s",
                    output->in_flight_limit, output->config->workers,
                    lf_es_send_host(output, batch));
    }
}

/*
 * Additive increase, multiplicative decrease, as TCP does with its
 * congestion window: an overloaded cluster sheds load quickly and gets it
 * back one request at a time.
 */
void lf_es_output_overloaded(struct lf_es_output *output,
                             const struct lf_es_batch *batch)
{
    size_t limit = output->in_flight_limit / 2;

    if (limit < 1) {
        limit = 1;
    }
    if (limit == output->in_flight_limit) {
        return;
    }
    output->in_flight_limit = limit;
    lf_log_info(LF_ES_LOG,
                "cluster overloaded, requests in flight allowed lowered to "
                "%zu of %d host=%s",
                limit, output->config->workers, lf_es_send_host(output, batch));
}

/* ---- lifecycle ---- */

/*
 * A fixed index goes in the request path (es_send.c), so action lines
 * need not repeat it; a template's index goes in each action line.
 */
static void init_encoder(struct lf_es_output *output)
{
    const struct lf_es_config *config = output->config;
    struct lf_es_encoder_options options = {
        .op_type = config->op_type,
        .index_fallback = config->index_fallback,
    };

    if (lf_es_template_is_dynamic(&config->index_template)) {
        options.index = config->index;
        options.index_template = &config->index_template;
    }
    if (config->routing.count > 0) {
        options.routing = &config->routing;
    }
    lf_es_encoder_init_options(&output->encoder, &options);
}

int lf_es_output_new(uv_loop_t *loop, const struct lf_es_config *config,
                     const struct lf_es_output_callbacks *callbacks,
                     struct lf_es_output **out)
{
    struct lf_es_output *output = NULL;
    int rc;

    *out = NULL;
    if (config->host_count == 0 || config->workers < 1 ||
        callbacks->on_result == NULL) {
        return LF_EINVAL;
    }

    output = lf_calloc(1, sizeof(*output));
    output->loop = loop;
    output->config = config;
    output->callbacks = *callbacks;
    output->in_flight_limit = (size_t)config->workers;
    /*
     * NOTE: the jitter is seeded from the clock because es_output.h has no
     * way to inject randomness, so tests cannot fix the exact delays.
     */
    output->rng_state = uv_hrtime() ^ (uint64_t)(uintptr_t)output;
    output->rng_state |= 1; /* xorshift must not start at 0 */
    init_encoder(output);
    rc = lf_es_send_init(output);
    if (rc == 0) {
        rc = lf_es_reject_open(output);
    }
    if (rc == 0) {
        rc = lf_http_client_new(loop, &output->http);
    }
    if (rc != 0) {
        goto fail;
    }

    /* Handles last: from here on the output is freed only by close. */
    uv_timer_init(loop, &output->flush_timer);
    uv_timer_init(loop, &output->backoff_timer);
    output->flush_timer.data = output;
    output->backoff_timer.data = output;
    lf_log_info(LF_ES_LOG,
                "output started index=%s workers=%d bulk_max_size=%zu "
                "host=%s hosts=%zu",
                config->index, config->workers, config->bulk_max_size,
                config->hosts[0], config->host_count);
    *out = output;
    return 0;

fail:
    lf_es_reject_close(output);
    lf_es_send_cleanup(output);
    lf_es_encoder_cleanup(&output->encoder);
    lf_free(output);
    return rc;
}

static void free_output(struct lf_es_output *output)
{
    void (*done)(void *arg) = output->close_done;
    void *arg = output->close_arg;

    for (size_t i = 0; i < output->idle_count; i++) {
        lf_es_gzip_free(output->idle_compressors[i]);
    }
    lf_free(output->idle_compressors);
    lf_es_reject_close(output);
    lf_es_send_cleanup(output);
    lf_es_encoder_cleanup(&output->encoder);
    lf_free(output);
    if (done != NULL) {
        done(arg);
    }
}

static void maybe_finish_close(struct lf_es_output *output)
{
    if (output->state == LF_ES_OUTPUT_CLOSING && output->open_handles == 0 &&
        output->compressing == 0) {
        free_output(output);
    }
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct lf_es_output *output = handle->data;

    output->open_handles--;
    maybe_finish_close(output);
}

static void on_http_closed(void *arg)
{
    struct lf_es_output *output = arg;

    output->http = NULL;
    output->open_handles--;
    maybe_finish_close(output);
}

void lf_es_output_close(struct lf_es_output *output, void (*done)(void *arg),
                        void *arg)
{
    if (output->state == LF_ES_OUTPUT_CLOSING) {
        return;
    }
    set_state(output, LF_ES_OUTPUT_CLOSING);
    output->close_done = done;
    output->close_arg = arg;
    if (output->pending_events > 0) {
        lf_log_info(LF_ES_LOG,
                    "output closing with events=%zu unacknowledged host=%s",
                    output->pending_events, output->config->hosts[0]);
    }

    lf_es_batch_free(output->open);
    output->open = NULL;
    while (output->queue_head != NULL) {
        struct lf_es_batch *batch = dequeue(output);

        /* A batch being compressed is freed when its job returns. */
        if (batch->state != LF_ES_BATCH_COMPRESSING) {
            lf_es_batch_free(batch);
        }
    }

    output->open_handles = 3;
    uv_close((uv_handle_t *)&output->flush_timer, on_timer_closed);
    uv_close((uv_handle_t *)&output->backoff_timer, on_timer_closed);
    lf_http_client_close(output->http, on_http_closed, output);
}
