/*
 * Tests of the bulk item encoder: the exact bytes of action and document
 * lines, and that every body stays valid NDJSON for `_bulk`.
 */
#include "outputs/elasticsearch/es_encode.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/event.h"
#include "lf/json.h"
#include "lf/mem.h"

#include <jansson.h>

#include <string.h>

#include "lf_test.h"

static void set_message(struct lf_event *ev, const char *message)
{
    ev->message = message;
    ev->message_len = strlen(message);
}

static void test_es_encode_item_exact(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, "logs-generic-default");
    lf_event_init(&ev);
    lf_buf_init(&body);
    set_message(&ev, "hello");
    lf_event_set_str(&ev, "log.level", "info", 4);

    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "f1a2-000000000042", &ev),
                    0);
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"create\":{\"_index\":\"logs-generic-default\","
                    "\"_id\":\"f1a2-000000000042\"}}\n"
                    "{\"log\":{\"level\":\"info\"},\"message\":\"hello\"}\n");

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

/*
 * A JSON value is written as it is, in the document written from scratch
 * and in the next one, written from the cached shape.
 */
static void test_es_encode_json_value_verbatim(void)
{
    static const char tags[] = "[\"billing\",{\"k\":[1,2.5]}]";
    static const char doc[] =
        "{\"create\":{\"_index\":\"logs-app-prod\",\"_id\":\"id-1\"}}\n"
        "{\"message\":\"m\",\"tags\":[\"billing\",{\"k\":[1,2.5]},"
        "\"_timestamp_failure\"],\"x\":{\"list\":[]}}\n";
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, "logs-app-prod");
    lf_event_init(&ev);
    lf_buf_init(&body);
    for (int round = 0; round < 2; round++) {
        lf_event_reset(&ev);
        set_message(&ev, "m");
        lf_event_set_json(&ev, "tags", tags, LF_STRLEN(tags));
        lf_event_set_json(&ev, "x.list", "[]", LF_STRLEN("[]"));
        ev.tags = LF_TAG_TIMESTAMP_FAILURE;
        lf_buf_reset(&body);
        LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id-1", &ev), 0);
        LF_CHECK_MEM_EQ(body.data, body.len, doc);
    }

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

static void test_es_encode_items_appended(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, "logs-app-prod");
    lf_event_init(&ev);
    lf_buf_init(&body);

    set_message(&ev, "first");
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id-1", &ev), 0);
    lf_event_reset(&ev);
    set_message(&ev, "second");
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id-2", &ev), 0);
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"create\":{\"_index\":\"logs-app-prod\","
                    "\"_id\":\"id-1\"}}\n"
                    "{\"message\":\"first\"}\n"
                    "{\"create\":{\"_index\":\"logs-app-prod\","
                    "\"_id\":\"id-2\"}}\n"
                    "{\"message\":\"second\"}\n");

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

static void test_es_encode_without_id(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, "logs-generic-default");
    lf_event_init(&ev);
    lf_buf_init(&body);
    set_message(&ev, "x");

    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, NULL, &ev), 0);
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"create\":{\"_index\":\"logs-generic-default\"}}\n"
                    "{\"message\":\"x\"}\n");

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

static void test_es_encode_escapes_index_and_id(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, "odd\"index\\");
    lf_event_init(&ev);
    lf_buf_init(&body);

    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "a\"b\n", &ev), 0);
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"create\":{\"_index\":\"odd\\\"index\\\\\","
                    "\"_id\":\"a\\\"b\\n\"}}\n"
                    "{}\n");

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

/* A line break inside the message must not split the NDJSON item. */
static void test_es_encode_newlines_stay_escaped(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;
    size_t lines = 0;

    lf_es_encoder_init(&enc, "logs-generic-default");
    lf_event_init(&ev);
    lf_buf_init(&body);
    set_message(&ev, "java.lang.Exception: boom\n\tat A.b(A.java:1)\r\n");
    lf_event_set_str(&ev, "error.stack_trace", "x\ny", 3);

    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id", &ev), 0);
    for (size_t i = 0; i < body.len; i++) {
        if (body.data[i] == '\n') {
            lines++;
        }
    }
    LF_CHECK_INT_EQ(lines, 2);
    LF_CHECK(strstr(body.data, "\"message\":\"java.lang.Exception: boom\\n"
                               "\\tat A.b(A.java:1)\\r\\n\"") != NULL);

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

static void test_es_encode_id_length_limit(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;
    char id[LF_ES_ID_MAX_BYTES + 2];

    lf_es_encoder_init(&enc, "logs-generic-default");
    lf_event_init(&ev);
    lf_buf_init(&body);

    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, id, &ev), LF_ETOOBIG);
    LF_CHECK_INT_EQ(body.len, 0);

    id[LF_ES_ID_MAX_BYTES] = '\0';
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, id, &ev), 0);
    LF_CHECK_INT_EQ(body.len, LF_STRLEN("{\"create\":{\"_index\":"
                                        "\"logs-generic-default\","
                                        "\"_id\":\"\"}}\n{}\n") +
                                  LF_ES_ID_MAX_BYTES);

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

/* Every line of a body is one JSON object; action lines name the item. */
static void test_es_encode_body_is_ndjson(void)
{
    static const char *const ids[] = {"a", "b", "c"};
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;
    const char *line;
    size_t index = 0;

    lf_es_encoder_init(&enc, "logs-generic-default");
    lf_event_init(&ev);
    lf_buf_init(&body);
    for (size_t i = 0; i < LF_ARRAY_SIZE(ids); i++) {
        lf_event_reset(&ev);
        set_message(&ev, "line\nwith \"quotes\" and \xff");
        lf_event_set_int(&ev, "log.offset", (int64_t)i);
        LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, ids[i], &ev), 0);
    }

    line = body.data;
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        json_t *parsed;

        LF_CHECK(end != NULL);
        if (end == NULL) {
            break;
        }
        parsed = json_loadb(line, (size_t)(end - line), 0, NULL);
        LF_CHECK(json_is_object(parsed));
        if (index % 2 == 0) {
            json_t *action = json_object_get(parsed, "create");

            LF_CHECK_STR_EQ(json_string_value(json_object_get(action, "_id")),
                            ids[index / 2]);
        } else {
            LF_CHECK_INT_EQ(json_integer_value(json_object_get(
                                json_object_get(parsed, "log"), "offset")),
                            index / 2);
        }
        json_decref(parsed);
        index++;
        line = end + 1;
    }
    LF_CHECK_INT_EQ(index, 2 * LF_ARRAY_SIZE(ids));

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

/* Requests to /<index>/_bulk: the action line names no index. */
static void test_es_encode_without_index(void)
{
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, NULL);
    lf_event_init(&ev);
    lf_buf_init(&body);
    set_message(&ev, "x");

    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "f1a2-2a", &ev), 0);
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, NULL, &ev), 0);
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"create\":{\"_id\":\"f1a2-2a\"}}\n"
                    "{\"message\":\"x\"}\n"
                    "{\"create\":{}}\n"
                    "{\"message\":\"x\"}\n");

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

/* Items of one shape reuse it; each document keeps its own values. */
static void test_es_encode_reuses_document_shape(void)
{
    struct lf_es_encoder enc;
    struct lf_json_shape_stats stats;
    struct lf_event ev;
    struct lf_buf body;

    lf_es_encoder_init(&enc, NULL);
    lf_event_init(&ev);
    lf_buf_init(&body);
    for (int64_t i = 0; i < 3; i++) {
        lf_event_reset(&ev);
        set_message(&ev, i == 1 ? "b" : "a");
        lf_event_set_str(&ev, "log.level", "info", 4);
        lf_event_set_int(&ev, "log.offset", i);
        LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id", &ev), 0);
    }
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"create\":{\"_id\":\"id\"}}\n"
                    "{\"log\":{\"level\":\"info\",\"offset\":0},"
                    "\"message\":\"a\"}\n"
                    "{\"create\":{\"_id\":\"id\"}}\n"
                    "{\"log\":{\"level\":\"info\",\"offset\":1},"
                    "\"message\":\"b\"}\n"
                    "{\"create\":{\"_id\":\"id\"}}\n"
                    "{\"log\":{\"level\":\"info\",\"offset\":2},"
                    "\"message\":\"a\"}\n");
    lf_json_shape_cache_stats(enc.shapes, &stats);
    LF_CHECK_INT_EQ(stats.hits, 2);
    LF_CHECK_INT_EQ(stats.misses, 1);

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
}

static void test_es_encode_index_template_and_routing(void)
{
    struct lf_es_template index_tpl;
    struct lf_es_template routing_tpl;
    struct lf_es_encoder_options options = {
        .op_type = "index",
        .index = "app-%{[service.name]}",
        .index_template = &index_tpl,
        .index_fallback = "app-unknown",
        .routing = &routing_tpl,
    };
    struct lf_es_encoder enc;
    struct lf_event ev;
    struct lf_buf body;
    char errbuf[128];

    LF_CHECK_INT_EQ(lf_es_template_parse("app-%{[service.name]}", &index_tpl,
                                         errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ(lf_es_template_parse("%{[user.id]}", &routing_tpl,
                                         errbuf, sizeof(errbuf)),
                    0);
    lf_es_encoder_init_options(&enc, &options);
    lf_event_init(&ev);
    lf_buf_init(&body);

    set_message(&ev, "a");
    lf_event_set_str(&ev, "service.name", "Billing", 7);
    lf_event_set_str(&ev, "user.id", "U-1", 3);
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id-1", &ev), 0);
    lf_event_reset(&ev);
    /* No service.name: the fallback, and no routing without user.id. */
    set_message(&ev, "b");
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, "id-2", &ev), 0);
    lf_event_reset(&ev);
    /* A value that makes an invalid name also takes the fallback. */
    set_message(&ev, "c");
    lf_event_set_str(&ev, "service.name", "", 0);
    LF_CHECK_INT_EQ(lf_es_encode_item(&enc, &body, NULL, &ev), 0);
    LF_CHECK_MEM_EQ(body.data, body.len,
                    "{\"index\":{\"_index\":\"app-billing\",\"_id\":\"id-1\","
                    "\"routing\":\"U-1\"}}\n"
                    "{\"message\":\"a\",\"service\":{\"name\":\"Billing\"},"
                    "\"user\":{\"id\":\"U-1\"}}\n"
                    "{\"index\":{\"_index\":\"app-unknown\","
                    "\"_id\":\"id-2\"}}\n"
                    "{\"message\":\"b\"}\n"
                    "{\"index\":{\"_index\":\"app-unknown\"}}\n"
                    "{\"message\":\"c\",\"service\":{\"name\":\"\"}}\n");

    lf_buf_cleanup(&body);
    lf_event_cleanup(&ev);
    lf_es_encoder_cleanup(&enc);
    lf_es_template_cleanup(&index_tpl);
    lf_es_template_cleanup(&routing_tpl);
}

int main(void)
{
    LF_RUN(test_es_encode_item_exact);
    LF_RUN(test_es_encode_json_value_verbatim);
    LF_RUN(test_es_encode_items_appended);
    LF_RUN(test_es_encode_without_id);
    LF_RUN(test_es_encode_escapes_index_and_id);
    LF_RUN(test_es_encode_newlines_stay_escaped);
    LF_RUN(test_es_encode_id_length_limit);
    LF_RUN(test_es_encode_body_is_ndjson);
    LF_RUN(test_es_encode_without_index);
    LF_RUN(test_es_encode_reuses_document_shape);
    LF_RUN(test_es_encode_index_template_and_routing);
    return lf_test_end();
}
