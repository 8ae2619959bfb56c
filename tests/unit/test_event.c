/*
 * Event storage: set, replace, remove, typed values and the arena that
 * keeps derived strings stable until reset.
 */
#include "lf/event.h"
#include "lf/mem.h"

#include <string.h>

#include "lf_test.h"

static void test_event_set_json_borrowed(void)
{
    static const char array[] = "[1,2]";
    struct lf_event ev;
    const struct lf_value *v;

    lf_event_init(&ev);
    lf_event_set_str(&ev, "tags", "x", 1);
    lf_event_set_json(&ev, "tags", array, LF_STRLEN(array));
    LF_CHECK_INT_EQ(ev.field_count, 1);
    v = lf_event_get(&ev, "tags");
    LF_CHECK(v != NULL && v->type == LF_VALUE_JSON);
    if (v != NULL) {
        LF_CHECK(v->u.str.ptr == array);
        LF_CHECK_INT_EQ(v->u.str.len, LF_STRLEN(array));
    }
    lf_event_cleanup(&ev);
}

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

/* Lookups match key text, whichever pointer carries it. */
static void test_event_same_text_other_pointer(void)
{
    char first[] = "service.name";
    char second[] = "service.name";
    struct lf_event ev;
    const struct lf_value *v;

    lf_event_init(&ev);
    lf_event_set_str(&ev, first, "api", 3);
    lf_event_set_str(&ev, second, "web", 3);
    LF_CHECK_INT_EQ(ev.field_count, 1);
    LF_CHECK(ev.fields[0].key == first);
    v = lf_event_get(&ev, "service.name");
    LF_CHECK(v != NULL);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "web");
    }
    LF_CHECK(lf_event_remove(&ev, second));
    LF_CHECK_INT_EQ(ev.field_count, 0);

    /* The empty key too. */
    first[0] = '\0';
    second[0] = '\0';
    lf_event_set_int(&ev, first, 1);
    lf_event_set_int(&ev, second, 2);
    LF_CHECK_INT_EQ(ev.field_count, 1);
    LF_CHECK(ev.fields[0].key == first);
    LF_CHECK_INT_EQ(ev.fields[0].value.u.i, 2);
    lf_event_cleanup(&ev);
}

/*
 * Keys with the same length, first and last byte share a filter bit, so
 * only the text comparison separates them.
 */
static void test_event_keys_alike_at_the_ends(void)
{
    static const char *const keys[] = {"a1z", "a2z", "a3z", "a.z", "az"};
    struct lf_event ev;

    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(keys); i++) {
        lf_event_set_int(&ev, keys[i], (int64_t)i);
    }
    LF_CHECK_INT_EQ(ev.field_count, LF_ARRAY_SIZE(keys));
    for (size_t i = 0; i < LF_ARRAY_SIZE(keys); i++) {
        const struct lf_value *v = lf_event_get(&ev, keys[i]);

        LF_CHECK(v != NULL);
        if (v != NULL) {
            LF_CHECK_INT_EQ(v->u.i, i);
        }
    }
    LF_CHECK(lf_event_get(&ev, "a4z") == NULL);
    LF_CHECK(lf_event_get(&ev, "a") == NULL);
    LF_CHECK(lf_event_get(&ev, "") == NULL);
    lf_event_cleanup(&ev);
}

/* Returns the integer value of `key`, or -1 when the event has none. */
static int64_t get_int(const struct lf_event *ev, const char *key)
{
    const struct lf_value *v = lf_event_get(ev, key);

    return v != NULL && v->type == LF_VALUE_INT ? v->u.i : -1;
}

/* Key lengths follow their fields through set, remove and reset. */
static void test_event_key_lengths_follow_fields(void)
{
    struct lf_event ev;

    lf_event_init(&ev);
    lf_event_set_int(&ev, "a", 1);
    lf_event_set_int(&ev, "bb.c", 2);
    lf_event_set_int(&ev, "", 3);
    lf_event_set_int(&ev, "dddd", 4);
    LF_CHECK_INT_EQ(ev.field_count, 4);
    LF_CHECK_INT_EQ(ev.key_lens[0], 1);
    LF_CHECK_INT_EQ(ev.key_lens[1], 4);
    LF_CHECK_INT_EQ(ev.key_lens[2], 0);
    LF_CHECK_INT_EQ(ev.key_lens[3], 4);

    LF_CHECK(lf_event_remove(&ev, "bb.c"));
    LF_CHECK_INT_EQ(ev.field_count, 3);
    LF_CHECK_STR_EQ(ev.fields[1].key, "");
    LF_CHECK_INT_EQ(ev.key_lens[1], 0);
    LF_CHECK_STR_EQ(ev.fields[2].key, "dddd");
    LF_CHECK_INT_EQ(ev.key_lens[2], 4);
    LF_CHECK_INT_EQ(get_int(&ev, ""), 3);
    LF_CHECK(lf_event_get(&ev, "bb.c") == NULL);

    /* A removed key can come back. */
    lf_event_set_int(&ev, "bb.c", 5);
    LF_CHECK_INT_EQ(ev.field_count, 4);
    LF_CHECK_INT_EQ(get_int(&ev, "bb.c"), 5);

    lf_event_reset(&ev);
    LF_CHECK_INT_EQ(ev.key_filter, 0);
    LF_CHECK(lf_event_get(&ev, "a") == NULL);
    lf_event_set_int(&ev, "a", 6);
    LF_CHECK_INT_EQ(ev.field_count, 1);
    LF_CHECK_INT_EQ(get_int(&ev, "a"), 6);
    lf_event_cleanup(&ev);
}

/* Growing past the first allocation keeps every field and length. */
static void test_event_grows_past_first_allocation(void)
{
    static char keys[100][16];
    struct lf_event ev;

    lf_event_init(&ev);
    for (int i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k.%d", i);
        lf_event_set_int(&ev, keys[i], i);
    }
    LF_CHECK_INT_EQ(ev.field_count, 100);
    for (int i = 0; i < 100; i++) {
        const struct lf_value *v = lf_event_get(&ev, keys[i]);

        LF_CHECK_INT_EQ(ev.key_lens[i], strlen(keys[i]));
        LF_CHECK(v != NULL);
        if (v != NULL) {
            LF_CHECK_INT_EQ(v->u.i, i);
        }
    }
    lf_event_cleanup(&ev);
}

static void test_event_add_tag_once(void)
{
    struct lf_event ev;
    char other[] = "web";

    lf_event_init(&ev);
    lf_event_add_tag(&ev, "web");
    lf_event_add_tag(&ev, other); /* the same text at another address */
    for (int i = 0; i < 9; i++) {
        static const char *const names[] = {"a", "b", "c", "d", "e",
                                            "f", "g", "h", "i"};

        lf_event_add_tag(&ev, names[i]);
    }
    LF_CHECK_INT_EQ(ev.tag_count, 10);
    LF_CHECK_STR_EQ(ev.tag_list[0], "web");
    LF_CHECK_STR_EQ(ev.tag_list[9], "i");
    lf_event_reset(&ev);
    LF_CHECK_INT_EQ(ev.tag_count, 0);
    lf_event_add_tag(&ev, "x");
    LF_CHECK_INT_EQ(ev.tag_count, 1);
    LF_CHECK_STR_EQ(ev.tag_list[0], "x");
    lf_event_cleanup(&ev);
    LF_CHECK(ev.tag_list == NULL);
}

int main(void)
{
    LF_RUN(test_event_set_replace_remove);
    LF_RUN(test_event_add_tag_once);
    LF_RUN(test_event_many_fields);
    LF_RUN(test_event_arena_stable_until_reset);
    LF_RUN(test_event_same_text_other_pointer);
    LF_RUN(test_event_keys_alike_at_the_ends);
    LF_RUN(test_event_key_lengths_follow_fields);
    LF_RUN(test_event_grows_past_first_allocation);
    LF_RUN(test_event_set_json_borrowed);
    return lf_test_end();
}
