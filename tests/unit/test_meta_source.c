/*
 * Tests of the EC2 and ECS task metadata sources on a real libuv loop,
 * against tests/standin/aws_metadata_standin.py started on 127.0.0.1 for
 * each test. The stand-in appends every request it receives to a log file,
 * which the tests compare line by line.
 */
#include "agent/metadata/ec2_meta.h"
#include "agent/metadata/ecs_task_meta.h"
#include "agent/metadata/meta_source.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Maximum wait for the stand-in to listen or for a fetch to end. */
enum { TEST_WAIT_MS = 20000 };

#define ECS_PATH "/v4/4f8b0ac7-9a50-4f1c-bb13-6a3f5c1e7e8a"

struct standin {
    pid_t pid;
    char dir[64];     /* scratch folder: port file and request log */
    char url[64];     /* "http://127.0.0.1:PORT" */
    char log[128];    /* request log path */
};

struct fixture {
    uv_loop_t loop;
    struct lf_meta_source *src;
    bool ready;
    bool closed;
    bool ready_inside_start; /* ready ran before lf_meta_source_start()
                                returned */
    bool starting;
};

/* Stand-in process */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void append_path(char *out, size_t len, const char *dir,
                        const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/*
 * Starts the stand-in with `args` (NULL-terminated) after the common ones
 * and waits until it listens. Returns 0, or -1 after failing a check.
 */
static int standin_start(struct standin *s, char *const *args)
{
    const char *dir = getenv("LF_STANDIN_DIR");
    char script[512];
    char port_file[128];
    char *argv[32];
    size_t argc = 0;
    int port = 0;

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/lf-meta-test-XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        LF_FAIL_AT("mkdtemp failed: %s", strerror(errno));
        return -1;
    }
    snprintf(script, sizeof(script), "%s/aws_metadata_standin.py",
             dir != NULL ? dir : "tests/standin");
    append_path(port_file, sizeof(port_file), s->dir, "port");
    append_path(s->log, sizeof(s->log), s->dir, "requests.jsonl");

    argv[argc++] = "python3";
    argv[argc++] = script;
    argv[argc++] = "--port-file";
    argv[argc++] = port_file;
    argv[argc++] = "--request-log";
    argv[argc++] = s->log;
    argv[argc++] = "--ecs-path";
    argv[argc++] = ECS_PATH;
    for (size_t i = 0; args[i] != NULL && argc + 1 < LF_ARRAY_SIZE(argv);
         i++) {
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;

    if (posix_spawnp(&s->pid, "python3", NULL, NULL, argv, environ) != 0) {
        LF_FAIL_AT("cannot start the stand-in %s", script);
        return -1;
    }
    for (int waited = 0; waited < TEST_WAIT_MS && port == 0; waited += 20) {
        FILE *f = fopen(port_file, "r");

        if (f != NULL) {
            if (fscanf(f, "%d", &port) != 1) {
                port = 0;
            }
            fclose(f);
        }
        if (port == 0) {
            sleep_ms(20);
        }
    }
    if (port == 0) {
        LF_FAIL_AT("the stand-in did not write %s", port_file);
        return -1;
    }
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", port);
    return 0;
}

static void standin_stop(struct standin *s)
{
    char path[128];
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &status, 0);
    }
    append_path(path, sizeof(path), s->dir, "port");
    unlink(path);
    unlink(s->log);
    rmdir(s->dir);
}

/* Appends the lines of the file at `path` to `out`, sorted. */
static void read_sorted_lines(const char *path, struct lf_buf *out)
{
    char *lines[64];
    size_t count = 0;
    char line[1024];
    FILE *f = fopen(path, "r");

    while (f != NULL && count < LF_ARRAY_SIZE(lines) &&
           fgets(line, sizeof(line), f) != NULL) {
        lines[count++] = lf_strdup(line);
    }
    if (f != NULL) {
        fclose(f);
    }
    for (size_t i = 1; i < count; i++) {
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *tmp = lines[j];

            lines[j] = lines[j - 1];
            lines[j - 1] = tmp;
        }
    }
    lf_buf_append_str(out, "");
    for (size_t i = 0; i < count; i++) {
        lf_buf_append_str(out, lines[i]);
        lf_free(lines[i]);
    }
}

static size_t count_lines(const char *path)
{
    struct lf_buf text;
    size_t count = 0;

    lf_buf_init(&text);
    read_sorted_lines(path, &text);
    for (size_t i = 0; i < text.len; i++) {
        count += text.data[i] == '\n';
    }
    lf_buf_cleanup(&text);
    return count;
}

/* Agent log capture: stderr goes to a file between begin and end. */

struct capture {
    int saved_fd;
    char path[64];
};

static void capture_begin(struct capture *c)
{
    int fd;

    snprintf(c->path, sizeof(c->path), "/tmp/lf-meta-log-XXXXXX");
    fd = mkstemp(c->path);
    fflush(stderr);
    c->saved_fd = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Restores stderr and stores what was written to it in `out`. */
static void capture_end(struct capture *c, struct lf_buf *out)
{
    char chunk[1024];
    FILE *f;
    size_t n;

    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    f = fopen(c->path, "r");
    lf_buf_append_str(out, "");
    while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        lf_buf_append(out, chunk, n);
    }
    if (f != NULL) {
        fclose(f);
    }
    unlink(c->path);
}

/* Returns how many log lines have level `level` ("warn ", "info "). */
static int count_level(const struct lf_buf *log, const char *level)
{
    int count = 0;

    for (const char *p = log->data; (p = strstr(p, level)) != NULL; p++) {
        count++;
    }
    return count;
}

/* Loop */

static void on_watchdog(uv_timer_t *timer)
{
    *(bool *)timer->data = true;
}

/* Runs the loop until `*flag` is true or `limit_ms` pass. */
static void run_until(uv_loop_t *loop, const bool *flag, uint64_t limit_ms)
{
    uv_timer_t watchdog;
    bool expired = false;

    uv_timer_init(loop, &watchdog);
    watchdog.data = &expired;
    uv_timer_start(&watchdog, on_watchdog, limit_ms, 0);
    while ((flag == NULL || !*flag) && !expired) {
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/*
 * The callbacks that set a flag for run_until() also stop the loop, since
 * a flag set from a timer callback would otherwise leave uv_run() blocked
 * in the same iteration until the next event.
 */
static void on_ready(void *arg)
{
    struct fixture *fx = arg;

    fx->ready = true;
    fx->ready_inside_start = fx->starting;
    uv_stop(&fx->loop);
}

static void on_closed(void *arg)
{
    struct fixture *fx = arg;

    fx->closed = true;
    uv_stop(&fx->loop);
}

static void fixture_init(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    uv_loop_init(&fx->loop);
}

/* Starts the source and runs the loop until ready; returns ms taken. */
static uint64_t fixture_start(struct fixture *fx)
{
    uint64_t started;

    uv_update_time(&fx->loop);
    started = uv_now(&fx->loop);
    fx->starting = true;
    LF_CHECK_INT_EQ(lf_meta_source_start(fx->src, on_ready, fx), 0);
    fx->starting = false;
    run_until(&fx->loop, &fx->ready, TEST_WAIT_MS);
    LF_CHECK(fx->ready);
    LF_CHECK(!fx->ready_inside_start);
    return uv_now(&fx->loop) - started;
}

static void fixture_close(struct fixture *fx)
{
    lf_meta_source_close(fx->src, on_closed, fx);
    run_until(&fx->loop, &fx->closed, TEST_WAIT_MS);
    LF_CHECK(fx->closed);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&fx->loop), 0);
}

static const char *value_of(const struct lf_meta_set *set, const char *key)
{
    static char text[512];
    const struct lf_meta_field *field =
        set != NULL ? lf_meta_set_get(set, key) : NULL;

    if (field == NULL) {
        return NULL;
    }
    snprintf(text, sizeof(text), "%.*s", (int)field->values[0].u.str.len,
             field->values[0].u.str.ptr);
    return text;
}

static int new_ec2_source(struct fixture *fx, const char *endpoint,
                          long timeout_ms)
{
    struct lf_ec2_meta_options opts = {endpoint, timeout_ms};
    char errbuf[256] = "";
    int rc = lf_ec2_meta_source_new(&fx->loop, &opts, &fx->src, errbuf,
                                    sizeof(errbuf));

    LF_CHECK_INT_EQ(rc, 0);
    LF_CHECK_STR_EQ(errbuf, "");
    return rc;
}

static void test_ec2_source_fetches_identity(void)
{
    char identity[512];
    char *args[] = {"--identity", identity, NULL};
    struct standin s;
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;
    struct lf_buf requests;
    struct lf_meta_set *set;

    snprintf(identity, sizeof(identity), "%s",
             lf_test_fixture("aws-metadata/ec2-identity-document.json"));
    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    lf_buf_init(&log);
    lf_buf_init(&requests);
    fixture_init(&fx);
    capture_begin(&cap);
    if (new_ec2_source(&fx, s.url, 3000) == 0) {
        fixture_start(&fx);
        set = lf_meta_source_acquire(fx.src);
        LF_CHECK(set != NULL);
        LF_CHECK_INT_EQ(set != NULL ? lf_meta_set_count(set) : 0, 7);
        LF_CHECK_STR_EQ(value_of(set, "cloud.provider"), "aws");
        LF_CHECK_STR_EQ(value_of(set, "cloud.instance.id"),
                        "i-1234567890abcdef0");
        LF_CHECK_STR_EQ(value_of(set, "cloud.availability_zone"),
                        "us-west-2b");
        lf_meta_set_unref(set);
        fixture_close(&fx);
    }
    capture_end(&cap, &log);
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 0);

    read_sorted_lines(s.log, &requests);
    LF_CHECK_STR_EQ(requests.data,
                    "{\"method\": \"GET\", \"path\": \"/latest/dynamic/"
                    "instance-identity/document\", \"status\": 200, "
                    "\"token\": \"valid\", \"ttl\": null}\n"
                    "{\"method\": \"PUT\", \"path\": \"/latest/api/token\", "
                    "\"status\": 200, \"token\": null, \"ttl\": \"60\"}\n");
    lf_buf_cleanup(&requests);
    lf_buf_cleanup(&log);
    standin_stop(&s);
}

static void test_ec2_source_ignores_proxy_env(void)
{
    char identity[512];
    char *args[] = {"--identity", identity, NULL};
    struct standin s;
    struct fixture fx;
    struct lf_meta_set *set;

    snprintf(identity, sizeof(identity), "%s",
             lf_test_fixture("aws-metadata/ec2-identity-document.json"));
    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    /* Nothing listens on the discard port, so a proxied request fails. */
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    fixture_init(&fx);
    if (new_ec2_source(&fx, s.url, 3000) == 0) {
        fixture_start(&fx);
        set = lf_meta_source_acquire(fx.src);
        LF_CHECK_STR_EQ(value_of(set, "cloud.instance.id"),
                        "i-1234567890abcdef0");
        lf_meta_set_unref(set);
        fixture_close(&fx);
    }
    unsetenv("http_proxy");
    LF_CHECK_INT_EQ(count_lines(s.log), 2);
    standin_stop(&s);
}

static void test_ec2_source_endpoint_from_env(void)
{
    char identity[512];
    char *args[] = {"--identity", identity, NULL};
    struct standin s;
    struct fixture fx;
    struct lf_meta_set *set;

    snprintf(identity, sizeof(identity), "%s",
             lf_test_fixture("aws-metadata/ec2-identity-document.json"));
    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    setenv(LF_EC2_META_ENDPOINT_ENV, s.url, 1);
    fixture_init(&fx);
    if (new_ec2_source(&fx, NULL, 3000) == 0) {
        fixture_start(&fx);
        set = lf_meta_source_acquire(fx.src);
        LF_CHECK_STR_EQ(value_of(set, "cloud.account.id"), "111122223333");
        lf_meta_set_unref(set);
        fixture_close(&fx);
    }
    unsetenv(LF_EC2_META_ENDPOINT_ENV);
    LF_CHECK_INT_EQ(count_lines(s.log), 2);
    standin_stop(&s);
}

/* Runs an EC2 source that must fail; checks it warns once with `detail`. */
static void check_ec2_failure(const char *endpoint, long timeout_ms,
                              const char *detail, uint64_t max_ms)
{
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;
    uint64_t took = 0;

    lf_buf_init(&log);
    fixture_init(&fx);
    capture_begin(&cap);
    if (new_ec2_source(&fx, endpoint, timeout_ms) == 0) {
        took = fixture_start(&fx);
        LF_CHECK(lf_meta_source_acquire(fx.src) == NULL);
        fixture_close(&fx);
    }
    capture_end(&cap, &log);
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 1);
    if (strstr(log.data, detail) == NULL) {
        LF_FAIL_AT("log \"%s\" lacks \"%s\"", log.data, detail);
    }
    if (took > max_ms) {
        LF_FAIL_AT("ready after %llu ms, expected at most %llu",
                   (unsigned long long)took, (unsigned long long)max_ms);
    }
    lf_buf_cleanup(&log);
}

static void test_ec2_source_token_rejected(void)
{
    char *args[] = {"--status", "/latest/api/token=403", NULL};
    struct lf_buf expected;
    struct standin s;

    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    lf_buf_init(&expected);
    lf_buf_appendf(&expected,
                   "add_cloud_metadata: metadata fetch failed: PUT "
                   "%s/latest/api/token returned HTTP status 403 (EPROTO); "
                   "events get no fields from it host=%s\n",
                   s.url, s.url);
    check_ec2_failure(s.url, 3000, expected.data, TEST_WAIT_MS);
    LF_CHECK_INT_EQ(count_lines(s.log), 1);
    lf_buf_cleanup(&expected);
    standin_stop(&s);
}

static void test_ec2_source_identity_unauthorized_without_token(void)
{
    char *args[] = {"--status",
                          "/latest/dynamic/instance-identity/document=401",
                          NULL};
    struct lf_buf expected;
    struct standin s;

    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    lf_buf_init(&expected);
    lf_buf_appendf(&expected,
                   "GET %s/latest/dynamic/instance-identity/document "
                   "returned HTTP status 401 (EPROTO)",
                   s.url);
    check_ec2_failure(s.url, 3000, expected.data, TEST_WAIT_MS);
    LF_CHECK_INT_EQ(count_lines(s.log), 2);
    lf_buf_cleanup(&expected);
    standin_stop(&s);
}

static void test_ec2_source_timeout_bounds_start(void)
{
    char *args[] = {"--delay", "/latest/api/token=10", NULL};
    struct standin s;

    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    /* A 500 ms timeout, plus up to 1.5 s for a loaded test machine. */
    check_ec2_failure(s.url, 500, "(ETIMEDOUT)", 2000);
    standin_stop(&s);
}

static void test_ec2_source_connection_refused(void)
{
    struct sockaddr_in addr;
    uv_loop_t loop;
    uv_tcp_t tcp;
    char endpoint[64];
    int len = sizeof(addr);

    /* Bind a port and close it again, so that nothing listens there. */
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &tcp);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&tcp, (const struct sockaddr *)&addr, 0);
    uv_tcp_getsockname(&tcp, (struct sockaddr *)&addr, &len);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d",
             ntohs(addr.sin_port));

    check_ec2_failure(endpoint, 3000, "(ECONNREFUSED)", TEST_WAIT_MS);
}

static void test_ec2_source_rejects_bad_endpoint(void)
{
    struct lf_ec2_meta_options opts = {"ftp://127.0.0.1", 0};
    struct lf_meta_source *src = NULL;
    char errbuf[256] = "";
    uv_loop_t loop;

    uv_loop_init(&loop);
    LF_CHECK_INT_EQ(lf_ec2_meta_source_new(&loop, &opts, &src, errbuf,
                                           sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK(src == NULL);
    LF_CHECK_STR_EQ(errbuf, "invalid endpoint \"ftp://127.0.0.1\": expected "
                            "http://HOST[:PORT] or https://HOST[:PORT]");
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);
}

static int new_ecs_source(struct fixture *fx, const char *uri,
                          uint64_t refresh_ms)
{
    struct lf_ecs_task_meta_options opts = {uri, refresh_ms};
    char errbuf[256] = "";
    int rc = lf_ecs_task_meta_source_new(&fx->loop, &opts, &fx->src, errbuf,
                                         sizeof(errbuf));

    LF_CHECK_INT_EQ(rc, 0);
    LF_CHECK_STR_EQ(errbuf, "");
    return rc;
}

static int start_ecs_standin(struct standin *s, char *uri, size_t uri_len,
                             bool with_task)
{
    char task[512];
    char container[512];
    char *args[] = {"--container", container, "--task", task, NULL};

    snprintf(task, sizeof(task), "%s",
             lf_test_fixture("aws-metadata/ecs-v4-fargate-task.json"));
    snprintf(container, sizeof(container), "%s",
             lf_test_fixture("aws-metadata/ecs-v4-fargate-container.json"));
    if (!with_task) {
        args[2] = NULL;
    }
    if (standin_start(s, args) != 0) {
        return -1;
    }
    snprintf(uri, uri_len, "%s%s", s->url, ECS_PATH);
    return 0;
}

static void test_ecs_source_fetches_task_and_container(void)
{
    struct standin s;
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;
    struct lf_buf requests;
    struct lf_meta_set *set;
    char uri[128];

    if (start_ecs_standin(&s, uri, sizeof(uri), true) != 0) {
        standin_stop(&s);
        return;
    }
    lf_buf_init(&log);
    lf_buf_init(&requests);
    fixture_init(&fx);
    capture_begin(&cap);
    if (new_ecs_source(&fx, uri, 0) == 0) {
        fixture_start(&fx);
        set = lf_meta_source_acquire(fx.src);
        LF_CHECK_INT_EQ(set != NULL ? lf_meta_set_count(set) : 0, 18);
        LF_CHECK_STR_EQ(value_of(set, "aws.ecs.task.family"), "curltest");
        LF_CHECK_STR_EQ(value_of(set, "aws.ecs.task.revision"), "3");
        LF_CHECK_STR_EQ(value_of(set, "orchestrator.cluster.name"),
                        "default");
        LF_CHECK_STR_EQ(value_of(set, "container.name"), "curl");
        LF_CHECK_STR_EQ(value_of(set, "cloud.availability_zone"),
                        "us-west-2d");
        lf_meta_set_unref(set);
        fixture_close(&fx);
    }
    capture_end(&cap, &log);
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 0);

    read_sorted_lines(s.log, &requests);
    LF_CHECK_STR_EQ(requests.data,
                    "{\"method\": \"GET\", \"path\": \"" ECS_PATH "\", "
                    "\"status\": 200, \"token\": null, \"ttl\": null}\n"
                    "{\"method\": \"GET\", \"path\": \"" ECS_PATH "/task\", "
                    "\"status\": 200, \"token\": null, \"ttl\": null}\n");
    lf_buf_cleanup(&requests);
    lf_buf_cleanup(&log);
    standin_stop(&s);
}

static void test_ecs_source_refreshes_set(void)
{
    struct standin s;
    struct fixture fx;
    struct lf_meta_set *first;
    struct lf_meta_set *later;
    char uri[128];

    if (start_ecs_standin(&s, uri, sizeof(uri), true) != 0) {
        standin_stop(&s);
        return;
    }
    fixture_init(&fx);
    if (new_ecs_source(&fx, uri, 100) == 0) {
        fixture_start(&fx);
        first = lf_meta_source_acquire(fx.src);
        LF_CHECK(first != NULL);
        run_until(&fx.loop, NULL, 1000);
        later = lf_meta_source_acquire(fx.src);
        LF_CHECK(later != NULL);
        LF_CHECK(later != first);
        LF_CHECK_STR_EQ(value_of(later, "aws.ecs.task.arn"),
                        "arn:aws:ecs:us-west-2:111122223333:task/default/"
                        "e9028f8d5d8e4f258373e7b93ce9a3c5");
        /* The replaced set stays valid for the holder of a reference. */
        LF_CHECK_STR_EQ(value_of(first, "container.name"), "curl");
        lf_meta_set_unref(first);
        lf_meta_set_unref(later);
        fixture_close(&fx);
    }
    if (count_lines(s.log) < 4) {
        LF_FAIL_AT("%zu requests in 1.1 s with a 100 ms refresh interval, "
                   "expected at least 4",
                   count_lines(s.log));
    }
    standin_stop(&s);
}

static void test_ecs_source_task_not_found(void)
{
    struct standin s;
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;
    struct lf_buf expected;
    char uri[128];

    if (start_ecs_standin(&s, uri, sizeof(uri), false) != 0) {
        standin_stop(&s);
        return;
    }
    lf_buf_init(&log);
    lf_buf_init(&expected);
    fixture_init(&fx);
    capture_begin(&cap);
    if (new_ecs_source(&fx, uri, 0) == 0) {
        fixture_start(&fx);
        LF_CHECK(lf_meta_source_acquire(fx.src) == NULL);
        fixture_close(&fx);
    }
    capture_end(&cap, &log);
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 1);
    lf_buf_appendf(&expected,
                   "add_ecs_task_metadata: metadata fetch failed: GET "
                   "%s/task returned HTTP status 404 (EPROTO)",
                   uri);
    if (strstr(log.data, expected.data) == NULL) {
        LF_FAIL_AT("log \"%s\" lacks \"%s\"", log.data, expected.data);
    }
    lf_buf_cleanup(&expected);
    lf_buf_cleanup(&log);
    standin_stop(&s);
}

static void test_ecs_source_without_uri(void)
{
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;

    unsetenv(LF_ECS_TASK_META_URI_ENV);
    lf_buf_init(&log);
    fixture_init(&fx);
    capture_begin(&cap);
    if (new_ecs_source(&fx, NULL, 0) == 0) {
        fixture_start(&fx);
        LF_CHECK(lf_meta_source_acquire(fx.src) == NULL);
        fixture_close(&fx);
    }
    capture_end(&cap, &log);
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 1);
    if (strstr(log.data, "add_ecs_task_metadata: "
                         "ECS_CONTAINER_METADATA_URI_V4 is not set, so no "
                         "task metadata endpoint is known; events get no "
                         "fields from it\n") == NULL) {
        LF_FAIL_AT("unexpected log \"%s\"", log.data);
    }
    lf_buf_cleanup(&log);
}

static void test_meta_source_close_during_fetch(void)
{
    char *args[] = {"--delay", "/latest/api/token=10", NULL};
    struct standin s;
    struct fixture fx;

    if (standin_start(&s, args) != 0) {
        standin_stop(&s);
        return;
    }
    fixture_init(&fx);
    if (new_ec2_source(&fx, s.url, 5000) == 0) {
        LF_CHECK_INT_EQ(lf_meta_source_start(fx.src, on_ready, &fx), 0);
        /* Let the token request reach the stand-in, then close. */
        run_until(&fx.loop, NULL, 200);
        fixture_close(&fx);
        LF_CHECK(!fx.ready);
    }
    standin_stop(&s);
}

/* Scripted fetcher, for the source's own logic without a network. */

enum { FAKE_SYNC_FAILURE = 1 }; /* script entry: fetch() returns an error */

struct fake_fetcher {
    uv_timer_t timer;            /* delivers the scripted result */
    struct lf_meta_source *src;
    const int *script;           /* per fetch: 0, FAKE_SYNC_FAILURE, or a
                                    negative code reported through done */
    const char *const *regions;  /* cloud.region of each successful fetch */
    size_t script_len;
    size_t fetches;              /* fetch() calls so far */
    char seen[8][16];            /* cloud.region acquired at each call */
    lf_meta_fetch_done_cb done;
    void *done_arg;
    bool finished;               /* the last script entry was reported */
};

static void on_fake_timer(uv_timer_t *timer)
{
    struct fake_fetcher *fake = timer->data;
    size_t i = fake->fetches - 1;
    struct lf_meta_set *set = NULL;
    lf_meta_fetch_done_cb done = fake->done;

    if (fake->script[i] == 0) {
        struct lf_meta_builder b;

        lf_meta_builder_init(&b);
        lf_meta_builder_add_str(&b, "cloud.region", fake->regions[i],
                                strlen(fake->regions[i]));
        set = lf_meta_builder_finish(&b);
        lf_meta_builder_cleanup(&b);
    }
    fake->finished = i + 1 >= fake->script_len;
    fake->done = NULL;
    done(fake->done_arg, fake->script[i], set, "scripted failure");
    if (fake->finished) {
        uv_stop(timer->loop);
    }
}

static int fake_fetch(void *state, struct lf_http_client *http,
                      long timeout_ms, lf_meta_fetch_done_cb done, void *arg)
{
    struct fake_fetcher *fake = state;
    struct lf_meta_set *current = lf_meta_source_acquire(fake->src);
    size_t i = fake->fetches;

    (void)http;
    (void)timeout_ms;
    LF_CHECK(fake->done == NULL);
    if (i >= fake->script_len) {
        lf_meta_set_unref(current);
        return LF_ESTATE;
    }
    snprintf(fake->seen[i], sizeof(fake->seen[i]), "%.15s",
             current != NULL ? value_of(current, "cloud.region") : "-");
    lf_meta_set_unref(current);
    fake->fetches++;
    if (fake->script[i] == FAKE_SYNC_FAILURE) {
        fake->finished = i + 1 >= fake->script_len;
        return LF_EAGAIN;
    }
    fake->done = done;
    fake->done_arg = arg;
    uv_timer_start(&fake->timer, on_fake_timer, 1, 0);
    return 0;
}

static void fake_free(void *state)
{
    (void)state;
}

static void new_fake_source(struct fixture *fx, struct fake_fetcher *fake,
                            uint64_t refresh_ms)
{
    struct lf_meta_fetcher fetcher = {"fake_metadata", fake, fake_fetch,
                                      fake_free, NULL};
    struct lf_meta_source_options opts = {1000, refresh_ms, NULL};

    uv_timer_init(&fx->loop, &fake->timer);
    fake->timer.data = fake;
    LF_CHECK_INT_EQ(lf_meta_source_new(&fx->loop, &fetcher, &opts,
                                       &fake->src),
                    0);
    fx->src = fake->src;
}

static void close_fake_source(struct fixture *fx, struct fake_fetcher *fake)
{
    lf_meta_source_close(fx->src, on_closed, fx);
    run_until(&fx->loop, &fx->closed, TEST_WAIT_MS);
    LF_CHECK(fx->closed);
    uv_close((uv_handle_t *)&fake->timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&fx->loop), 0);
}

static void test_meta_source_keeps_set_on_failure(void)
{
    static const int script[] = {0, LF_ETIMEDOUT, LF_EPROTO, 0, 0};
    static const char *const regions[] = {"r1", "", "", "r4", "r5"};
    struct fake_fetcher fake = {.script = script,
                                .regions = regions,
                                .script_len = LF_ARRAY_SIZE(script)};
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;
    struct lf_meta_set *set;

    lf_buf_init(&log);
    fixture_init(&fx);
    capture_begin(&cap);
    new_fake_source(&fx, &fake, 10);
    fixture_start(&fx);
    run_until(&fx.loop, &fake.finished, TEST_WAIT_MS);
    set = lf_meta_source_acquire(fx.src);
    LF_CHECK_STR_EQ(value_of(set, "cloud.region"), "r5");
    lf_meta_set_unref(set);
    close_fake_source(&fx, &fake);
    capture_end(&cap, &log);

    LF_CHECK_INT_EQ(fake.fetches, 5);
    LF_CHECK_STR_EQ(fake.seen[0], "-");
    LF_CHECK_STR_EQ(fake.seen[1], "r1");
    LF_CHECK_STR_EQ(fake.seen[2], "r1");
    LF_CHECK_STR_EQ(fake.seen[3], "r1");
    LF_CHECK_STR_EQ(fake.seen[4], "r4");
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 1);
    LF_CHECK_INT_EQ(count_level(&log, " info "), 1);
    if (strstr(log.data, "fake_metadata: metadata fetch failed: scripted "
                         "failure (ETIMEDOUT); keeping the fields of the "
                         "last fetch\n") == NULL ||
        strstr(log.data, "fake_metadata: metadata fetch succeeded after 2 "
                         "failures\n") == NULL) {
        LF_FAIL_AT("unexpected log \"%s\"", log.data);
    }
    lf_buf_cleanup(&log);
}

static void test_meta_source_fetch_start_failure(void)
{
    static const int script[] = {FAKE_SYNC_FAILURE};
    static const char *const regions[] = {""};
    struct fake_fetcher fake = {.script = script,
                                .regions = regions,
                                .script_len = LF_ARRAY_SIZE(script)};
    struct fixture fx;
    struct capture cap;
    struct lf_buf log;

    lf_buf_init(&log);
    fixture_init(&fx);
    capture_begin(&cap);
    new_fake_source(&fx, &fake, 0);
    fixture_start(&fx);
    LF_CHECK(lf_meta_source_acquire(fx.src) == NULL);
    LF_CHECK_INT_EQ(lf_meta_source_start(fx.src, on_ready, &fx), LF_ESTATE);
    close_fake_source(&fx, &fake);
    capture_end(&cap, &log);

    LF_CHECK_INT_EQ(fake.fetches, 1);
    LF_CHECK_INT_EQ(count_level(&log, " warn "), 1);
    if (strstr(log.data, "fake_metadata: metadata fetch failed: could not "
                         "start the request (EAGAIN); events get no fields "
                         "from it\n") == NULL) {
        LF_FAIL_AT("unexpected log \"%s\"", log.data);
    }
    lf_buf_cleanup(&log);
}

int main(void)
{
    LF_RUN(test_ec2_source_fetches_identity);
    LF_RUN(test_ec2_source_endpoint_from_env);
    LF_RUN(test_ec2_source_ignores_proxy_env);
    LF_RUN(test_ec2_source_token_rejected);
    LF_RUN(test_ec2_source_identity_unauthorized_without_token);
    LF_RUN(test_ec2_source_timeout_bounds_start);
    LF_RUN(test_ec2_source_connection_refused);
    LF_RUN(test_ec2_source_rejects_bad_endpoint);
    LF_RUN(test_ecs_source_fetches_task_and_container);
    LF_RUN(test_ecs_source_refreshes_set);
    LF_RUN(test_ecs_source_task_not_found);
    LF_RUN(test_ecs_source_without_uri);
    LF_RUN(test_meta_source_close_during_fetch);
    LF_RUN(test_meta_source_keeps_set_on_failure);
    LF_RUN(test_meta_source_fetch_start_failure);
    return lf_test_end();
}
