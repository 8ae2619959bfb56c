/*
 * Container log decoding: Docker json-file and CRI lines, parts joined per
 * stream, the size cap, pass-through of other lines, and the Beats and
 * Fluent Bit cases of tests/fixtures/container-logs.
 */
#include "agent/input/container.h"
#include "lf_test.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"
#include "parsers/timestamp.h"

#include <jansson.h>

#define MAX_OUT 32

struct decoded_lines {
    char *text[MAX_OUT];
    const char *stream[MAX_OUT];
    bool has_timestamp[MAX_OUT];
    int64_t timestamp_ns[MAX_OUT];
    uint64_t offset[MAX_OUT];
    uint64_t end[MAX_OUT];
    bool truncated[MAX_OUT];
    size_t count;
};

static void lines_cleanup(struct decoded_lines *out)
{
    for (size_t i = 0; i < out->count; i++) {
        lf_free(out->text[i]);
    }
    memset(out, 0, sizeof(*out));
}

/*
 * Pushes each line as the line reader hands it on: a line given with its
 * "\n" loses it, and one given without it is read as if it had one.
 */
static void push_lines(struct lf_container *container,
                       const char *const *lines, size_t count,
                       struct decoded_lines *out)
{
    uint64_t offset = 0;

    for (size_t i = 0; i < count; i++) {
        struct lf_line line = {0};
        struct lf_line decoded;
        size_t len = strlen(lines[i]);

        line.data = lines[i];
        line.len = len;
        if (len > 0 && lines[i][len - 1] == '\n') {
            line.len--;
            len--;
        }
        line.offset = offset;
        line.end_offset = offset + len + 1;
        line.commit_offset = line.end_offset;
        offset = line.end_offset;
        if (!lf_container_push(container, &line, &decoded)) {
            continue;
        }
        if (out->count == MAX_OUT) {
            LF_FAIL_AT("more than %d lines", MAX_OUT);
            continue;
        }
        out->text[out->count] = lf_strndup(decoded.data, decoded.len);
        out->stream[out->count] = decoded.stream;
        out->has_timestamp[out->count] = decoded.has_timestamp;
        out->timestamp_ns[out->count] = decoded.timestamp_ns;
        out->offset[out->count] = decoded.offset;
        out->end[out->count] = decoded.end_offset;
        out->truncated[out->count] = decoded.truncated;
        out->count++;
    }
}

static void test_container_format_names(void)
{
    enum lf_container_format format = LF_CONTAINER_PLAIN;

    LF_CHECK_INT_EQ(lf_container_format_parse("docker", &format), 0);
    LF_CHECK_INT_EQ(format, LF_CONTAINER_DOCKER);
    LF_CHECK_INT_EQ(lf_container_format_parse("cri", &format), 0);
    LF_CHECK_INT_EQ(format, LF_CONTAINER_CRI);
    LF_CHECK_INT_EQ(lf_container_format_parse("auto", &format), 0);
    LF_CHECK_INT_EQ(format, LF_CONTAINER_AUTO);
    LF_CHECK_INT_EQ(lf_container_format_parse("plain", &format), 0);
    LF_CHECK_INT_EQ(format, LF_CONTAINER_PLAIN);
    LF_CHECK_INT_EQ(lf_container_format_parse("json", &format), LF_EINVAL);
}

static void test_container_docker_split_line(void)
{
    static const char *const lines[] = {
        "{\"log\":\"one\\n\",\"stream\":\"stdout\","
        "\"time\":\"2024-03-01T10:00:00.123456789Z\"}",
        "{\"log\":\"par\",\"stream\":\"stdout\","
        "\"time\":\"2024-03-01T10:00:01Z\"}",
        "{\"log\":\"err\\r\\n\",\"stream\":\"stderr\","
        "\"time\":\"2024-03-01T10:00:02Z\"}",
        "{\"log\":\"ts\\n\",\"stream\":\"stdout\","
        "\"time\":\"2024-03-01T10:00:03Z\"}",
    };
    struct lf_container container;
    struct decoded_lines out = {0};

    lf_container_init(&container, LF_CONTAINER_DOCKER, 1024);
    push_lines(&container, lines, 2, &out);
    LF_CHECK_INT_EQ(lf_container_held_offset(&container), 74);
    push_lines(&container, lines + 2, 2, &out);
    LF_CHECK_INT_EQ(lf_container_held_offset(&container), UINT64_MAX);

    LF_CHECK_INT_EQ(out.count, 3);
    LF_CHECK_STR_EQ(out.text[0], "one");
    LF_CHECK_STR_EQ(out.stream[0], "stdout");
    LF_CHECK(out.has_timestamp[0]);
    LF_CHECK_INT_EQ(out.timestamp_ns[0], 1709287200123456789LL);
    /* The stderr line is not part of the stdout line around it. */
    LF_CHECK_STR_EQ(out.text[1], "err");
    LF_CHECK_STR_EQ(out.stream[1], "stderr");
    LF_CHECK_STR_EQ(out.text[2], "parts");
    LF_CHECK_STR_EQ(out.stream[2], "stdout");
    LF_CHECK_INT_EQ(out.offset[2], 74);
    /* The time of a joined line is its first part's. */
    LF_CHECK_INT_EQ(out.timestamp_ns[2], 1709287201000000000LL);
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static void test_container_cri_parts(void)
{
    static const char *const lines[] = {
        "2024-03-01T10:00:00.5+01:00 stdout P first ",
        "2024-03-01T10:00:01Z stderr F an error",
        "2024-03-01T10:00:02Z stdout P second ",
        "2024-03-01T10:00:03Z stdout F third",
        "2024-03-01T10:00:04Z stdout F",
        "2024-03-01T10:00:05Z stdout no tag here",
    };
    struct lf_container container;
    struct decoded_lines out = {0};

    lf_container_init(&container, LF_CONTAINER_CRI, 1024);
    push_lines(&container, lines, LF_ARRAY_SIZE(lines), &out);
    LF_CHECK_INT_EQ(out.count, 4);
    LF_CHECK_STR_EQ(out.text[0], "an error");
    LF_CHECK_STR_EQ(out.stream[0], "stderr");
    LF_CHECK_STR_EQ(out.text[1], "first second third");
    LF_CHECK_INT_EQ(out.offset[1], 0);
    LF_CHECK_INT_EQ(out.end[1], 157);
    LF_CHECK_INT_EQ(out.timestamp_ns[1], 1709283600500000000LL);
    LF_CHECK_STR_EQ(out.text[2], "");
    LF_CHECK_STR_EQ(out.text[3], "no tag here");
    LF_CHECK_STR_EQ(out.stream[3], "stdout");
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static void test_container_joined_size_capped(void)
{
    static const char *const lines[] = {
        "2024-03-01T10:00:00Z stdout P 0123456789",
        "2024-03-01T10:00:00Z stdout P abcdefghij",
        "2024-03-01T10:00:00Z stdout F KLMNOPQRST",
        "2024-03-01T10:00:00Z stdout F short",
    };
    struct lf_container container;
    struct decoded_lines out = {0};

    lf_container_init(&container, LF_CONTAINER_CRI, 15);
    push_lines(&container, lines, LF_ARRAY_SIZE(lines), &out);
    LF_CHECK_INT_EQ(out.count, 2);
    LF_CHECK_STR_EQ(out.text[0], "0123456789abcde");
    LF_CHECK(out.truncated[0]);
    LF_CHECK_INT_EQ(out.end[0], 123);
    LF_CHECK_STR_EQ(out.text[1], "short");
    LF_CHECK(!out.truncated[1]);
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static void test_container_other_lines_pass_through(void)
{
    static const char *const lines[] = {
        "plain text",
        "{\"msg\":\"json without log\"}",
        "2024-03-01T10:00:00Z stdout",
        "not-a-time stdout F x",
        "2024-03-01T10:00:00Z console F x",
    };
    struct lf_container container;
    struct decoded_lines out = {0};

    lf_container_init(&container, LF_CONTAINER_AUTO, 1024);
    push_lines(&container, lines, LF_ARRAY_SIZE(lines), &out);
    LF_CHECK_INT_EQ(out.count, LF_ARRAY_SIZE(lines));
    for (size_t i = 0; i < out.count && i < LF_ARRAY_SIZE(lines); i++) {
        LF_CHECK_STR_EQ(out.text[i], lines[i]);
        LF_CHECK(out.stream[i] == NULL);
        LF_CHECK(!out.has_timestamp[i]);
    }
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static void test_container_reset_drops_parts(void)
{
    static const char *const lines[] = {
        "2024-03-01T10:00:00Z stdout P held",
        "2024-03-01T10:00:00Z stdout F rest",
    };
    struct lf_container container;
    struct decoded_lines out = {0};

    lf_container_init(&container, LF_CONTAINER_CRI, 1024);
    push_lines(&container, lines, 1, &out);
    lf_container_reset(&container);
    LF_CHECK_INT_EQ(lf_container_held_offset(&container), UINT64_MAX);
    push_lines(&container, lines + 1, 1, &out);
    LF_CHECK_INT_EQ(out.count, 1);
    LF_CHECK_STR_EQ(out.text[0], "rest");
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static char *chomp(const char *text)
{
    size_t len = strlen(text);

    if (len > 0 && text[len - 1] == '\n') {
        len--;
    }
    return lf_strndup(text, len);
}

static int64_t parse_ns(const char *text)
{
    struct lf_tz utc;
    int64_t ns = 0;

    lf_tz_init_utc(&utc);
    if (lf_timestamp_parse_iso8601(text, strlen(text), &utc, &ns) != 0) {
        LF_FAIL_AT("invalid expected time %s", text);
    }
    return ns;
}

static enum lf_container_format format_of(const char *name)
{
    enum lf_container_format format = LF_CONTAINER_PLAIN;

    LF_CHECK_INT_EQ(lf_container_format_parse(name, &format), 0);
    return format;
}

/* Checks one TestDockerJSON case of Beats whose options this agent has. */
static void check_beats_case(json_t *item)
{
    const char *id = json_string_value(json_object_get(item, "id"));
    json_t *inputs = json_object_get(item, "input_lines");
    json_t *message = json_object_get(item, "expected_message");
    const char *lines[8];
    size_t count = json_array_size(inputs);
    struct lf_container container;
    struct decoded_lines out = {0};

    for (size_t i = 0; i < count && i < 8; i++) {
        lines[i] = json_string_value(json_array_get(inputs, i));
    }
    lf_container_init(&container,
                      format_of(json_string_value(
                          json_object_get(item, "format"))),
                      1024 * 1024);
    push_lines(&container, lines, count, &out);

    if (json_is_string(json_object_get(item, "expected_error"))) {
        /* The line that cannot be decoded is kept as it is. */
        if (out.count == 0 || out.stream[out.count - 1] != NULL ||
            strcmp(out.text[out.count - 1], lines[count - 1]) != 0) {
            LF_FAIL_AT("case %s: the last line was not passed on as is", id);
        }
    } else {
        char *want = chomp(json_string_value(
            json_object_get(message, "content")));
        const char *stream = json_string_value(
            json_object_get(json_object_get(message, "fields"), "stream"));

        LF_CHECK_INT_EQ(out.count, 1);
        if (out.count == 1) {
            LF_CHECK_STR_EQ(out.text[0], want);
            LF_CHECK_STR_EQ(out.stream[0], stream);
            LF_CHECK_INT_EQ(out.timestamp_ns[0],
                            parse_ns(json_string_value(json_object_get(
                                message, "timestamp"))));
        } else {
            LF_FAIL_AT("case %s: %zu lines", id, out.count);
        }
        lf_free(want);
    }
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static void test_container_beats_reader_cases(void)
{
    json_error_t error;
    json_t *doc = json_load_file(
        lf_test_fixture("container-logs/docker-json-reader-cases.json"), 0,
        &error);
    json_t *cases = json_object_get(doc, "cases");
    size_t checked = 0;
    size_t index;
    json_t *item;

    LF_CHECK(json_is_array(cases));
    json_array_foreach(cases, index, item) {
        /*
         * Parts are always joined here, so the cases of Beats' option to
         * keep them apart (partial: false with several lines) do not
         * apply.
         */
        if (!json_is_true(json_object_get(item, "partial")) &&
            json_array_size(json_object_get(item, "input_lines")) > 1) {
            continue;
        }
        check_beats_case(item);
        checked++;
    }
    LF_CHECK_INT_EQ(checked, 15);
    json_decref(doc);
}

static void test_container_fluent_bit_cri_chain(void)
{
    json_error_t error;
    json_t *doc = json_load_file(
        lf_test_fixture("container-logs/multiline-container-cases.json"), 0,
        &error);
    json_t *cases = json_object_get(doc, "cases");
    size_t checked = 0;
    size_t index;
    json_t *item;

    json_array_foreach(cases, index, item) {
        const char *id = json_string_value(json_object_get(item, "id"));
        json_t *inputs = json_object_get(item, "input_lines");
        json_t *expected = json_object_get(item, "expected_records");
        const char *lines[MAX_OUT];
        size_t count = json_array_size(inputs);
        struct lf_container container;
        struct decoded_lines out = {0};
        json_t *value;
        size_t i;

        /*
         * Left out: a case with a raw newline inside a JSON string, and
         * one that mixes Docker and CRI parts of the same stream, which
         * Fluent Bit joins per format and this decoder per stream.
         */
        if (strcmp(id, "fluent-bit-ml-docker-cri-chain") != 0) {
            continue;
        }
        for (i = 0; i < count && i < MAX_OUT; i++) {
            lines[i] = json_string_value(json_array_get(inputs, i));
        }
        lf_container_init(&container, LF_CONTAINER_AUTO, 1024);
        push_lines(&container, lines, count, &out);
        LF_CHECK_INT_EQ(out.count, json_array_size(expected));
        json_array_foreach(expected, i, value) {
            if (i < out.count) {
                LF_CHECK_STR_EQ(out.text[i], json_string_value(value));
            }
        }
        lines_cleanup(&out);
        lf_container_cleanup(&container);
        checked++;
    }
    LF_CHECK_INT_EQ(checked, 1);
    json_decref(doc);
}

static void test_container_flush_held_part(void)
{
    static const char *const lines[] = {
        "2024-03-01T10:00:00Z stdout P held-",   /* 0 to 36 */
        "2024-03-01T10:00:01Z stderr P other",   /* 36 to 72 */
        "2024-03-01T10:00:02Z stdout F rest",
    };
    struct lf_container container;
    struct decoded_lines out = {0};
    struct lf_line line;

    lf_container_init(&container, LF_CONTAINER_CRI, 1024);
    push_lines(&container, lines, 2, &out);
    LF_CHECK_INT_EQ(out.count, 0);
    LF_CHECK_INT_EQ(lf_container_oldest_held(&container), LF_CONTAINER_STDOUT);
    LF_CHECK(lf_container_flush(&container, LF_CONTAINER_STDOUT, &line));
    LF_CHECK_MEM_EQ(line.data, line.len, "held-");
    LF_CHECK_STR_EQ(line.stream, "stdout");
    LF_CHECK_INT_EQ(line.offset, 0);
    LF_CHECK_INT_EQ(line.end_offset, 36);
    LF_CHECK(line.has_timestamp);
    LF_CHECK(!lf_container_flush(&container, LF_CONTAINER_STDOUT, &line));
    LF_CHECK_INT_EQ(lf_container_oldest_held(&container), LF_CONTAINER_STDERR);
    LF_CHECK_INT_EQ(lf_container_held_offset(&container), 36);
    /* The last part, come too late, is a line of its own. */
    push_lines(&container, lines + 2, 1, &out);
    LF_CHECK_INT_EQ(out.count, 1);
    LF_CHECK_STR_EQ(out.text[0], "rest");
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

static void test_container_docker_lone_surrogate(void)
{
    static const char *const lines[] = {
        "{\"log\":\"a \\ud800 b \\udc00 c \\ud83d\\ude00 d \\\\ud800\\n\","
        "\"stream\":\"stdout\"}",
        "{\"log\":\"bad \\ud800\",\"stream\":",
    };
    struct lf_container container;
    struct decoded_lines out = {0};

    lf_container_init(&container, LF_CONTAINER_DOCKER, 1024);
    push_lines(&container, lines, 2, &out);
    LF_CHECK_INT_EQ(out.count, 2);
    LF_CHECK_STR_EQ(out.text[0], "a \xef\xbf\xbd b \xef\xbf\xbd c "
                                 "\xf0\x9f\x98\x80 d \\ud800");
    LF_CHECK_STR_EQ(out.stream[0], "stdout");
    /* Still invalid JSON after the repair: passed on unchanged. */
    LF_CHECK_STR_EQ(out.text[1], lines[1]);
    LF_CHECK(out.stream[1] == NULL);
    lines_cleanup(&out);
    lf_container_cleanup(&container);
}

int main(void)
{
    LF_RUN(test_container_format_names);
    LF_RUN(test_container_docker_split_line);
    LF_RUN(test_container_cri_parts);
    LF_RUN(test_container_joined_size_capped);
    LF_RUN(test_container_other_lines_pass_through);
    LF_RUN(test_container_reset_drops_parts);
    LF_RUN(test_container_beats_reader_cases);
    LF_RUN(test_container_fluent_bit_cri_chain);
    LF_RUN(test_container_flush_held_part);
    LF_RUN(test_container_docker_lone_surrogate);
    return lf_test_end();
}
