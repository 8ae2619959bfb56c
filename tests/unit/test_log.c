/*
 * Tests of the agent's log: the exact text and JSON line shapes, the ids
 * copied into JSON fields, the rate limit's written and suppressed counts,
 * and rotation of the log file by size. Each case logs to a file in a
 * temporary folder and reads it back.
 */
#include "lf/log.h"

#include "lf_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MAX_LINES = 64, TIMESTAMP_LEN = 24 };

static char dir[] = "/tmp/lf_test_log_XXXXXX";
static char path[256];
static char *lines[MAX_LINES];
static size_t line_count;

static void free_lines(void)
{
    for (size_t i = 0; i < line_count; i++) {
        free(lines[i]);
    }
    line_count = 0;
}

/* Reads the lines of `file`, without their "\n", into `lines`. */
static void read_lines(const char *file)
{
    FILE *f = fopen(file, "r");
    char buf[4096];

    free_lines();
    LF_CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    while (line_count < MAX_LINES && fgets(buf, sizeof(buf), f) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        lines[line_count++] = strdup(buf);
    }
    fclose(f);
}

/* Returns true when `text` starts with a timestamp such as the agent's. */
static bool is_timestamp(const char *text)
{
    int year;
    int month;
    int day;
    int hour;
    int minute;
    int second;
    int ms;
    char zone;

    return strlen(text) >= TIMESTAMP_LEN &&
           sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &year, &month, &day,
                  &hour, &minute, &second, &ms, &zone) == 8 &&
           zone == 'Z';
}

/* Checks the line's timestamp and returns what follows it. */
static const char *after_timestamp(const char *line, const char *prefix)
{
    size_t prefix_len = strlen(prefix);

    LF_CHECK(strncmp(line, prefix, prefix_len) == 0);
    LF_CHECK(is_timestamp(line + prefix_len));
    return line + prefix_len + TIMESTAMP_LEN;
}

static void configure(struct lf_log_options *options)
{
    char errbuf[256] = "";

    unlink(path);
    options->file_path = path;
    LF_CHECK_INT_EQ(lf_log_configure(options, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(errbuf, "");
}

static void sleep_ms(long ms)
{
    struct timespec delay = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&delay, NULL);
}

static void test_text_line(void)
{
    struct lf_log_options options;

    lf_log_options_init(&options);
    configure(&options);
    lf_log_warn("input", "read failed: %s path=%s", "bad\nline",
                "/var/log/a.log");
    lf_log_debug("input", "not written at level info");
    lf_log_shutdown();

    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 1);
    if (line_count == 1) {
        LF_CHECK_STR_EQ(after_timestamp(lines[0], ""),
                        " warn  input: read failed: bad line "
                        "path=/var/log/a.log");
    }
}

static void test_json_line(void)
{
    struct lf_log_options options;

    lf_log_options_init(&options);
    options.format = LF_LOG_FORMAT_JSON;
    configure(&options);
    lf_log_error("es", "bulk request failed: \"quoted\" status=503 "
                 "host=http://127.0.0.1:9200 input=app path=/a/b.log "
                 "output=elasticsearch input=second");
    lf_log_info("agent", "stopped");
    lf_log_shutdown();

    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 2);
    if (line_count != 2) {
        return;
    }
    LF_CHECK_STR_EQ(
        after_timestamp(lines[0], "{\"@timestamp\":\""),
        "\",\"log.level\":\"error\",\"log.logger\":\"es\",\"message\":"
        "\"bulk request failed: \\\"quoted\\\" status=503 "
        "host=http://127.0.0.1:9200 input=app path=/a/b.log "
        "output=elasticsearch input=second\",\"host\":"
        "\"http://127.0.0.1:9200\",\"input\":\"app\",\"path\":\"/a/b.log\","
        "\"output\":\"elasticsearch\"}");
    LF_CHECK_STR_EQ(after_timestamp(lines[1], "{\"@timestamp\":\""),
                    "\",\"log.level\":\"info\",\"log.logger\":\"agent\","
                    "\"message\":\"stopped\"}");
}

static void log_repeated(int count)
{
    for (int i = 0; i < count; i++) {
        lf_log_warn("es", "retrying attempt=%d host=h1", i);
    }
}

static void test_rate_limit_counts(void)
{
    struct lf_log_options options;

    lf_log_options_init(&options);
    options.rate_limit_burst = 3;
    options.rate_limit_interval_ms = 300;
    configure(&options);
    log_repeated(4123);
    lf_log_warn("queue", "another message");
    sleep_ms(600); /* the summary thread writes when the window ends */
    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 5);
    if (line_count == 5) {
        LF_CHECK_STR_EQ(after_timestamp(lines[0], ""),
                        " warn  es: retrying attempt=0 host=h1");
        LF_CHECK_STR_EQ(after_timestamp(lines[2], ""),
                        " warn  es: retrying attempt=2 host=h1");
        LF_CHECK_STR_EQ(after_timestamp(lines[3], ""),
                        " warn  queue: another message");
        LF_CHECK_STR_EQ(after_timestamp(lines[4], ""),
                        " warn  es: message repeated 4120 times in the "
                        "last 300 ms and not written, the last one: "
                        "retrying attempt=4122 host=h1");
    }

    /* A new window writes the first messages again. */
    log_repeated(5);
    lf_log_shutdown();
    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 9);
    if (line_count == 9) {
        LF_CHECK_STR_EQ(after_timestamp(lines[5], ""),
                        " warn  es: retrying attempt=0 host=h1");
        LF_CHECK_STR_EQ(after_timestamp(lines[7], ""),
                        " warn  es: retrying attempt=2 host=h1");
        /* Written at shutdown, before the window ended. */
        LF_CHECK(strstr(lines[8], " warn  es: message repeated 2 times in "
                                  "the last ") != NULL);
        LF_CHECK(strstr(lines[8], " ms and not written, the last one: "
                                  "retrying attempt=4 host=h1") != NULL);
    }
}

static void test_rate_limit_json_summary(void)
{
    struct lf_log_options options;

    lf_log_options_init(&options);
    options.format = LF_LOG_FORMAT_JSON;
    options.rate_limit_burst = 1;
    options.rate_limit_interval_ms = 1000;
    configure(&options);
    log_repeated(11);
    sleep_ms(1300);
    lf_log_shutdown();
    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 2);
    if (line_count == 2) {
        LF_CHECK_STR_EQ(
            after_timestamp(lines[1], "{\"@timestamp\":\""),
            "\",\"log.level\":\"warn\",\"log.logger\":\"es\",\"message\":"
            "\"message repeated 10 times in the last 1 s and not written, "
            "the last one: retrying attempt=10 host=h1\",\"suppressed\":10,"
            "\"host\":\"h1\"}");
    }
}

static void test_debug_not_limited(void)
{
    struct lf_log_options options;

    lf_log_options_init(&options);
    options.rate_limit_burst = 1;
    configure(&options);
    lf_log_set_level(LF_LOG_DEBUG);
    for (int i = 0; i < 4; i++) {
        lf_log_debug("es", "batch %d", i);
    }
    lf_log_set_level(LF_LOG_INFO);
    lf_log_shutdown();
    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 4);
}

static bool exists(const char *file)
{
    struct stat st;

    return stat(file, &st) == 0;
}

static void test_file_rotation(void)
{
    struct lf_log_options options;
    char rotated[300];

    lf_log_options_init(&options);
    options.file_max_bytes = 200;
    options.file_keep = 2;
    options.rate_limit_burst = 0;
    configure(&options);
    /* Each line is 77 bytes, so a file of at most 200 bytes takes two. */
    for (int i = 0; i < 7; i++) {
        lf_log_info("rotate", "line %d padded to forty bytes ........", i);
    }
    lf_log_shutdown();

    read_lines(path);
    LF_CHECK_INT_EQ(line_count, 1);
    if (line_count == 1) {
        LF_CHECK_STR_EQ(after_timestamp(lines[0], ""),
                        " info  rotate: line 6 padded to forty bytes "
                        "........");
    }
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    read_lines(rotated);
    LF_CHECK_INT_EQ(line_count, 2);
    if (line_count == 2) {
        LF_CHECK(strstr(lines[0], "line 4 padded") != NULL);
        LF_CHECK(strstr(lines[1], "line 5 padded") != NULL);
    }
    snprintf(rotated, sizeof(rotated), "%s.2", path);
    read_lines(rotated);
    LF_CHECK_INT_EQ(line_count, 2);
    if (line_count == 2) {
        LF_CHECK(strstr(lines[0], "line 2 padded") != NULL);
    }
    snprintf(rotated, sizeof(rotated), "%s.3", path);
    LF_CHECK(!exists(rotated));
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    unlink(rotated);
    snprintf(rotated, sizeof(rotated), "%s.2", path);
    unlink(rotated);
}

static void test_unwritable_file(void)
{
    struct lf_log_options options;
    char errbuf[256] = "";
    char missing[300];

    lf_log_options_init(&options);
    snprintf(missing, sizeof(missing), "%s/no/such/dir/agent.log", dir);
    options.file_path = missing;
    LF_CHECK(lf_log_configure(&options, errbuf, sizeof(errbuf)) < 0);
    LF_CHECK(strstr(errbuf, "opening the log file ") != NULL);
    LF_CHECK(strstr(errbuf, "no such file or directory") != NULL);
    lf_log_shutdown();
}

int main(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/agent.log", dir);

    LF_RUN(test_text_line);
    LF_RUN(test_json_line);
    LF_RUN(test_rate_limit_counts);
    LF_RUN(test_rate_limit_json_summary);
    LF_RUN(test_debug_not_limited);
    LF_RUN(test_file_rotation);
    LF_RUN(test_unwritable_file);

    free_lines();
    unlink(path);
    rmdir(dir);
    return lf_test_end();
}
