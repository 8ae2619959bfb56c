/*
 * Tests of the Elasticsearch output against a scripted `_bulk` server on
 * 127.0.0.1, run on the same libuv loop. Each test's script decides, per
 * request, the HTTP status, per-item statuses, or closing the connection,
 * and the server records every request: path, headers and the `_id` of
 * each item, read from the gunzipped body. Tests then check which items
 * each request carried and the result reported for every event.
 */
#include "outputs/elasticsearch/es_output.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/log.h"
#include "lf/mem.h"

#include <jansson.h>
#include <libdeflate.h>
#include <uv.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lf_test.h"

/* Maximum wait for one step of a test before it counts as hung. */
enum { TEST_STEP_LIMIT_MS = 20000 };

enum { MAX_REQUESTS = 64, MAX_EVENTS = 64, MAX_HELD = 16 };

struct conn;

/* One request as the server saw it. */
struct recorded {
    char path[512];
    char content_type[128];
    char content_encoding[64];
    char authorization[256];
    bool gzip_ok;      /* the body was valid gzip, or not compressed */
    struct lf_buf ids; /* "_id"s of the items, joined by ',' */
    size_t item_count;
    size_t body_len; /* as received */
};

/* The script's response to one request. */
struct answer {
    int status;         /* 0: close the connection, no response */
    bool hold;          /* answer later, with server_release() */
    struct lf_buf body; /* response body */
};

struct server;
typedef void (*script_fn)(struct server *s, const struct recorded *req,
                          size_t index, struct answer *out);

struct held {
    struct conn *conn;
    size_t index; /* request index */
};

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    script_fn script;
    void *arg;
    struct recorded requests[MAX_REQUESTS];
    size_t request_count;
    struct held held[MAX_HELD];
    size_t held_count;
    struct conn *conns;
    struct libdeflate_decompressor *inflater;
};

struct conn {
    uv_tcp_t tcp;
    struct server *server;
    struct lf_buf in;
    bool closing;
    struct conn *next;
};

struct write_req {
    uv_write_t req;
    char data[];
};

/* ---- server ---- */

static void on_conn_closed(uv_handle_t *handle)
{
    struct conn *c = handle->data;

    lf_buf_cleanup(&c->in);
    lf_free(c);
}

static void conn_close(struct conn *c)
{
    struct conn **link = &c->server->conns;

    if (c->closing) {
        return;
    }
    c->closing = true;
    while (*link != c) {
        link = &(*link)->next;
    }
    *link = c->next;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    lf_free(req);
}

static void conn_write(struct conn *c, const char *data, size_t len)
{
    struct write_req *w = lf_malloc(sizeof(*w) + len);
    uv_buf_t buf;

    memcpy(w->data, data, len);
    buf = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        lf_free(w);
    }
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static void send_answer(struct conn *c, struct answer *a)
{
    struct lf_buf out;

    if (a->status == 0) {
        conn_close(c);
        return;
    }
    lf_buf_init(&out);
    lf_buf_appendf(&out,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   a->status, reason_phrase(a->status), a->body.len);
    lf_buf_append(&out, a->body.data, a->body.len);
    conn_write(c, out.data, out.len);
    lf_buf_cleanup(&out);
}

static void copy_header(const char *head, const char *name, char *out,
                        size_t outlen)
{
    size_t name_len = strlen(name);
    const char *line = strstr(head, "\r\n");

    out[0] = '\0';
    while (line != NULL && line[2] != '\r') {
        const char *start = line + 2;
        const char *end = strstr(start, "\r\n");

        if (strncasecmp(start, name, name_len) == 0 && start[name_len] == ':') {
            const char *value = start + name_len + 1;

            while (*value == ' ') {
                value++;
            }
            snprintf(out, outlen, "%.*s", (int)(end - value), value);
            return;
        }
        line = end;
    }
}

/* Reads the `_id` of every action line of an NDJSON body. */
static void record_ids(struct recorded *r, const char *body, size_t len)
{
    const char *line = body;
    const char *end = body + len;
    size_t index = 0;

    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t line_len =
            nl == NULL ? (size_t)(end - line) : (size_t)(nl - line);

        if (index % 2 == 0) {
            json_t *action = json_loadb(line, line_len, 0, NULL);
            const char *id = json_string_value(
                json_object_get(json_object_get(action, "create"), "_id"));

            lf_buf_appendf(&r->ids, "%s%s", r->item_count == 0 ? "" : ",",
                           id != NULL ? id : "?");
            r->item_count++;
            json_decref(action);
        }
        index++;
        line += line_len + 1;
    }
}

static void record_body(struct server *s, struct recorded *r, const char *body,
                        size_t len)
{
    size_t plain_len;
    size_t actual = 0;
    char *plain;

    r->body_len = len;
    r->gzip_ok = true;
    if (strcmp(r->content_encoding, "gzip") != 0) {
        record_ids(r, body, len);
        return;
    }
    /* The gzip trailer ends with the size of the plain data. */
    if (len < 18) {
        r->gzip_ok = false;
        return;
    }
    plain_len = (size_t)(unsigned char)body[len - 4] |
                (size_t)(unsigned char)body[len - 3] << 8 |
                (size_t)(unsigned char)body[len - 2] << 16 |
                (size_t)(unsigned char)body[len - 1] << 24;
    plain = lf_malloc(plain_len + 1);
    if (libdeflate_gzip_decompress(s->inflater, body, len, plain, plain_len,
                                   &actual) != LIBDEFLATE_SUCCESS) {
        r->gzip_ok = false;
    } else {
        record_ids(r, plain, actual);
    }
    lf_free(plain);
}

/* Handles one complete request of `c->in`. Returns false if there is none. */
static bool handle_one(struct conn *c)
{
    struct server *s = c->server;
    char *head_end = strstr(c->in.data != NULL ? c->in.data : "", "\r\n\r\n");
    char length[32];
    size_t head_len;
    size_t body_len;
    struct recorded *r;
    struct answer a = {.status = 200};

    if (head_end == NULL) {
        return false;
    }
    head_len = (size_t)(head_end - c->in.data) + 4;
    copy_header(c->in.data, "Content-Length", length, sizeof(length));
    body_len = (size_t)strtoul(length, NULL, 10);
    if (c->in.len < head_len + body_len) {
        return false;
    }
    if (s->request_count == MAX_REQUESTS) {
        LF_FAIL_AT("more than %d requests", MAX_REQUESTS);
        conn_close(c);
        return false;
    }

    r = &s->requests[s->request_count];
    sscanf(c->in.data, "%*s %511s", r->path);
    copy_header(c->in.data, "Content-Type", r->content_type,
                sizeof(r->content_type));
    copy_header(c->in.data, "Content-Encoding", r->content_encoding,
                sizeof(r->content_encoding));
    copy_header(c->in.data, "Authorization", r->authorization,
                sizeof(r->authorization));
    lf_buf_init(&r->ids);
    record_body(s, r, c->in.data + head_len, body_len);
    lf_buf_consume(&c->in, head_len + body_len);

    lf_buf_init(&a.body);
    s->script(s, r, s->request_count++, &a);
    if (a.hold && s->held_count < MAX_HELD) {
        s->held[s->held_count++] = (struct held){c, s->request_count - 1};
    } else {
        send_answer(c, &a);
    }
    lf_buf_cleanup(&a.body);
    return !c->closing;
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

    if (nread > 0) {
        lf_buf_append(&c->in, buf->base, (size_t)nread);
        while (handle_one(c)) {
        }
    } else if (nread < 0) {
        conn_close(c);
    }
    lf_free(buf->base);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    struct conn *c;

    if (status != 0) {
        return;
    }
    c = lf_calloc(1, sizeof(*c));
    c->server = s;
    lf_buf_init(&c->in);
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void server_start(struct server *s, uv_loop_t *loop, script_fn script,
                         void *arg)
{
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int name_len = sizeof(name);

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->script = script;
    s->arg = arg;
    s->inflater = libdeflate_alloc_decompressor();
    uv_ip4_addr("127.0.0.1", 0, &addr);
    LF_CHECK_INT_EQ(uv_tcp_init(loop, &s->listener), 0);
    s->listener.data = s;
    LF_CHECK_INT_EQ(
        uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0), 0);
    LF_CHECK_INT_EQ(uv_listen((uv_stream_t *)&s->listener, 16, on_connection),
                    0);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&name, &name_len);
    s->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
}

/* Sends the response that `fill` builds to up to `count` held requests. */
static void server_release(struct server *s, size_t count,
                           void (*fill)(const struct recorded *req,
                                        struct answer *a))
{
    size_t n = count < s->held_count ? count : s->held_count;

    for (size_t i = 0; i < n; i++) {
        struct answer a = {.status = 200};

        lf_buf_init(&a.body);
        fill(&s->requests[s->held[i].index], &a);
        if (!s->held[i].conn->closing) {
            send_answer(s->held[i].conn, &a);
        }
        lf_buf_cleanup(&a.body);
    }
    memmove(s->held, s->held + n, (s->held_count - n) * sizeof(s->held[0]));
    s->held_count -= n;
}

static void server_stop(struct server *s)
{
    while (s->conns != NULL) {
        conn_close(s->conns);
    }
    uv_close((uv_handle_t *)&s->listener, NULL);
    for (size_t i = 0; i < s->request_count; i++) {
        lf_buf_cleanup(&s->requests[i].ids);
    }
    libdeflate_free_decompressor(s->inflater);
}

/* ---- answers ---- */

/* {"errors":...,"items":[...]} with one status per item. */
static void answer_items(struct answer *a, const int *statuses, size_t n)
{
    bool errors = false;

    for (size_t i = 0; i < n; i++) {
        errors = errors || statuses[i] >= 300;
    }
    a->status = 200;
    lf_buf_appendf(&a->body, "{\"errors\":%s,\"items\":[",
                   errors ? "true" : "false");
    for (size_t i = 0; i < n; i++) {
        const char *type = "";

        switch (statuses[i]) {
        case 409:
            type = "version_conflict_engine_exception";
            break;
        case 400:
            type = "mapper_parsing_exception";
            break;
        case 429:
            type = "es_rejected_execution_exception";
            break;
        case 503:
            type = "unavailable_shards_exception";
            break;
        default:
            break;
        }
        lf_buf_appendf(&a->body, "%s{\"create\":{\"status\":%d", i ? "," : "",
                       statuses[i]);
        if (type[0] != '\0') {
            lf_buf_appendf(&a->body,
                           ",\"error\":{\"type\":\"%s\",\"reason\":\"test "
                           "reason\"}",
                           type);
        }
        lf_buf_append_str(&a->body, "}}");
    }
    lf_buf_append_str(&a->body, "]}");
}

static void answer_all_created(const struct recorded *req, struct answer *a)
{
    int statuses[MAX_EVENTS];

    for (size_t i = 0; i < req->item_count && i < MAX_EVENTS; i++) {
        statuses[i] = 201;
    }
    answer_items(a, statuses, req->item_count);
}

static void answer_status(struct answer *a, int status, const char *body)
{
    a->status = status;
    lf_buf_append_str(&a->body, body);
}

/* ---- fixture ---- */

struct result_slot {
    int count;
    enum lf_delivery last;
};

struct fixture {
    uv_loop_t loop;
    struct server server;
    struct lf_es_config config;
    const char *hosts[2];
    char host_url[64];
    struct lf_es_output *output;
    uv_timer_t watchdog;
    bool timed_out;
    struct result_slot results[MAX_EVENTS];
    size_t result_count;
    int ready_calls;
    int closed;
    struct lf_event ev;
    char ids[MAX_EVENTS][16];
};

static void on_result(void *arg, struct lf_ack_ref ref, enum lf_delivery result)
{
    struct fixture *f = arg;

    LF_CHECK(ref.source == f);
    if (ref.ticket < MAX_EVENTS) {
        f->results[ref.ticket].count++;
        f->results[ref.ticket].last = result;
    }
    f->result_count++;
}

static void on_ready(void *arg)
{
    struct fixture *f = arg;

    f->ready_calls++;
}

static void on_watchdog(uv_timer_t *timer)
{
    struct fixture *f = timer->data;

    f->timed_out = true;
}

/* A configuration for tests: fast backoff, no flush timer surprises. */
static void fixture_config(struct fixture *f)
{
    snprintf(f->host_url, sizeof(f->host_url), "http://127.0.0.1:%d",
             f->server.port);
    f->hosts[0] = f->host_url;
    f->config = (struct lf_es_config){
        .hosts = f->hosts,
        .host_count = 1,
        .index = "logs-test-default",
        .compress = true,
        .compression_level = 1,
        .bulk_max_size = 100,
        .bulk_max_bytes = 1 << 20,
        .flush_interval_ms = 60000,
        .workers = 2,
        .timeout_ms = 10000,
        .backoff_init_ms = 1,
        .backoff_max_ms = 4,
    };
}

static void fixture_start(struct fixture *f, script_fn script)
{
    memset(f, 0, sizeof(*f));
    uv_loop_init(&f->loop);
    server_start(&f->server, &f->loop, script, f);
    uv_timer_init(&f->loop, &f->watchdog);
    f->watchdog.data = f;
    lf_event_init(&f->ev);
    fixture_config(f);
}

static void open_output(struct fixture *f)
{
    struct lf_es_output_callbacks cb = {
        .arg = f,
        .on_result = on_result,
        .on_ready = on_ready,
    };

    LF_CHECK_INT_EQ(lf_es_output_new(&f->loop, &f->config, &cb, &f->output), 0);
}

/* Runs the loop until `done(f)` holds; a hung step fails the test. */
static bool run_until(struct fixture *f, bool (*done)(const struct fixture *))
{
    f->timed_out = false;
    uv_timer_start(&f->watchdog, on_watchdog, TEST_STEP_LIMIT_MS, 0);
    while (!done(f) && !f->timed_out) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&f->watchdog);
    if (f->timed_out) {
        LF_FAIL_AT("step did not finish within %d ms", TEST_STEP_LIMIT_MS);
        return false;
    }
    return true;
}

static bool all_settled(const struct fixture *f)
{
    return f->output != NULL && lf_es_output_pending(f->output) == 0;
}

static bool output_closed(const struct fixture *f)
{
    return f->closed > 0;
}

static void on_output_closed(void *arg)
{
    struct fixture *f = arg;

    f->closed++;
}

static void fixture_finish(struct fixture *f)
{
    if (f->output != NULL) {
        lf_es_output_close(f->output, on_output_closed, f);
        run_until(f, output_closed);
        LF_CHECK_INT_EQ(f->closed, 1);
    }
    server_stop(&f->server);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&f->loop), 0);
    lf_event_cleanup(&f->ev);
}

/* Publishes event `ticket` with `_id` "e<ticket>"; returns publish's code. */
static int publish(struct fixture *f, size_t ticket)
{
    struct lf_ack_ref ref = {.source = f, .ticket = ticket};

    snprintf(f->ids[ticket], sizeof(f->ids[ticket]), "e%zu", ticket);
    lf_event_reset(&f->ev);
    f->ev.message = "line";
    f->ev.message_len = 4;
    lf_event_set_int(&f->ev, "log.offset", (int64_t)ticket);
    return lf_es_output_publish(f->output, &f->ev, f->ids[ticket], ref);
}

static void publish_range(struct fixture *f, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        LF_CHECK_INT_EQ(publish(f, i), 0);
    }
}

static void check_results(const struct fixture *f, size_t count,
                          const enum lf_delivery *expected)
{
    for (size_t i = 0; i < count; i++) {
        if (f->results[i].count != 1) {
            LF_FAIL_AT("event %zu got %d results, expected 1", i,
                       f->results[i].count);
        } else if (f->results[i].last != expected[i]) {
            LF_FAIL_AT("event %zu got result %d, expected %d", i,
                       (int)f->results[i].last, (int)expected[i]);
        }
    }
    LF_CHECK_INT_EQ(f->result_count, count);
}

static void check_all_indexed(const struct fixture *f, size_t count)
{
    enum lf_delivery expected[MAX_EVENTS];

    for (size_t i = 0; i < count; i++) {
        expected[i] = LF_DELIVERY_INDEXED;
    }
    check_results(f, count, expected);
}

static const char *request_ids(const struct fixture *f, size_t index)
{
    if (index >= f->server.request_count) {
        return "(no such request)";
    }
    return f->server.requests[index].ids.data != NULL
               ? f->server.requests[index].ids.data
               : "";
}

/* ---- scripts ---- */

static void script_all_created(struct server *s, const struct recorded *req,
                               size_t index, struct answer *out)
{
    (void)s;
    (void)index;
    answer_all_created(req, out);
}

static void test_es_output_sends_one_bulk_request(void)
{
    struct fixture f;
    struct lf_es_stats stats;
    const struct recorded *req;
    char expected_path[128];

    fixture_start(&f, script_all_created);
    open_output(&f);
    publish_range(&f, 0, 3);
    LF_CHECK_INT_EQ(lf_es_output_pending(f.output), 3);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 1);
    req = &f.server.requests[0];
    snprintf(expected_path, sizeof(expected_path), "%s",
             "/logs-test-default/_bulk?filter_path=errors,items.*.error,"
             "items.*.status");
    LF_CHECK_STR_EQ(req->path, expected_path);
    LF_CHECK_STR_EQ(req->content_type, "application/x-ndjson");
    LF_CHECK_STR_EQ(req->content_encoding, "gzip");
    LF_CHECK_STR_EQ(req->authorization, "");
    LF_CHECK(req->gzip_ok);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2");
    check_all_indexed(&f, 3);

    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.events_indexed, 3);
    LF_CHECK_INT_EQ(stats.requests_sent, 1);
    LF_CHECK_INT_EQ(stats.requests_failed, 0);
    LF_CHECK_INT_EQ(stats.bytes_sent, req->body_len);
    fixture_finish(&f);
}

/* First request: one status per item; the retry must carry 3 and 4 only. */
static void script_mixed_items(struct server *s, const struct recorded *req,
                               size_t index, struct answer *out)
{
    static const int first[] = {201, 409, 400, 429, 503};

    (void)s;
    if (index == 0) {
        answer_items(out, first, LF_ARRAY_SIZE(first));
    } else {
        answer_all_created(req, out);
    }
}

static void test_es_output_per_item_results(void)
{
    static const enum lf_delivery expected[] = {
        LF_DELIVERY_INDEXED, LF_DELIVERY_DUPLICATE, LF_DELIVERY_REJECTED,
        LF_DELIVERY_INDEXED, LF_DELIVERY_INDEXED,
    };
    struct fixture f;
    struct lf_es_stats stats;

    fixture_start(&f, script_mixed_items);
    open_output(&f);
    publish_range(&f, 0, 5);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 2);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2,e3,e4");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e3,e4");
    check_results(&f, 5, expected);

    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.events_indexed, 3);
    LF_CHECK_INT_EQ(stats.events_duplicate, 1);
    LF_CHECK_INT_EQ(stats.events_rejected, 1);
    LF_CHECK_INT_EQ(stats.events_retried, 2);
    LF_CHECK_INT_EQ(stats.requests_sent, 2);
    fixture_finish(&f);
}

/* 429, then 503, then success: the same items each time. */
static void script_429_503_ok(struct server *s, const struct recorded *req,
                              size_t index, struct answer *out)
{
    (void)s;
    if (index == 0) {
        answer_status(out, 429,
                      "{\"error\":{\"type\":\"es_rejected_execution_exception"
                      "\",\"reason\":\"queue full\"},\"status\":429}");
    } else if (index == 1) {
        answer_status(out, 503, "<html>busy</html>");
    } else {
        answer_all_created(req, out);
    }
}

static void test_es_output_retries_whole_request(void)
{
    struct fixture f;
    struct lf_es_stats stats;

    fixture_start(&f, script_429_503_ok);
    open_output(&f);
    publish_range(&f, 0, 4);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 3);
    for (size_t i = 0; i < 3; i++) {
        LF_CHECK_STR_EQ(request_ids(&f, i), "e0,e1,e2,e3");
    }
    check_all_indexed(&f, 4);
    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.requests_sent, 3);
    LF_CHECK_INT_EQ(stats.requests_failed, 2);
    LF_CHECK_INT_EQ(stats.events_retried, 0);
    fixture_finish(&f);
}

/* 413 for any request of more than two items. */
static void script_413_above_two(struct server *s, const struct recorded *req,
                                 size_t index, struct answer *out)
{
    (void)s;
    (void)index;
    if (req->item_count > 2) {
        answer_status(out, 413, "");
    } else {
        answer_all_created(req, out);
    }
}

static bool has_request(const struct fixture *f, const char *ids)
{
    for (size_t i = 0; i < f->server.request_count; i++) {
        if (strcmp(request_ids(f, i), ids) == 0) {
            return true;
        }
    }
    return false;
}

static void test_es_output_413_splits_batch(void)
{
    struct fixture f;

    fixture_start(&f, script_413_above_two);
    open_output(&f);
    publish_range(&f, 0, 5);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    /* 5 -> 2 + 3, then 3 -> 1 + 2. Halves are compressed in parallel. */
    LF_CHECK_INT_EQ(f.server.request_count, 5);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2,e3,e4");
    LF_CHECK(has_request(&f, "e0,e1"));
    LF_CHECK(has_request(&f, "e2,e3,e4"));
    LF_CHECK(has_request(&f, "e2"));
    LF_CHECK(has_request(&f, "e3,e4"));
    check_all_indexed(&f, 5);
    fixture_finish(&f);
}

static void script_always_413(struct server *s, const struct recorded *req,
                              size_t index, struct answer *out)
{
    (void)s;
    (void)req;
    (void)index;
    answer_status(out, 413, "");
}

static void test_es_output_413_single_document_rejected(void)
{
    static const enum lf_delivery expected[] = {
        LF_DELIVERY_REJECTED,
        LF_DELIVERY_REJECTED,
    };
    struct fixture f;

    fixture_start(&f, script_always_413);
    open_output(&f);
    publish_range(&f, 0, 2);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 3);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1");
    LF_CHECK(has_request(&f, "e0"));
    LF_CHECK(has_request(&f, "e1"));
    check_results(&f, 2, expected);
    fixture_finish(&f);
}

/* The first request's connection is closed without a response. */
static void script_close_then_ok(struct server *s, const struct recorded *req,
                                 size_t index, struct answer *out)
{
    (void)s;
    if (index == 0) {
        out->status = 0;
    } else {
        answer_all_created(req, out);
    }
}

static void test_es_output_retries_after_connection_close(void)
{
    struct fixture f;
    struct lf_es_stats stats;

    fixture_start(&f, script_close_then_ok);
    open_output(&f);
    publish_range(&f, 0, 3);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 2);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e0,e1,e2");
    check_all_indexed(&f, 3);
    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.requests_failed, 1);
    fixture_finish(&f);
}

/* Returns a port on 127.0.0.1 that nothing listens on. */
static int closed_port(void)
{
    uv_loop_t loop;
    uv_tcp_t tcp;
    struct sockaddr_in addr;
    struct sockaddr_storage name;
    int name_len = sizeof(name);

    uv_loop_init(&loop);
    uv_tcp_init(&loop, &tcp);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&tcp, (const struct sockaddr *)&addr, 0);
    uv_tcp_getsockname(&tcp, (struct sockaddr *)&name, &name_len);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return ntohs(((struct sockaddr_in *)&name)->sin_port);
}

static void test_es_output_moves_to_next_host(void)
{
    struct fixture f;
    struct lf_es_stats stats;
    char refused[64];

    fixture_start(&f, script_all_created);
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d", closed_port());
    f.hosts[0] = refused;
    f.hosts[1] = f.host_url;
    f.config.host_count = 2;
    open_output(&f);
    publish_range(&f, 0, 2);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 1);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1");
    check_all_indexed(&f, 2);
    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.requests_failed, 1);
    LF_CHECK_INT_EQ(stats.requests_sent, 2);
    fixture_finish(&f);
}

/* Holds every request until the test releases it. */
static void script_hold(struct server *s, const struct recorded *req,
                        size_t index, struct answer *out)
{
    (void)s;
    (void)req;
    (void)index;
    out->hold = true;
}

static bool one_held(const struct fixture *f)
{
    return f->server.held_count == 1;
}

static bool two_held(const struct fixture *f)
{
    return f->server.held_count == 2;
}

static bool one_ready_call(const struct fixture *f)
{
    return f->ready_calls == 1;
}

/*
 * workers=1, bulk_max_size=2: one batch in flight, one queued, one open
 * and full. The next publish is refused until a batch finishes.
 */
static void test_es_output_full_until_batch_finishes(void)
{
    struct fixture f;

    fixture_start(&f, script_hold);
    f.config.workers = 1;
    f.config.bulk_max_size = 2;
    open_output(&f);
    publish_range(&f, 0, 6);
    LF_CHECK_INT_EQ(publish(&f, 6), LF_EFULL);
    LF_CHECK_INT_EQ(lf_es_output_pending(f.output), 6);
    LF_CHECK_INT_EQ(f.ready_calls, 0);

    /* Answer the first request, held by the server; later ones at once. */
    run_until(&f, one_held);
    f.server.script = script_all_created;
    server_release(&f.server, 1, answer_all_created);
    run_until(&f, one_ready_call);
    LF_CHECK_INT_EQ(f.ready_calls, 1);
    LF_CHECK_INT_EQ(publish(&f, 6), 0);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e2,e3");
    LF_CHECK_STR_EQ(request_ids(&f, 2), "e4,e5");
    LF_CHECK_STR_EQ(request_ids(&f, 3), "e6");
    LF_CHECK_INT_EQ(f.server.request_count, 4);
    check_all_indexed(&f, 7);
    fixture_finish(&f);
}

/* Captures what the output logs to stderr while it is active. */
struct log_capture {
    FILE *file;
    int saved_fd;
};

static void capture_start(struct log_capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    c->saved_fd = dup(STDERR_FILENO);
    dup2(fileno(c->file), STDERR_FILENO);
}

/* Restores stderr and stores what was written in `out`. */
static void capture_stop(struct log_capture *c, struct lf_buf *out)
{
    char chunk[4096];
    size_t n;

    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    rewind(c->file);
    while ((n = fread(chunk, 1, sizeof(chunk), c->file)) > 0) {
        lf_buf_append(out, chunk, n);
    }
    fclose(c->file);
}

/* 401 once (credentials being fixed), then success. */
static void script_401_then_ok(struct server *s, const struct recorded *req,
                               size_t index, struct answer *out)
{
    (void)s;
    if (index == 0) {
        answer_status(out, 401,
                      "{\"error\":{\"type\":\"security_exception\","
                      "\"reason\":\"unable to authenticate user [shipper]\"},"
                      "\"status\":401}");
    } else {
        answer_all_created(req, out);
    }
}

static void test_es_output_basic_auth_never_logged(void)
{
    struct fixture f;
    struct log_capture capture;
    struct lf_buf log;
    char host[80];

    fixture_start(&f, script_401_then_ok);
    f.config.username = "shipper";
    f.config.password = "s3cret";
    lf_buf_init(&log);
    capture_start(&capture);
    open_output(&f);
    publish_range(&f, 0, 2);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);
    capture_stop(&capture, &log);

    LF_CHECK_INT_EQ(f.server.request_count, 2);
    /* base64("shipper:s3cret") */
    LF_CHECK_STR_EQ(f.server.requests[0].authorization,
                    "Basic c2hpcHBlcjpzM2NyZXQ=");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e0,e1");
    check_all_indexed(&f, 2);

    snprintf(host, sizeof(host), "host=%s", f.host_url);
    LF_CHECK(strstr(log.data, "status 401") != NULL);
    LF_CHECK(strstr(log.data, "security_exception") != NULL);
    LF_CHECK(strstr(log.data, host) != NULL);
    LF_CHECK(strstr(log.data, "s3cret") == NULL);
    LF_CHECK(strstr(log.data, "c2hpcHBlcjpzM2NyZXQ") == NULL);
    lf_buf_cleanup(&log);
    fixture_finish(&f);
}

static void check_api_key_header(const char *api_key, const char *expected)
{
    struct fixture f;

    fixture_start(&f, script_all_created);
    f.config.api_key = api_key;
    open_output(&f);
    publish_range(&f, 0, 1);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);
    LF_CHECK_INT_EQ(f.server.request_count, 1);
    LF_CHECK_STR_EQ(f.server.requests[0].authorization, expected);
    fixture_finish(&f);
}

static void test_es_output_api_key_header(void)
{
    /* The encoded form Elasticsearch returns is sent as it is. */
    check_api_key_header("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6"
                         "dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
                         "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6"
                         "dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
    /* An "id:api_key" pair is encoded: base64("ab:cd"). */
    check_api_key_header("ab:cd", "ApiKey YWI6Y2Q=");
}

static void test_es_output_pipeline_and_plain_body(void)
{
    struct fixture f;

    fixture_start(&f, script_all_created);
    f.config.pipeline = "app logs/v1";
    f.config.compress = false;
    open_output(&f);
    publish_range(&f, 0, 2);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 1);
    LF_CHECK_STR_EQ(f.server.requests[0].path,
                    "/logs-test-default/_bulk?filter_path=errors,"
                    "items.*.error,items.*.status&pipeline=app%20logs%2Fv1");
    LF_CHECK_STR_EQ(f.server.requests[0].content_encoding, "");
    LF_CHECK_STR_EQ(f.server.requests[0].content_type, "application/x-ndjson");
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1");
    check_all_indexed(&f, 2);
    fixture_finish(&f);
}

static void script_400(struct server *s, const struct recorded *req,
                       size_t index, struct answer *out)
{
    (void)s;
    (void)req;
    (void)index;
    answer_status(out, 400,
                  "{\"error\":{\"type\":\"illegal_argument_exception\","
                  "\"reason\":\"Malformed action/metadata line [1]\"},"
                  "\"status\":400}");
}

static void test_es_output_400_rejects_request(void)
{
    static const enum lf_delivery expected[] = {
        LF_DELIVERY_REJECTED,
        LF_DELIVERY_REJECTED,
        LF_DELIVERY_REJECTED,
    };
    struct fixture f;
    struct lf_es_stats stats;

    fixture_start(&f, script_400);
    open_output(&f);
    publish_range(&f, 0, 3);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 1);
    check_results(&f, 3, expected);
    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.events_rejected, 3);
    LF_CHECK_INT_EQ(stats.requests_failed, 1);
    fixture_finish(&f);
}

/* A 200 whose body is not a full reply: the request is sent again. */
static void script_short_reply_then_ok(struct server *s,
                                       const struct recorded *req, size_t index,
                                       struct answer *out)
{
    static const int one[] = {201};

    (void)s;
    if (index == 0) {
        answer_items(out, one, 1);
    } else {
        answer_all_created(req, out);
    }
}

static void test_es_output_short_reply_retried(void)
{
    struct fixture f;

    fixture_start(&f, script_short_reply_then_ok);
    open_output(&f);
    publish_range(&f, 0, 3);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 2);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e0,e1,e2");
    check_all_indexed(&f, 3);
    fixture_finish(&f);
}

/* Each encoded item is 62 bytes: two fit under 150 bytes. */
static void test_es_output_batches_by_bytes(void)
{
    struct fixture f;

    fixture_start(&f, script_all_created);
    f.config.bulk_max_bytes = 150;
    f.config.workers = 1;
    open_output(&f);
    publish_range(&f, 0, 5);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 3);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e2,e3");
    LF_CHECK_STR_EQ(request_ids(&f, 2), "e4");
    check_all_indexed(&f, 5);
    fixture_finish(&f);
}

static void test_es_output_batches_by_count(void)
{
    struct fixture f;

    fixture_start(&f, script_all_created);
    f.config.bulk_max_size = 3;
    f.config.workers = 1;
    open_output(&f);
    publish_range(&f, 0, 7);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 3);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e3,e4,e5");
    LF_CHECK_STR_EQ(request_ids(&f, 2), "e6");
    check_all_indexed(&f, 7);
    fixture_finish(&f);
}

/* Nothing calls flush: the flush interval sends the partial batch. */
static void test_es_output_flush_interval(void)
{
    struct fixture f;
    uint64_t start;

    fixture_start(&f, script_all_created);
    f.config.flush_interval_ms = 50;
    open_output(&f);
    uv_update_time(&f.loop);
    start = uv_now(&f.loop);
    publish_range(&f, 0, 2);
    run_until(&f, all_settled);

    LF_CHECK(uv_now(&f.loop) - start >= 50);
    LF_CHECK_INT_EQ(f.server.request_count, 1);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1");
    check_all_indexed(&f, 2);
    fixture_finish(&f);
}

/* Requests in flight at close are cancelled: their events get no result. */
static void test_es_output_close_cancels_requests(void)
{
    struct fixture f;

    fixture_start(&f, script_hold);
    f.config.bulk_max_size = 2;
    open_output(&f);
    publish_range(&f, 0, 5);
    lf_es_output_flush(f.output);
    run_until(&f, two_held);
    LF_CHECK_INT_EQ(lf_es_output_pending(f.output), 5);
    LF_CHECK_INT_EQ(publish(&f, 5), 0);

    lf_es_output_close(f.output, on_output_closed, &f);
    run_until(&f, output_closed);
    LF_CHECK_INT_EQ(f.closed, 1);
    LF_CHECK_INT_EQ(f.result_count, 0);
    f.output = NULL;
    fixture_finish(&f);
}

/* The first request is never answered; later ones are. */
static void script_hang_then_ok(struct server *s, const struct recorded *req,
                                size_t index, struct answer *out)
{
    (void)s;
    if (index == 0) {
        out->hold = true;
    } else {
        answer_all_created(req, out);
    }
}

static void test_es_output_timeout_retries_request(void)
{
    struct fixture f;
    struct lf_es_stats stats;

    fixture_start(&f, script_hang_then_ok);
    f.config.timeout_ms = 200;
    open_output(&f);
    publish_range(&f, 0, 3);
    lf_es_output_flush(f.output);
    run_until(&f, all_settled);

    LF_CHECK_INT_EQ(f.server.request_count, 2);
    LF_CHECK_STR_EQ(request_ids(&f, 0), "e0,e1,e2");
    LF_CHECK_STR_EQ(request_ids(&f, 1), "e0,e1,e2");
    check_all_indexed(&f, 3);
    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(stats.requests_failed, 1);
    fixture_finish(&f);
}

static bool five_failures(const struct fixture *f)
{
    struct lf_es_stats stats;

    lf_es_output_stats(f->output, &stats);
    return stats.requests_failed >= 5;
}

static size_t count_lines_with(const struct lf_buf *log, const char *text)
{
    size_t n = 0;

    for (const char *p = log->data; p != NULL && (p = strstr(p, text)); p++) {
        n++;
    }
    return n;
}

/*
 * Elasticsearch down: every attempt fails, nothing is reported and the
 * backoff grows. Each failure is logged once, with its attempt number.
 */
static void test_es_output_unreachable_retries_forever(void)
{
    struct fixture f;
    struct log_capture capture;
    struct lf_buf log;
    struct lf_es_stats stats;
    char refused[64];

    fixture_start(&f, script_all_created);
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d", closed_port());
    f.hosts[0] = refused;
    lf_buf_init(&log);
    capture_start(&capture);
    open_output(&f);
    publish_range(&f, 0, 2);
    lf_es_output_flush(f.output);
    run_until(&f, five_failures);
    capture_stop(&capture, &log);

    lf_es_output_stats(f.output, &stats);
    LF_CHECK_INT_EQ(f.result_count, 0);
    LF_CHECK_INT_EQ(lf_es_output_pending(f.output), 2);
    LF_CHECK_INT_EQ(stats.events_rejected, 0);
    LF_CHECK_INT_EQ(count_lines_with(&log, "connection refused"),
                    stats.requests_failed);
    LF_CHECK(strstr(log.data, "attempt=1 ") != NULL);
    LF_CHECK(strstr(log.data, "attempt=5 ") != NULL);
    LF_CHECK(strstr(log.data, refused) != NULL);
    lf_buf_cleanup(&log);
    fixture_finish(&f);
}

static void test_es_output_rejects_bad_arguments(void)
{
    struct fixture f;
    struct lf_es_output_callbacks cb = {.arg = &f};
    struct lf_es_output *output = (struct lf_es_output *)&f;

    fixture_start(&f, script_all_created);
    LF_CHECK_INT_EQ(lf_es_output_new(&f.loop, &f.config, &cb, &output),
                    LF_EINVAL);
    LF_CHECK(output == NULL);
    cb.on_result = on_result;
    f.config.workers = 0;
    LF_CHECK_INT_EQ(lf_es_output_new(&f.loop, &f.config, &cb, &output),
                    LF_EINVAL);
    fixture_finish(&f);
}

/* A pause of the test's loop, to show that no request starts meanwhile. */
struct pause {
    uv_timer_t timer;
    bool done;
};

static void on_pause_end(uv_timer_t *timer)
{
    struct pause *p = timer->data;

    p->done = true;
}

static void run_for(struct fixture *f, uint64_t ms)
{
    struct pause p = {.done = false};

    uv_timer_init(&f->loop, &p.timer);
    p.timer.data = &p;
    uv_timer_start(&p.timer, on_pause_end, ms, 0);
    while (!p.done) {
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&p.timer, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void answer_429(const struct recorded *req, struct answer *a)
{
    (void)req;
    answer_status(a, 429,
                  "{\"error\":{\"type\":\"es_rejected_execution_exception\","
                  "\"reason\":\"rejected execution of coordinating "
                  "operation\"},\"status\":429}");
}

static bool four_held(const struct fixture *f)
{
    return f->server.held_count == 4;
}

static bool three_held(const struct fixture *f)
{
    return f->server.held_count == 3;
}

/*
 * workers=4, one event per batch: four requests in flight, each gets a
 * 429, then one runs at a time, then one more after each success.
 */
static void test_es_output_in_flight_limit(void)
{
    struct fixture f;
    size_t published = 0;

    fixture_start(&f, script_hold);
    f.config.workers = 4;
    f.config.bulk_max_size = 1;
    open_output(&f);
    while (published < 6 && publish(&f, published) == 0) {
        published++;
    }
    LF_CHECK_INT_EQ(published, 6);

    run_until(&f, four_held);
    run_for(&f, 50);
    LF_CHECK_INT_EQ(f.server.held_count, 4);
    LF_CHECK_INT_EQ(f.server.request_count, 4);

    /* Four 429s halve the limit down to 1: 4, 2, 1, 1. */
    server_release(&f.server, 4, answer_429);
    run_until(&f, one_held);
    run_for(&f, 50);
    LF_CHECK_INT_EQ(f.server.held_count, 1);
    LF_CHECK_INT_EQ(f.server.request_count, 5);

    /* Each reply without an item to retry allows one more. */
    server_release(&f.server, 1, answer_all_created);
    run_until(&f, two_held);
    run_for(&f, 50);
    LF_CHECK_INT_EQ(f.server.held_count, 2);
    LF_CHECK_INT_EQ(f.server.request_count, 7);

    /* Two more successes allow 4, so the 3 batches left go together. */
    server_release(&f.server, 2, answer_all_created);
    run_until(&f, three_held);
    LF_CHECK_INT_EQ(f.server.request_count, 10);
    server_release(&f.server, 3, answer_all_created);
    run_until(&f, all_settled);
    check_all_indexed(&f, 6);
    fixture_finish(&f);
}

int main(void)
{
    LF_RUN(test_es_output_sends_one_bulk_request);
    LF_RUN(test_es_output_per_item_results);
    LF_RUN(test_es_output_retries_whole_request);
    LF_RUN(test_es_output_413_splits_batch);
    LF_RUN(test_es_output_413_single_document_rejected);
    LF_RUN(test_es_output_retries_after_connection_close);
    LF_RUN(test_es_output_moves_to_next_host);
    LF_RUN(test_es_output_full_until_batch_finishes);
    LF_RUN(test_es_output_basic_auth_never_logged);
    LF_RUN(test_es_output_api_key_header);
    LF_RUN(test_es_output_pipeline_and_plain_body);
    LF_RUN(test_es_output_400_rejects_request);
    LF_RUN(test_es_output_short_reply_retried);
    LF_RUN(test_es_output_batches_by_bytes);
    LF_RUN(test_es_output_batches_by_count);
    LF_RUN(test_es_output_flush_interval);
    LF_RUN(test_es_output_close_cancels_requests);
    LF_RUN(test_es_output_timeout_retries_request);
    LF_RUN(test_es_output_unreachable_retries_forever);
    LF_RUN(test_es_output_rejects_bad_arguments);
    LF_RUN(test_es_output_in_flight_limit);
    return lf_test_end();
}
