/*
 * Bulk reply reader micro-benchmark: reads every item of a 10,000-item
 * `_bulk` reply held in memory, as es_send.c does after a request, and
 * prints the CPU time per reply. For comparison it also loads the same
 * body into a jansson tree, the way replies were read before, and prints
 * the heap bytes that tree takes.
 *
 *     build/bench/reply_bench [SECONDS]
 *
 * Two replies are measured: the compact one the output's filter_path
 * gives when every item succeeded, and an unfiltered 8.x reply with one
 * item in 100 rejected with 429.
 */
#include "outputs/elasticsearch/es_reply.h"
#include "lf/buf.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ITEMS = 10000 };

static size_t heap_bytes;
static size_t heap_peak;

/* jansson allocator that counts live bytes, for the size of a tree. */
static void *counting_malloc(size_t size)
{
    size_t *p = malloc(size + sizeof(size_t));

    if (p == NULL) {
        return NULL;
    }
    *p = size;
    heap_bytes += size;
    if (heap_bytes > heap_peak) {
        heap_peak = heap_bytes;
    }
    return p + 1;
}

static void counting_free(void *ptr)
{
    size_t *p = ptr;

    if (p == NULL) {
        return;
    }
    heap_bytes -= p[-1];
    free(p - 1);
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void build_compact(struct lf_buf *body)
{
    lf_buf_append_str(body, "{\"errors\":false,\"items\":[");
    for (size_t i = 0; i < ITEMS; i++) {
        lf_buf_append_str(body, i > 0 ? ",{\"create\":{\"status\":201}}"
                                      : "{\"create\":{\"status\":201}}");
    }
    lf_buf_append_str(body, "]}");
}

static void build_unfiltered(struct lf_buf *body)
{
    lf_buf_append_str(body, "{\"took\":31,\"errors\":true,\"items\":[");
    for (size_t i = 0; i < ITEMS; i++) {
        if (i > 0) {
            lf_buf_append_char(body, ',');
        }
        if (i % 100 == 7) {
            lf_buf_appendf(
                body,
                "{\"create\":{\"_index\":\".ds-logs-app-default-2026.03.01-"
                "000001\",\"_id\":\"00000000000a1b2c-%zx\",\"status\":429,"
                "\"error\":{\"type\":\"es_rejected_execution_exception\","
                "\"reason\":\"rejected execution of coordinating operation "
                "[coordinating_and_primary_bytes=0, replica_bytes=0, "
                "all_bytes=0, coordinating_operation_bytes=1024, "
                "max_coordinating_and_primary_bytes=107374182]\"}}}",
                i * 120);
        } else {
            lf_buf_appendf(
                body,
                "{\"create\":{\"_index\":\".ds-logs-app-default-2026.03.01-"
                "000001\",\"_id\":\"00000000000a1b2c-%zx\",\"_version\":1,"
                "\"result\":\"created\",\"_shards\":{\"total\":2,"
                "\"successful\":1,\"failed\":0},\"_seq_no\":%zu,"
                "\"_primary_term\":1,\"status\":201}}",
                i * 120, i);
        }
    }
    lf_buf_append_str(body, "]}");
}

static size_t read_reply(const struct lf_buf *body)
{
    struct lf_es_reply reply;
    struct lf_es_item_result item;
    size_t retry = 0;

    if (lf_es_reply_open(&reply, body->data, body->len, ITEMS) != 0) {
        fprintf(stderr, "reply_bench: the reply does not parse\n");
        exit(1);
    }
    while (lf_es_reply_next(&reply, &item)) {
        retry += item.outcome == LF_ES_ITEM_RETRY;
    }
    return retry;
}

static void run(const char *name, const struct lf_buf *body, double seconds)
{
    double start = cpu_seconds();
    double reader_s;
    double tree_s;
    size_t rounds = 0;
    size_t retry = 0;
    json_t *root;

    do {
        retry += read_reply(body);
        rounds++;
    } while (cpu_seconds() - start < seconds);
    reader_s = (cpu_seconds() - start) / (double)rounds;

    heap_peak = 0;
    start = cpu_seconds();
    for (size_t i = 0; i < rounds / 4 + 1; i++) {
        root = json_loadb(body->data, body->len, 0, NULL);
        json_decref(root);
    }
    tree_s = (cpu_seconds() - start) / (double)(rounds / 4 + 1);

    printf("%-10s %8zu bytes  reader %8.1f us (%5.1f ns/item, "
           "%zu retries/reply)  jansson tree %8.1f us, "
           "%zu bytes\n",
           name, body->len, reader_s * 1e6, reader_s * 1e9 / ITEMS,
           retry / rounds, tree_s * 1e6, heap_peak);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
    struct lf_buf body;

    if (seconds <= 0) {
        fprintf(stderr, "usage: reply_bench [SECONDS]\n");
        return 2;
    }
    json_set_alloc_funcs(counting_malloc, counting_free);
    lf_buf_init(&body);
    build_compact(&body);
    run("compact", &body, seconds);
    lf_buf_reset(&body);
    build_unfiltered(&body);
    run("unfiltered", &body, seconds);
    lf_buf_cleanup(&body);
    return 0;
}
