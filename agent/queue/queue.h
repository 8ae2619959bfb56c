/*
 * The queue between the pipeline and an output. Events the output cannot
 * take yet wait in a memory queue bounded in bytes and, when a disk spool
 * is configured, in the spool: once it is full (mode overflow) or always
 * (mode always). Events leave in the order they entered, so once events
 * wait, newer events queue behind them, and a spool left by an earlier
 * run is sent before new data.
 *
 * The pipeline's acknowledgement of an event (struct lf_ack_ref) is
 * reported through on_result when the output returns its result, or
 * through on_spooled once its spool record is durable under the fsync
 * policy, whichever comes first, and only once. An event sent from the
 * spool is acknowledged to the spool (lf_spool_ack), never to the
 * pipeline again. An event is encoded with its document id, so one sent
 * again after a crash gets the same id and Elasticsearch returns 409.
 *
 * lf_queue_publish() returns LF_EFULL when neither the memory queue nor
 * the spool can take the event. The queue then calls on_ready once there
 * is room again.
 *
 * Everything runs on the loop thread. Spool appends and reads block on
 * the disk, while syncs run on libuv's thread pool.
 */
#ifndef LF_AGENT_QUEUE_QUEUE_H
#define LF_AGENT_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "agent/queue/event_codec.h"
#include "agent/queue/spool.h"
#include "lf/event.h"
/* NOTE: struct lf_ack_ref and enum lf_delivery are declared there. */
#include "outputs/elasticsearch/es_output.h"

#define LF_QUEUE_MEM_MAX_BYTES_DEFAULT (64ull * 1024 * 1024)
#define LF_QUEUE_FSYNC_INTERVAL_MS_DEFAULT 1000

enum lf_queue_disk_mode {
    LF_QUEUE_DISK_OVERFLOW, /* spool only what the memory queue cannot take */
    LF_QUEUE_DISK_ALWAYS,   /* spool every event before sending it */
};

struct lf_queue_options {
    uint64_t mem_max_bytes;
    const char *disk_path; /* spool folder; NULL for no spool */
    uint64_t disk_max_bytes;
    uint64_t disk_segment_bytes; /* 0 for lf_queue_segment_bytes() */
    enum lf_queue_disk_mode disk_mode;
    enum lf_spool_fsync disk_fsync;
    uint64_t disk_fsync_interval_ms; /* period of syncs and checkpoints */
    bool disk_drop_oldest;
    const struct lf_spool_io *io; /* NULL for the real system calls */
};

/* The output the queue feeds. */
struct lf_queue_output {
    void *arg;
    /* Returns 0 once the output took a copy of the event, or LF_EFULL. */
    int (*publish)(void *arg, const struct lf_event *ev, const char *doc_id,
                   struct lf_ack_ref ref);
};

struct lf_queue_callbacks {
    void *arg;
    /* The output's result for an event of the pipeline. */
    void (*on_result)(void *arg, struct lf_ack_ref ref,
                      enum lf_delivery result);
    /* The event's spool record is durable; it counts as acknowledged. */
    void (*on_spooled)(void *arg, struct lf_ack_ref ref);
    /* Room again after lf_queue_publish() returned LF_EFULL. */
    void (*on_ready)(void *arg);
};

struct lf_queue_stats {
    uint64_t mem_bytes;  /* encoded events in the memory queue */
    uint64_t mem_events;
    uint64_t spooled;           /* events appended to the spool */
    uint64_t spooled_durable;   /* pipeline events acknowledged as spooled */
    uint64_t shutdown_spooled;  /* moved from memory by lf_queue_spool_memory */
    uint64_t replayed;          /* events sent from the spool */
    uint64_t spool_delivered;   /* spool records the output acknowledged */
    uint64_t spool_corrupt;     /* spool records that failed to decode */
    uint64_t spool_skipped;     /* records the spool skipped as corrupt */
    uint64_t spool_dropped;     /* records deleted by drop_oldest */
    uint64_t spool_errors;      /* failed appends, reads and syncs */
    uint64_t spool_records;     /* records in the spool not acknowledged */
    uint64_t spool_bytes;
    uint64_t full;              /* times publish returned LF_EFULL */
};

struct lf_queue;

/*
 * Returns the segment size used for a spool of `max_bytes`: an eighth of
 * it, between 64 KiB and 16 MiB. Opening a spool reads one segment at a
 * time into memory, so this also bounds the memory of recovery.
 */
uint64_t lf_queue_segment_bytes(uint64_t max_bytes);

/*
 * Creates the queue and opens the spool, recovering what an earlier run
 * left in it (each record found is sent before new events). Returns 0, or
 * a negative LF_E* code from lf_spool_open() with the reason logged.
 */
int lf_queue_new(uv_loop_t *loop, const struct lf_queue_options *options,
                 const struct lf_queue_callbacks *callbacks,
                 struct lf_queue **queue_out);

/* Attaches the output and starts sending what the spool holds. */
void lf_queue_set_output(struct lf_queue *queue,
                         const struct lf_queue_output *output);

/*
 * Calls `cb(arg, span)` for the span of every unacknowledged spool record,
 * oldest first, skipping records written without one (format version 1).
 * Call it before lf_queue_set_output(), which starts reading the spool.
 * Returns 0, or the negated errno of a failed read after logging it.
 */
int lf_queue_scan_spool(struct lf_queue *queue,
                        void (*cb)(void *arg, const struct lf_event_span *span),
                        void *arg);

/*
 * Takes `ev` with `doc_id` and `span` (may be NULL): hands it to the output
 * when nothing waits, or queues it. Returns 0, or LF_EFULL when nothing
 * was taken (on_ready follows). An event the codec cannot carry is
 * reported REJECTED.
 */
int lf_queue_publish(struct lf_queue *queue, const struct lf_event *ev,
                     const char *doc_id, const struct lf_event_span *span,
                     struct lf_ack_ref ref);

/* The output's on_result: routes spool records and pipeline events. */
void lf_queue_on_output_result(struct lf_queue *queue, struct lf_ack_ref ref,
                               enum lf_delivery result);

/* The output's on_ready: sends what waits. */
void lf_queue_on_output_ready(struct lf_queue *queue);

/*
 * Moves every event of the memory queue to the spool and syncs it, so the
 * events are acknowledged through on_spooled. Used at shutdown. Returns 0
 * when that is done (or there is no spool, or nothing to sync), or 1 when
 * a sync runs on the pool, and then calls `done(arg)` once it has ended.
 * Events that could not be spooled stay in memory, with the reason
 * logged.
 */
int lf_queue_spool_memory(struct lf_queue *queue, void (*done)(void *arg),
                          void *arg);

/*
 * Returns true when nothing waits: the memory queue is empty and every
 * spool record is acknowledged.
 */
bool lf_queue_idle(const struct lf_queue *queue);

/* Returns true when a spool is configured and open. */
bool lf_queue_has_spool(const struct lf_queue *queue);

void lf_queue_stats(const struct lf_queue *queue,
                    struct lf_queue_stats *stats_out);

/*
 * Stops the timers and closes the spool. Events still in memory are
 * dropped without a result, so their offsets are not committed and they
 * are read again from their files. The queue is freed once its handles
 * are closed, while the loop runs. Accepts NULL.
 */
void lf_queue_close(struct lf_queue *queue);

#endif
