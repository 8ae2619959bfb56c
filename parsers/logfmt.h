/*
 * The `logfmt` parser type: `key=value key="quoted value"` lines as
 * Heroku, logrus's text formatter and go-kit write them.
 */
#ifndef LF_PARSERS_LOGFMT_H
#define LF_PARSERS_LOGFMT_H

#include "parsers/kind.h"

/* The entry for the `kinds` table of chain.c. */
extern const struct lf_parser_kind lf_logfmt_parser_kind;

#endif
