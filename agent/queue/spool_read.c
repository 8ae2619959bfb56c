/*
 * The spool's read cursor: replays records in sequence order across
 * segments, skipping acknowledged ones, and checks each record's CRCs
 * again, so corruption that appeared after open is skipped and counted.
 */
#include "agent/queue/spool.h"
#include "agent/queue/spool_private.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void lf_spool_rewind(struct lf_spool *spool)
{
    spool->cursor_segment =
        spool->count > 0 ? spool->segments[0]->first_seq : spool->next_seq;
    spool->cursor_offset = SPOOL_SEG_HEADER_BYTES;
    spool->cursor_next_seq = spool->cursor_segment;
}

static int read_at(int fd, void *buf, size_t len, uint64_t offset)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)offset);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            return LF_ECORRUPT;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static uint8_t *reserve_read_buf(struct lf_spool *spool, size_t len)
{
    if (len > spool->read_cap) {
        size_t cap = spool->read_cap > 0 ? spool->read_cap : 4096;

        while (cap < len) {
            cap *= 2;
        }
        spool->read_buf = lf_realloc(spool->read_buf, cap);
        spool->read_cap = cap;
    }
    return spool->read_buf;
}

/*
 * Points the cursor at the segment that contains it, or at the next one
 * when its segment was removed, and opens that file. Returns the segment, or
 * NULL with *rc_out 0 when the cursor is past the last record.
 */
static struct spool_segment *cursor_segment(struct lf_spool *spool, int *rc_out)
{
    for (;;) {
        size_t i = spool_lower_bound(spool, spool->cursor_segment);
        struct spool_segment *segment;
        char name[SPOOL_NAME_MAX];

        *rc_out = 0;
        if (i == spool->count) {
            return NULL;
        }
        segment = spool->segments[i];
        if (segment->first_seq != spool->cursor_segment) {
            spool->cursor_segment = segment->first_seq;
            spool->cursor_offset = SPOOL_SEG_HEADER_BYTES;
            spool->cursor_next_seq = segment->first_seq;
        }
        if (spool->cursor_offset >= segment->size) {
            if (i + 1 == spool->count) {
                return NULL;
            }
            spool->cursor_segment = spool->segments[i + 1]->first_seq;
            spool->cursor_offset = SPOOL_SEG_HEADER_BYTES;
            spool->cursor_next_seq = spool->cursor_segment;
            continue;
        }
        if (spool->cursor_fd >= 0 &&
            spool->cursor_fd_segment == segment->first_seq) {
            return segment;
        }

        if (spool->cursor_fd >= 0) {
            close(spool->cursor_fd);
        }
        spool_segment_name(segment->first_seq, name, sizeof(name));
        spool->cursor_fd = openat(spool->dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (spool->cursor_fd < 0) {
            *rc_out = -errno;
            return NULL;
        }
        spool->cursor_fd_segment = segment->first_seq;
        return segment;
    }
}

/*
 * Skips corrupt bytes at the cursor. Corruption found here either was
 * found at open already or appeared on disk since. Reads the rest of the
 * segment, finds the next valid record and marks the sequences in between
 * as lost.
 */
static int skip_corrupt(struct lf_spool *spool, struct spool_segment *segment)
{
    size_t rest = (size_t)(segment->size - spool->cursor_offset);
    uint8_t *buf = reserve_read_buf(spool, rest);
    struct spool_record rec;
    uint64_t end_seq;
    uint64_t lost = 0;
    size_t next;
    char name[SPOOL_NAME_MAX];
    int rc;

    /* A file shorter than the spool wrote it has lost its tail. */
    rc = read_at(spool->cursor_fd, buf, rest, spool->cursor_offset);
    if (rc != 0 && rc != LF_ECORRUPT) {
        return rc;
    }
    next = rc == 0 ? spool_resync(buf, rest, 1, spool->cursor_next_seq, &rec)
                   : rest;
    end_seq = next < rest ? rec.seq : segment->end_seq;

    for (uint64_t s = spool->cursor_next_seq; s < end_seq; s++) {
        if (spool_segment_set_acked(segment, s)) {
            spool->live--;
            lost++;
        }
    }

    /* Corruption found at open was counted then. Its sequences are
     * already marked, so the cursor only steps over it. */
    if (lost > 0) {
        spool->counters.records_corrupt += lost;
        spool->counters.corrupt_bytes += next;
        spool_segment_name(segment->first_seq, name, sizeof(name));
        spool_report(spool, LF_SPOOL_EVENT_CORRUPT, name,
                     spool->cursor_next_seq, end_seq - 1, lost, next);
    }
    spool->cursor_offset += next;
    spool->cursor_next_seq = end_seq;
    spool_advance_floor(spool);
    return 0;
}

/*
 * Reads and checks the record header at the cursor. Returns 0, LF_ECORRUPT
 * when the header is invalid or its record runs past the segment's end,
 * or the negated errno of a failed read.
 */
static int read_header(struct lf_spool *spool,
                       const struct spool_segment *segment,
                       struct spool_record *rec)
{
    uint8_t *buf = reserve_read_buf(spool, SPOOL_REC_HEADER_BYTES);
    uint64_t avail = segment->size - spool->cursor_offset;
    enum spool_parse parsed;
    int rc;

    rc = read_at(spool->cursor_fd, buf, SPOOL_REC_HEADER_BYTES,
                 spool->cursor_offset);
    if (rc != 0) {
        return rc;
    }
    parsed = spool_parse_record(buf, SPOOL_REC_HEADER_BYTES,
                                spool->cursor_next_seq, rec);
    if (parsed == SPOOL_PARSE_BAD_HEADER ||
        SPOOL_REC_HEADER_BYTES + (uint64_t)rec->len > avail) {
        return LF_ECORRUPT;
    }
    return 0;
}

/* Reads the whole record described by `rec` into read_buf and checks
 * its payload. Returns 0, LF_ECORRUPT or a negated errno. */
static int read_record(struct lf_spool *spool, struct spool_record *rec)
{
    size_t len = SPOOL_REC_HEADER_BYTES + (size_t)rec->len;
    uint8_t *buf = reserve_read_buf(spool, len);
    int rc;

    rc = read_at(spool->cursor_fd, buf, len, spool->cursor_offset);
    if (rc != 0) {
        return rc;
    }
    if (spool_parse_record(buf, len, spool->cursor_next_seq, rec) !=
        SPOOL_PARSE_OK) {
        return LF_ECORRUPT;
    }
    return 0;
}

int lf_spool_read(struct lf_spool *spool, const void **payload_out,
                  size_t *len_out, uint64_t *seq_out)
{
    for (;;) {
        struct spool_record rec;
        struct spool_segment *segment;
        int rc;

        segment = cursor_segment(spool, &rc);
        if (segment == NULL) {
            return rc;
        }

        rc = read_header(spool, segment, &rec);
        if (rc == 0 && spool_segment_is_acked(segment, rec.seq)) {
            spool->cursor_offset += SPOOL_REC_HEADER_BYTES + rec.len;
            spool->cursor_next_seq = rec.seq + 1;
            continue;
        }
        if (rc == 0) {
            rc = read_record(spool, &rec);
        }
        if (rc == LF_ECORRUPT) {
            rc = skip_corrupt(spool, segment);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        if (rc != 0) {
            return rc;
        }

        spool->cursor_offset += SPOOL_REC_HEADER_BYTES + rec.len;
        spool->cursor_next_seq = rec.seq + 1;
        *payload_out = spool->read_buf + SPOOL_REC_HEADER_BYTES;
        *len_out = rec.len;
        *seq_out = rec.seq;
        return 1;
    }
}
