/*
 * Disk spool at run time: appends to the newest segment, syncs,
 * checkpoints, acknowledgements and segment deletion. The cursor is in
 * spool_read.c, opening and recovery in spool_recover.c, the byte layout
 * in spool_format.c.
 */
#include "agent/queue/spool.h"
#include "agent/queue/crc32c.h"
#include "agent/queue/spool_private.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct lf_spool_io default_io = {
    .pwritev = pwritev,
    .fsync = fsync,
    .ftruncate = ftruncate,
};

const struct lf_spool_io *lf_spool_io_default(void)
{
    return &default_io;
}

void spool_report(struct lf_spool *spool, enum lf_spool_event_kind kind,
                  const char *name, uint64_t first_seq, uint64_t last_seq,
                  uint64_t records, uint64_t bytes)
{
    struct lf_spool_event event = {
        .kind = kind,
        .name = name,
        .first_seq = first_seq,
        .last_seq = last_seq,
        .records = records,
        .bytes = bytes,
    };

    if (spool->options.on_event != NULL) {
        spool->options.on_event(spool->options.event_data, &event);
    }
}

int spool_write_at(const struct lf_spool_io *io, int fd, const void *data,
                   size_t len, uint64_t offset)
{
    const uint8_t *p = data;

    while (len > 0) {
        struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = len};
        ssize_t n = io->pwritev(fd, &iov, 1, (off_t)offset);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            /* A write that makes no progress and sets no error is treated
             * as a full disk, the usual cause of a short write. */
            return LF_ENOSPC;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

void spool_segments_push(struct lf_spool *spool, struct spool_segment *segment)
{
    if (spool->count == spool->cap) {
        spool->cap = spool->cap > 0 ? spool->cap * 2 : 16;
        spool->segments =
            lf_realloc(spool->segments, spool->cap * sizeof(*spool->segments));
    }
    spool->segments[spool->count++] = segment;
    spool->bytes += segment->size;
    spool->live += segment->live;
}

size_t spool_lower_bound(const struct lf_spool *spool, uint64_t seq)
{
    size_t lo = 0;
    size_t hi = spool->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (spool->segments[mid]->first_seq < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Returns the segment whose range contains `seq`, or NULL. */
static struct spool_segment *find_segment(const struct lf_spool *spool,
                                          uint64_t seq)
{
    size_t i = spool_lower_bound(spool, seq + 1);
    struct spool_segment *segment;

    if (i == 0) {
        return NULL;
    }
    segment = spool->segments[i - 1];
    return seq < segment->end_seq ? segment : NULL;
}

void spool_advance_floor(struct lf_spool *spool)
{
    uint64_t seq = spool->ack_floor;
    size_t i = spool_lower_bound(spool, seq + 1);

    if (i > 0 && seq < spool->segments[i - 1]->end_seq) {
        i--;
    }
    for (; i < spool->count; i++) {
        struct spool_segment *segment = spool->segments[i];

        if (seq < segment->first_seq) {
            seq = segment->first_seq;
        }
        for (; seq < segment->end_seq; seq++) {
            if (!spool_segment_is_acked(segment, seq)) {
                spool->ack_floor = seq;
                return;
            }
        }
    }
    spool->ack_floor = spool->next_seq;
}

bool spool_is_appending(const struct lf_spool *spool,
                        const struct spool_segment *segment)
{
    return spool->appending && spool->count > 0 &&
           spool->segments[spool->count - 1] == segment;
}

int spool_remove_segment(struct lf_spool *spool, size_t i)
{
    struct spool_segment *segment = spool->segments[i];
    char name[SPOOL_NAME_MAX];

    spool_segment_name(segment->first_seq, name, sizeof(name));
    if (unlinkat(spool->dir_fd, name, 0) != 0 && errno != ENOENT) {
        return -errno;
    }

    if (spool_is_appending(spool, segment)) {
        spool->appending = false;
    }
    if (spool->cursor_fd >= 0 &&
        spool->cursor_fd_segment == segment->first_seq) {
        close(spool->cursor_fd);
        spool->cursor_fd = -1;
    }
    if (segment->fd >= 0) {
        close(segment->fd);
    }
    spool->bytes -= segment->size;
    spool->live -= segment->live;
    spool->dir_dirty = true;
    spool->dir_changes++;
    memmove(&spool->segments[i], &spool->segments[i + 1],
            (spool->count - i - 1) * sizeof(*spool->segments));
    spool->count--;
    spool_segment_free(segment);
    spool_advance_floor(spool);
    return 0;
}

/* Drops the oldest segment with its unacknowledged records. */
static int drop_oldest(struct lf_spool *spool)
{
    struct spool_segment *segment = spool->segments[0];
    char name[SPOOL_NAME_MAX];
    uint64_t first = segment->first_seq;
    uint64_t last = segment->end_seq - 1;
    uint64_t records = segment->live;
    uint64_t bytes = segment->size;
    int rc;

    spool_segment_name(first, name, sizeof(name));
    rc = spool_remove_segment(spool, 0);
    if (rc == 0) {
        spool->counters.records_dropped += records;
        spool_report(spool, LF_SPOOL_EVENT_DROPPED, name, first, last, records,
                     bytes);
    }
    return rc;
}

/* Stops appending to the last segment, which stays open until synced. */
static void seal_segment(struct lf_spool *spool)
{
    struct spool_segment *segment = spool->segments[spool->count - 1];

    spool->appending = false;
    if (segment->fd >= 0 && segment->size == segment->synced_size) {
        close(segment->fd);
        segment->fd = -1;
    }
}

static int create_segment(struct lf_spool *spool)
{
    struct spool_segment *segment = spool_segment_new(spool->next_seq);
    uint8_t header[SPOOL_SEG_HEADER_BYTES];
    char name[SPOOL_NAME_MAX];
    int rc;

    spool_segment_name(segment->first_seq, name, sizeof(name));
    memcpy(header, SPOOL_SEG_MAGIC, 4);
    spool_put_u16(header + 4, SPOOL_SEG_VERSION);
    spool_put_u16(header + 6, 0);
    spool_put_u64(header + 8, segment->first_seq);
    spool_put_u32(header + 16, lf_crc32c(0, header, 16));

    segment->fd = openat(spool->dir_fd, name,
                         O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (segment->fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = spool_write_at(spool->options.io, segment->fd, header, sizeof(header),
                        0);
    if (rc != 0) {
        goto fail;
    }

    spool_segments_push(spool, segment);
    spool->appending = true;
    spool->dir_dirty = true;
    spool->dir_changes++;
    return 0;

fail:
    if (segment->fd >= 0) {
        close(segment->fd);
        unlinkat(spool->dir_fd, name, 0);
    }
    spool_segment_free(segment);
    return rc;
}

size_t lf_spool_max_payload(const struct lf_spool *spool)
{
    return (size_t)(spool->options.segment_bytes - SPOOL_SEG_HEADER_BYTES -
                    SPOOL_REC_HEADER_BYTES);
}

/*
 * Makes room for `need` more bytes within max_bytes, dropping segments
 * when allowed. The segment being appended to is dropped only when
 * `rolling`, because the append goes to a new segment then.
 */
static int make_room(struct lf_spool *spool, uint64_t need, bool rolling)
{
    while (spool->bytes + need > spool->options.max_bytes) {
        int rc;

        if (!spool->options.drop_oldest || spool->count == 0 ||
            (!rolling && spool_is_appending(spool, spool->segments[0]))) {
            return LF_EFULL;
        }
        rc = drop_oldest(spool);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static void put_record_header(uint8_t *header, uint64_t seq,
                              const void *payload, size_t len)
{
    memcpy(header, SPOOL_REC_MAGIC, 4);
    spool_put_u32(header + 4, (uint32_t)len);
    spool_put_u64(header + 8, seq);
    spool_put_u32(header + 16, lf_crc32c(0, payload, len));
    spool_put_u32(header + 20, lf_crc32c(0, header, 20));
}

/* Writes header and payload with one pwritev, finishing short writes. */
static int write_record(struct lf_spool *spool, struct spool_segment *segment,
                        const uint8_t *header, const void *payload, size_t len)
{
    struct iovec iov[2] = {
        {.iov_base = (void *)(uintptr_t)header,
         .iov_len = SPOOL_REC_HEADER_BYTES},
        {.iov_base = (void *)(uintptr_t)payload, .iov_len = len},
    };
    size_t total = SPOOL_REC_HEADER_BYTES + len;
    ssize_t n;

    do {
        n = spool->options.io->pwritev(segment->fd, iov, 2,
                                       (off_t)segment->size);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    if ((size_t)n == total) {
        return 0;
    }

    /* A short write: finish the header, then the payload. */
    if ((size_t)n < SPOOL_REC_HEADER_BYTES) {
        int rc = spool_write_at(spool->options.io, segment->fd, header + n,
                                SPOOL_REC_HEADER_BYTES - (size_t)n,
                                segment->size + (uint64_t)n);
        if (rc != 0) {
            return rc;
        }
        n = SPOOL_REC_HEADER_BYTES;
    }
    return spool_write_at(spool->options.io, segment->fd,
                          (const uint8_t *)payload +
                              ((size_t)n - SPOOL_REC_HEADER_BYTES),
                          total - (size_t)n, segment->size + (uint64_t)n);
}

int lf_spool_append(struct lf_spool *spool, const void *payload, size_t len,
                    uint64_t *seq_out)
{
    uint8_t header[SPOOL_REC_HEADER_BYTES];
    uint64_t record_bytes = SPOOL_REC_HEADER_BYTES + (uint64_t)len;
    struct spool_segment *segment = NULL;
    bool rolling;
    int rc;

    if (len > lf_spool_max_payload(spool)) {
        return LF_ETOOBIG;
    }
    if (spool->appending) {
        segment = spool->segments[spool->count - 1];
    }
    rolling = segment == NULL ||
              segment->size + record_bytes > spool->options.segment_bytes;

    rc = make_room(spool, record_bytes + (rolling ? SPOOL_SEG_HEADER_BYTES : 0),
                   rolling);
    if (rc != 0) {
        return rc;
    }
    if (rolling) {
        if (spool->appending) {
            seal_segment(spool);
        }
        rc = create_segment(spool);
        if (rc != 0) {
            return rc;
        }
        segment = spool->segments[spool->count - 1];
    }

    put_record_header(header, spool->next_seq, payload, len);
    rc = write_record(spool, segment, header, payload, len);
    if (rc != 0) {
        /* Cut the partial record off. Should that fail too, the next
         * record is written over it at the same offset, and recovery
         * cuts a torn tail. */
        spool->options.io->ftruncate(segment->fd, (off_t)segment->size);
        return rc;
    }

    spool_segment_add(segment, spool->next_seq, false);
    segment->size += record_bytes;
    spool->bytes += record_bytes;
    spool->live++;
    *seq_out = spool->next_seq++;
    if (spool->options.fsync == LF_SPOOL_FSYNC_NEVER) {
        segment->synced_size = segment->size;
        segment->synced_end_seq = segment->end_seq;
        spool->durable_seq = spool->next_seq;
    }
    return 0;
}

int lf_spool_ack(struct lf_spool *spool, uint64_t seq)
{
    struct spool_segment *segment;
    size_t i;

    if (seq == 0 || seq >= spool->next_seq) {
        return LF_EINVAL;
    }
    segment = find_segment(spool, seq);
    if (segment == NULL || !spool_segment_set_acked(segment, seq)) {
        return 0;
    }
    spool->live--;
    if (seq == spool->ack_floor) {
        spool_advance_floor(spool);
    }

    /* A segment not fully synced is kept until lf_spool_sync(), whose
     * collect step removes it, so that a failed sync can still cut it. */
    if (segment->live > 0 || spool_is_appending(spool, segment) ||
        segment->size != segment->synced_size) {
        return 0;
    }
    i = spool_lower_bound(spool, segment->first_seq);
    return spool_remove_segment(spool, i);
}

void lf_spool_stats(const struct lf_spool *spool,
                    struct lf_spool_stats *stats_out)
{
    *stats_out = spool->counters;
    stats_out->bytes = spool->bytes;
    stats_out->records = spool->live;
    stats_out->segments = spool->count;
    stats_out->next_seq = spool->next_seq;
    stats_out->durable_seq = spool->durable_seq;
    stats_out->ack_floor = spool->ack_floor;
}

void lf_spool_close(struct lf_spool *spool)
{
    if (spool == NULL) {
        return;
    }
    if (spool->sync_job != NULL) {
        spool->closing = true;
        return;
    }
    if (spool->dir_fd >= 0 && spool->ack_floor != spool->checkpoint_floor) {
        lf_spool_checkpoint(spool);
    }
    for (size_t i = 0; i < spool->count; i++) {
        if (spool->segments[i]->fd >= 0) {
            close(spool->segments[i]->fd);
        }
        spool_segment_free(spool->segments[i]);
    }
    if (spool->cursor_fd >= 0) {
        close(spool->cursor_fd);
    }
    if (spool->dir_fd >= 0) {
        close(spool->dir_fd);
    }
    lf_free(spool->segments);
    lf_free(spool->read_buf);
    lf_free(spool->dir);
    lf_free(spool);
}
