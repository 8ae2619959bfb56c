/*
 * The queue: a FIFO of encoded events in memory, then the spool, then the
 * output. The memory queue is drained before the spool is read, and while
 * the spool has records not yet sent new events are appended behind them,
 * so the order of entry is the order of sending.
 *
 * A spooled event's pipeline acknowledgement waits in `pending`, with a
 * copy of its record, until a sync makes the record durable. When an
 * fsync fails the spool cuts every record since the last good sync, and
 * the copies are appended again.
 */
#include "agent/queue/queue.h"
#include "agent/queue/event_codec.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <inttypes.h>
#include <string.h>

/* How often a spool that failed with ENOSPC, EIO or EFBIG is tried again. */
#define QUEUE_SPOOL_RETRY_MS 1000
/* Minimum time between two logs of a failing spool. */
#define QUEUE_SPOOL_LOG_MS 10000
/* Segment sizes chosen by lf_queue_segment_bytes(). */
#define QUEUE_SEGMENT_MIN (64u * 1024)
#define QUEUE_SEGMENT_MAX (16u * 1024 * 1024)

/* An event in the memory queue. */
struct mem_entry {
    struct mem_entry *next;
    struct lf_ack_ref ref;
    size_t len;
    char data[];
};

/* A spooled event whose pipeline acknowledgement waits for a sync. */
struct pending {
    uint64_t seq;    /* its spool record; 0 while it must be appended */
    struct lf_ack_ref ref;
    bool resolved;   /* the output returned its result first */
    size_t len;
    char *data;
};

struct lf_queue {
    uv_loop_t *loop;
    struct lf_queue_options options;
    struct lf_queue_output output;
    struct lf_queue_callbacks callbacks;

    struct mem_entry *mem_head;
    struct mem_entry *mem_tail;
    uint64_t mem_bytes;
    uint64_t mem_events;

    struct lf_spool *spool;
    bool spool_backlog;   /* records the cursor has not returned yet */
    bool spool_failed;    /* appends stopped until the retry timer */
    uint64_t spool_log_ms; /* loop time of the last failure log */
    uint64_t spool_failures_unlogged;
    bool spool_stopped;   /* "spooling stopped" logged, no success since */
    struct lf_buf held;   /* a record read but not taken by the output */
    uint64_t held_seq;
    bool held_valid;

    struct pending *pending;
    size_t pending_head;
    size_t pending_count; /* used entries from pending_head on */
    size_t pending_cap;
    bool reappend;        /* pending entries with seq 0 exist */

    bool sync_running;
    uint64_t sync_next_seq; /* next_seq when the running sync started */
    /* lf_queue_spool_memory() waits for the sync of seqs below this. */
    uint64_t spool_target;
    void (*spool_done)(void *arg);
    void *spool_done_arg;
    uv_timer_t sync_timer;
    uv_timer_t retry_timer;
    int open_handles;
    bool closing;

    bool pumping;
    bool pump_again;
    bool want_ready;
    bool has_output;
    bool output_full;     /* LF_EFULL from the output, until on_ready */

    /* The address of `spool_marker` tags refs of spool records. */
    char spool_marker;
    struct lf_buf scratch;
    struct lf_event event;
    struct lf_queue_stats stats;
};

static void pump(struct lf_queue *queue);
static void start_sync(struct lf_queue *queue);

uint64_t lf_queue_segment_bytes(uint64_t max_bytes)
{
    uint64_t bytes = max_bytes / 8;

    if (bytes < QUEUE_SEGMENT_MIN) {
        return QUEUE_SEGMENT_MIN;
    }
    return bytes > QUEUE_SEGMENT_MAX ? QUEUE_SEGMENT_MAX : bytes;
}

static bool is_spool_ref(const struct lf_queue *queue, struct lf_ack_ref ref)
{
    return ref.source == &queue->spool_marker;
}

/* ---- spool events and failures ---- */

static void on_spool_event(void *data, const struct lf_spool_event *event)
{
    (void)data;
    switch (event->kind) {
    case LF_SPOOL_EVENT_DROPPED:
        lf_log_warn("queue", "queue.disk.on_full is drop_oldest and the "
                    "spool is full: dropped a segment segment=%s "
                    "first_seq=%" PRIu64 " last_seq=%" PRIu64
                    " events=%" PRIu64 " bytes=%" PRIu64, event->name,
                    event->first_seq, event->last_seq, event->records,
                    event->bytes);
        break;
    case LF_SPOOL_EVENT_SET_ASIDE:
        lf_log_error("queue", "spool segment unreadable or with an invalid "
                     "header, renamed to .bad and skipped segment=%s "
                     "bytes=%" PRIu64, event->name, event->bytes);
        break;
    case LF_SPOOL_EVENT_CORRUPT:
        lf_log_error("queue", "corrupt spool records skipped segment=%s "
                     "first_seq=%" PRIu64 " last_seq=%" PRIu64
                     " events=%" PRIu64 " bytes=%" PRIu64, event->name,
                     event->first_seq, event->last_seq, event->records,
                     event->bytes);
        break;
    case LF_SPOOL_EVENT_TRUNCATED:
        lf_log_warn("queue", "cut a partly written record from the end of "
                    "a spool segment segment=%s bytes=%" PRIu64,
                    event->name, event->bytes);
        break;
    }
}

static void on_retry_timer(uv_timer_t *timer);

/*
 * Stops spool appends after `rc` until the retry timer fires. Logs at most
 * once per QUEUE_SPOOL_LOG_MS, with the number of failures not logged.
 */
static void spool_failed(struct lf_queue *queue, const char *step, int rc)
{
    uint64_t now = uv_now(queue->loop);

    queue->stats.spool_errors++;
    if (!queue->spool_failed) {
        queue->spool_failed = true;
        uv_timer_start(&queue->retry_timer, on_retry_timer,
                       QUEUE_SPOOL_RETRY_MS, 0);
    }
    if (queue->spool_log_ms != 0 &&
        now - queue->spool_log_ms < QUEUE_SPOOL_LOG_MS) {
        queue->spool_failures_unlogged++;
        return;
    }
    lf_log_error("queue", "spooling stopped: %s failed: %s; events "
                 "wait in memory, reading pauses when the memory queue is "
                 "full, and the spool is tried again every %dms "
                 "(failures not logged since the last message: %" PRIu64 ") "
                 "path=%s", step, lf_strerror(rc), QUEUE_SPOOL_RETRY_MS,
                 queue->spool_failures_unlogged, queue->options.disk_path);
    queue->spool_log_ms = now == 0 ? 1 : now;
    queue->spool_failures_unlogged = 0;
    queue->spool_stopped = true;
}

/* Logs once that the spool takes appends again after a failure. */
static void spool_resumed(struct lf_queue *queue)
{
    if (queue->spool_stopped) {
        queue->spool_stopped = false;
        lf_log_info("queue", "spooling resumed in %s",
                    queue->options.disk_path);
    }
}

/* ---- pending acknowledgements of spooled events ---- */

static struct pending *pending_at(struct lf_queue *queue, size_t i)
{
    return &queue->pending[queue->pending_head + i];
}

/*
 * NOTE: these copies are not counted in queue.mem.max_bytes. They are the
 * records appended since the last sync: few with fsync batch, but up to
 * one fsync_interval of input with fsync interval.
 */
static void pending_push(struct lf_queue *queue, uint64_t seq,
                         struct lf_ack_ref ref, const char *data, size_t len)
{
    struct pending *p;

    if (queue->pending_head + queue->pending_count == queue->pending_cap) {
        if (queue->pending_head > 0) {
            memmove(queue->pending, queue->pending + queue->pending_head,
                    queue->pending_count * sizeof(*queue->pending));
            queue->pending_head = 0;
        }
        if (queue->pending_count == queue->pending_cap) {
            queue->pending_cap =
                queue->pending_cap == 0 ? 64 : queue->pending_cap * 2;
            queue->pending =
                lf_realloc(queue->pending,
                           queue->pending_cap * sizeof(*queue->pending));
        }
    }
    p = &queue->pending[queue->pending_head + queue->pending_count++];
    p->seq = seq;
    p->ref = ref;
    p->resolved = false;
    p->len = len;
    p->data = lf_malloc(len);
    memcpy(p->data, data, len);
}

static void pending_pop(struct lf_queue *queue)
{
    lf_free(pending_at(queue, 0)->data);
    queue->pending_head++;
    queue->pending_count--;
    if (queue->pending_count == 0) {
        queue->pending_head = 0;
    }
}

/* Finds the pending entry of record `seq`; entries are in seq order. */
static struct pending *pending_find(struct lf_queue *queue, uint64_t seq)
{
    size_t lo = 0;
    size_t hi = queue->pending_count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct pending *p = pending_at(queue, mid);

        if (p->seq == seq) {
            return p;
        }
        if (p->seq != 0 && p->seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Acknowledges to the pipeline every pending event now durable. */
static void resolve_durable(struct lf_queue *queue)
{
    struct lf_spool_stats stats;

    lf_spool_stats(queue->spool, &stats);
    while (queue->pending_count > 0) {
        struct pending *p = pending_at(queue, 0);
        struct lf_ack_ref ref = p->ref;
        bool resolved = p->resolved;

        if (p->seq == 0 || p->seq >= stats.durable_seq) {
            break;
        }
        pending_pop(queue);
        if (!resolved) {
            queue->stats.spooled_durable++;
            queue->callbacks.on_spooled(queue->callbacks.arg, ref);
        }
    }
}

/*
 * Appends again, in order, the pending records that must be: with `cut`,
 * every one left after resolve_durable(), because a failed fsync cut all
 * records from durable_seq on, and otherwise those whose append failed.
 * Records the output already acknowledged are dropped instead. Returns 0,
 * or the error of the append that failed.
 */
static int reappend(struct lf_queue *queue, bool cut)
{
    size_t kept = 0;

    if (cut) {
        struct lf_spool_stats stats;

        lf_spool_stats(queue->spool, &stats);
        if (queue->held_valid && queue->held_seq >= stats.durable_seq) {
            /* Its copy in `pending` is appended again and read later. */
            queue->held_valid = false;
        }
        for (size_t i = 0; i < queue->pending_count; i++) {
            struct pending *p = pending_at(queue, i);

            if (p->resolved) {
                lf_free(p->data);
                continue;
            }
            p->seq = 0;
            *pending_at(queue, kept++) = *p;
        }
        queue->pending_count = kept;
    }
    for (size_t i = 0; i < queue->pending_count; i++) {
        struct pending *p = pending_at(queue, i);
        int rc;

        if (p->seq != 0) {
            continue;
        }
        rc = lf_spool_append(queue->spool, p->data, p->len, &p->seq);
        if (rc != 0) {
            p->seq = 0;
            queue->reappend = true;
            return rc;
        }
        queue->spool_backlog = true;
    }
    queue->reappend = false;
    return 0;
}

/* ---- syncs ---- */

static void finish_spool_memory(struct lf_queue *queue)
{
    void (*done)(void *arg) = queue->spool_done;

    queue->spool_done = NULL;
    done(queue->spool_done_arg);
}

static void on_sync_done(struct lf_spool *spool, int status, void *data)
{
    struct lf_queue *queue = data;
    struct lf_spool_stats stats;
    int rc;

    (void)spool;
    queue->sync_running = false;
    if (queue->closing) {
        return;
    }
    resolve_durable(queue);
    lf_spool_stats(queue->spool, &stats);
    if (status != 0) {
        spool_failed(queue, "spool sync", status);
        /*
         * A failed fsync left durable_seq behind and cut every record
         * from it on. A failed checkpoint write moved it and cut nothing.
         */
        if (stats.durable_seq < queue->sync_next_seq) {
            rc = reappend(queue, true);
            if (rc != 0) {
                spool_failed(queue, "spool append", rc);
            }
        }
    }
    if (queue->spool_done != NULL) {
        lf_spool_stats(queue->spool, &stats);
        if (status == 0 && stats.durable_seq < queue->spool_target) {
            /* That sync started before the memory queue was appended. */
            start_sync(queue);
            if (queue->sync_running) {
                return;
            }
        }
        finish_spool_memory(queue);
        return;
    }
    pump(queue);
    if (queue->options.disk_fsync == LF_SPOOL_FSYNC_BATCH &&
        stats.durable_seq < stats.next_seq && !queue->spool_failed) {
        start_sync(queue);
    }
}

static void start_sync(struct lf_queue *queue)
{
    int rc;

    if (queue->sync_running || queue->closing) {
        return;
    }
    rc = lf_spool_sync_start(queue->spool, queue->loop, on_sync_done, queue);
    if (rc == 0) {
        struct lf_spool_stats stats;

        lf_spool_stats(queue->spool, &stats);
        queue->sync_next_seq = stats.next_seq;
        queue->sync_running = true;
    } else if (rc != LF_EAGAIN) {
        spool_failed(queue, "starting a spool sync", rc);
    }
}

static void on_sync_timer(uv_timer_t *timer)
{
    start_sync(timer->data);
}

static void on_retry_timer(uv_timer_t *timer)
{
    struct lf_queue *queue = timer->data;
    int rc = 0;

    queue->spool_failed = false;
    if (queue->reappend) {
        rc = reappend(queue, false);
    }
    if (rc != 0) {
        spool_failed(queue, "spool append", rc);
        return;
    }
    if (queue->options.disk_fsync == LF_SPOOL_FSYNC_BATCH) {
        start_sync(queue);
    }
    pump(queue);
    if (queue->want_ready) {
        queue->want_ready = false;
        queue->callbacks.on_ready(queue->callbacks.arg);
    }
}

/* ---- the memory queue ---- */

static bool mem_fits(const struct lf_queue *queue, size_t len)
{
    /* An event larger than the bound alone is taken into an empty queue. */
    return queue->mem_events == 0 ||
           queue->mem_bytes + sizeof(struct mem_entry) + len <=
               queue->options.mem_max_bytes;
}

static void mem_push(struct lf_queue *queue, struct lf_ack_ref ref,
                     const char *data, size_t len)
{
    struct mem_entry *entry = lf_malloc(sizeof(*entry) + len);

    entry->next = NULL;
    entry->ref = ref;
    entry->len = len;
    memcpy(entry->data, data, len);
    if (queue->mem_tail != NULL) {
        queue->mem_tail->next = entry;
    } else {
        queue->mem_head = entry;
    }
    queue->mem_tail = entry;
    queue->mem_bytes += sizeof(*entry) + len;
    queue->mem_events++;
}

static void mem_pop(struct lf_queue *queue)
{
    struct mem_entry *entry = queue->mem_head;

    queue->mem_head = entry->next;
    if (queue->mem_head == NULL) {
        queue->mem_tail = NULL;
    }
    queue->mem_bytes -= sizeof(*entry) + entry->len;
    queue->mem_events--;
    lf_free(entry);
}

/* ---- appends ---- */

/*
 * Appends one encoded event for the pipeline's `ref`. Returns 0, LF_EFULL
 * when the spool is full, or the append's error.
 */
static int spool_append(struct lf_queue *queue, struct lf_ack_ref ref,
                        const char *data, size_t len)
{
    uint64_t seq;
    int rc;

    rc = lf_spool_append(queue->spool, data, len, &seq);
    if (rc != 0) {
        if (rc != LF_EFULL && rc != LF_ETOOBIG) {
            spool_failed(queue, "spool append", rc);
        }
        return rc;
    }
    queue->stats.spooled++;
    queue->spool_backlog = true;
    spool_resumed(queue);
    if (queue->options.disk_fsync == LF_SPOOL_FSYNC_NEVER) {
        /* Written counts as durable under fsync: never. */
        queue->stats.spooled_durable++;
        queue->callbacks.on_spooled(queue->callbacks.arg, ref);
        return 0;
    }
    pending_push(queue, seq, ref, data, len);
    if (queue->options.disk_fsync == LF_SPOOL_FSYNC_BATCH) {
        start_sync(queue);
    }
    return 0;
}

static bool spool_usable(const struct lf_queue *queue)
{
    return queue->spool != NULL && !queue->spool_failed && !queue->reappend;
}

/* True while events wait that a new event must not overtake. */
static bool backlog(const struct lf_queue *queue)
{
    return queue->mem_events > 0 || queue->spool_backlog ||
           queue->held_valid || queue->reappend;
}

int lf_queue_publish(struct lf_queue *queue, const struct lf_event *ev,
                     const char *doc_id, const struct lf_event_span *span,
                     struct lf_ack_ref ref)
{
    bool always = queue->spool != NULL &&
                  queue->options.disk_mode == LF_QUEUE_DISK_ALWAYS;
    bool spool_waits;
    int rc;

    if (!backlog(queue) && !(always && spool_usable(queue)) &&
        queue->has_output && !queue->pumping) {
        /* Results reported from inside publish must not pump. */
        queue->pumping = true;
        rc = queue->output.publish(queue->output.arg, ev, doc_id, ref);
        queue->pumping = false;
        if (rc != LF_EFULL) {
            queue->output_full = false;
            return rc;
        }
        queue->output_full = true;
    }
    lf_buf_reset(&queue->scratch);
    rc = lf_event_encode(ev, doc_id, span, &queue->scratch);
    if (rc != 0) {
        lf_log_error("queue", "event too large to queue, reported as "
                     "rejected id=%s: %s", doc_id, lf_strerror(rc));
        queue->callbacks.on_result(queue->callbacks.arg, ref,
                                   LF_DELIVERY_REJECTED);
        return 0;
    }

    /* Events enter memory only while no spool record waits before them. */
    spool_waits = queue->spool_backlog || queue->held_valid ||
                  queue->reappend;
    if (!always && !spool_waits && mem_fits(queue, queue->scratch.len)) {
        mem_push(queue, ref, queue->scratch.data, queue->scratch.len);
        pump(queue);
        return 0;
    }
    if (spool_usable(queue) &&
        spool_append(queue, ref, queue->scratch.data,
                     queue->scratch.len) == 0) {
        pump(queue);
        return 0;
    }
    if (!spool_waits && mem_fits(queue, queue->scratch.len)) {
        /* The spool is full or failing and has no unsent record. */
        mem_push(queue, ref, queue->scratch.data, queue->scratch.len);
        pump(queue);
        return 0;
    }
    queue->stats.full++;
    queue->want_ready = true;
    return LF_EFULL;
}

/* ---- sending ---- */

/* Sends the head of the memory queue. Returns 0, LF_EFULL or LF_ENOENT. */
static int send_mem(struct lf_queue *queue)
{
    struct mem_entry *entry = queue->mem_head;
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];
    int rc;

    if (entry == NULL) {
        return LF_ENOENT;
    }
    if (lf_event_decode(entry->data, entry->len, &queue->event, doc_id) !=
        0) {
        /* Only a bug can get here: the queue encoded the entry itself. */
        lf_log_error("queue", "an event in the memory queue failed to "
                     "decode and is reported as rejected");
        rc = 0;
        queue->callbacks.on_result(queue->callbacks.arg, entry->ref,
                                   LF_DELIVERY_REJECTED);
    } else {
        rc = queue->output.publish(queue->output.arg, &queue->event, doc_id,
                                   entry->ref);
    }
    if (rc == LF_EFULL) {
        queue->output_full = true;
        return rc;
    }
    mem_pop(queue);
    return 0;
}

/* Sends the next spool record. Returns 0, LF_EFULL or LF_ENOENT. */
static int send_spool(struct lf_queue *queue)
{
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];
    struct lf_ack_ref ref = {.source = &queue->spool_marker};
    int rc;

    if (queue->spool == NULL) {
        return LF_ENOENT;
    }
    if (!queue->held_valid) {
        const void *payload;
        size_t len;

        rc = lf_spool_read(queue->spool, &payload, &len, &queue->held_seq);
        if (rc == 0) {
            queue->spool_backlog = false;
            return LF_ENOENT;
        }
        if (rc < 0) {
            spool_failed(queue, "spool read", rc);
            return LF_ENOENT;
        }
        lf_buf_reset(&queue->held);
        lf_buf_append(&queue->held, payload, len);
        queue->held_valid = true;
    }
    ref.ticket = queue->held_seq;
    if (lf_event_decode(queue->held.data, queue->held.len, &queue->event,
                        doc_id) != 0) {
        lf_log_error("queue", "spool record is not a valid event, skipped "
                     "seq=%" PRIu64 " bytes=%zu path=%s", queue->held_seq,
                     queue->held.len, queue->options.disk_path);
        queue->stats.spool_corrupt++;
        queue->held_valid = false;
        lf_spool_ack(queue->spool, queue->held_seq);
        return 0;
    }
    rc = queue->output.publish(queue->output.arg, &queue->event, doc_id, ref);
    if (rc == LF_EFULL) {
        queue->output_full = true;
        return rc;
    }
    queue->stats.replayed++;
    queue->held_valid = false;
    return 0;
}

/*
 * Sends what waits until the output is full or nothing is left, then
 * calls on_ready when a publish was turned away and there is room now.
 * The output may report results from inside publish. A pump() called
 * from there only sets `pump_again`, so this call loops once more.
 */
static void pump(struct lf_queue *queue)
{
    if (queue->pumping) {
        queue->pump_again = true;
        return;
    }
    if (!queue->has_output || queue->closing) {
        return;
    }
    queue->pumping = true;
    do {
        queue->pump_again = false;
        while (!queue->output_full) {
            int rc = send_mem(queue);

            if (rc == LF_ENOENT) {
                rc = send_spool(queue);
            }
            if (rc != 0) {
                break;
            }
        }
    } while (queue->pump_again);
    queue->pumping = false;

    if (queue->want_ready && !queue->spool_failed &&
        (mem_fits(queue, 0) || queue->spool != NULL)) {
        queue->want_ready = false;
        queue->callbacks.on_ready(queue->callbacks.arg);
    }
}

void lf_queue_on_output_result(struct lf_queue *queue, struct lf_ack_ref ref,
                               enum lf_delivery result)
{
    struct pending *p;
    int rc;

    if (!is_spool_ref(queue, ref)) {
        queue->callbacks.on_result(queue->callbacks.arg, ref, result);
        return;
    }
    queue->stats.spool_delivered++;
    rc = lf_spool_ack(queue->spool, ref.ticket);
    if (rc != 0) {
        lf_log_warn("queue", "acknowledging spool record failed: %s; it may "
                    "be sent again after a restart seq=%" PRIu64 " path=%s",
                    lf_strerror(rc), ref.ticket, queue->options.disk_path);
    }
    p = pending_find(queue, ref.ticket);
    if (p != NULL && !p->resolved) {
        p->resolved = true;
        queue->callbacks.on_result(queue->callbacks.arg, p->ref, result);
    }
    if (queue->want_ready) {
        pump(queue); /* the acknowledgement may have freed spool space */
    }
}

void lf_queue_on_output_ready(struct lf_queue *queue)
{
    queue->output_full = false;
    pump(queue);
}

/* ---- lifecycle ---- */

static int open_spool(struct lf_queue *queue)
{
    struct lf_spool_options options = {
        .segment_bytes = queue->options.disk_segment_bytes,
        .max_bytes = queue->options.disk_max_bytes,
        .fsync = queue->options.disk_fsync,
        .drop_oldest = queue->options.disk_drop_oldest,
        .io = queue->options.io,
        .on_event = on_spool_event,
        .event_data = queue,
    };
    struct lf_spool_stats stats;
    int rc;

    if (options.segment_bytes == 0) {
        options.segment_bytes = lf_queue_segment_bytes(options.max_bytes);
    }
    rc = lf_spool_open(queue->options.disk_path, &options, &queue->spool);
    if (rc != 0) {
        lf_log_error("queue", "opening the spool failed: %s%s path=%s",
                     lf_strerror(rc),
                     rc == LF_EAGAIN ? " (another logferry uses it)" : "",
                     queue->options.disk_path);
        return rc;
    }
    lf_spool_stats(queue->spool, &stats);
    queue->spool_backlog = stats.records > 0;
    lf_log_info("queue", "spool opened path=%s events=%" PRIu64
                " bytes=%" PRIu64 " segments=%" PRIu64
                " corrupt_events_skipped=%" PRIu64 " segments_set_aside=%"
                PRIu64 " bytes_truncated=%" PRIu64, queue->options.disk_path,
                stats.records, stats.bytes, stats.segments,
                stats.records_corrupt, stats.segments_set_aside,
                stats.bytes_truncated);
    return 0;
}

int lf_queue_new(uv_loop_t *loop, const struct lf_queue_options *options,
                 const struct lf_queue_callbacks *callbacks,
                 struct lf_queue **queue_out)
{
    struct lf_queue *queue = lf_calloc(1, sizeof(*queue));
    uint64_t period;
    int rc;

    queue->loop = loop;
    queue->options = *options;
    queue->callbacks = *callbacks;
    lf_buf_init(&queue->scratch);
    lf_buf_init(&queue->held);
    lf_event_init(&queue->event);
    uv_timer_init(loop, &queue->sync_timer);
    queue->sync_timer.data = queue;
    uv_timer_init(loop, &queue->retry_timer);
    queue->retry_timer.data = queue;
    queue->open_handles = 2;

    if (options->disk_path != NULL) {
        rc = open_spool(queue);
        if (rc != 0) {
            lf_queue_close(queue);
            return rc;
        }
        /* Every mode syncs on the period: it also writes the checkpoint. */
        period = options->disk_fsync_interval_ms;
        if (period == 0) {
            period = LF_QUEUE_FSYNC_INTERVAL_MS_DEFAULT;
        }
        uv_timer_start(&queue->sync_timer, on_sync_timer, period, period);
    }
    *queue_out = queue;
    return 0;
}

int lf_queue_scan_spool(struct lf_queue *queue,
                        void (*cb)(void *arg, const struct lf_event_span *span),
                        void *arg)
{
    struct lf_event_span span;
    const void *payload;
    size_t len;
    uint64_t seq;
    int rc;

    if (queue->spool == NULL) {
        return 0;
    }
    while ((rc = lf_spool_read(queue->spool, &payload, &len, &seq)) == 1) {
        if (lf_event_decode_span(payload, len, &span) == 0) {
            cb(arg, &span);
        }
    }
    lf_spool_rewind(queue->spool);
    if (rc < 0) {
        lf_log_error("queue", "reading the spool for the offsets of its "
                     "events failed: %s; the lines of the events not read "
                     "are read again from their files path=%s",
                     lf_strerror(rc), queue->options.disk_path);
    }
    return rc;
}

void lf_queue_set_output(struct lf_queue *queue,
                         const struct lf_queue_output *output)
{
    queue->output = *output;
    queue->has_output = true;
    pump(queue);
}

int lf_queue_spool_memory(struct lf_queue *queue, void (*done)(void *arg),
                          void *arg)
{
    struct lf_spool_stats stats;
    int rc;

    if (queue->spool == NULL || queue->closing || queue->spool_done != NULL) {
        return 0;
    }
    if (queue->reappend && reappend(queue, false) != 0) {
        return 0;
    }
    while (queue->mem_head != NULL) {
        struct mem_entry *entry = queue->mem_head;
        uint64_t seq;

        rc = lf_spool_append(queue->spool, entry->data, entry->len, &seq);
        if (rc != 0) {
            lf_log_error("queue", "spooling the memory queue at shutdown "
                         "failed: %s; %" PRIu64 " events stay in their "
                         "files and are read again path=%s",
                         lf_strerror(rc), queue->mem_events,
                         queue->options.disk_path);
            break;
        }
        queue->stats.spooled++;
        queue->stats.shutdown_spooled++;
        if (queue->options.disk_fsync == LF_SPOOL_FSYNC_NEVER) {
            queue->stats.spooled_durable++;
            queue->callbacks.on_spooled(queue->callbacks.arg, entry->ref);
        } else {
            pending_push(queue, seq, entry->ref, entry->data, entry->len);
        }
        mem_pop(queue);
    }
    lf_spool_stats(queue->spool, &stats);
    if (queue->options.disk_fsync == LF_SPOOL_FSYNC_NEVER ||
        queue->pending_count == 0) {
        return 0;
    }
    queue->spool_target = stats.next_seq;
    queue->spool_done = done;
    queue->spool_done_arg = arg;
    start_sync(queue);
    if (!queue->sync_running && queue->spool_done != NULL) {
        /* The sync could not start; the failure is logged. */
        queue->spool_done = NULL;
        return 0;
    }
    return 1;
}

bool lf_queue_idle(const struct lf_queue *queue)
{
    struct lf_spool_stats stats = {0};

    if (queue->spool != NULL) {
        lf_spool_stats(queue->spool, &stats);
    }
    return queue->mem_events == 0 && !queue->held_valid &&
           queue->pending_count == 0 && stats.records == 0;
}

bool lf_queue_has_spool(const struct lf_queue *queue)
{
    return queue->spool != NULL;
}

void lf_queue_stats(const struct lf_queue *queue,
                    struct lf_queue_stats *stats_out)
{
    *stats_out = queue->stats;
    stats_out->mem_bytes = queue->mem_bytes;
    stats_out->mem_events = queue->mem_events;
    if (queue->spool != NULL) {
        struct lf_spool_stats spool;

        lf_spool_stats(queue->spool, &spool);
        stats_out->spool_records = spool.records;
        stats_out->spool_bytes = spool.bytes;
        stats_out->spool_skipped = spool.records_corrupt;
        stats_out->spool_dropped = spool.records_dropped;
    }
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct lf_queue *queue = handle->data;

    if (--queue->open_handles > 0) {
        return;
    }
    while (queue->mem_head != NULL) {
        mem_pop(queue);
    }
    while (queue->pending_count > 0) {
        pending_pop(queue);
    }
    lf_free(queue->pending);
    lf_buf_cleanup(&queue->scratch);
    lf_buf_cleanup(&queue->held);
    lf_event_cleanup(&queue->event);
    lf_free(queue);
}

void lf_queue_close(struct lf_queue *queue)
{
    if (queue == NULL || queue->closing) {
        return;
    }
    queue->closing = true;
    lf_spool_close(queue->spool);
    queue->spool = NULL;
    uv_close((uv_handle_t *)&queue->sync_timer, on_handle_closed);
    uv_close((uv_handle_t *)&queue->retry_timer, on_handle_closed);
}
