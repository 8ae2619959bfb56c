/*
 * PutLogEvents batch rules: every limit at its edge and one past it, the
 * time window and size policies, sorting, and the mapping of
 * rejectedLogEventsInfo back to entries.
 */
#include "outputs/cloudwatch/cw_batch.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#define HOUR_MS (3600 * 1000LL)
#define DAY_MS (24 * HOUR_MS)

/* 2026-03-02T12:00:00Z, the fixed "now" of these tests. */
#define NOW_MS 1772452800000LL

#define MAX_BATCHES 64

struct batch_list {
    struct lf_cw_batch *batches[MAX_BATCHES];
    size_t count;
};

static struct lf_cw_batcher *new_batcher(const struct lf_cw_batch_options *o)
{
    char err[256] = "";
    struct lf_cw_batcher *b = lf_cw_batcher_new(o, err, sizeof(err));

    if (b == NULL) {
        LF_FAIL_AT("lf_cw_batcher_new failed: %s", err);
    }
    return b;
}

static struct lf_cw_batcher *default_batcher(void)
{
    struct lf_cw_batch_options o;

    lf_cw_batch_options_init(&o);
    return new_batcher(&o);
}

static enum lf_cw_add_result add(struct lf_cw_batcher *b, int64_t ts,
                                 const char *msg, size_t len, uint64_t ticket)
{
    struct lf_cw_event_ref ref = {NULL, ticket};
    enum lf_cw_add_result result = LF_CW_ADD_DROPPED;

    LF_CHECK_INT_EQ(lf_cw_batcher_add(b, ts, msg, len, ref, NOW_MS, &result),
                    0);
    return result;
}

/* Adds `count` events of `len` copies of `fill`, one millisecond apart. */
static void add_many(struct lf_cw_batcher *b, int64_t ts, size_t count,
                     size_t len, char fill, uint64_t first_ticket)
{
    char *msg = lf_malloc(len + 1);

    memset(msg, fill, len);
    for (size_t i = 0; i < count; i++) {
        add(b, ts + (int64_t)i, msg, len, first_ticket + i);
    }
    lf_free(msg);
}

static void take_all(struct lf_cw_batcher *b, struct batch_list *list)
{
    struct lf_cw_batch *batch;

    list->count = 0;
    while ((batch = lf_cw_batcher_take(b)) != NULL) {
        if (list->count == MAX_BATCHES) {
            LF_FAIL_AT("more than %d batches", MAX_BATCHES);
            lf_cw_batch_free(batch);
            continue;
        }
        list->batches[list->count++] = batch;
    }
}

static void free_all(struct batch_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        lf_cw_batch_free(list->batches[i]);
    }
    list->count = 0;
}

/* Checks a batch against the service's rules, recomputing its size. */
static void check_batch_rules(const struct lf_cw_batch *batch)
{
    size_t bytes = 0;

    LF_CHECK(batch->count >= 1);
    LF_CHECK(batch->count <= LF_CW_MAX_BATCH_EVENTS);
    for (size_t i = 0; i < batch->count; i++) {
        const struct lf_cw_entry *e = &batch->entries[i];

        bytes += strlen(e->message) + LF_CW_EVENT_OVERHEAD_BYTES;
        LF_CHECK_INT_EQ(strlen(e->message), e->message_len);
        LF_CHECK(e->message_len >= LF_CW_MIN_MESSAGE_BYTES);
        if (i > 0 && e->timestamp_ms < batch->entries[i - 1].timestamp_ms) {
            LF_FAIL_AT("entry %zu is older than entry %zu", i, i - 1);
        }
    }
    LF_CHECK_INT_EQ(batch->size_bytes, bytes);
    LF_CHECK(bytes <= LF_CW_MAX_BATCH_BYTES);
    LF_CHECK(batch->last_timestamp_ms - batch->first_timestamp_ms <=
             LF_CW_MAX_BATCH_SPAN_MS);
}

static void test_cw_batch_bytes_at_limit(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;
    size_t half = LF_CW_MAX_BATCH_BYTES / 2 - LF_CW_EVENT_OVERHEAD_BYTES;

    /* Two events of exactly half the limit each fill one batch. */
    add_many(b, NOW_MS, 2, half, 'a', 0);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    LF_CHECK_INT_EQ(list.batches[0]->count, 2);
    LF_CHECK_INT_EQ(list.batches[0]->size_bytes, LF_CW_MAX_BATCH_BYTES);
    free_all(&list);

    /* One byte more and the second event needs its own batch. */
    add_many(b, NOW_MS, 2, half + 1, 'a', 0);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 2);
    LF_CHECK_INT_EQ(list.batches[0]->count, 1);
    LF_CHECK_INT_EQ(list.batches[1]->count, 1);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_overhead_counted(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;
    size_t fit = LF_CW_MAX_BATCH_BYTES / (100 + LF_CW_EVENT_OVERHEAD_BYTES);

    /* 8322 events of 100 bytes: 8322 * 126 = 1,048,572 bytes. */
    add_many(b, NOW_MS, fit + 1, 100, 'x', 0);
    take_all(b, &list);
    LF_CHECK_INT_EQ(fit, 8322);
    LF_CHECK_INT_EQ(list.count, 2);
    LF_CHECK_INT_EQ(list.batches[0]->count, fit);
    LF_CHECK_INT_EQ(list.batches[0]->size_bytes, 1048572);
    LF_CHECK_INT_EQ(list.batches[1]->count, 1);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_count_at_limit(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;

    add_many(b, NOW_MS, LF_CW_MAX_BATCH_EVENTS, 1, 'a', 0);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    LF_CHECK_INT_EQ(list.batches[0]->count, LF_CW_MAX_BATCH_EVENTS);
    free_all(&list);

    add_many(b, NOW_MS, LF_CW_MAX_BATCH_EVENTS + 1, 1, 'a', 0);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 2);
    LF_CHECK_INT_EQ(list.batches[0]->count, LF_CW_MAX_BATCH_EVENTS);
    LF_CHECK_INT_EQ(list.batches[1]->count, 1);
    LF_CHECK_INT_EQ(list.batches[1]->entries[0].ref.ticket,
                    LF_CW_MAX_BATCH_EVENTS);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_span_at_limit(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;
    int64_t start = NOW_MS - 2 * DAY_MS;

    add(b, start, "a", 1, 1);
    add(b, start + LF_CW_MAX_BATCH_SPAN_MS, "b", 1, 2);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    LF_CHECK_INT_EQ(list.batches[0]->count, 2);
    free_all(&list);

    add(b, start, "a", 1, 1);
    add(b, start + LF_CW_MAX_BATCH_SPAN_MS + 1, "b", 1, 2);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 2);
    LF_CHECK_INT_EQ(list.batches[0]->entries[0].ref.ticket, 1);
    LF_CHECK_INT_EQ(list.batches[1]->entries[0].ref.ticket, 2);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_too_old_edge(void)
{
    struct lf_cw_batcher *b = default_batcher();
    int64_t edge = NOW_MS - LF_CW_MAX_EVENT_AGE_MS;

    LF_CHECK_INT_EQ(add(b, edge, "ok", 2, 1), LF_CW_ADD_QUEUED);
    LF_CHECK_INT_EQ(add(b, edge - 1, "old", 3, 2), LF_CW_ADD_DROPPED);
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->too_old_dropped, 1);
    LF_CHECK_INT_EQ(lf_cw_batcher_pending(b), 1);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_too_new_edge(void)
{
    struct lf_cw_batcher *b = default_batcher();
    int64_t edge = NOW_MS + LF_CW_MAX_EVENT_AHEAD_MS;

    LF_CHECK_INT_EQ(add(b, edge, "ok", 2, 1), LF_CW_ADD_QUEUED);
    LF_CHECK_INT_EQ(add(b, edge + 1, "new", 3, 2), LF_CW_ADD_DROPPED);
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->too_new_dropped, 1);
    LF_CHECK_INT_EQ(lf_cw_batcher_pending(b), 1);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_clamp_window(void)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    struct batch_list list;

    lf_cw_batch_options_init(&o);
    o.out_of_window = LF_CW_OUT_OF_WINDOW_CLAMP;
    b = new_batcher(&o);
    LF_CHECK_INT_EQ(add(b, NOW_MS - LF_CW_MAX_EVENT_AGE_MS - 1, "old", 3, 1),
                    LF_CW_ADD_QUEUED);
    LF_CHECK_INT_EQ(add(b, NOW_MS + LF_CW_MAX_EVENT_AHEAD_MS + 1, "new", 3, 2),
                    LF_CW_ADD_QUEUED);
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->too_old_clamped, 1);
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->too_new_clamped, 1);

    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 2);
    if (list.count == 2) {
        const struct lf_cw_entry *old = &list.batches[0]->entries[0];
        const struct lf_cw_entry *new = &list.batches[1]->entries[0];

        LF_CHECK_INT_EQ(old->timestamp_ms, NOW_MS - LF_CW_MAX_EVENT_AGE_MS +
                                               LF_CW_CLAMP_MARGIN_MS);
        LF_CHECK(old->clamped);
        LF_CHECK_INT_EQ(new->timestamp_ms, NOW_MS);
        LF_CHECK(new->clamped);
    }
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_event_size_edge(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;
    size_t max_message = LF_CW_MAX_EVENT_BYTES - LF_CW_EVENT_OVERHEAD_BYTES;

    add_many(b, NOW_MS, 1, max_message, 'a', 1);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    LF_CHECK_INT_EQ(list.batches[0]->count, 1);
    LF_CHECK_INT_EQ(list.batches[0]->entries[0].message_len, max_message);
    LF_CHECK_INT_EQ(list.batches[0]->entries[0].part_count, 1);
    LF_CHECK_INT_EQ(list.batches[0]->size_bytes, LF_CW_MAX_BATCH_BYTES);
    free_all(&list);

    add_many(b, NOW_MS, 1, max_message + 1, 'a', 2);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 2);
    if (list.count == 2) {
        LF_CHECK_INT_EQ(list.batches[0]->entries[0].message_len, max_message);
        LF_CHECK_INT_EQ(list.batches[0]->entries[0].part, 1);
        LF_CHECK_INT_EQ(list.batches[0]->entries[0].part_count, 2);
        LF_CHECK_INT_EQ(list.batches[1]->entries[0].message_len, 1);
        LF_CHECK_INT_EQ(list.batches[1]->entries[0].part, 2);
        LF_CHECK_INT_EQ(list.batches[1]->entries[0].ref.ticket, 2);
    }
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->split_events, 1);
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->split_parts, 2);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static bool is_valid_utf8_euros(const char *s, size_t len)
{
    if (len % 3 != 0) {
        return false;
    }
    for (size_t i = 0; i < len; i += 3) {
        if (memcmp(s + i, "\xe2\x82\xac", 3) != 0) {
            return false;
        }
    }
    return true;
}

static void test_cw_batch_split_utf8_boundary(void)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    struct batch_list list;
    char msg[3 * 20];

    lf_cw_batch_options_init(&o);
    o.max_event_bytes = LF_CW_EVENT_OVERHEAD_BYTES + 10;
    b = new_batcher(&o);
    for (size_t i = 0; i < 20; i++) {
        memcpy(msg + 3 * i, "\xe2\x82\xac", 3);
    }
    add(b, NOW_MS, msg, sizeof(msg), 7);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    if (list.count == 1) {
        const struct lf_cw_batch *batch = list.batches[0];

        /* 60 bytes in parts of at most 10 bytes: 3 characters each. */
        LF_CHECK_INT_EQ(batch->count, 7);
        for (size_t i = 0; i < batch->count; i++) {
            const struct lf_cw_entry *e = &batch->entries[i];

            LF_CHECK_INT_EQ(e->message_len, i < 6 ? 9 : 6);
            LF_CHECK(is_valid_utf8_euros(e->message, e->message_len));
            LF_CHECK_INT_EQ(e->part, i + 1);
            LF_CHECK_INT_EQ(e->part_count, 7);
            LF_CHECK_INT_EQ(e->ref.ticket, 7);
        }
    }
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_truncate_marker(void)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    struct batch_list list;
    char msg[3 * 20];

    lf_cw_batch_options_init(&o);
    o.max_event_bytes = LF_CW_EVENT_OVERHEAD_BYTES + 20;
    o.large_event = LF_CW_LARGE_EVENT_TRUNCATE;
    o.truncate_marker = "...";
    b = new_batcher(&o);
    for (size_t i = 0; i < 20; i++) {
        memcpy(msg + 3 * i, "\xe2\x82\xac", 3);
    }
    add(b, NOW_MS, msg, sizeof(msg), 1);
    add(b, NOW_MS, msg, 18, 2);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    if (list.count == 1) {
        const struct lf_cw_batch *batch = list.batches[0];

        /* 20 - 3 marker bytes leaves 17: five whole characters, 15. */
        LF_CHECK_INT_EQ(batch->count, 2);
        LF_CHECK_MEM_EQ(batch->entries[0].message,
                        batch->entries[0].message_len,
                        "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                        "\xe2\x82\xac...");
        LF_CHECK(batch->entries[0].truncated);
        LF_CHECK_INT_EQ(batch->entries[1].message_len, 18);
        LF_CHECK(!batch->entries[1].truncated);
    }
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->truncated, 1);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_empty_message(void)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;

    LF_CHECK_INT_EQ(add(b, NOW_MS, "", 0, 1), LF_CW_ADD_DROPPED);
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->empty_dropped, 1);
    LF_CHECK_INT_EQ(lf_cw_batcher_pending(b), 0);
    LF_CHECK(lf_cw_batcher_take(b) == NULL);
    lf_cw_batcher_free(b);

    lf_cw_batch_options_init(&o);
    o.empty_message = LF_CW_EMPTY_MESSAGE_PLACEHOLDER;
    o.empty_placeholder = "(empty)";
    b = new_batcher(&o);
    LF_CHECK_INT_EQ(add(b, NOW_MS, "", 0, 1), LF_CW_ADD_QUEUED);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    if (list.count == 1) {
        LF_CHECK_STR_EQ(list.batches[0]->entries[0].message, "(empty)");
    }
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->empty_replaced, 1);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_invalid_utf8_replaced(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;
    /* A stray continuation byte, an overlong '/', a surrogate, and a
     * sequence cut short at the end. */
    static const char msg[] = "a\x80"
                              "b\xc0\xaf"
                              "c\xed\xa0\x80"
                              "d\xe2\x82";

    add(b, NOW_MS, msg, sizeof(msg) - 1, 1);
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 1);
    if (list.count == 1) {
        const struct lf_cw_entry *e = &list.batches[0]->entries[0];

        LF_CHECK_STR_EQ(e->message, "a\xef\xbf\xbd"
                                    "b\xef\xbf\xbd\xef\xbf\xbd"
                                    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                    "d\xef\xbf\xbd\xef\xbf\xbd");
        LF_CHECK_INT_EQ(list.batches[0]->size_bytes,
                        e->message_len + LF_CW_EVENT_OVERHEAD_BYTES);
    }
    LF_CHECK_INT_EQ(lf_cw_batcher_stats(b)->invalid_utf8, 1);
    free_all(&list);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_sort_is_stable(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct lf_cw_batch *batch;
    static const int64_t offsets[] = {5, 1, 3, 1, 5, 0};
    static const uint64_t expected[] = {6, 2, 4, 3, 1, 5};

    for (size_t i = 0; i < 6; i++) {
        add(b, NOW_MS + offsets[i], "m", 1, i + 1);
    }
    batch = lf_cw_batcher_take(b);
    LF_CHECK(batch != NULL);
    if (batch != NULL) {
        LF_CHECK_INT_EQ(batch->count, 6);
        for (size_t i = 0; i < 6 && i < batch->count; i++) {
            LF_CHECK_INT_EQ(batch->entries[i].ref.ticket, expected[i]);
        }
    }
    lf_cw_batch_free(batch);
    lf_cw_batcher_free(b);
}

/* Events added after a take are sorted in among the ones still pending. */
static void test_cw_batch_sort_after_take(void)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    struct lf_cw_batch *batch;
    static const uint64_t expected[3][3] = {{1, 2, 3}, {6, 4, 8}, {7, 5, 0}};

    lf_cw_batch_options_init(&o);
    o.max_batch_events = 3;
    b = new_batcher(&o);
    for (uint64_t i = 1; i <= 5; i++) {
        add(b, NOW_MS + 10 * (int64_t)i, "m", 1, i);
    }
    batch = lf_cw_batcher_take(b);
    LF_CHECK(batch != NULL);
    for (size_t i = 0; batch != NULL && i < 3; i++) {
        LF_CHECK_INT_EQ(batch->entries[i].ref.ticket, expected[0][i]);
    }
    lf_cw_batch_free(batch);

    add(b, NOW_MS + 15, "m", 1, 6);
    add(b, NOW_MS + 45, "m", 1, 7);
    add(b, NOW_MS + 40, "m", 1, 8);
    for (size_t k = 1; k < 3; k++) {
        batch = lf_cw_batcher_take(b);
        LF_CHECK(batch != NULL);
        if (batch == NULL) {
            break;
        }
        LF_CHECK_INT_EQ(batch->count, k == 1 ? 3 : 2);
        for (size_t i = 0; i < batch->count; i++) {
            LF_CHECK_INT_EQ(batch->entries[i].ref.ticket, expected[k][i]);
        }
        lf_cw_batch_free(batch);
    }
    LF_CHECK(lf_cw_batcher_take(b) == NULL);
    lf_cw_batcher_free(b);
}

static uint32_t next_random(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

static bool entry_before(const struct lf_cw_entry *a,
                         const struct lf_cw_entry *b)
{
    return a->timestamp_ms < b->timestamp_ms ||
           (a->timestamp_ms == b->timestamp_ms &&
            a->ref.ticket < b->ref.ticket);
}

/*
 * Adds and takes in random turns. Every batch is sorted with ties in
 * addition order, batches taken with no add in between continue each
 * other's order, and every event comes out exactly once.
 */
static void test_cw_batch_random_add_take(void)
{
    enum { EVENTS = 5000 };
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    uint32_t state = 12345;
    unsigned char *seen = lf_calloc(EVENTS, 1);
    struct lf_cw_entry last = {0};
    bool have_last = false;
    uint64_t ticket = 0;
    size_t taken = 0;

    lf_cw_batch_options_init(&o);
    o.max_batch_events = 7;
    b = new_batcher(&o);
    while (ticket < EVENTS || lf_cw_batcher_pending(b) > 0) {
        uint32_t adds = ticket < EVENTS ? next_random(&state) % 20 : 0;
        uint32_t takes = next_random(&state) % 4;

        for (uint32_t i = 0; i < adds && ticket < EVENTS; i++) {
            int64_t ts = NOW_MS - (int64_t)(next_random(&state) % 50);

            add(b, ts, "m", 1, ticket++);
            have_last = false;
        }
        for (uint32_t t = 0; t < takes || ticket == EVENTS; t++) {
            struct lf_cw_batch *batch = lf_cw_batcher_take(b);

            if (batch == NULL) {
                break;
            }
            for (size_t i = 0; i < batch->count; i++) {
                const struct lf_cw_entry *e = &batch->entries[i];

                if (have_last && entry_before(e, &last)) {
                    LF_FAIL_AT("ticket %" PRIu64 " out of order",
                               e->ref.ticket);
                }
                LF_CHECK_INT_EQ(seen[e->ref.ticket], 0);
                seen[e->ref.ticket] = 1;
                last = *e;
                have_last = true;
                taken++;
            }
            lf_cw_batch_free(batch);
        }
    }
    LF_CHECK_INT_EQ(taken, EVENTS);
    lf_free(seen);
    lf_cw_batcher_free(b);
}

/*
 * Events from four files merged into one stream, with one file out of
 * order and one spanning 29 hours. Every batch is in timestamp order,
 * ties in read order, and spans at most 24 hours. So the events 30 h and
 * 1 h old go in different batches.
 */
static void test_cw_batch_merged_files_order(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct batch_list list;
    int64_t ten = NOW_MS - 2 * HOUR_MS; /* 10:00:00.000 */
    struct {
        int64_t ts;
        uint64_t seq;
    } reads[] = {
        {ten, 1},                   /* a.log */
        {ten + 2000, 3},            /* a.log */
        {ten + 1000, 2},            /* b.log */
        {ten + 3000, 4},            /* b.log */
        {ten + 5000, 6},            /* c.log */
        {ten + 4000, 5},            /* c.log */
        {NOW_MS - 30 * HOUR_MS, 7}, /* d.log */
        {NOW_MS - HOUR_MS, 8},      /* d.log */
    };
    static const uint64_t second[] = {1, 2, 3, 4, 5, 6, 8};

    for (size_t i = 0; i < 8; i++) {
        add(b, reads[i].ts, "line", 4, reads[i].seq);
    }
    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 2);
    if (list.count == 2) {
        LF_CHECK_INT_EQ(list.batches[0]->count, 1);
        LF_CHECK_INT_EQ(list.batches[0]->entries[0].ref.ticket, 7);
        LF_CHECK_INT_EQ(list.batches[1]->count, 7);
        for (size_t i = 0; i < 7 && i < list.batches[1]->count; i++) {
            LF_CHECK_INT_EQ(list.batches[1]->entries[i].ref.ticket, second[i]);
        }
        check_batch_rules(list.batches[0]);
        check_batch_rules(list.batches[1]);
    }
    free_all(&list);
    lf_cw_batcher_free(b);
}

/*
 * Large and many events under the older 256 KiB event limit: 5,000
 * events of 250 bytes, 12,000 of 10, 2,000 of 200 euro signs (600 bytes)
 * and one of 400 KiB, truncated at a character boundary.
 */
static void test_cw_batch_size_and_count_mix(void)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    struct batch_list list;
    size_t big_len = 400 * 1024;
    char *big = lf_malloc(big_len);
    char euros[600];
    size_t total = 0;
    static const size_t expected_counts[] = {3799, 10000, 4691, 511};

    lf_cw_batch_options_init(&o);
    o.max_event_bytes = 262144;
    o.large_event = LF_CW_LARGE_EVENT_TRUNCATE;
    b = new_batcher(&o);
    for (size_t i = 0; i < 200; i++) {
        memcpy(euros + 3 * i, "\xe2\x82\xac", 3);
    }
    /* 'x' then euro signs, so no multiple of 3 is a boundary. */
    big[0] = 'x';
    for (size_t i = 1; i + 3 <= big_len; i += 3) {
        memcpy(big + i, "\xe2\x82\xac", 3);
    }

    add_many(b, NOW_MS - 60000, 5000, 250, 'a', 0);
    add_many(b, NOW_MS - 50000, 12000, 10, 'b', 5000);
    for (size_t i = 0; i < 2000; i++) {
        add(b, NOW_MS - 30000 + (int64_t)i, euros, sizeof(euros), 17000 + i);
    }
    add(b, NOW_MS, big, big_len, 19000);

    take_all(b, &list);
    LF_CHECK_INT_EQ(list.count, 4);
    for (size_t i = 0; i < list.count; i++) {
        check_batch_rules(list.batches[i]);
        LF_CHECK_INT_EQ(list.batches[i]->count, expected_counts[i]);
        total += list.batches[i]->count;
    }
    LF_CHECK_INT_EQ(total, 19001);
    if (list.count == 4) {
        const struct lf_cw_batch *last = list.batches[3];
        const struct lf_cw_entry *e = &last->entries[last->count - 1];
        size_t marker_len = strlen(LF_CW_TRUNCATE_MARKER);
        size_t kept = e->message_len - marker_len;

        LF_CHECK_INT_EQ(e->ref.ticket, 19000);
        LF_CHECK(e->truncated);
        LF_CHECK(e->message_len + LF_CW_EVENT_OVERHEAD_BYTES <= 262144);
        LF_CHECK_INT_EQ(kept % 3, 1);
        LF_CHECK_INT_EQ(kept, 262144 - 26 - marker_len - 2);
        LF_CHECK_INT_EQ(memcmp(e->message, big, kept), 0);
        LF_CHECK_STR_EQ(e->message + kept, LF_CW_TRUNCATE_MARKER);
    }
    free_all(&list);
    lf_free(big);
    lf_cw_batcher_free(b);
}

static struct lf_cw_batch *batch_of(struct lf_cw_batcher *b, size_t count)
{
    add_many(b, NOW_MS, count, 3, 'e', 0);
    return lf_cw_batcher_take(b);
}

static void test_cw_batch_map_rejected(void)
{
    struct lf_cw_batcher *b = default_batcher();
    struct lf_cw_batch *batch = batch_of(b, 5);
    enum lf_cw_event_status st[5];
    struct lf_cw_rejected_info info = {4, 1, -1};

    LF_CHECK_INT_EQ(lf_cw_batch_map_rejected(batch, &info, st), 2);
    LF_CHECK_INT_EQ(st[0], LF_CW_EVENT_TOO_OLD);
    LF_CHECK_INT_EQ(st[1], LF_CW_EVENT_ACCEPTED);
    LF_CHECK_INT_EQ(st[3], LF_CW_EVENT_ACCEPTED);
    LF_CHECK_INT_EQ(st[4], LF_CW_EVENT_TOO_NEW);

    info = (struct lf_cw_rejected_info){-1, 3, 2};
    LF_CHECK_INT_EQ(lf_cw_batch_map_rejected(batch, &info, st), 3);
    LF_CHECK_INT_EQ(st[0], LF_CW_EVENT_EXPIRED);
    LF_CHECK_INT_EQ(st[1], LF_CW_EVENT_EXPIRED);
    LF_CHECK_INT_EQ(st[2], LF_CW_EVENT_TOO_OLD);
    LF_CHECK_INT_EQ(st[3], LF_CW_EVENT_ACCEPTED);
    LF_CHECK_INT_EQ(st[4], LF_CW_EVENT_ACCEPTED);

    /* Index 5 is the end of a 5-entry batch: valid, names no entry. */
    info = (struct lf_cw_rejected_info){5, 5, -1};
    LF_CHECK_INT_EQ(lf_cw_batch_map_rejected(batch, &info, st), 5);
    LF_CHECK_INT_EQ(st[4], LF_CW_EVENT_TOO_OLD);

    info = (struct lf_cw_rejected_info){-1, 6, -1};
    LF_CHECK_INT_EQ(lf_cw_batch_map_rejected(batch, &info, st), LF_EPROTO);
    LF_CHECK_INT_EQ(st[0], LF_CW_EVENT_ACCEPTED);
    info = (struct lf_cw_rejected_info){-2, -1, -1};
    LF_CHECK_INT_EQ(lf_cw_batch_map_rejected(batch, &info, st), LF_EPROTO);
    lf_cw_batch_free(batch);
    lf_cw_batcher_free(b);
}

static void test_cw_batch_options_rejected(void)
{
    struct lf_cw_batch_options o;
    char err[256] = "";

    lf_cw_batch_options_init(&o);
    o.max_event_bytes = 29;
    LF_CHECK(lf_cw_batcher_new(&o, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, "max_event_bytes 29 is too small: set at least 30 "
                         "(26 bytes of overhead plus one 4-byte character)");

    lf_cw_batch_options_init(&o);
    o.max_batch_bytes = 1000;
    LF_CHECK(lf_cw_batcher_new(&o, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, "max_batch_bytes 1000 is smaller than "
                         "max_event_bytes 1048576: a batch must hold the "
                         "largest event");

    lf_cw_batch_options_init(&o);
    o.max_batch_events = 0;
    LF_CHECK(lf_cw_batcher_new(&o, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, "max_batch_events 0 is invalid: set 1 or more");

    lf_cw_batch_options_init(&o);
    o.max_batch_span_ms = -1;
    LF_CHECK(lf_cw_batcher_new(&o, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, "max_batch_span_ms -1 is invalid: set 0 or more");

    lf_cw_batch_options_init(&o);
    o.clamp_margin_ms = o.max_event_age_ms;
    LF_CHECK(lf_cw_batcher_new(&o, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, "clamp_margin_ms 1209600000 is invalid: set it "
                         "between 0 and max_event_age_ms (1209600000) minus 1");

    lf_cw_batch_options_init(&o);
    o.large_event = LF_CW_LARGE_EVENT_TRUNCATE;
    o.max_event_bytes = 40;
    LF_CHECK(lf_cw_batcher_new(&o, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, "truncate marker is missing or too long for "
                         "max_event_bytes 40: it must leave room for one "
                         "4-byte character");
}

int main(void)
{
    LF_RUN(test_cw_batch_bytes_at_limit);
    LF_RUN(test_cw_batch_overhead_counted);
    LF_RUN(test_cw_batch_count_at_limit);
    LF_RUN(test_cw_batch_span_at_limit);
    LF_RUN(test_cw_batch_too_old_edge);
    LF_RUN(test_cw_batch_too_new_edge);
    LF_RUN(test_cw_batch_clamp_window);
    LF_RUN(test_cw_batch_event_size_edge);
    LF_RUN(test_cw_batch_split_utf8_boundary);
    LF_RUN(test_cw_batch_truncate_marker);
    LF_RUN(test_cw_batch_empty_message);
    LF_RUN(test_cw_batch_invalid_utf8_replaced);
    LF_RUN(test_cw_batch_sort_is_stable);
    LF_RUN(test_cw_batch_sort_after_take);
    LF_RUN(test_cw_batch_random_add_take);
    LF_RUN(test_cw_batch_merged_files_order);
    LF_RUN(test_cw_batch_size_and_count_mix);
    LF_RUN(test_cw_batch_map_rejected);
    LF_RUN(test_cw_batch_options_rejected);
    return lf_test_end();
}
