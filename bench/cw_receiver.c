/*
 * A CloudWatch Logs receiver for throughput runs. It replies 200 `{}` to
 * every POST and counts the PutLogEvents events of each body, and
 * `GET /count` returns {"requests":N,"events":N,"bytes":N}. It checks
 * neither signatures nor limits. tests/standin/cwl_standin.py does, but
 * is too slow to measure logferry at full speed, so this receiver is for
 * bench/cw_throughput.py only.
 *
 * Usage: cw_receiver PORT_FILE   (listens on 127.0.0.1, a free port)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define READ_CHUNK 65536

struct client {
    int fd;
    char *buf;
    size_t len;
    size_t cap;
};

static uint64_t total_requests;
static uint64_t total_events;
static uint64_t total_bytes;

static const char event_key[] = "{\"timestamp\":";

static uint64_t count_events(const char *body, size_t len)
{
    uint64_t n = 0;
    const char *p = body;
    const char *end = body + len;

    while ((p = memmem(p, (size_t)(end - p), event_key,
                       sizeof(event_key) - 1)) != NULL) {
        n++;
        p += sizeof(event_key) - 1;
    }
    return n;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes the reply with one write(), so Nagle's algorithm does not hold
 * a second segment back until the client's delayed ACK. */
static int reply(int fd, const char *body)
{
    char out[512];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/x-amz-json-1.1\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(body), body);

    return write_all(fd, out, (size_t)n);
}

/* Returns the Content-Length of the header block, 0 when absent. */
static size_t content_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    size_t n = sizeof(name) - 1;

    for (size_t i = 0; i + n <= len; i++) {
        if (strncasecmp(head + i, name, n) == 0) {
            return (size_t)strtoull(head + i + n, NULL, 10);
        }
    }
    return 0;
}

/* Handles every complete request in the buffer; -1 closes the client. */
static int handle(struct client *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        size_t head_len;
        size_t body_len;
        char count[128];

        if (end == NULL) {
            return 0;
        }
        head_len = (size_t)(end - c->buf) + 4;
        body_len = content_length(c->buf, head_len);
        if (c->len < head_len + body_len) {
            return 0;
        }
        if (strncmp(c->buf, "GET /count", 10) == 0) {
            snprintf(count, sizeof(count),
                     "{\"requests\":%" PRIu64 ",\"events\":%" PRIu64
                     ",\"bytes\":%" PRIu64 "}",
                     total_requests, total_events, total_bytes);
            if (reply(c->fd, count) != 0) {
                return -1;
            }
        } else {
            total_requests++;
            total_bytes += body_len;
            total_events += count_events(c->buf + head_len, body_len);
            if (reply(c->fd, "{}") != 0) {
                return -1;
            }
        }
        memmove(c->buf, c->buf + head_len + body_len,
                c->len - head_len - body_len);
        c->len -= head_len + body_len;
    }
}

static int read_client(struct client *c)
{
    ssize_t n;

    if (c->cap - c->len < READ_CHUNK) {
        c->cap = c->cap * 2 + READ_CHUNK;
        c->buf = realloc(c->buf, c->cap);
        if (c->buf == NULL) {
            perror("cw_receiver: realloc");
            exit(1);
        }
    }
    n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n <= 0) {
        return -1;
    }
    c->len += (size_t)n;
    return handle(c);
}

static int listen_loopback(const char *port_file)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof(addr);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FILE *f;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("cw_receiver: listen");
        exit(1);
    }
    f = fopen(port_file, "w");
    if (f == NULL) {
        perror("cw_receiver: port file");
        exit(1);
    }
    fprintf(f, "%d\n", ntohs(addr.sin_port));
    fclose(f);
    return fd;
}

int main(int argc, char **argv)
{
    struct pollfd fds[MAX_CLIENTS + 1];
    struct client clients[MAX_CLIENTS];
    size_t count = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: cw_receiver PORT_FILE\n");
        return 2;
    }
    fds[0].fd = listen_loopback(argv[1]);
    fds[0].events = POLLIN;
    for (;;) {
        for (size_t i = 0; i < count; i++) {
            fds[i + 1].fd = clients[i].fd;
            fds[i + 1].events = POLLIN;
        }
        if (poll(fds, count + 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("cw_receiver: poll");
            return 1;
        }
        for (size_t i = count; i > 0; i--) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (read_client(&clients[i - 1]) != 0) {
                close(clients[i - 1].fd);
                free(clients[i - 1].buf);
                clients[i - 1] = clients[--count];
            }
        }
        if ((fds[0].revents & POLLIN) && count < MAX_CLIENTS) {
            int fd = accept(fds[0].fd, NULL, NULL);

            if (fd >= 0) {
                memset(&clients[count], 0, sizeof(clients[count]));
                clients[count++].fd = fd;
            }
        }
    }
}
