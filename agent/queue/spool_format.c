/*
 * The spool's byte layout (segment and record headers, parsing and
 * resynchronisation) and the per-segment acknowledgement bitmap. Pure
 * code: no system calls.
 */
#include "agent/queue/crc32c.h"
#include "agent/queue/spool_private.h"
#include "lf/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void spool_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void spool_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

void spool_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

uint16_t spool_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t spool_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint64_t spool_get_u64(const uint8_t *p)
{
    return (uint64_t)spool_get_u32(p) | (uint64_t)spool_get_u32(p + 4) << 32;
}

enum spool_parse spool_parse_record(const uint8_t *buf, size_t avail,
                                    uint64_t min_seq, struct spool_record *rec)
{
    if (avail < SPOOL_REC_HEADER_BYTES) {
        if (memcmp(buf, SPOOL_REC_MAGIC, avail < 4 ? avail : 4) != 0) {
            return SPOOL_PARSE_BAD_HEADER;
        }
        return SPOOL_PARSE_SHORT;
    }
    if (memcmp(buf, SPOOL_REC_MAGIC, 4) != 0 ||
        lf_crc32c(0, buf, 20) != spool_get_u32(buf + 20)) {
        return SPOOL_PARSE_BAD_HEADER;
    }

    rec->len = spool_get_u32(buf + 4);
    rec->seq = spool_get_u64(buf + 8);
    rec->crc = spool_get_u32(buf + 16);
    if (rec->seq < min_seq || rec->len > LF_SPOOL_SEGMENT_BYTES_MAX) {
        return SPOOL_PARSE_BAD_HEADER;
    }
    if (avail - SPOOL_REC_HEADER_BYTES < rec->len) {
        return SPOOL_PARSE_SHORT;
    }
    if (lf_crc32c(0, buf + SPOOL_REC_HEADER_BYTES, rec->len) != rec->crc) {
        return SPOOL_PARSE_BAD_PAYLOAD;
    }
    return SPOOL_PARSE_OK;
}

size_t spool_resync(const uint8_t *buf, size_t len, size_t from,
                    uint64_t min_seq, struct spool_record *rec)
{
    for (size_t off = from; off + SPOOL_REC_HEADER_BYTES <= len; off++) {
        const uint8_t *hit = memchr(buf + off, SPOOL_REC_MAGIC[0], len - off);

        if (hit == NULL) {
            break;
        }
        off = (size_t)(hit - buf);
        if (spool_parse_record(hit, len - off, min_seq, rec) ==
            SPOOL_PARSE_OK) {
            return off;
        }
    }
    return len;
}

void spool_segment_name(uint64_t first_seq, char *name, size_t size)
{
    snprintf(name, size, "%020" PRIu64 SPOOL_SEG_SUFFIX, first_seq);
}

struct spool_segment *spool_segment_new(uint64_t first_seq)
{
    struct spool_segment *segment = lf_calloc(1, sizeof(*segment));

    segment->first_seq = first_seq;
    segment->end_seq = first_seq;
    segment->size = SPOOL_SEG_HEADER_BYTES;
    segment->synced_size = SPOOL_SEG_HEADER_BYTES;
    segment->synced_end_seq = first_seq;
    segment->fd = -1;
    return segment;
}

void spool_segment_free(struct spool_segment *segment)
{
    if (segment != NULL) {
        lf_free(segment->acked);
        lf_free(segment);
    }
}

static void set_bit(struct spool_segment *segment, uint64_t seq)
{
    uint64_t bit = seq - segment->first_seq;

    segment->acked[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

void spool_segment_add(struct spool_segment *segment, uint64_t seq, bool lost)
{
    size_t need = (size_t)((seq + 1 - segment->first_seq + 7) / 8);

    if (need > segment->acked_bytes) {
        size_t cap = segment->acked_bytes > 0 ? segment->acked_bytes : 64;

        while (cap < need) {
            cap *= 2;
        }
        segment->acked = lf_realloc(segment->acked, cap);
        memset(segment->acked + segment->acked_bytes, 0,
               cap - segment->acked_bytes);
        segment->acked_bytes = cap;
    }

    for (uint64_t s = segment->end_seq; s < seq; s++) {
        set_bit(segment, s);
    }
    segment->end_seq = seq + 1;
    if (lost) {
        set_bit(segment, seq);
    } else {
        segment->live++;
    }
}

bool spool_segment_is_acked(const struct spool_segment *segment, uint64_t seq)
{
    uint64_t bit = seq - segment->first_seq;

    return (segment->acked[bit / 8] >> (bit % 8)) & 1;
}

bool spool_segment_set_acked(struct spool_segment *segment, uint64_t seq)
{
    if (spool_segment_is_acked(segment, seq)) {
        return false;
    }
    set_bit(segment, seq);
    segment->live--;
    return true;
}
