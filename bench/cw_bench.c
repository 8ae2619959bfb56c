/*
 * CloudWatch Logs micro-benchmark: SigV4 signing of PutLogEvents requests,
 * batch building and body encoding, on one thread, in memory. No I/O.
 *
 *     build/bench/cw_bench [SECONDS [NAME]]
 *
 * runs each benchmark, or only NAME (sign, batch, batch-late or
 * batch-encode), for about SECONDS (default 3) of CPU time and prints
 * its rate per CPU second.
 */
#include "lf/buf.h"
#include "lf/mem.h"
#include "outputs/cloudwatch/cw_batch.h"
#include "outputs/cloudwatch/cw_encode.h"
#include "outputs/cloudwatch/sigv4.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Events per batch-building round: 100 full batches of 10,000. */
enum { ROUND_EVENTS = 1000000 };

/* Pending events at which a batch is taken: two full batches, so that
 * late events can still be sorted in. */
enum { PENDING_EVENTS = 2 * LF_CW_MAX_BATCH_EVENTS };

/* Distinct messages, formatted before the clock starts and reused. */
enum { MESSAGE_COUNT = 4096 };

/* 2026-03-02T12:00:00Z in milliseconds. */
#define NOW_MS 1772452800000LL

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct lf_sigv4_credentials creds = {
    .access_key_id = "AKIDEXAMPLE",
    .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    .session_token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4",
};

/* Signs PutLogEvents requests with a body of `body_len` bytes. */
static void bench_sign(double seconds, size_t body_len)
{
    struct lf_sigv4_signer *signer = lf_sigv4_signer_new();
    struct lf_sigv4_header headers[] = {
        {"Host", 4, "logs.us-east-1.amazonaws.com", 28},
        {"Content-Type", 12, LF_CW_CONTENT_TYPE,
         sizeof(LF_CW_CONTENT_TYPE) - 1},
        {"X-Amz-Target", 12, LF_CW_TARGET_PUT_LOG_EVENTS,
         sizeof(LF_CW_TARGET_PUT_LOG_EVENTS) - 1},
    };
    char *body = lf_malloc(body_len);
    struct lf_sigv4_request req = {
        .method = "POST",
        .path = "/",
        .path_len = 1,
        .headers = headers,
        .header_count = 3,
        .payload = body,
        .payload_len = body_len,
    };
    struct lf_sigv4_params params = {
        .region = "us-east-1",
        .service = LF_CW_SIGNING_NAME,
        .time_s = NOW_MS / 1000,
        .mode = LF_SIGV4_MODE_HEADER,
        .flags = LF_SIGV4_NORMALIZE_PATH,
    };
    struct lf_sigv4_output out;
    uint64_t count = 0;
    double start;
    double used;

    memset(body, 'x', body_len);
    lf_sigv4_output_init(&out);
    start = cpu_seconds();
    do {
        /* The clock advances one second per 64 requests. */
        params.time_s++;
        for (int i = 0; i < 64; i++) {
            if (lf_sigv4_sign(signer, &creds, &params, &req, &out) != 0) {
                fprintf(stderr, "signing failed\n");
                exit(1);
            }
        }
        count += 64;
        used = cpu_seconds() - start;
    } while (used < seconds);

    printf("sign, %zu-byte body: %.0f requests/s (%.1f MB/s of body), "
           "%llu signing keys derived\n",
           body_len, (double)count / used,
           (double)count * (double)body_len / used / 1e6,
           (unsigned long long)lf_sigv4_signer_key_derivations(signer));
    lf_sigv4_output_cleanup(&out);
    lf_sigv4_signer_free(signer);
    lf_free(body);
}

/* Messages of 80 to 240 bytes, as application log lines are. */
static size_t format_message(char *out, size_t size, unsigned i)
{
    int n = snprintf(out, size,
                     "2026-03-02T11:%02u:%02u.%03uZ INFO [worker-%u] "
                     "request_id=%08x path=/api/orders/%u status=200 "
                     "duration_ms=%u %.*s",
                     (i / 60) % 60, i % 60, i % 1000, i % 16, i * 2654435761u,
                     i, i % 997, (int)(i % 160),
                     "lorem ipsum dolor sit amet consectetur adipiscing elit "
                     "sed do eiusmod tempor incididunt ut labore et dolore "
                     "magna aliqua ut enim ad minim veniam quis nostrud");

    return (size_t)n < size ? (size_t)n : size - 1;
}

/* Takes one batch, encodes it into `body` unless NULL, and frees it.
 * Returns the body's length. */
static size_t take_one(struct lf_cw_batcher *b, struct lf_buf *body)
{
    struct lf_cw_batch *batch = lf_cw_batcher_take(b);
    size_t len = 0;

    if (body != NULL) {
        lf_buf_reset(body);
        lf_cw_encode_put_log_events(body, "/ecs/bench", "stream", batch, NULL);
        len = body->len;
    }
    lf_cw_batch_free(batch);
    return len;
}

/*
 * Adds ROUND_EVENTS events per round. It takes a batch whenever two full
 * batches are pending, as an output would, and the rest at the end.
 * With `shuffled` set, one event in eight arrives 5 seconds late, so the
 * builder sorts.
 */
static void bench_batch(double seconds, bool shuffled, bool encode)
{
    struct lf_cw_batch_options opts;
    struct lf_cw_batcher *b;
    struct lf_buf body;
    char(*messages)[256] = lf_malloc(MESSAGE_COUNT * sizeof(*messages));
    size_t *lengths = lf_malloc(MESSAGE_COUNT * sizeof(*lengths));
    char err[128];
    uint64_t events = 0;
    uint64_t body_bytes = 0;
    double start;
    double used;

    for (unsigned i = 0; i < MESSAGE_COUNT; i++) {
        lengths[i] = format_message(messages[i], sizeof(messages[i]), i);
    }
    lf_cw_batch_options_init(&opts);
    b = lf_cw_batcher_new(&opts, err, sizeof(err));
    lf_buf_init(&body);
    start = cpu_seconds();
    do {
        for (unsigned i = 0; i < ROUND_EVENTS; i++) {
            unsigned m = i % MESSAGE_COUNT;
            int64_t ts = NOW_MS - ROUND_EVENTS + i;
            struct lf_cw_event_ref ref = {NULL, i};
            enum lf_cw_add_result result;

            if (shuffled && i % 8 == 0) {
                ts -= 5000;
            }
            lf_cw_batcher_add(b, ts, messages[m], lengths[m], ref, NOW_MS,
                              &result);
            if (lf_cw_batcher_pending(b) >= PENDING_EVENTS) {
                body_bytes += take_one(b, encode ? &body : NULL);
            }
        }
        while (lf_cw_batcher_pending(b) > 0) {
            body_bytes += take_one(b, encode ? &body : NULL);
        }
        events += ROUND_EVENTS;
        used = cpu_seconds() - start;
    } while (used < seconds);

    printf("batch%s%s: %.0f events/s", shuffled ? ", 1 in 8 late" : "",
           encode ? " + encode" : "", (double)events / used);
    if (encode) {
        printf(" (%.1f MB/s of body)", (double)body_bytes / used / 1e6);
    }
    printf("\n");
    lf_buf_cleanup(&body);
    lf_cw_batcher_free(b);
    lf_free(lengths);
    lf_free(messages);
}

static bool wanted(const char *only, const char *name)
{
    return only == NULL || strcmp(only, name) == 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    const char *only = argc > 2 ? argv[2] : NULL;

    if (seconds <= 0) {
        fprintf(stderr, "usage: cw_bench [SECONDS [NAME]]\n");
        return 2;
    }
    if (wanted(only, "sign")) {
        bench_sign(seconds, 1024);
        bench_sign(seconds, LF_CW_MAX_BATCH_BYTES);
    }
    if (wanted(only, "batch")) {
        bench_batch(seconds, false, false);
    }
    if (wanted(only, "batch-late")) {
        bench_batch(seconds, true, false);
    }
    if (wanted(only, "batch-encode")) {
        bench_batch(seconds, false, true);
    }
    return 0;
}
