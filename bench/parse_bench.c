/*
 * Parser micro-benchmark: runs a preset over an in-memory set of
 * realistic lines, on one thread, and prints the input rate. No I/O,
 * JSON encoding or shipping is measured: only the preset's apply on a
 * reused event, as the pipeline calls it.
 *
 *     build/bench/parse_bench [SECONDS [NAME]]
 *
 * runs each benchmark, or only NAME (app, app-machine, nginx or
 * nginx-error), for SECONDS (default 3) of CPU time and prints MB/s of
 * input and lines/s per CPU second.
 */
#include "lf/event.h"
#include "lf/mem.h"
#include "parsers/presets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 15 to 30 MB of lines per benchmark, depending on the line length. */
enum { BENCH_LINES = 120000 };

struct line_set {
    char *data;
    size_t *offsets; /* BENCH_LINES + 1 entries, into data */
    size_t bytes;
};

typedef int (*format_line_fn)(char *out, size_t size, unsigned i);

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
static const char *const levels[] = {"INFO",  "INFO", "INFO",
                                     "DEBUG", "WARN", "ERROR"};
static const int statuses[] = {200, 200, 200, 201, 204, 304, 404, 500, 503};

/* A mix of the application line shapes that the `app` preset targets. */
static int format_app_line(char *out, size_t size, unsigned i)
{
    unsigned s = i % 60;
    unsigned ms = i % 997;

    switch (i % 4) {
    case 0:
        return snprintf(out, size,
                        "2024-03-05T07:%02u:%02u.%03uZ %s [txn=%08x] %s "
                        "/api/tasks/%u?page=%u %d %ums trace_id=%016x%08x "
                        "user=u%u",
                        s, (s * 7) % 60, ms, levels[i % 6], i * 2654435761u,
                        methods[i % 4], i, i % 9, statuses[i % 9], ms,
                        i * 40503u, i, i % 5000);
    case 1:
        return snprintf(out, size,
                        "2024-03-05 07:%02u:%02u,%03u %s [worker-%u] "
                        "com.example.billing.InvoiceService - invoice %u "
                        "rendered for account %u in %u.%03us",
                        s, (s * 7) % 60, ms, levels[i % 6], i % 16, i, i % 7919,
                        i % 3, ms);
    case 2:
        return snprintf(out, size,
                        "time=\"2024-03-05T07:%02u:%02uZ\" level=%s "
                        "msg=\"cache refresh finished\" component=cache "
                        "entries=%u took=%uus request_id=req-%u",
                        s, (s * 7) % 60, i % 3 ? "info" : "warning", i % 100000,
                        ms, i);
    default:
        return snprintf(out, size,
                        "[2024-03-05 07:%02u:%02u,%03u] ERROR in app: "
                        "payment provider returned an unexpected response "
                        "for order %u, retrying with backoff %ums",
                        s, (s * 7) % 60, ms, i, ms);
    }
}

/*
 * Machine and platform log layouts that `app` reads: Android logcat,
 * yy/MM/dd and yyMMdd HHmmss dates, a time after a file name, Unix
 * seconds after a dash with component codes before the level, and a
 * level after "time, ".
 */
static int format_app_machine_line(char *out, size_t size, unsigned i)
{
    unsigned s = i % 60;
    unsigned ms = i % 997;

    switch (i % 6) {
    case 0:
        return snprintf(out, size,
                        "03-05 07:%02u:%02u.%03u  %u  %u %c ActivityManager: "
                        "Start proc %u:com.example.app/u0a%u for service",
                        s, (s * 7) % 60, ms, 1000 + i % 3000, 1000 + i % 5000,
                        "VDIWEF"[i % 6], i % 30000, i % 200);
    case 1:
        return snprintf(out, size,
                        "24/03/05 07:%02u:%02u %s storage.BlockManager: "
                        "Found block rdd_%u_%u locally",
                        s, (s * 7) % 60, levels[i % 6], i % 40, i % 1000);
    case 2:
        return snprintf(out, size,
                        "240305 07%02u%02u %u %s dfs.DataNode$PacketResponder: "
                        "Received block blk_%u of size %u from /10.0.%u.%u",
                        s, (s * 7) % 60, i % 400, levels[i % 6], i, i % 65536,
                        i % 256, (i / 256) % 256);
    case 3:
        return snprintf(out, size,
                        "api.log.1.2024-03-05_07:00:00 2024-03-05 "
                        "07:%02u:%02u.%03u %u %s api.server [req-%08x] "
                        "\"GET /v2/servers/%u HTTP/1.1\" status: %d",
                        s, (s * 7) % 60, ms, 20000 + i % 9000, levels[i % 6],
                        i * 2654435761u, i, statuses[i % 9]);
    case 4:
        return snprintf(
            out, size,
            "- %u 2024.03.05 R%02u-M%u-N%u 2024-03-05-07.%02u.%02u.%06u "
            "R%02u-M%u-N%u RAS KERNEL %s cache parity error corrected",
            1709622489u + i % 3600, i % 64, i % 2, i % 16, s, (s * 7) % 60,
            i % 1000000, i % 64, i % 2, i % 16, levels[i % 6]);
    default:
        return snprintf(out, size,
                        "2024-03-05 07:%02u:%02u, %s                  CBS    "
                        "Loaded servicing stack v6.1.%u with core",
                        s, (s * 7) % 60, i % 2 ? "Info" : "Warning", i % 10000);
    }
}

/* nginx's default combined format, with a few IPv6 and long agents. */
static int format_nginx_line(char *out, size_t size, unsigned i)
{
    return snprintf(
        out, size,
        "%u.%u.%u.%u - - [05/Mar/2024:07:%02u:%02u +0000] \"%s "
        "/api/v1/items/%u?fields=name,price HTTP/1.1\" %d %u "
        "\"https://shop.example.com/cart\" \"Mozilla/5.0 (X11; Linux "
        "x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 "
        "Safari/537.36\"",
        203, i % 256, (i / 256) % 256, 1 + i % 250, i % 60, (i * 7) % 60,
        methods[i % 4], i, statuses[i % 9], 512 + i % 30000);
}

static int format_nginx_error_line(char *out, size_t size, unsigned i)
{
    return snprintf(out, size,
                    "2024/03/05 07:%02u:%02u [error] %u#%u: *%u open() "
                    "\"/usr/share/nginx/html/missing-%u.png\" failed (2: No "
                    "such file or directory), client: 198.51.100.%u, "
                    "server: shop.example.com, request: \"GET "
                    "/missing-%u.png HTTP/1.1\", host: \"shop.example.com\"",
                    i % 60, (i * 7) % 60, 1000 + i % 4, i % 4, i, i, i % 256,
                    i);
}

static void build_lines(struct line_set *set, format_line_fn format)
{
    char line[1024];
    size_t cap = 1u << 20;

    set->data = lf_malloc(cap);
    set->offsets = lf_malloc((BENCH_LINES + 1) * sizeof(*set->offsets));
    set->bytes = 0;
    for (unsigned i = 0; i < BENCH_LINES; i++) {
        int n = format(line, sizeof(line), i);
        size_t len = n < 0 ? 0 : (size_t)n;

        if (len >= sizeof(line)) {
            len = sizeof(line) - 1;
        }
        while (set->bytes + len > cap) {
            cap *= 2;
            set->data = lf_realloc(set->data, cap);
        }
        set->offsets[i] = set->bytes;
        memcpy(set->data + set->bytes, line, len);
        set->bytes += len;
    }
    set->offsets[BENCH_LINES] = set->bytes;
}

/*
 * CPU time of this thread, so that other load on a shared machine
 * lengthens the run but not the measured time.
 */
static double cpu_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses the set until `seconds` have passed; prints the rates. */
static int run(const char *label, const char *preset_name,
               format_line_fn format, double seconds)
{
    struct lf_preset *preset = NULL;
    struct line_set set;
    struct lf_event ev;
    uint64_t matched = 0;
    uint64_t fields = 0;
    uint64_t passes = 0;
    double start;
    double elapsed;

    if (lf_preset_new(preset_name, &preset) != 0) {
        fprintf(stderr, "preset %s not found\n", preset_name);
        return 1;
    }
    build_lines(&set, format);
    lf_event_init(&ev);
    start = cpu_now_s();
    do {
        for (unsigned i = 0; i < BENCH_LINES; i++) {
            const char *line = set.data + set.offsets[i];
            size_t len = set.offsets[i + 1] - set.offsets[i];

            lf_event_reset(&ev);
            ev.message = line;
            ev.message_len = len;
            matched += lf_preset_apply(preset, &ev, line, len, 0) == 0 &&
                       ev.field_count > 0;
            fields += ev.field_count;
        }
        passes++;
        elapsed = cpu_now_s() - start;
    } while (elapsed < seconds);
    printf("%-12s %8.1f MB/s %10.0f lines/s  %5.1f fields/line  "
           "%llu of %llu lines matched\n",
           label, (double)set.bytes * (double)passes / elapsed / 1e6,
           (double)BENCH_LINES * (double)passes / elapsed,
           (double)fields / (double)(passes * BENCH_LINES),
           (unsigned long long)matched,
           (unsigned long long)(passes * BENCH_LINES));
    lf_event_cleanup(&ev);
    lf_free(set.data);
    lf_free(set.offsets);
    lf_preset_free(preset);
    return 0;
}

static const struct {
    const char *label;
    const char *preset;
    format_line_fn format;
} benchmarks[] = {
    {"app", "app", format_app_line},
    {"app-machine", "app", format_app_machine_line},
    {"nginx", "nginx", format_nginx_line},
    {"nginx-error", "nginx", format_nginx_error_line},
};

int main(int argc, char **argv)
{
    const char *only = argc > 2 ? argv[2] : NULL;
    double seconds = 3.0;
    int rc = 0;

    if (argc > 1) {
        seconds = strtod(argv[1], NULL);
        if (!(seconds > 0)) {
            fprintf(stderr, "usage: parse_bench [SECONDS [NAME]], "
                            "SECONDS > 0\n");
            return 2;
        }
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(benchmarks); i++) {
        if (only == NULL || strcmp(only, benchmarks[i].label) == 0) {
            rc |= run(benchmarks[i].label, benchmarks[i].preset,
                      benchmarks[i].format, seconds);
        }
    }
    return rc;
}
