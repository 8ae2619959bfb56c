/*
 * The join of two outputs' results: an event is reported once, after its
 * last result, with the combined result, and the table's size follows the
 * events in flight.
 */
#include "agent/output_join.h"
#include "lf_test.h"

#include <stdlib.h>

static char source_a;
static char source_b;

static struct lf_ack_ref ref_of(void *source, uint64_t ticket)
{
    struct lf_ack_ref ref = {source, ticket};

    return ref;
}

static void test_join_reports_after_both(void)
{
    struct lf_output_join join;
    enum lf_delivery combined = LF_DELIVERY_REJECTED;

    lf_output_join_init(&join);
    lf_output_join_add(&join, ref_of(&source_a, 1), 2);
    LF_CHECK_INT_EQ(lf_output_join_count(&join), 1);
    LF_CHECK(!lf_output_join_settle(&join, ref_of(&source_a, 1),
                                    LF_DELIVERY_INDEXED, &combined));
    LF_CHECK(lf_output_join_settle(&join, ref_of(&source_a, 1),
                                   LF_DELIVERY_DUPLICATE, &combined));
    LF_CHECK_INT_EQ(combined, LF_DELIVERY_INDEXED);
    LF_CHECK_INT_EQ(lf_output_join_count(&join), 0);
    /* A third result for the same ref is not in flight any more. */
    LF_CHECK(!lf_output_join_settle(&join, ref_of(&source_a, 1),
                                    LF_DELIVERY_INDEXED, &combined));
    lf_output_join_cleanup(&join);
}

static void test_join_combines_results(void)
{
    static const struct {
        enum lf_delivery first;
        enum lf_delivery second;
        enum lf_delivery expected;
    } cases[] = {
        {LF_DELIVERY_INDEXED, LF_DELIVERY_INDEXED, LF_DELIVERY_INDEXED},
        {LF_DELIVERY_DUPLICATE, LF_DELIVERY_DUPLICATE, LF_DELIVERY_DUPLICATE},
        {LF_DELIVERY_DUPLICATE, LF_DELIVERY_INDEXED, LF_DELIVERY_INDEXED},
        {LF_DELIVERY_INDEXED, LF_DELIVERY_REJECTED, LF_DELIVERY_REJECTED},
        {LF_DELIVERY_REJECTED, LF_DELIVERY_DUPLICATE, LF_DELIVERY_REJECTED},
    };
    struct lf_output_join join;

    lf_output_join_init(&join);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum lf_delivery combined = LF_DELIVERY_INDEXED;

        lf_output_join_add(&join, ref_of(&source_a, i), 2);
        LF_CHECK(!lf_output_join_settle(&join, ref_of(&source_a, i),
                                        cases[i].first, &combined));
        LF_CHECK(lf_output_join_settle(&join, ref_of(&source_a, i),
                                       cases[i].second, &combined));
        LF_CHECK_INT_EQ(combined, cases[i].expected);
    }
    lf_output_join_cleanup(&join);
}

static void test_join_keys_by_source_and_ticket(void)
{
    struct lf_output_join join;
    enum lf_delivery combined;

    lf_output_join_init(&join);
    lf_output_join_add(&join, ref_of(&source_a, 7), 1);
    lf_output_join_add(&join, ref_of(&source_b, 7), 1);
    LF_CHECK_INT_EQ(lf_output_join_count(&join), 2);
    LF_CHECK(lf_output_join_settle(&join, ref_of(&source_b, 7),
                                   LF_DELIVERY_INDEXED, &combined));
    LF_CHECK_INT_EQ(lf_output_join_count(&join), 1);
    LF_CHECK(lf_output_join_settle(&join, ref_of(&source_a, 7),
                                   LF_DELIVERY_INDEXED, &combined));
    lf_output_join_cleanup(&join);
}

static void test_join_release(void)
{
    struct lf_output_join join;
    enum lf_delivery combined;

    lf_output_join_init(&join);
    lf_output_join_add(&join, ref_of(&source_a, 1), 2);
    lf_output_join_release(&join, ref_of(&source_a, 1), 2);
    LF_CHECK_INT_EQ(lf_output_join_count(&join), 0);
    /* A ref sent again while in flight adds to its count. */
    lf_output_join_add(&join, ref_of(&source_a, 2), 2);
    lf_output_join_add(&join, ref_of(&source_a, 2), 2);
    lf_output_join_release(&join, ref_of(&source_a, 2), 2);
    LF_CHECK_INT_EQ(lf_output_join_count(&join), 1);
    LF_CHECK(!lf_output_join_settle(&join, ref_of(&source_a, 2),
                                    LF_DELIVERY_INDEXED, &combined));
    LF_CHECK(lf_output_join_settle(&join, ref_of(&source_a, 2),
                                   LF_DELIVERY_INDEXED, &combined));
    lf_output_join_cleanup(&join);
}

/*
 * Random adds and settles against an array of expected counts, with many
 * collisions, so that deletions move entries across the end of the
 * table. The table must not grow past twice the largest number of events
 * in flight (rounded up to a power of two).
 */
static void test_join_random_against_model(void)
{
    enum { TICKETS = 1024, IN_FLIGHT = 300, ROUNDS = 200000 };
    static uint32_t owed[TICKETS];
    struct lf_output_join join;
    size_t in_flight = 0;
    uint64_t reported = 0;
    uint64_t added = 0;

    srand(12345);
    lf_output_join_init(&join);
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t ticket = (uint64_t)rand() % TICKETS;
        void *source = ticket % 2 ? &source_a : &source_b;
        enum lf_delivery combined;
        bool last;

        if (owed[ticket] == 0) {
            if (in_flight >= IN_FLIGHT) {
                continue;
            }
            lf_output_join_add(&join, ref_of(source, ticket), 2);
            owed[ticket] = 2;
            in_flight++;
            added++;
            continue;
        }
        last = lf_output_join_settle(&join, ref_of(source, ticket),
                                     LF_DELIVERY_INDEXED, &combined);
        owed[ticket]--;
        if (owed[ticket] == 0) {
            in_flight--;
            reported++;
        }
        if (last != (owed[ticket] == 0)) {
            LF_FAIL_AT("ticket %" PRIu64 ": settle returned %d with %u "
                       "results still owed",
                       ticket, (int)last, owed[ticket]);
            break;
        }
        if (lf_output_join_count(&join) != in_flight) {
            LF_FAIL_AT("count %zu, expected %zu", lf_output_join_count(&join),
                       in_flight);
            break;
        }
    }
    LF_CHECK(reported > 10000);
    LF_CHECK_INT_EQ(added - reported, in_flight);
    LF_CHECK(join.cap <= 1024);
    lf_output_join_cleanup(&join);
}

int main(void)
{
    LF_RUN(test_join_reports_after_both);
    LF_RUN(test_join_combines_results);
    LF_RUN(test_join_keys_by_source_and_ticket);
    LF_RUN(test_join_release);
    LF_RUN(test_join_random_against_model);
    return lf_test_end();
}
