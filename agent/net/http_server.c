/*
 * HTTP/1.1 server for the agent's endpoints. Each connection owns one
 * fixed input buffer of LF_HTTP_SERVER_REQUEST_MAX bytes and two reused
 * output buffers, so a request costs no allocation once a connection has
 * sent its first response. Requests are served in order: while a
 * response is written the connection stops reading, so pipelined requests
 * wait in the input buffer.
 */
#include "agent/net/http_server.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LISTEN_BACKLOG 64
/* Minimum interval between warnings about connections over the cap. */
#define REJECT_LOG_INTERVAL_MS (60 * 1000)
/*
 * After an error response that ends the connection, how long the server
 * goes on reading and discarding what the client still sends. Closing
 * with unread data makes the kernel send a reset, which can reach the
 * client before it has read the response.
 */
#define LINGER_MS 2000

/* ---- request parsing ---- */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_field_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* Compares `len` bytes at `s` with lowercase `lower`, ignoring case. */
static bool equals_lower(const char *s, size_t len, const char *lower)
{
    size_t i;

    if (strlen(lower) != len) {
        return false;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

/*
 * Finds the end of the head and stores the offset just past CRLF CRLF in
 * `end_out`. Returns 1 when found, 0 when more bytes are needed,
 * LF_EPARSE on a bare LF, LF_ETOOBIG when no end fits in
 * LF_HTTP_SERVER_REQUEST_MAX bytes.
 */
static int find_head_end(const char *data, size_t len, size_t *end_out)
{
    size_t limit = len;
    size_t i;

    if (limit > LF_HTTP_SERVER_REQUEST_MAX) {
        limit = LF_HTTP_SERVER_REQUEST_MAX;
    }

    for (i = 0; i < limit; i++) {
        if (data[i] != '\n') {
            continue;
        }
        if (i == 0 || data[i - 1] != '\r') {
            return LF_EPARSE;
        }
        if (i >= 3 && data[i - 2] == '\n' && data[i - 3] == '\r') {
            *end_out = i + 1;
            return 1;
        }
    }
    return len >= LF_HTTP_SERVER_REQUEST_MAX ? LF_ETOOBIG : 0;
}

/* Parses "METHOD SP TARGET SP HTTP/1.x" ending at `line_end` (the CR). */
static int parse_request_line(const char *data, size_t line_end,
                              struct lf_http_request_head *out)
{
    size_t p = 0;
    size_t start;

    while (p < line_end && is_tchar((unsigned char)data[p])) {
        p++;
    }
    if (p == 0 || p >= line_end || data[p] != ' ') {
        return LF_EPARSE;
    }
    if (p == 3 && memcmp(data, "GET", 3) == 0) {
        out->method = LF_HTTP_METHOD_GET;
    } else if (p == 4 && memcmp(data, "HEAD", 4) == 0) {
        out->method = LF_HTTP_METHOD_HEAD;
    } else {
        out->method = LF_HTTP_METHOD_OTHER;
    }
    p++;
    start = p;
    if (p >= line_end || data[p] != '/') {
        return LF_EPARSE; /* only origin-form targets reach this server */
    }
    out->path_off = start;
    out->path_len = 0;
    while (p < line_end && is_target_char((unsigned char)data[p])) {
        if (data[p] == '?' && out->path_len == 0) {
            out->path_len = p - start;
        }
        p++;
    }
    if (out->path_len == 0) {
        out->path_len = p - start;
    }
    if (p >= line_end || data[p] != ' ') {
        return LF_EPARSE;
    }
    p++;
    if (line_end - p != 8 || memcmp(data + p, "HTTP/", 5) != 0 ||
        data[p + 6] != '.' || data[p + 5] < '0' || data[p + 5] > '9' ||
        data[p + 7] < '0' || data[p + 7] > '9') {
        return LF_EPARSE;
    }
    if (data[p + 5] != '1' || (data[p + 7] != '0' && data[p + 7] != '1')) {
        return LF_EPROTO;
    }
    out->minor_version = data[p + 7] - '0';
    out->keep_alive = out->minor_version == 1;
    return 0;
}

/* Applies the tokens of a Connection field to keep_alive. */
static void apply_connection(const char *value, size_t len,
                             struct lf_http_request_head *out)
{
    size_t p = 0;

    while (p < len) {
        size_t start;
        size_t end;

        while (p < len && (value[p] == ' ' || value[p] == '\t' ||
                           value[p] == ',')) {
            p++;
        }
        start = p;
        while (p < len && value[p] != ',') {
            p++;
        }
        end = p;
        while (end > start && (value[end - 1] == ' ' ||
                               value[end - 1] == '\t')) {
            end--;
        }
        if (equals_lower(value + start, end - start, "close")) {
            out->keep_alive = false;
        } else if (equals_lower(value + start, end - start, "keep-alive") &&
                   out->minor_version == 0) {
            out->keep_alive = true;
        }
    }
}

/* Accepts a Content-Length of digits only; repeats must agree. */
static int apply_content_length(const char *value, size_t len,
                                long long *seen,
                                struct lf_http_request_head *out)
{
    long long n = 0;
    size_t i;

    if (len == 0 || len > 18) {
        return LF_EPARSE;
    }
    for (i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return LF_EPARSE;
        }
        n = n * 10 + (value[i] - '0');
    }
    if (*seen >= 0 && *seen != n) {
        return LF_EPARSE;
    }
    *seen = n;
    if (n > 0) {
        out->has_body = true;
    }
    return 0;
}

/* Parses one "name: value" line in [start, line_end). */
static int parse_field(const char *data, size_t start, size_t line_end,
                       int *hosts, long long *content_length,
                       struct lf_http_request_head *out)
{
    size_t p = start;
    size_t name_len;
    size_t value_start;
    size_t value_end;

    while (p < line_end && is_tchar((unsigned char)data[p])) {
        p++;
    }
    name_len = p - start;
    if (name_len == 0 || p >= line_end || data[p] != ':') {
        return LF_EPARSE; /* also rejects obs-fold and space before ':' */
    }
    p++;
    while (p < line_end && (data[p] == ' ' || data[p] == '\t')) {
        p++;
    }
    value_start = p;
    while (p < line_end) {
        if (!is_field_vchar((unsigned char)data[p])) {
            return LF_EPARSE;
        }
        p++;
    }
    value_end = line_end;
    while (value_end > value_start && (data[value_end - 1] == ' ' ||
                                       data[value_end - 1] == '\t')) {
        value_end--;
    }
    if (equals_lower(data + start, name_len, "host")) {
        (*hosts)++;
    } else if (equals_lower(data + start, name_len, "content-length")) {
        return apply_content_length(data + value_start,
                                    value_end - value_start, content_length,
                                    out);
    } else if (equals_lower(data + start, name_len, "transfer-encoding")) {
        out->has_body = true;
    } else if (equals_lower(data + start, name_len, "connection")) {
        apply_connection(data + value_start, value_end - value_start, out);
    }
    return 0;
}

int lf_http_parse_request(const char *data, size_t len,
                          struct lf_http_request_head *out)
{
    long long content_length = -1;
    size_t head_end = 0;
    size_t line_start;
    size_t fields = 0;
    int hosts = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = find_head_end(data, len, &head_end);
    if (rc <= 0) {
        return rc;
    }
    line_start = (size_t)((const char *)memchr(data, '\n', head_end) - data);
    rc = parse_request_line(data, line_start - 1, out);
    if (rc != 0) {
        return rc;
    }
    line_start++;
    while (line_start < head_end - 2) {
        size_t line_end = (size_t)((const char *)memchr(
                                       data + line_start, '\n',
                                       head_end - line_start) - data) - 1;

        if (++fields > LF_HTTP_SERVER_HEADERS_MAX) {
            return LF_ETOOBIG;
        }
        rc = parse_field(data, line_start, line_end, &hosts,
                         &content_length, out);
        if (rc != 0) {
            return rc;
        }
        line_start = line_end + 2;
    }
    if (hosts > 1 || (out->minor_version == 1 && hosts == 0)) {
        return LF_EPARSE; /* HTTP/1.1 requires exactly one Host field */
    }
    return (int)head_end;
}

/* ---- connections ---- */

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    uv_shutdown_t shutdown;
    struct lf_http_server *server;
    struct conn *prev;
    struct conn *next;
    struct lf_buf head; /* response status line and fields */
    struct lf_buf body;
    size_t in_len;
    int open_handles;
    bool writing;
    bool close_after_write;
    bool lingering; /* response sent, input discarded until EOF or LINGER_MS */
    bool closing;
    char in[LF_HTTP_SERVER_REQUEST_MAX];
};

struct lf_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    lf_http_handler_fn handler;
    void *arg;
    size_t max_connections;
    uint64_t idle_timeout_ms;
    struct conn *conns;
    size_t conn_count;
    uint64_t rejected_unlogged; /* closed over the cap since the warning */
    uint64_t reject_logged_ms;
    char host[64]; /* the listening address, for log lines */
    int port;
    bool listener_open;
    bool closing;
};

static void maybe_free_server(struct lf_http_server *server)
{
    if (server->closing && !server->listener_open &&
        server->conn_count == 0) {
        lf_free(server);
    }
}

static void on_conn_handle_closed(uv_handle_t *handle)
{
    struct conn *conn = handle->data;
    struct lf_http_server *server = conn->server;

    if (--conn->open_handles > 0) {
        return;
    }
    if (conn->prev != NULL) {
        conn->prev->next = conn->next;
    } else {
        server->conns = conn->next;
    }
    if (conn->next != NULL) {
        conn->next->prev = conn->prev;
    }
    server->conn_count--;
    lf_buf_cleanup(&conn->head);
    lf_buf_cleanup(&conn->body);
    lf_free(conn);
    maybe_free_server(server);
}

static void close_conn(struct conn *conn)
{
    if (conn->closing) {
        return;
    }
    conn->closing = true;
    uv_close((uv_handle_t *)&conn->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&conn->timer, on_conn_handle_closed);
}

static void on_idle_timeout(uv_timer_t *timer)
{
    lf_log_debug("http", "closing a connection idle for %" PRIu64 " ms",
                 ((struct conn *)timer->data)->server->idle_timeout_ms);
    close_conn(timer->data);
}

static void arm_timer(struct conn *conn)
{
    uv_timer_start(&conn->timer, on_idle_timeout,
                   conn->server->idle_timeout_ms, 0);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

static void process_input(struct conn *conn);
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_linger_timeout(uv_timer_t *timer)
{
    close_conn(timer->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *conn = req->data;

    if (status != 0 && !conn->closing) {
        close_conn(conn);
    }
}

/*
 * Ends the connection after its last response: sends FIN, then reads and
 * discards input until the client closes or LINGER_MS passes.
 */
static void start_linger(struct conn *conn)
{
    conn->lingering = true;
    conn->in_len = 0;
    conn->shutdown.data = conn;
    if (uv_shutdown(&conn->shutdown, (uv_stream_t *)&conn->tcp,
                    on_shutdown) != 0) {
        close_conn(conn);
        return;
    }
    uv_timer_start(&conn->timer, on_linger_timeout, LINGER_MS, 0);
    uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
}

static void on_write(uv_write_t *req, int status)
{
    struct conn *conn = req->data;

    conn->writing = false;
    if (conn->closing) {
        return;
    }
    if (status != 0) {
        close_conn(conn);
        return;
    }
    if (conn->close_after_write) {
        start_linger(conn);
        return;
    }
    arm_timer(conn);
    process_input(conn);
}

/*
 * Writes the response held in conn->body with `status`. With `head_only`
 * the body is left out but its length still sent, as HEAD requires.
 */
static void send_response(struct conn *conn, int status,
                          const char *content_type, bool head_only,
                          bool keep_alive, bool minor_version_0)
{
    uv_buf_t bufs[2];
    unsigned int count = 1;
    int rc;

    lf_buf_reset(&conn->head);
    lf_buf_appendf(&conn->head,
                   "HTTP/1.1 %d %s\r\n"
                   "Content-Type: %s\r\n"
                   "Content-Length: %zu\r\n"
                   "Cache-Control: no-store\r\n",
                   status, reason_phrase(status), content_type,
                   conn->body.len);
    if (status == 405) {
        lf_buf_append_str(&conn->head, "Allow: GET, HEAD\r\n");
    }
    if (!keep_alive) {
        lf_buf_append_str(&conn->head, "Connection: close\r\n");
    } else if (minor_version_0) {
        lf_buf_append_str(&conn->head, "Connection: keep-alive\r\n");
    }
    lf_buf_append_str(&conn->head, "\r\n");
    bufs[0] = uv_buf_init(conn->head.data, (unsigned int)conn->head.len);
    if (!head_only && conn->body.len > 0) {
        bufs[1] = uv_buf_init(conn->body.data, (unsigned int)conn->body.len);
        count = 2;
    }
    conn->close_after_write = !keep_alive;
    conn->writing = true;
    uv_read_stop((uv_stream_t *)&conn->tcp);
    arm_timer(conn); /* a client that never reads its response is closed */
    conn->write.data = conn;
    rc = uv_write(&conn->write, (uv_stream_t *)&conn->tcp, bufs, count,
                  on_write);
    if (rc != 0) {
        conn->writing = false;
        close_conn(conn);
    }
}

static void send_error(struct conn *conn, int status, const char *text)
{
    lf_buf_reset(&conn->body);
    lf_buf_append_str(&conn->body, text);
    send_response(conn, status, "text/plain; charset=utf-8", false, false,
                  false);
}

static void serve_request(struct conn *conn,
                          const struct lf_http_request_head *head)
{
    const char *content_type = "text/plain; charset=utf-8";
    char path[LF_HTTP_SERVER_REQUEST_MAX];
    bool keep_alive = head->keep_alive && !head->has_body;
    int status;

    if (head->has_body) {
        /* The body is never read, so the connection cannot be reused. */
        send_error(conn, 413, "request bodies are not accepted\n");
        return;
    }
    lf_buf_reset(&conn->body);
    if (head->method == LF_HTTP_METHOD_OTHER) {
        lf_buf_append_str(&conn->body, "only GET and HEAD are allowed\n");
        send_response(conn, 405, content_type, false, keep_alive,
                      head->minor_version == 0);
        return;
    }
    memcpy(path, conn->in + head->path_off, head->path_len);
    path[head->path_len] = '\0';
    status = conn->server->handler(conn->server->arg, path, &conn->body,
                                   &content_type);
    send_response(conn, status, content_type,
                  head->method == LF_HTTP_METHOD_HEAD, keep_alive,
                  head->minor_version == 0);
}

/* Handles the complete requests in the input buffer, one at a time. */
static void process_input(struct conn *conn)
{
    struct lf_http_request_head head;
    int rc;

    if (conn->writing || conn->closing) {
        return;
    }
    rc = lf_http_parse_request(conn->in, conn->in_len, &head);
    if (rc == 0) {
        uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
        return;
    }
    if (rc == LF_ETOOBIG) {
        send_error(conn, 431, "request head too large\n");
        return;
    }
    if (rc == LF_EPROTO) {
        send_error(conn, 505, "only HTTP/1.0 and HTTP/1.1 are supported\n");
        return;
    }
    if (rc < 0) {
        send_error(conn, 400, "malformed request\n");
        return;
    }
    serve_request(conn, &head);
    /* The response points at conn->head and conn->body, not at `in`. */
    memmove(conn->in, conn->in + rc, conn->in_len - (size_t)rc);
    conn->in_len -= (size_t)rc;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct conn *conn = handle->data;

    (void)suggested;
    *buf = uv_buf_init(conn->in + conn->in_len,
                       (unsigned int)(sizeof(conn->in) - conn->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *conn = stream->data;

    (void)buf;
    if (nread < 0) {
        close_conn(conn);
        return;
    }
    if (conn->lingering) {
        conn->in_len = 0;
        return;
    }
    conn->in_len += (size_t)nread;
    if (nread > 0) {
        uv_read_stop(stream);
        process_input(conn);
    }
}

static void free_handle(uv_handle_t *handle)
{
    lf_free(handle);
}

/*
 * Accepts and closes a connection over the cap, with a warning at most
 * every REJECT_LOG_INTERVAL_MS that counts the connections closed.
 */
static void reject_connection(struct lf_http_server *server)
{
    uv_tcp_t *tcp = lf_malloc(sizeof(*tcp));
    uint64_t now = uv_now(server->loop);

    server->rejected_unlogged++;
    if (server->reject_logged_ms == 0 ||
        now - server->reject_logged_ms >= REJECT_LOG_INTERVAL_MS) {
        lf_log_warn("http", "closed connections over the limit of %zu open "
                    "connections count=%" PRIu64 " host=%s port=%d",
                    server->max_connections, server->rejected_unlogged,
                    server->host, server->port);
        server->rejected_unlogged = 0;
        server->reject_logged_ms = now > 0 ? now : 1;
    }

    uv_tcp_init(server->loop, tcp);
    if (uv_accept((uv_stream_t *)&server->listener, (uv_stream_t *)tcp) !=
        0) {
        lf_log_debug("http", "accepting a connection failed");
    }
    uv_close((uv_handle_t *)tcp, free_handle);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct lf_http_server *server = listener->data;
    struct conn *conn;

    if (status != 0) {
        lf_log_warn("http", "accepting a connection failed: %s host=%s "
                    "port=%d", uv_strerror(status), server->host,
                    server->port);
        return;
    }
    if (server->conn_count >= server->max_connections) {
        reject_connection(server);
        return;
    }
    conn = lf_calloc(1, sizeof(*conn));
    conn->server = server;
    lf_buf_init(&conn->head);
    lf_buf_init(&conn->body);
    uv_tcp_init(server->loop, &conn->tcp);
    uv_timer_init(server->loop, &conn->timer);
    conn->tcp.data = conn;
    conn->timer.data = conn;
    conn->open_handles = 2;
    conn->next = server->conns;
    if (server->conns != NULL) {
        server->conns->prev = conn;
    }
    server->conns = conn;
    server->conn_count++;
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        close_conn(conn);
        return;
    }
    arm_timer(conn);
    uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
}

/* ---- listener ---- */

static void on_listener_closed(uv_handle_t *handle)
{
    struct lf_http_server *server = handle->data;

    server->listener_open = false;
    maybe_free_server(server);
}

static int listen_on(struct lf_http_server *server,
                     const struct lf_http_server_options *options,
                     char *errbuf, size_t errlen)
{
    struct sockaddr_storage addr;
    int addr_len = (int)sizeof(addr);
    const char *open = strchr(options->host, ':') != NULL ? "[" : "";
    const char *close = open[0] != '\0' ? "]" : "";
    int rc;

    if (uv_ip4_addr(options->host, options->port,
                    (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(options->host, options->port,
                    (struct sockaddr_in6 *)&addr) != 0) {
        snprintf(errbuf, errlen, "http.host \"%s\" is not an IPv4 or IPv6 "
                 "address; set it to an address such as 127.0.0.1",
                 options->host);
        return LF_EINVAL;
    }
    rc = uv_tcp_bind(&server->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&server->listener, LISTEN_BACKLOG,
                       on_connection);
    }
    if (rc == 0) {
        rc = uv_tcp_getsockname(&server->listener, (struct sockaddr *)&addr,
                                &addr_len);
    }
    if (rc != 0) {
        snprintf(errbuf, errlen, "listening on %s%s%s:%d failed: %s; set "
                 "http.port to a free port, or 0 to pick one", open,
                 options->host, close, options->port, uv_strerror(rc));
        return rc;
    }
    snprintf(server->host, sizeof(server->host), "%s", options->host);
    server->port = addr.ss_family == AF_INET6
                       ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                       : ntohs(((struct sockaddr_in *)&addr)->sin_port);
    return 0;
}

int lf_http_server_new(uv_loop_t *loop,
                       const struct lf_http_server_options *options,
                       lf_http_handler_fn handler, void *arg,
                       struct lf_http_server **out, char *errbuf,
                       size_t errlen)
{
    struct lf_http_server *server = lf_calloc(1, sizeof(*server));
    int rc;

    *out = NULL;
    server->loop = loop;
    server->handler = handler;
    server->arg = arg;
    server->max_connections = options->max_connections;
    server->idle_timeout_ms = options->idle_timeout_ms;
    uv_tcp_init(loop, &server->listener);
    server->listener.data = server;
    server->listener_open = true;
    rc = listen_on(server, options, errbuf, errlen);
    if (rc != 0) {
        lf_http_server_close(server);
        return rc;
    }
    *out = server;
    return 0;
}

int lf_http_server_port(const struct lf_http_server *server)
{
    return server->port;
}

void lf_http_server_close(struct lf_http_server *server)
{
    struct conn *conn;

    if (server == NULL || server->closing) {
        return;
    }
    server->closing = true;
    uv_close((uv_handle_t *)&server->listener, on_listener_closed);
    for (conn = server->conns; conn != NULL; conn = conn->next) {
        close_conn(conn);
    }
}
