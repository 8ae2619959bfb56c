/*
 * State and on-disk format shared by spool.c (appends, syncs,
 * acknowledgements), spool_read.c (the cursor), spool_format.c (the byte
 * layout) and spool_recover.c (open and recovery).
 */
#ifndef LF_AGENT_QUEUE_SPOOL_PRIVATE_H
#define LF_AGENT_QUEUE_SPOOL_PRIVATE_H

#include "agent/queue/spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Segment header, little-endian: magic "LFSG", u16 version, u16 zero,
 * u64 first sequence (equal to the one in the file name), u32 CRC32C of
 * the 16 bytes before it.
 */
#define SPOOL_SEG_MAGIC "LFSG"
#define SPOOL_SEG_VERSION 1
#define SPOOL_SEG_HEADER_BYTES 20

/*
 * Record header, little-endian: magic "LFRC", u32 payload length, u64
 * sequence, u32 CRC32C of the payload, u32 CRC32C of the 20 bytes before
 * it. The payload follows the header. The magic and the header CRC let
 * recovery find the next record after corrupt bytes.
 */
#define SPOOL_REC_MAGIC "LFRC"
#define SPOOL_REC_HEADER_BYTES 24

/*
 * Checkpoint file: magic "LFCK", u16 version, u16 zero, u64 first
 * unacknowledged sequence, u32 CRC32C of the 16 bytes before it.
 */
#define SPOOL_CKPT_MAGIC "LFCK"
#define SPOOL_CKPT_VERSION 1
#define SPOOL_CKPT_BYTES 20
#define SPOOL_CKPT_NAME "checkpoint"
#define SPOOL_CKPT_TMP_NAME "checkpoint.tmp"

#define SPOOL_SEG_SUFFIX ".seg"
#define SPOOL_SET_ASIDE_SUFFIX ".bad"
#define SPOOL_SEQ_DIGITS 20
/* "<20 digits>.seg.bad" and its NUL. */
#define SPOOL_NAME_MAX 32

struct spool_segment {
    uint64_t first_seq;      /* from the file name and header */
    uint64_t end_seq;        /* one past the highest sequence in it */
    uint64_t size;           /* bytes of the header and whole records */
    uint64_t synced_size;    /* bytes made durable by the last sync */
    uint64_t synced_end_seq; /* end_seq at the last sync */
    uint64_t live;           /* records present and not acknowledged */
    uint8_t *acked;          /* bit per sequence from first_seq: set when
                                acknowledged, lost or never written */
    size_t acked_bytes;      /* allocated bytes of `acked` */
    int fd;                  /* open while appended to or not synced */
};

struct lf_spool {
    char *dir;
    int dir_fd;                      /* locked with flock while open */
    struct lf_spool_options options; /* `io` never NULL */
    struct spool_segment **segments; /* by first_seq */
    size_t count;
    size_t cap;
    bool appending;       /* the last segment takes appends */
    bool dir_dirty;       /* a segment was created or removed since the sync */
    uint64_t dir_changes; /* segments created or removed, ever */
    struct spool_sync_job *sync_job; /* the sync on the thread pool */
    bool closing;                    /* lf_spool_close() waits for sync_job */
    uint64_t next_seq;
    uint64_t durable_seq;
    uint64_t ack_floor;
    uint64_t checkpoint_floor; /* ack_floor of the last checkpoint */
    uint64_t bytes;
    uint64_t live;
    struct lf_spool_stats counters; /* only the counter fields are used */

    /* Cursor: a position in the segment starting at cursor_segment. */
    uint64_t cursor_segment;
    uint64_t cursor_offset;
    uint64_t cursor_next_seq; /* lowest sequence the next record may have */
    int cursor_fd;
    uint64_t cursor_fd_segment;
    uint8_t *read_buf;
    size_t read_cap;
};

/* Result of parsing the record at the start of a buffer. */
enum spool_parse {
    SPOOL_PARSE_OK,
    SPOOL_PARSE_SHORT,       /* the buffer ends inside the record */
    SPOOL_PARSE_BAD_HEADER,  /* magic, header CRC or fields invalid */
    SPOOL_PARSE_BAD_PAYLOAD, /* a valid header, the payload CRC differs */
};

struct spool_record {
    uint64_t seq;
    uint32_t len;
    uint32_t crc;
};

/* Little-endian field access. */
void spool_put_u16(uint8_t *p, uint16_t v);
void spool_put_u32(uint8_t *p, uint32_t v);
void spool_put_u64(uint8_t *p, uint64_t v);
uint16_t spool_get_u16(const uint8_t *p);
uint32_t spool_get_u32(const uint8_t *p);
uint64_t spool_get_u64(const uint8_t *p);

/*
 * Parses the record at `buf`, which has `avail` bytes. A sequence below
 * `min_seq` makes the header invalid. Fills `rec` whenever the header is
 * valid. The payload is checked only when `avail` covers it.
 */
enum spool_parse spool_parse_record(const uint8_t *buf, size_t avail,
                                    uint64_t min_seq, struct spool_record *rec);

/*
 * Returns the offset of the first whole valid record at or after `from`
 * in `buf` (header and payload CRC correct, sequence >= min_seq) and
 * fills `rec`, or returns `len` when there is none.
 */
size_t spool_resync(const uint8_t *buf, size_t len, size_t from,
                    uint64_t min_seq, struct spool_record *rec);

void spool_segment_name(uint64_t first_seq, char *name, size_t size);

/* Allocates a segment with no records. lf_calloc aborts on failure. */
struct spool_segment *spool_segment_new(uint64_t first_seq);
void spool_segment_free(struct spool_segment *segment);

/*
 * Extends the segment to `seq`, marking the sequences skipped since
 * end_seq as absent, and adds `seq` as a live record unless `lost`.
 */
void spool_segment_add(struct spool_segment *segment, uint64_t seq, bool lost);

bool spool_segment_is_acked(const struct spool_segment *segment, uint64_t seq);

/* Marks `seq` acknowledged and returns true when it was live before. */
bool spool_segment_set_acked(struct spool_segment *segment, uint64_t seq);

void spool_segments_push(struct lf_spool *spool, struct spool_segment *segment);

/* Returns the index of the first segment with first_seq >= seq. */
size_t spool_lower_bound(const struct lf_spool *spool, uint64_t seq);

/* Moves ack_floor to the lowest sequence still live (or next_seq). */
void spool_advance_floor(struct lf_spool *spool);

void spool_report(struct lf_spool *spool, enum lf_spool_event_kind kind,
                  const char *name, uint64_t first_seq, uint64_t last_seq,
                  uint64_t records, uint64_t bytes);

/* Writes all of `len` bytes at `offset` through the I/O table. */
int spool_write_at(const struct lf_spool_io *io, int fd, const void *data,
                   size_t len, uint64_t offset);

bool spool_is_appending(const struct lf_spool *spool,
                        const struct spool_segment *segment);

/* Removes the segment at index `i` from the folder and the array. */
int spool_remove_segment(struct lf_spool *spool, size_t i);

/* Opens, recovers and returns the spool; defined in spool_recover.c. */
int spool_recover(struct lf_spool *spool);

#endif
