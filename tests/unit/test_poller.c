/*
 * Stat polling: which change of a polled folder or open file is reported
 * as which event, that a vanished folder is reported once and dropped,
 * and that an unchanged entry backs off to its maximum interval.
 */
#include "agent/input/poller.h"
#include "lf_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct recorded {
    int events[16];
    void *cookies[16];
    size_t count;
};

static void record(void *arg, enum lf_watch_event event, void *cookie)
{
    struct recorded *r = arg;

    if (r->count < 16) {
        r->events[r->count] = (int)event;
        r->cookies[r->count] = cookie;
    }
    r->count++;
}

static void on_stop(uv_timer_t *timer)
{
    uv_stop(timer->loop);
}

/* Runs the loop for `ms` milliseconds. */
static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t stop;

    uv_timer_init(loop, &stop);
    uv_timer_start(&stop, on_stop, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&stop, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void test_poller_reports_changes(void)
{
    char dir[] = "/tmp/lf-test-poller-XXXXXX";
    char file[128];
    char sub[128];
    struct recorded r = {0};
    int cookie_dir = 0;
    int cookie_file = 0;
    struct lf_poller *poller;
    uv_loop_t loop;
    int fd;

    LF_CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof(file), "%s/app.log", dir);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    LF_CHECK_INT_EQ(mkdir(sub, 0755), 0);
    fd = open(file, O_RDWR | O_CREAT | O_APPEND, 0644);
    LF_CHECK(fd >= 0);
    uv_loop_init(&loop);
    poller = lf_poller_new(&loop, record, &r);

    LF_CHECK(lf_poller_add_dir(poller, sub, 10, 40, &cookie_dir) > 0);
    LF_CHECK_INT_EQ(lf_poller_add_dir(poller, sub, 10, 40, &cookie_dir),
                    1);
    LF_CHECK(lf_poller_has_dir(poller, sub));
    LF_CHECK(lf_poller_add_fd(poller, fd, 10, 40, &cookie_file) > 0);
    LF_CHECK_INT_EQ(lf_poller_count(poller), 2);
    LF_CHECK(lf_poller_add_dir(poller, "/nonexistent/lf", 10, 40, NULL) <
             0);

    run_for(&loop, 100);
    LF_CHECK_INT_EQ(r.count, 0);

    LF_CHECK_INT_EQ(write(fd, "line\n", 5), 5);
    run_for(&loop, 100);
    LF_CHECK_INT_EQ(r.count, 1);
    LF_CHECK_INT_EQ(r.events[0], LF_WATCH_FILE_WRITTEN);
    LF_CHECK(r.cookies[0] == &cookie_file);

    LF_CHECK_INT_EQ(unlink(file), 0);
    run_for(&loop, 100);
    LF_CHECK_INT_EQ(r.count, 2);
    LF_CHECK_INT_EQ(r.events[1], LF_WATCH_FILE_MOVED);

    LF_CHECK_INT_EQ(rmdir(sub), 0);
    run_for(&loop, 100);
    LF_CHECK_INT_EQ(r.count, 3);
    LF_CHECK_INT_EQ(r.events[2], LF_WATCH_DIR_CHANGED);
    LF_CHECK(r.cookies[2] == &cookie_dir);
    LF_CHECK(!lf_poller_has_dir(poller, sub));
    LF_CHECK_INT_EQ(lf_poller_count(poller), 1);

    lf_poller_close(poller);
    uv_run(&loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);
    close(fd);
    rmdir(dir);
}

/*
 * With a 20 ms start and a 160 ms cap, an entry left unchanged for a
 * second is polled after 20, 40, 80 and then every 160 ms: 8 polls, not
 * the 50 of a fixed 20 ms interval. A change is seen by the next poll,
 * at most 160 ms plus the timer slack later, and resets the interval.
 */
static void test_poller_backs_off(void)
{
    char dir[] = "/tmp/lf-test-poller-XXXXXX";
    struct recorded r = {0};
    struct lf_poller *poller;
    uv_loop_t loop;
    char entry[128];
    uint64_t waited = 0;

    LF_CHECK(mkdtemp(dir) != NULL);
    uv_loop_init(&loop);
    poller = lf_poller_new(&loop, record, &r);
    LF_CHECK(lf_poller_add_dir(poller, dir, 20, 160, NULL) > 0);
    run_for(&loop, 1000);
    LF_CHECK_INT_EQ(r.count, 0);
    LF_CHECK(lf_poller_stat_count(poller) >= 6);
    LF_CHECK(lf_poller_stat_count(poller) <= 8);

    snprintf(entry, sizeof(entry), "%s/new", dir);
    LF_CHECK_INT_EQ(mkdir(entry, 0755), 0);
    while (r.count == 0 && waited < 400) {
        run_for(&loop, 5);
        waited += 5;
    }
    LF_CHECK_INT_EQ(r.count, 1);
    LF_CHECK(waited <= 160 + 60);

    /* Back at 20 ms: the next change is seen within 60 ms. */
    LF_CHECK_INT_EQ(rmdir(entry), 0);
    run_for(&loop, 60);
    LF_CHECK_INT_EQ(r.count, 2);

    lf_poller_close(poller);
    uv_run(&loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&loop), 0);
    rmdir(dir);
}

int main(void)
{
    LF_RUN(test_poller_reports_changes);
    LF_RUN(test_poller_backs_off);
    return lf_test_end();
}
