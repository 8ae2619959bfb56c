/*
 * Elasticsearch output, rejected documents. A mapping conflict that names
 * a field present in the document is sent once more with that field in
 * `labels`, and a document whose index name was rejected is sent once
 * more to index_fallback. Every other permanent failure is written to
 * the dead-letter queue, which is fsynced before es_send.c reports the
 * events and the registry moves past them. Each rejection is counted by
 * reason.
 */
#include "outputs/elasticsearch/es_output_private.h"
#include "outputs/elasticsearch/es_conflict.h"
#include "outputs/elasticsearch/es_dlq.h"
#include "outputs/elasticsearch/es_reply.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/* Characters of an error reason quoted in error.message. */
enum { ES_REASON_QUOTE_MAX = 300 };

static const char *const reason_names[] = {
    [LF_ES_REJECT_MAPPING] = "mapping",
    [LF_ES_REJECT_ITEM] = "item",
    [LF_ES_REJECT_TOO_LARGE] = "too_large",
    [LF_ES_REJECT_REQUEST] = "request",
};

const char *lf_es_reject_reason_name(enum lf_es_reject_reason reason)
{
    return reason_names[reason];
}

int lf_es_reject_open(struct lf_es_output *output)
{
    const struct lf_es_config *config = output->config;
    struct lf_buf dir;
    char errbuf[512];
    int rc;

    if (!config->dead_letter || config->data_path == NULL) {
        return 0;
    }
    lf_buf_init(&dir);
    lf_buf_appendf(&dir, "%s/%s", config->data_path, LF_ES_DLQ_DIR);
    rc = lf_es_dlq_open(dir.data, config->dead_letter_max_bytes,
                        &output->dlq, errbuf, sizeof(errbuf));
    if (rc != 0) {
        lf_log_error(LF_ES_LOG, "opening the dead-letter queue failed: %s "
                     "path=%s", errbuf, dir.data);
    }
    lf_buf_cleanup(&dir);
    return rc;
}

void lf_es_reject_close(struct lf_es_output *output)
{
    lf_es_dlq_close(output->dlq);
    output->dlq = NULL;
}

static int64_t now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The action line and the document line of one item, without '\n'. */
struct item_lines {
    const char *action;
    size_t action_len;
    const char *doc;
    size_t doc_len;
};

static void split_item(const struct lf_es_batch *batch, size_t index,
                       struct item_lines *out)
{
    const struct lf_es_item *item = &batch->items[index];
    const char *start = batch->body.data + item->offset;
    const char *nl = memchr(start, '\n', item->len);

    out->action = start;
    out->action_len = (size_t)(nl - start);
    out->doc = nl + 1;
    out->doc_len = item->len - out->action_len - 2;
}

/*
 * Fills the record's index, _id, action and routing from the item's
 * action line. Returns the parsed line, which owns those strings.
 */
static json_t *read_action(const struct lf_es_output *output,
                           const struct item_lines *lines,
                           struct lf_es_dlq_record *rec)
{
    json_t *root = json_loadb(lines->action, lines->action_len,
                              JSON_ALLOW_NUL, NULL);
    const char *action = json_object_iter_key(json_object_iter(root));
    json_t *meta = json_object_iter_value(json_object_iter(root));

    rec->action = action;
    rec->index = json_string_value(json_object_get(meta, "_index"));
    if (rec->index == NULL) {
        rec->index = output->config->index;
    }
    rec->id = json_string_value(json_object_get(meta, "_id"));
    rec->routing = json_string_value(json_object_get(meta, "routing"));
    return root;
}

/* Per call of the functions below: what to log once at the end. */
struct reject_run {
    size_t written;
    size_t dropped;
    int drop_error; /* LF_EFULL or the write error of the last drop */
};

static void write_record(struct lf_es_output *output,
                         const struct lf_es_batch *batch, size_t index,
                         struct lf_es_dlq_record *rec, struct reject_run *run)
{
    struct item_lines lines;
    json_t *action;
    int rc;

    if (output->dlq == NULL) {
        return;
    }
    split_item(batch, index, &lines);
    action = read_action(output, &lines, rec);
    rec->time_ms = now_ms();
    rec->doc = lines.doc;
    rec->doc_len = lines.doc_len;
    rc = lf_es_dlq_append(output->dlq, rec);
    json_decref(action);
    if (rc == 0) {
        run->written++;
        output->stats.dead_lettered++;
    } else {
        run->dropped++;
        run->drop_error = rc;
        output->stats.dead_letter_dropped++;
    }
}

/* Makes the run's records durable and logs what could not be written. */
static void finish_run(struct lf_es_output *output, struct reject_run *run)
{
    int rc = 0;

    if (run->written > 0) {
        rc = lf_es_dlq_sync(output->dlq);
    }
    if (rc != 0) {
        lf_log_error(LF_ES_LOG,
                     "fsync of the dead-letter queue failed: %s (%s); "
                     "records=%zu may be lost on a crash path=%s/%s",
                     lf_strerror(rc), lf_err_name(rc), run->written,
                     output->config->data_path, LF_ES_DLQ_DIR);
    }
    if (run->dropped == 0) {
        return;
    }
    if (run->drop_error == LF_EFULL) {
        lf_log_error(LF_ES_LOG,
                     "dead-letter queue full (dead_letter.max_bytes=%llu), "
                     "rejected documents not kept: %zu; run 'logferry dlq "
                     "replay' or raise the limit path=%s/%s",
                     (unsigned long long)output->config->dead_letter_max_bytes,
                     run->dropped, output->config->data_path, LF_ES_DLQ_DIR);
    } else {
        lf_log_error(LF_ES_LOG,
                     "writing to the dead-letter queue failed: %s (%s), "
                     "rejected documents not kept: %zu path=%s/%s",
                     lf_strerror(run->drop_error),
                     lf_err_name(run->drop_error), run->dropped,
                     output->config->data_path, LF_ES_DLQ_DIR);
    }
}

/*
 * Adds item `index` to `retry` with the conflicting field moved to
 * labels. Returns false when the item cannot be resent that way.
 */
static bool relocate_item(struct lf_es_output *output,
                          const struct lf_es_batch *batch, size_t index,
                          const struct lf_es_item_result *result,
                          struct lf_es_batch **retry)
{
    const char *reason = result->error_reason;
    char field[LF_ES_FIELD_MAX];
    struct item_lines lines;
    struct lf_buf message;
    struct lf_buf doc;
    int rc;

    if (batch->items[index].relocated ||
        !lf_es_conflict_field(result->error_type, reason, field)) {
        return false;
    }
    lf_buf_init(&message);
    lf_buf_init(&doc);
    lf_buf_appendf(&message, "field [%s] did not fit the index mapping and "
                   "was moved to ", field);
    lf_es_conflict_label(&message, field);
    lf_buf_appendf(&message, ": %s: %.*s", result->error_type,
                   ES_REASON_QUOTE_MAX, reason);

    split_item(batch, index, &lines);
    rc = lf_es_conflict_relocate(lines.doc, lines.doc_len, field,
                                 message.data, &doc);
    if (rc == 0) {
        if (*retry == NULL) {
            *retry = lf_es_batch_new(output);
        }
        lf_es_batch_add_lines(*retry, lines.action, lines.action_len,
                              doc.data, doc.len, batch->items[index].ref,
                              true);
        output->stats.events_relocated++;
        lf_log_warn(LF_ES_LOG, "document rejected, sending it again with "
                    "%s host=%s", message.data,
                    lf_es_send_host(output, batch));
    }
    lf_buf_cleanup(&message);
    lf_buf_cleanup(&doc);
    return rc == 0;
}

/*
 * Adds item `index` to `retry` with its `_index` replaced by
 * index_fallback, when Elasticsearch rejected the name that `index` gave.
 * Names are made valid before sending, but only ASCII capitals can be
 * lowered there, and Elasticsearch lowers all of Unicode to compare.
 * Returns false when the item cannot be resent that way.
 */
static bool redirect_item(struct lf_es_output *output,
                          const struct lf_es_batch *batch, size_t index,
                          const struct lf_es_item_result *result,
                          struct lf_es_batch **retry)
{
    const char *fallback = output->config->index_fallback;
    struct item_lines lines;
    json_t *action;
    json_t *meta;
    const char *name;
    char *text = NULL;
    bool added = false;

    if (batch->items[index].relocated ||
        strcmp(result->error_type, "invalid_index_name_exception") != 0 ||
        !lf_es_template_is_dynamic(&output->config->index_template)) {
        return false;
    }
    split_item(batch, index, &lines);
    action = json_loadb(lines.action, lines.action_len, JSON_ALLOW_NUL, NULL);
    meta = json_object_iter_value(json_object_iter(action));
    name = json_string_value(json_object_get(meta, "_index"));
    if (name != NULL && strcmp(name, fallback) != 0) {
        /* Logged before the name it points to is replaced and freed. */
        lf_log_warn(LF_ES_LOG, "index name rejected, sending the document to "
                    "index_fallback=%s: %s index=%s host=%s", fallback,
                    result->error_reason, name,
                    lf_es_send_host(output, batch));
        json_object_set_new(meta, "_index", json_string(fallback));
        text = json_dumps(action, JSON_COMPACT);
    }
    if (text != NULL) {
        if (*retry == NULL) {
            *retry = lf_es_batch_new(output);
        }
        lf_es_batch_add_lines(*retry, text, strlen(text), lines.doc,
                              lines.doc_len, batch->items[index].ref, true);
        output->stats.events_relocated++;
        added = true;
    }
    free(text);
    json_decref(action);
    return added;
}

static enum lf_es_reject_reason item_reason(
    const struct lf_es_item_result *result)
{
    char field[LF_ES_FIELD_MAX];

    if (strcmp(result->error_type, "mapper_parsing_exception") == 0 ||
        strcmp(result->error_type, "document_parsing_exception") == 0 ||
        lf_es_conflict_field(result->error_type, result->error_reason,
                             field)) {
        return LF_ES_REJECT_MAPPING;
    }
    return LF_ES_REJECT_ITEM;
}

bool *lf_es_reject_items(struct lf_es_output *output,
                         const struct lf_es_batch *batch,
                         const struct lf_es_reply *reply,
                         struct lf_es_batch **retry)
{
    struct reject_run run = {0};
    struct lf_es_reply scan = *reply; /* a cursor of its own on the body */
    struct lf_es_item_result result;
    bool *relocated = NULL;

    for (size_t i = 0; lf_es_reply_next(&scan, &result); i++) {
        struct lf_es_dlq_record rec = {0};

        if (result.outcome != LF_ES_ITEM_REJECTED) {
            continue;
        }
        if (relocated == NULL) {
            relocated = lf_calloc(reply->item_count, sizeof(*relocated));
        }
        if (relocate_item(output, batch, i, &result, retry) ||
            redirect_item(output, batch, i, &result, retry)) {
            relocated[i] = true;
            continue;
        }
        output->stats.rejected_by_reason[item_reason(&result)]++;
        rec.status = result.status;
        rec.error_type = result.error_type;
        rec.reason = result.error_reason;
        rec.caused_by =
            result.cause_reason[0] != '\0' ? result.cause_reason : NULL;
        write_record(output, batch, i, &rec, &run);
    }
    finish_run(output, &run);
    return relocated;
}

void lf_es_reject_batch(struct lf_es_output *output,
                        const struct lf_es_batch *batch,
                        enum lf_es_reject_reason reason, int status,
                        const char *error_type, const char *error_reason)
{
    struct reject_run run = {0};

    for (size_t i = 0; i < batch->count; i++) {
        struct lf_es_dlq_record rec = {0};

        output->stats.rejected_by_reason[reason]++;
        rec.status = status;
        rec.error_type = error_type;
        rec.reason = error_reason;
        write_record(output, batch, i, &rec, &run);
    }
    finish_run(output, &run);
}
