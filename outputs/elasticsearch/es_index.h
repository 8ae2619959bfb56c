/*
 * Index name templates of the Elasticsearch output, such as
 * `logs-%{[service.name]}-default` or `app-%{+yyyy.MM.dd}`. A template is
 * parsed once when the configuration loads. Formatting it for an event
 * appends to a caller's buffer, so it allocates nothing once that buffer
 * has grown. Pure code: no I/O, no logging.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_INDEX_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/buf.h"
#include "lf/event.h"

/* Elasticsearch rejects index and data stream names longer than this. */
#define LF_ES_INDEX_NAME_MAX 255

enum lf_es_part_kind {
    LF_ES_PART_TEXT,  /* literal text */
    LF_ES_PART_FIELD, /* %{[a.b]}: the event's field a.b */
    LF_ES_PART_DATE,  /* %{+yyyy.MM.dd}: @timestamp in UTC */
};

struct lf_es_part {
    enum lf_es_part_kind kind;
    char *text; /* owned: the literal, the dotted field or the pattern */
    size_t len;
};

struct lf_es_template {
    struct lf_es_part *parts; /* owned */
    size_t count;
    bool has_field;
    bool has_date;
};

/*
 * Parses `text`. Field references are `%{[a.b]}`, `%{[a][b]}` or
 * `%{a.b}`. Date patterns are `%{+PATTERN}`, where PATTERN is made of
 * yyyy, yy, MM, dd and HH and the separators `.`, `-` and `_`. Returns 0,
 * or LF_ECONFIG with a message in `errbuf` saying what is wrong.
 */
int lf_es_template_parse(const char *text, struct lf_es_template *out,
                         char *errbuf, size_t errlen);

/* Frees the parts; accepts a zeroed template. */
void lf_es_template_cleanup(struct lf_es_template *tpl);

/* Returns true when the template has a field reference or a date. */
bool lf_es_template_is_dynamic(const struct lf_es_template *tpl);

/*
 * Appends the template's value for `ev` to `out`. With `index_name`,
 * field values are made valid in an index name: ASCII letters are
 * lowered, and `\ / * ? " < > | , # :`, spaces, control characters and
 * each byte of invalid UTF-8 become `_`. Returns 0, or LF_ENOENT when a
 * referenced field is missing, empty or a JSON value, or the date
 * pattern has no `@timestamp`. `out` may hold part of the value on
 * failure.
 */
int lf_es_template_format(const struct lf_es_template *tpl,
                          const struct lf_event *ev, bool index_name,
                          struct lf_buf *out);

/*
 * Appends a value of the template with every field replaced by "x" and
 * every date by 2026-01-01 00:00 UTC, for checks at configuration time.
 */
void lf_es_template_sample(const struct lf_es_template *tpl,
                           struct lf_buf *out);

/*
 * Returns NULL when the `len` bytes at `name` are a valid index or data
 * stream name, else why not.
 */
const char *lf_es_index_name_problem(const char *name, size_t len);

/* Returns true for a `logs-*-*` name, a data stream of the built-in
 * `logs` index template, which takes only `create` actions. */
bool lf_es_index_is_data_stream(const char *name);

#endif
