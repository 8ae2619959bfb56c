/*
 * The `json` parser type: one JSON object per line (NDJSON), as ECS
 * logging libraries, pino, bunyan, zap, logrus and Serilog write them.
 */
#ifndef LF_PARSERS_JSON_PARSER_H
#define LF_PARSERS_JSON_PARSER_H

#include "parsers/kind.h"

/*
 * The entry for the `kinds` table of chain.c. Unlike other matchers, a
 * line that is not a JSON object is not left unchanged when
 * `add_error_key` is on (the default): the step sets `error.message` to
 * the reason and byte offset, then returns LF_ENOMATCH.
 */
extern const struct lf_parser_kind lf_json_parser_kind;

#endif
