/*
 * Disk spool throughput: appends 300-byte payloads under each durability
 * policy (batch also with its syncs on libuv's thread pool), then reads
 * and acknowledges them all, and prints MB/s of payload and records/s. The
 * spool folder is created under the path given (default /tmp), so the result is
 * that of its file system.
 *
 *   build/bench/spool_bench [--records N] [--dir PATH]
 */
#include "agent/queue/spool.h"
#include "lf/error.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_BYTES 300
#define BATCH_RECORDS 500
#define INTERVAL_MS 1000

struct policy {
    const char *name;
    enum lf_spool_fsync fsync;
    bool pool; /* sync with lf_spool_sync_start() on libuv's pool */
};

static const struct policy policies[] = {
    {"batch", LF_SPOOL_FSYNC_BATCH, false},
    {"batch, pool", LF_SPOOL_FSYNC_BATCH, true},
    {"interval", LF_SPOOL_FSYNC_INTERVAL, false},
    {"never", LF_SPOOL_FSYNC_NEVER, false},
};

struct pool_sync {
    bool running;
    int status;
};

static void pool_sync_done(struct lf_spool *spool, int status, void *data)
{
    struct pool_sync *sync = data;

    (void)spool;
    sync->running = false;
    sync->status = status;
}

/*
 * Appends `records` payloads on a loop, starting a sync on the pool after
 * each BATCH_RECORDS appends unless one still runs, and then waits for the
 * last one. The loop only polls between appends, as an owner on the loop
 * would between events.
 */
static int append_all_pool(struct lf_spool *spool, uint64_t records,
                           uint64_t *syncs_out)
{
    struct pool_sync sync = {0};
    char payload[PAYLOAD_BYTES];
    uv_loop_t loop;
    uint64_t syncs = 0;
    int rc = uv_loop_init(&loop);

    memset(payload, 'p', sizeof(payload));
    for (uint64_t i = 1; i <= records && rc == 0 && sync.status == 0; i++) {
        uint64_t seq;

        memcpy(payload, &i, sizeof(i));
        rc = lf_spool_append(spool, payload, sizeof(payload), &seq);
        if (rc == 0 && i % BATCH_RECORDS == 0 && !sync.running) {
            rc = lf_spool_sync_start(spool, &loop, pool_sync_done, &sync);
            sync.running = rc == 0;
            syncs++;
        }
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    while (sync.running) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    if (rc == 0) {
        rc = sync.status;
    }
    if (rc == 0) {
        rc = lf_spool_sync(spool);
        syncs++;
    }
    uv_loop_close(&loop);
    *syncs_out = syncs;
    return rc;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    char file[4200];

    if (dir == NULL) {
        return;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') {
            snprintf(file, sizeof(file), "%s/%s", path, entry->d_name);
            unlink(file);
        }
    }
    closedir(dir);
    rmdir(path);
}

/* Appends `records` payloads. batch syncs every BATCH_RECORDS appends
 * and interval every INTERVAL_MS, while never syncs once at the end,
 * which only writes the checkpoint. */
static int append_all(struct lf_spool *spool, const struct policy *policy,
                      uint64_t records, uint64_t *syncs_out)
{
    char payload[PAYLOAD_BYTES];
    double last_sync = now_s();
    uint64_t syncs = 0;
    int rc = 0;

    memset(payload, 'p', sizeof(payload));
    for (uint64_t i = 1; i <= records && rc == 0; i++) {
        uint64_t seq;

        memcpy(payload, &i, sizeof(i));
        rc = lf_spool_append(spool, payload, sizeof(payload), &seq);
        if (rc == 0 && policy->fsync == LF_SPOOL_FSYNC_BATCH &&
            i % BATCH_RECORDS == 0) {
            rc = lf_spool_sync(spool);
            syncs++;
        }
        if (rc == 0 && policy->fsync == LF_SPOOL_FSYNC_INTERVAL &&
            i % 1024 == 0 && now_s() - last_sync >= INTERVAL_MS / 1e3) {
            rc = lf_spool_sync(spool);
            last_sync = now_s();
            syncs++;
        }
    }
    if (rc == 0) {
        rc = lf_spool_sync(spool);
        syncs++;
    }
    *syncs_out = syncs;
    return rc;
}

static int drain_all(struct lf_spool *spool, uint64_t *read_out)
{
    const void *payload;
    size_t len;
    uint64_t seq;
    uint64_t read = 0;
    int rc;

    while ((rc = lf_spool_read(spool, &payload, &len, &seq)) == 1) {
        rc = lf_spool_ack(spool, seq);
        if (rc != 0) {
            return rc;
        }
        read++;
    }
    *read_out = read;
    return rc == 0 ? lf_spool_sync(spool) : rc;
}

static int run(const struct policy *policy, const char *base, uint64_t records)
{
    struct lf_spool_options options = {
        .segment_bytes = LF_SPOOL_SEGMENT_BYTES_DEFAULT,
        .max_bytes = 64ull * 1024 * 1024 * 1024,
        .fsync = policy->fsync,
    };
    struct lf_spool *spool = NULL;
    char dir[4096];
    double mb = (double)records * PAYLOAD_BYTES / 1e6;
    double start;
    double append_s;
    double drain_s;
    uint64_t syncs = 0;
    uint64_t read = 0;
    int rc;

    snprintf(dir, sizeof(dir), "%s/lf-spool-bench-%ld", base, (long)getpid());
    remove_dir(dir);
    rc = lf_spool_open(dir, &options, &spool);
    if (rc != 0) {
        fprintf(stderr, "open %s failed: %s\n", dir, lf_strerror(rc));
        return 1;
    }

    start = now_s();
    if (policy->pool) {
        rc = append_all_pool(spool, records, &syncs);
    } else {
        rc = append_all(spool, policy, records, &syncs);
    }
    append_s = now_s() - start;
    if (rc == 0) {
        start = now_s();
        rc = drain_all(spool, &read);
        drain_s = now_s() - start;
    }
    lf_spool_close(spool);
    remove_dir(dir);
    if (rc != 0 || read != records) {
        fprintf(stderr, "%s: failed: %s, read %" PRIu64 " of %" PRIu64 "\n",
                policy->name, lf_strerror(rc), read, records);
        return 1;
    }

    printf("| %s | %" PRIu64 " | %" PRIu64 " | %.2f | %.0f | %.1f | %.0f "
           "| %.1f |\n",
           policy->name, records, syncs, append_s, records / append_s,
           mb / append_s, records / drain_s, mb / drain_s);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t records = 1000000;
    const char *base = "/tmp";
    int failed = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--records") == 0) {
            records = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--dir") == 0) {
            base = argv[i + 1];
        } else {
            fprintf(stderr, "usage: %s [--records N] [--dir PATH]\n", argv[0]);
            return 2;
        }
    }
    if (records == 0) {
        fprintf(stderr, "--records must be a positive integer\n");
        return 2;
    }

    printf("| policy | records | syncs | append s | appends/s | append MB/s "
           "| read+ack records/s | read+ack MB/s |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        failed += run(&policies[i], base, records);
    }
    return failed > 0 ? 1 : 0;
}
