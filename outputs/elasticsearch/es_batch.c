/*
 * Batch storage for the Elasticsearch output: the body grows as events are
 * encoded, the item table records where each one sits, and the gzip copy
 * is made on a pool thread by lf_es_batch_compress().
 */
#include "outputs/elasticsearch/es_batch.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "outputs/elasticsearch/es_gzip.h"

#include <string.h>

enum { ES_BATCH_MIN_ITEMS = 64 };

struct lf_es_batch *lf_es_batch_new(struct lf_es_output *output)
{
    struct lf_es_batch *batch = lf_calloc(1, sizeof(*batch));

    batch->output = output;
    batch->state = LF_ES_BATCH_OPEN;
    lf_buf_init(&batch->body);
    lf_buf_init(&batch->gz);
    return batch;
}

void lf_es_batch_free(struct lf_es_batch *batch)
{
    if (batch == NULL) {
        return;
    }
    lf_buf_cleanup(&batch->body);
    lf_buf_cleanup(&batch->gz);
    lf_free(batch->items);
    lf_free(batch);
}

static void push_item(struct lf_es_batch *batch, size_t offset, size_t len,
                      struct lf_ack_ref ref)
{
    if (batch->count == batch->cap) {
        size_t cap = batch->cap == 0 ? ES_BATCH_MIN_ITEMS : batch->cap * 2;

        batch->items = lf_realloc(batch->items, cap * sizeof(*batch->items));
        batch->cap = cap;
    }
    batch->items[batch->count++] = (struct lf_es_item){
        .offset = offset,
        .len = len,
        .ref = ref,
    };
}

void lf_es_batch_add(struct lf_es_batch *batch, size_t offset,
                     struct lf_ack_ref ref)
{
    push_item(batch, offset, batch->body.len - offset, ref);
}

void lf_es_batch_copy_item(struct lf_es_batch *to,
                           const struct lf_es_batch *from, size_t index)
{
    const struct lf_es_item *item = &from->items[index];
    size_t offset = to->body.len;

    lf_buf_append(&to->body, from->body.data + item->offset, item->len);
    push_item(to, offset, item->len, item->ref);
    to->items[to->count - 1].relocated = item->relocated;
}

void lf_es_batch_add_lines(struct lf_es_batch *batch, const char *action,
                           size_t action_len, const char *doc, size_t doc_len,
                           struct lf_ack_ref ref, bool relocated)
{
    size_t offset = batch->body.len;

    lf_buf_append(&batch->body, action, action_len);
    lf_buf_append_char(&batch->body, '\n');
    lf_buf_append(&batch->body, doc, doc_len);
    lf_buf_append_char(&batch->body, '\n');
    push_item(batch, offset, batch->body.len - offset, ref);
    batch->items[batch->count - 1].relocated = relocated;
}

void lf_es_batch_move_last(struct lf_es_batch *to, struct lf_es_batch *from)
{
    lf_es_batch_copy_item(to, from, from->count - 1);
    from->count--;
    from->body.len = from->items[from->count].offset;
    from->body.data[from->body.len] = '\0';
}

int lf_es_batch_compress(struct lf_es_batch *batch,
                         struct lf_es_gzip *compressor)
{
    size_t bound = lf_es_gzip_bound(compressor, batch->body.len);
    size_t n;

    lf_buf_reset(&batch->gz);
    lf_buf_reserve(&batch->gz, bound);
    n = lf_es_gzip_compress(compressor, batch->body.data, batch->body.len,
                            batch->gz.data, bound);
    if (n == 0) {
        return LF_ETOOBIG;
    }
    batch->gz.len = n;
    batch->gz.data[n] = '\0';
    return 0;
}

const struct lf_buf *lf_es_batch_payload(const struct lf_es_batch *batch)
{
    return batch->gz.len > 0 ? &batch->gz : &batch->body;
}
