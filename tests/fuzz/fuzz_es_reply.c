/*
 * libFuzzer driver of the bulk reply reader. The first input byte, modulo
 * 16, is the number of items in the request and the rest is the reply
 * body, copied to a buffer of its exact size so that AddressSanitizer
 * catches any read past it. Aborts when an item is reported stored and
 * the reply, parsed by jansson, does not say so, or when the outcome
 * counts do not add up. README.md gives the build and run commands.
 */
#include "outputs/elasticsearch/es_reply.h"
#include "lf/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/es_reply_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lf_es_reply reply;
    struct lf_es_item_result item;
    size_t item_count;
    size_t total = 0;
    size_t items_read = 0;
    char *body;

    if (size == 0) {
        return 0;
    }
    item_count = data[0] % 16;
    body = lf_malloc(size - 1 > 0 ? size - 1 : 1);
    memcpy(body, data + 1, size - 1);
    if (lf_es_reply_open(&reply, body, size - 1, item_count) == 0) {
        const char *start = reply.pos;

        while (lf_es_reply_next(&reply, &item)) {
            const char *verdict =
                lf_es_oracle_check(start, (size_t)(reply.pos - start), &item);

            if (verdict != NULL) {
                fprintf(stderr, "item %zu: %s\n", items_read, verdict);
                abort();
            }
            start = reply.pos;
            items_read++;
        }
        for (size_t i = 0; i < LF_ES_ITEM_OUTCOME_COUNT; i++) {
            total += reply.count[i];
        }
        if (items_read != item_count || total != item_count ||
            lf_es_reply_missing(&reply) > item_count) {
            fprintf(stderr, "read %zu, counted %zu of %zu items\n", items_read,
                    total, item_count);
            abort();
        }
    }
    lf_free(body);
    return 0;
}
