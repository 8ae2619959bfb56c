/*
 * Tests of the HTTP client against a small HTTP/1.1 server on 127.0.0.1
 * that runs on the same libuv loop. The server routes by path:
 *
 *   /echo            200, body "<method> <path>\n" then the request body
 *   /status/503      503 "busy"
 *   /empty           204 without a body
 *   /close           200 "bye" with "Connection: close", then closes
 *   /drop            200 "dropped" announced as keep-alive, then closes
 *   /hang            never responds
 *   /cut             announces 100 bytes, sends 7, closes
 *   /length/N        announces N bytes, then waits
 *   /stream/N        N bytes without a length, ended by closing
 */
#include "agent/net/http_client.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Maximum wait for one step of a test before it counts as hung. */
enum { TEST_STEP_LIMIT_MS = 20000 };

/* Maximum response body the client accepts: 64 MiB minus the NUL. */
#define BODY_MAX_LEN (((size_t)64 << 20) - 1)

enum { STREAM_CHUNK_BYTES = 64 * 1024 };

struct server;

struct conn {
    uv_tcp_t tcp;
    struct server *server;
    struct lf_buf in;
    size_t stream_left; /* bytes of a /stream/N body still to write */
    int closing;
    struct conn *prev;
    struct conn *next;
};

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    int greeting;            /* respond on accept, before any request */
    int connections;         /* accepted so far */
    int requests;            /* complete requests parsed so far */
    struct lf_buf last_head; /* request line and headers of the last one */
    struct conn *conns;
};

struct write_req {
    uv_write_t req;
    struct conn *conn;
    int close_after;
    char data[];
};

struct fixture {
    uv_loop_t loop;
    struct server server;
    struct lf_http_client *client;
    uv_timer_t watchdog;
    int sending; /* set while lf_http_client_send() runs */
    int closed;  /* calls of the client's close callback */
    void *user;  /* test-specific state for callbacks */
};

struct result {
    struct fixture *fixture;
    int called;
    int error;
    long status;
    struct lf_buf body;
    struct lf_buf error_text;
    double total_s;
    char header_value[64]; /* the captured header, or "(none)" */
};

/* Server */

static void conn_close(struct conn *c);
static void conn_stream(struct conn *c);

static void on_conn_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;

    lf_buf_cleanup(&c->in);
    lf_free(c);
}

static void conn_close(struct conn *c)
{
    struct server *s = c->server;

    if (c->closing) {
        return;
    }
    c->closing = 1;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->conn;
    int close_after = w->close_after;

    lf_free(w);
    if (c->closing) {
        return;
    }
    if (status < 0) {
        conn_close(c);
    } else if (c->stream_left > 0) {
        conn_stream(c);
    } else if (close_after) {
        conn_close(c);
    }
}

static void conn_write(struct conn *c, const char *data, size_t len,
                       int close_after)
{
    struct write_req *w = lf_malloc(sizeof(*w) + len);
    uv_buf_t buf;

    memcpy(w->data, data, len);
    w->conn = c;
    w->close_after = close_after;
    buf = uv_buf_init(w->data, (unsigned int)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        lf_free(w);
        conn_close(c);
    }
}

/* Writes the next chunk of a /stream/N body; the last one closes. */
static void conn_stream(struct conn *c)
{
    size_t len = c->stream_left;
    char *chunk;

    if (len > STREAM_CHUNK_BYTES) {
        len = STREAM_CHUNK_BYTES;
    }
    chunk = lf_malloc(len);
    memset(chunk, 'x', len);
    c->stream_left -= len;
    conn_write(c, chunk, len, c->stream_left == 0);
    lf_free(chunk);
}

static void respond(struct conn *c, const char *status_line,
                    const char *extra_headers, const char *body,
                    size_t body_len, int send_body, int close_after)
{
    struct lf_buf out;

    lf_buf_init(&out);
    lf_buf_appendf(&out, "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n",
                   status_line, extra_headers, body_len);
    if (send_body) {
        lf_buf_append(&out, body, body_len);
    }
    conn_write(c, out.data, out.len, close_after);
    lf_buf_cleanup(&out);
}

static void respond_raw(struct conn *c, const char *text, int close_after)
{
    conn_write(c, text, strlen(text), close_after);
}

/* Returns N from "<prefix>N", or 0 when `path` does not start so. */
static size_t path_number(const char *path, const char *prefix)
{
    size_t len = strlen(prefix);

    if (strncmp(path, prefix, len) != 0) {
        return 0;
    }
    return (size_t)strtoull(path + len, NULL, 10);
}

static void route(struct conn *c, const char *method, const char *path,
                  const char *body, size_t body_len)
{
    int is_head = strcmp(method, "HEAD") == 0;
    size_t announced = path_number(path, "/length/");
    size_t streamed = path_number(path, "/stream/");
    struct lf_buf echo;
    char head[128];

    if (strcmp(path, "/echo") == 0) {
        lf_buf_init(&echo);
        lf_buf_appendf(&echo, "%s %s\n", method, path);
        lf_buf_append(&echo, body, body_len);
        respond(c, "200 OK", "", echo.data, echo.len, !is_head, 0);
        lf_buf_cleanup(&echo);
    } else if (strcmp(path, "/status/503") == 0) {
        respond(c, "503 Service Unavailable", "", "busy", 4, 1, 0);
    } else if (strcmp(path, "/empty") == 0) {
        respond_raw(c, "HTTP/1.1 204 No Content\r\n\r\n", 0);
    } else if (strcmp(path, "/close") == 0) {
        respond(c, "200 OK", "Connection: close\r\n", "bye", 3, 1, 1);
    } else if (strcmp(path, "/drop") == 0) {
        respond(c, "200 OK", "", "dropped", 7, 1, 1);
    } else if (strcmp(path, "/hang") == 0) {
        return;
    } else if (strcmp(path, "/cut") == 0) {
        respond_raw(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
                    1);
    } else if (announced > 0) {
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", announced);
        respond_raw(c, head, 0);
    } else if (streamed > 0) {
        respond_raw(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 0);
        c->stream_left = streamed;
    } else {
        respond(c, "404 Not Found", "", "not found", 9, 1, 0);
    }
}

/* Returns the Content-Length of a request head, 0 when it has none. */
static size_t content_length(const char *head)
{
    const char *field = strcasestr(head, "\r\nContent-Length:");

    if (field == NULL) {
        return 0;
    }
    return (size_t)strtoull(field + LF_STRLEN("\r\nContent-Length:"), NULL, 10);
}

/* Handles the first request in `c->in`; returns 0 when it is incomplete. */
static int conn_handle_one(struct conn *c)
{
    struct server *s = c->server;
    char method[16];
    char path[256];
    const char *end;
    size_t head_len;
    size_t body_len;

    if (c->in.len == 0) {
        return 0;
    }
    end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
    if (end == NULL) {
        return 0;
    }
    head_len = (size_t)(end - c->in.data) + 4;
    lf_buf_reset(&s->last_head);
    lf_buf_append(&s->last_head, c->in.data, head_len);
    body_len = content_length(s->last_head.data);
    if (c->in.len < head_len + body_len) {
        return 0;
    }

    if (sscanf(s->last_head.data, "%15s %255s", method, path) != 2) {
        conn_close(c);
        return 0;
    }
    s->requests++;
    route(c, method, path, c->in.data + head_len, body_len);
    lf_buf_consume(&c->in, head_len + body_len);
    return 1;
}

/* Handles the complete requests received; a streamed body ends them. */
static void handle_requests(struct conn *c)
{
    int handled = 1;

    while (handled && !c->closing && c->stream_left == 0) {
        handled = conn_handle_one(c);
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    buf->base = lf_malloc(suggested);
    buf->len = suggested;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;

    if (nread < 0) {
        conn_close(c);
    } else if (nread > 0 && !c->server->greeting) {
        lf_buf_append(&c->in, buf->base, (size_t)nread);
        handle_requests(c);
    }
    lf_free(buf->base);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    struct conn *c;

    LF_CHECK_INT_EQ(status, 0);
    c = lf_calloc(1, sizeof(*c));
    c->server = s;
    lf_buf_init(&c->in);
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    s->connections++;
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (s->greeting) {
        respond_raw(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
    }
}

static void server_start(struct server *s, uv_loop_t *loop, int greeting)
{
    struct sockaddr_storage name;
    struct sockaddr_in addr;
    int name_len = (int)sizeof(name);

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->greeting = greeting;
    lf_buf_init(&s->last_head);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    LF_CHECK_INT_EQ(uv_tcp_init(loop, &s->listener), 0);
    s->listener.data = s;
    LF_CHECK_INT_EQ(
        uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0), 0);
    LF_CHECK_INT_EQ(uv_listen((uv_stream_t *)&s->listener, 128, on_connection),
                    0);
    LF_CHECK_INT_EQ(
        uv_tcp_getsockname(&s->listener, (struct sockaddr *)&name, &name_len),
        0);
    s->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
}

static void server_stop(struct server *s)
{
    while (s->conns != NULL) {
        conn_close(s->conns);
    }
    uv_close((uv_handle_t *)&s->listener, NULL);
}

/* Returns whether the last request head has a header called `name`. */
static int last_head_has(const struct server *s, const char *name)
{
    struct lf_buf needle;
    int found;

    lf_buf_init(&needle);
    lf_buf_appendf(&needle, "\r\n%s:", name);
    found = strcasestr(s->last_head.data, needle.data) != NULL;
    lf_buf_cleanup(&needle);
    return found;
}

/* Fixture: loop, server, client */

static void on_watchdog(uv_timer_t *timer)
{
    (void)timer;
}

static void fixture_start(struct fixture *f, int greeting)
{
    memset(f, 0, sizeof(*f));
    LF_CHECK_INT_EQ(uv_loop_init(&f->loop), 0);
    server_start(&f->server, &f->loop, greeting);
    LF_CHECK_INT_EQ(lf_http_client_new(&f->loop, &f->client), 0);

    /* Wakes uv_run(UV_RUN_ONCE) so run_until() can check its deadline. */
    uv_timer_init(&f->loop, &f->watchdog);
    uv_timer_start(&f->watchdog, on_watchdog, 50, 50);
}

static void run_until(struct fixture *f, const int *flag, int value)
{
    uint64_t deadline;

    uv_update_time(&f->loop);
    deadline = uv_now(&f->loop) + TEST_STEP_LIMIT_MS;
    while (*flag < value) {
        if (uv_now(&f->loop) >= deadline) {
            LF_FAIL_AT("no progress in %d ms: %d of %d", TEST_STEP_LIMIT_MS,
                       *flag, value);
            return;
        }
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static void on_client_closed(void *arg)
{
    struct fixture *f = arg;

    f->closed++;
    f->client = NULL;
}

/* Closes everything and checks that no handle is left on the loop. */
static void fixture_finish(struct fixture *f)
{
    if (f->client != NULL) {
        lf_http_client_close(f->client, on_client_closed, f);
        run_until(f, &f->closed, 1);
    }
    server_stop(&f->server);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    LF_CHECK_INT_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    LF_CHECK_INT_EQ(uv_loop_close(&f->loop), 0);
    lf_buf_cleanup(&f->server.last_head);
}

static void result_init(struct result *r, struct fixture *f)
{
    memset(r, 0, sizeof(*r));
    r->fixture = f;
    lf_buf_init(&r->body);
    lf_buf_init(&r->error_text);
}

static void result_cleanup(struct result *r)
{
    lf_buf_cleanup(&r->body);
    lf_buf_cleanup(&r->error_text);
}

static void record(struct result *r, const struct lf_http_response *res)
{
    LF_CHECK(!r->fixture->sending);
    LF_CHECK(res->body != NULL);
    LF_CHECK(res->error_text != NULL);
    if (res->body != NULL) {
        LF_CHECK_INT_EQ(res->body[res->body_len], '\0');
        lf_buf_append(&r->body, res->body, res->body_len);
    }
    if (res->error_text != NULL) {
        lf_buf_append_str(&r->error_text, res->error_text);
    }
    r->error = res->error;
    r->status = res->status;
    r->total_s = res->total_s;
    snprintf(r->header_value, sizeof(r->header_value), "%s",
             res->header_value != NULL ? res->header_value : "(none)");
    r->called++;
}

static void on_result(void *arg, const struct lf_http_response *res)
{
    record(arg, res);
}

static int send_to(struct fixture *f, const char *url,
                   const struct lf_http_request *base, struct result *r)
{
    struct lf_http_request req = *base;
    int rc;

    req.url = url;
    f->sending = 1;
    rc = lf_http_client_send(f->client, &req, on_result, r);
    f->sending = 0;
    return rc;
}

/* Sends `base` to `path` on the test server; `base->url` is ignored. */
static int send_path(struct fixture *f, const char *path,
                     const struct lf_http_request *base, struct result *r)
{
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->server.port, path);
    return send_to(f, url, base, r);
}

static const struct lf_http_request get_request = {
    .method = "GET",
    .timeout_ms = 10000,
};

/* Tests */

static void test_http_client_get_echo(void)
{
    struct fixture f;
    struct result r;
    char host[64];

    fixture_start(&f, 0);
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &get_request, &r), 0);
    LF_CHECK_INT_EQ(r.called, 0);
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), 1);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.called, 1);
    LF_CHECK_INT_EQ(r.error, 0);
    LF_CHECK_INT_EQ(r.status, 200);
    LF_CHECK_MEM_EQ(r.body.data, r.body.len, "GET /echo\n");
    LF_CHECK_STR_EQ(r.error_text.data, "");
    LF_CHECK(r.total_s > 0.0 && r.total_s < 10.0);
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), 0);
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", f.server.port);
    LF_CHECK(strstr(f.server.last_head.data, host) != NULL);
    LF_CHECK(strncmp(f.server.last_head.data, "GET /echo HTTP/1.1\r\n",
                     LF_STRLEN("GET /echo HTTP/1.1\r\n")) == 0);

    result_cleanup(&r);
    fixture_finish(&f);
}

static void test_http_client_captures_header(void)
{
    struct lf_http_request req = get_request;
    struct fixture f;
    struct result r;

    fixture_start(&f, 0);
    req.capture_header = "connection";
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/close", &req, &r), 0);
    run_until(&f, &r.called, 1);
    LF_CHECK_INT_EQ(r.status, 200);
    LF_CHECK_STR_EQ(r.header_value, "close");
    result_cleanup(&r);

    req.capture_header = "X-elastic-product";
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &req, &r), 0);
    run_until(&f, &r.called, 1);
    LF_CHECK_INT_EQ(r.status, 200);
    LF_CHECK_STR_EQ(r.header_value, "(none)");
    result_cleanup(&r);
    fixture_finish(&f);
}

/*
 * With proxy_url, the request goes to the proxy with the absolute URL as
 * its target, even though no_proxy could list 127.0.0.1. The test server
 * plays the proxy and responds with 404 to the unknown target.
 */
static void test_http_client_proxy_url(void)
{
    static const char target[] = "GET http://127.0.0.1:1/echo HTTP/1.1\r\n";
    struct lf_http_request req = get_request;
    struct fixture f;
    struct result r;
    char proxy[64];

    fixture_start(&f, 0);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", f.server.port);
    req.proxy_url = proxy;
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_to(&f, "http://127.0.0.1:1/echo", &req, &r), 0);
    run_until(&f, &r.called, 1);
    LF_CHECK_INT_EQ(r.error, 0);
    LF_CHECK_INT_EQ(r.status, 404);
    LF_CHECK(strncmp(f.server.last_head.data, target, LF_STRLEN(target)) ==
             0);
    result_cleanup(&r);
    fixture_finish(&f);
}

static void test_http_client_post_echo(void)
{
    static const char *const headers[] = {
        "Content-Type: application/x-ndjson",
        "X-Opaque-Id: test-42",
    };
    struct lf_http_request req = {
        .method = "POST",
        .headers = headers,
        .header_count = LF_ARRAY_SIZE(headers),
        .body = "{\"a\":1}\n{\"b\":2}\n",
        .body_len = LF_STRLEN("{\"a\":1}\n{\"b\":2}\n"),
        .timeout_ms = 10000,
    };
    struct fixture f;
    struct result r;

    fixture_start(&f, 0);
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &req, &r), 0);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.error, 0);
    LF_CHECK_INT_EQ(r.status, 200);
    LF_CHECK_MEM_EQ(r.body.data, r.body.len,
                    "POST /echo\n{\"a\":1}\n{\"b\":2}\n");
    LF_CHECK(strstr(f.server.last_head.data,
                    "\r\nContent-Type: application/x-ndjson\r\n") != NULL);
    LF_CHECK(strstr(f.server.last_head.data, "\r\nX-Opaque-Id: test-42\r\n") !=
             NULL);
    LF_CHECK(strstr(f.server.last_head.data, "\r\nContent-Length: 16\r\n") !=
             NULL);

    result_cleanup(&r);
    fixture_finish(&f);
}

/*
 * libcurl 7.88 sends "Expect: 100-continue" with a POST body over 1 MiB and
 * waits up to 1 s for the interim reply, which the client turns off. The
 * client also drops the form content type when the caller sets none.
 */
static void test_http_client_large_post_without_expect(void)
{
    const size_t len = 2 * 1024 * 1024 + 3;
    char *body = lf_malloc(len);
    struct lf_http_request req = {
        .method = "POST",
        .body = body,
        .body_len = len,
        .timeout_ms = 10000,
    };
    struct fixture f;
    struct result r;
    size_t i;

    for (i = 0; i < len; i++) {
        body[i] = (char)('a' + i % 26);
    }
    fixture_start(&f, 0);
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &req, &r), 0);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.error, 0);
    LF_CHECK_INT_EQ(r.status, 200);
    LF_CHECK_INT_EQ(r.body.len, LF_STRLEN("POST /echo\n") + len);
    LF_CHECK(r.body.len == LF_STRLEN("POST /echo\n") + len &&
             memcmp(r.body.data + LF_STRLEN("POST /echo\n"), body, len) == 0);
    LF_CHECK_INT_EQ(last_head_has(&f.server, "Expect"), 0);
    LF_CHECK_INT_EQ(last_head_has(&f.server, "Content-Type"), 0);
    LF_CHECK_INT_EQ(last_head_has(&f.server, "Content-Length"), 1);

    result_cleanup(&r);
    fixture_finish(&f);
    lf_free(body);
}

static void test_http_client_other_methods(void)
{
    struct lf_http_request put = {
        .method = "PUT",
        .body = "doc",
        .body_len = 3,
        .timeout_ms = 10000,
    };
    struct lf_http_request del = {.method = "DELETE", .timeout_ms = 10000};
    struct lf_http_request head = {.method = "HEAD", .timeout_ms = 10000};
    struct fixture f;
    struct result r_put;
    struct result r_del;
    struct result r_head;

    fixture_start(&f, 0);
    result_init(&r_put, &f);
    result_init(&r_del, &f);
    result_init(&r_head, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &put, &r_put), 0);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &del, &r_del), 0);
    LF_CHECK_INT_EQ(send_path(&f, "/echo", &head, &r_head), 0);
    run_until(&f, &r_put.called, 1);
    run_until(&f, &r_del.called, 1);
    run_until(&f, &r_head.called, 1);

    LF_CHECK_INT_EQ(r_put.error, 0);
    LF_CHECK_INT_EQ(r_put.status, 200);
    LF_CHECK_MEM_EQ(r_put.body.data, r_put.body.len, "PUT /echo\ndoc");
    LF_CHECK_INT_EQ(r_del.error, 0);
    LF_CHECK_INT_EQ(r_del.status, 200);
    LF_CHECK_MEM_EQ(r_del.body.data, r_del.body.len, "DELETE /echo\n");
    LF_CHECK_INT_EQ(r_head.error, 0);
    LF_CHECK_INT_EQ(r_head.status, 200);
    LF_CHECK_INT_EQ(r_head.body.len, 0);

    result_cleanup(&r_put);
    result_cleanup(&r_del);
    result_cleanup(&r_head);
    fixture_finish(&f);
}

static void test_http_client_status_and_empty_body(void)
{
    struct fixture f;
    struct result busy;
    struct result empty;
    struct result missing;

    fixture_start(&f, 0);
    result_init(&busy, &f);
    result_init(&empty, &f);
    result_init(&missing, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/status/503", &get_request, &busy), 0);
    LF_CHECK_INT_EQ(send_path(&f, "/empty", &get_request, &empty), 0);
    LF_CHECK_INT_EQ(send_path(&f, "/nowhere", &get_request, &missing), 0);
    run_until(&f, &busy.called, 1);
    run_until(&f, &empty.called, 1);
    run_until(&f, &missing.called, 1);

    LF_CHECK_INT_EQ(busy.error, 0);
    LF_CHECK_INT_EQ(busy.status, 503);
    LF_CHECK_MEM_EQ(busy.body.data, busy.body.len, "busy");
    LF_CHECK_INT_EQ(empty.error, 0);
    LF_CHECK_INT_EQ(empty.status, 204);
    LF_CHECK_INT_EQ(empty.body.len, 0);
    LF_CHECK_INT_EQ(missing.error, 0);
    LF_CHECK_INT_EQ(missing.status, 404);
    LF_CHECK_MEM_EQ(missing.body.data, missing.body.len, "not found");

    result_cleanup(&busy);
    result_cleanup(&empty);
    result_cleanup(&missing);
    fixture_finish(&f);
}

/* Sends the paths one after the other, each from the previous callback. */
struct chain {
    struct fixture *fixture;
    const char *const *paths;
    size_t count;
    size_t done;
    int finished;
    struct result results[8];
};

static void chain_next(struct chain *ch);

static void on_chain_result(void *arg, const struct lf_http_response *res)
{
    struct chain *ch = arg;

    record(&ch->results[ch->done], res);
    ch->done++;
    chain_next(ch);
}

static void chain_next(struct chain *ch)
{
    struct fixture *f = ch->fixture;
    struct lf_http_request req = get_request;
    char url[128];

    if (ch->done == ch->count) {
        ch->finished = 1;
        return;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->server.port,
             ch->paths[ch->done]);
    req.url = url;
    f->sending = 1;
    LF_CHECK_INT_EQ(lf_http_client_send(f->client, &req, on_chain_result, ch),
                    0);
    f->sending = 0;
}

static void run_chain(struct fixture *f, struct chain *ch,
                      const char *const *paths, size_t count)
{
    size_t i;

    memset(ch, 0, sizeof(*ch));
    ch->fixture = f;
    ch->paths = paths;
    ch->count = count;
    for (i = 0; i < LF_ARRAY_SIZE(ch->results); i++) {
        result_init(&ch->results[i], f);
    }
    chain_next(ch);
    run_until(f, &ch->finished, 1);
}

static void chain_cleanup(struct chain *ch)
{
    size_t i;

    for (i = 0; i < LF_ARRAY_SIZE(ch->results); i++) {
        result_cleanup(&ch->results[i]);
    }
}

static void test_http_client_keepalive_reuse(void)
{
    static const char *const paths[] = {"/echo",  "/echo", "/echo",
                                        "/close", "/echo", "/echo"};
    struct fixture f;
    struct chain ch;

    fixture_start(&f, 0);
    run_chain(&f, &ch, paths, LF_ARRAY_SIZE(paths));

    LF_CHECK_INT_EQ(ch.done, 6);
    LF_CHECK_INT_EQ(ch.results[0].status, 200);
    LF_CHECK_INT_EQ(ch.results[2].status, 200);
    LF_CHECK_INT_EQ(ch.results[3].status, 200);
    LF_CHECK_MEM_EQ(ch.results[3].body.data, ch.results[3].body.len, "bye");
    LF_CHECK_INT_EQ(ch.results[5].status, 200);
    LF_CHECK_MEM_EQ(ch.results[5].body.data, ch.results[5].body.len,
                    "GET /echo\n");
    /* One connection for the first four, a new one after "close". */
    LF_CHECK_INT_EQ(f.server.connections, 2);
    LF_CHECK_INT_EQ(f.server.requests, 6);

    chain_cleanup(&ch);
    fixture_finish(&f);
}

/*
 * A server may close an idle keep-alive connection without saying so; the
 * next request must still succeed, on a new connection.
 */
static void test_http_client_dropped_connection_replaced(void)
{
    static const char *const paths[] = {"/drop", "/echo", "/drop", "/echo"};
    struct fixture f;
    struct chain ch;
    size_t i;

    fixture_start(&f, 0);
    run_chain(&f, &ch, paths, LF_ARRAY_SIZE(paths));

    LF_CHECK_INT_EQ(ch.done, 4);
    for (i = 0; i < LF_ARRAY_SIZE(paths); i++) {
        LF_CHECK_INT_EQ(ch.results[i].error, 0);
        LF_CHECK_INT_EQ(ch.results[i].status, 200);
    }
    LF_CHECK_MEM_EQ(ch.results[3].body.data, ch.results[3].body.len,
                    "GET /echo\n");
    /* Each /drop ends its connection; the /echo after it opens the next. */
    LF_CHECK_INT_EQ(f.server.connections, 3);
    LF_CHECK_INT_EQ(f.server.requests, 4);

    chain_cleanup(&ch);
    fixture_finish(&f);
}

enum { CONCURRENT_TOTAL = 50, CONCURRENT_IN_FLIGHT = 4 };

struct concurrent;

struct concurrent_item {
    struct concurrent *cc;
    int index;
    char body[32];
};

struct concurrent {
    struct fixture *fixture;
    int sent;
    int completed;
    size_t max_active;
    struct concurrent_item items[CONCURRENT_TOTAL];
};

static void concurrent_send(struct concurrent *cc);

static void on_concurrent_result(void *arg, const struct lf_http_response *res)
{
    struct concurrent_item *item = arg;
    struct concurrent *cc = item->cc;
    char expected[64];

    snprintf(expected, sizeof(expected), "POST /echo\n%s", item->body);
    LF_CHECK(!cc->fixture->sending);
    LF_CHECK_INT_EQ(res->error, 0);
    LF_CHECK_INT_EQ(res->status, 200);
    LF_CHECK_MEM_EQ(res->body, res->body_len, expected);
    cc->completed++;
    if (cc->sent < CONCURRENT_TOTAL) {
        concurrent_send(cc);
    }
}

static void concurrent_send(struct concurrent *cc)
{
    struct concurrent_item *item = &cc->items[cc->sent];
    struct lf_http_request req = {.method = "POST", .timeout_ms = 10000};
    char url[128];
    size_t active;

    item->cc = cc;
    item->index = cc->sent;
    snprintf(item->body, sizeof(item->body), "request %d", item->index);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo",
             cc->fixture->server.port);
    req.url = url;
    req.body = item->body;
    req.body_len = strlen(item->body);
    cc->fixture->sending = 1;
    LF_CHECK_INT_EQ(lf_http_client_send(cc->fixture->client, &req,
                                        on_concurrent_result, item),
                    0);
    cc->fixture->sending = 0;
    cc->sent++;
    active = lf_http_client_active(cc->fixture->client);
    if (active > cc->max_active) {
        cc->max_active = active;
    }
}

/*
 * 50 requests, four in flight at any time, each next one sent from a
 * callback: libcurl must keep reusing the four connections it opened.
 */
static void test_http_client_concurrent_reuse(void)
{
    struct fixture f;
    struct concurrent cc;
    int i;

    fixture_start(&f, 0);
    memset(&cc, 0, sizeof(cc));
    cc.fixture = &f;
    for (i = 0; i < CONCURRENT_IN_FLIGHT; i++) {
        concurrent_send(&cc);
    }
    run_until(&f, &cc.completed, CONCURRENT_TOTAL);

    LF_CHECK_INT_EQ(cc.sent, CONCURRENT_TOTAL);
    LF_CHECK_INT_EQ(cc.completed, CONCURRENT_TOTAL);
    LF_CHECK_INT_EQ(cc.max_active, CONCURRENT_IN_FLIGHT);
    LF_CHECK_INT_EQ(f.server.requests, CONCURRENT_TOTAL);
    LF_CHECK_INT_EQ(f.server.connections, CONCURRENT_IN_FLIGHT);
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), 0);

    fixture_finish(&f);
}

/* A burst of 50 at once: every request completes with its own body. */
static void test_http_client_burst(void)
{
    struct fixture f;
    struct concurrent cc;
    int i;

    fixture_start(&f, 0);
    memset(&cc, 0, sizeof(cc));
    cc.fixture = &f;
    for (i = 0; i < CONCURRENT_TOTAL; i++) {
        concurrent_send(&cc);
    }
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), CONCURRENT_TOTAL);
    run_until(&f, &cc.completed, CONCURRENT_TOTAL);

    LF_CHECK_INT_EQ(cc.completed, CONCURRENT_TOTAL);
    LF_CHECK_INT_EQ(f.server.requests, CONCURRENT_TOTAL);
    LF_CHECK(f.server.connections >= 1 &&
             f.server.connections <= CONCURRENT_TOTAL);
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), 0);

    fixture_finish(&f);
}

static int starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_http_client_timeout(void)
{
    struct lf_http_request req = {.method = "GET", .timeout_ms = 300};
    struct fixture f;
    struct result r;
    uint64_t start_ns;
    uint64_t elapsed_ms;

    fixture_start(&f, 0);
    result_init(&r, &f);
    start_ns = uv_hrtime();
    LF_CHECK_INT_EQ(send_path(&f, "/hang", &req, &r), 0);
    run_until(&f, &r.called, 1);
    elapsed_ms = (uv_hrtime() - start_ns) / 1000000;

    LF_CHECK_INT_EQ(r.error, LF_ETIMEDOUT);
    LF_CHECK_INT_EQ(r.status, 0);
    LF_CHECK_INT_EQ(r.body.len, 0);
    LF_CHECK(starts_with(r.error_text.data, "Operation timed out after"));
    LF_CHECK(elapsed_ms >= 300 && elapsed_ms < 2000);
    LF_CHECK(r.total_s >= 0.3 && r.total_s < 2.0);
    LF_CHECK_INT_EQ(f.server.requests, 1);

    result_cleanup(&r);
    fixture_finish(&f);
}

/* A bound socket that does not listen resets each connection attempt. */
static void test_http_client_connection_refused(void)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof(addr);
    struct fixture f;
    struct result r;
    char url[64];
    char expected[96];
    int fd;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    LF_CHECK(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    LF_CHECK_INT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    LF_CHECK_INT_EQ(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(addr.sin_port));
    snprintf(expected, sizeof(expected),
             "Failed to connect to 127.0.0.1 port %d", ntohs(addr.sin_port));

    fixture_start(&f, 0);
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_to(&f, url, &get_request, &r), 0);
    LF_CHECK_INT_EQ(r.called, 0);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.error, LF_ECONNREFUSED);
    LF_CHECK_INT_EQ(r.status, 0);
    LF_CHECK_INT_EQ(r.body.len, 0);
    LF_CHECK(starts_with(r.error_text.data, expected));

    result_cleanup(&r);
    fixture_finish(&f);
    close(fd);
}

static void test_http_client_response_cut_short(void)
{
    struct fixture f;
    struct result r;

    fixture_start(&f, 0);
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_path(&f, "/cut", &get_request, &r), 0);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.error, LF_EHTTP);
    LF_CHECK_INT_EQ(r.status, 0);
    LF_CHECK_INT_EQ(r.body.len, 0);
    LF_CHECK_STR_EQ(r.error_text.data,
                    "transfer closed with 93 bytes remaining to read");

    result_cleanup(&r);
    fixture_finish(&f);
}

/* A server that responds in plain HTTP fails the TLS handshake. */
static void test_http_client_tls_handshake_failure(void)
{
    struct fixture f;
    struct result r;
    char url[64];

    fixture_start(&f, 1);
    result_init(&r, &f);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", f.server.port);
    LF_CHECK_INT_EQ(send_to(&f, url, &get_request, &r), 0);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.error, LF_ETLS);
    LF_CHECK_INT_EQ(r.status, 0);
    LF_CHECK(r.error_text.len > 0);
    LF_CHECK_INT_EQ(f.server.connections, 1);

    result_cleanup(&r);
    fixture_finish(&f);
}

static void test_http_client_malformed_url(void)
{
    struct fixture f;
    struct result r;

    fixture_start(&f, 0);
    result_init(&r, &f);
    LF_CHECK_INT_EQ(send_to(&f, "http://127.0.0.1:99999/", &get_request, &r),
                    0);
    LF_CHECK_INT_EQ(r.called, 0);
    run_until(&f, &r.called, 1);

    LF_CHECK_INT_EQ(r.error, LF_EHTTP);
    LF_CHECK_INT_EQ(r.status, 0);
    LF_CHECK(r.error_text.len > 0);
    LF_CHECK_INT_EQ(f.server.connections, 0);

    result_cleanup(&r);
    fixture_finish(&f);
}

/*
 * libcurl quotes a malformed proxy URL in its error text: the user and
 * password in it are hidden, so that the text can be logged.
 */
static void test_http_client_error_hides_password(void)
{
    static const char *const proxies[] = {
        "http://user:S3CRETX@[::1:3128",
        "http://us@er:S3CRETX@[::1:3128",
        "user:S3CRETX@[::1:3128",
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(proxies); i++) {
        struct lf_http_request req = get_request;
        struct fixture f;
        struct result r;

        fixture_start(&f, 0);
        req.proxy_url = proxies[i];
        result_init(&r, &f);
        LF_CHECK_INT_EQ(send_to(&f, "http://127.0.0.1:1/echo", &req, &r), 0);
        run_until(&f, &r.called, 1);
        LF_CHECK(r.error != 0);
        LF_CHECK(r.error_text.len > 0);
        if (r.error_text.data != NULL) {
            LF_CHECK(strstr(r.error_text.data, "S3CRETX") == NULL);
            LF_CHECK(strstr(r.error_text.data, "***@[::1:3128") != NULL);
        }
        LF_CHECK_INT_EQ(f.server.connections, 0);
        result_cleanup(&r);
        fixture_finish(&f);
    }
}

static void test_http_client_body_limit(void)
{
    char too_long_announced[32];
    char too_long_streamed[32];
    char longest[32];
    char expected[64];
    struct fixture f;
    struct result announced;
    struct result streamed;
    struct result fits;

    snprintf(too_long_announced, sizeof(too_long_announced), "/length/%zu",
             BODY_MAX_LEN + 1);
    snprintf(too_long_streamed, sizeof(too_long_streamed), "/stream/%zu",
             BODY_MAX_LEN + 1);
    snprintf(longest, sizeof(longest), "/stream/%zu", BODY_MAX_LEN);
    snprintf(expected, sizeof(expected), "response body exceeds %zu bytes",
             BODY_MAX_LEN);

    fixture_start(&f, 0);
    result_init(&announced, &f);
    result_init(&streamed, &f);
    result_init(&fits, &f);
    LF_CHECK_INT_EQ(send_path(&f, too_long_announced, &get_request, &announced),
                    0);
    run_until(&f, &announced.called, 1);
    LF_CHECK_INT_EQ(send_path(&f, too_long_streamed, &get_request, &streamed),
                    0);
    run_until(&f, &streamed.called, 1);
    LF_CHECK_INT_EQ(send_path(&f, longest, &get_request, &fits), 0);
    run_until(&f, &fits.called, 1);

    LF_CHECK_INT_EQ(announced.error, LF_EHTTP);
    LF_CHECK_STR_EQ(announced.error_text.data, expected);
    LF_CHECK_INT_EQ(streamed.error, LF_EHTTP);
    LF_CHECK_STR_EQ(streamed.error_text.data, expected);
    LF_CHECK_INT_EQ(streamed.body.len, 0);
    LF_CHECK_INT_EQ(fits.error, 0);
    LF_CHECK_INT_EQ(fits.status, 200);
    LF_CHECK_INT_EQ(fits.body.len, BODY_MAX_LEN);
    LF_CHECK(fits.body.len > 0 && fits.body.data[0] == 'x' &&
             fits.body.data[fits.body.len - 1] == 'x');

    result_cleanup(&announced);
    result_cleanup(&streamed);
    result_cleanup(&fits);
    fixture_finish(&f);
}

static void test_http_client_rejects_invalid_request(void)
{
    static const char *const injected[] = {"X-A: b\r\nX-B: c"};
    static const char *const no_colon[] = {"X-A b"};
    static const char *const bad_name[] = {"X A: b"};
    static const char *const null_line[] = {NULL};
    struct lf_http_request cases[] = {
        {.method = NULL},
        {.method = "GE T"},
        {.method = ""},
        {.method = "GET", .timeout_ms = -1},
        {.method = "POST", .body = NULL, .body_len = 5},
        {.method = "GET", .headers = NULL, .header_count = 1},
        {.method = "GET", .headers = injected, .header_count = 1},
        {.method = "GET", .headers = no_colon, .header_count = 1},
        {.method = "GET", .headers = bad_name, .header_count = 1},
        {.method = "GET", .headers = null_line, .header_count = 1},
    };
    struct lf_http_request no_url = {.method = "GET"};
    struct fixture f;
    struct result r;
    size_t i;

    fixture_start(&f, 0);
    result_init(&r, &f);
    for (i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        LF_CHECK_INT_EQ(send_path(&f, "/echo", &cases[i], &r), LF_EINVAL);
    }
    LF_CHECK_INT_EQ(lf_http_client_send(f.client, &no_url, on_result, &r),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(lf_http_client_send(f.client, NULL, on_result, &r),
                    LF_EINVAL);
    no_url.url = "http://127.0.0.1:1/";
    LF_CHECK_INT_EQ(lf_http_client_send(f.client, &no_url, NULL, &r),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    LF_CHECK_INT_EQ(r.called, 0);

    result_cleanup(&r);
    fixture_finish(&f);
}

/* Closing */

static void on_canceled(void *arg, const struct lf_http_response *res)
{
    struct result *r = arg;
    struct fixture *f = r->fixture;
    struct lf_http_request req = get_request;

    record(r, res);
    req.url = "http://127.0.0.1:1/";
    LF_CHECK_INT_EQ(f->closed, 0);
    LF_CHECK_INT_EQ(lf_http_client_send(f->client, &req, on_result, r),
                    LF_ESTATE);
}

static void test_http_client_close_cancels_in_flight(void)
{
    struct fixture f;
    struct result r[3];
    char url[64];
    size_t i;

    fixture_start(&f, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang", f.server.port);
    for (i = 0; i < LF_ARRAY_SIZE(r); i++) {
        struct lf_http_request req = get_request;

        result_init(&r[i], &f);
        req.url = url;
        LF_CHECK_INT_EQ(lf_http_client_send(f.client, &req, on_canceled, &r[i]),
                        0);
    }
    run_until(&f, &f.server.requests, 3);
    LF_CHECK_INT_EQ(lf_http_client_active(f.client), 3);

    lf_http_client_close(f.client, on_client_closed, &f);
    lf_http_client_close(f.client, on_client_closed, &f);
    for (i = 0; i < LF_ARRAY_SIZE(r); i++) {
        LF_CHECK_INT_EQ(r[i].called, 0);
    }
    run_until(&f, &f.closed, 1);

    LF_CHECK_INT_EQ(f.closed, 1);
    for (i = 0; i < LF_ARRAY_SIZE(r); i++) {
        LF_CHECK_INT_EQ(r[i].called, 1);
        LF_CHECK_INT_EQ(r[i].error, LF_ECANCELED);
        LF_CHECK_INT_EQ(r[i].status, 0);
        LF_CHECK_INT_EQ(r[i].body.len, 0);
        LF_CHECK_STR_EQ(r[i].error_text.data,
                        "request canceled: client closed");
        result_cleanup(&r[i]);
    }
    fixture_finish(&f);
}

struct close_in_callback {
    struct fixture *fixture;
    struct result echo;
    struct result hang[2];
};

static void on_echo_then_close(void *arg, const struct lf_http_response *res)
{
    struct close_in_callback *ctx = arg;

    record(&ctx->echo, res);
    lf_http_client_close(ctx->fixture->client, on_client_closed, ctx->fixture);
}

static void test_http_client_close_from_callback(void)
{
    struct fixture f;
    struct close_in_callback ctx;
    struct lf_http_request req = get_request;
    char url[64];
    size_t i;

    fixture_start(&f, 0);
    ctx.fixture = &f;
    result_init(&ctx.echo, &f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang", f.server.port);
    req.url = url;
    for (i = 0; i < LF_ARRAY_SIZE(ctx.hang); i++) {
        result_init(&ctx.hang[i], &f);
        LF_CHECK_INT_EQ(
            lf_http_client_send(f.client, &req, on_result, &ctx.hang[i]), 0);
    }
    run_until(&f, &f.server.requests, 2);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", f.server.port);
    LF_CHECK_INT_EQ(
        lf_http_client_send(f.client, &req, on_echo_then_close, &ctx), 0);
    run_until(&f, &f.closed, 1);

    LF_CHECK_INT_EQ(ctx.echo.called, 1);
    LF_CHECK_INT_EQ(ctx.echo.error, 0);
    LF_CHECK_INT_EQ(ctx.echo.status, 200);
    LF_CHECK_MEM_EQ(ctx.echo.body.data, ctx.echo.body.len, "GET /echo\n");
    for (i = 0; i < LF_ARRAY_SIZE(ctx.hang); i++) {
        LF_CHECK_INT_EQ(ctx.hang[i].called, 1);
        LF_CHECK_INT_EQ(ctx.hang[i].error, LF_ECANCELED);
        result_cleanup(&ctx.hang[i]);
    }
    result_cleanup(&ctx.echo);
    fixture_finish(&f);
}

struct close_after_timeouts {
    struct fixture *fixture;
    struct result results[2];
    int closed_in_callback;
};

static void on_timeout_then_close(void *arg, const struct lf_http_response *res)
{
    struct result *r = arg;
    struct fixture *f = r->fixture;
    struct close_after_timeouts *ctx = f->user;

    record(r, res);
    if (!ctx->closed_in_callback) {
        ctx->closed_in_callback = 1;
        lf_http_client_close(f->client, on_client_closed, f);
    }
}

/*
 * Both requests time out in the same curl_multi_socket_action() call
 * because the loop is blocked past their deadline. The first callback
 * closes the client, and the second request still reports its timeout
 * rather than a cancel.
 */
static void test_http_client_close_keeps_finished_results(void)
{
    struct lf_http_request req = {.method = "GET", .timeout_ms = 100};
    struct close_after_timeouts ctx;
    struct fixture f;
    char url[64];
    size_t i;

    fixture_start(&f, 0);
    memset(&ctx, 0, sizeof(ctx));
    ctx.fixture = &f;
    f.user = &ctx;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang", f.server.port);
    req.url = url;
    for (i = 0; i < LF_ARRAY_SIZE(ctx.results); i++) {
        result_init(&ctx.results[i], &f);
        LF_CHECK_INT_EQ(lf_http_client_send(f.client, &req,
                                            on_timeout_then_close,
                                            &ctx.results[i]),
                        0);
    }
    run_until(&f, &f.server.requests, 2);
    usleep(300 * 1000);
    run_until(&f, &f.closed, 1);

    LF_CHECK_INT_EQ(ctx.closed_in_callback, 1);
    for (i = 0; i < LF_ARRAY_SIZE(ctx.results); i++) {
        LF_CHECK_INT_EQ(ctx.results[i].called, 1);
        LF_CHECK_INT_EQ(ctx.results[i].error, LF_ETIMEDOUT);
        result_cleanup(&ctx.results[i]);
    }
    fixture_finish(&f);
}

static void test_http_client_close_idle(void)
{
    struct fixture f;
    struct chain ch;
    static const char *const paths[] = {"/echo"};

    fixture_start(&f, 0);
    run_chain(&f, &ch, paths, LF_ARRAY_SIZE(paths));
    LF_CHECK_INT_EQ(ch.results[0].status, 200);

    /* The kept-alive connection is closed with the client. */
    lf_http_client_close(f.client, on_client_closed, &f);
    run_until(&f, &f.closed, 1);
    LF_CHECK_INT_EQ(f.closed, 1);

    chain_cleanup(&ch);
    fixture_finish(&f);
}

static void test_http_client_new_rejects_null(void)
{
    struct lf_http_client *client = NULL;
    uv_loop_t loop;

    LF_CHECK_INT_EQ(lf_http_client_new(NULL, &client), LF_EINVAL);
    LF_CHECK(client == NULL);
    LF_CHECK_INT_EQ(lf_http_client_new(&loop, NULL), LF_EINVAL);
}

int main(void)
{
    /* The server writes to sockets that the client may have reset. */
    signal(SIGPIPE, SIG_IGN);

    LF_RUN(test_http_client_get_echo);
    LF_RUN(test_http_client_captures_header);
    LF_RUN(test_http_client_proxy_url);
    LF_RUN(test_http_client_post_echo);
    LF_RUN(test_http_client_large_post_without_expect);
    LF_RUN(test_http_client_other_methods);
    LF_RUN(test_http_client_status_and_empty_body);
    LF_RUN(test_http_client_keepalive_reuse);
    LF_RUN(test_http_client_dropped_connection_replaced);
    LF_RUN(test_http_client_concurrent_reuse);
    LF_RUN(test_http_client_burst);
    LF_RUN(test_http_client_timeout);
    LF_RUN(test_http_client_connection_refused);
    LF_RUN(test_http_client_response_cut_short);
    LF_RUN(test_http_client_tls_handshake_failure);
    LF_RUN(test_http_client_malformed_url);
    LF_RUN(test_http_client_error_hides_password);
    LF_RUN(test_http_client_body_limit);
    LF_RUN(test_http_client_rejects_invalid_request);
    LF_RUN(test_http_client_close_cancels_in_flight);
    LF_RUN(test_http_client_close_from_callback);
    LF_RUN(test_http_client_close_keeps_finished_results);
    LF_RUN(test_http_client_close_idle);
    LF_RUN(test_http_client_new_rejects_null);
    return lf_test_end();
}
