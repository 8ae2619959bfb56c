/*
 * Tests of the error log readers of the `nginx` and `apache` presets.
 * The first part runs them on Filebeat's golden files
 * (tests/fixtures/filebeat-modules) and compares every field either side
 * sets. golden_difference() classifies and counts the deliberate
 * differences. The second part pins single lines.
 */
#include "lf_test.h"

#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "parsers/level.h"
#include "parsers/presets.h"

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#define NS INT64_C(1000000000)

/* Expected fields that the presets claim; others are not compared. */
static const char *const compared_keys[] = {
    "@timestamp",          "log.level",         "message",
    "process.pid",         "process.thread.id", "source.address",
    "source.ip",           "source.port",       "nginx.error.connection_id",
    "apache.error.module",
};

/* Fields the presets read from nginx's request context. */
static const char *const context_keys[] = {
    "http.request.method", "url.original", "url.path", "url.query",
    "http.version",        "url.domain",   "url.port", "http.request.referrer",
};

enum golden_difference_kind {
    DIFF_NONE,
    DIFF_TIME_WITHOUT_ZONE,
    DIFF_LEVEL_NORMALISED,
    DIFF_MESSAGE_WHOLE_LINE,
    DIFF_CONTEXT_ADDED,
    DIFF_KIND_COUNT,
};

struct golden_run {
    const char *name;
    int events;
    int compared_fields;
    int differences[DIFF_KIND_COUNT];
};

static bool in_list(const char *key, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(key, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static char *read_fixture(const char *relative, size_t *len_out)
{
    FILE *f = fopen(lf_test_fixture(relative), "rb");
    char *data = NULL;
    long size;

    if (f == NULL) {
        LF_FAIL_AT("cannot open fixture %s", lf_test_fixture(relative));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        data = lf_malloc((size_t)size + 1);
        *len_out = fread(data, 1, (size_t)size, f);
        data[*len_out] = '\0';
    }
    fclose(f);
    return data;
}

/* Writes a time as "2016-10-25T14:49:34.000", without a zone. */
static void format_wall_time(int64_t ns, char *out, size_t size)
{
    time_t seconds = (time_t)(ns / NS);
    struct tm tm;

    gmtime_r(&seconds, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ns % NS / 1000000));
}

static void format_value(const struct lf_value *v, char *out, size_t size)
{
    if (v == NULL) {
        snprintf(out, size, "(absent)");
    } else if (v->type == LF_VALUE_STRING) {
        snprintf(out, size, "\"%.*s\"", (int)v->u.str.len, v->u.str.ptr);
    } else if (v->type == LF_VALUE_INT) {
        snprintf(out, size, "%lld", (long long)v->u.i);
    } else if (v->type == LF_VALUE_TIMESTAMP) {
        format_wall_time(v->u.ts_ns, out, size);
    } else {
        snprintf(out, size, "(type %d)", (int)v->type);
    }
}

static bool value_equals(const struct lf_value *v, const json_t *expected)
{
    switch (v->type) {
    case LF_VALUE_STRING:
        return json_is_string(expected) &&
               json_string_length(expected) == v->u.str.len &&
               memcmp(json_string_value(expected), v->u.str.ptr,
                      v->u.str.len) == 0;
    case LF_VALUE_INT:
        return json_is_integer(expected) &&
               json_integer_value(expected) == v->u.i;
    default:
        return false;
    }
}

/*
 * Filebeat ran with TZ=Etc/GMT+2 and wrote "2016-10-25T14:49:34.000-02:00"
 * for a line that shows 14:49:34. The presets read times without a zone as
 * UTC, so the wall time must agree and only the zone differs.
 */
static enum golden_difference_kind compare_time(const struct lf_value *got,
                                                const json_t *expected)
{
    char wall[64];
    const char *text = json_string_value(expected);

    if (got == NULL || got->type != LF_VALUE_TIMESTAMP || text == NULL) {
        return DIFF_NONE;
    }
    format_wall_time(got->u.ts_ns, wall, sizeof(wall));
    if (strncmp(text, wall, strlen(wall)) == 0 &&
        strcmp(text + strlen(wall), "-02:00") == 0) {
        return DIFF_TIME_WITHOUT_ZONE;
    }
    return DIFF_NONE;
}

/*
 * Classifies a field on which a preset and Filebeat disagree on purpose.
 * Returns DIFF_NONE for any other disagreement, which fails the test.
 */
static enum golden_difference_kind
golden_difference(const char *key, const struct lf_value *got,
                  const json_t *expected, const char *line, size_t len)
{
    if (strcmp(key, "@timestamp") == 0) {
        return compare_time(got, expected);
    }
    /* log.level contains one of six levels: "notice" is "info". */
    if (strcmp(key, "log.level") == 0 && got != NULL &&
        got->type == LF_VALUE_STRING && json_is_string(expected)) {
        const char *level = lf_level_canonical(json_string_value(expected),
                                               json_string_length(expected));

        if (level != NULL && strlen(level) == got->u.str.len &&
            memcmp(level, got->u.str.ptr, got->u.str.len) == 0) {
            return DIFF_LEVEL_NORMALISED;
        }
    }
    /* Filebeat's nginx pipeline does not read the request context. */
    if ((strcmp(key, "source.address") == 0 || strcmp(key, "source.ip") == 0) &&
        got != NULL && expected == NULL) {
        return DIFF_CONTEXT_ADDED;
    }
    /*
     * Filebeat's pipelines replace `message` with the text after the
     * header; the presets keep the whole line as the message.
     */
    if (strcmp(key, "message") == 0 && json_is_string(expected)) {
        size_t n = json_string_length(expected);

        if (n < len &&
            memcmp(line + len - n, json_string_value(expected), n) == 0) {
            return DIFF_MESSAGE_WHOLE_LINE;
        }
    }
    return DIFF_NONE;
}

static void compare_field(struct golden_run *run, size_t offset,
                          const char *key, const struct lf_value *got,
                          const json_t *expected, const char *line, size_t len)
{
    enum golden_difference_kind kind;
    char got_text[512];
    char *expected_text;

    if (got == NULL && expected == NULL) {
        return;
    }
    run->compared_fields++;
    if (got != NULL && expected != NULL && value_equals(got, expected)) {
        return;
    }
    kind = golden_difference(key, got, expected, line, len);
    if (kind != DIFF_NONE) {
        run->differences[kind]++;
        return;
    }
    format_value(got, got_text, sizeof(got_text));
    expected_text =
        expected != NULL ? json_dumps(expected, JSON_ENCODE_ANY) : NULL;
    LF_FAIL_AT("%s offset %zu: %s == %s, expected %s", run->name, offset, key,
               got_text, expected_text != NULL ? expected_text : "(absent)");
    free(expected_text);
}

/* Fails on any field that is neither compared nor request context. */
static void check_extra_fields(struct golden_run *run, size_t offset,
                               const struct lf_event *ev)
{
    for (size_t i = 0; i < ev->field_count; i++) {
        const char *key = ev->fields[i].key;

        if (in_list(key, context_keys, LF_ARRAY_SIZE(context_keys))) {
            run->differences[DIFF_CONTEXT_ADDED]++;
        } else if (!in_list(key, compared_keys, LF_ARRAY_SIZE(compared_keys))) {
            LF_FAIL_AT("%s offset %zu: unexpected field %s", run->name, offset,
                       key);
        }
    }
}

static void compare_event(struct golden_run *run, struct lf_preset *preset,
                          struct lf_event *ev, const char *line, size_t len,
                          size_t offset, const json_t *doc)
{
    run->events++;
    lf_event_reset(ev);
    ev->message = line;
    ev->message_len = len;
    if (lf_preset_apply(preset, ev, line, len, 0) != 0) {
        LF_FAIL_AT("%s offset %zu: line did not match", run->name, offset);
        return;
    }
    LF_CHECK_INT_EQ(ev->tags, 0);
    for (size_t k = 0; k < LF_ARRAY_SIZE(compared_keys); k++) {
        const char *key = compared_keys[k];
        const struct lf_value *got =
            strcmp(key, "message") == 0 ? NULL : lf_event_get(ev, key);

        compare_field(run, offset, key, got, json_object_get(doc, key), line,
                      len);
    }
    check_extra_fields(run, offset, ev);
}

/*
 * Runs `preset_name` on every event of a golden file. An event spans the
 * lines from its log.offset to the next event's offset, as Filebeat's
 * multiline setting for the error logs joined them.
 */
static void run_golden(struct golden_run *run, const char *preset_name,
                       const char *log_path)
{
    char expected_path[256];
    struct lf_preset *preset = NULL;
    struct lf_event ev;
    json_error_t error;
    json_t *docs;
    size_t len = 0;
    char *data = read_fixture(log_path, &len);
    size_t count;

    snprintf(expected_path, sizeof(expected_path), "%s-expected.json",
             log_path);
    docs = json_load_file(lf_test_fixture(expected_path), 0, &error);
    LF_CHECK(docs != NULL && json_is_array(docs));
    LF_CHECK_INT_EQ(lf_preset_new(preset_name, &preset), 0);
    lf_event_init(&ev);
    run->name = log_path;
    count = docs != NULL ? json_array_size(docs) : 0;
    for (size_t i = 0; data != NULL && preset != NULL && i < count; i++) {
        const json_t *doc = json_array_get(docs, i);
        size_t start =
            (size_t)json_integer_value(json_object_get(doc, "log.offset"));
        size_t end = i + 1 < count
                         ? (size_t)json_integer_value(json_object_get(
                               json_array_get(docs, i + 1), "log.offset"))
                         : len;

        while (end > start && data[end - 1] == '\n') {
            end--;
        }
        LF_CHECK(start <= end && end <= len);
        if (start <= end && end <= len) {
            compare_event(run, preset, &ev, data + start, end - start, start,
                          doc);
        }
    }
    lf_event_cleanup(&ev);
    json_decref(docs);
    lf_free(data);
    lf_preset_free(preset);
}

static void test_web_error_golden_nginx(void)
{
    struct golden_run run = {0};

    run_golden(&run, "nginx", "filebeat-modules/nginx/error.log");
    LF_CHECK_INT_EQ(run.events, 4);
    LF_CHECK_INT_EQ(run.compared_fields, 30);
    LF_CHECK_INT_EQ(run.differences[DIFF_TIME_WITHOUT_ZONE], 4);
    LF_CHECK_INT_EQ(run.differences[DIFF_LEVEL_NORMALISED], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_MESSAGE_WHOLE_LINE], 4);
    /* source.* and 6 or 7 request fields on the 3 lines with a client. */
    LF_CHECK_INT_EQ(run.differences[DIFF_CONTEXT_ADDED], 25);
}

static void test_web_error_golden_apache_22(void)
{
    struct golden_run run = {0};

    run_golden(&run, "apache",
               "filebeat-modules/apache/error-ubuntu-2.2.22.log");
    LF_CHECK_INT_EQ(run.events, 7);
    LF_CHECK_INT_EQ(run.compared_fields, 33);
    LF_CHECK_INT_EQ(run.differences[DIFF_TIME_WITHOUT_ZONE], 7);
    LF_CHECK_INT_EQ(run.differences[DIFF_LEVEL_NORMALISED], 1);
    LF_CHECK_INT_EQ(run.differences[DIFF_MESSAGE_WHOLE_LINE], 7);
    LF_CHECK_INT_EQ(run.differences[DIFF_CONTEXT_ADDED], 0);
}

static void test_web_error_golden_apache_24(void)
{
    struct golden_run run = {0};

    run_golden(&run, "apache",
               "filebeat-modules/apache/error-darwin-2.4.23.log");
    LF_CHECK_INT_EQ(run.events, 2);
    LF_CHECK_INT_EQ(run.compared_fields, 10);
    LF_CHECK_INT_EQ(run.differences[DIFF_TIME_WITHOUT_ZONE], 2);
    LF_CHECK_INT_EQ(run.differences[DIFF_LEVEL_NORMALISED], 2);
    LF_CHECK_INT_EQ(run.differences[DIFF_MESSAGE_WHOLE_LINE], 2);
    LF_CHECK_INT_EQ(run.differences[DIFF_CONTEXT_ADDED], 0);
}

enum { MAX_EXPECTED = 16 };

struct expected_field {
    const char *key;
    const char *value; /* as format_value() writes it */
};

/* Applies a preset to `line` and checks every field exactly. */
static void check_line(const char *preset_name, const char *line,
                       const struct expected_field *fields)
{
    struct lf_preset *preset = NULL;
    struct lf_event ev;
    size_t count = 0;
    char text[512];

    LF_CHECK_INT_EQ(lf_preset_new(preset_name, &preset), 0);
    if (preset == NULL) {
        return;
    }
    lf_event_init(&ev);
    ev.message = line;
    ev.message_len = strlen(line);
    LF_CHECK_INT_EQ(lf_preset_apply(preset, &ev, line, strlen(line), 0), 0);
    for (; count < MAX_EXPECTED && fields[count].key != NULL; count++) {
        const struct lf_value *v = lf_event_get(&ev, fields[count].key);

        format_value(v, text, sizeof(text));
        if (strcmp(text, fields[count].value) != 0) {
            LF_FAIL_AT("%s == %s, expected %s", fields[count].key, text,
                       fields[count].value);
        }
    }
    LF_CHECK_INT_EQ(ev.field_count, count);
    LF_CHECK_INT_EQ(ev.tags, 0);
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_web_error_nginx_context(void)
{
    static const struct expected_field fields[] = {
        {"@timestamp", "2024-03-05T07:08:09.000"},
        {"log.level", "\"error\""},
        {"process.pid", "123"},
        {"process.thread.id", "0"},
        {"nginx.error.connection_id", "45"},
        {"source.address", "\"2001:db8::1\""},
        {"source.ip", "\"2001:db8::1\""},
        {"http.request.method", "\"GET\""},
        {"url.original", "\"/a?b=1\""},
        {"url.path", "\"/a\""},
        {"url.query", "\"b=1\""},
        {"http.version", "\"1.1\""},
        {"url.domain", "\"shop.example.com\""},
        {"url.port", "8080"},
        {NULL, NULL},
    };

    /* The first ", client: " is part of the message text. */
    check_line("nginx",
               "2024/03/05 07:08:09 [error] 123#0: *45 upstream said "
               "\"x, client: 1\", client: 2001:db8::1, server: shop, "
               "request: \"GET /a?b=1 HTTP/1.1\", upstream: "
               "\"http://10.0.0.1:80/a\", host: \"shop.example.com:8080\"",
               fields);
}

static void test_web_error_nginx_without_connection(void)
{
    static const struct expected_field fields[] = {
        {"@timestamp", "2024-03-05T07:08:09.000"},
        {"log.level", "\"info\""},
        {"process.pid", "1"},
        {"process.thread.id", "1"},
        {NULL, NULL},
    };

    check_line("nginx",
               "2024/03/05 07:08:09 [notice] 1#1: start worker processes",
               fields);
}

static void test_web_error_apache_24_client_port(void)
{
    static const struct expected_field fields[] = {
        {"@timestamp", "2024-03-05T07:08:09.123"},
        {"log.level", "\"error\""},
        {"apache.error.module", "\"proxy\""},
        {"process.pid", "12"},
        {"process.thread.id", "140"},
        {"source.address", "\"203.0.113.7\""},
        {"source.ip", "\"203.0.113.7\""},
        {"source.port", "51234"},
        {NULL, NULL},
    };

    check_line("apache",
               "[Tue Mar 05 07:08:09.123456 2024] [proxy:error] "
               "[pid 12:tid 140] [client 203.0.113.7:51234] AH00898: "
               "Error reading from remote server",
               fields);
}

static void test_web_error_apache_22_client(void)
{
    static const struct expected_field fields[] = {
        {"@timestamp", "2024-03-05T07:08:09.000"},
        {"log.level", "\"warn\""},
        {"source.address", "\"192.0.2.1\""},
        {"source.ip", "\"192.0.2.1\""},
        {NULL, NULL},
    };

    check_line("apache",
               "[Tue Mar  5 07:08:09 2024] [warn] [client 192.0.2.1] "
               "mod_fcgid: stderr: [x] y",
               fields);
}

/* Other formats, and every cut of an error line, match cleanly or not. */
static void test_web_error_rejects_and_truncations(void)
{
    static const char *const others[] = {
        "2024/03/05 07:08:09 error 123#0: no brackets",
        "2024/03/05 07:08:09 [error] abc#0: bad pid",
        "2024/13/05 07:08:09 [error] 1#0: bad month",
        "[Tue Mar 05 07:08:09 2024] [Error Log] spaces in level",
        "[Xyz Mar 05 07:08:09 2024] [error] bad weekday",
        "[Tue Mar 05 07:08:09 2024 [error] no close",
        "plain text",
        "",
    };
    static const char nginx_line[] =
        "2024/03/05 07:08:09 [error] 123#4: *5 failed, client: 1.2.3.4, "
        "request: \"GET / HTTP/1.1\", host: \"h\"";
    static const char apache_line[] =
        "[Tue Mar 05 07:08:09.5 2024] [core:crit] [pid 1:tid 2] "
        "[client [::1]:80] x";
    struct lf_preset *nginx = NULL;
    struct lf_preset *apache = NULL;
    struct lf_event ev;

    LF_CHECK_INT_EQ(lf_preset_new("nginx", &nginx), 0);
    LF_CHECK_INT_EQ(lf_preset_new("apache", &apache), 0);
    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(others); i++) {
        size_t len = strlen(others[i]);

        lf_event_reset(&ev);
        LF_CHECK_INT_EQ(lf_preset_apply(nginx, &ev, others[i], len, 0),
                        LF_ENOMATCH);
        LF_CHECK_INT_EQ(lf_preset_apply(apache, &ev, others[i], len, 0),
                        LF_ENOMATCH);
        LF_CHECK_INT_EQ(ev.field_count, 0);
    }
    for (size_t n = 0; n <= LF_STRLEN(nginx_line); n++) {
        char *copy = lf_malloc(n + 1);

        memcpy(copy, nginx_line, n);
        lf_event_reset(&ev);
        if (lf_preset_apply(nginx, &ev, copy, n, 0) != 0) {
            LF_CHECK_INT_EQ(ev.field_count, 0);
        }
        lf_free(copy);
    }
    for (size_t n = 0; n <= LF_STRLEN(apache_line); n++) {
        char *copy = lf_malloc(n + 1);

        memcpy(copy, apache_line, n);
        lf_event_reset(&ev);
        if (lf_preset_apply(apache, &ev, copy, n, 0) != 0) {
            LF_CHECK_INT_EQ(ev.field_count, 0);
        }
        lf_free(copy);
    }
    lf_event_cleanup(&ev);
    lf_preset_free(nginx);
    lf_preset_free(apache);
}

/* A 1 MiB error line with invalid UTF-8 matches and keeps its bytes. */
static void test_web_error_huge_line(void)
{
    static const char header[] = "2024/03/05 07:08:09 [error] 9#9: *1 ";
    size_t len = 1024 * 1024;
    char *line = lf_malloc(len);
    struct lf_preset *nginx = NULL;
    struct lf_event ev;

    memcpy(line, header, LF_STRLEN(header));
    for (size_t i = LF_STRLEN(header); i < len; i++) {
        line[i] = ", client: \xff\xc3\""[i % 13];
    }
    LF_CHECK_INT_EQ(lf_preset_new("nginx", &nginx), 0);
    lf_event_init(&ev);
    LF_CHECK_INT_EQ(lf_preset_apply(nginx, &ev, line, len, 0), 0);
    LF_CHECK_INT_EQ(lf_event_get(&ev, "process.pid")->u.i, 9);
    lf_event_cleanup(&ev);
    lf_preset_free(nginx);
    lf_free(line);
}

int main(void)
{
    LF_RUN(test_web_error_golden_nginx);
    LF_RUN(test_web_error_golden_apache_22);
    LF_RUN(test_web_error_golden_apache_24);
    LF_RUN(test_web_error_nginx_context);
    LF_RUN(test_web_error_nginx_without_connection);
    LF_RUN(test_web_error_apache_24_client_port);
    LF_RUN(test_web_error_apache_22_client);
    LF_RUN(test_web_error_rejects_and_truncations);
    LF_RUN(test_web_error_huge_line);
    return lf_test_end();
}
