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

/* Every item of a reply, read with lf_es_reply_next(). */
struct parsed {
    int rc;
    size_t item_count; /* items read: 0 unless rc is 0 */
    size_t missing;
    size_t count[LF_ES_ITEM_OUTCOME_COUNT];
    struct lf_es_item_result *items;
};

static void parse_reply(struct parsed *out, const char *body, size_t len,
                        size_t item_count)
{
    struct lf_es_reply reply;
    struct lf_es_item_result item;

    memset(out, 0, sizeof(*out));
    out->rc = lf_es_reply_open(&reply, body, len, item_count);
    if (out->rc != 0) {
        return;
    }
    out->items = lf_calloc(item_count + 1, sizeof(*out->items));
    while (lf_es_reply_next(&reply, &item)) {
        out->items[out->item_count++] = item;
    }
    /* The reader stops at item_count: a further call reads nothing. */
    LF_CHECK(!lf_es_reply_next(&reply, &item));
    out->missing = lf_es_reply_missing(&reply);
    memcpy(out->count, reply.count, sizeof(out->count));
}

static void parsed_cleanup(struct parsed *p)
{
    lf_free(p->items);
    memset(p, 0, sizeof(*p));
}

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

/* Returns the string member `key`, or "" when it is null or absent. */
static const char *string_or_empty(json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));

    return value != NULL ? value : "";
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
    LF_CHECK_STR_EQ(got->action, string_or_empty(want, "action"));
    LF_CHECK_STR_EQ(got->index, string_or_empty(want, "_index"));
    LF_CHECK_STR_EQ(got->id, string_or_empty(want, "_id"));
    LF_CHECK_STR_EQ(got->error_type, string_or_empty(want, "error_type"));
}

/* Checks that `indexes` lists exactly the items that `matches` selects. */
typedef bool (*item_filter_fn)(const struct lf_es_item_result *item);

static void check_index_list(const char *file, const char *list_name,
                             json_t *indexes, const struct parsed *reply,
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
    return item->error_type[0] != '\0';
}

static void check_case(json_t *c)
{
    const char *file = json_string_value(json_object_get(c, "response_file"));
    json_t *items = json_object_get(c, "items");
    struct parsed reply;
    struct lf_buf body;
    char relative[256];
    size_t i;
    json_t *want;

    lf_buf_init(&body);
    snprintf(relative, sizeof(relative), "elasticsearch-bulk/%s", file);
    LF_CHECK_INT_EQ(read_file(lf_test_fixture(relative), &body), 0);
    parse_reply(&reply, body.data, body.len, json_array_size(items));
    LF_CHECK_INT_EQ(reply.rc, 0);
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
    parsed_cleanup(&reply);
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
static void parse_literal(struct parsed *reply, const char *body,
                          size_t item_count, int expected_rc)
{
    parse_reply(reply, body, strlen(body), item_count);
    LF_CHECK_INT_EQ(reply->rc, expected_rc);
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
    struct parsed reply;
    const struct lf_es_item_result *items;

    parse_literal(&reply, body, 6, 0);
    items = reply.items;
    LF_CHECK_INT_EQ(reply.item_count, 6);
    if (reply.item_count == 6) {
        LF_CHECK_INT_EQ(items[0].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_INT_EQ(items[0].status, 201);
        LF_CHECK_STR_EQ(items[0].action, "create");
        LF_CHECK_STR_EQ(items[0].error_type, "");

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
        LF_CHECK_STR_EQ(items[3].cause_reason, "");
        LF_CHECK_INT_EQ(items[4].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(items[5].outcome, LF_ES_ITEM_INDEXED);
    }
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 2);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_DUPLICATE], 1);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 2);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_REJECTED], 1);
    parsed_cleanup(&reply);
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
    struct parsed reply;

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
    parsed_cleanup(&reply);
}

static void test_es_reply_errors_flag_ignored(void)
{
    struct parsed reply;

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{"
                  "\"status\":429,\"error\":{\"type\":"
                  "\"es_rejected_execution_exception\"}}}]}",
                  1, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 1);
    parsed_cleanup(&reply);

    parse_literal(&reply,
                  "{\"errors\":true,\"items\":[{\"create\":{"
                  "\"status\":201}}]}",
                  1, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    parsed_cleanup(&reply);
}

/*
 * A reply filtered down to its failed items cannot be matched to the
 * request, so it is a whole-request failure.
 */
static void test_es_reply_item_count_mismatch(void)
{
    struct parsed reply;
    struct lf_buf body;

    lf_buf_init(&body);
    LF_CHECK_INT_EQ(
        read_file(lf_test_fixture("elasticsearch-bulk/responses/"
                                  "es-specification/BulkResponseExample3.json"),
                  &body),
        0);
    parse_reply(&reply, body.data, body.len, 3);
    LF_CHECK_INT_EQ(reply.rc, LF_EPROTO);
    LF_CHECK_INT_EQ(reply.item_count, 0);
    LF_CHECK(reply.items == NULL);
    parsed_cleanup(&reply);
    lf_buf_cleanup(&body);

    parse_literal(&reply, "{\"errors\":false}", 2, LF_EPROTO);
    parsed_cleanup(&reply);
    parse_literal(&reply, "{\"items\":[{\"create\":{\"status\":201}}]}", 2,
                  LF_EPROTO);
    parsed_cleanup(&reply);
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
        "{\"items\":[{\"create\":{\"status\":201}",
        "{\"items\":[{\"create\":{\"status\":201,}}]}",
        "{\"items\":[{\"create\":{\"status\":2e}}]}",
        "{\"items\":[{\"create\":{\"_id\":\"a\\x\"}}]}",
        "{\"items\":[{\"create\":{\"_id\":\"a\\u12G4\"}}]}",
        "{\"items\":[{\"create\":{\"_id\":\"a\tb\"}}]}",
        "{\"took\":tru,\"items\":[{\"create\":{}}]}",
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(bodies); i++) {
        struct parsed reply;
        parse_reply(&reply, bodies[i], strlen(bodies[i]), 1);
        if (reply.rc != LF_EPROTO) {
            LF_FAIL_AT("body %zu (%s): rc %d, expected LF_EPROTO", i, bodies[i],
                       reply.rc);
        }
        parsed_cleanup(&reply);
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
    struct parsed reply;

    parse_literal(&reply, body, 6, 0);
    if (reply.item_count == 6) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_INT_EQ(reply.items[3].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(reply.items[4].outcome, LF_ES_ITEM_DUPLICATE);
        /* A status that is not a number gives no result. */
        LF_CHECK_INT_EQ(reply.items[5].status, 0);
        LF_CHECK_INT_EQ(reply.items[5].outcome, LF_ES_ITEM_RETRY);
    }
    parsed_cleanup(&reply);
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
    struct parsed reply;

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
    parsed_cleanup(&reply);
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
    struct parsed reply;

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
    parsed_cleanup(&reply);
}

/* The reply to the output's filter_path when every item succeeded. */
static void test_es_reply_compact_success(void)
{
    static const char body[] =
        "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},"
        "{\"index\":{\"status\":200}},{\"create\":{\"status\":201}}]}\n";
    struct parsed reply;

    parse_literal(&reply, body, 3, 0);
    LF_CHECK_INT_EQ(reply.item_count, 3);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 3);
    if (reply.item_count == 3) {
        LF_CHECK_INT_EQ(reply.items[0].status, 201);
        LF_CHECK_STR_EQ(reply.items[0].action, "create");
        LF_CHECK_INT_EQ(reply.items[1].status, 200);
        LF_CHECK_STR_EQ(reply.items[1].action, "index");
        LF_CHECK_STR_EQ(reply.items[2].error_type, "");
    }
    parsed_cleanup(&reply);

    /* One item more or less than sent is still a whole-request failure. */
    parse_literal(&reply, body, 2, LF_EPROTO);
    parsed_cleanup(&reply);
    parse_literal(&reply, body, 4, LF_EPROTO);
    parsed_cleanup(&reply);
}

/* Compact replies with failures, odd statuses and trailing bytes. */
static void test_es_reply_compact_with_failures(void)
{
    struct parsed reply;

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{\"status\":"
                  "201}},{\"create\":{\"status\":429}}]}",
                  2, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 1);
    parsed_cleanup(&reply);

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{\"status\":"
                  "2010}}]}",
                  1, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 1);
    LF_CHECK_INT_EQ(reply.items[0].status, 0);
    parsed_cleanup(&reply);

    parse_literal(&reply,
                  "{\"errors\":false,\"items\":[{\"create\":{\"status\":"
                  "201}}]}trailing",
                  1, 0);
    /* A closed list of the right length is complete whatever follows. */
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    LF_CHECK_INT_EQ(reply.missing, 0);
    parsed_cleanup(&reply);
}

/* The es5x capture has "errors": false next to three 429 items. */
static void test_es_reply_errors_false_with_rejections(void)
{
    struct parsed reply;
    struct lf_buf body;

    lf_buf_init(&body);
    LF_CHECK_INT_EQ(
        read_file(lf_test_fixture("elasticsearch-bulk/responses/es-hadoop/"
                                  "bulk-retry-output-es5x.json"),
                  &body),
        0);
    LF_CHECK(strstr(body.data, "\"errors\": false") != NULL);
    parse_reply(&reply, body.data, body.len, 5);
    LF_CHECK_INT_EQ(reply.rc, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 2);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 3);
    if (reply.item_count == 5) {
        LF_CHECK_INT_EQ(reply.items[1].status, 429);
        LF_CHECK_STR_EQ(reply.items[1].error_type,
                        "es_rejected_execution_exception");
        LF_CHECK(lf_es_item_overloaded(&reply.items[1]));
        LF_CHECK(!lf_es_item_overloaded(&reply.items[0]));
    }
    parsed_cleanup(&reply);
    lf_buf_cleanup(&body);
}

/*
 * A reply cut inside its list gives the items before the cut. The others
 * are retried with status 0, never counted as indexed.
 */
static void test_es_reply_cut_short(void)
{
    static const char *const bodies[] = {
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":409}},{\"create\":{\"sta",
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":409}}",
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":409}},",
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":409}},<html>",
    };

    for (size_t b = 0; b < LF_ARRAY_SIZE(bodies); b++) {
        struct parsed reply;

        parse_literal(&reply, bodies[b], 4, 0);
        LF_CHECK_INT_EQ(reply.item_count, 4);
        LF_CHECK_INT_EQ(reply.missing, 2);
        LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
        LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_DUPLICATE], 1);
        LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 2);
        if (reply.item_count == 4) {
            LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_RETRY);
            LF_CHECK_INT_EQ(reply.items[2].status, 0);
            LF_CHECK_STR_EQ(reply.items[2].error_type, "");
            LF_CHECK_STR_EQ(reply.items[3].error_reason,
                            "the reply has no result for this item");
            LF_CHECK(!lf_es_item_overloaded(&reply.items[3]));
        }
        parsed_cleanup(&reply);
    }
}

/* More items than sent: the reply is not for this request. */
static void test_es_reply_more_items(void)
{
    static const char *const bodies[] = {
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":201}},{\"create\":{\"status\":201}}]}",
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":201}},{\"create\":{\"status\":201}}",
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":201}},{\"create\":{\"st",
        "{\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":201}},",
    };

    for (size_t b = 0; b < LF_ARRAY_SIZE(bodies); b++) {
        struct parsed reply;

        parse_literal(&reply, bodies[b], 2, LF_EPROTO);
        LF_CHECK_INT_EQ(reply.item_count, 0);
        parsed_cleanup(&reply);
    }
}

/* Builds `depth` nested arrays around a value, into `out`. */
static void append_nested(struct lf_buf *out, size_t depth)
{
    for (size_t i = 0; i < depth; i++) {
        lf_buf_append_char(out, '[');
    }
    lf_buf_append_char(out, '1');
    for (size_t i = 0; i < depth; i++) {
        lf_buf_append_char(out, ']');
    }
}

static void test_es_reply_deep_nesting(void)
{
    struct parsed reply;
    struct lf_buf body;

    /* Nesting inside an item stops the reader at that item. */
    lf_buf_init(&body);
    lf_buf_append_str(&body, "{\"items\":[{\"create\":{\"status\":201}},"
                             "{\"create\":{\"status\":400,\"x\":");
    append_nested(&body, 100000);
    lf_buf_append_str(&body, "}}]}");
    parse_reply(&reply, body.data, body.len, 2);
    LF_CHECK_INT_EQ(reply.rc, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    LF_CHECK_INT_EQ(reply.missing, 1);
    parsed_cleanup(&reply);

    /* Before the list, it leaves no item to read. */
    lf_buf_reset(&body);
    lf_buf_append_str(&body, "{\"took\":");
    append_nested(&body, 100000);
    lf_buf_append_str(&body, ",\"items\":[{\"create\":{\"status\":201}}]}");
    parse_reply(&reply, body.data, body.len, 1);
    LF_CHECK_INT_EQ(reply.rc, LF_EPROTO);
    parsed_cleanup(&reply);

    /* Moderate nesting is skipped. */
    lf_buf_reset(&body);
    lf_buf_append_str(&body, "{\"took\":");
    append_nested(&body, 20);
    lf_buf_append_str(&body, ",\"items\":[{\"create\":{\"status\":201,"
                             "\"x\":");
    append_nested(&body, 20);
    lf_buf_append_str(&body, "}}]}");
    parse_reply(&reply, body.data, body.len, 1);
    LF_CHECK_INT_EQ(reply.rc, 0);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    parsed_cleanup(&reply);
    lf_buf_cleanup(&body);
}

/* Texts longer than their field are cut at a character boundary. */
static void test_es_reply_huge_strings(void)
{
    struct parsed reply;
    struct lf_buf body;
    struct lf_buf id;

    lf_buf_init(&body);
    lf_buf_init(&id);
    lf_buf_append_str(&body, "{\"items\":[{\"create\":{\"status\":400,"
                             "\"error\":{\"type\":\"");
    for (size_t i = 0; i < 1000; i++) {
        lf_buf_append_str(&body, "t");
    }
    lf_buf_append_str(&body, "\",\"reason\":\"");
    /* "é" is two bytes: 511 bytes of room end in the middle of one. */
    for (size_t i = 0; i < 1 << 20; i++) {
        lf_buf_append_str(&body, "\xc3\xa9");
    }
    lf_buf_append_str(&body, "\"}}},{\"create\":{\"_id\":\"");
    for (size_t i = 0; i < 512; i++) {
        lf_buf_append_char(&id, (char)('a' + i % 26));
    }
    lf_buf_append(&body, id.data, id.len);
    lf_buf_append_str(&body, "\",\"status\":201}}]}");
    parse_reply(&reply, body.data, body.len, 2);
    LF_CHECK_INT_EQ(reply.rc, 0);
    if (reply.item_count == 2) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(strlen(reply.items[0].error_type),
                        LF_ES_REPLY_TYPE_SIZE - 1);
        LF_CHECK_INT_EQ(strlen(reply.items[0].error_reason), 510);
        LF_CHECK(memcmp(reply.items[0].error_reason, "\xc3\xa9\xc3\xa9", 4) ==
                 0);
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_STR_EQ(reply.items[1].id, id.data);
    }
    parsed_cleanup(&reply);
    lf_buf_cleanup(&id);
    lf_buf_cleanup(&body);
}

static void test_es_reply_escapes(void)
{
    static const char body[] =
        "{\"items\":[{\"create\":{\"status\":400,\"error\":{"
        "\"type\":\"x_exception\",\"reason\":"
        "\"\\u00e9 \\ud83d\\ude00 \\ud800 \\\"q\\\" a\\/b\\n\\t\"}}}]}";
    struct parsed reply;

    parse_literal(&reply, body, 1, 0);
    if (reply.item_count == 1) {
        LF_CHECK_STR_EQ(reply.items[0].error_reason,
                        "\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd \"q\" a/b\n\t");
    }
    parsed_cleanup(&reply);
}

/* Members of an unexpected type read as absent; the item still counts. */
static void test_es_reply_wrong_types(void)
{
    static const char body[] =
        "{\"items\":["
        "{\"create\":{\"_id\":7,\"_index\":[\"a\"],\"status\":201}},"
        "{\"create\":{\"status\":[429],\"error\":{\"type\":5}}},"
        "{\"create\":{\"status\":429.0,\"error\":[\"x\"]}},"
        "{\"create\":{\"status\":-201}},"
        "{\"create\":{\"status\":201,\"error\":{\"type\":\"a\","
        "\"caused_by\":\"text\"}}}"
        "]}";
    struct parsed reply;

    parse_literal(&reply, body, 5, 0);
    if (reply.item_count == 5) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_STR_EQ(reply.items[0].id, "");
        LF_CHECK_STR_EQ(reply.items[0].index, "");
        LF_CHECK_INT_EQ(reply.items[1].status, 0);
        LF_CHECK_STR_EQ(reply.items[1].error_type, "unknown_error");
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_REJECTED);
        LF_CHECK_INT_EQ(reply.items[2].status, 429);
        LF_CHECK_STR_EQ(reply.items[2].error_type, "unknown_error");
        LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(reply.items[3].status, 0);
        LF_CHECK_INT_EQ(reply.items[3].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_STR_EQ(reply.items[4].error_type, "a");
        LF_CHECK_STR_EQ(reply.items[4].cause_reason, "");
        LF_CHECK_INT_EQ(reply.items[4].outcome, LF_ES_ITEM_REJECTED);
    }
    parsed_cleanup(&reply);
}

/*
 * A status that is present but not an HTTP status, with no error: the
 * reply does not say the item was stored, so it is retried, never counted
 * as indexed. An integral number written with a zero fraction is read.
 */
static void test_es_reply_invalid_status(void)
{
    static const struct {
        const char *status;
        int expected_status;
        enum lf_es_item_outcome expected;
    } cases[] = {
        {"\"201\"", 0, LF_ES_ITEM_RETRY},
        {"\"503\"", 0, LF_ES_ITEM_RETRY},
        {"5.03e2", 0, LF_ES_ITEM_RETRY},
        {"503.0", 503, LF_ES_ITEM_RETRY},
        {"201.00", 201, LF_ES_ITEM_INDEXED},
        {"201.5", 0, LF_ES_ITEM_RETRY},
        {"-201", 0, LF_ES_ITEM_RETRY},
        {"1234567890", 0, LF_ES_ITEM_RETRY},
        {"600", 0, LF_ES_ITEM_RETRY},
        {"99", 0, LF_ES_ITEM_RETRY},
        {"0", 0, LF_ES_ITEM_RETRY},
        {"null", 0, LF_ES_ITEM_RETRY},
        {"true", 0, LF_ES_ITEM_RETRY},
        {"{}", 0, LF_ES_ITEM_RETRY},
        {"409.0", 409, LF_ES_ITEM_DUPLICATE},
        {"201,\"ok\":false", 201, LF_ES_ITEM_INDEXED},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        char body[128];
        struct parsed reply;
        int n = snprintf(body, sizeof(body),
                         "{\"items\":[{\"create\":{\"status\":%s}}]}",
                         cases[i].status);

        LF_CHECK(n > 0 && (size_t)n < sizeof(body));
        parse_literal(&reply, body, 1, 0);
        if (reply.item_count == 1) {
            LF_CHECK_INT_EQ(reply.items[0].status, cases[i].expected_status);
            LF_CHECK_INT_EQ(reply.items[0].outcome, cases[i].expected);
        }
        if (cases[i].expected == LF_ES_ITEM_RETRY &&
            cases[i].expected_status == 0 && reply.item_count == 1) {
            LF_CHECK_STR_EQ(reply.items[0].error_reason,
                            "the item's status is not an HTTP status");
        }
        parsed_cleanup(&reply);
    }
}

/*
 * An item without a status is stored only with the "ok": true of the
 * replies of Elasticsearch 0.90; an empty result or one whose status a
 * proxy filtered out is retried.
 */
static void test_es_reply_missing_status(void)
{
    static const char body[] =
        "{\"items\":["
        "{\"create\":{}},"
        "{\"create\":{\"_id\":\"1-0\",\"result\":\"created\"}},"
        "{\"create\":{\"ok\":true}},"
        "{\"create\":{\"ok\":false}},"
        "{\"create\":{\"ok\":\"true\"}},"
        "{\"create\":{\"error\":null}}"
        "]}";
    struct parsed reply;

    parse_literal(&reply, body, 6, 0);
    if (reply.item_count == 6) {
        LF_CHECK_INT_EQ(reply.items[0].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_STR_EQ(reply.items[0].error_reason,
                        "the item has neither a status nor an error");
        LF_CHECK_INT_EQ(reply.items[1].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_STR_EQ(reply.items[1].id, "1-0");
        LF_CHECK_INT_EQ(reply.items[2].outcome, LF_ES_ITEM_INDEXED);
        LF_CHECK_INT_EQ(reply.items[3].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(reply.items[4].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(reply.items[5].outcome, LF_ES_ITEM_RETRY);
    }
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], 1);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 5);
    parsed_cleanup(&reply);
}

/* The item results that lower the requests allowed in flight. */
static void test_es_reply_overload_signals(void)
{
    static const char body[] =
        "{\"items\":["
        "{\"create\":{\"status\":429}},"
        "{\"create\":{\"status\":503}},"
        "{\"create\":{\"status\":504}},"
        "{\"create\":{\"status\":500,\"error\":{\"type\":"
        "\"es_rejected_execution_exception\"}}},"
        "{\"index\":{\"error\":\"EsRejectedExecutionException[full]\"}},"
        "{\"create\":{\"status\":500}},"
        "{\"create\":{\"status\":502}},"
        "{\"create\":{\"status\":400,\"error\":{\"type\":\"x\"}}},"
        "{\"create\":{\"status\":201}}"
        "]}";
    static const bool overloaded[] = {true,  true,  true,  true, true,
                                      false, false, false, false};
    struct parsed reply;

    parse_literal(&reply, body, LF_ARRAY_SIZE(overloaded), 0);
    LF_CHECK_INT_EQ(reply.item_count, LF_ARRAY_SIZE(overloaded));
    for (size_t i = 0; i < reply.item_count; i++) {
        if (lf_es_item_overloaded(&reply.items[i]) != overloaded[i]) {
            LF_FAIL_AT("item %zu: overloaded is %d, expected %d", i,
                       !overloaded[i], overloaded[i]);
        }
    }
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], 7);
    parsed_cleanup(&reply);
}

/* Every item of a 10,000-item reply, with failures spread among them. */
static void test_es_reply_large(void)
{
    enum { ITEMS = 10000 };
    struct parsed reply;
    struct lf_buf body;

    lf_buf_init(&body);
    lf_buf_append_str(&body, "{\"errors\":true,\"items\":[");
    for (size_t i = 0; i < ITEMS; i++) {
        if (i > 0) {
            lf_buf_append_char(&body, ',');
        }
        if (i % 100 == 7) {
            lf_buf_append_str(&body, "{\"create\":{\"status\":429,\"error\":"
                                     "{\"type\":\"es_rejected_execution_"
                                     "exception\",\"reason\":\"full\"}}}");
        } else {
            lf_buf_append_str(&body, "{\"create\":{\"status\":201}}");
        }
    }
    lf_buf_append_str(&body, "]}");
    parse_reply(&reply, body.data, body.len, ITEMS);
    LF_CHECK_INT_EQ(reply.rc, 0);
    LF_CHECK_INT_EQ(reply.item_count, ITEMS);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_RETRY], ITEMS / 100);
    LF_CHECK_INT_EQ(reply.count[LF_ES_ITEM_INDEXED], ITEMS - ITEMS / 100);
    if (reply.item_count == ITEMS) {
        LF_CHECK_INT_EQ(reply.items[9907].outcome, LF_ES_ITEM_RETRY);
        LF_CHECK_INT_EQ(reply.items[9908].outcome, LF_ES_ITEM_INDEXED);
    }
    parsed_cleanup(&reply);
    lf_buf_cleanup(&body);
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
    LF_RUN(test_es_reply_errors_false_with_rejections);
    LF_RUN(test_es_reply_cut_short);
    LF_RUN(test_es_reply_more_items);
    LF_RUN(test_es_reply_deep_nesting);
    LF_RUN(test_es_reply_huge_strings);
    LF_RUN(test_es_reply_escapes);
    LF_RUN(test_es_reply_wrong_types);
    LF_RUN(test_es_reply_invalid_status);
    LF_RUN(test_es_reply_missing_status);
    LF_RUN(test_es_reply_overload_signals);
    LF_RUN(test_es_reply_large);
    LF_RUN(test_es_reply_outcome_names);
    return lf_test_end();
}
