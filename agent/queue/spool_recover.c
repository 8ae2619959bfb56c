/*
 * Opening a spool: options, the folder and its lock, the checkpoint, and
 * the recovery scan of every segment (torn tails cut, corrupt records
 * skipped, unreadable segments set aside). A spool always opens when its
 * folder is usable, because damage is counted and reported, never fatal.
 */
#include "agent/queue/crc32c.h"
#include "agent/queue/spool_private.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_options(const struct lf_spool_options *in,
                         struct lf_spool_options *out)
{
    *out = *in;
    if (out->segment_bytes == 0) {
        out->segment_bytes = LF_SPOOL_SEGMENT_BYTES_DEFAULT;
    }
    if (out->max_bytes == 0) {
        out->max_bytes = LF_SPOOL_MAX_BYTES_DEFAULT;
    }
    if (out->io == NULL) {
        out->io = lf_spool_io_default();
    }
    if (out->segment_bytes < LF_SPOOL_SEGMENT_BYTES_MIN ||
        out->segment_bytes > LF_SPOOL_SEGMENT_BYTES_MAX ||
        out->max_bytes / 2 < out->segment_bytes) {
        return LF_EINVAL;
    }
    if (out->fsync != LF_SPOOL_FSYNC_BATCH &&
        out->fsync != LF_SPOOL_FSYNC_INTERVAL &&
        out->fsync != LF_SPOOL_FSYNC_NEVER) {
        return LF_EINVAL;
    }
    return 0;
}

/* Returns the sequence in the checkpoint, or 0 when it is missing or
 * invalid (then every record on disk is read again). */
static uint64_t read_checkpoint(int dir_fd)
{
    uint8_t buf[SPOOL_CKPT_BYTES + 1];
    int fd = openat(dir_fd, SPOOL_CKPT_NAME, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return 0;
    }
    n = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    if (n != SPOOL_CKPT_BYTES || memcmp(buf, SPOOL_CKPT_MAGIC, 4) != 0 ||
        spool_get_u16(buf + 4) != SPOOL_CKPT_VERSION ||
        lf_crc32c(0, buf, 16) != spool_get_u32(buf + 16)) {
        return 0;
    }
    return spool_get_u64(buf + 8);
}

/* Parses a name "<20 digits>.seg" and returns false for any other. */
static bool parse_segment_name(const char *name, uint64_t *seq_out)
{
    uint64_t seq = 0;

    if (strlen(name) != SPOOL_SEQ_DIGITS + LF_STRLEN(SPOOL_SEG_SUFFIX) ||
        strcmp(name + SPOOL_SEQ_DIGITS, SPOOL_SEG_SUFFIX) != 0) {
        return false;
    }
    for (int i = 0; i < SPOOL_SEQ_DIGITS; i++) {
        unsigned digit = (unsigned)(name[i] - '0');

        if (digit > 9 || seq > (UINT64_MAX - digit) / 10) {
            return false;
        }
        seq = seq * 10 + digit;
    }
    *seq_out = seq;
    return seq > 0;
}

static int compare_seq(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Lists the first sequences of the segment files, sorted. */
static int list_segments(int dir_fd, uint64_t **seqs_out, size_t *count_out)
{
    int fd = dup(dir_fd);
    DIR *dir;
    struct dirent *entry;
    uint64_t *seqs = NULL;
    size_t count = 0;
    size_t cap = 0;

    if (fd < 0) {
        return -errno;
    }
    dir = fdopendir(fd);
    if (dir == NULL) {
        int rc = -errno;

        close(fd);
        return rc;
    }
    rewinddir(dir);
    while ((entry = readdir(dir)) != NULL) {
        uint64_t seq;

        if (!parse_segment_name(entry->d_name, &seq)) {
            continue;
        }
        if (count == cap) {
            cap = cap > 0 ? cap * 2 : 16;
            seqs = lf_realloc(seqs, cap * sizeof(*seqs));
        }
        seqs[count++] = seq;
    }
    closedir(dir);

    if (count > 0) {
        qsort(seqs, count, sizeof(*seqs), compare_seq);
    }
    *seqs_out = seqs;
    *count_out = count;
    return 0;
}

/*
 * Renames a segment that cannot be read to <name>.bad. When the rename
 * fails the file stays and is skipped again at the next open, so the spool
 * still opens.
 */
static void set_aside(struct lf_spool *spool, const char *name, uint64_t size)
{
    char bad[SPOOL_NAME_MAX];

    memcpy(bad, name, strlen(name) + 1);
    memcpy(bad + strlen(name), SPOOL_SET_ASIDE_SUFFIX,
           sizeof(SPOOL_SET_ASIDE_SUFFIX));
    if (renameat(spool->dir_fd, name, spool->dir_fd, bad) == 0) {
        spool->dir_dirty = true;
    }
    spool->counters.segments_set_aside++;
    spool_report(spool, LF_SPOOL_EVENT_SET_ASIDE, name, 0, 0, 0, size);
}

static bool header_valid(const uint8_t *buf, size_t size, uint64_t seq)
{
    return size >= SPOOL_SEG_HEADER_BYTES &&
           memcmp(buf, SPOOL_SEG_MAGIC, 4) == 0 &&
           spool_get_u16(buf + 4) == SPOOL_SEG_VERSION &&
           spool_get_u64(buf + 8) == seq &&
           lf_crc32c(0, buf, 16) == spool_get_u32(buf + 16);
}

/*
 * Scans the records of a segment read whole into `buf` and returns the
 * length of its valid part. A record with a valid header but a wrong
 * payload CRC, or bytes without a valid header followed by a valid record,
 * are skipped and counted. Whatever follows the last valid record is a
 * torn tail: a short header, a short payload, or a bad payload at the end.
 */
static size_t scan_records(struct lf_spool *spool, const char *name,
                           struct spool_segment *segment, const uint8_t *buf,
                           size_t size)
{
    size_t off = SPOOL_SEG_HEADER_BYTES;

    while (off < size) {
        struct spool_record rec;
        enum spool_parse parsed =
            spool_parse_record(buf + off, size - off, segment->end_seq, &rec);
        size_t next;
        uint64_t lost;

        if (parsed == SPOOL_PARSE_OK) {
            spool_segment_add(segment, rec.seq, false);
            off += SPOOL_REC_HEADER_BYTES + rec.len;
            continue;
        }
        if (parsed == SPOOL_PARSE_SHORT) {
            break;
        }
        if (parsed == SPOOL_PARSE_BAD_PAYLOAD &&
            off + SPOOL_REC_HEADER_BYTES + rec.len < size) {
            spool_segment_add(segment, rec.seq, true);
            spool->counters.records_corrupt++;
            spool->counters.corrupt_bytes += SPOOL_REC_HEADER_BYTES + rec.len;
            spool_report(spool, LF_SPOOL_EVENT_CORRUPT, name, rec.seq, rec.seq,
                         1, SPOOL_REC_HEADER_BYTES + rec.len);
            off += SPOOL_REC_HEADER_BYTES + rec.len;
            continue;
        }

        next = spool_resync(buf, size, off + 1, segment->end_seq, &rec);
        if (next == size) {
            break;
        }
        lost = rec.seq - segment->end_seq;
        spool->counters.records_corrupt += lost;
        spool->counters.corrupt_bytes += next - off;
        spool_report(spool, LF_SPOOL_EVENT_CORRUPT, name, segment->end_seq,
                     rec.seq - 1, lost, next - off);
        off = next;
    }
    return off;
}

static int read_whole(int fd, uint8_t *buf, size_t size)
{
    size_t done = 0;

    while (done < size) {
        ssize_t n = pread(fd, buf + done, size - done, (off_t)done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return done == size ? 0 : LF_ECORRUPT;
}

/*
 * Cuts a torn tail off and makes the cut durable. Should that fail, the
 * tail stays on disk past the segment's size in memory. Nothing reads or
 * writes there, because recovered segments take no appends, and the next
 * open cuts it again.
 */
static void cut_tail(struct lf_spool *spool, const char *name, int fd,
                     uint64_t valid, uint64_t size)
{
    if (spool->options.io->ftruncate(fd, (off_t)valid) == 0) {
        spool->options.io->fsync(fd);
    }
    spool->counters.bytes_truncated += size - valid;
    spool_report(spool, LF_SPOOL_EVENT_TRUNCATED, name, 0, 0, 0, size - valid);
}

/*
 * Recovers one segment file: adds it to the spool with its torn tail
 * cut, or sets it aside.
 * NOTE: the whole segment is read into memory, so opening needs a buffer
 * as large as the largest segment (segment_bytes of the run that wrote
 * it, up to LF_SPOOL_SEGMENT_BYTES_MAX).
 */
static int recover_segment(struct lf_spool *spool, uint64_t first_seq)
{
    char name[SPOOL_NAME_MAX];
    struct spool_segment *segment = NULL;
    uint8_t *buf = NULL;
    struct stat st;
    size_t valid;
    int fd;
    int rc = 0;

    spool_segment_name(first_seq, name, sizeof(name));
    fd = openat(spool->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (st.st_size < SPOOL_SEG_HEADER_BYTES ||
        (uint64_t)st.st_size > LF_SPOOL_SEGMENT_BYTES_MAX) {
        set_aside(spool, name, (uint64_t)st.st_size);
        goto out;
    }

    buf = lf_malloc((size_t)st.st_size);
    rc = read_whole(fd, buf, (size_t)st.st_size);
    if (rc != 0 && rc != LF_EIO && rc != LF_ECORRUPT) {
        goto out;
    }
    if (rc != 0 || !header_valid(buf, (size_t)st.st_size, first_seq)) {
        set_aside(spool, name, (uint64_t)st.st_size);
        rc = 0;
        goto out;
    }
    /*
     * Records written before a process crash may not have been synced,
     * and the owner moves file offsets past the records it finds (see
     * lf_queue_scan_spool()), so they must be durable first.
     */
    if (spool->options.fsync != LF_SPOOL_FSYNC_NEVER &&
        spool->options.io->fsync(fd) != 0) {
        rc = -errno;
        goto out;
    }

    segment = spool_segment_new(first_seq);
    valid = scan_records(spool, name, segment, buf, (size_t)st.st_size);
    if (valid < (size_t)st.st_size) {
        cut_tail(spool, name, fd, valid, (uint64_t)st.st_size);
    }
    segment->size = valid;
    segment->synced_size = valid;
    segment->synced_end_seq = segment->end_seq;
    spool_segments_push(spool, segment);
    segment = NULL;

out:
    if (fd >= 0) {
        close(fd);
    }
    spool_segment_free(segment);
    lf_free(buf);
    return rc;
}

/* Marks the sequences below the checkpoint as acknowledged and removes
 * segments left with nothing to read. */
static int apply_checkpoint(struct lf_spool *spool, uint64_t floor)
{
    size_t i = 0;

    while (i < spool->count) {
        struct spool_segment *segment = spool->segments[i];
        char name[SPOOL_NAME_MAX];

        for (uint64_t s = segment->first_seq; s < segment->end_seq && s < floor;
             s++) {
            if (spool_segment_set_acked(segment, s)) {
                spool->live--;
            }
        }
        if (segment->live > 0) {
            i++;
            continue;
        }

        spool_segment_name(segment->first_seq, name, sizeof(name));
        if (unlinkat(spool->dir_fd, name, 0) != 0) {
            return -errno;
        }
        spool->bytes -= segment->size;
        spool->dir_dirty = true;
        memmove(&spool->segments[i], &spool->segments[i + 1],
                (spool->count - i - 1) * sizeof(*spool->segments));
        spool->count--;
        spool_segment_free(segment);
    }
    return 0;
}

int spool_recover(struct lf_spool *spool)
{
    uint64_t *seqs = NULL;
    size_t count = 0;
    uint64_t floor = read_checkpoint(spool->dir_fd);
    int rc;

    unlinkat(spool->dir_fd, SPOOL_CKPT_TMP_NAME, 0);
    rc = list_segments(spool->dir_fd, &seqs, &count);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = recover_segment(spool, seqs[i]);
    }
    lf_free(seqs);
    if (rc != 0) {
        return rc;
    }

    spool->next_seq = floor > 1 ? floor : 1;
    if (spool->count > 0) {
        uint64_t end = spool->segments[spool->count - 1]->end_seq;

        spool->next_seq = end > spool->next_seq ? end : spool->next_seq;
    }
    rc = apply_checkpoint(spool, floor);
    if (rc != 0) {
        return rc;
    }

    spool->durable_seq = spool->next_seq;
    spool->checkpoint_floor = floor;
    spool->ack_floor =
        spool->count > 0 ? spool->segments[0]->first_seq : spool->next_seq;
    spool_advance_floor(spool);
    if (spool->dir_dirty && spool->options.io->fsync(spool->dir_fd) != 0) {
        return -errno;
    }
    spool->dir_dirty = false;
    return 0;
}

int lf_spool_open(const char *dir, const struct lf_spool_options *options,
                  struct lf_spool **spool_out)
{
    struct lf_spool *spool = lf_calloc(1, sizeof(*spool));
    int rc;

    spool->dir_fd = -1;
    spool->cursor_fd = -1;
    rc = check_options(options, &spool->options);
    if (rc != 0) {
        goto fail;
    }
    spool->dir = lf_strdup(dir);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        rc = -errno;
        goto fail;
    }
    spool->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (spool->dir_fd < 0) {
        rc = -errno;
        goto fail;
    }
    if (flock(spool->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? LF_EAGAIN : -errno;
        goto fail;
    }

    rc = spool_recover(spool);
    if (rc != 0) {
        goto fail;
    }
    lf_spool_rewind(spool);
    *spool_out = spool;
    return 0;

fail:
    if (spool->dir_fd >= 0) {
        close(spool->dir_fd);
        spool->dir_fd = -1;
    }
    lf_spool_close(spool);
    return rc;
}
