/*
 * Tests of the access log preset. The first part runs it on Filebeat's
 * golden files (tests/fixtures/filebeat-access) and compares every field
 * that both produce. The few places where the preset deliberately differs
 * are listed in golden_difference() with their reason, and counted. The
 * second part pins behaviour that the golden files do not reach.
 */
#include "lf_test.h"

#include "lf/error.h"
#include "lf/event.h"
#include "lf/mem.h"
#include "parsers/presets.h"

#include <jansson.h>
#include <time.h>

#define NS INT64_C(1000000000)

/* Fields that both the preset and Filebeat's modules set. */
static const char *const compared_keys[] = {
    "@timestamp",
    "source.address",
    "source.ip",
    "destination.ip",
    "destination.domain",
    "destination.port",
    "user.name",
    "http.request.method",
    "url.original",
    "http.version",
    "http.response.status_code",
    "http.response.body.bytes",
    "http.request.referrer",
    "user_agent.original",
};

enum golden_difference_kind {
    DIFF_NONE,
    DIFF_DASH_OMITTED,
    DIFF_PORT_INTEGER,
    DIFF_SOURCE_ADDRESS_ADDED,
    DIFF_KIND_COUNT,
};

struct golden_run {
    const char *name;
    int lines;
    int compared_fields;
    int differences[DIFF_KIND_COUNT];
};

static struct lf_preset *new_preset(void)
{
    struct lf_preset *preset = NULL;

    LF_CHECK_INT_EQ(lf_preset_new("nginx", &preset), 0);
    return preset;
}

static int apply(struct lf_preset *preset, struct lf_event *ev,
                 const char *line, size_t len)
{
    lf_event_reset(ev);
    ev->message = line;
    ev->message_len = len;
    return lf_preset_apply(preset, ev, ev->message, ev->message_len, 0);
}

static int apply_str(struct lf_preset *preset, struct lf_event *ev,
                     const char *line)
{
    return apply(preset, ev, line, strlen(line));
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

/* Formats a timestamp as Elasticsearch writes it: 2016-12-07T10:05:07.000Z */
static void format_timestamp(int64_t ns, char *out, size_t size)
{
    time_t seconds = (time_t)(ns / NS);
    struct tm tm;

    gmtime_r(&seconds, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ns % NS / 1000000));
}

static bool value_equals(const struct lf_value *v, const json_t *expected)
{
    char text[64];

    switch (v->type) {
    case LF_VALUE_STRING:
        return json_is_string(expected) &&
               json_string_length(expected) == v->u.str.len &&
               memcmp(json_string_value(expected), v->u.str.ptr,
                      v->u.str.len) == 0;
    case LF_VALUE_INT:
        return json_is_integer(expected) &&
               json_integer_value(expected) == v->u.i;
    case LF_VALUE_TIMESTAMP:
        format_timestamp(v->u.ts_ns, text, sizeof(text));
        return json_is_string(expected) &&
               strcmp(json_string_value(expected), text) == 0;
    default:
        return false;
    }
}

/*
 * Classifies a field on which the preset and Filebeat disagree on
 * purpose. Any other disagreement fails the test.
 */
static enum golden_difference_kind golden_difference(const char *key,
                                                     const struct lf_value *got,
                                                     const json_t *expected)
{
    /*
     * Filebeat's apache pipeline keeps "-" for an empty user, referrer or
     * user agent; its nginx pipeline drops it. "-" is the format's way
     * of writing "no value", so the preset leaves these fields out.
     */
    if (got == NULL && json_is_string(expected) &&
        strcmp(json_string_value(expected), "-") == 0 &&
        (strcmp(key, "user.name") == 0 ||
         strcmp(key, "http.request.referrer") == 0 ||
         strcmp(key, "user_agent.original") == 0)) {
        return DIFF_DASH_OMITTED;
    }
    /*
     * Filebeat leaves destination.port a string ("80"); ECS types it as a
     * long, and the preset sets the integer.
     */
    if (strcmp(key, "destination.port") == 0 && got != NULL &&
        got->type == LF_VALUE_INT && json_is_string(expected)) {
        char digits[24];

        snprintf(digits, sizeof(digits), "%lld", (long long)got->u.i);
        if (strcmp(digits, json_string_value(expected)) == 0) {
            return DIFF_PORT_INTEGER;
        }
    }
    /*
     * For a vhost line Filebeat's apache pipeline sets source.ip alone.
     * ECS keeps the raw client in source.address next to source.ip, as
     * Filebeat's nginx pipeline does, so the preset always sets it.
     */
    if (strcmp(key, "source.address") == 0 && expected == NULL && got != NULL) {
        return DIFF_SOURCE_ADDRESS_ADDED;
    }
    return DIFF_NONE;
}

static void print_value(const struct lf_value *got, char *out, size_t size)
{
    if (got == NULL) {
        snprintf(out, size, "(absent)");
    } else if (got->type == LF_VALUE_STRING) {
        snprintf(out, size, "\"%.*s\"", (int)got->u.str.len, got->u.str.ptr);
    } else if (got->type == LF_VALUE_INT) {
        snprintf(out, size, "%lld", (long long)got->u.i);
    } else if (got->type == LF_VALUE_TIMESTAMP) {
        format_timestamp(got->u.ts_ns, out, size);
    } else {
        snprintf(out, size, "(type %d)", (int)got->type);
    }
}

static void compare_field(struct golden_run *run, size_t offset,
                          const char *key, const struct lf_value *got,
                          const json_t *expected)
{
    enum golden_difference_kind kind;
    char got_text[256];
    char *expected_text;

    if (got == NULL && expected == NULL) {
        return;
    }
    run->compared_fields++;
    if (got != NULL && expected != NULL && value_equals(got, expected)) {
        return;
    }
    kind = golden_difference(key, got, expected);
    if (kind != DIFF_NONE) {
        run->differences[kind]++;
        return;
    }
    print_value(got, got_text, sizeof(got_text));
    expected_text =
        expected != NULL ? json_dumps(expected, JSON_ENCODE_ANY) : NULL;
    LF_FAIL_AT("%s offset %zu: %s == %s, expected %s", run->name, offset, key,
               got_text, expected_text != NULL ? expected_text : "(absent)");
    free(expected_text);
}

/* url.path is url.original up to the query; Filebeat 2021 had no url.path. */
static void check_url_path(struct golden_run *run, size_t offset,
                           const struct lf_event *ev)
{
    const struct lf_value *original = lf_event_get(ev, "url.original");
    const struct lf_value *path = lf_event_get(ev, "url.path");
    const char *query;
    size_t path_len;

    if (original == NULL) {
        LF_CHECK(path == NULL);
        return;
    }
    query = memchr(original->u.str.ptr, '?', original->u.str.len);
    path_len = query != NULL ? (size_t)(query - original->u.str.ptr)
                             : original->u.str.len;
    if (path == NULL || path->u.str.len != path_len ||
        memcmp(path->u.str.ptr, original->u.str.ptr, path_len) != 0) {
        LF_FAIL_AT("%s offset %zu: url.path does not match url.original",
                   run->name, offset);
    }
}

static const json_t *find_expected(const json_t *docs, size_t offset)
{
    size_t i;
    const json_t *doc;

    json_array_foreach(docs, i, doc)
    {
        const json_t *value = json_object_get(doc, "log.offset");

        if (json_integer_value(value) == (json_int_t)offset) {
            return doc;
        }
    }
    return NULL;
}

static void compare_line(struct golden_run *run, struct lf_preset *preset,
                         struct lf_event *ev, const char *line, size_t len,
                         size_t offset, const json_t *docs)
{
    const json_t *doc = find_expected(docs, offset);

    run->lines++;
    if (doc == NULL) {
        LF_FAIL_AT("%s offset %zu: no expected document", run->name, offset);
        return;
    }
    if (apply(preset, ev, line, len) != 0) {
        LF_FAIL_AT("%s offset %zu: line did not match", run->name, offset);
        return;
    }
    LF_CHECK_INT_EQ(ev->tags, 0);
    for (size_t k = 0; k < LF_ARRAY_SIZE(compared_keys); k++) {
        const char *key = compared_keys[k];

        compare_field(run, offset, key, lf_event_get(ev, key),
                      json_object_get(doc, key));
    }
    check_url_path(run, offset, ev);
}

static void run_golden(struct golden_run *run, const char *log_path)
{
    char expected_path[256];
    struct lf_preset *preset = new_preset();
    struct lf_event ev;
    json_error_t error;
    json_t *docs;
    size_t len = 0;
    char *data = read_fixture(log_path, &len);

    snprintf(expected_path, sizeof(expected_path), "%s-expected.json",
             log_path);
    docs = json_load_file(lf_test_fixture(expected_path), 0, &error);
    LF_CHECK(docs != NULL && json_is_array(docs));
    lf_event_init(&ev);
    run->name = log_path;
    for (size_t start = 0; data != NULL && docs != NULL && start < len;) {
        const char *nl = memchr(data + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - data) : len;

        if (end > start) {
            compare_line(run, preset, &ev, data + start, end - start, start,
                         docs);
        }
        start = end + 1;
    }
    lf_event_cleanup(&ev);
    json_decref(docs);
    lf_free(data);
    lf_preset_free(preset);
}

static void test_presets_golden_nginx(void)
{
    struct golden_run run = {0};

    run_golden(&run, "filebeat-access/nginx/test.log");
    LF_CHECK_INT_EQ(run.lines, 10);
    LF_CHECK_INT_EQ(run.compared_fields, 79);
    LF_CHECK_INT_EQ(run.differences[DIFF_DASH_OMITTED], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_PORT_INTEGER], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_SOURCE_ADDRESS_ADDED], 0);
}

static void test_presets_golden_nginx_vhost(void)
{
    struct golden_run run = {0};

    run_golden(&run, "filebeat-access/nginx/test-with-host.log");
    LF_CHECK_INT_EQ(run.lines, 10);
    LF_CHECK_INT_EQ(run.compared_fields, 93);
    LF_CHECK_INT_EQ(run.differences[DIFF_DASH_OMITTED], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_PORT_INTEGER], 4);
    LF_CHECK_INT_EQ(run.differences[DIFF_SOURCE_ADDRESS_ADDED], 0);
}

static void test_presets_golden_apache(void)
{
    struct golden_run run = {0};

    run_golden(&run, "filebeat-access/apache/test.log");
    LF_CHECK_INT_EQ(run.lines, 6);
    LF_CHECK_INT_EQ(run.compared_fields, 54);
    LF_CHECK_INT_EQ(run.differences[DIFF_DASH_OMITTED], 11);
    LF_CHECK_INT_EQ(run.differences[DIFF_PORT_INTEGER], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_SOURCE_ADDRESS_ADDED], 0);
}

static void test_presets_golden_apache_darwin(void)
{
    struct golden_run run = {0};

    run_golden(&run, "filebeat-access/apache/darwin-2.4.23.log");
    LF_CHECK_INT_EQ(run.lines, 6);
    LF_CHECK_INT_EQ(run.compared_fields, 50);
    LF_CHECK_INT_EQ(run.differences[DIFF_DASH_OMITTED], 6);
    LF_CHECK_INT_EQ(run.differences[DIFF_PORT_INTEGER], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_SOURCE_ADDRESS_ADDED], 0);
}

static void test_presets_golden_apache_vhost(void)
{
    struct golden_run run = {0};

    run_golden(&run, "filebeat-access/apache/test-vhost.log");
    LF_CHECK_INT_EQ(run.lines, 1);
    LF_CHECK_INT_EQ(run.compared_fields, 12);
    LF_CHECK_INT_EQ(run.differences[DIFF_DASH_OMITTED], 2);
    LF_CHECK_INT_EQ(run.differences[DIFF_PORT_INTEGER], 0);
    LF_CHECK_INT_EQ(run.differences[DIFF_SOURCE_ADDRESS_ADDED], 1);
}

static const struct lf_value *
get_typed(const struct lf_event *ev, const char *key, enum lf_value_type type)
{
    const struct lf_value *v = lf_event_get(ev, key);

    if (v == NULL) {
        LF_FAIL_AT("field %s is missing", key);
        return NULL;
    }
    if (v->type != type) {
        LF_FAIL_AT("field %s has type %d, expected %d", key, (int)v->type,
                   (int)type);
        return NULL;
    }
    return v;
}

static void check_str(const struct lf_event *ev, const char *key,
                      const char *expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_STRING);

    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, expected);
    }
}

static void check_int(const struct lf_event *ev, const char *key,
                      int64_t expected)
{
    const struct lf_value *v = get_typed(ev, key, LF_VALUE_INT);

    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.i, expected);
    }
}

static void check_absent(const struct lf_event *ev, const char *key)
{
    if (lf_event_get(ev, key) != NULL) {
        LF_FAIL_AT("field %s is set, expected absent", key);
    }
}

static void test_presets_combined_line_fields(void)
{
    struct lf_preset *preset = new_preset();
    const char line[] =
        "198.51.100.23 - alice [05/Mar/2024:07:08:09 +0000] \"POST "
        "/api/v2/orders?id=17&x=y#top HTTP/2.0\" 201 532 "
        "\"https://shop.example/cart\" \"curl/8.5.0\"";
    const struct lf_value *v;
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply_str(preset, &ev, line), 0);
    LF_CHECK_INT_EQ(ev.tags, 0);
    LF_CHECK_INT_EQ(ev.field_count, 14);
    check_str(&ev, "source.address", "198.51.100.23");
    check_str(&ev, "source.ip", "198.51.100.23");
    check_str(&ev, "user.name", "alice");
    v = get_typed(&ev, "@timestamp", LF_VALUE_TIMESTAMP);
    if (v != NULL) {
        LF_CHECK_INT_EQ(v->u.ts_ns, 1709622489 * NS);
    }
    check_str(&ev, "http.request.method", "POST");
    check_str(&ev, "url.original", "/api/v2/orders?id=17&x=y#top");
    check_str(&ev, "url.path", "/api/v2/orders");
    check_str(&ev, "url.query", "id=17&x=y");
    check_str(&ev, "url.fragment", "top");
    check_str(&ev, "http.version", "2.0");
    check_int(&ev, "http.response.status_code", 201);
    check_int(&ev, "http.response.body.bytes", 532);
    check_str(&ev, "http.request.referrer", "https://shop.example/cart");
    check_str(&ev, "user_agent.original", "curl/8.5.0");
    /* Strings are borrowed from the line. */
    v = lf_event_get(&ev, "user_agent.original");
    LF_CHECK(v != NULL && v->u.str.ptr > line &&
             v->u.str.ptr < line + sizeof(line));
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_common_format(void)
{
    struct lf_preset *preset = new_preset();
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply_str(preset, &ev,
                              "192.0.2.7 - - [31/Jan/2024:23:59:59 -0500] "
                              "\"GET /index.html HTTP/1.0\" 304 -"),
                    0);
    LF_CHECK_INT_EQ(ev.tags, 0);
    check_str(&ev, "url.path", "/index.html");
    check_absent(&ev, "url.query");
    check_int(&ev, "http.response.status_code", 304);
    check_absent(&ev, "http.response.body.bytes");
    check_absent(&ev, "user.name");
    check_absent(&ev, "http.request.referrer");
    check_absent(&ev, "user_agent.original");
    LF_CHECK_INT_EQ(ev.field_count, 8);
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_escaped_quotes_and_extra_fields(void)
{
    struct lf_preset *preset = new_preset();
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply_str(preset, &ev,
                              "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] "
                              "\"GET /q?s=\\\"x\\\" HTTP/1.1\" 200 5 "
                              "\"C:\\\\\" \"Agent \\\"quoted\\\"\" 0.004 "
                              "\"10.1.1.1\""),
                    0);
    check_str(&ev, "url.original", "/q?s=\\\"x\\\"");
    check_str(&ev, "url.query", "s=\\\"x\\\"");
    /* An escaped backslash right before the quote does not escape it. */
    check_str(&ev, "http.request.referrer", "C:\\\\");
    check_str(&ev, "user_agent.original", "Agent \\\"quoted\\\"");
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_request_forms(void)
{
    static const struct {
        const char *request;
        const char *method; /* NULL: no request fields */
        const char *path;   /* NULL: no url.path */
    } cases[] = {
        {"GET http://origin.example:8080/a/b?c=d HTTP/1.1", "GET", "/a/b"},
        {"GET http://origin.example HTTP/1.1", "GET", NULL},
        {"CONNECT origin.example:443 HTTP/1.1", "CONNECT", NULL},
        {"OPTIONS * HTTP/1.1", "OPTIONS", NULL},
        {"GET /a b HTTP/1.1", "GET", "/a b"},
        {"GET /x", NULL, NULL},
        {"GET HTTP/1.1", NULL, NULL},
        {"GET /x HTTP/", NULL, NULL},
        {"GET /x FTP/1.0", NULL, NULL},
        {"\\x16\\x03\\x01\\x00\\xF1\\x01", NULL, NULL},
        {"hello", NULL, NULL},
        {"-", NULL, NULL},
        {"", NULL, NULL},
    };
    struct lf_preset *preset = new_preset();
    struct lf_event ev;
    char line[256];

    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        snprintf(line, sizeof(line),
                 "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] \"%s\" 400 0",
                 cases[i].request);
        LF_CHECK_INT_EQ(apply_str(preset, &ev, line), 0);
        if (cases[i].method != NULL) {
            check_str(&ev, "http.request.method", cases[i].method);
            check_str(&ev, "http.version", "1.1");
        } else {
            check_absent(&ev, "http.request.method");
            check_absent(&ev, "url.original");
            check_absent(&ev, "http.version");
        }
        if (cases[i].path != NULL) {
            check_str(&ev, "url.path", cases[i].path);
        } else {
            check_absent(&ev, "url.path");
        }
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_client_from_forwarded_list(void)
{
    static const struct {
        const char *addresses;
        const char *client;
        bool is_ip;
    } cases[] = {
        {"10.0.0.1, 192.168.1.1, 203.0.113.7, 8.8.8.8", "203.0.113.7", true},
        {"10.0.0.1, 172.16.5.4, 127.0.0.1", "10.0.0.1", true},
        {"172.32.0.1, 10.0.0.1", "172.32.0.1", true},
        {"100.64.0.1, 169.254.1.1, 100.128.0.1", "100.128.0.1", true},
        {"fd00::1, fe80::2, 2001:db8::5", "2001:db8::5", true},
        {"::ffff:10.0.0.1, ::1, 1.1.1.1", "1.1.1.1", true},
        {"\"10.0.0.1, 192.0.2.1\" 10.0.0.2", "192.0.2.1", true},
        {"localhost, 10.0.0.1", "localhost", false},
        {"unix:", "unix:", false},
    };
    struct lf_preset *preset = new_preset();
    struct lf_event ev;
    char line[256];

    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        snprintf(line, sizeof(line),
                 "%s - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" "
                 "200 1",
                 cases[i].addresses);
        LF_CHECK_INT_EQ(apply_str(preset, &ev, line), 0);
        check_str(&ev, "source.address", cases[i].client);
        if (cases[i].is_ip) {
            check_str(&ev, "source.ip", cases[i].client);
        } else {
            check_absent(&ev, "source.ip");
        }
        check_absent(&ev, "destination.address");
    }
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_vhost_prefix(void)
{
    struct lf_preset *preset = new_preset();
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply_str(preset, &ev,
                              "[2001:db8::1]:8443 192.0.2.7 - - "
                              "[05/Mar/2024:07:08:09 +0000] \"GET / "
                              "HTTP/1.1\" 200 1"),
                    0);
    check_str(&ev, "destination.address", "2001:db8::1");
    check_str(&ev, "destination.ip", "2001:db8::1");
    check_int(&ev, "destination.port", 8443);
    check_str(&ev, "source.ip", "192.0.2.7");

    LF_CHECK_INT_EQ(apply_str(preset, &ev,
                              "2001:db8::1 192.0.2.7 - - "
                              "[05/Mar/2024:07:08:09 +0000] \"GET / "
                              "HTTP/1.1\" 200 1"),
                    0);
    check_str(&ev, "destination.ip", "2001:db8::1");
    check_absent(&ev, "destination.port");

    LF_CHECK_INT_EQ(apply_str(preset, &ev,
                              "shop.example:http 192.0.2.7 - - "
                              "[05/Mar/2024:07:08:09 +0000] \"GET / "
                              "HTTP/1.1\" 200 1"),
                    0);
    check_str(&ev, "destination.domain", "shop.example");
    check_absent(&ev, "destination.port");
    LF_CHECK_INT_EQ(ev.tags, LF_TAG_CONVERSION_FAILURE);
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_bad_time_keeps_line(void)
{
    struct lf_preset *preset = new_preset();
    struct lf_event ev;

    lf_event_init(&ev);
    LF_CHECK_INT_EQ(apply_str(preset, &ev,
                              "192.0.2.7 - - [31/Feb/2024:07:08:09 +0000] "
                              "\"GET / HTTP/1.1\" 200 1"),
                    0);
    LF_CHECK_INT_EQ(ev.tags, LF_TAG_TIMESTAMP_FAILURE);
    check_absent(&ev, "@timestamp");
    check_int(&ev, "http.response.status_code", 200);
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_rejects_other_formats(void)
{
    static const char *const lines[] = {
        "",
        "hello world",
        "2024-03-05T07:08:09Z INFO started",
        " - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" 200 1",
        "192.0.2.7 - - 05/Mar/2024:07:08:09 +0000 \"GET / HTTP/1.1\" 200 1",
        "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1 200 1",
        "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" - 1",
        "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" 200",
        "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" 2x0 1",
        "192.0.2.7 - - [05/Mar/2024:07:08:09 +0000] \"GET / HTTP/1.1\" 200 "
        "1x",
        "192.0.2.7 ident frank [05/Mar/2024:07:08:09 +0000] \"GET /\" 200 1",
    };
    struct lf_preset *preset = new_preset();
    struct lf_event ev;

    lf_event_init(&ev);
    for (size_t i = 0; i < LF_ARRAY_SIZE(lines); i++) {
        int rc = apply_str(preset, &ev, lines[i]);

        if (rc != LF_ENOMATCH || ev.field_count != 0 || ev.tags != 0) {
            LF_FAIL_AT("line %zu returned %d with %zu fields, expected "
                       "LF_ENOMATCH and none",
                       i, rc, ev.field_count);
        }
    }
    lf_event_reset(&ev);
    LF_CHECK_INT_EQ(lf_preset_apply(preset, &ev, ev.message, ev.message_len, 0),
                    LF_ENOMATCH);
    lf_event_cleanup(&ev);
    lf_preset_free(preset);
}

static void test_presets_names(void)
{
    struct lf_preset *preset = NULL;

    LF_CHECK_INT_EQ(lf_preset_new("apache", &preset), 0);
    LF_CHECK(preset != NULL);
    lf_preset_free(preset);
    preset = NULL;
    LF_CHECK_INT_EQ(lf_preset_new("nginx-access", &preset), LF_ENOENT);
    LF_CHECK_INT_EQ(lf_preset_new("NGINX", &preset), LF_ENOENT);
    LF_CHECK(preset == NULL);
    lf_preset_free(NULL);
}

int main(void)
{
    LF_RUN(test_presets_golden_nginx);
    LF_RUN(test_presets_golden_nginx_vhost);
    LF_RUN(test_presets_golden_apache);
    LF_RUN(test_presets_golden_apache_darwin);
    LF_RUN(test_presets_golden_apache_vhost);
    LF_RUN(test_presets_combined_line_fields);
    LF_RUN(test_presets_common_format);
    LF_RUN(test_presets_escaped_quotes_and_extra_fields);
    LF_RUN(test_presets_request_forms);
    LF_RUN(test_presets_client_from_forwarded_list);
    LF_RUN(test_presets_vhost_prefix);
    LF_RUN(test_presets_bad_time_keeps_line);
    LF_RUN(test_presets_rejects_other_formats);
    LF_RUN(test_presets_names);
    return lf_test_end();
}
