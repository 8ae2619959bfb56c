/*
 * The error logs of nginx and Apache httpd, read by the `nginx` and
 * `apache` presets when a line is not an access log line.
 */
#ifndef LF_PARSERS_WEB_ERROR_H
#define LF_PARSERS_WEB_ERROR_H

#include <stddef.h>

#include "lf/event.h"

/*
 * Parses an nginx error log line:
 *
 *     2024/03/05 07:08:09 [error] 123#0: *45 open() failed, client:
 *     1.2.3.4, server: x, request: "GET / HTTP/1.1", host: "h"
 *
 * Returns 0 and sets the fields listed in web_error.c, or LF_ENOMATCH
 * with the event unchanged.
 */
int lf_nginx_error_apply(struct lf_event *ev, const char *text, size_t len);

/*
 * Parses an Apache httpd error log line, 2.2 or 2.4 format:
 *
 *     [Tue Mar 05 07:08:09 2024] [error] [client 1.2.3.4] message
 *     [Tue Mar 05 07:08:09.123456 2024] [core:error] [pid 12:tid 34]
 *     [client 1.2.3.4:5678] AH00037: message
 *
 * Returns 0 and sets the fields listed in web_error.c, or LF_ENOMATCH
 * with the event unchanged.
 */
int lf_apache_error_apply(struct lf_event *ev, const char *text, size_t len);

#endif
