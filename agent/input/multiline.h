/*
 * Multiline grouping: joins consecutive lines of one file into one event,
 * such as a stack trace and the log line it belongs to, by the rule of an
 * input's `multiline` option. The module is pure: the harvester feeds it
 * lines with the current time and owns the timer that flushes a group
 * left idle (lf_multiline_deadline()).
 *
 * The rule has Filebeat's meaning. A line "matches" when the pattern finds
 * it, or does not find it with `negate`. With `match: after` a matching
 * line is appended to the group before it and any other line starts a new
 * group. With `match: before` a matching line is joined to the lines after
 * it and the first line that does not match ends the group.
 */
#ifndef LF_AGENT_INPUT_MULTILINE_H
#define LF_AGENT_INPUT_MULTILINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/input/line_reader.h"
#include "lf/buf.h"
#include "lf/conf.h"

#define LF_MULTILINE_DEFAULT_MAX_LINES 500
#define LF_MULTILINE_DEFAULT_TIMEOUT_MS 1000

enum lf_multiline_match {
    LF_MULTILINE_MATCH_AFTER,
    LF_MULTILINE_MATCH_BEFORE,
};

/* A compiled `multiline` option, shared by every file of the input. */
struct lf_multiline_rule {
    void *pattern;        /* pcre2_code, owned */
    bool negate;
    enum lf_multiline_match match;
    size_t max_lines;     /* lines past this many are dropped */
    size_t max_bytes;     /* bytes of the joined message kept */
    uint64_t timeout_ms;  /* idle time after which a group is flushed */
};

/*
 * Parses and compiles the `multiline` map at `node`: either `preset`, or
 * `pattern` with optional `negate` and `match`, plus the optional limits.
 * `default_max_bytes` is the input's max_line_bytes. Stores NULL when the
 * option is absent. Returns 0 or LF_ECONFIG with a message in errbuf.
 */
int lf_multiline_rule_parse(const struct lf_conf_node *node,
                            size_t default_max_bytes,
                            struct lf_multiline_rule **out, char *errbuf,
                            size_t errlen);

void lf_multiline_rule_free(struct lf_multiline_rule *rule);

/*
 * Returns the pattern of preset `name` ("java", "python", "go", "ruby",
 * "node", "dotnet", "php"), or NULL for an unknown name. Every preset uses
 * `negate: false` and `match: after`: its pattern finds the lines that
 * continue a stack trace.
 */
const char *lf_multiline_preset_pattern(const char *name);

/* One file's group in progress. */
struct lf_multiline {
    const struct lf_multiline_rule *rule; /* borrowed */
    void *match_data;     /* pcre2_match_data, owned */
    struct lf_buf group;  /* joined lines of the pending group */
    struct lf_buf done;   /* the last group handed out */
    size_t line_count;    /* lines in the pending group, dropped included */
    uint64_t offset;      /* file offset of the group's first line */
    uint64_t end_offset;  /* file offset just past its last line */
    bool truncated;       /* lines or bytes were dropped */
    struct lf_line first; /* stream and time of the first line */
    uint64_t deadline_ms; /* when the pending group is flushed; 0: none */
};

void lf_multiline_init(struct lf_multiline *ml,
                       const struct lf_multiline_rule *rule);
void lf_multiline_cleanup(struct lf_multiline *ml);

/* Drops the pending group, such as after the file was rewound. */
void lf_multiline_reset(struct lf_multiline *ml);

/*
 * Adds `line`, read at `now_ms`. When that completes a group, stores it in
 * `out` and returns true; the event's data is valid until the next call.
 * The group spans from the offset of its first line to the end offset of
 * its last, and has `multiline` set when it joins more than one line.
 */
bool lf_multiline_push(struct lf_multiline *ml, const struct lf_line *line,
                       uint64_t now_ms, struct lf_line *out);

/*
 * Hands out the pending group in `out`, as for lf_multiline_push(), for an
 * idle timeout or when reading stops. Returns false when none is pending.
 */
bool lf_multiline_flush(struct lf_multiline *ml, struct lf_line *out);

/* Returns true while a group waits for more lines. */
bool lf_multiline_pending(const struct lf_multiline *ml);

#endif
