/*
 * Disk spool: an append-only log of opaque records in segment files, read
 * back in order by one cursor, and deleted segment by segment once every
 * record in a segment is acknowledged.
 *
 * Files in the spool folder:
 *   <20-digit first sequence>.seg   segments; the names sort by sequence
 *   <name>.seg.bad                  segments set aside at open
 *   checkpoint                      first unacknowledged sequence number
 *   checkpoint.tmp                  a checkpoint being written
 * The on-disk format and the recovery rules are described in
 * docs/architecture.md, section "Disk spool".
 *
 * Sequence numbers start at 1 and increase by one per append. While the
 * spool is open they are never reused, so an acknowledgement cannot reach
 * a different record. After a crash, the numbers of records that did not
 * survive are given out again.
 *
 * After a crash the records acknowledged since the last checkpoint are
 * read again. That is harmless for documents with a deterministic _id,
 * because Elasticsearch returns 409 for a `create` of an _id it already
 * has.
 *
 * Calls run on the calling thread and block on the disk: appends write
 * with pwritev(2), lf_spool_sync() and lf_spool_checkpoint() wait for
 * fsync(2), and lf_spool_open() reads every segment once. Only
 * lf_spool_sync_start() does not block, because it runs the fsyncs on
 * libuv's thread pool. A spool is not thread-safe. The folder is locked
 * with flock(2) while it is open.
 */
#ifndef LF_AGENT_QUEUE_SPOOL_H
#define LF_AGENT_QUEUE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <uv.h>

struct lf_spool;

/* Defaults and limits of struct lf_spool_options (bytes). */
#define LF_SPOOL_SEGMENT_BYTES_DEFAULT (16u * 1024 * 1024)
#define LF_SPOOL_SEGMENT_BYTES_MIN 4096u
#define LF_SPOOL_SEGMENT_BYTES_MAX (1024u * 1024 * 1024)
#define LF_SPOOL_MAX_BYTES_DEFAULT (1024ull * 1024 * 1024)

/*
 * Durability policy: when appended records count as durable.
 * BATCH: after the lf_spool_sync() that follows them returns 0.
 * INTERVAL: the same, but the owner calls lf_spool_sync() on a period, so
 * a power failure loses at most the records of one period.
 * NEVER: as soon as they are written. The kernel writes them back when it
 * chooses, so a power failure can lose any record not yet written back.
 * A process crash loses none of them.
 */
enum lf_spool_fsync {
    LF_SPOOL_FSYNC_BATCH,
    LF_SPOOL_FSYNC_INTERVAL,
    LF_SPOOL_FSYNC_NEVER,
};

/*
 * File operations the spool uses for every write, sync and truncation, so
 * tests inject ENOSPC, EIO or EFBIG. Each returns what the system call
 * returns and sets errno the same way. lf_spool_io_default() returns the
 * real calls.
 */
struct lf_spool_io {
    ssize_t (*pwritev)(int fd, const struct iovec *iov, int iovcnt,
                       off_t offset);
    int (*fsync)(int fd);
    int (*ftruncate)(int fd, off_t length);
};

const struct lf_spool_io *lf_spool_io_default(void);

enum lf_spool_event_kind {
    /* Whole oldest segments dropped under drop_oldest. */
    LF_SPOOL_EVENT_DROPPED,
    /* An empty or unreadable segment, or one with a bad header, renamed
     * to <name>.bad. */
    LF_SPOOL_EVENT_SET_ASIDE,
    /* Corrupt bytes skipped inside a segment, which is read on after. */
    LF_SPOOL_EVENT_CORRUPT,
    /* A torn record cut from the end of a segment at open. */
    LF_SPOOL_EVENT_TRUNCATED,
};

/*
 * Event the spool reports for the owner to log. `first_seq` .. `last_seq`
 * is the sequence range concerned, or 0 .. 0 when it is not known.
 * `records` counts the records lost and `bytes` the bytes dropped,
 * skipped or cut. `name` is the segment's file name, valid during the
 * callback only.
 */
struct lf_spool_event {
    enum lf_spool_event_kind kind;
    const char *name;
    uint64_t first_seq;
    uint64_t last_seq;
    uint64_t records;
    uint64_t bytes;
};

typedef void (*lf_spool_event_cb)(void *data,
                                  const struct lf_spool_event *event);

struct lf_spool_options {
    uint64_t segment_bytes; /* roll-over size; 0 for the default */
    uint64_t max_bytes;     /* bound of all segments; 0 for default */
    enum lf_spool_fsync fsync;
    bool drop_oldest;             /* drop old segments instead of LF_EFULL */
    const struct lf_spool_io *io; /* NULL for the real system calls */
    lf_spool_event_cb on_event;   /* may be NULL */
    void *event_data;
};

struct lf_spool_stats {
    uint64_t bytes;   /* size of all segment files */
    uint64_t records; /* records not yet acknowledged */
    uint64_t segments;
    uint64_t next_seq;        /* sequence the next append gets */
    uint64_t durable_seq;     /* every record below it is durable */
    uint64_t ack_floor;       /* first unacknowledged sequence */
    uint64_t records_corrupt; /* records skipped as corrupt */
    uint64_t corrupt_bytes;   /* bytes skipped as corrupt */
    uint64_t segments_set_aside;
    uint64_t records_dropped; /* by drop_oldest */
    uint64_t bytes_truncated; /* torn tails cut at open */
};

/*
 * Opens the spool in `dir`, creating the folder (not its parents) when
 * missing, and recovers what is there: torn tails are cut, corrupt records
 * skipped, segments with a bad header set aside, each reported through
 * `on_event` before this returns. Unless the policy is
 * LF_SPOOL_FSYNC_NEVER, the segments found are fsynced, so what a crashed
 * run wrote is durable. Returns 0 and stores the spool in
 * `spool_out`. Returns LF_EINVAL for options out of range (segment_bytes
 * outside LF_SPOOL_SEGMENT_BYTES_MIN..MAX, max_bytes below twice
 * segment_bytes), and LF_EAGAIN when another spool, in this process or
 * another, has the folder open. Otherwise returns the negated errno of a
 * failed system call.
 */
int lf_spool_open(const char *dir, const struct lf_spool_options *options,
                  struct lf_spool **spool_out);

/*
 * Writes the checkpoint if it moved, closes every file and frees the
 * spool. A failed checkpoint write is ignored, because it only means that
 * more records are read again. Segments are not synced. Accepts NULL.
 * While a sync started by lf_spool_sync_start() runs, the spool is freed
 * when it ends, without calling its callback, so the loop must run until
 * then.
 */
void lf_spool_close(struct lf_spool *spool);

/*
 * Appends one record and stores its sequence number in `seq_out`. A
 * payload larger than lf_spool_max_payload() returns LF_ETOOBIG. When the
 * record would take the spool past max_bytes it returns LF_EFULL, or with
 * drop_oldest drops whole oldest segments first, reporting each. A failed
 * write returns LF_ENOSPC, LF_EIO, LF_EFBIG (or another negated errno)
 * after cutting the partial record off, and the next append tries again.
 */
int lf_spool_append(struct lf_spool *spool, const void *payload, size_t len,
                    uint64_t *seq_out);

/* Returns the largest payload one record may carry. */
size_t lf_spool_max_payload(const struct lf_spool *spool);

/*
 * Makes every record appended so far durable: fsyncs the segments written
 * since the last sync and the folder when segments were created or
 * removed, then writes the checkpoint if the acknowledgement floor moved.
 * With LF_SPOOL_FSYNC_NEVER only the checkpoint is written, without fsync.
 * The owner calls it on a period in every mode, because the checkpoint it
 * writes bounds what is read again after a crash.
 * Returns 0, LF_EAGAIN while a sync started by lf_spool_sync_start()
 * runs, or a negated errno. When an fsync failed, the records appended
 * since the last successful sync (sequences from durable_seq on) are cut
 * off the segments and durable_seq does not move. Their sequence numbers
 * are not reused and the cursor does not return them, so the caller
 * appends them again. A failed checkpoint write or segment removal cuts
 * nothing.
 */
int lf_spool_sync(struct lf_spool *spool);

/* Called on the loop thread with the result lf_spool_sync() would return. */
typedef void (*lf_spool_sync_cb)(struct lf_spool *spool, int status,
                                 void *data);

/*
 * Starts the same sync on libuv's thread pool and calls `cb` when it ends.
 * Records appended while it runs are not covered, so durable_seq moves to
 * the next_seq of the start. Appends, reads and acknowledgements go on
 * meanwhile, while lf_spool_sync(), lf_spool_checkpoint() and another
 * lf_spool_sync_start() return LF_EAGAIN. Returns 0, LF_EAGAIN, or the
 * error of uv_queue_work().
 */
int lf_spool_sync_start(struct lf_spool *spool, uv_loop_t *loop,
                        lf_spool_sync_cb cb, void *data);

/*
 * Writes the first unacknowledged sequence number to `checkpoint`: a temp
 * file, fsync, rename, then fsync of the folder. LF_SPOOL_FSYNC_NEVER
 * skips both fsyncs. Returns 0, LF_EAGAIN while a sync started by
 * lf_spool_sync_start() runs, or a negated errno.
 */
int lf_spool_checkpoint(struct lf_spool *spool);

/*
 * Acknowledges record `seq`, in any order. Deletes each segment, other
 * than the one being appended to, once all its records are acknowledged.
 * A segment with records not yet synced is deleted by the next sync.
 * Returns 0, also for a sequence already acknowledged or lost, LF_EINVAL
 * for one never handed out, or the negated errno of a failed unlink.
 */
int lf_spool_ack(struct lf_spool *spool, uint64_t seq);

/*
 * Reads the next record at the cursor, skipping acknowledged ones. Returns
 * 1 with the record in `payload_out` / `len_out` / `seq_out`, 0 when the
 * cursor has reached the last record appended, or a negated errno. The
 * payload is owned by the spool and valid until the next lf_spool_read()
 * or lf_spool_close(). A record found corrupt is skipped, counted and
 * reported. The cursor starts at the oldest unacknowledged record when
 * the spool opens.
 */
int lf_spool_read(struct lf_spool *spool, const void **payload_out,
                  size_t *len_out, uint64_t *seq_out);

/* Moves the cursor back to the oldest unacknowledged record. */
void lf_spool_rewind(struct lf_spool *spool);

void lf_spool_stats(const struct lf_spool *spool,
                    struct lf_spool_stats *stats_out);

#endif
