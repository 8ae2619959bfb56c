/*
 * The queue between pipeline and output, against a fake output of fixed
 * capacity and a real spool in a temporary folder. The cases: order,
 * memory bound, overflow to the spool, acknowledgement when durable,
 * replay after a restart, and injected write and fsync errors.
 */
#include "agent/queue/queue.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_test.h"

#define MAX_EVENTS 4096

static char test_dir[64];

static void make_dir(void)
{
    snprintf(test_dir, sizeof(test_dir), "/tmp/lf-test_queue.XXXXXX");
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

/* An output that takes `capacity` events until they are acknowledged. */
struct fake_output {
    size_t capacity;
    size_t in_flight;          /* taken, no result yet */
    size_t taken;              /* events taken in total */
    char ids[MAX_EVENTS][40];  /* document ids in the order taken */
    struct lf_ack_ref refs[MAX_EVENTS];
    size_t acked;              /* results reported, in order */
};

/* What the queue reported back to its owner. */
struct owner {
    uint64_t results;
    uint64_t spooled;
    uint64_t ready;
    bool seen[MAX_EVENTS];     /* ticket acknowledged once */
    uint64_t twice;            /* tickets acknowledged twice */
};

struct fixture {
    uv_loop_t loop;
    struct fake_output output;
    struct owner owner;
    struct lf_queue *queue;
    struct lf_event ev;
    uint64_t next_ticket;
};

static int fake_publish(void *arg, const struct lf_event *ev,
                        const char *doc_id, struct lf_ack_ref ref)
{
    struct fake_output *out = arg;

    (void)ev;
    if (out->in_flight == out->capacity || out->taken == MAX_EVENTS) {
        return LF_EFULL;
    }
    snprintf(out->ids[out->taken], sizeof(out->ids[0]), "%s", doc_id);
    out->refs[out->taken++] = ref;
    out->in_flight++;
    return 0;
}

static void mark(struct owner *owner, struct lf_ack_ref ref)
{
    if (ref.ticket >= MAX_EVENTS) {
        return;
    }
    if (owner->seen[ref.ticket]) {
        owner->twice++;
    }
    owner->seen[ref.ticket] = true;
}

static void on_result(void *arg, struct lf_ack_ref ref,
                      enum lf_delivery result)
{
    struct owner *owner = arg;

    (void)result;
    owner->results++;
    mark(owner, ref);
}

static void on_spooled(void *arg, struct lf_ack_ref ref)
{
    struct owner *owner = arg;

    owner->spooled++;
    mark(owner, ref);
}

static void on_ready(void *arg)
{
    struct owner *owner = arg;

    owner->ready++;
}

static int open_queue(struct fixture *f, const struct lf_queue_options *opt)
{
    struct lf_queue_callbacks callbacks = {
        .arg = &f->owner,
        .on_result = on_result,
        .on_spooled = on_spooled,
        .on_ready = on_ready,
    };
    struct lf_queue_output output = {
        .arg = &f->output,
        .publish = fake_publish,
    };
    int rc = lf_queue_new(&f->loop, opt, &callbacks, &f->queue);

    if (rc == 0) {
        lf_queue_set_output(f->queue, &output);
    }
    return rc;
}

static void fixture_init(struct fixture *f, size_t capacity)
{
    memset(f, 0, sizeof(*f));
    uv_loop_init(&f->loop);
    f->output.capacity = capacity;
    lf_event_init(&f->ev);
}

static void close_queue(struct fixture *f)
{
    lf_queue_close(f->queue);
    f->queue = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void fixture_cleanup(struct fixture *f)
{
    if (f->queue != NULL) {
        close_queue(f);
    }
    LF_CHECK_INT_EQ(uv_loop_close(&f->loop), 0);
    lf_event_cleanup(&f->ev);
}

/* Publishes the event of ticket `f->next_ticket`, with id "doc-<n>". */
static int publish_next(struct fixture *f)
{
    char id[32];
    struct lf_ack_ref ref = {.source = f, .ticket = f->next_ticket};
    int rc;

    snprintf(id, sizeof(id), "doc-%" PRIu64, f->next_ticket);
    lf_event_reset(&f->ev);
    f->ev.message = id;
    f->ev.message_len = strlen(id);
    lf_event_set_int(&f->ev, "n", (int64_t)f->next_ticket);
    rc = lf_queue_publish(f->queue, &f->ev, id, NULL, ref);
    if (rc == 0) {
        f->next_ticket++;
    }
    return rc;
}

/* Reports INDEXED for every event the fake output holds, oldest first. */
static void ack_all(struct fixture *f)
{
    while (f->output.acked < f->output.taken) {
        size_t i = f->output.acked++;

        f->output.in_flight--;
        lf_queue_on_output_result(f->queue, f->output.refs[i],
                                  LF_DELIVERY_INDEXED);
    }
    lf_queue_on_output_ready(f->queue);
}

/* Spins the loop until every sync running on the pool has ended. */
static void run_syncs(struct fixture *f)
{
    for (int i = 0; i < 100; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* True when the output took "doc-0", "doc-1", ... in order. */
static bool ids_in_order(const struct fake_output *out, size_t from,
                         uint64_t first, size_t count)
{
    char id[32];

    for (size_t i = 0; i < count; i++) {
        snprintf(id, sizeof(id), "doc-%" PRIu64, first + i);
        if (strcmp(out->ids[from + i], id) != 0) {
            printf("  position %zu: %s, expected %s\n", from + i,
                   out->ids[from + i], id);
            return false;
        }
    }
    return true;
}

static void test_queue_memory_bound(void)
{
    struct lf_queue_options opt = {.mem_max_bytes = 4096};
    struct lf_queue_stats stats;
    struct fixture f;
    int rc = 0;

    fixture_init(&f, 10);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    while (f.next_ticket < 1000 && (rc = publish_next(&f)) == 0) {
    }
    LF_CHECK_INT_EQ(rc, LF_EFULL);
    lf_queue_stats(f.queue, &stats);
    LF_CHECK(stats.mem_bytes <= 4096);
    LF_CHECK(stats.mem_events > 0);
    LF_CHECK_INT_EQ(f.output.taken, 10);
    LF_CHECK_INT_EQ(f.next_ticket, 10 + stats.mem_events);
    LF_CHECK_INT_EQ(f.owner.ready, 0);

    /* Room again: the queue drains in order and calls on_ready. */
    ack_all(&f);
    LF_CHECK_INT_EQ(f.owner.ready, 1);
    LF_CHECK_INT_EQ(f.output.taken, 20);
    while (f.output.taken < f.next_ticket) {
        ack_all(&f);
    }
    LF_CHECK(ids_in_order(&f.output, 0, 0, (size_t)f.next_ticket));
    ack_all(&f);
    LF_CHECK_INT_EQ(f.owner.results, f.next_ticket);
    LF_CHECK_INT_EQ(f.owner.twice, 0);
    lf_queue_stats(f.queue, &stats);
    LF_CHECK_INT_EQ(stats.mem_bytes, 0);
    fixture_cleanup(&f);
}

static struct lf_queue_options spool_options(enum lf_spool_fsync fsync)
{
    struct lf_queue_options opt = {
        .mem_max_bytes = 2048,
        .disk_path = test_dir,
        .disk_max_bytes = 1024 * 1024,
        .disk_mode = LF_QUEUE_DISK_OVERFLOW,
        .disk_fsync = fsync,
        .disk_fsync_interval_ms = 10,
    };

    return opt;
}

/*
 * The output is down: memory fills, then the spool. Spooled events are
 * acknowledged once synced, and sent after the memory queue, in order.
 */
static void test_queue_overflow_to_spool(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_BATCH);
    struct lf_queue_stats stats;
    struct fixture f;

    make_dir();
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    for (int i = 0; i < 500; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    lf_queue_stats(f.queue, &stats);
    LF_CHECK(stats.mem_events > 0);
    LF_CHECK_INT_EQ(stats.mem_events + stats.spooled, 500);
    run_syncs(&f);
    LF_CHECK_INT_EQ(f.owner.spooled, stats.spooled);
    LF_CHECK_INT_EQ(f.owner.results, 0);

    f.output.capacity = 50;
    lf_queue_on_output_ready(f.queue);
    while (f.output.acked < 500) {
        ack_all(&f);
    }
    LF_CHECK_INT_EQ(f.output.taken, 500);
    LF_CHECK(ids_in_order(&f.output, 0, 0, 500));
    /* Memory events by result, spooled ones already by on_spooled. */
    LF_CHECK_INT_EQ(f.owner.results + f.owner.spooled, 500);
    LF_CHECK_INT_EQ(f.owner.twice, 0);
    run_syncs(&f);
    lf_queue_stats(f.queue, &stats);
    LF_CHECK_INT_EQ(stats.spool_records, 0);
    LF_CHECK_INT_EQ(stats.spool_delivered, f.owner.spooled);
    fixture_cleanup(&f);
    cleanup_dir();
}

/* A spool left by a run is sent before new events, with the same ids. */
static void test_queue_replay_after_restart(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_BATCH);
    struct fixture f;

    make_dir();
    opt.disk_mode = LF_QUEUE_DISK_ALWAYS;
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    for (int i = 0; i < 100; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    run_syncs(&f);
    LF_CHECK_INT_EQ(f.owner.spooled, 100);
    fixture_cleanup(&f);

    fixture_init(&f, 1000);
    f.next_ticket = 100;
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    LF_CHECK_INT_EQ(f.output.taken, 100);
    for (int i = 0; i < 20; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    run_syncs(&f);
    LF_CHECK_INT_EQ(f.output.taken, 120);
    LF_CHECK(ids_in_order(&f.output, 0, 0, 120));
    ack_all(&f);
    run_syncs(&f);
    fixture_cleanup(&f);

    /* Everything was acknowledged: a third run finds the spool empty. */
    fixture_init(&f, 1000);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    LF_CHECK_INT_EQ(f.output.taken, 0);
    fixture_cleanup(&f);
    cleanup_dir();
}

struct span_log {
    size_t count;
    struct lf_event_span spans[MAX_EVENTS];
};

static void collect_span(void *arg, const struct lf_event_span *span)
{
    struct span_log *log = arg;

    if (log->count < MAX_EVENTS) {
        log->spans[log->count] = *span;
    }
    log->count++;
}

/*
 * The scan at start returns the span of every spooled event in order,
 * skips events spooled without one, and leaves the whole spool to send.
 */
static void test_queue_scan_spool_spans(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_BATCH);
    struct fixture f;
    struct lf_queue_callbacks callbacks = {
        .arg = &f.owner,
        .on_result = on_result,
        .on_spooled = on_spooled,
        .on_ready = on_ready,
    };
    struct lf_queue_output output;
    static struct span_log log;

    make_dir();
    opt.disk_mode = LF_QUEUE_DISK_ALWAYS;
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    for (uint64_t i = 0; i < 120; i++) {
        struct lf_event_span span = {.file_id = 7 + i % 2,
                                     .prev_end = i * 10,
                                     .end = i * 10 + 10};
        struct lf_ack_ref ref = {.source = &f, .ticket = i};
        char id[32];

        snprintf(id, sizeof(id), "doc-%" PRIu64, i);
        lf_event_reset(&f.ev);
        f.ev.message = id;
        f.ev.message_len = strlen(id);
        /* Every sixth event goes without a span, as format 1 did. */
        LF_CHECK_INT_EQ(lf_queue_publish(f.queue, &f.ev, id,
                                         i % 6 == 5 ? NULL : &span, ref),
                        0);
    }
    run_syncs(&f);
    LF_CHECK_INT_EQ(f.owner.spooled, 120);
    fixture_cleanup(&f);

    fixture_init(&f, 1000);
    LF_CHECK_INT_EQ(lf_queue_new(&f.loop, &opt, &callbacks, &f.queue), 0);
    memset(&log, 0, sizeof(log));
    LF_CHECK_INT_EQ(lf_queue_scan_spool(f.queue, collect_span, &log), 0);
    LF_CHECK_INT_EQ(log.count, 100);
    for (size_t n = 0, i = 0; n < log.count && n < MAX_EVENTS; n++, i++) {
        if (i % 6 == 5) {
            i++;
        }
        LF_CHECK_INT_EQ(log.spans[n].file_id, 7 + i % 2);
        LF_CHECK_INT_EQ(log.spans[n].prev_end, i * 10);
        LF_CHECK_INT_EQ(log.spans[n].end, i * 10 + 10);
    }
    output.arg = &f.output;
    output.publish = fake_publish;
    lf_queue_set_output(f.queue, &output);
    LF_CHECK_INT_EQ(f.output.taken, 120);
    LF_CHECK(ids_in_order(&f.output, 0, 0, 120));
    fixture_cleanup(&f);
    cleanup_dir();
}

/* Injected failures of the spool's write and fsync calls. */
static int fail_errno;
static bool fail_fsync;

static ssize_t faulty_pwritev(int fd, const struct iovec *iov, int iovcnt,
                              off_t offset)
{
    if (fail_errno != 0 && !fail_fsync) {
        errno = fail_errno;
        return -1;
    }
    return pwritev(fd, iov, iovcnt, offset);
}

static int faulty_fsync(int fd)
{
    if (fail_errno != 0 && fail_fsync) {
        errno = fail_errno;
        return -1;
    }
    return fsync(fd);
}

static const struct lf_spool_io faulty_io = {
    .pwritev = faulty_pwritev,
    .fsync = faulty_fsync,
    .ftruncate = ftruncate,
};

/*
 * ENOSPC on append: publish returns LF_EFULL once memory is full too, and
 * after the retry timer finds the disk writable again, on_ready follows
 * and every event arrives once, in order.
 */
static void test_queue_enospc_backpressure(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_BATCH);
    struct lf_queue_stats stats;
    struct fixture f;
    int rc = 0;

    make_dir();
    opt.io = &faulty_io;
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    for (int i = 0; i < 50; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    fail_errno = ENOSPC;
    fail_fsync = false;
    while (f.next_ticket < 1000 && (rc = publish_next(&f)) == 0) {
    }
    LF_CHECK_INT_EQ(rc, LF_EFULL);
    lf_queue_stats(f.queue, &stats);
    LF_CHECK(stats.spool_errors >= 1);
    LF_CHECK_INT_EQ(f.next_ticket, 50);
    LF_CHECK_INT_EQ(f.owner.ready, 0);

    fail_errno = 0;
    while (f.owner.ready == 0) {
        uv_run(&f.loop, UV_RUN_ONCE);
    }
    for (int i = 0; i < 50; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    run_syncs(&f);
    f.output.capacity = 1000;
    lf_queue_on_output_ready(f.queue);
    ack_all(&f);
    LF_CHECK_INT_EQ(f.output.taken, 100);
    LF_CHECK(ids_in_order(&f.output, 0, 0, 100));
    LF_CHECK_INT_EQ(f.owner.results + f.owner.spooled, 100);
    LF_CHECK_INT_EQ(f.owner.twice, 0);
    fixture_cleanup(&f);
    cleanup_dir();
}

/*
 * EIO on fsync: the spool cuts the records not yet synced, the queue
 * appends them again, and none is acknowledged before it is durable.
 */
static void test_queue_fsync_eio_reappends(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_INTERVAL);
    struct lf_queue_stats stats;
    struct fixture f;

    make_dir();
    opt.io = &faulty_io;
    opt.disk_mode = LF_QUEUE_DISK_ALWAYS;
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    fail_errno = EIO;
    fail_fsync = true;
    for (int i = 0; i < 30; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    run_syncs(&f);
    LF_CHECK_INT_EQ(f.owner.spooled, 0);
    lf_queue_stats(f.queue, &stats);
    LF_CHECK(stats.spool_errors >= 1);

    fail_errno = 0;
    fail_fsync = false;
    for (int i = 0; i < 1500 && f.owner.spooled < 30; i++) {
        uv_run(&f.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    LF_CHECK_INT_EQ(f.owner.spooled, 30);
    LF_CHECK_INT_EQ(f.owner.twice, 0);
    f.output.capacity = 1000;
    lf_queue_on_output_ready(f.queue);
    LF_CHECK_INT_EQ(f.output.taken, 30);
    LF_CHECK(ids_in_order(&f.output, 0, 0, 30));
    ack_all(&f);
    fixture_cleanup(&f);
    cleanup_dir();
}

/* fsync never: a spooled event is acknowledged as soon as it is written. */
static void test_queue_fsync_never_acks_on_write(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_NEVER);
    struct fixture f;

    make_dir();
    opt.disk_mode = LF_QUEUE_DISK_ALWAYS;
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    for (int i = 0; i < 20; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    LF_CHECK_INT_EQ(f.owner.spooled, 20);
    LF_CHECK_INT_EQ(f.owner.results, 0);

    /* Results of records sent from the spool do not reach the owner. */
    f.output.capacity = 100;
    lf_queue_on_output_ready(f.queue);
    LF_CHECK_INT_EQ(f.output.taken, 20);
    ack_all(&f);
    LF_CHECK_INT_EQ(f.owner.results, 0);
    LF_CHECK_INT_EQ(f.owner.twice, 0);
    LF_CHECK(lf_queue_idle(f.queue));
    fixture_cleanup(&f);
    cleanup_dir();
}

static void count_done(void *arg)
{
    int *done = arg;

    (*done)++;
}

/* Shutdown moves the memory queue to the spool and acknowledges it. */
static void test_queue_spool_memory(void)
{
    struct lf_queue_options opt = spool_options(LF_SPOOL_FSYNC_BATCH);
    struct lf_queue_stats stats;
    struct fixture f;
    int done = 0;

    make_dir();
    fixture_init(&f, 0);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    for (int i = 0; i < 10; i++) {
        LF_CHECK_INT_EQ(publish_next(&f), 0);
    }
    lf_queue_stats(f.queue, &stats);
    LF_CHECK_INT_EQ(stats.mem_events, 10);
    LF_CHECK_INT_EQ(lf_queue_spool_memory(f.queue, count_done, &done), 1);
    while (done == 0 && uv_run(&f.loop, UV_RUN_ONCE) != 0) {
    }
    LF_CHECK_INT_EQ(done, 1);
    LF_CHECK_INT_EQ(f.owner.spooled, 10);
    lf_queue_stats(f.queue, &stats);
    LF_CHECK_INT_EQ(stats.mem_events, 0);
    LF_CHECK_INT_EQ(stats.shutdown_spooled, 10);
    LF_CHECK_INT_EQ(stats.spool_records, 10);
    fixture_cleanup(&f);

    /* The next run sends them. */
    fixture_init(&f, 100);
    LF_CHECK_INT_EQ(open_queue(&f, &opt), 0);
    LF_CHECK_INT_EQ(f.output.taken, 10);
    LF_CHECK(ids_in_order(&f.output, 0, 0, 10));
    fixture_cleanup(&f);
    cleanup_dir();
}

int main(void)
{
    lf_log_set_level(LF_LOG_ERROR);
    LF_RUN(test_queue_memory_bound);
    LF_RUN(test_queue_overflow_to_spool);
    LF_RUN(test_queue_replay_after_restart);
    LF_RUN(test_queue_scan_spool_spans);
    LF_RUN(test_queue_enospc_backpressure);
    LF_RUN(test_queue_fsync_eio_reappends);
    LF_RUN(test_queue_fsync_never_acks_on_write);
    LF_RUN(test_queue_spool_memory);
    return lf_test_end();
}
