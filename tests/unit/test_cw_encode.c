/*
 * PutLogEvents bodies and CloudWatch Logs replies: exact bytes and
 * escaping, validation against the API model's shapes, and the AWS JSON
 * 1.1 protocol tests for headers, string bodies and error replies.
 */
#include "outputs/cloudwatch/cw_encode.h"
#include "lf/error.h"
#include "lf/json.h"
#include "lf/mem.h"

#include "lf_test.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include <strings.h>

#define NOW_MS 1772452800000LL

static json_t *load_fixture(const char *relative)
{
    json_error_t error;
    json_t *root = json_load_file(lf_test_fixture(relative), 0, &error);

    if (root == NULL) {
        LF_FAIL_AT("cannot load %s: %s (line %d)", relative, error.text,
                   error.line);
    }
    return root;
}

/* Builds a batch with the builder, so entries are as the output has them. */
static struct lf_cw_batch *make_batch(const char *const *messages, size_t count)
{
    struct lf_cw_batch_options o;
    struct lf_cw_batcher *b;
    struct lf_cw_batch *batch;
    enum lf_cw_add_result result;
    char err[128];

    lf_cw_batch_options_init(&o);
    b = lf_cw_batcher_new(&o, err, sizeof(err));
    for (size_t i = 0; i < count; i++) {
        struct lf_cw_event_ref ref = {NULL, i};

        lf_cw_batcher_add(b, NOW_MS + (int64_t)i, messages[i],
                          strlen(messages[i]), ref, NOW_MS, &result);
    }
    batch = lf_cw_batcher_take(b);
    lf_cw_batcher_free(b);
    return batch;
}

static void test_cw_encode_body_exact(void)
{
    static const char *const messages[] = {
        "plain",
        "q\"b\\s/",
        "\n\r\t\b\f\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    };
    struct lf_cw_batch *batch = make_batch(messages, 4);
    struct lf_buf buf;

    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(lf_cw_encode_put_log_events(&buf, "/ecs/rewards-api",
                                                "api/task-1", batch, NULL),
                    0);
    LF_CHECK_MEM_EQ(buf.data, buf.len,
                    "{\"logGroupName\":\"/ecs/rewards-api\","
                    "\"logStreamName\":\"api/task-1\",\"logEvents\":["
                    "{\"timestamp\":1772452800000,\"message\":\"plain\"},"
                    "{\"timestamp\":1772452800001,"
                    "\"message\":\"q\\\"b\\\\s/\"},"
                    "{\"timestamp\":1772452800002,"
                    "\"message\":\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"},"
                    "{\"timestamp\":1772452800003,\"message\":"
                    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}]}");
    lf_buf_cleanup(&buf);
    lf_cw_batch_free(batch);
}

/* Every message decodes back to its exact bytes, NUL included. */
static void test_cw_encode_round_trip(void)
{
    char all_bytes[127];
    const char *messages[1] = {"x"};
    struct lf_cw_batch *batch = make_batch(messages, 1);
    struct lf_buf buf;
    json_t *root;
    json_t *message;

    /* Every ASCII byte from 0x01 to 0x7f, then a NUL in the middle. */
    for (int i = 0; i < 127; i++) {
        all_bytes[i] = (char)(i + 1);
    }
    lf_free(batch->entries[0].message);
    batch->entries[0].message = lf_malloc(sizeof(all_bytes) + 2);
    memcpy(batch->entries[0].message, all_bytes, sizeof(all_bytes));
    batch->entries[0].message[sizeof(all_bytes)] = '\0';
    batch->entries[0].message[sizeof(all_bytes) + 1] = 'z';
    batch->entries[0].message_len = sizeof(all_bytes) + 2;

    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(lf_cw_encode_put_log_events(&buf, "g", "s", batch, NULL),
                    0);
    root = json_loadb(buf.data, buf.len, JSON_ALLOW_NUL, NULL);
    LF_CHECK(root != NULL);
    message = json_object_get(
        json_array_get(json_object_get(root, "logEvents"), 0), "message");
    LF_CHECK_INT_EQ(json_string_length(message), sizeof(all_bytes) + 2);
    if (json_string_length(message) == sizeof(all_bytes) + 2) {
        LF_CHECK_INT_EQ(memcmp(json_string_value(message),
                               batch->entries[0].message,
                               sizeof(all_bytes) + 2),
                        0);
    }
    json_decref(root);
    lf_buf_cleanup(&buf);
    lf_cw_batch_free(batch);
}

static void test_cw_encode_rejects_names(void)
{
    const char *messages[1] = {"x"};
    struct lf_cw_batch *batch = make_batch(messages, 1);
    struct lf_buf buf;

    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(
        lf_cw_encode_put_log_events(&buf, "bad group", "s", batch, NULL),
        LF_EINVAL);
    LF_CHECK_INT_EQ(lf_cw_encode_put_log_events(&buf, "g", "a:b", batch, NULL),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(lf_cw_encode_put_log_events(&buf, "", "s", batch, NULL),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(buf.len, 0);
    lf_buf_cleanup(&buf);
    lf_cw_batch_free(batch);
}

static void test_cw_encode_name_limits(void)
{
    char name[1040];

    memset(name, 'a', sizeof(name));
    LF_CHECK(lf_cw_log_group_name_valid(name, 512));
    LF_CHECK(!lf_cw_log_group_name_valid(name, 513));
    LF_CHECK(!lf_cw_log_group_name_valid(name, 0));
    LF_CHECK(lf_cw_log_group_name_valid("/aws/ecs#a.b-c_d", 16));
    LF_CHECK(!lf_cw_log_group_name_valid("a:b", 3));
    LF_CHECK(!lf_cw_log_group_name_valid("caf\xc3\xa9", 5));

    LF_CHECK(lf_cw_log_stream_name_valid(name, 512));
    LF_CHECK(!lf_cw_log_stream_name_valid(name, 513));
    LF_CHECK(!lf_cw_log_stream_name_valid(name, 0));
    LF_CHECK(lf_cw_log_stream_name_valid("host/var/log/app.log", 20));
    LF_CHECK(!lf_cw_log_stream_name_valid("a*b", 3));
    LF_CHECK(!lf_cw_log_stream_name_valid("a\xff", 2));

    /* 512 two-byte characters are 1,024 bytes and still valid. */
    for (size_t i = 0; i < 520; i++) {
        memcpy(name + 2 * i, "\xc3\xa9", 2);
    }
    LF_CHECK(lf_cw_log_stream_name_valid(name, 1024));
    LF_CHECK(!lf_cw_log_stream_name_valid(name, 1026));
}

static void test_cw_encode_sequence_token(void)
{
    const char *messages[1] = {"x"};
    struct lf_cw_batch *batch = make_batch(messages, 1);
    struct lf_buf buf;

    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(
        lf_cw_encode_put_log_events(&buf, "g", "s", batch, "49590302"), 0);
    LF_CHECK_MEM_EQ(buf.data, buf.len,
                    "{\"logGroupName\":\"g\",\"logStreamName\":\"s\","
                    "\"logEvents\":[{\"timestamp\":1772452800000,"
                    "\"message\":\"x\"}],\"sequenceToken\":\"49590302\"}");
    lf_buf_reset(&buf);
    LF_CHECK_INT_EQ(lf_cw_encode_put_log_events(&buf, "g", "s", batch, ""),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(buf.len, 0);
    lf_buf_cleanup(&buf);
    lf_cw_batch_free(batch);
}

/* ---- Validation against the model's shapes ---- */

static size_t count_chars(const char *s, size_t len)
{
    size_t chars = 0;

    for (size_t i = 0; i < len; i++) {
        chars += ((unsigned char)s[i] & 0xc0) != 0x80 ? 1 : 0;
    }
    return chars;
}

static bool matches_pattern(const char *pattern, const char *s, size_t len)
{
    int errcode;
    PCRE2_SIZE erroffset;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &errcode,
                      &erroffset, NULL);
    pcre2_match_data *md;
    int rc;

    if (re == NULL) {
        LF_FAIL_AT("pattern %s does not compile", pattern);
        return false;
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

static void validate_shape(const json_t *shapes, const char *shape_name,
                           json_t *value, const char *where);

static void validate_structure(const json_t *shapes, const json_t *shape,
                               json_t *value, const char *where)
{
    const json_t *members = json_object_get(shape, "members");
    const json_t *required = json_object_get(shape, "required");
    const char *key;
    json_t *member_value;
    size_t i;
    const json_t *name;

    if (!json_is_object(value)) {
        LF_FAIL_AT("%s is not an object", where);
        return;
    }
    json_array_foreach(required, i, name)
    {
        if (json_object_get(value, json_string_value(name)) == NULL) {
            LF_FAIL_AT("%s lacks required member %s", where,
                       json_string_value(name));
        }
    }
    json_object_foreach(value, key, member_value)
    {
        const json_t *member = json_object_get(members, key);

        if (member == NULL) {
            LF_FAIL_AT("%s has member %s that the model lacks", where, key);
            continue;
        }
        validate_shape(shapes,
                       json_string_value(json_object_get(member, "shape")),
                       member_value, key);
    }
}

static void validate_shape(const json_t *shapes, const char *shape_name,
                           json_t *value, const char *where)
{
    const json_t *shape = json_object_get(shapes, shape_name);
    const char *type = json_string_value(json_object_get(shape, "type"));
    const json_t *min = json_object_get(shape, "min");
    const json_t *max = json_object_get(shape, "max");
    const json_t *pattern = json_object_get(shape, "pattern");
    json_int_t size = 0;

    if (type == NULL) {
        LF_FAIL_AT("shape %s of %s is not in the model", shape_name, where);
        return;
    }
    if (strcmp(type, "structure") == 0) {
        validate_structure(shapes, shape, value, where);
        return;
    }
    if (strcmp(type, "list") == 0) {
        size_t i;
        json_t *item;
        const char *member_shape = json_string_value(
            json_object_get(json_object_get(shape, "member"), "shape"));

        LF_CHECK(json_is_array(value));
        size = (json_int_t)json_array_size(value);
        json_array_foreach(value, i, item)
        {
            validate_shape(shapes, member_shape, item, where);
        }
    } else if (strcmp(type, "string") == 0) {
        LF_CHECK(json_is_string(value));
        size = (json_int_t)count_chars(json_string_value(value),
                                       json_string_length(value));
        if (pattern != NULL && !matches_pattern(json_string_value(pattern),
                                                json_string_value(value),
                                                json_string_length(value))) {
            LF_FAIL_AT("%s \"%s\" does not match %s", where,
                       json_string_value(value), json_string_value(pattern));
        }
    } else if (strcmp(type, "long") == 0 || strcmp(type, "integer") == 0) {
        LF_CHECK(json_is_integer(value));
        size = json_integer_value(value);
    } else {
        LF_FAIL_AT("%s has shape type %s, not expected here", where, type);
        return;
    }
    if (min != NULL && size < json_integer_value(min)) {
        LF_FAIL_AT("%s is %lld, below the model's min %lld", where,
                   (long long)size, (long long)json_integer_value(min));
    }
    if (max != NULL && size > json_integer_value(max)) {
        LF_FAIL_AT("%s is %lld, above the model's max %lld", where,
                   (long long)size, (long long)json_integer_value(max));
    }
}

static void test_cw_encode_matches_model(void)
{
    json_t *model = load_fixture("cloudwatch-logs-api/model/service-2.json");
    const json_t *shapes = json_object_get(model, "shapes");
    const json_t *metadata = json_object_get(model, "metadata");
    static const char *const messages[] = {"a", "\xe2\x82\xac", "x\ny"};
    struct lf_cw_batch *batch = make_batch(messages, 3);
    struct lf_buf buf;
    json_t *body;

    LF_CHECK_STR_EQ(
        json_string_value(json_object_get(metadata, "targetPrefix")),
        LF_CW_TARGET_PREFIX);
    LF_CHECK_STR_EQ(
        json_string_value(json_object_get(metadata, "endpointPrefix")),
        LF_CW_SIGNING_NAME);
    LF_CHECK_STR_EQ(json_string_value(json_object_get(metadata, "jsonVersion")),
                    "1.1");

    lf_buf_init(&buf);
    for (int with_token = 0; with_token < 2; with_token++) {
        lf_buf_reset(&buf);
        LF_CHECK_INT_EQ(lf_cw_encode_put_log_events(
                            &buf, "/ecs/rewards-api", "web/\xc3\xa9/1", batch,
                            with_token ? "49590302" : NULL),
                        0);
        body = json_loadb(buf.data, buf.len, 0, NULL);
        LF_CHECK(body != NULL);
        if (body != NULL && shapes != NULL) {
            validate_shape(shapes, "PutLogEventsRequest", body, "body");
        }
        LF_CHECK_INT_EQ(json_object_get(body, "sequenceToken") != NULL,
                        with_token);
        json_decref(body);
    }
    lf_buf_cleanup(&buf);
    lf_cw_batch_free(batch);
    json_decref(model);
}

/* The model's own limits agree with the builder's constants. */
static void test_cw_encode_model_limits(void)
{
    json_t *model = load_fixture("cloudwatch-logs-api/model/service-2.json");
    const json_t *shapes = json_object_get(model, "shapes");
    const json_t *events = json_object_get(shapes, "InputLogEvents");
    const json_t *message = json_object_get(shapes, "EventMessage");
    const json_t *group = json_object_get(shapes, "LogGroupName");
    const json_t *stream = json_object_get(shapes, "LogStreamName");

    LF_CHECK_INT_EQ(json_integer_value(json_object_get(events, "max")),
                    LF_CW_MAX_BATCH_EVENTS);
    LF_CHECK_INT_EQ(json_integer_value(json_object_get(message, "min")),
                    LF_CW_MIN_MESSAGE_BYTES);
    LF_CHECK_INT_EQ(json_integer_value(json_object_get(group, "max")),
                    LF_CW_NAME_MAX_CHARS);
    LF_CHECK_INT_EQ(json_integer_value(json_object_get(stream, "max")),
                    LF_CW_NAME_MAX_CHARS);
    json_decref(model);
}

/* ---- Protocol tests ---- */

static const char *find_header(json_t *headers, const char *name)
{
    const char *key;
    json_t *value;

    json_object_foreach(headers, key, value)
    {
        if (strcasecmp(key, name) == 0) {
            return json_string_value(value);
        }
    }
    return NULL;
}

static bool params_all_strings(const json_t *suite, const json_t *c)
{
    json_t *params = json_object_get(c, "params");
    const char *input = json_string_value(json_object_get(
        json_object_get(json_object_get(c, "given"), "input"), "shape"));
    const json_t *shapes = json_object_get(suite, "shapes");
    const json_t *members =
        json_object_get(json_object_get(shapes, input), "members");
    const char *key;
    json_t *value;

    if (json_object_size(params) == 0 || members == NULL) {
        return false;
    }
    json_object_foreach(params, key, value)
    {
        const char *shape = json_string_value(
            json_object_get(json_object_get(members, key), "shape"));
        const char *type = json_string_value(
            json_object_get(json_object_get(shapes, shape), "type"));

        if (!json_is_string(value) || type == NULL ||
            strcmp(type, "string") != 0) {
            return false;
        }
    }
    return true;
}

/* Writes an object of string members the way the encoder writes names. */
static void encode_string_params(json_t *params, struct lf_buf *buf)
{
    const char *key;
    json_t *value;
    bool first = true;

    lf_buf_append_char(buf, '{');
    json_object_foreach(params, key, value)
    {
        if (!first) {
            lf_buf_append_char(buf, ',');
        }
        first = false;
        lf_json_append_string(buf, key, strlen(key));
        lf_buf_append_char(buf, ':');
        lf_json_append_string(buf, json_string_value(value),
                              json_string_length(value));
    }
    lf_buf_append_char(buf, '}');
}

static void check_input_case(const json_t *suite, const json_t *c)
{
    const char *prefix = json_string_value(
        json_object_get(json_object_get(suite, "metadata"), "targetPrefix"));
    const char *op =
        json_string_value(json_object_get(json_object_get(c, "given"), "name"));
    const json_t *serialized = json_object_get(c, "serialized");
    json_t *headers = json_object_get(serialized, "headers");
    const char *body = json_string_value(json_object_get(serialized, "body"));
    char target[256];

    snprintf(target, sizeof(target), "%s.%s", prefix, op);
    if (find_header(headers, "X-Amz-Target") != NULL) {
        LF_CHECK_STR_EQ(find_header(headers, "X-Amz-Target"), target);
    }
    if (find_header(headers, "Content-Type") != NULL) {
        LF_CHECK_STR_EQ(find_header(headers, "Content-Type"),
                        LF_CW_CONTENT_TYPE);
    }
    if (body != NULL && params_all_strings(suite, c)) {
        struct lf_buf buf;
        json_t *expected = json_loads(body, 0, NULL);
        json_t *actual;

        lf_buf_init(&buf);
        encode_string_params(json_object_get(c, "params"), &buf);
        actual = json_loadb(buf.data, buf.len, 0, NULL);
        if (!json_equal(actual, expected)) {
            LF_FAIL_AT("case %s: body %.*s, expected %s",
                       json_string_value(json_object_get(c, "id")),
                       (int)buf.len, buf.data, body);
        }
        json_decref(actual);
        json_decref(expected);
        lf_buf_cleanup(&buf);
    }
}

static void test_cw_encode_protocol_input(void)
{
    json_t *suites =
        load_fixture("cloudwatch-logs-api/protocol-tests/json-1.1-input.json");
    size_t i;
    size_t k;
    const json_t *suite;
    const json_t *c;
    size_t cases = 0;

    json_array_foreach(suites, i, suite)
    {
        json_array_foreach(json_object_get(suite, "cases"), k, c)
        {
            check_input_case(suite, c);
            cases++;
        }
    }
    LF_CHECK(cases > 0);
    LF_CHECK_STR_EQ(LF_CW_TARGET_PUT_LOG_EVENTS, "Logs_20140328.PutLogEvents");
    json_decref(suites);
}

static void check_error_case(const json_t *c)
{
    const json_t *response = json_object_get(c, "response");
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *body = json_string_value(json_object_get(response, "body"));
    const char *expected_message =
        json_string_value(json_object_get(c, "errorMessage"));
    int status =
        (int)json_integer_value(json_object_get(response, "status_code"));
    struct lf_cw_error err;

    lf_cw_error_init(&err);
    lf_cw_parse_error(
        status,
        find_header(json_object_get(response, "headers"), "X-Amzn-Errortype"),
        body, body ? strlen(body) : 0, &err);
    if (strcmp(err.code, json_string_value(json_object_get(c, "errorCode"))) !=
        0) {
        LF_FAIL_AT("case %s: code \"%s\", expected \"%s\"", id, err.code,
                   json_string_value(json_object_get(c, "errorCode")));
    }
    if (expected_message != NULL) {
        LF_CHECK_STR_EQ(err.message, expected_message);
    }
    LF_CHECK_INT_EQ(err.status, status);
    lf_cw_error_cleanup(&err);
}

static void test_cw_encode_protocol_errors(void)
{
    json_t *suites =
        load_fixture("cloudwatch-logs-api/protocol-tests/json-1.1-output.json");
    size_t i;
    size_t k;
    const json_t *suite;
    const json_t *c;
    size_t cases = 0;

    json_array_foreach(suites, i, suite)
    {
        json_array_foreach(json_object_get(suite, "cases"), k, c)
        {
            if (json_object_get(c, "errorCode") != NULL) {
                check_error_case(c);
                cases++;
            }
        }
    }
    LF_CHECK(cases > 0);
    json_decref(suites);
}

/* ---- PutLogEvents replies ---- */

static void test_cw_encode_put_reply(void)
{
    struct lf_cw_put_reply reply;
    static const char body[] =
        "{\"nextSequenceToken\":\"4959\",\"rejectedLogEventsInfo\":"
        "{\"tooNewLogEventStartIndex\":7,\"tooOldLogEventEndIndex\":2,"
        "\"expiredLogEventEndIndex\":1}}";

    lf_cw_put_reply_init(&reply);
    LF_CHECK_INT_EQ(lf_cw_parse_put_reply(body, strlen(body), &reply), 0);
    LF_CHECK_INT_EQ(reply.rejected.too_new_start_index, 7);
    LF_CHECK_INT_EQ(reply.rejected.too_old_end_index, 2);
    LF_CHECK_INT_EQ(reply.rejected.expired_end_index, 1);
    LF_CHECK_STR_EQ(reply.next_sequence_token, "4959");

    LF_CHECK_INT_EQ(lf_cw_parse_put_reply("{}", 2, &reply), 0);
    LF_CHECK_INT_EQ(reply.rejected.too_new_start_index, -1);
    LF_CHECK_INT_EQ(reply.rejected.too_old_end_index, -1);
    LF_CHECK_INT_EQ(reply.rejected.expired_end_index, -1);
    LF_CHECK(reply.next_sequence_token == NULL);

    LF_CHECK_INT_EQ(lf_cw_parse_put_reply("", 0, &reply), 0);
    LF_CHECK_INT_EQ(lf_cw_parse_put_reply("[1]", 3, &reply), LF_EPROTO);
    LF_CHECK_INT_EQ(lf_cw_parse_put_reply("{\"x\":", 5, &reply), LF_EPROTO);
    LF_CHECK_INT_EQ(
        lf_cw_parse_put_reply(
            "{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":\"2\"}}",
            56, &reply),
        LF_EPROTO);
    LF_CHECK_INT_EQ(reply.rejected.too_old_end_index, -1);
    LF_CHECK_INT_EQ(
        lf_cw_parse_put_reply(
            "{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":-3}}", 55,
            &reply),
        LF_EPROTO);
    lf_cw_put_reply_cleanup(&reply);
}

static void test_cw_encode_error_reply(void)
{
    struct lf_cw_error err;
    static const char body[] =
        "{\"__type\":\"InvalidSequenceTokenException\","
        "\"expectedSequenceToken\":\"49590\","
        "\"message\":\"The given sequenceToken is invalid.\"}";

    lf_cw_error_init(&err);
    lf_cw_parse_error(400, NULL, body, strlen(body), &err);
    LF_CHECK_STR_EQ(err.code, "InvalidSequenceTokenException");
    LF_CHECK_STR_EQ(err.expected_sequence_token, "49590");
    LF_CHECK_STR_EQ(err.message, "The given sequenceToken is invalid.");
    LF_CHECK_INT_EQ(err.action, LF_CW_ERROR_RESEND_WITH_TOKEN);

    lf_cw_parse_error(502, NULL, "<html>bad gateway</html>", 24, &err);
    LF_CHECK_STR_EQ(err.code, "");
    LF_CHECK(err.message == NULL);
    LF_CHECK(err.expected_sequence_token == NULL);
    LF_CHECK_INT_EQ(err.action, LF_CW_ERROR_RETRY);
    lf_cw_error_cleanup(&err);
}

static void test_cw_encode_error_actions(void)
{
    static const struct {
        const char *code;
        int status;
        enum lf_cw_error_action action;
    } cases[] = {
        {"ThrottlingException", 400, LF_CW_ERROR_RETRY},
        {"ServiceUnavailableException", 503, LF_CW_ERROR_RETRY},
        {"", 500, LF_CW_ERROR_RETRY},
        {"", 429, LF_CW_ERROR_RETRY},
        {"ResourceNotFoundException", 400, LF_CW_ERROR_CREATE},
        {"ResourceAlreadyExistsException", 400, LF_CW_ERROR_ALREADY_EXISTS},
        {"ExpiredTokenException", 400, LF_CW_ERROR_REFRESH_CREDENTIALS},
        {"UnrecognizedClientException", 400, LF_CW_ERROR_REFRESH_CREDENTIALS},
        {"InvalidSequenceTokenException", 400, LF_CW_ERROR_RESEND_WITH_TOKEN},
        {"DataAlreadyAcceptedException", 400, LF_CW_ERROR_ALREADY_ACCEPTED},
        {"InvalidParameterException", 400, LF_CW_ERROR_REJECT},
        {"AccessDeniedException", 400, LF_CW_ERROR_DENIED},
        {"InvalidSignatureException", 400, LF_CW_ERROR_DENIED},
        {"MissingAuthenticationTokenException", 403, LF_CW_ERROR_DENIED},
        {"", 413, LF_CW_ERROR_REJECT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        LF_CHECK_INT_EQ(lf_cw_error_action_for(cases[i].code, cases[i].status),
                        cases[i].action);
    }
}

int main(void)
{
    LF_RUN(test_cw_encode_body_exact);
    LF_RUN(test_cw_encode_round_trip);
    LF_RUN(test_cw_encode_rejects_names);
    LF_RUN(test_cw_encode_name_limits);
    LF_RUN(test_cw_encode_sequence_token);
    LF_RUN(test_cw_encode_matches_model);
    LF_RUN(test_cw_encode_model_limits);
    LF_RUN(test_cw_encode_protocol_input);
    LF_RUN(test_cw_encode_protocol_errors);
    LF_RUN(test_cw_encode_put_reply);
    LF_RUN(test_cw_encode_error_reply);
    LF_RUN(test_cw_encode_error_actions);
    return lf_test_end();
}
