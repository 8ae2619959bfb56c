/*
 * The `- timestamp:` step of a parser chain: reads the time text of a
 * field with a list of layouts, tried in order, into `@timestamp` or
 * another target field.
 */
#ifndef LF_PARSERS_TIMESTAMP_STEP_H
#define LF_PARSERS_TIMESTAMP_STEP_H

#include "parsers/kind.h"

/* The entry of the parser chain's `kinds` table. */
extern const struct lf_parser_kind lf_timestamp_step_kind;

#endif
