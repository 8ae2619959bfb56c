/*
 * Tests of mapping conflicts: the field read from Elasticsearch 8 error
 * reasons, and the document rewritten with that field in `labels`.
 */
#include "outputs/elasticsearch/es_conflict.h"
#include "lf/buf.h"
#include "lf/error.h"

#include <string.h>

#include "lf_test.h"

struct reason_case {
    const char *type;
    const char *reason;
    const char *field; /* NULL: no field can be read */
};

static void test_es_conflict_field_from_reasons(void)
{
    static const struct reason_case cases[] = {
        {"mapper_parsing_exception",
         "failed to parse field [http.response.status_code] of type [long] "
         "in document with id 'a-1'. Preview of field's value: 'abc'",
         "http.response.status_code"},
        {"document_parsing_exception",
         "[1:1] failed to parse field [url.path] of type [long] in document "
         "with id 'x'. Preview of field's value: '/a'",
         "url.path"},
        {"document_parsing_exception",
         "[1:1] object mapping for [http.response] tried to parse field "
         "[response] as object, but found a concrete value",
         "http.response"},
        {"illegal_argument_exception",
         "mapper [user.id] cannot be changed from type [long] to [keyword]",
         "user.id"},
        {"mapper_parsing_exception",
         "Could not dynamically add mapping for field [a.b]. Existing "
         "mapping for [a] must be of type object but found [keyword].",
         "a.b"},
        {"illegal_argument_exception",
         "Limit of total fields [1000] has been exceeded while adding new "
         "fields [3]",
         NULL},
        {"illegal_argument_exception",
         "failed to parse date field [2026-13-45] with format "
         "[strict_date_optional_time]",
         NULL},
        {"document_parsing_exception",
         "[1:30] failed to parse field [params[id]] of type [long] in "
         "document with id 'x'. Preview of field's value: 'a'",
         "params[id]"},
        {"document_parsing_exception",
         "[1:30] object mapping for [user name] tried to parse field "
         "[user name] as object, but found a concrete value",
         "user name"},
        {"document_parsing_exception",
         "[1:9] failed to parse: Field [_id] is a metadata field and cannot "
         "be added inside a document. Use the index API request "
         "parameters.",
         "_id"},
        {"mapper_parsing_exception", "failed to parse", NULL},
        {"strict_dynamic_mapping_exception",
         "[1:2] mapping set to strict, dynamic introduction of [labels] "
         "within [_doc] is not allowed",
         NULL},
        {"version_conflict_engine_exception",
         "failed to parse field [a] of type [long]", NULL},
        {"mapper_parsing_exception", "failed to parse field [] of type", NULL},
        {"mapper_parsing_exception", "failed to parse field [a b] x", "a b"},
        {"mapper_parsing_exception", "failed to parse field [a[b] x", NULL},
        {"mapper_parsing_exception", "failed to parse field [unclosed", NULL},
        {"mapper_parsing_exception", NULL, NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char field[LF_ES_FIELD_MAX] = "";
        bool found =
            lf_es_conflict_field(cases[i].type, cases[i].reason, field);

        LF_CHECK_INT_EQ(found, cases[i].field != NULL);
        if (cases[i].field != NULL) {
            LF_CHECK_STR_EQ(field, cases[i].field);
        }
    }
}

static void test_es_conflict_field_too_long(void)
{
    char reason[LF_ES_FIELD_MAX + 64];
    char field[LF_ES_FIELD_MAX];
    size_t n = strlen("failed to parse field [");

    memcpy(reason, "failed to parse field [", n);
    memset(reason + n, 'a', LF_ES_FIELD_MAX);
    memcpy(reason + n + LF_ES_FIELD_MAX, "] x", 4);
    LF_CHECK(!lf_es_conflict_field("mapper_parsing_exception", reason,
                                   field));
}

static void relocate_case(const char *doc, const char *field,
                          const char *expected)
{
    struct lf_buf out;

    lf_buf_init(&out);
    LF_CHECK_INT_EQ(lf_es_conflict_relocate(doc, strlen(doc), field, "why",
                                            &out),
                    0);
    LF_CHECK_STR_EQ(out.data, expected);
    lf_buf_cleanup(&out);
}

static void test_es_conflict_relocate_nested(void)
{
    relocate_case(
        "{\"message\":\"m\",\"http\":{\"response\":{\"status_code\":\"-\","
        "\"bytes\":3}}}",
        "http.response.status_code",
        "{\"message\":\"m\",\"http\":{\"response\":{\"bytes\":3}},"
        "\"labels\":{\"http_response_status_code_raw\":\"-\"},"
        "\"error\":{\"message\":\"why\"}}");
}

static void test_es_conflict_relocate_drops_empty_parents(void)
{
    relocate_case("{\"a\":{\"b\":{\"c\":[1,2]}},\"labels\":{\"k\":\"v\"}}",
                  "a.b.c",
                  "{\"labels\":{\"k\":\"v\",\"a_b_c_raw\":\"[1,2]\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

static void test_es_conflict_relocate_dotted_key(void)
{
    relocate_case("{\"url.path\":5,\"error\":{\"message\":\"boom\"}}",
                  "url.path",
                  "{\"error\":{\"message\":[\"boom\",\"why\"]},"
                  "\"labels\":{\"url_path_raw\":\"5\"}}");
}

static void test_es_conflict_relocate_object_value(void)
{
    relocate_case("{\"user\":{\"id\":{\"n\":1}}}", "user.id",
                  "{\"labels\":{\"user_id_raw\":\"{\\\"n\\\":1}\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

/*
 * Moving the only member of `error` or `labels` leaves that object empty
 * and removes it; the message and the label still land in new objects.
 */
static void test_es_conflict_relocate_empties_error(void)
{
    relocate_case("{\"error\":{\"message\":{\"code\":5}}}",
                  "error.message",
                  "{\"labels\":{\"error_message_raw\":\"{\\\"code\\\":5}\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

static void test_es_conflict_relocate_empties_labels(void)
{
    relocate_case("{\"labels\":{\"env\":{\"name\":\"prod\"}}}",
                  "labels.env",
                  "{\"labels\":{\"labels_env_raw\":"
                  "\"{\\\"name\\\":\\\"prod\\\"}\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

/* Elasticsearch rejects a text `error` where ECS maps an object. */
static void test_es_conflict_relocate_error_string(void)
{
    relocate_case("{\"message\":\"m\",\"error\":\"connection reset\"}",
                  "error",
                  "{\"message\":\"m\","
                  "\"labels\":{\"error_raw\":\"connection reset\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

static void test_es_conflict_relocate_labels_string(void)
{
    relocate_case("{\"labels\":\"a,b\"}", "labels",
                  "{\"labels\":{\"labels_raw\":\"a,b\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

/* A label of the same name from the log line is kept next to the value. */
static void test_es_conflict_relocate_label_taken(void)
{
    relocate_case("{\"labels\":{\"n_raw\":\"old\"},\"n\":5}", "n",
                  "{\"labels\":{\"n_raw\":[\"old\",\"5\"]},"
                  "\"error\":{\"message\":\"why\"}}");
    relocate_case("{\"labels\":{\"n_raw\":[\"a\",\"b\"]},\"n\":true}", "n",
                  "{\"labels\":{\"n_raw\":[\"a\",\"b\",\"true\"]},"
                  "\"error\":{\"message\":\"why\"}}");
}

/* Jansson rejects "\u0000" unless asked; log lines may contain NUL. */
static void test_es_conflict_relocate_nul_in_string(void)
{
    relocate_case("{\"message\":\"a\\u0000b\",\"n\":\"x\"}", "n",
                  "{\"message\":\"a\\u0000b\","
                  "\"labels\":{\"n_raw\":\"x\"},"
                  "\"error\":{\"message\":\"why\"}}");
}

static void test_es_conflict_relocate_failures(void)
{
    struct lf_buf out;
    static const char missing[] = "{\"a\":1}";
    static const char labels[] = "{\"a\":1,\"labels\":\"x\"}";
    static const char error[] = "{\"a\":1,\"error\":[1]}";
    static const char array[] = "[1]";

    lf_buf_init(&out);
    LF_CHECK_INT_EQ(lf_es_conflict_relocate(missing, strlen(missing), "b",
                                            "why", &out),
                    LF_ENOENT);
    LF_CHECK_INT_EQ(lf_es_conflict_relocate(labels, strlen(labels), "a",
                                            "why", &out),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(lf_es_conflict_relocate(error, strlen(error), "a",
                                            "why", &out),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(lf_es_conflict_relocate(array, strlen(array), "a",
                                            "why", &out),
                    LF_EPARSE);
    LF_CHECK_INT_EQ(lf_es_conflict_relocate("{", 1, "a", "why", &out),
                    LF_EPARSE);
    LF_CHECK_INT_EQ((int)out.len, 0);
    lf_buf_cleanup(&out);
}

int main(void)
{
    LF_RUN(test_es_conflict_field_from_reasons);
    LF_RUN(test_es_conflict_field_too_long);
    LF_RUN(test_es_conflict_relocate_nested);
    LF_RUN(test_es_conflict_relocate_drops_empty_parents);
    LF_RUN(test_es_conflict_relocate_dotted_key);
    LF_RUN(test_es_conflict_relocate_object_value);
    LF_RUN(test_es_conflict_relocate_empties_error);
    LF_RUN(test_es_conflict_relocate_empties_labels);
    LF_RUN(test_es_conflict_relocate_error_string);
    LF_RUN(test_es_conflict_relocate_labels_string);
    LF_RUN(test_es_conflict_relocate_nul_in_string);
    LF_RUN(test_es_conflict_relocate_label_taken);
    LF_RUN(test_es_conflict_relocate_failures);
    return lf_test_end();
}
