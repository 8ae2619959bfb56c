/*
 * The messages of the `auth` preset: sshd logins and sudo commands, as
 * they appear in /var/log/auth.log and /var/log/secure.
 */
#ifndef LF_PARSERS_AUTH_H
#define LF_PARSERS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "lf/event.h"

/*
 * Reads the message of an sshd, sudo or PAM line (`program` is the syslog
 * tag) into `event.action`, `event.outcome`, `user.*`, `source.*` and
 * `system.auth.*` fields. Strings point into `msg`. Returns true when the
 * message had one of the known forms, false with `ev` unchanged otherwise.
 */
bool lf_auth_apply(struct lf_event *ev, const char *program, size_t program_len,
                   const char *msg, size_t msg_len);

#endif
