/*
 * Ordered acknowledgement: the committed offset moves only over a prefix
 * of resolved events, whatever order results arrive in.
 */
#include "agent/pipeline/ack.h"
#include "lf_test.h"

static void test_ack_in_order(void)
{
    struct lf_ack_tracker t;
    uint64_t a;
    uint64_t b;

    lf_ack_tracker_init(&t, 10);
    a = lf_ack_tracker_track(&t, 20);
    b = lf_ack_tracker_track(&t, 35);
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 2);
    LF_CHECK(lf_ack_tracker_resolve(&t, a));
    LF_CHECK_INT_EQ(t.committed, 20);
    LF_CHECK(lf_ack_tracker_resolve(&t, b));
    LF_CHECK_INT_EQ(t.committed, 35);
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 0);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_out_of_order(void)
{
    struct lf_ack_tracker t;
    uint64_t tickets[3];

    lf_ack_tracker_init(&t, 0);
    tickets[0] = lf_ack_tracker_track(&t, 5);
    tickets[1] = lf_ack_tracker_track(&t, 9);
    tickets[2] = lf_ack_tracker_track(&t, 14);

    LF_CHECK(!lf_ack_tracker_resolve(&t, tickets[2]));
    LF_CHECK_INT_EQ(t.committed, 0);
    LF_CHECK(!lf_ack_tracker_resolve(&t, tickets[1]));
    LF_CHECK_INT_EQ(t.committed, 0);
    LF_CHECK(lf_ack_tracker_resolve(&t, tickets[0]));
    LF_CHECK_INT_EQ(t.committed, 14);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_ignores_double_resolve(void)
{
    struct lf_ack_tracker t;
    uint64_t a;
    uint64_t b;

    lf_ack_tracker_init(&t, 0);
    a = lf_ack_tracker_track(&t, 5);
    b = lf_ack_tracker_track(&t, 9);
    LF_CHECK(!lf_ack_tracker_resolve(&t, b));
    LF_CHECK(!lf_ack_tracker_resolve(&t, b));
    LF_CHECK(!lf_ack_tracker_resolve(&t, 77));
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 1);
    LF_CHECK(lf_ack_tracker_resolve(&t, a));
    LF_CHECK(!lf_ack_tracker_resolve(&t, a));
    LF_CHECK_INT_EQ(t.committed, 9);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_grows_ring(void)
{
    struct lf_ack_tracker t;
    uint64_t first;

    /* Resolve in reverse across several ring growths. */
    lf_ack_tracker_init(&t, 0);
    first = lf_ack_tracker_track(&t, 1);
    for (uint64_t i = 2; i <= 1000; i++) {
        lf_ack_tracker_track(&t, i);
    }
    for (uint64_t ticket = first + 999; ticket > first; ticket--) {
        LF_CHECK(!lf_ack_tracker_resolve(&t, ticket));
    }
    LF_CHECK_INT_EQ(t.committed, 0);
    LF_CHECK(lf_ack_tracker_resolve(&t, first));
    LF_CHECK_INT_EQ(t.committed, 1000);
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 0);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_wraps_ring(void)
{
    struct lf_ack_tracker t;

    /* Many more events than the ring holds, few pending at a time. */
    lf_ack_tracker_init(&t, 0);
    for (uint64_t i = 1; i <= 10000; i++) {
        uint64_t ticket = lf_ack_tracker_track(&t, i * 10);
        LF_CHECK(lf_ack_tracker_resolve(&t, ticket));
    }
    LF_CHECK_INT_EQ(t.committed, 100000);
    LF_CHECK_INT_EQ(t.ring_cap, 64);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_untrack_newest(void)
{
    struct lf_ack_tracker t;
    uint64_t a;
    uint64_t b;

    lf_ack_tracker_init(&t, 0);
    a = lf_ack_tracker_track(&t, 5);
    b = lf_ack_tracker_track(&t, 9);
    lf_ack_tracker_untrack_from(&t, b);
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 1);
    LF_CHECK(lf_ack_tracker_resolve(&t, a));
    LF_CHECK_INT_EQ(t.committed, 5);
    b = lf_ack_tracker_track(&t, 12);
    LF_CHECK(lf_ack_tracker_resolve(&t, b));
    LF_CHECK_INT_EQ(t.committed, 12);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_resolved_run_stays_small(void)
{
    struct lf_ack_tracker t;
    uint64_t held;

    /*
     * One event waits while a long run behind it is resolved, as spooled
     * events are behind a batch held by a stalled output.
     */
    lf_ack_tracker_init(&t, 0);
    held = lf_ack_tracker_track(&t, 100);
    for (uint64_t i = 2; i <= 100000; i++) {
        uint64_t ticket = lf_ack_tracker_track(&t, i * 100);
        LF_CHECK(!lf_ack_tracker_resolve(&t, ticket));
    }
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 1);
    LF_CHECK_INT_EQ(t.committed, 0);
    LF_CHECK_INT_EQ(t.ring_cap, 64);
    LF_CHECK(lf_ack_tracker_resolve(&t, held));
    LF_CHECK_INT_EQ(t.committed, 10000000);
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 0);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_waiting_among_resolved(void)
{
    struct lf_ack_tracker t;
    uint64_t waiting[3];
    uint64_t n = 0;

    /* Every 1,000th event waits; the committed offset stops before it. */
    lf_ack_tracker_init(&t, 7);
    for (uint64_t i = 1; i <= 3000; i++) {
        uint64_t ticket = lf_ack_tracker_track(&t, 7 + i * 10);

        if (i % 1000 == 1) {
            waiting[n++] = ticket;
        } else {
            lf_ack_tracker_resolve(&t, ticket);
        }
    }
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 3);
    LF_CHECK_INT_EQ(t.committed, 7);
    LF_CHECK(!lf_ack_tracker_resolve(&t, waiting[1]));
    LF_CHECK_INT_EQ(t.committed, 7);
    LF_CHECK(lf_ack_tracker_resolve(&t, waiting[0]));
    LF_CHECK_INT_EQ(t.committed, 7 + 2000 * 10);
    LF_CHECK(!lf_ack_tracker_resolve(&t, waiting[1]));
    LF_CHECK(lf_ack_tracker_resolve(&t, waiting[2]));
    LF_CHECK_INT_EQ(t.committed, 7 + 3000 * 10);
    LF_CHECK(t.ring_cap <= 128);
    lf_ack_tracker_cleanup(&t);
}

static void test_ack_untrack_after_compaction(void)
{
    struct lf_ack_tracker t;
    uint64_t held;
    uint64_t newest;

    lf_ack_tracker_init(&t, 0);
    held = lf_ack_tracker_track(&t, 10);
    for (uint64_t i = 2; i <= 500; i++) {
        lf_ack_tracker_resolve(&t, lf_ack_tracker_track(&t, i * 10));
    }
    newest = lf_ack_tracker_track(&t, 5010);
    lf_ack_tracker_untrack_from(&t, newest);
    LF_CHECK_INT_EQ(lf_ack_tracker_pending(&t), 1);
    newest = lf_ack_tracker_track(&t, 5020);
    LF_CHECK(lf_ack_tracker_resolve(&t, held));
    LF_CHECK_INT_EQ(t.committed, 5000);
    LF_CHECK(lf_ack_tracker_resolve(&t, newest));
    LF_CHECK_INT_EQ(t.committed, 5020);
    lf_ack_tracker_cleanup(&t);
}

/* The oldest time is the head's, whatever order the results come in. */
static void test_ack_oldest_time(void)
{
    struct lf_ack_tracker t;
    uint64_t tickets[4];
    uint64_t time_ms = 0;

    lf_ack_tracker_init(&t, 0);
    LF_CHECK(!lf_ack_tracker_oldest_time(&t, &time_ms));
    tickets[0] = lf_ack_tracker_track_at(&t, 5, 100);
    tickets[1] = lf_ack_tracker_track_at(&t, 9, 200);
    tickets[2] = lf_ack_tracker_track_at(&t, 14, 300);
    LF_CHECK(lf_ack_tracker_oldest_time(&t, &time_ms));
    LF_CHECK_INT_EQ(time_ms, 100);

    lf_ack_tracker_resolve(&t, tickets[1]);
    LF_CHECK(lf_ack_tracker_oldest_time(&t, &time_ms));
    LF_CHECK_INT_EQ(time_ms, 100);
    lf_ack_tracker_resolve(&t, tickets[0]);
    LF_CHECK(lf_ack_tracker_oldest_time(&t, &time_ms));
    LF_CHECK_INT_EQ(time_ms, 300);

    /* A filtered line is tracked without a time and resolved at once. */
    tickets[3] = lf_ack_tracker_track(&t, 20);
    lf_ack_tracker_resolve(&t, tickets[3]);
    LF_CHECK(lf_ack_tracker_oldest_time(&t, &time_ms));
    LF_CHECK_INT_EQ(time_ms, 300);
    lf_ack_tracker_resolve(&t, tickets[2]);
    LF_CHECK(!lf_ack_tracker_oldest_time(&t, &time_ms));
    LF_CHECK_INT_EQ(t.committed, 20);
    lf_ack_tracker_cleanup(&t);
}

int main(void)
{
    LF_RUN(test_ack_in_order);
    LF_RUN(test_ack_out_of_order);
    LF_RUN(test_ack_ignores_double_resolve);
    LF_RUN(test_ack_grows_ring);
    LF_RUN(test_ack_wraps_ring);
    LF_RUN(test_ack_untrack_newest);
    LF_RUN(test_ack_resolved_run_stays_small);
    LF_RUN(test_ack_waiting_among_resolved);
    LF_RUN(test_ack_untrack_after_compaction);
    LF_RUN(test_ack_oldest_time);
    return lf_test_end();
}
