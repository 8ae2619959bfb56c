/*
 * HTTP/1.1 request parsing of the agent's endpoint server on valid and
 * hostile heads, and a live server serving pipelined requests, HEAD,
 * 404, 405 and oversized heads to a blocking client thread.
 */
#include "agent/net/http_server.h"
#include "lf/error.h"
#include "lf_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse(const char *text, struct lf_http_request_head *head)
{
    return lf_http_parse_request(text, strlen(text), head);
}

static void test_parse_simple_get(void)
{
    const char *req = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET";
    struct lf_http_request_head head;

    LF_CHECK_INT_EQ(parse(req, &head), (int)strlen(req) - 3);
    LF_CHECK_INT_EQ(head.method, LF_HTTP_METHOD_GET);
    LF_CHECK_MEM_EQ(req + head.path_off, head.path_len, "/metrics");
    LF_CHECK_INT_EQ(head.minor_version, 1);
    LF_CHECK(head.keep_alive);
    LF_CHECK(!head.has_body);
}

static void test_parse_connection_tokens(void)
{
    struct lf_http_request_head head;

    LF_CHECK(parse("HEAD / HTTP/1.1\r\nHost: a\r\nConnection: x, Close\r\n"
                   "\r\n", &head) > 0);
    LF_CHECK_INT_EQ(head.method, LF_HTTP_METHOD_HEAD);
    LF_CHECK(!head.keep_alive);
    LF_CHECK(parse("GET / HTTP/1.0\r\n\r\n", &head) > 0);
    LF_CHECK(!head.keep_alive);
    LF_CHECK(parse("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n",
                   &head) > 0);
    LF_CHECK(head.keep_alive);
}

static void test_parse_incomplete(void)
{
    struct lf_http_request_head head;

    LF_CHECK_INT_EQ(parse("", &head), 0);
    LF_CHECK_INT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n", &head), 0);
    LF_CHECK_INT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\r", &head), 0);
}

static void test_parse_other_method(void)
{
    struct lf_http_request_head head;

    LF_CHECK(parse("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", &head) > 0);
    LF_CHECK_INT_EQ(head.method, LF_HTTP_METHOD_OTHER);
    LF_CHECK(parse("get / HTTP/1.1\r\nHost: a\r\n\r\n", &head) > 0);
    LF_CHECK_INT_EQ(head.method, LF_HTTP_METHOD_OTHER);
}

static void test_parse_malformed(void)
{
    static const char *const cases[] = {
        "GET / HTTP/1.1\nHost: a\n\n",            /* bare LF */
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",     /* two spaces */
        "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", /* absolute form */
        "GET / HTTP/1.1\r\n\r\n",                 /* no Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",     /* space before ':' */
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
        "Content-Length: 2\r\n\r\n",
        "GET / HTTP/1\r\nHost: a\r\n\r\n",
        "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\r\n",
    };
    struct lf_http_request_head head;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i], &head);

        if (rc != LF_EPARSE) {
            LF_FAIL_AT("case %zu returned %d, expected LF_EPARSE", i, rc);
        }
    }
}

static void test_parse_version_unsupported(void)
{
    struct lf_http_request_head head;

    LF_CHECK_INT_EQ(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &head),
                    LF_EPROTO);
    LF_CHECK_INT_EQ(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &head),
                    LF_EPROTO);
}

static void test_parse_body_detected(void)
{
    struct lf_http_request_head head;

    LF_CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                   "\r\n", &head) > 0);
    LF_CHECK(!head.has_body);
    LF_CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                   "\r\n", &head) > 0);
    LF_CHECK(head.has_body);
    LF_CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n", &head) > 0);
    LF_CHECK(head.has_body);
}

static void test_parse_size_limits(void)
{
    struct lf_http_request_head head;
    struct lf_buf b;
    int i;

    lf_buf_init(&b);
    lf_buf_append_str(&b, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    while (b.len < LF_HTTP_SERVER_REQUEST_MAX) {
        lf_buf_append_char(&b, 'y');
    }
    LF_CHECK_INT_EQ(lf_http_parse_request(b.data, b.len, &head), LF_ETOOBIG);

    lf_buf_reset(&b);
    lf_buf_append_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (i = 1; i < LF_HTTP_SERVER_HEADERS_MAX; i++) {
        lf_buf_appendf(&b, "X%d: v\r\n", i);
    }
    lf_buf_append_str(&b, "\r\n");
    LF_CHECK(lf_http_parse_request(b.data, b.len, &head) > 0);
    lf_buf_reset(&b);
    lf_buf_append_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (i = 0; i < LF_HTTP_SERVER_HEADERS_MAX; i++) {
        lf_buf_appendf(&b, "X%d: v\r\n", i);
    }
    lf_buf_append_str(&b, "\r\n");
    LF_CHECK_INT_EQ(lf_http_parse_request(b.data, b.len, &head), LF_ETOOBIG);
    lf_buf_cleanup(&b);
}

/* ---- a live server and a blocking client thread ---- */

struct live {
    uv_loop_t loop;
    uv_async_t done;
    struct lf_http_server *server;
    int port;
    const char *request;
    size_t request_len;
    char reply[65536];
    size_t reply_len;
};

static int handle(void *arg, const char *path, struct lf_buf *body,
                  const char **content_type)
{
    (void)arg;
    if (strcmp(path, "/hello") == 0) {
        *content_type = "text/plain";
        lf_buf_append_str(body, "hi\n");
        return 200;
    }
    lf_buf_append_str(body, "nf\n");
    return 404;
}

/* Sends the request, reads until the server closes, then wakes the loop. */
static void *run_client(void *arg)
{
    struct live *live = arg;
    struct sockaddr_in addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)live->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        if (write(fd, live->request, live->request_len) < 0) {
            live->reply_len = 0;
        }
        while ((n = read(fd, live->reply + live->reply_len,
                         sizeof(live->reply) - 1 - live->reply_len)) > 0) {
            live->reply_len += (size_t)n;
        }
    }
    live->reply[live->reply_len] = '\0';
    close(fd);
    uv_async_send(&live->done);
    return NULL;
}

static void on_done(uv_async_t *async)
{
    struct live *live = async->data;

    lf_http_server_close(live->server);
    uv_close((uv_handle_t *)async, NULL);
}

/* Runs one client exchange against a fresh server; returns the reply. */
static const char *exchange(struct live *live, const char *request,
                            size_t request_len)
{
    struct lf_http_server_options options = {
        .host = "127.0.0.1",
        .port = 0,
        .max_connections = 4,
        .idle_timeout_ms = 5000,
    };
    char errbuf[256];
    pthread_t thread;

    memset(live, 0, sizeof(*live));
    uv_loop_init(&live->loop);
    LF_CHECK_INT_EQ(lf_http_server_new(&live->loop, &options, handle, NULL,
                                       &live->server, errbuf,
                                       sizeof(errbuf)), 0);
    live->port = lf_http_server_port(live->server);
    LF_CHECK(live->port > 0);
    live->request = request;
    live->request_len = request_len;
    uv_async_init(&live->loop, &live->done, on_done);
    live->done.data = live;
    pthread_create(&thread, NULL, run_client, live);
    uv_run(&live->loop, UV_RUN_DEFAULT);
    pthread_join(thread, NULL);
    LF_CHECK_INT_EQ(uv_loop_close(&live->loop), 0);
    return live->reply;
}

static void test_server_pipelined_requests(void)
{
    static const char request[] =
        "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
        "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /other HTTP/1.1\r\nHost: a\r\n\r\n"
        "PUT /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    struct live live;

    LF_CHECK_STR_EQ(exchange(&live, request, sizeof(request) - 1),
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/plain\r\n"
                    "Content-Length: 3\r\n"
                    "Cache-Control: no-store\r\n\r\n"
                    "hi\n"
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/plain\r\n"
                    "Content-Length: 3\r\n"
                    "Cache-Control: no-store\r\n\r\n"
                    "HTTP/1.1 404 Not Found\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 3\r\n"
                    "Cache-Control: no-store\r\n\r\n"
                    "nf\n"
                    "HTTP/1.1 405 Method Not Allowed\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 30\r\n"
                    "Cache-Control: no-store\r\n"
                    "Allow: GET, HEAD\r\n"
                    "Connection: close\r\n\r\n"
                    "only GET and HEAD are allowed\n");
}

static void test_server_rejects_body(void)
{
    static const char request[] =
        "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd";
    struct live live;

    LF_CHECK_STR_EQ(exchange(&live, request, sizeof(request) - 1),
                    "HTTP/1.1 413 Content Too Large\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 32\r\n"
                    "Cache-Control: no-store\r\n"
                    "Connection: close\r\n\r\n"
                    "request bodies are not accepted\n");
}

static void test_server_head_too_large(void)
{
    char request[LF_HTTP_SERVER_REQUEST_MAX + 100];
    struct live live;
    const char *reply;

    memset(request, 'a', sizeof(request));
    memcpy(request, "GET /hello HTTP/1.1\r\nX: ", 24);
    reply = exchange(&live, request, sizeof(request));
    LF_CHECK(strncmp(reply, "HTTP/1.1 431 Request Header Fields Too Large"
                     "\r\n", 46) == 0);
    LF_CHECK(strstr(reply, "Connection: close\r\n") != NULL);
}

static void test_server_garbage(void)
{
    static const char request[] = "\x16\x03\x01\x02\x00\x01\x00\r\n\r\n";
    struct live live;
    const char *reply;

    reply = exchange(&live, request, sizeof(request) - 1);
    LF_CHECK(strncmp(reply, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
}

static void test_server_port_in_use(void)
{
    struct lf_http_server_options options = {
        .host = "127.0.0.1",
        .max_connections = 1,
        .idle_timeout_ms = 1000,
    };
    struct lf_http_server *first;
    struct lf_http_server *second;
    char errbuf[256];
    char expected[128];
    uv_loop_t loop;

    uv_loop_init(&loop);
    LF_CHECK_INT_EQ(lf_http_server_new(&loop, &options, handle, NULL,
                                       &first, errbuf, sizeof(errbuf)), 0);
    options.port = lf_http_server_port(first);
    LF_CHECK_INT_EQ(lf_http_server_new(&loop, &options, handle, NULL,
                                       &second, errbuf, sizeof(errbuf)),
                    UV_EADDRINUSE);
    LF_CHECK(second == NULL);
    snprintf(expected, sizeof(expected),
             "listening on 127.0.0.1:%d failed: address already in use; ",
             options.port);
    LF_CHECK(strncmp(errbuf, expected, strlen(expected)) == 0);
    options.host = "localhost";
    LF_CHECK_INT_EQ(lf_http_server_new(&loop, &options, handle, NULL,
                                       &second, errbuf, sizeof(errbuf)),
                    LF_EINVAL);
    lf_http_server_close(first);
    uv_run(&loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);
}

int main(void)
{
    LF_RUN(test_parse_simple_get);
    LF_RUN(test_parse_connection_tokens);
    LF_RUN(test_parse_incomplete);
    LF_RUN(test_parse_other_method);
    LF_RUN(test_parse_malformed);
    LF_RUN(test_parse_version_unsupported);
    LF_RUN(test_parse_body_detected);
    LF_RUN(test_parse_size_limits);
    LF_RUN(test_server_pipelined_requests);
    LF_RUN(test_server_rejects_body);
    LF_RUN(test_server_head_too_large);
    LF_RUN(test_server_garbage);
    LF_RUN(test_server_port_in_use);
    return lf_test_end();
}
