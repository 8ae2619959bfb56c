/*
 * A small HTTP/1.1 server on a libuv loop for the agent's own endpoints
 * (metrics, health, stats). It answers GET and HEAD only, takes no request
 * bodies and keeps each connection to one bounded input buffer.
 */
#ifndef LF_AGENT_NET_HTTP_SERVER_H
#define LF_AGENT_NET_HTTP_SERVER_H

#include "lf/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Maximum size of a request line and its headers, CRLF CRLF included. */
#define LF_HTTP_SERVER_REQUEST_MAX 8192
/* Maximum number of header fields in one request. */
#define LF_HTTP_SERVER_HEADERS_MAX 64

enum lf_http_method {
    LF_HTTP_METHOD_GET,
    LF_HTTP_METHOD_HEAD,
    LF_HTTP_METHOD_OTHER, /* a valid token the server does not implement */
};

/* A parsed request head; offsets point into the parsed buffer. */
struct lf_http_request_head {
    enum lf_http_method method;
    size_t path_off; /* origin-form target without its query string */
    size_t path_len;
    int minor_version; /* HTTP/1.<minor_version> */
    bool keep_alive;   /* the client allows the connection to stay open */
    bool has_body;     /* Content-Length > 0 or Transfer-Encoding present */
};

/*
 * Parses the request head at the start of `data`. Returns the length of
 * the head (through the blank line) when complete, 0 when more bytes are
 * needed, LF_ETOOBIG when the head exceeds LF_HTTP_SERVER_REQUEST_MAX or
 * has more than LF_HTTP_SERVER_HEADERS_MAX fields, LF_EPROTO for a
 * version other than HTTP/1.0 or HTTP/1.1, and LF_EPARSE for any other
 * malformed head (bare LF, folded or duplicate-conflicting fields, a
 * missing Host in HTTP/1.1, an invalid Content-Length).
 */
int lf_http_parse_request(const char *data, size_t len,
                          struct lf_http_request_head *out);

/*
 * Called for each GET or HEAD request with its path (NUL-terminated).
 * Appends the body to `body` and sets `*content_type`; returns the status
 * code (200, 404, 503...). For HEAD the server sends the headers only.
 */
typedef int (*lf_http_handler_fn)(void *arg, const char *path,
                                  struct lf_buf *body,
                                  const char **content_type);

struct lf_http_server_options {
    const char *host; /* IPv4 or IPv6 literal */
    int port;         /* 0 picks a free port */
    size_t max_connections;
    uint64_t idle_timeout_ms; /* a request must arrive in full within it */
};

struct lf_http_server;

/*
 * Binds and listens on `options->host`:`options->port` and serves with
 * `handler(arg, ...)`. Returns 0, or a negative LF_E* code with a message
 * naming the address in errbuf (LF_EINVAL for a host that is not an IP
 * literal, the -errno of bind or listen such as -EADDRINUSE).
 */
int lf_http_server_new(uv_loop_t *loop,
                       const struct lf_http_server_options *options,
                       lf_http_handler_fn handler, void *arg,
                       struct lf_http_server **out, char *errbuf,
                       size_t errlen);

/* Returns the bound port, which differs from the option when it was 0. */
int lf_http_server_port(const struct lf_http_server *server);

/* Closes the listener and every connection; frees once handles close. */
void lf_http_server_close(struct lf_http_server *server);

#endif
