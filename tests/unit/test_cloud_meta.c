/*
 * Tests of the metadata field sets and of the parsers of the EC2 instance
 * identity document and the ECS task metadata v4 documents, with the
 * documents in tests/fixtures/aws-metadata.
 */
#include "agent/metadata/ec2_meta.h"
#include "agent/metadata/ecs_task_meta.h"
#include "agent/metadata/meta_json.h"
#include "agent/metadata/meta_set.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <stdio.h>
#include <string.h>

/* Reads a fixture into `out`; returns 0 or -1 after failing a check. */
static int read_fixture(const char *name, struct lf_buf *out)
{
    char chunk[4096];
    FILE *f = fopen(lf_test_fixture(name), "rb");
    size_t n;

    if (f == NULL) {
        LF_FAIL_AT("cannot open fixture %s", lf_test_fixture(name));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        lf_buf_append(out, chunk, n);
    }
    fclose(f);
    return 0;
}

/* Returns value `i` of `key` as a C string, or NULL when absent. */
static const char *value_of(const struct lf_meta_set *set, const char *key,
                            size_t i)
{
    static char text[512];
    const struct lf_meta_field *field = lf_meta_set_get(set, key);

    if (field == NULL || i >= field->value_count ||
        field->values[i].type != LF_VALUE_STRING) {
        return NULL;
    }
    snprintf(text, sizeof(text), "%.*s", (int)field->values[i].u.str.len,
             field->values[i].u.str.ptr);
    return text;
}

static void test_meta_set_scalar_and_array(void)
{
    struct lf_meta_builder b;
    struct lf_meta_set *set;
    const struct lf_meta_field *field;

    lf_meta_builder_init(&b);
    LF_CHECK_INT_EQ(lf_meta_builder_add_str(&b, "host.name", "web-1xx", 5),
                    0);
    LF_CHECK_INT_EQ(lf_meta_builder_append_str(&b, "host.ip", "10.0.0.1", 8),
                    0);
    LF_CHECK_INT_EQ(lf_meta_builder_append_str(&b, "host.ip", "fe80::1", 7),
                    0);
    set = lf_meta_builder_finish(&b);
    LF_CHECK_INT_EQ(b.count, 0);

    LF_CHECK_INT_EQ(lf_meta_set_count(set), 2);
    LF_CHECK_STR_EQ(lf_meta_set_at(set, 0)->key, "host.name");
    LF_CHECK_STR_EQ(lf_meta_set_at(set, 1)->key, "host.ip");
    field = lf_meta_set_get(set, "host.name");
    LF_CHECK(field != NULL && !field->is_array);
    LF_CHECK_STR_EQ(value_of(set, "host.name", 0), "web-1");
    field = lf_meta_set_get(set, "host.ip");
    LF_CHECK(field != NULL && field->is_array);
    LF_CHECK_INT_EQ(field != NULL ? field->value_count : 0, 2);
    LF_CHECK_STR_EQ(value_of(set, "host.ip", 0), "10.0.0.1");
    LF_CHECK_STR_EQ(value_of(set, "host.ip", 1), "fe80::1");
    LF_CHECK(lf_meta_set_get(set, "host.id") == NULL);

    lf_meta_builder_cleanup(&b);
    lf_meta_set_unref(set);
}

static void test_meta_set_rejects_duplicates(void)
{
    struct lf_meta_builder b;

    lf_meta_builder_init(&b);
    LF_CHECK_INT_EQ(lf_meta_builder_add_str(&b, "cloud.region", "a", 1), 0);
    LF_CHECK_INT_EQ(lf_meta_builder_add_str(&b, "cloud.region", "b", 1),
                    LF_EEXIST);
    LF_CHECK_INT_EQ(lf_meta_builder_append_str(&b, "cloud.region", "c", 1),
                    LF_EEXIST);
    LF_CHECK_INT_EQ(lf_meta_builder_append_str(&b, "host.ip", "x", 1), 0);
    LF_CHECK_INT_EQ(lf_meta_builder_add_str(&b, "host.ip", "y", 1),
                    LF_EEXIST);
    LF_CHECK_INT_EQ(lf_meta_builder_add_str(&b, "host.id", "", 0), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_meta_builder_add_str(&b, "", "v", 1), LF_EINVAL);
    LF_CHECK(lf_meta_builder_has(&b, "cloud.region"));
    LF_CHECK(!lf_meta_builder_has(&b, "host.id"));
    LF_CHECK_INT_EQ(b.count, 2);
    lf_meta_builder_cleanup(&b);
}

static void test_meta_set_reference_outlives_owner(void)
{
    struct lf_meta_builder b;
    struct lf_meta_set *set;
    struct lf_meta_set *held;

    lf_meta_builder_init(&b);
    lf_meta_builder_add_str(&b, "cloud.provider", "aws", 3);
    set = lf_meta_builder_finish(&b);
    held = lf_meta_set_ref(set);
    LF_CHECK(held == set);
    lf_meta_set_unref(set);
    /* The second reference keeps the set and its strings alive. */
    LF_CHECK_STR_EQ(value_of(held, "cloud.provider", 0), "aws");
    lf_meta_set_unref(held);
    lf_meta_set_unref(NULL);
    lf_meta_builder_cleanup(&b);
}

static void test_meta_set_empty_builder(void)
{
    struct lf_meta_builder b;
    struct lf_meta_set *set;

    lf_meta_builder_init(&b);
    set = lf_meta_builder_finish(&b);
    LF_CHECK(set != NULL);
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 0);
    LF_CHECK(lf_meta_set_get(set, "host.name") == NULL);
    lf_meta_set_unref(set);
}

static void test_ec2_meta_endpoint_order(void)
{
    LF_CHECK_STR_EQ(lf_ec2_meta_endpoint("http://127.0.0.1:1", "http://x"),
                    "http://127.0.0.1:1");
    LF_CHECK_STR_EQ(lf_ec2_meta_endpoint(NULL, "http://127.0.0.1:2"),
                    "http://127.0.0.1:2");
    LF_CHECK_STR_EQ(lf_ec2_meta_endpoint(NULL, ""), "http://169.254.169.254");
    LF_CHECK_STR_EQ(lf_ec2_meta_endpoint(NULL, NULL),
                    "http://169.254.169.254");
}

static void test_meta_base_url_checks(void)
{
    char errbuf[256] = "";
    char *url = NULL;

    LF_CHECK_INT_EQ(lf_meta_base_url("http://127.0.0.1:8080/", false,
                                     "endpoint", &url, errbuf,
                                     sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(url, "http://127.0.0.1:8080");
    lf_free(url);

    LF_CHECK_INT_EQ(lf_meta_base_url("http://169.254.170.2/v4/abc//", true,
                                     "uri", &url, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(url, "http://169.254.170.2/v4/abc");
    lf_free(url);

    LF_CHECK_INT_EQ(lf_meta_base_url("http://127.0.0.1/latest", false,
                                     "endpoint", &url, errbuf,
                                     sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "invalid endpoint \"http://127.0.0.1/latest\": "
                            "expected a host and optional port without a "
                            "path");
    LF_CHECK(url == NULL);

    LF_CHECK_INT_EQ(lf_meta_base_url("169.254.169.254", false, "endpoint",
                                     &url, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "invalid endpoint \"169.254.169.254\": expected "
                            "http://HOST[:PORT] or https://HOST[:PORT]");
    LF_CHECK_INT_EQ(lf_meta_base_url("http://", false, "endpoint", &url,
                                     errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_INT_EQ(lf_meta_base_url("http://h/x?y=1", true, "uri", &url,
                                     errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "invalid uri \"http://h/x?y=1\": expected a "
                            "host, an optional port and a path, without a "
                            "query or fragment");
    LF_CHECK_INT_EQ(lf_meta_base_url("file:///v4", true, "uri", &url, errbuf,
                                     sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "invalid uri \"file:///v4\": expected "
                            "http://HOST[:PORT][/PATH] or "
                            "https://HOST[:PORT][/PATH]");
}

static void test_ec2_meta_parse_identity_document(void)
{
    struct lf_buf doc;
    struct lf_meta_set *set = NULL;
    char errbuf[256] = "";

    lf_buf_init(&doc);
    if (read_fixture("aws-metadata/ec2-identity-document.json", &doc) != 0) {
        lf_buf_cleanup(&doc);
        return;
    }
    LF_CHECK_INT_EQ(lf_ec2_meta_parse_identity(doc.data, doc.len, &set,
                                               errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(errbuf, "");
    if (set != NULL) {
        LF_CHECK_INT_EQ(lf_meta_set_count(set), 7);
        LF_CHECK_STR_EQ(value_of(set, "cloud.provider", 0), "aws");
        LF_CHECK_STR_EQ(value_of(set, "cloud.account.id", 0), "111122223333");
        LF_CHECK_STR_EQ(value_of(set, "cloud.region", 0), "us-west-2");
        LF_CHECK_STR_EQ(value_of(set, "cloud.availability_zone", 0),
                        "us-west-2b");
        LF_CHECK_STR_EQ(value_of(set, "cloud.instance.id", 0),
                        "i-1234567890abcdef0");
        LF_CHECK_STR_EQ(value_of(set, "cloud.machine.type", 0), "t3.medium");
        LF_CHECK_STR_EQ(value_of(set, "aws.ec2.image.id", 0),
                        "ami-0abcdef1234567890");
    }
    lf_meta_set_unref(set);
    lf_buf_cleanup(&doc);
}

static void test_ec2_meta_parse_rejects_bad_documents(void)
{
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"", "instance identity document is not valid JSON: '[' or '{' "
             "expected near end of file (line 1)"},
        {"[1]", "instance identity document is not a JSON object"},
        {"{\"region\": \"us-east-1\"}",
         "instance identity document has no instanceId or region"},
        {"{\"instanceId\": \"i-1\", \"region\": 7}",
         "instance identity document has no instanceId or region"},
        {"{\"instanceId\": \"i-1\", \"instanceId\": \"i-2\"}",
         "instance identity document is not valid JSON: duplicate object "
         "key near '\"instanceId\"' (line 1)"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_meta_set *set = NULL;
        char errbuf[256] = "";

        LF_CHECK_INT_EQ(lf_ec2_meta_parse_identity(cases[i].json,
                                                   strlen(cases[i].json),
                                                   &set, errbuf,
                                                   sizeof(errbuf)),
                        LF_EPARSE);
        LF_CHECK(set == NULL);
        LF_CHECK_STR_EQ(errbuf, cases[i].error);
    }
}

/* Parses two fixtures; returns the set or NULL after failing a check. */
static struct lf_meta_set *parse_ecs_fixtures(const char *task_name,
                                              const char *container_name)
{
    struct lf_buf task;
    struct lf_buf container;
    struct lf_meta_set *set = NULL;
    char errbuf[256] = "";

    lf_buf_init(&task);
    lf_buf_init(&container);
    if (read_fixture(task_name, &task) == 0 &&
        read_fixture(container_name, &container) == 0) {
        LF_CHECK_INT_EQ(lf_ecs_task_meta_parse(task.data, task.len,
                                               container.data, container.len,
                                               &set, errbuf, sizeof(errbuf)),
                        0);
        LF_CHECK_STR_EQ(errbuf, "");
    }
    lf_buf_cleanup(&task);
    lf_buf_cleanup(&container);
    return set;
}

static void test_ecs_task_meta_parse_fargate(void)
{
    struct lf_meta_set *set =
        parse_ecs_fixtures("aws-metadata/ecs-v4-fargate-task.json",
                           "aws-metadata/ecs-v4-fargate-container.json");

    if (set == NULL) {
        return;
    }
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 18);
    LF_CHECK_STR_EQ(value_of(set, "cloud.provider", 0), "aws");
    LF_CHECK_STR_EQ(value_of(set, "cloud.region", 0), "us-west-2");
    LF_CHECK_STR_EQ(value_of(set, "cloud.account.id", 0), "111122223333");
    LF_CHECK_STR_EQ(value_of(set, "cloud.availability_zone", 0),
                    "us-west-2d");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.type", 0), "ecs");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.cluster.name", 0), "default");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.resource.type", 0), "task");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.resource.id", 0),
                    "e9028f8d5d8e4f258373e7b93ce9a3c5");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.task.arn", 0),
                    "arn:aws:ecs:us-west-2:111122223333:task/default/"
                    "e9028f8d5d8e4f258373e7b93ce9a3c5");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.task.family", 0), "curltest");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.task.revision", 0), "3");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.launch_type", 0), "FARGATE");
    LF_CHECK(lf_meta_set_get(set, "aws.ecs.service.name") == NULL);
    LF_CHECK_STR_EQ(value_of(set, "container.id", 0),
                    "e9028f8d5d8e4f258373e7b93ce9a3c5-2495160603");
    LF_CHECK_STR_EQ(value_of(set, "container.name", 0), "curl");
    LF_CHECK_STR_EQ(value_of(set, "container.image.name", 0),
                    "111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest");
    LF_CHECK_STR_EQ(value_of(set, "container.image.tag", 0), "latest");
    LF_CHECK(lf_meta_set_get(set, "container.image.tag")->is_array);
    LF_CHECK_STR_EQ(value_of(set, "container.image.hash.all", 0),
                    "sha256:25f3695bedfb454a50f12d127839a68ad3caf91e451c1da0"
                    "73db34c542c4d2cb");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.container.arn", 0),
                    "arn:aws:ecs:us-west-2:111122223333:container/"
                    "05966557-f16c-49cb-9352-24b3a0dcd0e1");
    lf_meta_set_unref(set);
}

static void test_ecs_task_meta_parse_ec2_launch_type(void)
{
    struct lf_meta_set *set =
        parse_ecs_fixtures("aws-metadata/ecs-v4-ec2-task.json",
                           "aws-metadata/ecs-v4-ec2-container.json");

    if (set == NULL) {
        return;
    }
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 19);
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.cluster.name", 0), "default");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.resource.id", 0),
                    "8f03e41243824aea923aca126495f665");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.task.revision", 0), "24");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.launch_type", 0), "EC2");
    LF_CHECK_STR_EQ(value_of(set, "aws.ecs.service.name", 0), "MyService");
    LF_CHECK_STR_EQ(value_of(set, "container.id", 0),
                    "ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee20664"
                    "1c9086d66");
    LF_CHECK_STR_EQ(value_of(set, "container.name", 0), "curl");
    LF_CHECK_STR_EQ(value_of(set, "cloud.availability_zone", 0),
                    "us-west-2d");
    lf_meta_set_unref(set);
}

static void test_ecs_task_meta_image_references(void)
{
    static const struct {
        const char *image;
        const char *name;
        const char *tag;
    } cases[] = {
        {"nginx", "nginx", NULL},
        {"nginx:1.27", "nginx", "1.27"},
        {"amazon/amazon-ecs-pause:0.1.0", "amazon/amazon-ecs-pause", "0.1.0"},
        {"registry.local:5000/team/app", "registry.local:5000/team/app",
         NULL},
        {"registry.local:5000/team/app:2.1", "registry.local:5000/team/app",
         "2.1"},
        {"app@sha256:0123abcd", "app", NULL},
        {"app:3@sha256:0123abcd", "app", "3"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_buf container;
        struct lf_meta_set *set = NULL;
        char errbuf[256] = "";
        const char *task = "{\"TaskARN\": \"arn:aws:ecs:eu-west-1:1:task/t\"}";

        lf_buf_init(&container);
        lf_buf_appendf(&container, "{\"Image\": \"%s\"}", cases[i].image);
        LF_CHECK_INT_EQ(lf_ecs_task_meta_parse(task, strlen(task),
                                               container.data, container.len,
                                               &set, errbuf, sizeof(errbuf)),
                        0);
        if (set != NULL) {
            LF_CHECK_STR_EQ(value_of(set, "container.image.name", 0),
                            cases[i].name);
            LF_CHECK_STR_EQ(value_of(set, "container.image.tag", 0),
                            cases[i].tag);
        }
        lf_meta_set_unref(set);
        lf_buf_cleanup(&container);
    }
}

static void test_ecs_task_meta_short_arn_and_no_container(void)
{
    const char *task = "{\"Cluster\": \"prod\", "
                       "\"TaskARN\": \"arn:aws:ecs:eu-west-1:444455556666:"
                       "task/0123456789abcdef\"}";
    struct lf_meta_set *set = NULL;
    char errbuf[256] = "";

    LF_CHECK_INT_EQ(lf_ecs_task_meta_parse(task, strlen(task), NULL, 0, &set,
                                           errbuf, sizeof(errbuf)),
                    0);
    if (set == NULL) {
        return;
    }
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 8);
    LF_CHECK_STR_EQ(value_of(set, "cloud.region", 0), "eu-west-1");
    LF_CHECK_STR_EQ(value_of(set, "cloud.account.id", 0), "444455556666");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.cluster.name", 0), "prod");
    LF_CHECK_STR_EQ(value_of(set, "orchestrator.resource.id", 0),
                    "0123456789abcdef");
    LF_CHECK(lf_meta_set_get(set, "container.id") == NULL);
    lf_meta_set_unref(set);
}

static void test_ecs_task_meta_rejects_bad_documents(void)
{
    static const struct {
        const char *task;
        const char *container;
        const char *error;
    } cases[] = {
        {"{}", NULL, "task metadata has no valid TaskARN: (missing)"},
        {"{\"TaskARN\": \"task/abc\"}", NULL,
         "task metadata has no valid TaskARN: task/abc"},
        {"{\"TaskARN\": \"arn:aws:ecs:us-east-1:1:cluster/c\"}", NULL,
         "task metadata has no valid TaskARN: "
         "arn:aws:ecs:us-east-1:1:cluster/c"},
        {"{\"TaskARN\": \"arn:aws:ecs::1:task/t\"}", NULL,
         "task metadata has no valid TaskARN: arn:aws:ecs::1:task/t"},
        {"{\"TaskARN\": \"arn:aws:ecs:us-east-1:1:task/t\"}", "[]",
         "container metadata is not a JSON object"},
        {"null", NULL, "task metadata is not valid JSON: '[' or '{' expected "
                       "near 'null' (line 1)"},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_meta_set *set = NULL;
        char errbuf[256] = "";
        const char *container = cases[i].container;

        LF_CHECK_INT_EQ(lf_ecs_task_meta_parse(
                            cases[i].task, strlen(cases[i].task), container,
                            container != NULL ? strlen(container) : 0, &set,
                            errbuf, sizeof(errbuf)),
                        LF_EPARSE);
        LF_CHECK(set == NULL);
        LF_CHECK_STR_EQ(errbuf, cases[i].error);
    }
}

int main(void)
{
    LF_RUN(test_meta_set_scalar_and_array);
    LF_RUN(test_meta_set_rejects_duplicates);
    LF_RUN(test_meta_set_reference_outlives_owner);
    LF_RUN(test_meta_set_empty_builder);
    LF_RUN(test_ec2_meta_endpoint_order);
    LF_RUN(test_meta_base_url_checks);
    LF_RUN(test_ec2_meta_parse_identity_document);
    LF_RUN(test_ec2_meta_parse_rejects_bad_documents);
    LF_RUN(test_ecs_task_meta_parse_fargate);
    LF_RUN(test_ecs_task_meta_parse_ec2_launch_type);
    LF_RUN(test_ecs_task_meta_image_references);
    LF_RUN(test_ecs_task_meta_short_arn_and_no_container);
    LF_RUN(test_ecs_task_meta_rejects_bad_documents);
    return lf_test_end();
}
