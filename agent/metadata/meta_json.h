/*
 * Helpers shared by the parsers of metadata documents (jansson objects to
 * field set entries) and by their fetchers.
 */
#ifndef LF_AGENT_METADATA_META_JSON_H
#define LF_AGENT_METADATA_META_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "agent/metadata/meta_set.h"

/*
 * Adds `key` with the string member `name` of `obj`. A missing, empty or
 * non-string member adds nothing and is not an error. Returns 0 or a
 * negative LF_E* code of the builder.
 */
int lf_meta_json_add(struct lf_meta_builder *b, const char *key,
                     const json_t *obj, const char *name);

/*
 * Parses `len` bytes as a JSON object into `*out`. Returns 0, or LF_EPARSE
 * with a message naming `what` in `errbuf`.
 */
int lf_meta_json_load_object(const char *text, size_t len, const char *what,
                             json_t **out, char *errbuf, size_t errlen);

/*
 * Checks that `url` is "http://" or "https://" and a host, followed by a
 * path only when `allow_path` is true, and stores a copy without trailing
 * "/" in `*out`. Returns 0, or LF_ECONFIG with a message in `errbuf` that
 * names `option`.
 */
int lf_meta_base_url(const char *url, bool allow_path, const char *option,
                     char **out, char *errbuf, size_t errlen);

#endif
