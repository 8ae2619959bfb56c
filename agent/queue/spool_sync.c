/*
 * Syncs and checkpoints of the spool. A sync is a job: a snapshot of what
 * to fsync taken on the owner's thread, the fsyncs and the checkpoint
 * write (which touch only the job and the files), then the results
 * applied on the owner's thread. lf_spool_sync() runs the three steps in
 * a row, lf_spool_sync_start() runs the middle one on libuv's pool.
 */
#include "agent/queue/crc32c.h"
#include "agent/queue/spool.h"
#include "agent/queue/spool_private.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A segment as the job found it. */
struct job_segment {
    uint64_t first_seq;
    uint64_t size;
    uint64_t end_seq;
    int fd; /* -1 when it needs no fsync */
};

struct spool_sync_job {
    uv_work_t work;
    struct lf_spool *spool;
    lf_spool_sync_cb cb;
    void *data;
    const struct lf_spool_io *io;
    bool own_fds;    /* fds are dups owned by the job (pool run) */
    bool durable;    /* false with LF_SPOOL_FSYNC_NEVER: no fsync at all */
    int dir_fd;      /* -1 when the folder needs no fsync */
    int ckpt_dir_fd; /* -1 when the checkpoint did not move */
    struct job_segment *segments;
    size_t count;
    uint64_t next_seq;
    uint64_t floor;
    uint64_t dir_changes;
    int status;      /* of the fsyncs (and of the dups before them) */
    int ckpt_status; /* of the checkpoint write */
};

/*
 * Returns `fd`, or a duplicate of it that the job owns, so that the owner
 * may close a segment while the pool runs the job. A failed dup fails the
 * job, because a skipped fsync would report records durable that are not.
 */
static int job_fd(struct spool_sync_job *job, int fd)
{
    int copy;

    if (!job->own_fds) {
        return fd;
    }
    copy = dup(fd);
    if (copy < 0 && job->status == 0) {
        job->status = -errno;
    }
    return copy;
}

static struct spool_sync_job *job_new(struct lf_spool *spool, bool own_fds)
{
    struct spool_sync_job *job = lf_calloc(1, sizeof(*job));

    job->spool = spool;
    job->io = spool->options.io;
    job->own_fds = own_fds;
    job->durable = spool->options.fsync != LF_SPOOL_FSYNC_NEVER;
    job->next_seq = spool->next_seq;
    job->floor = spool->ack_floor;
    job->dir_changes = spool->dir_changes;
    job->dir_fd = -1;
    job->ckpt_dir_fd = -1;

    job->segments = lf_calloc(spool->count + 1, sizeof(*job->segments));
    for (size_t i = 0; i < spool->count; i++) {
        const struct spool_segment *segment = spool->segments[i];
        struct job_segment *entry = &job->segments[job->count++];

        entry->first_seq = segment->first_seq;
        entry->size = segment->size;
        entry->end_seq = segment->end_seq;
        entry->fd = -1;
        if (job->durable && segment->fd >= 0 &&
            segment->size != segment->synced_size) {
            entry->fd = job_fd(job, segment->fd);
        }
    }
    if (job->durable && spool->dir_dirty) {
        job->dir_fd = job_fd(job, spool->dir_fd);
    }
    if (spool->ack_floor != spool->checkpoint_floor) {
        job->ckpt_dir_fd = job_fd(job, spool->dir_fd);
    }
    return job;
}

static void job_free(struct spool_sync_job *job)
{
    if (job->own_fds) {
        for (size_t i = 0; i < job->count; i++) {
            if (job->segments[i].fd >= 0) {
                close(job->segments[i].fd);
            }
        }
        if (job->dir_fd >= 0) {
            close(job->dir_fd);
        }
        if (job->ckpt_dir_fd >= 0) {
            close(job->ckpt_dir_fd);
        }
    }
    lf_free(job->segments);
    lf_free(job);
}

/*
 * Writes `floor` to the checkpoint file of the folder `dir_fd`: a temp
 * file, fsync, rename, fsync of the folder, without the fsyncs when not
 * `durable`. Touches no spool state, so it runs on any thread.
 */
static int write_checkpoint(const struct lf_spool_io *io, int dir_fd,
                            bool durable, uint64_t floor)
{
    uint8_t buf[SPOOL_CKPT_BYTES];
    int fd = -1;
    int rc;

    memcpy(buf, SPOOL_CKPT_MAGIC, 4);
    spool_put_u16(buf + 4, SPOOL_CKPT_VERSION);
    spool_put_u16(buf + 6, 0);
    spool_put_u64(buf + 8, floor);
    spool_put_u32(buf + 16, lf_crc32c(0, buf, 16));

    fd = openat(dir_fd, SPOOL_CKPT_TMP_NAME,
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = spool_write_at(io, fd, buf, sizeof(buf), 0);
    if (rc == 0 && durable && io->fsync(fd) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        goto fail;
    }
    close(fd);
    fd = -1;

    if (renameat(dir_fd, SPOOL_CKPT_TMP_NAME, dir_fd, SPOOL_CKPT_NAME) != 0) {
        rc = -errno;
        goto fail;
    }
    if (durable && io->fsync(dir_fd) != 0) {
        rc = -errno;
        goto fail;
    }
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    unlinkat(dir_fd, SPOOL_CKPT_TMP_NAME, 0);
    return rc;
}

/* Runs the fsyncs, then the checkpoint write. Safe on any thread. */
static void job_run(struct spool_sync_job *job)
{
    for (size_t i = 0; i < job->count && job->status == 0; i++) {
        int fd = job->segments[i].fd;

        if (fd >= 0 && job->io->fsync(fd) != 0) {
            job->status = -errno;
        }
    }
    if (job->status == 0 && job->dir_fd >= 0 &&
        job->io->fsync(job->dir_fd) != 0) {
        job->status = -errno;
    }
    if (job->status == 0 && job->ckpt_dir_fd >= 0) {
        job->ckpt_status = write_checkpoint(job->io, job->ckpt_dir_fd,
                                            job->durable, job->floor);
    }
}

/*
 * Cuts every segment back to its last synced size after a failed fsync.
 * Linux may mark the pages of a failed writeback clean and report the
 * error only once (PostgreSQL wiki, "Fsync Errors"), so the records
 * written since the last sync cannot be trusted to reach the disk. Their
 * sequence numbers become lost ones and the caller appends the payloads again.
 */
static void discard_unsynced(struct lf_spool *spool)
{
    for (size_t i = 0; i < spool->count; i++) {
        struct spool_segment *segment = spool->segments[i];

        if (segment->size == segment->synced_size || segment->fd < 0) {
            continue;
        }
        for (uint64_t s = segment->synced_end_seq; s < segment->end_seq; s++) {
            if (spool_segment_set_acked(segment, s)) {
                spool->live--;
            }
        }
        spool->options.io->ftruncate(segment->fd, (off_t)segment->synced_size);
        spool->bytes -= segment->size - segment->synced_size;
        segment->size = segment->synced_size;
        if (spool->cursor_segment == segment->first_seq &&
            spool->cursor_offset > segment->size) {
            spool->cursor_offset = segment->size;
        }
    }
    spool_advance_floor(spool);
}

/* Removes sealed segments with no live record and closes the file of
 * every sealed segment that is synced. */
static int collect_segments(struct lf_spool *spool)
{
    size_t i = 0;

    while (i < spool->count) {
        struct spool_segment *segment = spool->segments[i];
        int rc;

        if (spool_is_appending(spool, segment)) {
            break;
        }
        if (segment->live == 0) {
            rc = spool_remove_segment(spool, i);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if (segment->fd >= 0 && segment->size == segment->synced_size) {
            close(segment->fd);
            segment->fd = -1;
        }
        i++;
    }
    return 0;
}

/* Marks what the job made durable. Segments removed since the snapshot
 * are skipped, and those created since stay unsynced. */
static void apply_synced(struct lf_spool *spool,
                         const struct spool_sync_job *job)
{
    size_t k = 0;

    for (size_t i = 0; i < spool->count; i++) {
        struct spool_segment *segment = spool->segments[i];

        while (k < job->count &&
               job->segments[k].first_seq < segment->first_seq) {
            k++;
        }
        if (k == job->count) {
            break;
        }
        if (job->segments[k].first_seq == segment->first_seq) {
            segment->synced_size = job->segments[k].size;
            segment->synced_end_seq = job->segments[k].end_seq;
        }
    }
    if (job->durable && job->dir_changes == spool->dir_changes) {
        spool->dir_dirty = false;
    }
    if (job->next_seq > spool->durable_seq) {
        spool->durable_seq = job->next_seq;
    }
}

/*
 * Applies the job's result on the owner's thread and returns its status.
 * A failed checkpoint write cuts nothing, because the records are durable
 * and only more of them would be read again after a crash.
 */
static int job_finish(struct lf_spool *spool, struct spool_sync_job *job)
{
    int rc = job->status;

    if (rc != 0) {
        discard_unsynced(spool);
        collect_segments(spool);
        return rc;
    }
    apply_synced(spool, job);
    if (job->ckpt_dir_fd >= 0 && job->ckpt_status == 0) {
        spool->checkpoint_floor = job->floor;
    }
    rc = collect_segments(spool);
    return rc != 0 ? rc : job->ckpt_status;
}

int lf_spool_sync(struct lf_spool *spool)
{
    struct spool_sync_job *job;
    int rc;

    if (spool->sync_job != NULL) {
        return LF_EAGAIN;
    }
    job = job_new(spool, false);
    job_run(job);
    rc = job_finish(spool, job);
    job_free(job);
    return rc;
}

static void work_run(uv_work_t *work)
{
    job_run(work->data);
}

static void work_done(uv_work_t *work, int status)
{
    struct spool_sync_job *job = work->data;
    struct lf_spool *spool = job->spool;
    int rc;

    (void)status;
    spool->sync_job = NULL;
    rc = job_finish(spool, job);
    if (spool->closing) {
        lf_spool_close(spool);
    } else if (job->cb != NULL) {
        job->cb(spool, rc, job->data);
    }
    job_free(job);
}

int lf_spool_sync_start(struct lf_spool *spool, uv_loop_t *loop,
                        lf_spool_sync_cb cb, void *data)
{
    struct spool_sync_job *job;
    int rc;

    if (spool->sync_job != NULL) {
        return LF_EAGAIN;
    }
    job = job_new(spool, true);
    job->cb = cb;
    job->data = data;
    job->work.data = job;
    rc = uv_queue_work(loop, &job->work, work_run, work_done);
    if (rc != 0) {
        job_free(job);
        return rc;
    }
    spool->sync_job = job;
    return 0;
}

int lf_spool_checkpoint(struct lf_spool *spool)
{
    int rc;

    if (spool->sync_job != NULL) {
        return LF_EAGAIN;
    }
    rc = write_checkpoint(spool->options.io, spool->dir_fd,
                          spool->options.fsync != LF_SPOOL_FSYNC_NEVER,
                          spool->ack_floor);
    if (rc == 0) {
        spool->checkpoint_floor = spool->ack_floor;
    }
    return rc;
}
