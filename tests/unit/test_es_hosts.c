/*
 * Tests of host selection: round robin over live hosts, skip intervals
 * that double from backoff.init up to backoff.max, and the choice when
 * every host is down.
 */
#include "outputs/elasticsearch/es_output_private.h"
#include "lf/mem.h"

#include <string.h>

#include "lf_test.h"

enum { INIT_MS = 20, MAX_MS = 80 };

struct hosts_fixture {
    uv_loop_t loop;
    struct lf_es_config config;
    struct lf_es_output output;
    const char *urls[3];
};

static void fixture_init(struct hosts_fixture *f)
{
    memset(f, 0, sizeof(*f));
    uv_loop_init(&f->loop);
    f->urls[0] = "http://127.0.0.1:1";
    f->urls[1] = "http://127.0.0.1:2";
    f->urls[2] = "http://127.0.0.1:3";
    f->config.hosts = f->urls;
    f->config.host_count = 3;
    f->config.backoff_init_ms = INIT_MS;
    f->config.backoff_max_ms = MAX_MS;
    f->output.loop = &f->loop;
    f->output.config = &f->config;
    lf_es_hosts_init(&f->output);
}

static void fixture_cleanup(struct hosts_fixture *f)
{
    lf_es_hosts_cleanup(&f->output);
    uv_loop_close(&f->loop);
}

/* Lets `ms` of loop time pass. */
static void advance(struct hosts_fixture *f, unsigned ms)
{
    uv_sleep(ms);
    uv_update_time(&f->loop);
}

static void check_picks(struct hosts_fixture *f, const size_t *expected,
                        size_t count)
{
    for (size_t i = 0; i < count; i++) {
        LF_CHECK_INT_EQ(lf_es_hosts_pick(&f->output), expected[i]);
    }
}

static void test_es_hosts_round_robin(void)
{
    static const size_t order[] = {0, 1, 2, 0, 1, 2};
    struct hosts_fixture f;

    fixture_init(&f);
    check_picks(&f, order, LF_ARRAY_SIZE(order));
    fixture_cleanup(&f);
}

static void test_es_hosts_skips_down_host(void)
{
    static const size_t without_1[] = {2, 0, 2, 0};
    static const size_t with_1[] = {1, 2, 0, 1};
    struct hosts_fixture f;
    uint64_t interval = 0;

    fixture_init(&f);
    LF_CHECK_INT_EQ(lf_es_hosts_pick(&f.output), 0);
    LF_CHECK_INT_EQ(lf_es_hosts_pick(&f.output), 1);
    LF_CHECK(lf_es_hosts_mark_down(&f.output, 1, &interval));
    LF_CHECK(interval >= INIT_MS / 2 && interval <= INIT_MS);
    check_picks(&f, without_1, LF_ARRAY_SIZE(without_1));

    /* A second failure of a host already down extends nothing. */
    LF_CHECK(lf_es_hosts_mark_down(&f.output, 1, &interval));
    LF_CHECK_INT_EQ(interval, 0);

    /* Once its interval is over, host 1 is next in turn again. */
    advance(&f, INIT_MS + 5);
    check_picks(&f, with_1, LF_ARRAY_SIZE(with_1));
    fixture_cleanup(&f);
}

static void test_es_hosts_interval_doubles_to_max(void)
{
    static const uint64_t upper[] = {INIT_MS, 2 * INIT_MS, MAX_MS, MAX_MS};
    struct hosts_fixture f;
    uint64_t interval = 0;

    fixture_init(&f);
    for (size_t i = 0; i < LF_ARRAY_SIZE(upper); i++) {
        LF_CHECK(lf_es_hosts_mark_down(&f.output, 0, &interval));
        LF_CHECK(interval >= upper[i] / 2);
        LF_CHECK(interval <= upper[i]);
        advance(&f, (unsigned)interval + 2);
    }

    /* A response resets the count, so the next interval starts again. */
    lf_es_hosts_mark_up(&f.output, 0);
    LF_CHECK(lf_es_hosts_mark_down(&f.output, 0, &interval));
    LF_CHECK(interval >= INIT_MS / 2 && interval <= INIT_MS);
    fixture_cleanup(&f);
}

static void test_es_hosts_all_down(void)
{
    struct hosts_fixture f;
    uint64_t interval = 0;

    fixture_init(&f);
    /* Host 2 fails three times, so its interval is at least 2 * INIT_MS. */
    for (int i = 0; i < 3; i++) {
        LF_CHECK(lf_es_hosts_mark_down(&f.output, 2, &interval));
        advance(&f, (unsigned)interval + 2);
    }
    LF_CHECK(lf_es_hosts_mark_down(&f.output, 2, &interval));
    LF_CHECK(interval >= 2 * INIT_MS);
    LF_CHECK(lf_es_hosts_mark_down(&f.output, 1, &interval));
    LF_CHECK(!lf_es_hosts_mark_down(&f.output, 0, &interval));

    /* Hosts 0 and 1 end their intervals first, in some order. */
    for (int i = 0; i < 3; i++) {
        size_t host = lf_es_hosts_pick(&f.output);

        LF_CHECK(host == 0 || host == 1);
    }
    fixture_cleanup(&f);
}

int main(void)
{
    LF_RUN(test_es_hosts_round_robin);
    LF_RUN(test_es_hosts_skips_down_host);
    LF_RUN(test_es_hosts_interval_doubles_to_max);
    LF_RUN(test_es_hosts_all_down);
    return lf_test_end();
}
