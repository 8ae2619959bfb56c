/*
 * Tests of `output.cloudwatch` settings (defaults, every key, invalid
 * values), of log group and stream name templates, and of the time
 * format of temporary AWS credentials.
 */
#include "outputs/cloudwatch/aws_creds.h"
#include "outputs/cloudwatch/cw_config.h"
#include "lf/conf.h"
#include "lf/error.h"

#include <stdlib.h>
#include <string.h>

#include "lf_test.h"

/* Loads `yaml` and parses its `output.cloudwatch` section. */
static int parse_yaml(const char *yaml, struct lf_conf **doc_out,
                      struct lf_cw_config *config, char *errbuf, size_t errlen)
{
    struct lf_conf_node root;
    struct lf_conf_node section;
    int rc;

    *doc_out = NULL;
    rc = lf_conf_load_string(yaml, strlen(yaml), "test.yaml", doc_out, errbuf,
                             errlen);
    if (rc != 0) {
        LF_FAIL_AT("cannot load test document: %s", errbuf);
        memset(config, 0, sizeof(*config));
        return rc;
    }
    lf_conf_root(*doc_out, &root);
    lf_conf_child(&root, "output.cloudwatch", &section);
    return lf_cw_config_parse(&section, config, errbuf, errlen);
}

static void check_error(const char *yaml, const char *expected)
{
    struct lf_cw_config config;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &config, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(config.endpoint == NULL);
    LF_CHECK(config.group_template.parts == NULL);
    lf_cw_config_cleanup(&config);
    lf_conf_free(doc);
}

static void test_cw_config_defaults(void)
{
    struct lf_cw_config c;
    struct lf_conf *doc;
    char errbuf[512] = "";

    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    LF_CHECK_INT_EQ(parse_yaml("output.cloudwatch:\n"
                               "  region: eu-west-1\n"
                               "  log_group: /ecs/rewards-api\n",
                               &doc, &c, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_STR_EQ(c.region, "eu-west-1");
    LF_CHECK_STR_EQ(c.endpoint, "https://logs.eu-west-1.amazonaws.com");
    LF_CHECK_STR_EQ(c.log_group, "/ecs/rewards-api");
    LF_CHECK_STR_EQ(c.log_stream, "{host.name}/{log.file.path}");
    LF_CHECK_INT_EQ(c.group_template.count, 1);
    LF_CHECK_INT_EQ(c.stream_template.count, 3);
    LF_CHECK(!c.auto_create);
    LF_CHECK_INT_EQ(c.retention_days, 0);
    LF_CHECK_INT_EQ(c.format, LF_CW_FORMAT_MESSAGE);
    LF_CHECK(c.profile == NULL);
    LF_CHECK(c.role_arn == NULL);
    LF_CHECK(c.role_session_name == NULL);
    LF_CHECK(c.external_id == NULL);
    LF_CHECK_INT_EQ(c.batch.out_of_window, LF_CW_OUT_OF_WINDOW_DROP);
    LF_CHECK_INT_EQ(c.batch.large_event, LF_CW_LARGE_EVENT_SPLIT);
    LF_CHECK_INT_EQ(c.batch.max_event_bytes, 1048576);
    LF_CHECK_INT_EQ(c.batch.max_batch_bytes, 1048576);
    LF_CHECK_INT_EQ(c.batch.max_batch_events, 10000);
    LF_CHECK_INT_EQ(c.flush_interval_ms, 5000);
    LF_CHECK_INT_EQ(c.timeout_ms, 30000);
    LF_CHECK_INT_EQ(c.backoff_init_ms, 1000);
    LF_CHECK_INT_EQ(c.backoff_max_ms, 60000);
    LF_CHECK_INT_EQ(c.max_pending_events, 20000);
    lf_cw_config_cleanup(&c);
    lf_conf_free(doc);
}

static void test_cw_config_every_key(void)
{
    struct lf_cw_config c;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(
        parse_yaml("output.cloudwatch:\n"
                   "  region: cn-north-1\n"
                   "  endpoint: http://127.0.0.1:4566/base/\n"
                   "  log_group: /ecs/{service.name}\n"
                   "  log_stream: \"{container.name}/{aws.ecs.task.id}\"\n"
                   "  auto_create: true\n"
                   "  retention_days: 14\n"
                   "  format: json\n"
                   "  profile: shipping\n"
                   "  role_arn: arn:aws:iam::123456789012:role/writer\n"
                   "  role_session_name: shipper-1\n"
                   "  external_id: ext-42\n"
                   "  out_of_window: clamp\n"
                   "  large_event: truncate\n"
                   "  max_event_bytes: 262144\n"
                   "  max_batch_bytes: 524288\n"
                   "  max_batch_events: 500\n"
                   "  max_pending_events: 1000\n"
                   "  flush_interval: 250ms\n"
                   "  timeout: 10s\n"
                   "  backoff:\n"
                   "    init: 200ms\n"
                   "    max: 5s\n",
                   &doc, &c, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_STR_EQ(c.endpoint, "http://127.0.0.1:4566/base");
    LF_CHECK_INT_EQ(c.group_template.count, 2);
    LF_CHECK_INT_EQ(c.stream_template.count, 3);
    LF_CHECK(c.auto_create);
    LF_CHECK_INT_EQ(c.retention_days, 14);
    LF_CHECK_INT_EQ(c.format, LF_CW_FORMAT_JSON);
    LF_CHECK_STR_EQ(c.profile, "shipping");
    LF_CHECK_STR_EQ(c.role_arn, "arn:aws:iam::123456789012:role/writer");
    LF_CHECK_STR_EQ(c.role_session_name, "shipper-1");
    LF_CHECK_STR_EQ(c.external_id, "ext-42");
    LF_CHECK_INT_EQ(c.batch.out_of_window, LF_CW_OUT_OF_WINDOW_CLAMP);
    LF_CHECK_INT_EQ(c.batch.large_event, LF_CW_LARGE_EVENT_TRUNCATE);
    LF_CHECK_INT_EQ(c.batch.max_event_bytes, 262144);
    LF_CHECK_INT_EQ(c.batch.max_batch_bytes, 524288);
    LF_CHECK_INT_EQ(c.batch.max_batch_events, 500);
    LF_CHECK_INT_EQ(c.max_pending_events, 1000);
    LF_CHECK_INT_EQ(c.flush_interval_ms, 250);
    LF_CHECK_INT_EQ(c.timeout_ms, 10000);
    LF_CHECK_INT_EQ(c.backoff_init_ms, 200);
    LF_CHECK_INT_EQ(c.backoff_max_ms, 5000);
    lf_cw_config_cleanup(&c);
    lf_conf_free(doc);
}

static void test_cw_config_china_endpoint(void)
{
    struct lf_cw_config c;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml("output.cloudwatch:\n"
                               "  region: cn-north-1\n"
                               "  log_group: g\n",
                               &doc, &c, errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(c.endpoint, "https://logs.cn-north-1.amazonaws.com.cn");
    lf_cw_config_cleanup(&c);
    lf_conf_free(doc);
}

static void check_endpoint(const char *yaml, const char *expected)
{
    struct lf_cw_config c;
    struct lf_conf *doc;
    char errbuf[512] = "";

    LF_CHECK_INT_EQ(parse_yaml(yaml, &doc, &c, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK_STR_EQ(c.endpoint, expected);
    lf_cw_config_cleanup(&c);
    lf_conf_free(doc);
}

static void test_cw_config_fips_endpoints(void)
{
    check_endpoint("output.cloudwatch:\n  region: us-east-1\n"
                   "  log_group: g\n  fips: true\n",
                   "https://logs-fips.us-east-1.amazonaws.com");
    check_endpoint("output.cloudwatch:\n  region: us-gov-west-1\n"
                   "  log_group: g\n  fips: true\n",
                   "https://logs.us-gov-west-1.amazonaws.com");
    check_endpoint("output.cloudwatch:\n  region: us-east-1\n"
                   "  log_group: g\n  fips: false\n",
                   "https://logs.us-east-1.amazonaws.com");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  fips: true\n  endpoint: http://127.0.0.1:1\n",
                "test.yaml:4: output.cloudwatch.fips: fips and endpoint are "
                "both set: remove fips, or the endpoint to use the FIPS "
                "endpoint of the region");
}

static void test_cw_config_region_from_env(void)
{
    struct lf_cw_config c;
    struct lf_conf *doc;
    char errbuf[512] = "";

    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    LF_CHECK_INT_EQ(parse_yaml("output.cloudwatch:\n  log_group: g\n", &doc, &c,
                               errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(c.region, "ap-south-1");
    lf_cw_config_cleanup(&c);
    lf_conf_free(doc);
    unsetenv("AWS_REGION");
    LF_CHECK_INT_EQ(parse_yaml("output.cloudwatch:\n  log_group: g\n", &doc, &c,
                               errbuf, sizeof(errbuf)),
                    0);
    LF_CHECK_STR_EQ(c.region, "us-west-2");
    lf_cw_config_cleanup(&c);
    lf_conf_free(doc);
    unsetenv("AWS_DEFAULT_REGION");
}

static void test_cw_config_errors(void)
{
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    check_error("output.cloudwatch:\n  log_group: g\n",
                "test.yaml:1: output.cloudwatch: missing 'region': set it, "
                "or AWS_REGION, to the AWS region of the log groups, such "
                "as us-east-1");
    check_error("output.cloudwatch:\n  region: us-east-1\n",
                "test.yaml:1: output.cloudwatch: missing 'log_group': name "
                "the log group, such as /ecs/rewards-api");
    check_error("output.cloudwatch:\n  region: US East\n  log_group: g\n",
                "test.yaml:2: output.cloudwatch.region: invalid region 'US "
                "East': expected a name such as us-east-1");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  endpoint: logs.example.com\n",
                "test.yaml:4: output.cloudwatch.endpoint: invalid endpoint "
                "'logs.example.com': expected an http:// or https:// URL");
    check_error("output.cloudwatch:\n  region: us-east-1\n"
                "  log_group: /app {env}\n",
                "test.yaml:3: output.cloudwatch.log_group: invalid log "
                "group name '/app {env}': ' ' is not allowed; use letters, "
                "digits and '.', '-', '_', '/', '#'");
    check_error("output.cloudwatch:\n  region: us-east-1\n"
                "  log_group: /app/{env\n",
                "test.yaml:3: output.cloudwatch.log_group: invalid template "
                "'/app/{env': '{' without a matching '}'");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  log_stream: \"a:{host.name}\"\n",
                "test.yaml:4: output.cloudwatch.log_stream: invalid log "
                "stream name 'a:{host.name}': ':' and '*' are not allowed");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  retention_days: 10\n",
                "test.yaml:4: output.cloudwatch.retention_days: invalid "
                "retention_days 10: CloudWatch Logs accepts 1, 3, 5, 7, 14, "
                "30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, "
                "2192, 2557, 2922, 3288 or 3653");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  role_arn: writer\n",
                "test.yaml:4: output.cloudwatch.role_arn: invalid role_arn "
                "'writer': expected an IAM role ARN such as "
                "arn:aws:iam::123456789012:role/logferry");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  role_arn: arn:aws:iam::1:role/w\n"
                "  role_session_name: a b\n",
                "test.yaml:5: output.cloudwatch.role_session_name: invalid "
                "role_session_name 'a b': use 2 to 64 letters, digits and "
                "_+=,.@-");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  external_id: ext-42\n",
                "test.yaml:1: output.cloudwatch: role_session_name and "
                "external_id need role_arn: set the role to assume");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  format: text\n",
                "test.yaml:4: output.cloudwatch.format: expected message or "
                "json, got 'text'");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  out_of_window: keep\n",
                "test.yaml:4: output.cloudwatch.out_of_window: expected drop "
                "or clamp, got 'keep'");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  large_event: drop\n",
                "test.yaml:4: output.cloudwatch.large_event: expected split "
                "or truncate, got 'drop'");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  max_event_bytes: 262144\n  max_batch_bytes: 4096\n",
                "test.yaml:1: output.cloudwatch: max_event_bytes (262144) "
                "is larger than max_batch_bytes (4096): lower "
                "max_event_bytes");
    check_error("output.cloudwatch:\n  region: us-east-1\n  log_group: g\n"
                "  backoff.init: 2s\n  backoff.max: 1s\n",
                "test.yaml:1: output.cloudwatch: backoff.max (1000ms) is "
                "shorter than backoff.init (2000ms): raise backoff.max");
}

static void format_name(const char *text, const struct lf_event *ev, bool group,
                        const char *expected, size_t missing)
{
    struct lf_cw_name_template tpl;
    struct lf_buf out;
    const char *reason = NULL;

    lf_buf_init(&out);
    LF_CHECK_INT_EQ(lf_cw_name_template_parse(text, &tpl, &reason), 0);
    LF_CHECK_INT_EQ(lf_cw_name_template_format(&tpl, ev, group, &out), missing);
    LF_CHECK_STR_EQ(out.data, expected);
    lf_cw_name_template_cleanup(&tpl);
    lf_buf_cleanup(&out);
}

static void test_cw_name_template_format(void)
{
    struct lf_event ev;
    char long_name[700];

    lf_event_init(&ev);
    lf_event_set_str(&ev, "container.name", "web", 3);
    lf_event_set_str(&ev, "aws.ecs.task.id", "4f8b0ac7", 8);
    lf_event_set_str(&ev, "log.file.path", "/var/log/a b:c*.log", 19);
    lf_event_set_int(&ev, "labels.shard", 42);
    format_name("{container.name}/{aws.ecs.task.id}", &ev, false,
                "web/4f8b0ac7", 0);
    format_name("host/{log.file.path}", &ev, false, "host//var/log/a b_c_.log",
                0);
    format_name("/ecs/{log.file.path}", &ev, true, "/ecs//var/log/a_b_c_.log",
                0);
    format_name("shard-{labels.shard}", &ev, true, "shard-42", 0);
    format_name("{host.name}/x", &ev, false, "-/x", 1);
    format_name("plain", &ev, true, "plain", 0);
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    lf_event_set_str(&ev, "service.name", long_name, strlen(long_name));
    {
        struct lf_cw_name_template tpl;
        struct lf_buf out;
        const char *reason = NULL;

        lf_buf_init(&out);
        LF_CHECK_INT_EQ(
            lf_cw_name_template_parse("{service.name}", &tpl, &reason), 0);
        lf_cw_name_template_format(&tpl, &ev, false, &out);
        LF_CHECK_INT_EQ(out.len, 512);
        lf_cw_name_template_cleanup(&tpl);
        lf_buf_cleanup(&out);
    }
    lf_event_cleanup(&ev);
}

static void test_cw_name_template_errors(void)
{
    static const struct {
        const char *text;
        const char *reason;
    } cases[] = {
        {"", "the name is empty"},
        {"a}b", "'}' without a matching '{'"},
        {"a{b", "'{' without a matching '}'"},
        {"a{}", "'{}' names no field"},
        {"{a b}", "a field name may contain only letters, digits and '_', "
                  "'.', '@', '-'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lf_cw_name_template tpl;
        const char *reason = NULL;

        LF_CHECK_INT_EQ(lf_cw_name_template_parse(cases[i].text, &tpl, &reason),
                        LF_EINVAL);
        LF_CHECK_STR_EQ(reason, cases[i].reason);
        LF_CHECK(tpl.parts == NULL);
    }
}

static void test_aws_parse_time(void)
{
    int64_t t = 0;

    LF_CHECK_INT_EQ(lf_aws_parse_time("2026-12-05T01:30:00Z", &t), 0);
    LF_CHECK_INT_EQ(t, 1796434200);
    LF_CHECK_INT_EQ(lf_aws_parse_time("2026-12-05T01:30:00.123456Z", &t), 0);
    LF_CHECK_INT_EQ(t, 1796434200);
    LF_CHECK_INT_EQ(lf_aws_parse_time("2026-12-05T01:30:00+00:00", &t), 0);
    LF_CHECK_INT_EQ(t, 1796434200);
    LF_CHECK_INT_EQ(lf_aws_parse_time("2026-12-05T01:30:00+01:00", &t),
                    LF_EINVAL);
    LF_CHECK_INT_EQ(lf_aws_parse_time("2026-12-05 01:30:00Z", &t), LF_EINVAL);
    LF_CHECK_INT_EQ(lf_aws_parse_time("", &t), LF_EINVAL);
}

int main(void)
{
    LF_RUN(test_cw_config_defaults);
    LF_RUN(test_cw_config_every_key);
    LF_RUN(test_cw_config_china_endpoint);
    LF_RUN(test_cw_config_fips_endpoints);
    LF_RUN(test_cw_config_region_from_env);
    LF_RUN(test_cw_config_errors);
    LF_RUN(test_cw_name_template_format);
    LF_RUN(test_cw_name_template_errors);
    LF_RUN(test_aws_parse_time);
    return lf_test_end();
}
