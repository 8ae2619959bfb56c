/*
 * Event codec: every value type, tags, flags and the document id survive
 * a round trip, and truncated or altered records are rejected.
 */
#include "agent/queue/event_codec.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <math.h>
#include <string.h>

#include "lf_test.h"

static void fill_event(struct lf_event *ev)
{
    static const char message[] = "GET /index.html 200";

    lf_event_init(ev);
    ev->message = message;
    ev->message_len = LF_STRLEN(message);
    lf_event_set_str(ev, "http.request.method", "GET", 3);
    lf_event_set_int(ev, "http.response.status_code", 200);
    lf_event_set_int(ev, "log.offset", -7);
    lf_event_set_float(ev, "event.duration_s", 0.125);
    lf_event_set_bool(ev, "tls.established", true);
    lf_event_set_bool(ev, "event.partial", false);
    lf_event_set_timestamp(ev, "@timestamp", INT64_C(1733360000123456789));
    lf_event_set_json(ev, "labels.list", "[1,\"a\"]", 7);
    lf_event_set_str(ev, "empty", "", 0);
    ev->tags = LF_TAG_PARSE_FAILURE | LF_TAG_CONVERSION_FAILURE;
    ev->log_flags = LF_LOG_FLAG_MULTILINE;
    lf_event_add_tag(ev, "web");
    lf_event_add_tag(ev, "blue-green");
}

static void test_codec_round_trip(void)
{
    struct lf_event in;
    struct lf_event out;
    struct lf_buf buf;
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];
    const struct lf_value *v;

    fill_event(&in);
    lf_event_init(&out);
    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(
        lf_event_encode(&in, "00000000000000ab-1f", NULL, &buf), 0);
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id), 0);

    LF_CHECK_STR_EQ(doc_id, "00000000000000ab-1f");
    LF_CHECK_MEM_EQ(out.message, out.message_len, "GET /index.html 200");
    LF_CHECK_INT_EQ(out.field_count, in.field_count);
    LF_CHECK_INT_EQ(out.tags, LF_TAG_PARSE_FAILURE | LF_TAG_CONVERSION_FAILURE);
    LF_CHECK_INT_EQ(out.log_flags, LF_LOG_FLAG_MULTILINE);
    LF_CHECK_INT_EQ(out.tag_count, 2);
    if (out.tag_count == 2) {
        LF_CHECK_STR_EQ(out.tag_list[0], "web");
        LF_CHECK_STR_EQ(out.tag_list[1], "blue-green");
    }
    for (size_t i = 0; i < in.field_count && i < out.field_count; i++) {
        LF_CHECK_STR_EQ(out.fields[i].key, in.fields[i].key);
        LF_CHECK_INT_EQ(out.fields[i].value.type, in.fields[i].value.type);
    }
    v = lf_event_get(&out, "http.request.method");
    LF_CHECK(v != NULL && v->type == LF_VALUE_STRING);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "GET");
    }
    v = lf_event_get(&out, "http.response.status_code");
    LF_CHECK(v != NULL && v->type == LF_VALUE_INT && v->u.i == 200);
    v = lf_event_get(&out, "log.offset");
    LF_CHECK(v != NULL && v->type == LF_VALUE_INT && v->u.i == -7);
    v = lf_event_get(&out, "event.duration_s");
    LF_CHECK(v != NULL && v->type == LF_VALUE_FLOAT);
    if (v != NULL) {
        LF_CHECK_DOUBLE_EQ(v->u.f, 0.125);
    }
    v = lf_event_get(&out, "tls.established");
    LF_CHECK(v != NULL && v->type == LF_VALUE_BOOL && v->u.b);
    v = lf_event_get(&out, "event.partial");
    LF_CHECK(v != NULL && v->type == LF_VALUE_BOOL && !v->u.b);
    v = lf_event_get(&out, "@timestamp");
    LF_CHECK(v != NULL && v->type == LF_VALUE_TIMESTAMP &&
             v->u.ts_ns == INT64_C(1733360000123456789));
    v = lf_event_get(&out, "labels.list");
    LF_CHECK(v != NULL && v->type == LF_VALUE_JSON);
    if (v != NULL) {
        LF_CHECK_MEM_EQ(v->u.str.ptr, v->u.str.len, "[1,\"a\"]");
    }
    v = lf_event_get(&out, "empty");
    LF_CHECK(v != NULL && v->type == LF_VALUE_STRING && v->u.str.len == 0);

    lf_buf_cleanup(&buf);
    lf_event_cleanup(&out);
    lf_event_cleanup(&in);
}

/* Special floats keep their bits; an empty event has no message. */
static void test_codec_edge_values(void)
{
    struct lf_event in;
    struct lf_event out;
    struct lf_buf buf;
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];
    const struct lf_value *v;

    lf_event_init(&in);
    lf_event_init(&out);
    lf_buf_init(&buf);
    lf_event_set_float(&in, "x", -0.0);
    lf_event_set_int(&in, "min", INT64_MIN);
    LF_CHECK_INT_EQ(lf_event_encode(&in, "", NULL, &buf), 0);
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id), 0);
    LF_CHECK_STR_EQ(doc_id, "");
    LF_CHECK_INT_EQ(out.message_len, 0);
    v = lf_event_get(&out, "x");
    LF_CHECK(v != NULL && v->u.f == 0.0 && signbit(v->u.f));
    v = lf_event_get(&out, "min");
    LF_CHECK(v != NULL && v->u.i == INT64_MIN);

    lf_buf_cleanup(&buf);
    lf_event_cleanup(&out);
    lf_event_cleanup(&in);
}

/* Every strict prefix of a record is rejected, and so is trailing data. */
static void test_codec_truncated(void)
{
    struct lf_event in;
    struct lf_event out;
    struct lf_buf buf;
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];
    size_t rejected = 0;

    fill_event(&in);
    lf_event_init(&out);
    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(lf_event_encode(&in, "id-1", NULL, &buf), 0);
    for (size_t len = 0; len < buf.len; len++) {
        if (lf_event_decode(buf.data, len, &out, doc_id) == LF_ECORRUPT) {
            rejected++;
        }
    }
    LF_CHECK_INT_EQ(rejected, buf.len);
    LF_CHECK_INT_EQ(out.field_count, 0);
    lf_buf_append_char(&buf, 'x');
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id),
                    LF_ECORRUPT);

    lf_buf_cleanup(&buf);
    lf_event_cleanup(&out);
    lf_event_cleanup(&in);
}

static void test_codec_bad_bytes(void)
{
    struct lf_event in;
    struct lf_event out;
    struct lf_buf buf;
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];

    lf_event_init(&in);
    lf_event_init(&out);
    lf_buf_init(&buf);
    lf_event_set_bool(&in, "b", true);
    LF_CHECK_INT_EQ(lf_event_encode(&in, "i", NULL, &buf), 0);
    /* version, id, tags, flags, message, tag count, field count, key */
    LF_CHECK_INT_EQ(buf.len, 1 + 1 + 1 + 4 + 4 + 4 + 2 + 2 + 2 + 2 + 1 + 1);

    buf.data[buf.len - 1] = 2; /* a boolean that is neither 0 nor 1 */
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id),
                    LF_ECORRUPT);
    buf.data[buf.len - 1] = 1;
    buf.data[buf.len - 2] = 9; /* an unknown value type */
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id),
                    LF_ECORRUPT);
    buf.data[buf.len - 2] = LF_VALUE_BOOL;
    buf.data[buf.len - 3] = 'x'; /* the key's NUL overwritten */
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id),
                    LF_ECORRUPT);
    buf.data[buf.len - 3] = '\0';
    buf.data[0] = 2; /* an unknown format version */
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id),
                    LF_ECORRUPT);
    buf.data[0] = 1;
    LF_CHECK_INT_EQ(lf_event_decode(buf.data, buf.len, &out, doc_id), 0);

    lf_buf_cleanup(&buf);
    lf_event_cleanup(&out);
    lf_event_cleanup(&in);
}

static void test_codec_id_too_long(void)
{
    struct lf_event in;
    struct lf_buf buf;
    char id[LF_EVENT_CODEC_DOC_ID_MAX + 2];

    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    lf_event_init(&in);
    lf_buf_init(&buf);
    LF_CHECK_INT_EQ(lf_event_encode(&in, id, NULL, &buf), LF_ETOOBIG);
    LF_CHECK_INT_EQ(buf.len, 0);
    lf_buf_cleanup(&buf);
    lf_event_cleanup(&in);
}

/* A version 2 record carries its span, and version 1 records decode too. */
static void test_codec_span(void)
{
    const struct lf_event_span span = {
        .file_id = UINT64_C(0x0123456789abcdef),
        .prev_end = 4096,
        .end = UINT64_C(1) << 40,
    };
    struct lf_event_span got = {0};
    struct lf_event in;
    struct lf_event out;
    struct lf_buf with_span;
    struct lf_buf without_span;
    char doc_id[LF_EVENT_CODEC_DOC_ID_MAX + 1];

    fill_event(&in);
    lf_event_init(&out);
    lf_buf_init(&with_span);
    lf_buf_init(&without_span);
    LF_CHECK_INT_EQ(lf_event_encode(&in, "id-2", &span, &with_span), 0);
    LF_CHECK_INT_EQ(lf_event_encode(&in, "id-2", NULL, &without_span), 0);
    LF_CHECK_INT_EQ(with_span.len, without_span.len + 24);

    LF_CHECK_INT_EQ(lf_event_decode_span(with_span.data, with_span.len, &got),
                    0);
    LF_CHECK_INT_EQ(got.file_id, span.file_id);
    LF_CHECK_INT_EQ(got.prev_end, span.prev_end);
    LF_CHECK_INT_EQ(got.end, span.end);
    LF_CHECK_INT_EQ(
        lf_event_decode(with_span.data, with_span.len, &out, doc_id), 0);
    LF_CHECK_STR_EQ(doc_id, "id-2");
    LF_CHECK_MEM_EQ(out.message, out.message_len, "GET /index.html 200");
    LF_CHECK_INT_EQ(out.field_count, in.field_count);

    LF_CHECK_INT_EQ(lf_event_decode_span(without_span.data, without_span.len,
                                         &got),
                    LF_ENOENT);
    LF_CHECK_INT_EQ(lf_event_decode_span(with_span.data, 20, &got),
                    LF_ECORRUPT);
    LF_CHECK_INT_EQ(lf_event_decode(with_span.data, 20, &out, doc_id),
                    LF_ECORRUPT);
    LF_CHECK_INT_EQ(lf_event_decode_span("\x03", 1, &got), LF_ECORRUPT);
    LF_CHECK_INT_EQ(lf_event_decode_span("", 0, &got), LF_ECORRUPT);

    lf_buf_cleanup(&with_span);
    lf_buf_cleanup(&without_span);
    lf_event_cleanup(&in);
    lf_event_cleanup(&out);
}

int main(void)
{
    LF_RUN(test_codec_round_trip);
    LF_RUN(test_codec_edge_values);
    LF_RUN(test_codec_truncated);
    LF_RUN(test_codec_bad_bytes);
    LF_RUN(test_codec_id_too_long);
    LF_RUN(test_codec_span);
    return lf_test_end();
}
