/*
 * Mapping conflicts: a document that Elasticsearch rejects because one
 * field does not fit the index mapping is sent once more with that field
 * moved to `labels.<field>_raw` as a string. Pure code: jansson only, no
 * I/O, no logging. This runs only for rejected items, so re-reading the
 * encoded document is acceptable here.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_CONFLICT_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_CONFLICT_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/buf.h"

/* Longest field read from a reason, NUL included; longer ones are not. */
#define LF_ES_FIELD_MAX 256

/*
 * Reads the field that a mapping error names, such as
 * `http.response.status_code` from "failed to parse field
 * [http.response.status_code] of type [long] in document with id 'x'".
 * Only `mapper_parsing_exception`, `document_parsing_exception` and
 * `illegal_argument_exception` qualify. Stores the NUL-terminated field
 * in `field_out` (LF_ES_FIELD_MAX bytes) and returns true, or returns
 * false when the error is of another type or names no field.
 */
bool lf_es_conflict_field(const char *error_type, const char *reason,
                          char *field_out);

/*
 * Appends to `out` the JSON document `doc` with `field` removed (a dotted
 * key or a path through objects, whichever the document has) and its
 * value stored under `labels.<field>_raw`, dots replaced by '_', as a
 * string: strings as they are, other values as compact JSON, next to a
 * label already there under that key. Objects left empty by the removal
 * are removed too. `message` is added to `error.message`, next to a
 * message the document already has.
 * Returns 0, LF_ENOENT when the document has no such field, LF_EPARSE
 * when `doc` is not a JSON object, or LF_EINVAL when `labels` or `error`
 * is still there and not an object once the field is removed. `out` is
 * unchanged on failure.
 */
int lf_es_conflict_relocate(const char *doc, size_t len, const char *field,
                            const char *message, struct lf_buf *out);

/* Appends "labels.<field>_raw" with the dots of `field` replaced. */
void lf_es_conflict_label(struct lf_buf *out, const char *field);

#endif
