/*
 * Tests of bulk reply classification: replies captured from real clusters
 * (tests/fixtures/elasticsearch-bulk) against their expected outcomes,
 * and hand-written replies for the cases those files do not cover.
 */
#include "outputs/elasticsearch/es_reply.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lf_test.h"

static int read_file(const char *path, struct lf_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        return LF_ENOENT;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        lf_buf_append(out, chunk, n);
    }
    fclose(f);
    return 0;
}

/* Maps the fixture's outcome names to ours. */
static int expected_outcome(const char *name)
{
    static const struct {
        const char *name;
        enum lf_es_item_outcome outcome;
    } names[] = {
        {"success", LF_ES_ITEM_INDEXED},
        {"conflict", LF_ES_ITEM_DUPLICATE},
        {"retryable", LF_ES_ITEM_RETRY},
        {"permanent", LF_ES_ITEM_REJECTED},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(names); i++) {
        if (name != NULL && strcmp(name, names[i].name) == 0) {
            return (int)names[i].outcome;
        }
    }
    return -1;
}

static void check_case_item(const char *file, size_t i,
                            const struct lf_es_item_result *got, json_t *want)
{
    const char *outcome = json_string_value(json_object_get(want, "outcome"));
    json_t *status = json_object_get(want, "status");

    if ((int)got->outcome != expected_outcome(outcome)) {
        LF_FAIL_AT("%s item %zu: outcome %s, expected %s", file, i,
                   lf_es_item_outcome_name(got->outcome), outcome);
    }
    LF_CHECK_INT_EQ(got->status,
                    json_is_integer(status) ? json_integer_value(status) : 0);
    LF_CHECK_STR_EQ(got->action,
                    json_string_value(json_object_get(want, "action")));
    LF_CHECK_STR_EQ(got->index,
                    json_string_value(json_object_get(want, "_index")));
    LF_CHECK_STR_EQ(got->id, json_string_value(json_object_get(want, "_id")));
    LF_CHECK_STR_EQ(got->error_type,
                    json_string_value(json_object_get(want, "error_type")));
}

/* Checks that `indexes` lists exactly the items that `matches` selects. */
typedef bool (*item_filter_fn)(const struct lf_es_item_result *item);

static void check_index_list(const char *file, const char *list_name,
                             json_t *indexes, const struct lf_es_reply *reply,
                             item_filter_fn matches)
{
    size_t listed = 0;

    for (size_t i = 0; i < reply->item_count; i++) {
        bool in_list = false;
        size_t k;
        json_t *index;

        json_array_foreach(indexes, k, index)
        {
            if ((size_t)json_integer_value(index) == i) {
                in_list = true;
            }
        }
        if (in_list != matches(&reply->items[i])) {
            LF_FAIL_AT("%s: item %zu %s in %s", file, i,
                       in_list ? "unexpectedly" : "missing", list_name);
        }
        listed += in_list ? 1 : 0;
    }
    LF_CHECK_INT_EQ(listed, json_array_size(indexes));
}

static bool is_retry(const struct lf_es_item_result *item)
{
    return item->outcome == LF_ES_ITEM_RETRY;
}

static bool has_error(const struct lf_es_item_result *item)
{
    return item->error_type != NULL;
}

static void check_case(json_t *c)
{
    const char *file = json_string_value(json_object_get(c, "response_file"));
    json_t *items = json_object_get(c, "items");
    struct lf_es_reply reply;
    struct lf_buf body;
    char relative[256];
    size_t i;
    json_t *want;

    lf_buf_init(&body);
    snprintf(relative, sizeof(relative), "elasticsearch-bulk/%s", file);
    LF_CHECK_INT_EQ(read_file(lf_test_fixture(relative), &body), 0);
    LF_CHECK_INT_EQ(
        lf_es_reply_parse(&reply, body.data, body.len, json_array_size(items)),
        0);
    LF_CHECK_INT_EQ(reply.item_count, json_array_size(items));
    if (reply.item_count == json_array_size(items)) {
        json_array_foreach(items, i, want)
        {
            check_case_item(file, i, &reply.items[i], want);
        }
        check_index_list(file, "retry_item_indexes",
                         json_object_get(c, "retry_item_indexes"), &reply,
                         is_retry);
        check_index_list(file, "failed_item_indexes",
                         json_object_get(c, "failed_item_indexes"), &reply,
                         has_error);
    }
    lf_es_reply_cleanup(&reply);
    lf_buf_cleanup(&body);
}

static void test_es_reply_fixture_cases(void)
{
    json_error_t error;
    json_t *doc = json_load_file(
        lf_test_fixture("elasticsearch-bulk/bulk-response-cases.json"), 0,
        &error);
    json_t *cases = json_object_get(doc, "cases");
    size_t i;
    json_t *c;

    if (doc == NULL) {
        LF_FAIL_AT("cannot load bulk-response-cases.json: %s", error.text);
        return;
    }
    LF_CHECK_INT_EQ(json_array_size(cases), 6);
    json_array_foreach(cases, i, c)
    {
        check_case(c);
    }
    json_decref(doc);
}

/* Parses a literal reply to `item_count` items and checks the code. */
static void parse_literal(struct lf_es_reply *reply, const char *body,
                          size_t item_count, int expected_rc)
{
    LF_CHECK_INT_EQ(lf_es_reply_parse(reply, body, strlen(body), item_count),
                    expected_rc);
}

/* The reply shape the output requests with its filter_path. */
static void test_es_reply_filtered_statuses(void)
{
    static const char body[] =
        "{\"errors\":true,\"items\":["
        "{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":409,\"error\":{"
        "\"type\":\"version_conflict_engine_exception\","
        "\"reason\":\"[k1]: version conflict, document already exists "
        "(current version [1])\"}}},"
        "{\"create\":{\"status\":400,\"error\":{"
        "\"type\":\"mapper_parsing_exception\","
        "\"reason\":\"failed to parse field [http.response.status_code] "
        "of type [long]\","
        "\"caused_by\":{\"type\":\"illegal_argument_exception\","
        "\"reason\":\"For input string: \\\"abc\\\"\"}}}},"
        "{\"create\":{\"status\":503,\"error\":{"
        "\"type\":\"unavailable_shards_exception\","
        "\"reason\":\"primary shard is not active\"}}},"
        "{\"create\":{\"status\":429,\"error\":{"
        "\"type\":\"es_rejected_execution_exception\","
        "\"reason\":\"rejected execution of coordinating operation\"}}},"
        "{\"create\":{\"status\":200}}"
        "]}";
    struct lf_es_reply reply;
    const struct lf_es_item_result *items;

    parse_literal(&reply, body, 6, 0);
    items = reply.items;
    LF_CHECK_INT_EQ(reply.item_count, 6);
    if (reply.item_count == 6) {
        LF_CHECK_INT_EQ(items[0].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_INT_EQ(items[0].status, 201);
        LF_CHECK_STR_EQ(items[0].action, "create");
        LF_CHECK_STR_EQ(items[0].error_type, NULL);

        LF_CHECK_INT_EQ(items[1].outcome, LF_ES_ITEM_DUPLICATE);
        LF_CHECK_INT_EQ(items[1].status, 409);

        LF_CHECK_INT_EQ(items[2].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(items[2].status, 400);
        LF_CHECK_STR_EQ(items[2].error_type, "mapper_parsing_exception");
        LF_CHECK_STR_EQ(items[2].error_reason,
                        "failed to parse field [http.response.status_code] "
                        "of type [long]");
        LF_CHECK_STR_EQ(items[2].cause_reason, "For input string: \"abc\"");

        LF_CHECK_INT_EQ(items[3].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_STR_EQ(items[3].error_type, "unavailable_shards_exception");
        LF_CHECK_STR_EQ(items[3].cause_reason, NULL);
        LF_CHECK_INT_EQ(items[4].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(items[5].outcome, LF_ES_ITEM_INDEXED);
    }
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 2);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_DUPLICATE], 1);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 2);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_REJECTED], 1);
    lf_es_reply_cleanup(&reply);
}

/* An unfiltered 8.x reply into a data stream names the backing index. */
static void test_es_reply_unfiltered_data_stream(void)
{
    static const char body[] =
        "{\"took\":3,\"errors\":true,\"items\":["
        "{\"create\":{\"_index\":"
        "\".ds-logs-generic-default-2024.03.01-000001\","
        "\"_id\":\"k0\",\"_version\":1,\"result\":\"created\","
        "\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},"
        "\"_seq_no\":7,\"_primary_term\":1,\"status\":201}},"
        "{\"create\":{\"_index\":"
        "\".ds-logs-generic-default-2024.03.01-000001\","
        "\"_id\":\"k1\",\"status\":409,\"error\":{"
        "\"type\":\"version_conflict_engine_exception\","
        "\"reason\":\"[k1]: version conflict, document already exists "
        "(current version [1])\",\"index_uuid\":\"aAsFqTI0Tc2W0LCWgPNrOA\","
        "\"shard\":\"0\",\"index\":"
        "\".ds-logs-generic-default-2024.03.01-000001\"}}}"
        "]}";
    struct lf_es_reply reply;

    parse_literal(&reply, body, 2, 0);
    if (reply.item_count == 2) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_STR_EQ(reply.items[0].index,
                        ".ds-logs-generic-default-2024.03.01-000001");
        LF_CHECK_STR_EQ(reply.items[0].id, "k0");
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_DUPLICATE);
        LF_CHECK_STR_EQ(reply.items[1].id, "k1");
        LF_CHECK_STR_EQ(reply.items[1].error_type,
                        "version_conflict_engine_exception");
    }
    lf_es_reply_cleanup(&reply);
}

static void test_es_reply_errors_flag_ignored(void)
{
    struct lf_es_reply reply;

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{"
                  "\"status\":429,\"error\":{\"type\":"
                  "\"es_rejected_execution_exception\"}}}]}",
                  1, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 1);
    lf_es_reply_cleanup(&reply);

    parse_literal(&reply,
                  "{\"errors\":true,\"items\":[{\"create\":{"
                  "\"status\":201}}]}",
                  1, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    lf_es_reply_cleanup(&reply);
}

/*
 * A reply filtered down to its failed items cannot be matched to the
 * request, so it is a whole-request failure.
 */
static void test_es_reply_item_count_mismatch(void)
{
    struct lf_es_reply reply;
    struct lf_buf body;

    lf_buf_init(&body);
    LF_CHECK_INT_EQ(
        read_file(lf_test_fixture("elasticsearch-bulk/responses/"
                                  "es-specification/BulkResponseExample3.json"),
                  &body),
        0);
    LF_CHECK_INT_EQ(lf_es_reply_parse(&reply, body.data, body.len, 3),
                    LF_EPROTO);
    LF_CHECK_INT_EQ(reply.item_count, 0);
    LF_CHECK(reply.items == NULL);
    lf_es_reply_cleanup(&reply);
    lf_buf_cleanup(&body);

    parse_literal(&reply, "{\"errors\":false}", 2, LF_EPROTO);
    lf_es_reply_cleanup(&reply);
    parse_literal(&reply, "{\"items\":[{\"create\":{\"status\":201}}]}", 2,
                  LF_EPROTO);
    lf_es_reply_cleanup(&reply);
}

static void test_es_reply_malformed(void)
{
    static const char *const bodies[] = {
        "",
        "not json",
        "<html><body>502 Bad Gateway</body></html>",
        "[]",
        "{\"items\":{}}",
        "{\"items\":[1]}",
        "{\"items\":[{}]}",
        "{\"items\":[{\"create\":{},\"index\":{}}]}",
        "{\"items\":[{\"create\":\"x\"}]}",
        "{\"items\":[{\"create\":{\"status\":201}}",
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(bodies); i++) {
        struct lf_es_reply reply;
        int rc = lf_es_reply_parse(&reply, bodies[i], strlen(bodies[i]), 1);

        if (rc != LF_EPROTO) {
            LF_FAIL_AT("body %zu (%s): rc %d, expected LF_EPROTO", i, bodies[i],
                       rc);
        }
        lf_es_reply_cleanup(&reply);
    }
}

static void test_es_reply_status_without_error(void)
{
    static const char body[] =
        "{\"items\":["
        "{\"create\":{\"status\":400}},"
        "{\"create\":{\"status\":503}},"
        "{\"delete\":{\"_id\":\"9\",\"result\":\"not_found\","
        "\"status\":404}},"
        "{\"create\":{\"status\":404}},"
        "{\"create\":{\"status\":409}},"
        "{\"create\":{\"status\":\"201\",\"error\":null}}"
        "]}";
    struct lf_es_reply reply;

    parse_literal(&reply, body, 6, 0);
    if (reply.item_count == 6) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_INT_EQ(reply.items[3].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(reply.items[4].outcome, LF_ES_ITEM_DUPLICATE);
        /* A status that is not a number counts as absent. */
        LF_CHECK_INT_EQ(reply.items[5].status, 0);
        LF_CHECK_INT_EQ(reply.items[5].outcome, LF_ES_ITEM_INDEXED);
    }
    lf_es_reply_cleanup(&reply);
}

static void test_es_reply_string_errors(void)
{
    static const char body[] =
        "{\"items\":["
        "{\"create\":{\"error\":\"MapperParsingException[failed to "
        "parse [n]]; nested: NumberFormatException[For input string]\"}},"
        "{\"create\":{\"error\":\"NoBracket\"}},"
        "{\"index\":{\"status\":409,\"error\":"
        "\"VersionConflictEngineException[[i][1] [t][9]: version conflict]\"}}"
        "]}";
    struct lf_es_reply reply;

    parse_literal(&reply, body, 3, 0);
    if (reply.item_count == 3) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_STR_EQ(reply.items[0].error_type, "MapperParsingException");
        LF_CHECK_STR_EQ(reply.items[0].error_reason,
                        "MapperParsingException[failed to parse [n]]; "
                        "nested: NumberFormatException[For input string]");
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_STR_EQ(reply.items[1].error_type, "NoBracket");
        LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_DUPLICATE);
        LF_CHECK_STR_EQ(reply.items[2].error_type,
                        "VersionConflictEngineException");
    }
    lf_es_reply_cleanup(&reply);
}

static void test_es_reply_odd_errors(void)
{
    static const char body[] =
        "{\"items\":["
        "{\"create\":{\"status\":400,\"error\":{\"reason\":\"x\"}}},"
        "{\"create\":{\"status\":400,\"error\":true}},"
        "{\"create\":{\"status\":400,\"error\":{\"type\":"
        "\"document_parsing_exception\",\"reason\":\"value 'a\\u0000b'\"}}}"
        "]}";
    struct lf_es_reply reply;

    parse_literal(&reply, body, 3, 0);
    if (reply.item_count == 3) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_STR_EQ(reply.items[0].error_type, "unknown_error");
        LF_CHECK_STR_EQ(reply.items[0].error_reason, "x");
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_STR_EQ(reply.items[1].error_type, "unknown_error");
        /* A NUL in a reason ends the C string, and the reply still parses. */
        LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_STR_EQ(reply.items[2].error_reason, "value 'a");
    }
    lf_es_reply_cleanup(&reply);
}

/* The compact all-success reply, read without a jansson tree. */
static void test_es_reply_compact_success(void)
{
    static const char body[] =
        "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},"
        "{\"index\":{\"status\":200}},{\"create\":{\"status\":201}}]}\n";
    struct lf_es_reply reply;

    parse_literal(&reply, body, 3, 0);
    LF_CHECK_INT_EQ(reply.item_count, 3);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 3);
    if (reply.item_count == 3) {
        LF_CHECK_INT_EQ(reply.items[0].status, 201);
        LF_CHECK_STR_EQ(reply.items[0].action, "create");
        LF_CHECK_INT_EQ(reply.items[1].status, 200);
        LF_CHECK_STR_EQ(reply.items[1].action, "index");
        LF_CHECK_STR_EQ(reply.items[2].error_type, NULL);
    }
    lf_es_reply_cleanup(&reply);

    /* One item more or less than sent is still a whole-request failure. */
    parse_literal(&reply, body, 2, LF_EPROTO);
    lf_es_reply_cleanup(&reply);
    parse_literal(&reply, body, 4, LF_EPROTO);
    lf_es_reply_cleanup(&reply);
}

/* Compact replies that are not all successes take the full parse. */
static void test_es_reply_compact_with_failures(void)
{
    struct lf_es_reply reply;

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{\"status\":"
                  "201}},{\"create\":{\"status\":429}}]}",
                  2, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 1);
    lf_es_reply_cleanup(&reply);

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{\"status\":"
                  "2010}}]}",
                  1, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_REJECTED], 1);
    LF_CHECK_INT_EQ(reply.items[0].status, 2010);
    lf_es_reply_cleanup(&reply);

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{\"status\":"
                  "201}}]}trailing",
                  1, LF_EPROTO);
    lf_es_reply_cleanup(&reply);
}

static void test_es_reply_outcome_names(void)
{
    LF_CHECK_STR_EQ(lf_es_item_outcome_name(LF_ES_ITEM_INDEXED), "indexed");
    LF_CHECK_STR_EQ(lf_es_item_outcome_name(LF_ES_ITEM_DUPLICATE), "duplicate");
    LF_CHECK_STR_EQ(lf_es_item_outcome_name(LF_ES_ITEM_RETRY), "retry");
    LF_CHECK_STR_EQ(lf_es_item_outcome_name(LF_ES_ITEM_REJECTED), "rejected");
}

int main(void)
{
    LF_RUN(test_es_reply_fixture_cases);
    LF_RUN(test_es_reply_filtered_statuses);
    LF_RUN(test_es_reply_unfiltered_data_stream);
    LF_RUN(test_es_reply_errors_flag_ignored);
    LF_RUN(test_es_reply_item_count_mismatch);
    LF_RUN(test_es_reply_malformed);
    LF_RUN(test_es_reply_status_without_error);
    LF_RUN(test_es_reply_string_errors);
    LF_RUN(test_es_reply_odd_errors);
    LF_RUN(test_es_reply_compact_success);
    LF_RUN(test_es_reply_compact_with_failures);
    LF_RUN(test_es_reply_outcome_names);
    return lf_test_end();
}
