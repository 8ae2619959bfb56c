/*
 * Dead-letter queue of the Elasticsearch output: NDJSON files of the
 * documents Elasticsearch rejected for good, one record per document,
 * under `<path.data>/dlq/`. Plain blocking file I/O, no logging: the
 * output writes a record only on the rare rejection path, and the
 * `dlq` commands read and rewrite the files while the agent is stopped.
 *
 * Each record is one line:
 *
 *     {"time":"2026-03-01T10:00:00.000Z","index":"logs-app-default",
 *      "_id":"...","action":"create","status":400,
 *      "error":{"type":"...","reason":"...","caused_by":"..."},
 *      "document":{...}}
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_DLQ_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf/buf.h"

/* Folder of the queue below path.data. */
#define LF_ES_DLQ_DIR "dlq"
/* Every queue file is named elasticsearch-<suffix>.ndjson. */
#define LF_ES_DLQ_PREFIX "elasticsearch-"
#define LF_ES_DLQ_SUFFIX ".ndjson"

/* One record. Strings may be NULL, except `doc`. */
struct lf_es_dlq_record {
    int64_t time_ms;        /* when the rejection was handled, Unix ms */
    const char *index;      /* `_index` of the action line */
    const char *id;         /* `_id`, NULL when Elasticsearch chose it */
    const char *action;     /* "create" or "index" */
    const char *routing;    /* routing of the action line, or NULL */
    int status;             /* HTTP status of the item or the request */
    const char *error_type; /* Elasticsearch's error.type */
    const char *reason;     /* error.reason */
    const char *caused_by;  /* error.caused_by.reason */
    const char *doc;        /* the document as sent: a JSON object */
    size_t doc_len;
};

struct lf_es_dlq;

/*
 * Creates `dir` if needed and takes an exclusive lock on `dir/.lock` for
 * the life of the handle, so that a second agent or `dlq replay` cannot
 * rewrite the files underneath. Records go to a file of their own,
 * created at the first write. `max_bytes` bounds the total size of the
 * queue files in `dir`, counting the files already there. Returns 0, or
 * LF_EAGAIN when another process holds the lock, or another LF_E* code
 * with `errbuf` naming the path.
 */
int lf_es_dlq_open(const char *dir, uint64_t max_bytes, struct lf_es_dlq **out,
                   char *errbuf, size_t errlen);

/* Closes the file and releases the lock; accepts NULL. */
void lf_es_dlq_close(struct lf_es_dlq *dlq);

/*
 * Appends one record; it is durable only after lf_es_dlq_sync(). Returns
 * 0, LF_EFULL when the record does not fit in max_bytes (nothing is
 * written), or a negative errno code from open or write, after cutting
 * the file back to its last whole record.
 */
int lf_es_dlq_append(struct lf_es_dlq *dlq, const struct lf_es_dlq_record *rec);

/* Flushes the records appended so far to disk. Returns 0 or -errno. */
int lf_es_dlq_sync(struct lf_es_dlq *dlq);

/* Returns the bytes of queue files in the folder, the new file included. */
uint64_t lf_es_dlq_size(const struct lf_es_dlq *dlq);

/* Appends a record as one NDJSON line, '\n' included, to `out`. */
void lf_es_dlq_format(struct lf_buf *out, const struct lf_es_dlq_record *rec);

/*
 * Lists the queue files of `dir` in name order, which is the order they
 * were written in. Stores an array of `count` owned full paths in
 * `paths_out`; free it with lf_es_dlq_free_paths(). A missing folder is
 * an empty list. Returns 0 or a negative errno code.
 */
int lf_es_dlq_list_files(const char *dir, char ***paths_out,
                         size_t *count_out);

void lf_es_dlq_free_paths(char **paths, size_t count);

/*
 * Calls `line_cb` for each complete line of the file at `path`. A last
 * line without its '\n' is a record torn by a crash and is skipped;
 * `torn_out` is set when that happened. A callback's nonzero return stops
 * the walk and is returned. Returns 0 or a negative errno code.
 */
int lf_es_dlq_read_file(const char *path,
                        int (*line_cb)(void *arg, const char *line,
                                       size_t len),
                        void *arg, bool *torn_out);

/*
 * Writes `data` to `dir/name` through a temporary file that is fsynced
 * and renamed into place, then fsyncs the folder, so a crash leaves the
 * old state or the new one. Returns 0 or a negative errno code.
 */
int lf_es_dlq_write_atomic(const char *dir, const char *name,
                           const struct lf_buf *data);

#endif
