/*
 * Throughput of the Elasticsearch output alone: pre-built events go
 * through the real output code (encoder, batches, gzip on libuv's thread
 * pool, the HTTP client on libuv) to a receiver on 127.0.0.1 that runs
 * in a child process, gunzips every request, counts its documents and
 * replies 201 for each, in the shape of the output's filter_path reply.
 *
 *     build/bench/output_bench [EVENTS [WORKERS [LEVEL]]]
 *
 * sends EVENTS events (default 5,000,000) with `workers` WORKERS
 * (default 2) and gzip level LEVEL (default 1), then prints events per
 * CPU second of the sending process (all its threads, from getrusage)
 * and per wall second. It fails unless the receiver counted every event.
 */
#include "lf/conf.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/log.h"
#include "lf/mem.h"
#include "outputs/elasticsearch/es_config.h"
#include "outputs/elasticsearch/es_output.h"

#include <libdeflate.h>
#include <uv.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Distinct events built before the run; publishing cycles over them. */
enum { EVENT_SET = 4096 };

/* Events published per turn of the loop, so requests make progress. */
enum { PUBLISH_CHUNK = 4096 };

/* ---- receiver (child process) ---- */

struct connection {
    uv_tcp_t tcp;
    struct lf_buf in;
    struct receiver *receiver;
};

struct receiver {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigterm;
    struct libdeflate_decompressor *inflater;
    struct lf_buf plain;
    uint64_t documents;
    uint64_t requests;
    int result_fd;
};

struct reply {
    uv_write_t req;
    struct lf_buf text;
};

static void on_reply_written(uv_write_t *req, int status)
{
    struct reply *reply = (struct reply *)req;

    (void)status;
    lf_buf_cleanup(&reply->text);
    lf_free(reply);
}

static void send_reply(struct connection *c, uint64_t items)
{
    static const char item[] = "{\"create\":{\"status\":201}}";
    struct reply *reply = lf_calloc(1, sizeof(*reply));
    struct lf_buf body;
    uv_buf_t buf;

    lf_buf_init(&body);
    lf_buf_append_str(&body, "{\"errors\":false,\"items\":[");
    for (uint64_t i = 0; i < items; i++) {
        if (i > 0) {
            lf_buf_append_char(&body, ',');
        }
        lf_buf_append(&body, item, LF_STRLEN(item));
    }
    lf_buf_append_str(&body, "]}");
    lf_buf_init(&reply->text);
    lf_buf_appendf(&reply->text,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "X-elastic-product: Elasticsearch\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   body.len);
    lf_buf_append(&reply->text, body.data, body.len);
    lf_buf_cleanup(&body);
    buf = uv_buf_init(reply->text.data, (unsigned)reply->text.len);
    uv_write(&reply->req, (uv_stream_t *)&c->tcp, &buf, 1, on_reply_written);
}

static const char *find_header(const char *head, size_t len, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i + n < len; i++) {
        if ((i == 0 || head[i - 1] == '\n') &&
            strncasecmp(head + i, name, n) == 0) {
            return head + i + n;
        }
    }
    return NULL;
}

/* Counts the documents of one gzip body: two lines each. */
static int count_documents(struct receiver *r, const char *gz, size_t len,
                           uint64_t *out)
{
    size_t size;
    size_t got;
    uint64_t lines = 0;

    if (len < 18) {
        return -1;
    }
    /* ISIZE, the last 4 bytes, is the uncompressed size modulo 2^32. */
    size = (size_t)(unsigned char)gz[len - 4] |
           (size_t)(unsigned char)gz[len - 3] << 8 |
           (size_t)(unsigned char)gz[len - 2] << 16 |
           (size_t)(unsigned char)gz[len - 1] << 24;
    lf_buf_reset(&r->plain);
    lf_buf_reserve(&r->plain, size + 1);
    if (libdeflate_gzip_decompress(r->inflater, gz, len, r->plain.data, size,
                                   &got) != LIBDEFLATE_SUCCESS ||
        got != size) {
        return -1;
    }
    for (const char *p = r->plain.data, *end = p + size;
         (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
        lines++;
    }
    *out = lines / 2;
    return 0;
}

/* Handles every complete request in the connection's buffer. */
static void handle_requests(struct connection *c)
{
    struct receiver *r = c->receiver;

    for (;;) {
        const char *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
        const char *value;
        size_t head_len;
        size_t body_len;
        uint64_t docs;

        if (end == NULL) {
            return;
        }
        head_len = (size_t)(end - c->in.data) + 4;
        value = find_header(c->in.data, head_len, "content-length:");
        if (value == NULL) {
            fprintf(stderr, "receiver: request has no Content-Length "
                            "header\n");
            exit(1);
        }
        body_len = (size_t)strtoull(value, NULL, 10);
        if (c->in.len < head_len + body_len) {
            return;
        }
        if (count_documents(r, c->in.data + head_len, body_len, &docs) != 0) {
            fprintf(stderr, "receiver: request body is not valid gzip\n");
            exit(1);
        }
        r->documents += docs;
        r->requests++;
        send_reply(c, docs);
        memmove(c->in.data, c->in.data + head_len + body_len,
                c->in.len - head_len - body_len);
        c->in.len -= head_len + body_len;
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct connection *c = handle->data;

    (void)suggested;
    lf_buf_reserve(&c->in, 65536);
    *buf = uv_buf_init(c->in.data + c->in.len, 65536);
}

static void on_closed(uv_handle_t *handle)
{
    struct connection *c = handle->data;

    lf_buf_cleanup(&c->in);
    lf_free(c);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct connection *c = stream->data;

    (void)buf;
    if (n < 0) {
        uv_close((uv_handle_t *)stream, on_closed);
        return;
    }
    c->in.len += (size_t)n;
    handle_requests(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct receiver *r = listener->data;
    struct connection *c;

    if (status != 0) {
        return;
    }
    c = lf_calloc(1, sizeof(*c));
    c->receiver = r;
    lf_buf_init(&c->in);
    uv_tcp_init(r->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_sigterm(uv_signal_t *handle, int signum)
{
    struct receiver *r = handle->data;
    char line[64];
    int n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n",
                     r->documents, r->requests);

    (void)signum;
    if (write(r->result_fd, line, (size_t)n) != n) {
        _exit(1);
    }
    _exit(0);
}

/* Runs the receiver; writes its port, then its counts at SIGTERM. */
static void run_receiver(int result_fd)
{
    struct receiver r = {0};
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    char line[32];
    int n;

    r.loop = uv_default_loop();
    r.result_fd = result_fd;
    r.inflater = libdeflate_alloc_decompressor();
    lf_buf_init(&r.plain);
    uv_tcp_init(r.loop, &r.listener);
    r.listener.data = &r;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&r.listener, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&r.listener, 64, on_connection) != 0) {
        _exit(1);
    }
    uv_tcp_getsockname(&r.listener, (struct sockaddr *)&bound, &len);
    n = snprintf(line, sizeof(line), "%d\n",
                 ntohs(((struct sockaddr_in *)&bound)->sin_port));
    if (write(result_fd, line, (size_t)n) != n) {
        _exit(1);
    }
    uv_signal_init(r.loop, &r.sigterm);
    r.sigterm.data = &r;
    uv_signal_start(&r.sigterm, on_sigterm, SIGTERM);
    uv_run(r.loop, UV_RUN_DEFAULT);
    _exit(1);
}

/* ---- sender ---- */

struct sender {
    uv_loop_t *loop;
    uv_idle_t idle;
    struct lf_es_output *output;
    struct lf_event *events;
    uint64_t total;
    uint64_t published;
    uint64_t results;
    uint64_t not_indexed;
    struct lf_es_stats stats; /* taken when the last result came */
    bool blocked;
};

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
static const char *const levels[] = {"info", "info", "warn", "error"};
static const char *const routes[] = {"/api/rewards", "/api/users/42/points",
                                     "/api/redeem", "/api/catalog/items"};

/* Builds an event shaped like a parsed application log line. */
static void build_event(struct lf_event *ev, unsigned i)
{
    char text[256];
    char txn[17];
    int n;

    lf_event_init(ev);
    snprintf(txn, sizeof(txn), "%016" PRIx64,
             (uint64_t)i * 0x9E3779B97F4A7C15u);
    n = snprintf(text, sizeof(text),
                 "2026-03-01T10:%02u:%02u.%03uZ INFO [txn=%s] %s %s %d "
                 "%ums user=%u points=%u",
                 i / 60 % 60, i % 60, i % 1000, txn, methods[i % 4],
                 routes[i / 4 % 4], 200 + (int)(i % 3), i % 3000, i % 100000,
                 i % 500);
    lf_event_set_timestamp(ev, "@timestamp",
                           1772359200000000000LL + (int64_t)i * 1037000000LL);
    lf_event_set_str(ev, "message", lf_event_copy_str(ev, text, (size_t)n),
                     (size_t)n);
    lf_event_set_str(ev, "log.level", levels[i % 4], strlen(levels[i % 4]));
    lf_event_set_str(ev, "transaction.id", lf_event_copy_str(ev, txn, 16), 16);
    lf_event_set_str(ev, "http.request.method", methods[i % 4],
                     strlen(methods[i % 4]));
    lf_event_set_str(ev, "url.path", routes[i / 4 % 4],
                     strlen(routes[i / 4 % 4]));
    lf_event_set_int(ev, "http.response.status_code", 200 + (int)(i % 3));
    lf_event_set_int(ev, "event.duration", (int64_t)(i % 3000) * 1000000);
    lf_event_set_str(ev, "log.file.path", "/var/log/app/rewards-api.log",
                     LF_STRLEN("/var/log/app/rewards-api.log"));
    lf_event_set_int(ev, "log.offset", (int64_t)i * 120);
    lf_event_set_str(ev, "host.name", "bench-host", LF_STRLEN("bench-host"));
    lf_event_set_str(ev, "agent.type", "logferry", LF_STRLEN("logferry"));
    lf_event_set_str(ev, "agent.version", "0.1.0", LF_STRLEN("0.1.0"));
    lf_event_set_str(ev, "input.type", "filestream", LF_STRLEN("filestream"));
    lf_event_set_str(ev, "service.name", "rewards-api",
                     LF_STRLEN("rewards-api"));
}

/*
 * Writes "<file id>-<offset>" in hexadecimal, as the pipeline does, without
 * snprintf(), whose cost would be counted against the output.
 */
static void format_doc_id(char *out, uint64_t offset)
{
    static const char prefix[] = "00000000000a1b2c-";
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    size_t n = 0;

    memcpy(out, prefix, LF_STRLEN(prefix));
    out += LF_STRLEN(prefix);
    do {
        digits[n++] = hex[offset & 0xf];
        offset >>= 4;
    } while (offset != 0);
    while (n > 0) {
        *out++ = digits[--n];
    }
    *out = '\0';
}

static void publish_some(struct sender *s)
{
    char doc_id[40];

    for (unsigned n = 0; n < PUBLISH_CHUNK && s->published < s->total; n++) {
        struct lf_ack_ref ref = {s, s->published};
        int rc;

        format_doc_id(doc_id, s->published * 120);
        rc = lf_es_output_publish(
            s->output, &s->events[s->published % EVENT_SET], doc_id, ref);
        if (rc == LF_EFULL) {
            s->blocked = true;
            uv_idle_stop(&s->idle);
            return;
        }
        if (rc != 0) {
            fprintf(stderr, "output_bench: publish failed: %s\n",
                    lf_strerror(rc));
            exit(1);
        }
        s->published++;
    }
    if (s->published == s->total) {
        lf_es_output_flush(s->output);
        uv_idle_stop(&s->idle);
    }
}

static void on_idle(uv_idle_t *idle)
{
    publish_some(idle->data);
}

static void on_ready(void *arg)
{
    struct sender *s = arg;

    s->blocked = false;
    uv_idle_start(&s->idle, on_idle);
}

static void on_output_closed(void *arg)
{
    (void)arg;
}

static void on_result(void *arg, struct lf_ack_ref ref, enum lf_delivery result)
{
    struct sender *s = arg;

    (void)ref;
    if (result != LF_DELIVERY_INDEXED) {
        s->not_indexed++;
    }
    if (++s->results == s->total) {
        lf_es_output_stats(s->output, &s->stats);
        lf_es_output_close(s->output, on_output_closed, s);
        uv_close((uv_handle_t *)&s->idle, NULL);
    }
}

static double seconds_of(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int load_config(int port, int workers, int level,
                       struct lf_es_config *config, struct lf_conf **doc)
{
    char yaml[512];
    char errbuf[256];
    struct lf_conf_node root;
    struct lf_conf_node section;
    int n = snprintf(yaml, sizeof(yaml),
                     "output.elasticsearch:\n"
                     "  hosts: [\"http://127.0.0.1:%d\"]\n"
                     "  index: logs-app-default\n"
                     "  compression_level: %d\n"
                     "  workers: %d\n",
                     port, level, workers);

    if (lf_conf_load_string(yaml, (size_t)n, "bench", doc, errbuf,
                            sizeof(errbuf)) != 0) {
        fprintf(stderr, "output_bench: %s\n", errbuf);
        return -1;
    }
    lf_conf_root(*doc, &root);
    lf_conf_child(&root, "output.elasticsearch", &section);
    if (lf_es_config_parse(&section, config, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "output_bench: %s\n", errbuf);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
    int workers = argc > 2 ? atoi(argv[2]) : 2;
    int level = argc > 3 ? atoi(argv[3]) : 1;
    struct lf_es_output_callbacks callbacks = {0};
    struct lf_es_config config = {0};
    struct lf_conf *doc = NULL;
    struct sender s = {0};
    struct rusage before;
    struct rusage after;
    struct timespec start;
    struct timespec stop;
    uint64_t received = 0;
    uint64_t requests = 0;
    double cpu_s;
    double wall_s;
    int fds[2];
    pid_t child;
    FILE *from_child;
    int port;

    if (total == 0 || workers < 1) {
        fprintf(stderr, "usage: output_bench [EVENTS [WORKERS [LEVEL]]]\n");
        return 2;
    }
    if (pipe(fds) != 0) {
        return 1;
    }
    child = fork();
    if (child == 0) {
        close(fds[0]);
        run_receiver(fds[1]);
    }
    close(fds[1]);
    from_child = fdopen(fds[0], "r");
    if (child < 0 || fscanf(from_child, "%d", &port) != 1) {
        fprintf(stderr, "output_bench: the receiver did not start\n");
        return 1;
    }

    lf_log_set_level(LF_LOG_WARN);
    if (load_config(port, workers, level, &config, &doc) != 0) {
        kill(child, SIGTERM);
        return 1;
    }
    s.loop = uv_default_loop();
    s.total = total;
    s.events = lf_calloc(EVENT_SET, sizeof(*s.events));
    for (unsigned i = 0; i < EVENT_SET; i++) {
        build_event(&s.events[i], i);
    }
    callbacks.arg = &s;
    callbacks.on_result = on_result;
    callbacks.on_ready = on_ready;
    if (lf_es_output_new(s.loop, &config, &callbacks, &s.output) != 0) {
        fprintf(stderr, "output_bench: starting the output failed\n");
        kill(child, SIGTERM);
        return 1;
    }
    uv_idle_init(s.loop, &s.idle);
    s.idle.data = &s;

    getrusage(RUSAGE_SELF, &before);
    clock_gettime(CLOCK_MONOTONIC, &start);
    uv_idle_start(&s.idle, on_idle);
    uv_run(s.loop, UV_RUN_DEFAULT);
    clock_gettime(CLOCK_MONOTONIC, &stop);
    getrusage(RUSAGE_SELF, &after);

    kill(child, SIGTERM);
    if (fscanf(from_child, "%" SCNu64 " %" SCNu64, &received, &requests) != 2) {
        fprintf(stderr, "output_bench: no count from the receiver\n");
    }
    waitpid(child, NULL, 0);
    fclose(from_child);

    cpu_s = seconds_of(after.ru_utime) - seconds_of(before.ru_utime) +
            seconds_of(after.ru_stime) - seconds_of(before.ru_stime);
    wall_s = (double)(stop.tv_sec - start.tv_sec) +
             (double)(stop.tv_nsec - start.tv_nsec) / 1e9;
    printf("events %" PRIu64 " workers %d level %d: received %" PRIu64
           " in %" PRIu64 " requests, %.1f MB as sent\n"
           "cpu %.2f s (user %.2f + sys %.2f): %.0f events per CPU second\n"
           "wall %.2f s: %.0f events/s\n",
           total, workers, level, received, requests,
           (double)s.stats.bytes_sent / 1e6, cpu_s,
           seconds_of(after.ru_utime) - seconds_of(before.ru_utime),
           seconds_of(after.ru_stime) - seconds_of(before.ru_stime),
           (double)total / cpu_s, wall_s, (double)total / wall_s);

    for (unsigned i = 0; i < EVENT_SET; i++) {
        lf_event_cleanup(&s.events[i]);
    }
    lf_free(s.events);
    lf_es_config_cleanup(&config);
    lf_conf_free(doc);
    if (received != total || s.not_indexed != 0) {
        fprintf(stderr,
                "output_bench: %" PRIu64 " of %" PRIu64
                " events received, %" PRIu64 " not indexed\n",
                received, total, s.not_indexed);
        return 1;
    }
    return 0;
}
