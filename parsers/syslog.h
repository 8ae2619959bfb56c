/*
 * The `syslog` parser type and the `syslog` and `auth` presets: BSD syslog
 * lines (RFC 3164, as syslog daemons write them to files) and RFC 5424
 * messages, mapped to the ECS `log.syslog.*`, `host.*` and `process.*`
 * fields.
 */
#ifndef LF_PARSERS_SYSLOG_H
#define LF_PARSERS_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf/event.h"
#include "parsers/kind.h"
#include "parsers/timestamp.h"

enum lf_syslog_format {
    LF_SYSLOG_AUTO, /* RFC 5424 when a version follows <PRI>, else 3164 */
    LF_SYSLOG_RFC3164,
    LF_SYSLOG_RFC5424,
};

struct lf_syslog;

/* The `- syslog:` entry of the parser chain's `kinds` table. */
extern const struct lf_parser_kind lf_syslog_kind;

/*
 * Creates a parser for `format`. It reads times without an offset in
 * `tz`, which it takes over, so `*tz` is UTC afterwards. With `auth` set
 * it also reads the messages of sshd, sudo, PAM, useradd and groupadd
 * (see lf_auth_apply()). Returns 0 and stores a parser the caller frees
 * with lf_syslog_free().
 */
int lf_syslog_new(enum lf_syslog_format format, struct lf_tz *tz, bool auth,
                  struct lf_syslog **out);

/*
 * Creates the preset `name`. "syslog" reads both formats in UTC, and
 * "auth" does the same with `auth` set. Returns 0 and stores a parser the
 * caller frees, or LF_ENOENT for another name.
 */
int lf_syslog_preset_new(const char *name, struct lf_syslog **out);

void lf_syslog_free(struct lf_syslog *parser);

/*
 * Parses one syslog line (`len` bytes of `text`, which must outlive the
 * event's fields) into `ev`, with `now_ns` as the read time for year
 * inference. `message` becomes the MSG part. Returns 0 when the line has
 * a syslog header, even if its time does not convert (that tags
 * LF_TAG_TIMESTAMP_FAILURE), or LF_ENOMATCH with the event unchanged.
 */
int lf_syslog_apply(struct lf_syslog *parser, struct lf_event *ev,
                    const char *text, size_t len, int64_t now_ns);

#endif
