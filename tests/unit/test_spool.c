/*
 * Disk spool: appends, roll-over, bounds, acknowledgements, checkpoints,
 * recovery from torn and corrupt segments, injected write and fsync
 * errors, a real EFBIG from RLIMIT_FSIZE, and a process killed with
 * SIGKILL in the middle of appends.
 */
#include "agent/queue/spool.h"
#include "lf/error.h"
#include "lf/mem.h"
#include "lf_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEG_HEADER 20
#define REC_HEADER 24

/* The spool folder of the running test, removed by cleanup_dir(). */
static char test_dir[64];

static void make_dir(void)
{
    snprintf(test_dir, sizeof(test_dir), "/tmp/lf-test_spool.XXXXXX");
    if (mkdtemp(test_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static void cleanup_dir(void)
{
    DIR *dir = opendir(test_dir);
    struct dirent *entry;
    char path[384];

    if (dir == NULL) {
        return;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", test_dir, entry->d_name);
        unlink(path);
    }
    closedir(dir);
    rmdir(test_dir);
}

static void segment_path(uint64_t first_seq, char *path, size_t size)
{
    snprintf(path, size, "%s/%020" PRIu64 ".seg", test_dir, first_seq);
}

static bool file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Payload of record `i`: "record-<i>" padded with letters to `len`. */
static size_t make_payload(char *buf, size_t len, uint64_t i)
{
    int n = snprintf(buf, len, "record-%" PRIu64 "-", i);

    for (size_t k = (size_t)n; k < len; k++) {
        buf[k] = (char)('a' + (k + i) % 26);
    }
    return len;
}

static bool payload_matches(const void *data, size_t len, uint64_t i)
{
    char expected[4096];

    if (len > sizeof(expected)) {
        return false;
    }
    make_payload(expected, len, i);
    return memcmp(expected, data, len) == 0;
}

static struct lf_spool_options small_options(void)
{
    struct lf_spool_options options = {
        .segment_bytes = 4096,
        .max_bytes = 1024 * 1024,
        .fsync = LF_SPOOL_FSYNC_BATCH,
    };
    return options;
}

static struct lf_spool *open_spool(const struct lf_spool_options *options)
{
    struct lf_spool *spool = NULL;
    int rc = lf_spool_open(test_dir, options, &spool);

    LF_CHECK_INT_EQ(rc, 0);
    return spool;
}

static void append_n(struct lf_spool *spool, uint64_t count, size_t len)
{
    char buf[4096];

    for (uint64_t i = 0; i < count; i++) {
        struct lf_spool_stats stats;
        uint64_t seq = 0;
        int rc;

        lf_spool_stats(spool, &stats);
        make_payload(buf, len, stats.next_seq);
        rc = lf_spool_append(spool, buf, len, &seq);
        LF_CHECK_INT_EQ(rc, 0);
        LF_CHECK_INT_EQ(seq, stats.next_seq);
    }
}

/* Reads every record left and stores the sequences; checks payloads. */
static size_t read_all(struct lf_spool *spool, uint64_t *seqs, size_t max)
{
    size_t count = 0;
    const void *payload;
    size_t len;
    uint64_t seq;
    int rc;

    while ((rc = lf_spool_read(spool, &payload, &len, &seq)) == 1) {
        if (!payload_matches(payload, len, seq)) {
            LF_FAIL_AT("payload of record %" PRIu64 " differs", seq);
        }
        if (count < max) {
            seqs[count] = seq;
        }
        count++;
    }
    LF_CHECK_INT_EQ(rc, 0);
    return count;
}

/* Checks that the records read are exactly `expected`, in order. */
static void check_read(struct lf_spool *spool, const uint64_t *expected,
                       size_t count)
{
    uint64_t seqs[512];
    size_t n = read_all(spool, seqs, LF_ARRAY_SIZE(seqs));

    LF_CHECK_INT_EQ(n, count);
    for (size_t i = 0; i < n && i < count; i++) {
        if (seqs[i] != expected[i]) {
            LF_FAIL_AT("record %zu has sequence %" PRIu64 ", expected "
                       "%" PRIu64,
                       i, seqs[i], expected[i]);
        }
    }
}

static void check_read_range(struct lf_spool *spool, uint64_t first,
                             uint64_t last)
{
    uint64_t expected[512];
    size_t count = 0;

    for (uint64_t s = first; s <= last && count < 512; s++) {
        expected[count++] = s;
    }
    check_read(spool, expected, count);
}

static void test_spool_append_read_roundtrip(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 20, 100);
    check_read_range(spool, 1, 20);

    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records, 20);
    LF_CHECK_INT_EQ(stats.segments, 1);
    LF_CHECK_INT_EQ(stats.bytes, SEG_HEADER + 20 * (REC_HEADER + 100));
    LF_CHECK_INT_EQ(stats.next_seq, 21);
    LF_CHECK_INT_EQ(stats.ack_floor, 1);

    lf_spool_rewind(spool);
    check_read_range(spool, 1, 20);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_cursor_follows_appends(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 3, 50);
    check_read_range(spool, 1, 3);
    append_n(spool, 100, 200);
    check_read_range(spool, 4, 103);
    check_read_range(spool, 1, 0);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_segments_roll_over(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];

    make_dir();
    spool = open_spool(&options);
    /* Records of 1024 bytes (1000-byte payloads): 20 + 3 * 1024 = 3092
     * fits in 4096 and a fourth does not, so each segment takes 3. */
    append_n(spool, 10, 1000);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.segments, 4);
    segment_path(1, path, sizeof(path));
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER + 3 * (REC_HEADER + 1000));
    segment_path(4, path, sizeof(path));
    LF_CHECK(file_exists(path));
    segment_path(7, path, sizeof(path));
    LF_CHECK(file_exists(path));
    segment_path(10, path, sizeof(path));
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER + REC_HEADER + 1000);
    check_read_range(spool, 1, 10);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_payload_too_big(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    char buf[4096] = {0};
    uint64_t seq = 0;

    make_dir();
    spool = open_spool(&options);
    LF_CHECK_INT_EQ(lf_spool_max_payload(spool),
                    4096 - SEG_HEADER - REC_HEADER);
    LF_CHECK_INT_EQ(lf_spool_append(spool, buf, 4096 - 43, &seq), LF_ETOOBIG);
    LF_CHECK_INT_EQ(lf_spool_append(spool, buf, 4096 - 44, &seq), 0);
    LF_CHECK_INT_EQ(seq, 1);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_options_invalid(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool = NULL;

    make_dir();
    options.segment_bytes = 100;
    LF_CHECK_INT_EQ(lf_spool_open(test_dir, &options, &spool), LF_EINVAL);
    options = small_options();
    options.max_bytes = 8191;
    LF_CHECK_INT_EQ(lf_spool_open(test_dir, &options, &spool), LF_EINVAL);
    options = small_options();
    options.fsync = (enum lf_spool_fsync)7;
    LF_CHECK_INT_EQ(lf_spool_open(test_dir, &options, &spool), LF_EINVAL);
    LF_CHECK(spool == NULL);
    cleanup_dir();
}

static void test_spool_folder_locked(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *first;
    struct lf_spool *second = NULL;

    make_dir();
    first = open_spool(&options);
    LF_CHECK_INT_EQ(lf_spool_open(test_dir, &options, &second), LF_EAGAIN);
    lf_spool_close(first);
    second = open_spool(&options);
    lf_spool_close(second);
    cleanup_dir();
}

static void test_spool_ack_out_of_order_deletes(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 7, 1000); /* segments 1-3, 4-6, 7 */
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);

    LF_CHECK_INT_EQ(lf_spool_ack(spool, 6), 0);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 4), 0);
    segment_path(4, path, sizeof(path));
    LF_CHECK(file_exists(path));
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 5), 0);
    LF_CHECK(!file_exists(path));
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 5), 0);

    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.segments, 2);
    LF_CHECK_INT_EQ(stats.records, 4);
    LF_CHECK_INT_EQ(stats.ack_floor, 1);
    check_read(spool, (const uint64_t[]){1, 2, 3, 7}, 4);

    LF_CHECK_INT_EQ(lf_spool_ack(spool, 1), 0);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 2), 0);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 3), 0);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.ack_floor, 7);
    LF_CHECK_INT_EQ(stats.segments, 1);

    /* The segment being appended to stays, even when fully acked. */
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 7), 0);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.segments, 1);
    LF_CHECK_INT_EQ(stats.records, 0);
    LF_CHECK_INT_EQ(stats.ack_floor, 8);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 8), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 0), LF_EINVAL);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_max_bytes_full(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char buf[1000] = {0};
    uint64_t seq = 0;

    make_dir();
    options.max_bytes = 8192;
    spool = open_spool(&options);
    /* Two full segments of 3092 bytes and one of 1044: 7228 bytes. */
    append_n(spool, 7, 1000);
    LF_CHECK_INT_EQ(lf_spool_append(spool, buf, sizeof(buf), &seq), LF_EFULL);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records, 7);
    LF_CHECK_INT_EQ(stats.next_seq, 8);
    LF_CHECK_INT_EQ(stats.bytes, 7228);

    /* Acknowledging a whole segment makes room. */
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    for (uint64_t s = 1; s <= 3; s++) {
        LF_CHECK_INT_EQ(lf_spool_ack(spool, s), 0);
    }
    LF_CHECK_INT_EQ(lf_spool_append(spool, buf, sizeof(buf), &seq), 0);
    LF_CHECK_INT_EQ(seq, 8);
    lf_spool_close(spool);
    cleanup_dir();
}

struct events {
    int count[4];
    struct lf_spool_event last[4];
};

static void record_event(void *data, const struct lf_spool_event *event)
{
    struct events *events = data;

    events->count[event->kind]++;
    events->last[event->kind] = *event;
    events->last[event->kind].name = NULL;
}

static void test_spool_drop_oldest_reports(void)
{
    struct lf_spool_options options = small_options();
    struct events events = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];

    make_dir();
    options.max_bytes = 8192;
    options.drop_oldest = true;
    options.on_event = record_event;
    options.event_data = &events;
    spool = open_spool(&options);
    append_n(spool, 7, 1000);
    LF_CHECK_INT_EQ(events.count[LF_SPOOL_EVENT_DROPPED], 0);
    append_n(spool, 1, 1000);
    LF_CHECK_INT_EQ(events.count[LF_SPOOL_EVENT_DROPPED], 1);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_DROPPED].first_seq, 1);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_DROPPED].last_seq, 3);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_DROPPED].records, 3);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_DROPPED].bytes,
                    SEG_HEADER + 3 * (REC_HEADER + 1000));
    segment_path(1, path, sizeof(path));
    LF_CHECK(!file_exists(path));

    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records_dropped, 3);
    LF_CHECK_INT_EQ(stats.records, 5);
    LF_CHECK_INT_EQ(stats.ack_floor, 4);
    check_read_range(spool, 4, 8);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_checkpoint_bounds_replay(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    uint64_t seq = 0;

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 10, 100);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    for (uint64_t s = 1; s <= 5; s++) {
        LF_CHECK_INT_EQ(lf_spool_ack(spool, s), 0);
    }
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 8), 0);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    /* A crash now: the acknowledgement of 7 is not in the checkpoint. */
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 6), 0);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 7), 0);

    {
        char path[128];
        char copy[128];
        snprintf(path, sizeof(path), "%s/checkpoint", test_dir);
        snprintf(copy, sizeof(copy), "%s/checkpoint.keep", test_dir);
        LF_CHECK_INT_EQ(link(path, copy), 0);
        lf_spool_close(spool);
        LF_CHECK_INT_EQ(rename(copy, path), 0);
    }

    spool = open_spool(&options);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.ack_floor, 6);
    LF_CHECK_INT_EQ(stats.next_seq, 11);
    check_read(spool, (const uint64_t[]){6, 7, 8, 9, 10}, 5);
    LF_CHECK_INT_EQ(lf_spool_append(spool, "x", 1, &seq), 0);
    LF_CHECK_INT_EQ(seq, 11);
    lf_spool_close(spool);

    /* A clean close writes the checkpoint of 6 .. 10 still unacked. */
    spool = open_spool(&options);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.ack_floor, 6);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_reopen_continues_sequence(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    uint64_t seq = 0;

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 5, 1000);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    spool = open_spool(&options);
    check_read_range(spool, 1, 5);
    LF_CHECK_INT_EQ(lf_spool_append(spool, "x", 1, &seq), 0);
    LF_CHECK_INT_EQ(seq, 6);
    for (uint64_t s = 1; s <= 6; s++) {
        LF_CHECK_INT_EQ(lf_spool_ack(spool, s), 0);
    }
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    /* Everything acknowledged: no segment is left but the newest, and
     * numbering goes on after it. */
    spool = open_spool(&options);
    check_read_range(spool, 1, 0);
    LF_CHECK_INT_EQ(lf_spool_append(spool, "x", 1, &seq), 0);
    LF_CHECK_INT_EQ(seq, 7);
    lf_spool_close(spool);
    cleanup_dir();
}

/* Writes records 1..count with `len`-byte payloads into one segment and
 * returns the file's bytes in `image` (size in *size_out). */
static void write_segment_image(uint64_t count, size_t len, char *image,
                                size_t cap, size_t *size_out)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    char path[128];
    int fd;
    ssize_t n;

    spool = open_spool(&options);
    append_n(spool, count, len);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    segment_path(1, path, sizeof(path));
    fd = open(path, O_RDONLY);
    n = read(fd, image, cap);
    close(fd);
    *size_out = n > 0 ? (size_t)n : 0;
}

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    ssize_t n = write(fd, data, len);

    LF_CHECK_INT_EQ(n, (ssize_t)len);
    close(fd);
}

/* Cuts the segment at every byte offset of its last record (a crash in
 * the middle of a write): exactly the whole records before it are read. */
static void test_spool_torn_tail_every_offset(void)
{
    struct lf_spool_options options = small_options();
    char image[4096];
    char path[128];
    char ckpt[128];
    char next_path[128];
    size_t size;
    size_t last_start = SEG_HEADER + 4 * (REC_HEADER + 60);
    int wrong = 0;

    make_dir();
    write_segment_image(5, 60, image, sizeof(image), &size);
    LF_CHECK_INT_EQ(size, last_start + REC_HEADER + 60);
    segment_path(1, path, sizeof(path));
    segment_path(5, next_path, sizeof(next_path));
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", test_dir);

    for (size_t cut = last_start; cut < size; cut++) {
        struct lf_spool *spool;
        struct lf_spool_stats stats;
        uint64_t seqs[8];
        uint64_t seq = 0;
        size_t n;

        unlink(ckpt);
        unlink(next_path);
        write_file(path, image, cut);
        spool = open_spool(&options);
        if (spool == NULL) {
            wrong++;
            continue;
        }
        n = read_all(spool, seqs, LF_ARRAY_SIZE(seqs));
        lf_spool_stats(spool, &stats);
        wrong += n != 4 || seqs[3] != 4;
        wrong += stats.bytes_truncated != cut - last_start;
        wrong += stats.records_corrupt != 0;
        wrong += file_size(path) != (long)last_start;
        wrong += lf_spool_append(spool, "x", 1, &seq) != 0 || seq != 5;
        if (wrong > 0) {
            LF_FAIL_AT("cut at %zu: %zu records, truncated %" PRIu64
                       ", corrupt %" PRIu64 ", size %ld, next %" PRIu64,
                       cut, n, stats.bytes_truncated, stats.records_corrupt,
                       file_size(path), seq);
            lf_spool_close(spool);
            break;
        }
        lf_spool_close(spool);
    }
    LF_CHECK_INT_EQ(wrong, 0);
    cleanup_dir();
}

static struct lf_spool *reopen_with_image(const char *image, size_t size,
                                          struct events *events)
{
    struct lf_spool_options options = small_options();
    char path[128];
    char ckpt[128];

    segment_path(1, path, sizeof(path));
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint", test_dir);
    unlink(ckpt);
    write_file(path, image, size);
    options.on_event = record_event;
    options.event_data = events;
    return open_spool(&options);
}

static int failing_ftruncate(int fd, off_t length)
{
    (void)fd;
    (void)length;
    errno = EIO;
    return -1;
}

/* A torn tail that cannot be cut stays on disk. The spool still opens
 * and reads the whole records, and a later open cuts the tail. */
static void test_spool_torn_tail_cut_fails(void)
{
    static const struct lf_spool_io no_truncate_io = {
        .pwritev = pwritev,
        .fsync = fsync,
        .ftruncate = failing_ftruncate,
    };
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char image[4096];
    char path[128];
    size_t size;

    make_dir();
    write_segment_image(5, 60, image, sizeof(image), &size);
    segment_path(1, path, sizeof(path));
    write_file(path, image, size - 7);

    options.io = &no_truncate_io;
    spool = open_spool(&options);
    check_read_range(spool, 1, 4);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.bytes_truncated, REC_HEADER + 60 - 7);
    LF_CHECK_INT_EQ(stats.bytes, SEG_HEADER + 4 * (REC_HEADER + 60));
    LF_CHECK_INT_EQ(file_size(path), (long)size - 7);
    lf_spool_close(spool);

    options.io = NULL;
    spool = open_spool(&options);
    check_read_range(spool, 1, 4);
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER + 4 * (REC_HEADER + 60));
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_corrupt_payload_skipped(void)
{
    char image[4096];
    size_t size;
    struct events events = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;

    make_dir();
    write_segment_image(5, 60, image, sizeof(image), &size);
    image[SEG_HEADER + 2 * (REC_HEADER + 60) + REC_HEADER + 10] ^= 0x01;
    spool = reopen_with_image(image, size, &events);
    check_read(spool, (const uint64_t[]){1, 2, 4, 5}, 4);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records_corrupt, 1);
    LF_CHECK_INT_EQ(stats.corrupt_bytes, REC_HEADER + 60);
    LF_CHECK_INT_EQ(stats.bytes_truncated, 0);
    LF_CHECK_INT_EQ(stats.records, 4);
    LF_CHECK_INT_EQ(events.count[LF_SPOOL_EVENT_CORRUPT], 1);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_CORRUPT].first_seq, 3);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_CORRUPT].last_seq, 3);

    /* The lost record counts as acknowledged for the floor. */
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 1), 0);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 2), 0);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.ack_floor, 4);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_corrupt_header_resyncs(void)
{
    char image[4096];
    size_t size;
    struct events events = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;

    make_dir();
    write_segment_image(5, 60, image, sizeof(image), &size);
    /* Damage the length field of record 2 and the magic of record 3. */
    image[SEG_HEADER + (REC_HEADER + 60) + 5] ^= 0x40;
    image[SEG_HEADER + 2 * (REC_HEADER + 60)] = 'X';
    spool = reopen_with_image(image, size, &events);
    check_read(spool, (const uint64_t[]){1, 4, 5}, 3);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records_corrupt, 2);
    LF_CHECK_INT_EQ(stats.corrupt_bytes, 2 * (REC_HEADER + 60));
    LF_CHECK_INT_EQ(stats.bytes_truncated, 0);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_CORRUPT].first_seq, 2);
    LF_CHECK_INT_EQ(events.last[LF_SPOOL_EVENT_CORRUPT].last_seq, 3);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_bad_crc_at_end_truncated(void)
{
    char image[4096];
    size_t size;
    struct events events = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;

    make_dir();
    write_segment_image(5, 60, image, sizeof(image), &size);
    image[size - 1] ^= 0x20;
    spool = reopen_with_image(image, size, &events);
    check_read_range(spool, 1, 4);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records_corrupt, 0);
    LF_CHECK_INT_EQ(stats.bytes_truncated, REC_HEADER + 60);
    LF_CHECK_INT_EQ(events.count[LF_SPOOL_EVENT_TRUNCATED], 1);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_bad_segment_set_aside(void)
{
    struct lf_spool_options options = small_options();
    struct events events = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];
    char bad[160];
    char empty[128];
    int fd;

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 7, 1000); /* segments 1, 4 and 7 */
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    segment_path(4, path, sizeof(path));
    fd = open(path, O_WRONLY);
    LF_CHECK_INT_EQ(pwrite(fd, "LFSX", 4, 0), 4);
    close(fd);
    segment_path(9, empty, sizeof(empty));
    write_file(empty, "", 0);

    options.on_event = record_event;
    options.event_data = &events;
    spool = open_spool(&options);
    check_read(spool, (const uint64_t[]){1, 2, 3, 7}, 4);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.segments_set_aside, 2);
    LF_CHECK_INT_EQ(stats.segments, 2);
    LF_CHECK_INT_EQ(events.count[LF_SPOOL_EVENT_SET_ASIDE], 2);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    LF_CHECK(file_exists(bad));
    LF_CHECK(!file_exists(path));
    snprintf(bad, sizeof(bad), "%s.bad", empty);
    LF_CHECK(file_exists(bad));
    lf_spool_close(spool);
    cleanup_dir();
}

/* Injected errors: the next write or fsync fails with `fail_errno`,
 * after writing `partial` bytes for real when it is a write. */
struct fault {
    int fail_errno;
    size_t partial;
    bool on_write;
    bool on_fsync;
};

static struct fault fault;

static ssize_t fault_pwritev(int fd, const struct iovec *iov, int iovcnt,
                             off_t offset)
{
    if (fault.on_write) {
        if (fault.partial > 0) {
            size_t take =
                fault.partial < iov[0].iov_len ? fault.partial : iov[0].iov_len;
            struct iovec part = {.iov_base = iov[0].iov_base, .iov_len = take};
            ssize_t n = pwritev(fd, &part, 1, offset);
            fault.partial = 0;
            return n;
        }
        errno = fault.fail_errno;
        return -1;
    }
    return pwritev(fd, iov, iovcnt, offset);
}

static int fault_fsync(int fd)
{
    if (fault.on_fsync) {
        errno = fault.fail_errno;
        return -1;
    }
    return fsync(fd);
}

static const struct lf_spool_io fault_io = {
    .pwritev = fault_pwritev,
    .fsync = fault_fsync,
    .ftruncate = ftruncate,
};

static void check_write_error(int fail_errno, size_t partial)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];
    uint64_t seq = 0;

    make_dir();
    options.io = &fault_io;
    spool = open_spool(&options);
    append_n(spool, 2, 100);
    fault = (struct fault){
        .fail_errno = fail_errno, .partial = partial, .on_write = true};
    LF_CHECK_INT_EQ(lf_spool_append(spool, "payload", 7, &seq), -fail_errno);
    segment_path(1, path, sizeof(path));
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER + 2 * (REC_HEADER + 100));
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records, 2);
    LF_CHECK_INT_EQ(stats.next_seq, 3);
    check_read_range(spool, 1, 2);

    fault = (struct fault){0};
    append_n(spool, 2, 100);
    check_read_range(spool, 3, 4);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    spool = open_spool(&options);
    check_read_range(spool, 1, 4);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.bytes_truncated, 0);
    LF_CHECK_INT_EQ(stats.records_corrupt, 0);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_write_enospc_cut_back(void)
{
    check_write_error(ENOSPC, 30);
}

static void test_spool_write_eio(void)
{
    check_write_error(EIO, 0);
}

static void test_spool_write_efbig_in_header(void)
{
    check_write_error(EFBIG, 10);
}

static void test_spool_segment_create_enospc(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];
    char buf[1000] = {0};
    uint64_t seq = 0;

    make_dir();
    options.io = &fault_io;
    spool = open_spool(&options);
    append_n(spool, 3, 1000);
    fault = (struct fault){.fail_errno = ENOSPC, .on_write = true};
    LF_CHECK_INT_EQ(lf_spool_append(spool, buf, sizeof(buf), &seq), LF_ENOSPC);
    segment_path(4, path, sizeof(path));
    LF_CHECK(!file_exists(path));
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.segments, 1);
    fault = (struct fault){0};
    append_n(spool, 1, 1000);
    LF_CHECK(file_exists(path));
    check_read_range(spool, 1, 4);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_fsync_eio_discards_unsynced(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    uint64_t seq = 0;

    make_dir();
    options.io = &fault_io;
    spool = open_spool(&options);
    append_n(spool, 3, 100);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.durable_seq, 1);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.durable_seq, 4);

    append_n(spool, 2, 100);
    check_read_range(spool, 1, 5);
    fault = (struct fault){.fail_errno = EIO, .on_fsync = true};
    LF_CHECK_INT_EQ(lf_spool_sync(spool), LF_EIO);
    fault = (struct fault){0};
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.durable_seq, 4);
    LF_CHECK_INT_EQ(stats.records, 3);
    LF_CHECK_INT_EQ(stats.bytes, SEG_HEADER + 3 * (REC_HEADER + 100));
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 4), 0);

    lf_spool_rewind(spool);
    check_read_range(spool, 1, 3);
    LF_CHECK_INT_EQ(lf_spool_append(spool, "x", 1, &seq), 0);
    LF_CHECK_INT_EQ(seq, 6);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    spool = open_spool(&options);
    {
        const void *payload;
        size_t len;
        uint64_t seqs[4] = {0};
        size_t n = 0;

        while (n < 4 && lf_spool_read(spool, &payload, &len, &seqs[n]) == 1) {
            n++;
        }
        LF_CHECK_INT_EQ(n, 4);
        LF_CHECK_INT_EQ(seqs[2], 3);
        LF_CHECK_INT_EQ(seqs[3], 6);
    }
    lf_spool_close(spool);
    cleanup_dir();
}

/* fsync calls seen by counting_io, split by what the fd refers to. */
struct fsync_count {
    int dirs;
    int files;
};

static struct fsync_count fsyncs;

static int counting_fsync(int fd)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        fsyncs.dirs++;
    } else {
        fsyncs.files++;
    }
    return fsync(fd);
}

static const struct lf_spool_io counting_io = {
    .pwritev = pwritev,
    .fsync = counting_fsync,
    .ftruncate = ftruncate,
};

static void test_spool_sync_fsyncs_folder(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;

    make_dir();
    options.io = &counting_io;
    spool = open_spool(&options);
    append_n(spool, 2, 1000);
    fsyncs = (struct fsync_count){0};
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    /* The new segment and the folder, then the first checkpoint of this
     * folder: checkpoint.tmp and the folder again. */
    LF_CHECK_INT_EQ(fsyncs.files, 2);
    LF_CHECK_INT_EQ(fsyncs.dirs, 2);

    append_n(spool, 1, 1000);
    fsyncs = (struct fsync_count){0};
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    LF_CHECK_INT_EQ(fsyncs.files, 1);
    LF_CHECK_INT_EQ(fsyncs.dirs, 0);

    /* Rolling over creates segment 4; acknowledging 1..3 removes
     * segment 1 and moves the floor, so the checkpoint is written too:
     * segment 4, the folder, checkpoint.tmp and the folder again. */
    append_n(spool, 1, 1000);
    for (uint64_t s = 1; s <= 3; s++) {
        LF_CHECK_INT_EQ(lf_spool_ack(spool, s), 0);
    }
    fsyncs = (struct fsync_count){0};
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    LF_CHECK_INT_EQ(fsyncs.files, 2);
    LF_CHECK_INT_EQ(fsyncs.dirs, 2);

    fsyncs = (struct fsync_count){0};
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    LF_CHECK_INT_EQ(fsyncs.files, 0);
    LF_CHECK_INT_EQ(fsyncs.dirs, 0);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_invalid_checkpoint_replays_all(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];
    char tmp[128];

    make_dir();
    spool = open_spool(&options);
    append_n(spool, 4, 100);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 1), 0);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 2), 0);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    spool = open_spool(&options);
    check_read_range(spool, 3, 4);
    lf_spool_close(spool);

    /* A checkpoint with a bad CRC counts as none, and a leftover temp
     * file is removed. */
    snprintf(path, sizeof(path), "%s/checkpoint", test_dir);
    snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", test_dir);
    LF_CHECK_INT_EQ(file_size(path), 20);
    {
        int fd = open(path, O_WRONLY);
        LF_CHECK_INT_EQ(pwrite(fd, "\x09", 1, 8), 1);
        close(fd);
    }
    write_file(tmp, "LFCK", 4);
    spool = open_spool(&options);
    LF_CHECK(!file_exists(tmp));
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.ack_floor, 1);
    LF_CHECK_INT_EQ(stats.records, 4);
    check_read_range(spool, 1, 4);
    lf_spool_close(spool);
    cleanup_dir();
}

/* A failed sync right after a roll-over: the new segment keeps its
 * header and takes the next record at the same place. */
static void test_spool_fsync_eio_after_roll_over(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];

    make_dir();
    options.io = &fault_io;
    options.fsync = LF_SPOOL_FSYNC_INTERVAL;
    spool = open_spool(&options);
    append_n(spool, 3, 1000);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    append_n(spool, 2, 1000);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.durable_seq, 4);
    LF_CHECK_INT_EQ(stats.segments, 2);

    fault = (struct fault){.fail_errno = EIO, .on_fsync = true};
    LF_CHECK_INT_EQ(lf_spool_sync(spool), LF_EIO);
    fault = (struct fault){0};
    segment_path(4, path, sizeof(path));
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records, 3);
    LF_CHECK_INT_EQ(stats.ack_floor, 1);

    append_n(spool, 1, 1000);
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER + REC_HEADER + 1000);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    spool = open_spool(&options);
    check_read(spool, (const uint64_t[]){1, 2, 3, 6}, 4);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_never_durable_at_write(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;

    make_dir();
    options.fsync = LF_SPOOL_FSYNC_NEVER;
    options.io = &fault_io;
    spool = open_spool(&options);
    append_n(spool, 3, 100);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.durable_seq, 4);
    /* No fsync is called: an fsync failure cannot surface. */
    fault = (struct fault){.fail_errno = EIO, .on_fsync = true};
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 1), 0);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    fault = (struct fault){0};
    lf_spool_close(spool);

    spool = open_spool(&options);
    check_read_range(spool, 2, 3);
    lf_spool_close(spool);
    cleanup_dir();
}

struct sync_result {
    int calls;
    int status;
    uint64_t durable_seq;
};

static void record_sync(struct lf_spool *spool, int status, void *data)
{
    struct sync_result *result = data;
    struct lf_spool_stats stats;

    lf_spool_stats(spool, &stats);
    result->calls++;
    result->status = status;
    result->durable_seq = stats.durable_seq;
}

static void test_spool_pool_sync(void)
{
    struct lf_spool_options options = small_options();
    struct sync_result result = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    uv_loop_t loop;

    make_dir();
    LF_CHECK_INT_EQ(uv_loop_init(&loop), 0);
    spool = open_spool(&options);
    append_n(spool, 5, 1000);
    LF_CHECK_INT_EQ(lf_spool_sync_start(spool, &loop, record_sync, &result), 0);
    LF_CHECK_INT_EQ(lf_spool_sync_start(spool, &loop, record_sync, &result),
                    LF_EAGAIN);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), LF_EAGAIN);
    LF_CHECK_INT_EQ(lf_spool_checkpoint(spool), LF_EAGAIN);

    /* Appends and acknowledgements go on while the pool syncs. */
    append_n(spool, 2, 1000);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 1), 0);
    LF_CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    LF_CHECK_INT_EQ(result.calls, 1);
    LF_CHECK_INT_EQ(result.status, 0);
    LF_CHECK_INT_EQ(result.durable_seq, 6);

    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.durable_seq, 8);
    LF_CHECK_INT_EQ(stats.records, 6);
    lf_spool_close(spool);
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);

    spool = open_spool(&options);
    check_read_range(spool, 2, 7);
    lf_spool_close(spool);
    cleanup_dir();
}

static void test_spool_pool_sync_eio(void)
{
    struct lf_spool_options options = small_options();
    struct sync_result result = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    uv_loop_t loop;

    make_dir();
    LF_CHECK_INT_EQ(uv_loop_init(&loop), 0);
    options.io = &fault_io;
    spool = open_spool(&options);
    append_n(spool, 3, 100);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    append_n(spool, 2, 100);
    fault = (struct fault){.fail_errno = EIO, .on_fsync = true};
    LF_CHECK_INT_EQ(lf_spool_sync_start(spool, &loop, record_sync, &result), 0);
    LF_CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    fault = (struct fault){0};
    LF_CHECK_INT_EQ(result.calls, 1);
    LF_CHECK_INT_EQ(result.status, LF_EIO);
    LF_CHECK_INT_EQ(result.durable_seq, 4);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records, 3);
    LF_CHECK_INT_EQ(stats.bytes, SEG_HEADER + 3 * (REC_HEADER + 100));
    check_read_range(spool, 1, 3);
    lf_spool_close(spool);
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);
    cleanup_dir();
}

/* Closing while the pool syncs frees the spool when the sync ends, and
 * the callback is not called. */
static void test_spool_pool_sync_close(void)
{
    struct lf_spool_options options = small_options();
    struct sync_result result = {0};
    struct lf_spool *spool;
    uv_loop_t loop;

    make_dir();
    LF_CHECK_INT_EQ(uv_loop_init(&loop), 0);
    spool = open_spool(&options);
    append_n(spool, 4, 1000);
    LF_CHECK_INT_EQ(lf_spool_ack(spool, 1), 0);
    LF_CHECK_INT_EQ(lf_spool_sync_start(spool, &loop, record_sync, &result), 0);
    lf_spool_close(spool);
    LF_CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    LF_CHECK_INT_EQ(result.calls, 0);
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);

    spool = open_spool(&options);
    check_read_range(spool, 2, 4);
    lf_spool_close(spool);
    cleanup_dir();
}

/* A real EFBIG: RLIMIT_FSIZE below the segment size, with SIGXFSZ
 * ignored so that write(2) fails instead of killing the process. */
static void test_spool_rlimit_fsize_efbig(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    struct rlimit saved;
    struct rlimit limit;
    char buf[1000];
    char path[128];
    uint64_t seq = 0;
    int rc = 0;
    int appended = 0;

    make_dir();
    options.segment_bytes = 64 * 1024;
    LF_CHECK_INT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limit = saved;
    limit.rlim_cur = 10000;
    signal(SIGXFSZ, SIG_IGN);
    spool = open_spool(&options);
    LF_CHECK_INT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
    while (appended < 100) {
        make_payload(buf, sizeof(buf), (uint64_t)appended + 1);
        rc = lf_spool_append(spool, buf, sizeof(buf), &seq);
        if (rc != 0) {
            break;
        }
        appended++;
    }
    LF_CHECK_INT_EQ(rc, LF_EFBIG);
    /* 20 + 9 * 1024 = 9236 fits below 10000, a tenth record does not. */
    LF_CHECK_INT_EQ(appended, 9);
    segment_path(1, path, sizeof(path));
    LF_CHECK_INT_EQ(file_size(path), SEG_HEADER + 9 * (REC_HEADER + 1000));
    check_read_range(spool, 1, 9);

    LF_CHECK_INT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_DFL);
    append_n(spool, 1, 1000);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records, 10);
    LF_CHECK_INT_EQ(lf_spool_sync(spool), 0);
    lf_spool_close(spool);

    spool = open_spool(&options);
    check_read_range(spool, 1, 10);
    lf_spool_close(spool);
    cleanup_dir();
}

/* Runs in the child: appends forever with a sync every 16 records and
 * writes each durable sequence to `fd` once the sync returned. */
static void append_until_killed(int fd)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool = NULL;
    char buf[512];

    options.segment_bytes = 16 * 1024;
    options.max_bytes = 1024 * 1024 * 1024;
    if (lf_spool_open(test_dir, &options, &spool) != 0) {
        _exit(2);
    }
    for (uint64_t i = 1;; i++) {
        uint64_t seq;
        size_t len = 100 + (size_t)(i * 37 % 400);

        make_payload(buf, len, i);
        if (lf_spool_append(spool, buf, len, &seq) != 0 || seq != i) {
            _exit(3);
        }
        if (i % 16 == 0) {
            if (lf_spool_sync(spool) != 0 ||
                write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i)) {
                _exit(4);
            }
        }
    }
}

static void test_spool_sigkill_during_appends(void)
{
    struct lf_spool_options options = small_options();
    struct lf_spool *spool;
    struct timespec pause = {.tv_nsec = 30 * 1000 * 1000};
    uint64_t durable = 0;
    uint64_t value;
    uint64_t expected = 1;
    const void *payload;
    size_t len;
    uint64_t seq;
    int bad = 0;
    int pipe_fds[2];
    int status = 0;
    pid_t pid;

    make_dir();
    LF_CHECK_INT_EQ(pipe(pipe_fds), 0);
    pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        append_until_killed(pipe_fds[1]);
    }
    close(pipe_fds[1]);

    /* Kill it once it is well into its appends, at no particular point
     * of an append or sync. */
    while (durable < 256 &&
           read(pipe_fds[0], &value, sizeof(value)) == sizeof(value)) {
        durable = value;
    }
    nanosleep(&pause, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    LF_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    while (read(pipe_fds[0], &value, sizeof(value)) == sizeof(value)) {
        durable = value;
    }
    close(pipe_fds[0]);
    LF_CHECK(durable >= 256);

    options.segment_bytes = 16 * 1024;
    spool = open_spool(&options);
    while (lf_spool_read(spool, &payload, &len, &seq) == 1) {
        bad += seq != expected;
        bad += len != 100 + (size_t)(seq * 37 % 400);
        bad += !payload_matches(payload, len, seq);
        expected = seq + 1;
    }
    LF_CHECK_INT_EQ(bad, 0);
    if (expected - 1 < durable) {
        LF_FAIL_AT("read up to %" PRIu64 ", but %" PRIu64 " was durable",
                   expected - 1, durable);
    }
    printf("killed after %" PRIu64 " durable records, read %" PRIu64 "\n",
           durable, expected - 1);
    lf_spool_close(spool);
    cleanup_dir();
}

/* Corruption that appears after open is found by the reader. */
static void test_spool_read_skips_late_corruption(void)
{
    struct lf_spool_options options = small_options();
    struct events events = {0};
    struct lf_spool *spool;
    struct lf_spool_stats stats;
    char path[128];
    int fd;

    make_dir();
    options.on_event = record_event;
    options.event_data = &events;
    spool = open_spool(&options);
    append_n(spool, 5, 60);
    segment_path(1, path, sizeof(path));
    fd = open(path, O_WRONLY);
    LF_CHECK_INT_EQ(
        pwrite(fd, "\xff", 1, SEG_HEADER + (REC_HEADER + 60) + REC_HEADER + 3),
        1);
    LF_CHECK_INT_EQ(pwrite(fd, "Z", 1, SEG_HEADER + 3 * (REC_HEADER + 60)), 1);
    close(fd);
    check_read(spool, (const uint64_t[]){1, 3, 5}, 3);
    lf_spool_stats(spool, &stats);
    LF_CHECK_INT_EQ(stats.records_corrupt, 2);
    LF_CHECK_INT_EQ(stats.records, 3);
    LF_CHECK_INT_EQ(events.count[LF_SPOOL_EVENT_CORRUPT], 2);
    lf_spool_close(spool);
    cleanup_dir();
}

int main(void)
{
    LF_RUN(test_spool_append_read_roundtrip);
    LF_RUN(test_spool_cursor_follows_appends);
    LF_RUN(test_spool_segments_roll_over);
    LF_RUN(test_spool_payload_too_big);
    LF_RUN(test_spool_options_invalid);
    LF_RUN(test_spool_folder_locked);
    LF_RUN(test_spool_ack_out_of_order_deletes);
    LF_RUN(test_spool_max_bytes_full);
    LF_RUN(test_spool_drop_oldest_reports);
    LF_RUN(test_spool_checkpoint_bounds_replay);
    LF_RUN(test_spool_reopen_continues_sequence);
    LF_RUN(test_spool_torn_tail_every_offset);
    LF_RUN(test_spool_torn_tail_cut_fails);
    LF_RUN(test_spool_corrupt_payload_skipped);
    LF_RUN(test_spool_corrupt_header_resyncs);
    LF_RUN(test_spool_bad_crc_at_end_truncated);
    LF_RUN(test_spool_bad_segment_set_aside);
    LF_RUN(test_spool_write_enospc_cut_back);
    LF_RUN(test_spool_write_eio);
    LF_RUN(test_spool_write_efbig_in_header);
    LF_RUN(test_spool_segment_create_enospc);
    LF_RUN(test_spool_fsync_eio_discards_unsynced);
    LF_RUN(test_spool_fsync_eio_after_roll_over);
    LF_RUN(test_spool_sync_fsyncs_folder);
    LF_RUN(test_spool_invalid_checkpoint_replays_all);
    LF_RUN(test_spool_never_durable_at_write);
    LF_RUN(test_spool_pool_sync);
    LF_RUN(test_spool_pool_sync_eio);
    LF_RUN(test_spool_pool_sync_close);
    LF_RUN(test_spool_rlimit_fsize_efbig);
    LF_RUN(test_spool_sigkill_during_appends);
    LF_RUN(test_spool_read_skips_late_corruption);
    return lf_test_end();
}
