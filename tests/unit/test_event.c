/*
 * Event storage: set, replace, remove, typed values and the arena that
 * keeps derived strings stable until reset.
 */
#include "lf/event.h"
#include "lf_test.h"

static void test_event_set_replace_remove(void)
{
    struct lf_event ev;
    const struct lf_value *v;

    lf_event_init(&ev);
    lf_event_set_str(&ev, "log.level", "info", 4);
    lf_event_set_int(&ev, "http.response.status_code", 200);
    lf_event_set_str(&ev, "log.level", "error", 5);
    LF_CHECK_INT_EQ(ev.field_count, 2);

    v = lf_event_get(&ev, "log.level");
    LF_CHECK(v != NULL && v->type == LF_VALUE_STRING);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "error");
    }
    v = lf_event_get(&ev, "http.response.status_code");
    LF_CHECK(v != NULL && v->type == LF_VALUE_INT);
    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.i, 200);
    }

    LF_CHECK(lf_event_remove(&ev, "log.level"));
    LF_CHECK(!lf_event_remove(&ev, "log.level"));
    LF_CHECK(lf_event_get(&ev, "log.level") == NULL);
    LF_CHECK_INT_EQ(ev.field_count, 1);
    lf_event_cleanup(&ev);
}

static void test_event_many_fields(void)
{
    static const char *keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    struct lf_event ev;

    lf_event_init(&ev);
    for (int round = 0; round < 10; round++) {
        for (size_t i = 0; i < 8; i++) {
            lf_event_set_int(&ev, keys[i], (int64_t)(round * 10 + (int)i));
        }
    }
    LF_CHECK_INT_EQ(ev.field_count, 8);
    LF_CHECK_INT_EQ(lf_event_get(&ev, "h")->u.i, 97);
    lf_event_cleanup(&ev);
}

static void test_event_arena_stable_until_reset(void)
{
    struct lf_event ev;
    const char *small;
    const char *copies[200];
    char big[10000];

    lf_event_init(&ev);
    small = lf_event_copy_str(&ev, "hello", 5);
    memset(big, 'z', sizeof(big));
    /* Fill several blocks and one oversized block. */
    for (int i = 0; i < 200; i++) {
        copies[i] = lf_event_copy_str(&ev, "0123456789abcdef0123456789", 26);
    }
    LF_CHECK(lf_event_copy_str(&ev, big, sizeof(big)) != NULL);
    LF_CHECK_STR_EQ(small, "hello");
    for (int i = 0; i < 200; i++) {
        LF_CHECK_STR_EQ(copies[i], "0123456789abcdef0123456789");
    }

    lf_event_reset(&ev);
    LF_CHECK_INT_EQ(ev.field_count, 0);
    LF_CHECK_STR_EQ(lf_event_copy_str(&ev, "again", 5), "again");
    lf_event_cleanup(&ev);
}

int main(void)
{
    LF_RUN(test_event_set_replace_remove);
    LF_RUN(test_event_many_fields);
    LF_RUN(test_event_arena_stable_until_reset);
    return lf_test_end();
}
