/*
 * A short, deterministic version of tests/fuzz/fuzz_es_reply.c: replies
 * captured from real clusters and hand-written ones are mutated with a
 * fixed seed, and every mutant is read with the item counts around the
 * original's. No item may be reported stored unless the reply, parsed
 * again by jansson, shows it as stored, and the outcome counts must add
 * up. Under AddressSanitizer, a read past the body fails the test too.
 */
#include "outputs/elasticsearch/es_reply.h"
#include "lf/buf.h"
#include "lf/mem.h"

#include <jansson.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "es_reply_oracle.h"
#include "lf_test.h"

enum { MUTANTS_PER_SEED = 3000 };

static const char *const fixture_files[] = {
    "elasticsearch-bulk/responses/es-hadoop/bulk-error.json",
    "elasticsearch-bulk/responses/es-hadoop/bulk-retry-output-es090x.json",
    "elasticsearch-bulk/responses/es-hadoop/bulk-retry-output-es10x.json",
    "elasticsearch-bulk/responses/es-hadoop/bulk-retry-output-es1x.json",
    "elasticsearch-bulk/responses/es-hadoop/bulk-retry-output-es5x.json",
    "elasticsearch-bulk/responses/es-specification/"
    "BulkResponseExample3.json",
};

static const char *const literal_seeds[] = {
    "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},"
    "{\"create\":{\"status\":429,\"error\":{\"type\":"
    "\"es_rejected_execution_exception\",\"reason\":\"r\"}}},"
    "{\"create\":{\"status\":409}}]}",
    "{\"items\":[{\"index\":{\"_index\":\"a\",\"_id\":\"1-2\","
    "\"status\":200,\"result\":\"created\"}},"
    "{\"delete\":{\"status\":404,\"result\":\"not_found\"}}]}",
    "{\"took\":1,\"errors\":false,\"items\":[{\"create\":{\"status\":400,"
    "\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":"
    "\"caf\\u00e9 \\ud83d\\ude00 \\\"x\\\"\",\"caused_by\":{\"type\":\"t\","
    "\"reason\":\"c\"}}}},{\"create\":{\"error\":"
    "\"DocumentAlreadyExistsException[[x][0] [t][1]: exists]\"}}]}",
};

/* Bytes and tokens a mutation inserts: the reply's own vocabulary. */
static const char *const tokens[] = {
    "\"status\":", "\"error\":", "\"ok\":true", "201", "409", "429", "503",
    "-",           ".0",         "e2",          "0",   "\"",  "\\",  "\\u0000",
    "\\ud83d",     ",",          ":",           "{",   "}",   "[",   "]",
    "null",        "true",       "\"create\":", " ",
};

/* xorshift64: the same sequence on every run. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static size_t random_below(uint64_t *state, size_t n)
{
    return n == 0 ? 0 : (size_t)(next_random(state) % n);
}

/* Applies one to four random edits to `buf`. */
static void mutate(struct lf_buf *buf, uint64_t *state)
{
    size_t edits = 1 + random_below(state, 4);

    for (size_t e = 0; e < edits; e++) {
        size_t len = buf->len;
        size_t at = random_below(state, len + 1);
        const char *token;
        char range[64];
        size_t cut;

        switch (random_below(state, 5)) {
        case 0: /* flip a byte */
            if (at < len) {
                buf->data[at] = (char)next_random(state);
            }
            break;
        case 1: /* insert a token */
            token = tokens[random_below(state, LF_ARRAY_SIZE(tokens))];
            lf_buf_append(buf, token, strlen(token));
            memmove(buf->data + at + strlen(token), buf->data + at, len - at);
            memcpy(buf->data + at, token, strlen(token));
            break;
        case 2: /* delete a range */
            cut = random_below(state, len - at + 1);
            if (cut > 16) {
                cut = 16;
            }
            memmove(buf->data + at, buf->data + at + cut, len - at - cut);
            buf->len -= cut;
            break;
        case 3: /* cut the reply short */
            buf->len = at;
            break;
        default: /* repeat a range */
            cut = random_below(state, len - at + 1);
            if (cut > 64) {
                cut = 64;
            }
            memcpy(range, buf->data + at, cut);
            lf_buf_append(buf, range, cut);
            memmove(buf->data + at + cut, buf->data + at, len - at);
            break;
        }
    }
}

/* Reads `body` as a reply to `item_count` items and checks every item. */
static void check_reply(const char *body, size_t len, size_t item_count,
                        size_t *stored)
{
    struct lf_es_reply reply;
    struct lf_es_item_result item;
    char *exact = lf_malloc(len > 0 ? len : 1);
    size_t items_read = 0;
    size_t total = 0;
    const char *start;

    /* A copy of the exact size, so that ASan detects a read past its end. */
    memcpy(exact, body, len);
    if (lf_es_reply_open(&reply, exact, len, item_count) != 0) {
        lf_free(exact);
        return;
    }
    start = reply.pos;
    while (lf_es_reply_next(&reply, &item)) {
        const char *verdict =
            lf_es_oracle_check(start, (size_t)(reply.pos - start), &item);

        if (verdict != NULL) {
            LF_FAIL_AT("item %zu of %zu: %s in %.*s", items_read, item_count,
                       verdict, (int)len, body);
        }
        if (item.outcome == LF_ES_ITEM_INDEXED ||
            item.outcome == LF_ES_ITEM_DUPLICATE) {
            (*stored)++;
        }
        start = reply.pos;
        items_read++;
    }
    for (size_t i = 0; i < LF_ES_ITEM_OUTCOME_COUNT; i++) {
        total += reply.count[i];
    }
    LF_CHECK_INT_EQ(items_read, item_count);
    LF_CHECK_INT_EQ(total, item_count);
    LF_CHECK(lf_es_reply_missing(&reply) <= item_count);
    lf_free(exact);
}

static void mutate_seed(const char *body, size_t len, uint64_t seed,
                        size_t *stored)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    size_t items = json_array_size(json_object_get(doc, "items"));
    uint64_t state = seed;
    struct lf_buf buf;

    LF_CHECK(items > 0);
    json_decref(doc);
    lf_buf_init(&buf);
    check_reply(body, len, items, stored);
    for (int m = 0; m < MUTANTS_PER_SEED; m++) {
        buf.len = 0;
        lf_buf_append(&buf, body, len);
        mutate(&buf, &state);
        for (size_t n = items > 0 ? items - 1 : 0; n <= items + 1; n++) {
            check_reply(buf.data, buf.len, n, stored);
        }
    }
    lf_buf_cleanup(&buf);
}

static void test_es_reply_mutate_fixtures(void)
{
    size_t stored = 0;

    for (size_t i = 0; i < LF_ARRAY_SIZE(fixture_files); i++) {
        const char *path = lf_test_fixture(fixture_files[i]);
        FILE *f = fopen(path, "rb");
        struct lf_buf body;
        char chunk[4096];
        size_t n;

        if (f == NULL) {
            LF_FAIL_AT("cannot open %s", path);
            continue;
        }
        lf_buf_init(&body);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
            lf_buf_append(&body, chunk, n);
        }
        fclose(f);
        mutate_seed(body.data, body.len, 0x9E3779B97F4A7C15u + i, &stored);
        lf_buf_cleanup(&body);
    }
    /* Mutants that keep stored items must exist, or nothing was checked. */
    LF_CHECK(stored > 1000);
}

static void test_es_reply_mutate_literals(void)
{
    size_t stored = 0;

    for (size_t i = 0; i < LF_ARRAY_SIZE(literal_seeds); i++) {
        mutate_seed(literal_seeds[i], strlen(literal_seeds[i]),
                    0xD1B54A32D192ED03u + i, &stored);
    }
    LF_CHECK(stored > 1000);
}

int main(void)
{
    LF_RUN(test_es_reply_mutate_fixtures);
    LF_RUN(test_es_reply_mutate_literals);
    return lf_test_end();
}
