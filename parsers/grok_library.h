/*
 * The Logstash grok pattern library, compiled into the binary from the
 * files under parsers/grok-patterns by grok_embed.py, so nothing is read
 * from disk at run time.
 */
#ifndef LF_PARSERS_GROK_LIBRARY_H
#define LF_PARSERS_GROK_LIBRARY_H

#include <stddef.h>

/* One library pattern: `NAME REGEX` from a pattern file. */
struct lf_grok_def {
    const char *name;
    const char *regex; /* Oniguruma syntax, as Logstash reads it */
};

/* The ecs-v1 set (fields named after ECS), sorted by name. */
extern const struct lf_grok_def lf_grok_ecs_v1[];
extern const size_t lf_grok_ecs_v1_count;

/* The legacy set (`ecs_compatibility: disabled`), sorted by name. */
extern const struct lf_grok_def lf_grok_legacy[];
extern const size_t lf_grok_legacy_count;

#endif
