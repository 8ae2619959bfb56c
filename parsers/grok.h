/*
 * The grok parser type: Logstash grok patterns, with the Logstash pattern
 * library built in, compiled into one PCRE2 pattern per step.
 */
#ifndef LF_PARSERS_GROK_H
#define LF_PARSERS_GROK_H

#include "parsers/kind.h"

/*
 * `- grok: {patterns: [...], pattern_definitions: {...},
 * ecs_compatibility: v1}`. The patterns are tried in list order and the
 * first that matches anywhere in the text sets its fields, as in
 * Logstash.
 */
extern const struct lf_parser_kind lf_grok_kind;

#endif
