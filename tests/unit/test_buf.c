/*
 * Growable buffer: appends, formatting across the growth boundary,
 * consume and reset.
 */
#include "lf/buf.h"
#include "lf_test.h"

static void test_buf_append_and_terminate(void)
{
    struct lf_buf b;

    lf_buf_init(&b);
    lf_buf_append(&b, "abc", 3);
    lf_buf_append_char(&b, '-');
    lf_buf_append_str(&b, "def");
    LF_CHECK_INT_EQ(b.len, 7);
    LF_CHECK_STR_EQ(b.data, "abc-def");
    lf_buf_reset(&b);
    LF_CHECK_INT_EQ(b.len, 0);
    LF_CHECK_STR_EQ(b.data, "");
    lf_buf_cleanup(&b);
    LF_CHECK(b.data == NULL);
}

static void test_buf_appendf_grows(void)
{
    struct lf_buf b;
    char big[301];

    memset(big, 'x', 300);
    big[300] = '\0';
    lf_buf_init(&b);
    lf_buf_appendf(&b, "%s=%d;", "n", 42);
    lf_buf_appendf(&b, "%s!", big);
    LF_CHECK_INT_EQ(b.len, 5 + 301);
    LF_CHECK_INT_EQ(strlen(b.data), 306);
    LF_CHECK(memcmp(b.data, "n=42;xxx", 8) == 0);
    LF_CHECK_INT_EQ(b.data[305], '!');
    lf_buf_cleanup(&b);
}

static void test_buf_consume(void)
{
    struct lf_buf b;

    lf_buf_init(&b);
    lf_buf_append_str(&b, "header|body");
    lf_buf_consume(&b, 7);
    LF_CHECK_STR_EQ(b.data, "body");
    LF_CHECK_INT_EQ(b.len, 4);
    lf_buf_consume(&b, 10);
    LF_CHECK_INT_EQ(b.len, 0);
    LF_CHECK_STR_EQ(b.data, "");
    lf_buf_cleanup(&b);
}

int main(void)
{
    LF_RUN(test_buf_append_and_terminate);
    LF_RUN(test_buf_appendf_grows);
    LF_RUN(test_buf_consume);
    return lf_test_end();
}
