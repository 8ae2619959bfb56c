/*
 * HTTP transport of the outputs: libcurl's multi socket interface driven by
 * the agent's libuv loop. libcurl reports which sockets to watch and when
 * to wake it up. A uv_poll_t per socket and one uv_timer_t feed those
 * events back through curl_multi_socket_action(). Results are read with
 * curl_multi_info_read() and reported from loop callbacks only.
 */
#include "agent/net/http_client.h"
#include "agent/net/http_tls.h"

#include "lf/error.h"
#include "lf/mem.h"

#include <curl/curl.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * TCP connect and TLS handshake must finish within this time unless the
 * request sets its own connect_timeout_ms.
 */
enum { LF_HTTP_CONNECT_TIMEOUT_MS = 10000 };

/* TCP keepalive: idle time before the first probe, then between probes. */
enum { LF_HTTP_KEEPALIVE_IDLE_S = 60, LF_HTTP_KEEPALIVE_INTERVAL_S = 30 };

/*
 * Idle connections kept for reuse, all hosts together. Unset, libcurl's
 * limit is four per easy handle added at the moment a connection turns
 * idle, and this client removes each handle as it finishes, so a lull
 * would close the connections that a burst of requests opened.
 */
enum { LF_HTTP_MAX_IDLE_CONNECTIONS = 32 };

/*
 * The response body and its terminating NUL must fit in this many bytes.
 * A larger response fails with LF_EHTTP instead of growing without bound.
 */
#define LF_HTTP_BODY_MAX_BYTES ((size_t)64 << 20)

/* A socket libcurl asked to watch. */
struct lf_http_socket {
    uv_poll_t poll;
    struct lf_http_client *client;
    curl_socket_t fd;
    struct lf_http_socket *prev; /* in client->sockets until uv_close() */
    struct lf_http_socket *next;
};

/* One request, from lf_http_client_send() to its callback. */
struct lf_http_transfer {
    struct lf_http_client *client;
    CURL *easy;                 /* NULL once the transfer has ended */
    struct curl_slist *headers; /* owned copies of the request headers */
    struct lf_buf body;         /* response body */
    lf_http_done_cb cb;
    void *arg;
    int error;          /* result, set when the transfer ends */
    long status;        /* HTTP status when error == 0 */
    double total_s;     /* libcurl's total transfer time */
    int body_too_large; /* the write callback rejected the body */
    int watch_error;    /* libuv error watching one of its sockets */
    char error_text[CURL_ERROR_SIZE]; /* libcurl's error buffer */
    char *capture_header;             /* header name to capture, or NULL */
    char *header_value;               /* its value, or NULL */
    struct lf_http_transfer *prev;
    struct lf_http_transfer *next;
};

struct lf_http_client {
    uv_loop_t *loop;
    CURLM *multi;                     /* NULL once closing */
    uv_timer_t timer;                 /* libcurl's next timeout */
    struct lf_http_transfer *running; /* added to the multi handle */
    struct lf_http_transfer *ended;   /* callbacks deferred by close */
    struct lf_http_socket *sockets;   /* watched sockets */
    size_t active;                    /* sent, callback not yet run */
    size_t open_handles;              /* libuv handles not yet closed */
    int watch_failed;                 /* some transfer has watch_error */
    int closing;
    void (*close_done)(void *arg);
    void *close_arg;
};

static void push_transfer(struct lf_http_transfer **head,
                          struct lf_http_transfer *t)
{
    t->prev = NULL;
    t->next = *head;
    if (*head != NULL) {
        (*head)->prev = t;
    }
    *head = t;
}

static void unlink_transfer(struct lf_http_transfer **head,
                            struct lf_http_transfer *t)
{
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        *head = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    t->prev = NULL;
    t->next = NULL;
}

static void free_transfer(struct lf_http_transfer *t)
{
    if (t->easy != NULL) {
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    lf_buf_cleanup(&t->body);
    lf_free(t->capture_header);
    lf_free(t->header_value);
    lf_free(t);
}

/*
 * Maps the failures a caller handles differently: no connection (refused or
 * unreachable host), a timeout, a name that does not resolve and a TLS
 * problem. Every other failure is LF_EHTTP.
 */
static int map_curl_code(CURLcode code)
{
    switch (code) {
    case CURLE_OK:
        return 0;
    case CURLE_COULDNT_CONNECT:
        return LF_ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return LF_ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LF_ERESOLVE;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return LF_ETLS;
    default:
        return LF_EHTTP;
    }
}

/*
 * Hides the user information of each URL that libcurl quotes in an error
 * text, as in "Unsupported proxy syntax in 'http://u:pw@[::1'": the bytes
 * before an '@', back to the scheme's "://" or the start of the word,
 * become "***". A proxy from http_proxy and the like may carry a password,
 * and error texts go to logs.
 */
static void redact_userinfo(char *text)
{
    char *scan = text;
    char *at;

    while ((at = strchr(scan, '@')) != NULL) {
        char *start = at;
        size_t hidden;

        while (start > text && !isspace((unsigned char)start[-1]) &&
               start[-1] != '\'' && start[-1] != '"' && start[-1] != '(' &&
               !(start - text >= 3 && memcmp(start - 3, "://", 3) == 0)) {
            start--;
        }
        hidden = (size_t)(at - start);
        if (hidden >= 3) {
            memcpy(start, "***", 3);
            memmove(start + 3, at, strlen(at) + 1);
            at = start + 3;
        } else {
            memset(start, '*', hidden);
        }
        scan = at + 1;
    }
}

/* Returns the LF_E* result of a transfer that libcurl ended with `code`. */
static int transfer_error(struct lf_http_transfer *t, CURLcode code)
{
    if (t->watch_error != 0) {
        return LF_EHTTP;
    }
    if (t->body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
        snprintf(t->error_text, sizeof(t->error_text),
                 "response body exceeds %zu bytes", LF_HTTP_BODY_MAX_BYTES - 1);
        return LF_EHTTP;
    }
    if (code != CURLE_OK && t->error_text[0] == '\0') {
        snprintf(t->error_text, sizeof(t->error_text), "%s",
                 curl_easy_strerror(code));
    }
    redact_userinfo(t->error_text);
    return map_curl_code(code);
}

/*
 * Records the result of `t`, takes it out of the multi handle and releases
 * its easy handle. The connection stays in libcurl's cache for reuse.
 */
static void end_transfer(struct lf_http_transfer *t, int error)
{
    struct lf_http_client *client = t->client;
    curl_off_t total_us = 0;

    t->error = error;
    if (error == 0) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    }
    if (error == 0 && t->capture_header != NULL) {
        struct curl_header *header = NULL;

        if (curl_easy_header(t->easy, t->capture_header, 0, CURLH_HEADER, -1,
                             &header) == CURLHE_OK) {
            t->header_value = lf_strdup(header->value);
        }
    }
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    t->total_s = (double)total_us / 1e6;

    unlink_transfer(&client->running, t);
    curl_multi_remove_handle(client->multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
}

/* Runs the callback of an ended transfer and frees it. */
static void deliver(struct lf_http_transfer *t)
{
    struct lf_http_response res;
    int ok = t->error == 0;

    res.error = t->error;
    res.status = ok ? t->status : 0;
    res.body = ok && t->body.data != NULL ? t->body.data : "";
    res.body_len = ok ? t->body.len : 0;
    res.error_text = ok ? "" : t->error_text;
    res.total_s = t->total_s;
    res.header_value = ok ? t->header_value : NULL;

    t->client->active--;
    t->cb(t->arg, &res);
    free_transfer(t);
}

/* Ends the next transfer that libcurl reports as done, or returns NULL. */
static struct lf_http_transfer *take_finished(struct lf_http_client *client)
{
    struct lf_http_transfer *t;
    CURLMsg *msg;
    CURLcode code;
    void *priv;
    int queued;

    for (;;) {
        msg = curl_multi_info_read(client->multi, &queued);
        if (msg == NULL) {
            return NULL;
        }
        if (msg->msg == CURLMSG_DONE) {
            break;
        }
    }

    /* `msg` is invalid once its handle leaves the multi handle. */
    code = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    t = priv;
    end_transfer(t, transfer_error(t, code));
    return t;
}

/* Returns the first running transfer whose socket could not be watched. */
static struct lf_http_transfer *
find_watch_failure(struct lf_http_client *client)
{
    struct lf_http_transfer *t;

    for (t = client->running; t != NULL; t = t->next) {
        if (t->watch_error != 0) {
            return t;
        }
    }
    return NULL;
}

/*
 * Delivers every transfer that has ended. It runs after each
 * curl_multi_socket_action() and never inside a libcurl callback, so the
 * callbacks it runs may send requests or close the client. After a close,
 * lf_http_client_close() takes over the remaining results.
 */
static void process_ended(struct lf_http_client *client)
{
    struct lf_http_transfer *t;

    while (client->watch_failed && !client->closing) {
        t = find_watch_failure(client);
        if (t == NULL) {
            client->watch_failed = 0;
            break;
        }
        end_transfer(t, transfer_error(t, CURLE_OK));
        deliver(t);
    }

    while (!client->closing) {
        t = take_finished(client);
        if (t == NULL) {
            break;
        }
        deliver(t);
    }
}

static void on_timer(uv_timer_t *timer)
{
    struct lf_http_client *client = timer->data;
    int running;

    curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process_ended(client);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct lf_http_socket *sock = poll->data;
    struct lf_http_client *client = sock->client;
    int flags = 0;
    int running;

    if (status < 0) {
        flags |= CURL_CSELECT_ERR;
    }
    if (events & UV_READABLE) {
        flags |= CURL_CSELECT_IN;
    }
    if (events & UV_WRITABLE) {
        flags |= CURL_CSELECT_OUT;
    }

    curl_multi_socket_action(client->multi, sock->fd, flags, &running);
    process_ended(client);
}

static void free_client(struct lf_http_client *client)
{
    void (*done)(void *arg) = client->close_done;
    void *arg = client->close_arg;
    struct lf_http_transfer *t;

    while (client->ended != NULL) {
        t = client->ended;
        unlink_transfer(&client->ended, t);
        deliver(t);
    }
    lf_free(client);
    if (done != NULL) {
        done(arg);
    }
}

static void release_handle(struct lf_http_client *client)
{
    client->open_handles--;
    if (client->closing && client->open_handles == 0) {
        free_client(client);
    }
}

static void on_socket_closed(uv_handle_t *handle)
{
    struct lf_http_socket *sock = handle->data;
    struct lf_http_client *client = sock->client;

    lf_free(sock);
    release_handle(client);
}

static void on_timer_closed(uv_handle_t *handle)
{
    release_handle(handle->data);
}

/*
 * Stops watching `sock` and frees it from the close callback. libcurl
 * calls for this before it closes the descriptor, and libuv takes the
 * descriptor out of epoll here, so a new socket that reuses the number
 * can be watched at once.
 */
static void close_socket(struct lf_http_socket *sock)
{
    struct lf_http_client *client = sock->client;

    if (sock->prev != NULL) {
        sock->prev->next = sock->next;
    } else {
        client->sockets = sock->next;
    }
    if (sock->next != NULL) {
        sock->next->prev = sock->prev;
    }
    uv_close((uv_handle_t *)&sock->poll, on_socket_closed);
}

static struct lf_http_socket *open_socket(struct lf_http_client *client,
                                          curl_socket_t fd, int *err_out)
{
    struct lf_http_socket *sock = lf_calloc(1, sizeof(*sock));

    *err_out = uv_poll_init_socket(client->loop, &sock->poll, fd);
    if (*err_out != 0) {
        lf_free(sock);
        return NULL;
    }
    sock->poll.data = sock;
    sock->client = client;
    sock->fd = fd;
    sock->next = client->sockets;
    if (client->sockets != NULL) {
        client->sockets->prev = sock;
    }
    client->sockets = sock;
    client->open_handles++;
    return sock;
}

/*
 * A socket that cannot be watched would stall its transfer until the
 * timeout. Removing an easy handle is not allowed inside a libcurl
 * callback, so the transfer is marked here and ended by process_ended().
 * NOTE: no test reaches this path; uv_poll_init_socket() fails on a
 * socket only when epoll_ctl() does (ENOMEM, or ENOSPC past
 * max_user_watches).
 */
static void fail_watch(struct lf_http_client *client, CURL *easy, int err)
{
    struct lf_http_transfer *t;
    void *priv = NULL;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    t = priv;
    if (t == NULL || t->watch_error != 0) {
        return;
    }
    t->watch_error = err;
    snprintf(t->error_text, sizeof(t->error_text), "cannot watch socket: %s",
             uv_strerror(err));
    client->watch_failed = 1;
}

/* CURLMOPT_SOCKETFUNCTION: starts, changes or stops watching one socket. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp)
{
    struct lf_http_client *client = userp;
    struct lf_http_socket *sock = socketp;
    int events = 0;
    int err;

    if (what == CURL_POLL_REMOVE) {
        if (sock != NULL) {
            close_socket(sock);
        }
        return 0;
    }
    if (sock == NULL) {
        sock = open_socket(client, fd, &err);
        if (sock == NULL) {
            fail_watch(client, easy, err);
            return 0;
        }
        curl_multi_assign(client->multi, fd, sock);
    }

    if (what & CURL_POLL_IN) {
        events |= UV_READABLE;
    }
    if (what & CURL_POLL_OUT) {
        events |= UV_WRITABLE;
    }
    uv_poll_start(&sock->poll, events, on_poll);
    return 0;
}

/*
 * CURLMOPT_TIMERFUNCTION. libcurl must not be called back from inside this
 * function, so even a zero timeout goes through the loop.
 */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct lf_http_client *client = userp;

    (void)multi;
    if (timeout_ms < 0) {
        uv_timer_stop(&client->timer);
    } else {
        uv_timer_start(&client->timer, on_timer, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

int lf_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : LF_EHTTP;
}

void lf_http_global_cleanup(void)
{
    curl_global_cleanup();
}

int lf_http_client_new(uv_loop_t *loop, struct lf_http_client **out)
{
    struct lf_http_client *client = NULL;
    CURLMcode mc = CURLM_OK;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (loop == NULL || out == NULL) {
        return LF_EINVAL;
    }

    client = lf_calloc(1, sizeof(*client));
    client->loop = loop;
    client->multi = curl_multi_init();
    if (client->multi == NULL) {
        rc = LF_ENOMEM;
        goto fail;
    }

    mc = curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION,
                           on_curl_socket);
    if (mc == CURLM_OK) {
        mc = curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
    }
    if (mc == CURLM_OK) {
        mc = curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION,
                               on_curl_timer);
    }
    if (mc == CURLM_OK) {
        mc = curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
    }
    if (mc == CURLM_OK) {
        mc = curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS,
                               (long)LF_HTTP_MAX_IDLE_CONNECTIONS);
    }
    if (mc != CURLM_OK) {
        rc = LF_EHTTP;
        goto fail;
    }

    /* Last step: once initialised, the timer is freed only by uv_close(). */
    rc = uv_timer_init(loop, &client->timer);
    if (rc != 0) {
        goto fail;
    }
    client->timer.data = client;
    client->open_handles = 1;
    *out = client;
    return 0;

fail:
    if (client->multi != NULL) {
        curl_multi_cleanup(client->multi);
    }
    lf_free(client);
    return rc;
}

/* Returns whether `s` is a non-empty RFC 9110 token (method, header name). */
static int is_token(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    size_t i;

    if (len == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9');

        if (!alnum && (c == '\0' || strchr(extra, c) == NULL)) {
            return 0;
        }
    }
    return 1;
}

/*
 * Accepts "Name: value" with no CR or LF, which would let a value taken
 * from the configuration inject further headers.
 */
static int is_header_line(const char *line)
{
    const char *colon = strchr(line, ':');

    if (colon == NULL || !is_token(line, (size_t)(colon - line))) {
        return 0;
    }
    return strpbrk(colon, "\r\n") == NULL;
}

static int has_header(const struct lf_http_request *req, const char *name)
{
    size_t len = strlen(name);
    size_t i;

    for (i = 0; i < req->header_count; i++) {
        const char *line = req->headers[i];

        if (strncasecmp(line, name, len) == 0 && line[len] == ':') {
            return 1;
        }
    }
    return 0;
}

static int check_request(const struct lf_http_request *req)
{
    size_t i;

    if (req->method == NULL || !is_token(req->method, strlen(req->method)) ||
        req->url == NULL || req->timeout_ms < 0 ||
        (req->body == NULL && req->body_len > 0) ||
        (req->headers == NULL && req->header_count > 0)) {
        return LF_EINVAL;
    }
    for (i = 0; i < req->header_count; i++) {
        if (req->headers[i] == NULL || !is_header_line(req->headers[i])) {
            return LF_EINVAL;
        }
    }
    return 0;
}

static int append_header(struct lf_http_transfer *t, const char *line)
{
    struct curl_slist *list = curl_slist_append(t->headers, line);

    if (list == NULL) {
        return LF_ENOMEM;
    }
    t->headers = list;
    return 0;
}

/*
 * Copies the caller's headers and turns off two libcurl defaults unless the
 * caller sets them. libcurl 7.88 sends "Expect: 100-continue" with a POST
 * body over 1 MiB and then waits up to 1 s for the interim reply before
 * sending the body. It also labels every POST as a form.
 */
static int build_headers(struct lf_http_transfer *t,
                         const struct lf_http_request *req)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < req->header_count && rc == 0; i++) {
        rc = append_header(t, req->headers[i]);
    }
    if (rc == 0 && !has_header(req, "Expect")) {
        rc = append_header(t, "Expect:");
    }
    if (rc == 0 && !has_header(req, "Content-Type")) {
        rc = append_header(t, "Content-Type:");
    }
    return rc;
}

/*
 * GET and HEAD without a body use libcurl's own modes. A request with a
 * body sends it as POST data, which libcurl reads from the caller's buffer
 * without copying it. Other methods replace the verb on the request line.
 */
static CURLcode set_method(CURL *easy, const struct lf_http_request *req)
{
    int is_get = strcmp(req->method, "GET") == 0;
    int is_post = strcmp(req->method, "POST") == 0;
    CURLcode rc;

    if (strcmp(req->method, "HEAD") == 0) {
        return curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    }

    if (req->body == NULL && !is_post) {
        rc = curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else {
        rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)req->body_len);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                                  req->body != NULL ? req->body : "");
        }
    }
    if (rc == CURLE_OK && !is_get && !is_post) {
        rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    }
    return rc;
}

/* Options shared by every request: limits, keepalive and result capture. */
static CURLcode set_transport(struct lf_http_transfer *t,
                              const struct lf_http_request *req)
{
    CURL *easy = t->easy;
    CURLcode rc;

    rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_URL, req->url);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                              req->connect_timeout_ms > 0
                                  ? req->connect_timeout_ms
                                  : (long)LF_HTTP_CONNECT_TIMEOUT_MS);
    }
    if (rc == CURLE_OK && req->no_proxy) {
        rc = curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    }
    if (rc == CURLE_OK && req->proxy_url != NULL && !req->no_proxy) {
        /* A configured proxy applies even to hosts that no_proxy lists. */
        rc = curl_easy_setopt(easy, CURLOPT_PROXY, req->proxy_url);
        if (rc == CURLE_OK) {
            rc = curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
        }
    }
    if (rc == CURLE_OK && req->tls != NULL) {
        rc = lf_http_tls_apply(easy, req->tls);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE,
                              (long)LF_HTTP_KEEPALIVE_IDLE_S);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL,
                              (long)LF_HTTP_KEEPALIVE_INTERVAL_S);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                              (curl_off_t)(LF_HTTP_BODY_MAX_BYTES - 1));
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error_text);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    }
    return rc;
}

/*
 * CURLOPT_WRITEFUNCTION. Checks the limit before appending, so the body
 * and its NUL never take more than LF_HTTP_BODY_MAX_BYTES.
 */
static size_t on_body(char *data, size_t size, size_t count, void *userp)
{
    struct lf_http_transfer *t = userp;
    size_t len = size * count;

    if (len >= LF_HTTP_BODY_MAX_BYTES - t->body.len) {
        t->body_too_large = 1;
        return CURL_WRITEFUNC_ERROR;
    }
    lf_buf_append(&t->body, data, len);
    return len;
}

static int configure(struct lf_http_transfer *t,
                     const struct lf_http_request *req)
{
    CURLcode rc;
    int err;

    err = build_headers(t, req);
    if (err != 0) {
        return err;
    }

    rc = set_transport(t, req);
    if (rc == CURLE_OK) {
        rc = set_method(t->easy, req);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
    }
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
    }
    if (rc == CURLE_OUT_OF_MEMORY) {
        return LF_ENOMEM;
    }
    if (rc == CURLE_NOT_BUILT_IN) {
        return LF_ETLS;
    }
    return rc == CURLE_OK ? 0 : LF_EINVAL;
}

/*
 * Adding the easy handle only arms libcurl's timer; the transfer starts
 * from the loop, so no callback can run before this function returns.
 */
int lf_http_client_send(struct lf_http_client *client,
                        const struct lf_http_request *req, lf_http_done_cb cb,
                        void *arg)
{
    struct lf_http_transfer *t = NULL;
    CURLMcode mc;
    int rc;

    if (client == NULL || req == NULL || cb == NULL) {
        return LF_EINVAL;
    }
    rc = check_request(req);
    if (rc != 0) {
        return rc;
    }
    if (client->closing) {
        return LF_ESTATE;
    }

    t = lf_calloc(1, sizeof(*t));
    t->client = client;
    t->cb = cb;
    t->arg = arg;
    if (req->capture_header != NULL) {
        t->capture_header = lf_strdup(req->capture_header);
    }
    lf_buf_init(&t->body);
    t->easy = curl_easy_init();
    if (t->easy == NULL) {
        rc = LF_ENOMEM;
        goto fail;
    }
    rc = configure(t, req);
    if (rc != 0) {
        goto fail;
    }

    mc = curl_multi_add_handle(client->multi, t->easy);
    if (mc != CURLM_OK) {
        rc = mc == CURLM_OUT_OF_MEMORY ? LF_ENOMEM : LF_EHTTP;
        goto fail;
    }
    push_transfer(&client->running, t);
    client->active++;
    return 0;

fail:
    free_transfer(t);
    return rc;
}

size_t lf_http_client_active(const struct lf_http_client *client)
{
    return client->active;
}

/*
 * Transfers that libcurl already finished keep their result; the others
 * end with LF_ECANCELED. Their callbacks run once every libuv handle is
 * closed, from the loop, so none runs inside this call.
 */
void lf_http_client_close(struct lf_http_client *client,
                          void (*done)(void *arg), void *arg)
{
    struct lf_http_transfer *t;

    if (client == NULL || client->closing) {
        return;
    }
    client->closing = 1;
    client->close_done = done;
    client->close_arg = arg;

    for (;;) {
        t = take_finished(client);
        if (t == NULL) {
            break;
        }
        push_transfer(&client->ended, t);
    }
    while (client->running != NULL) {
        t = client->running;
        snprintf(t->error_text, sizeof(t->error_text),
                 "request canceled: client closed");
        end_transfer(t, LF_ECANCELED);
        push_transfer(&client->ended, t);
    }

    /*
     * Closes the cached connections. libcurl may report their sockets as
     * CURL_POLL_REMOVE first; the loop below closes the remaining ones.
     */
    curl_multi_cleanup(client->multi);
    client->multi = NULL;
    while (client->sockets != NULL) {
        close_socket(client->sockets);
    }
    uv_close((uv_handle_t *)&client->timer, on_timer_closed);
}
