/*
 * Minimal unit test harness. Each check prints both operands on failure
 * and the test goes on, so one run shows every broken expectation. A test
 * executable exits 1 when any check failed.
 *
 *     static void test_buf_append_grows(void) { LF_CHECK_INT_EQ(...); }
 *     int main(void) { LF_RUN(test_buf_append_grows); return lf_test_end(); }
 */
#ifndef LF_TESTS_UNIT_LF_TEST_H
#define LF_TESTS_UNIT_LF_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lf_test_failed_checks;
static int lf_test_failed_tests;
static int lf_test_passed_tests;

#define LF_FAIL_AT(...)                                                       \
    do {                                                                      \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                       \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
        lf_test_failed_checks++;                                              \
    } while (0)

#define LF_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond)) {                                                        \
            LF_FAIL_AT("check failed: %s", #cond);                            \
        }                                                                     \
    } while (0)

#define LF_CHECK_INT_EQ(actual, expected)                                     \
    do {                                                                      \
        long long lf_a_ = (long long)(actual);                                \
        long long lf_e_ = (long long)(expected);                              \
        if (lf_a_ != lf_e_) {                                                 \
            LF_FAIL_AT("%s == %lld, expected %s == %lld", #actual, lf_a_,     \
                       #expected, lf_e_);                                     \
        }                                                                     \
    } while (0)

#define LF_CHECK_DOUBLE_EQ(actual, expected)                                  \
    do {                                                                      \
        double lf_a_ = (double)(actual);                                      \
        double lf_e_ = (double)(expected);                                    \
        if (lf_a_ != lf_e_) {                                                 \
            LF_FAIL_AT("%s == %.17g, expected %.17g", #actual, lf_a_, lf_e_); \
        }                                                                     \
    } while (0)

#define LF_CHECK_STR_EQ(actual, expected)                                     \
    do {                                                                      \
        const char *lf_a_ = (actual);                                         \
        const char *lf_e_ = (expected);                                       \
        if (lf_a_ == NULL || lf_e_ == NULL ? lf_a_ != lf_e_                   \
                                           : strcmp(lf_a_, lf_e_) != 0) {     \
            LF_FAIL_AT("%s == \"%s\", expected \"%s\"", #actual,              \
                       lf_a_ ? lf_a_ : "(null)", lf_e_ ? lf_e_ : "(null)");   \
        }                                                                     \
    } while (0)

/* Compares a byte range with a NUL-terminated expected string. */
#define LF_CHECK_MEM_EQ(ptr, len, expected)                                   \
    do {                                                                      \
        const char *lf_p_ = (const char *)(ptr);                              \
        size_t lf_l_ = (size_t)(len);                                         \
        const char *lf_e_ = (expected);                                       \
        if (lf_p_ == NULL || lf_l_ != strlen(lf_e_) ||                        \
            memcmp(lf_p_, lf_e_, lf_l_) != 0) {                               \
            LF_FAIL_AT("%s == \"%.*s\" (%zu bytes), expected \"%s\"", #ptr,   \
                       lf_p_ ? (int)lf_l_ : 6, lf_p_ ? lf_p_ : "(null)",      \
                       lf_l_, lf_e_);                                         \
        }                                                                     \
    } while (0)

#define LF_RUN(fn)                                                            \
    do {                                                                      \
        int lf_before_ = lf_test_failed_checks;                               \
        fn();                                                                 \
        if (lf_test_failed_checks == lf_before_) {                            \
            lf_test_passed_tests++;                                           \
            printf("ok %s\n", #fn);                                           \
        } else {                                                              \
            lf_test_failed_tests++;                                           \
            printf("FAIL %s\n", #fn);                                         \
        }                                                                     \
    } while (0)

static inline int lf_test_end(void)
{
    printf("%d passed, %d failed\n", lf_test_passed_tests,
           lf_test_failed_tests);
    return lf_test_failed_tests == 0 ? 0 : 1;
}

/* Returns a path under the fixtures folder; the result is static. */
static inline const char *lf_test_fixture(const char *relative)
{
    static char path[4096];
    const char *dir = getenv("LF_FIXTURES");

    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/fixtures",
             relative);
    return path;
}

#endif
