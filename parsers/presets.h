/*
 * Built-in parsers for well-known log formats, chosen with `preset: NAME`
 * in a parser chain.
 */
#ifndef LF_PARSERS_PRESETS_H
#define LF_PARSERS_PRESETS_H

#include <stddef.h>
#include <stdint.h>

#include "lf/event.h"

/* The preset names, for configuration messages. */
#define LF_PRESET_NAMES                                                        \
    "nginx, apache, app, python, java, go, rails, syslog, auth"

struct lf_preset;

/*
 * Creates the preset called `name`, one of LF_PRESET_NAMES. "nginx" and
 * "apache" read the combined access log format
 *
 *     $remote_addr - $remote_user [$time_local] "$request" $status
 *     $body_bytes_sent "$http_referer" "$http_user_agent"
 *
 * and the common format without the last two fields. It also reads a
 * vhost prefix ("example.com:80 ", as Apache's vhost_combined writes) and
 * a forwarded address list in place of $remote_addr. A line that is not
 * an access line is then read as the server's error log. "app" finds a
 * timestamp, a level, a request and key=value pairs in any line (app.c).
 * "syslog" and "auth" read syslog lines (see lf_syslog_preset_new()).
 * Returns 0 and stores a preset the caller frees, or LF_ENOENT for an
 * unknown name.
 */
int lf_preset_new(const char *name, struct lf_preset **out);

void lf_preset_free(struct lf_preset *preset);

/*
 * Parses `text` (`len` bytes: the message or a field's value) into ECS
 * fields of `ev`. String fields point into `text` or the event's arena.
 * `now_ns` is the read time, for timestamps without a year. Returns 0
 * when the line has the preset's format, even if its time does not parse
 * (that tags LF_TAG_TIMESTAMP_FAILURE), or LF_ENOMATCH with the event
 * unchanged.
 */
int lf_preset_apply(struct lf_preset *preset, struct lf_event *ev,
                    const char *text, size_t len, int64_t now_ns);

#endif
