/*
 * `logferry dlq list` and `logferry dlq replay`. Both read the text of
 * every record of the dead-letter queue files into memory, which the
 * queue's dead_letter.max_bytes bounds, and parse a record only while it
 * is printed or sent: a parsed record takes several times its text.
 * Replay sends the records through the
 * Elasticsearch output on its own loop, then writes the records that
 * were not delivered to a new queue file before removing the old ones.
 */
#include "agent/dlq_command.h"
#include "agent/registry/registry.h"
#include "agent/agent.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "outputs/elasticsearch/es_dlq.h"
#include "outputs/elasticsearch/es_output.h"

#include <jansson.h>
#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How often replay checks for progress. */
enum { REPLAY_CHECK_MS = 200 };

enum record_state {
    RECORD_PENDING,
    RECORD_INDEXED,
    RECORD_DUPLICATE,
    RECORD_REJECTED,
};

struct record {
    char *line; /* the record as stored, without '\n' */
    size_t len;
    json_t *root; /* parsed line while in use (record_parse()), or NULL */
    enum record_state state;
};

struct queue {
    char *dir;
    char **files;
    size_t file_count;
    struct record *records;
    size_t count;
    size_t cap;
    size_t torn;       /* torn last lines skipped */
    size_t duplicates; /* records of an index and _id seen before */
    json_t *seen;      /* "<index>\x1f<_id>" of the records kept */
};

/* ---- reading the queue ---- */

/* Parses the line into rec->root, left NULL when it is not valid JSON. */
static void record_parse(struct record *rec)
{
    /* Documents may hold "\u0000", from NUL bytes of a log line. */
    rec->root = json_loadb(rec->line, rec->len, JSON_ALLOW_NUL, NULL);
}

static void record_release(struct record *rec)
{
    json_decref(rec->root);
    rec->root = NULL;
}

static const char *record_str(const struct record *rec, const char *key)
{
    return json_string_value(json_object_get(rec->root, key));
}

/*
 * Returns true when the queue already contains a record of the same
 * index and `_id`, as after a replay interrupted between writing the
 * kept records and removing the old files.
 */
static bool seen_before(struct queue *q, const struct record *rec)
{
    const char *index = record_str(rec, "index");
    const char *id = record_str(rec, "_id");
    struct lf_buf key;
    bool seen;

    if (index == NULL || id == NULL) {
        return false;
    }
    lf_buf_init(&key);
    lf_buf_appendf(&key, "%s\x1f%s", index, id);
    seen = json_object_get(q->seen, key.data) != NULL;
    if (!seen) {
        json_object_set_new(q->seen, key.data, json_true());
    }
    lf_buf_cleanup(&key);
    return seen;
}

static int add_line(void *arg, const char *line, size_t len)
{
    struct queue *q = arg;
    struct record rec = {0};

    if (len == 0) {
        return 0;
    }
    rec.line = lf_strndup(line, len);
    rec.len = len;
    record_parse(&rec);
    if (seen_before(q, &rec)) {
        q->duplicates++;
        record_release(&rec);
        lf_free(rec.line);
        return 0;
    }
    record_release(&rec);
    if (q->count == q->cap) {
        q->cap = q->cap == 0 ? 64 : q->cap * 2;
        q->records = lf_realloc(q->records, q->cap * sizeof(*q->records));
    }
    q->records[q->count++] = rec;
    return 0;
}

static void queue_cleanup(struct queue *q)
{
    for (size_t i = 0; i < q->count; i++) {
        json_decref(q->records[i].root);
        lf_free(q->records[i].line);
    }
    lf_free(q->records);
    lf_es_dlq_free_paths(q->files, q->file_count);
    json_decref(q->seen);
    lf_free(q->dir);
}

static int queue_load(const struct lf_config *config, struct queue *q,
                      FILE *err)
{
    struct lf_buf dir;
    int rc;

    memset(q, 0, sizeof(*q));
    q->seen = json_object();
    lf_buf_init(&dir);
    lf_buf_appendf(&dir, "%s/%s", config->data_path, LF_ES_DLQ_DIR);
    q->dir = dir.data;

    rc = lf_es_dlq_list_files(q->dir, &q->files, &q->file_count);
    if (rc != 0) {
        fprintf(err, "logferry: reading the folder %s failed: %s\n", q->dir,
                lf_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < q->file_count; i++) {
        bool torn = false;

        rc = lf_es_dlq_read_file(q->files[i], add_line, q, &torn);
        if (rc != 0) {
            fprintf(err, "logferry: reading %s failed: %s\n", q->files[i],
                    lf_strerror(rc));
            return rc;
        }
        q->torn += torn ? 1 : 0;
    }
    return 0;
}

/* ---- list ---- */

/* Bytes of a line that is not a record shown by `dlq list`. */
enum { INVALID_SHOWN_MAX = 200 };

/*
 * Writes `len` bytes of text with C0 and C1 control characters and DEL
 * as \xNN, so that a record cannot send escape sequences to a terminal.
 * With `ascii_only`, for text that may not be UTF-8, every byte from
 * 0x80 is written as \xNN too, and a backslash as two.
 */
static void print_text(FILE *out, const char *text, size_t len,
                       bool ascii_only)
{
    const unsigned char *p = (const unsigned char *)text;

    for (size_t i = 0; i < len; i++) {
        /* U+0080 to U+009F are 0xc2 0x80 to 0xc2 0x9f in UTF-8. */
        bool c1 = !ascii_only && p[i] == 0xc2 && i + 1 < len &&
                  p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;

        if (p[i] < 0x20 || p[i] == 0x7f || (ascii_only && p[i] >= 0x80)) {
            fprintf(out, "\\x%02x", p[i]);
        } else if (ascii_only && p[i] == '\\') {
            fputs("\\\\", out);
        } else if (c1) {
            fprintf(out, "\\x%02x\\x%02x", p[i], p[i + 1]);
            i++;
        } else {
            fputc(p[i], out);
        }
    }
}

/* Writes ` name=value`, or ` name=-` for a missing value. */
static void print_member(FILE *out, const char *name, const char *value)
{
    fprintf(out, " %s=", name);
    if (value == NULL) {
        fputc('-', out);
    } else {
        print_text(out, value, strlen(value), false);
    }
}

static void print_record(FILE *out, const struct record *rec)
{
    json_t *error = json_object_get(rec->root, "error");
    const char *time = record_str(rec, "time");
    const char *reason = json_string_value(json_object_get(error, "reason"));

    if (!json_is_object(json_object_get(rec->root, "document"))) {
        bool cut = rec->len > INVALID_SHOWN_MAX;

        fprintf(out, "invalid record of %zu bytes: ", rec->len);
        print_text(out, rec->line, cut ? INVALID_SHOWN_MAX : rec->len, true);
        fputs(cut ? "...\n" : "\n", out);
        return;
    }
    print_text(out, time != NULL ? time : "-",
               time != NULL ? strlen(time) : 1, false);
    print_member(out, "index", record_str(rec, "index"));
    fprintf(out, " status=%" JSON_INTEGER_FORMAT,
            json_integer_value(json_object_get(rec->root, "status")));
    print_member(out, "type",
                 json_string_value(json_object_get(error, "type")));
    print_member(out, "_id", record_str(rec, "_id"));
    fputs(" reason=\"", out);
    if (reason != NULL) {
        print_text(out, reason, strlen(reason), false);
    }
    fputs("\"\n", out);
}

static void print_queue_summary(FILE *out, const struct queue *q)
{
    fprintf(out, "%zu record%s in %zu file%s under %s", q->count,
            q->count == 1 ? "" : "s", q->file_count,
            q->file_count == 1 ? "" : "s", q->dir);
    if (q->torn > 0) {
        fprintf(out, "; %zu torn last line%s skipped", q->torn,
                q->torn == 1 ? "" : "s");
    }
    if (q->duplicates > 0) {
        fprintf(out, "; %zu repeated record%s skipped", q->duplicates,
                q->duplicates == 1 ? "" : "s");
    }
    fputc('\n', out);
}

int lf_dlq_list_command(const struct lf_config *config, FILE *out, FILE *err)
{
    struct queue q;
    int rc = queue_load(config, &q, err);

    if (rc == 0) {
        for (size_t i = 0; i < q.count; i++) {
            record_parse(&q.records[i]);
            print_record(out, &q.records[i]);
            record_release(&q.records[i]);
        }
        print_queue_summary(out, &q);
    }
    queue_cleanup(&q);
    return rc == 0 ? LF_EXIT_OK : LF_EXIT_FAILURE;
}

/* ---- replay ---- */

struct replay {
    uv_loop_t loop;
    uv_timer_t timer;
    struct lf_es_config es;
    struct lf_es_output *output;
    struct queue *q;
    size_t next;     /* next record to publish */
    size_t resolved; /* records with a result */
    uint64_t last_progress_ms;
    long long timeout_ms; /* give up after this long without a result */
    bool closing;
};

/*
 * Builds the action line of a record, or returns false when the record
 * lacks what is needed to send it.
 */
static bool build_action(const struct record *rec, struct lf_buf *out)
{
    const char *action = record_str(rec, "action");
    const char *index = record_str(rec, "index");
    const char *id = record_str(rec, "_id");
    const char *routing = record_str(rec, "routing");
    json_t *meta;
    char *text;

    if (action == NULL || index == NULL ||
        (strcmp(action, "create") != 0 && strcmp(action, "index") != 0)) {
        return false;
    }
    meta = json_object();
    json_object_set_new(meta, "_index", json_string(index));
    if (id != NULL) {
        json_object_set_new(meta, "_id", json_string(id));
    }
    if (routing != NULL) {
        json_object_set_new(meta, "routing", json_string(routing));
    }
    text = json_dumps(meta, JSON_COMPACT);
    lf_buf_appendf(out, "{\"%s\":%s}", action, text);
    free(text);
    json_decref(meta);
    return true;
}

/*
 * Appends the document to `out` as stored: the value of the last member,
 * "document", where the writer puts it, so numbers keep their exact
 * text. A record whose members were reordered by hand is written again
 * from its parsed form instead. Returns false without a document.
 */
static bool copy_document(const struct record *rec, struct lf_buf *out)
{
    static const char key[] = "\"document\":";
    json_t *doc = json_object_get(rec->root, "document");
    const char *at = memmem(rec->line, rec->len, key, LF_STRLEN(key));
    json_t *check = NULL;
    char *text;

    if (!json_is_object(doc)) {
        return false;
    }
    if (at != NULL) {
        size_t len;

        at += LF_STRLEN(key);
        len = (size_t)(rec->line + rec->len - at) - 1; /* the final '}' */
        check = json_loadb(at, len, JSON_ALLOW_NUL, NULL);
        if (json_is_object(check)) {
            lf_buf_append(out, at, len);
            json_decref(check);
            return true;
        }
        json_decref(check);
    }
    text = json_dumps(doc, JSON_COMPACT);
    lf_buf_append_str(out, text);
    free(text);
    return true;
}

static void close_replay(struct replay *r);

static void publish_records(struct replay *r)
{
    struct lf_buf action;
    struct lf_buf doc;

    lf_buf_init(&action);
    lf_buf_init(&doc);
    while (!r->closing && r->next < r->q->count) {
        struct record *rec = &r->q->records[r->next];
        struct lf_ack_ref ref = {.source = r, .ticket = r->next};
        int rc;

        lf_buf_reset(&action);
        lf_buf_reset(&doc);
        record_parse(rec);
        if (rec->root == NULL || !build_action(rec, &action) ||
            !copy_document(rec, &doc)) {
            record_release(rec);
            rec->state = RECORD_REJECTED;
            r->resolved++;
            r->next++;
            continue;
        }
        record_release(rec);
        rc = lf_es_output_publish_lines(r->output, action.data, action.len,
                                        doc.data, doc.len, ref);
        if (rc == LF_EFULL) {
            break; /* on_ready calls again */
        }
        if (rc != 0) {
            rec->state = RECORD_REJECTED;
            r->resolved++;
        }
        r->next++;
    }
    lf_buf_cleanup(&action);
    lf_buf_cleanup(&doc);
    if (r->next == r->q->count) {
        lf_es_output_flush(r->output);
        if (r->resolved == r->q->count) {
            close_replay(r);
        }
    }
}

static void on_result(void *arg, struct lf_ack_ref ref,
                      enum lf_delivery result)
{
    struct replay *r = arg;
    static const enum record_state states[] = {
        [LF_DELIVERY_INDEXED] = RECORD_INDEXED,
        [LF_DELIVERY_DUPLICATE] = RECORD_DUPLICATE,
        [LF_DELIVERY_REJECTED] = RECORD_REJECTED,
    };

    r->q->records[ref.ticket].state = states[result];
    r->resolved++;
    r->last_progress_ms = uv_now(&r->loop);
    if (r->resolved == r->q->count) {
        close_replay(r);
    }
}

static void on_ready(void *arg)
{
    publish_records(arg);
}

static void on_timer(uv_timer_t *timer)
{
    struct replay *r = timer->data;
    uint64_t idle_ms = uv_now(&r->loop) - r->last_progress_ms;

    if (idle_ms >= (uint64_t)r->timeout_ms) {
        lf_log_error("dlq", "no result from Elasticsearch within "
                     "shutdown.timeout=%lldms, giving up: unresolved=%zu "
                     "records stay in the queue",
                     r->timeout_ms, r->q->count - r->resolved);
        close_replay(r);
    }
}

static void close_replay(struct replay *r)
{
    if (r->closing) {
        return;
    }
    r->closing = true;
    uv_close((uv_handle_t *)&r->timer, NULL);
    lf_es_output_close(r->output, NULL, NULL);
}

static int send_records(const struct lf_config *config, struct queue *q,
                        FILE *err)
{
    struct replay r = {0};
    struct lf_es_output_callbacks callbacks = {
        .arg = &r, .on_result = on_result, .on_ready = on_ready,
    };
    int rc;

    r.q = q;
    r.es = config->es;
    r.es.dead_letter = false; /* records rejected again stay where they are */
    r.timeout_ms = config->shutdown_timeout_ms;
    uv_loop_init(&r.loop);
    rc = lf_es_output_new(&r.loop, &r.es, &callbacks, &r.output);
    if (rc != 0) {
        fprintf(err, "logferry: starting the Elasticsearch output failed: "
                "%s\n", lf_strerror(rc));
        uv_loop_close(&r.loop);
        return rc;
    }
    uv_timer_init(&r.loop, &r.timer);
    r.timer.data = &r;
    uv_timer_start(&r.timer, on_timer, REPLAY_CHECK_MS, REPLAY_CHECK_MS);
    r.last_progress_ms = uv_now(&r.loop);

    publish_records(&r);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    return 0;
}

/* Replaces the queue files by one file of the records not delivered. */
static int rewrite_queue(struct queue *q, size_t *kept_out, FILE *err)
{
    struct lf_buf kept;
    char name[96];
    size_t count = 0;
    int rc = 0;

    lf_buf_init(&kept);
    for (size_t i = 0; i < q->count; i++) {
        const struct record *rec = &q->records[i];

        if (rec->state == RECORD_INDEXED || rec->state == RECORD_DUPLICATE) {
            continue;
        }
        lf_buf_append(&kept, rec->line, rec->len);
        lf_buf_append_char(&kept, '\n');
        count++;
    }
    if (count > 0) {
        snprintf(name, sizeof(name), "%s%lld-%ld-replay%s", LF_ES_DLQ_PREFIX,
                 (long long)time(NULL), (long)getpid(), LF_ES_DLQ_SUFFIX);
        rc = lf_es_dlq_write_atomic(q->dir, name, &kept);
    }
    if (rc != 0) {
        fprintf(err, "logferry: writing the kept records to %s failed: %s; "
                "the queue is unchanged\n", q->dir, lf_strerror(rc));
    }
    for (size_t i = 0; rc == 0 && i < q->file_count; i++) {
        if (unlink(q->files[i]) != 0) {
            rc = -errno;
            fprintf(err, "logferry: removing %s failed: %s\n", q->files[i],
                    lf_strerror(rc));
        }
    }
    lf_buf_cleanup(&kept);
    *kept_out = count;
    return rc;
}

static void print_replay_summary(FILE *out, const struct queue *q,
                                 size_t kept)
{
    size_t counts[RECORD_REJECTED + 1] = {0};

    for (size_t i = 0; i < q->count; i++) {
        counts[q->records[i].state]++;
    }
    fprintf(out,
            "replayed %zu records: indexed %zu, already present %zu, "
            "rejected again %zu, unresolved %zu; %zu kept in %s\n",
            q->count, counts[RECORD_INDEXED], counts[RECORD_DUPLICATE],
            counts[RECORD_REJECTED], counts[RECORD_PENDING], kept, q->dir);
}

int lf_dlq_replay_command(const struct lf_config *config, FILE *out,
                          FILE *err)
{
    struct lf_es_dlq *lock = NULL;
    struct queue q;
    struct lf_buf dir;
    char errbuf[512];
    size_t kept = 0;
    int rc = 0;

    if (!config->use_elasticsearch) {
        fprintf(err, "logferry: dlq replay sends to output.elasticsearch, "
                "and this configuration has only output.cloudwatch\n");
        return LF_EXIT_USAGE;
    }

    memset(&q, 0, sizeof(q));
    lf_buf_init(&dir);
    lf_buf_appendf(&dir, "%s/%s", config->data_path, LF_ES_DLQ_DIR);
    if (access(dir.data, F_OK) != 0 && errno == ENOENT) {
        fprintf(out, "0 records: %s does not exist\n", dir.data);
        goto done;
    }
    rc = lf_registry_check_owner(config->data_path, errbuf, sizeof(errbuf));
    if (rc != 0) {
        fprintf(err, "logferry: %s\n", errbuf);
        goto done;
    }
    /* The lock keeps a running agent from writing while files go away. */
    rc = lf_es_dlq_open(dir.data, UINT64_MAX, &lock, errbuf, sizeof(errbuf));
    if (rc != 0) {
        fprintf(err, "logferry: %s\n", errbuf);
        goto done;
    }
    rc = queue_load(config, &q, err);
    if (rc != 0) {
        goto done;
    }
    if (q.count == 0) {
        print_queue_summary(out, &q);
        goto done;
    }
    rc = send_records(config, &q, err);
    if (rc == 0) {
        rc = rewrite_queue(&q, &kept, err);
    }
    if (rc == 0) {
        print_replay_summary(out, &q, kept);
    }

done:
    queue_cleanup(&q);
    lf_es_dlq_close(lock);
    lf_buf_cleanup(&dir);
    if (rc != 0 || kept > 0) {
        return LF_EXIT_FAILURE;
    }
    return LF_EXIT_OK;
}
