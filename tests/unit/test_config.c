/*
 * Tests of the agent configuration: defaults, every validated key and the
 * exact message for each mistake. Each case writes a file to a temporary
 * folder because lf_config_load() reads from a path.
 */
#include "agent/config/config.h"
#include "agent/input/multiline.h"
#include "lf/error.h"

#include "lf_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 1024

static char dir[] = "/tmp/lf_test_config_XXXXXX";
static char path[256];
static char errbuf[ERRLEN];

static const char minimal_input[] = "inputs:\n"
                                    "  - id: app\n"
                                    "    paths: [\"logs/*.log\"]\n";

static const char minimal_output[] = "output.elasticsearch:\n"
                                     "  hosts: [\"http://127.0.0.1:9200\"]\n";

static void write_config(const char *text)
{
    FILE *f = fopen(path, "w");

    LF_CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    LF_CHECK_INT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

/* Writes `text` and loads it. Returns the code and leaves errbuf set. */
static int load(const char *text, struct lf_config *config)
{
    write_config(text);
    errbuf[0] = '\0';
    return lf_config_load(path, config, errbuf, sizeof(errbuf));
}

/* Loads `text` expecting LF_ECONFIG and "PATH" followed by `message`. */
static void check_error(const char *text, const char *message)
{
    struct lf_config config;
    char expected[ERRLEN];

    snprintf(expected, sizeof(expected), "%s%s", path, message);
    LF_CHECK_INT_EQ(load(text, &config), LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(config.doc == NULL);
    LF_CHECK(config.inputs == NULL);
    lf_config_cleanup(&config);
}

/* Loads the minimal input and output with `extra` appended (line 6 on). */
static int load_with(const char *extra, struct lf_config *config)
{
    char text[2048];

    snprintf(text, sizeof(text), "%s%s%s", minimal_input, minimal_output,
             extra);
    return load(text, config);
}

/* Loads the minimal input with `extra` options for it (line 4 on). */
static int load_input_with(const char *extra, struct lf_config *config)
{
    char text[2048];

    snprintf(text, sizeof(text), "%s%s%s", minimal_input, extra,
             minimal_output);
    return load(text, config);
}

/* As check_error() for the minimal input and output with `extra` after. */
static void check_error_with(const char *extra, const char *message)
{
    char text[2048];

    snprintf(text, sizeof(text), "%s%s%s", minimal_input, minimal_output,
             extra);
    check_error(text, message);
}

static const struct lf_field *find_field(const struct lf_input_config *input,
                                         const char *key)
{
    for (size_t i = 0; i < input->field_count; i++) {
        if (strcmp(input->fields[i].key, key) == 0) {
            return &input->fields[i];
        }
    }
    return NULL;
}

static void test_config_minimal_defaults(void)
{
    struct lf_config config;
    int rc = load_with("", &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    LF_CHECK(config.doc != NULL);
    LF_CHECK_STR_EQ(config.data_path, "./data");
    LF_CHECK_INT_EQ(config.shutdown_timeout_ms, 25000);
    LF_CHECK_INT_EQ(config.registry_flush_ms, 1000);
    LF_CHECK_INT_EQ(config.log_level, LF_LOG_INFO);
    LF_CHECK_INT_EQ(config.input_count, 1);
    LF_CHECK_STR_EQ(config.inputs[0].id, "app");
    LF_CHECK_INT_EQ(config.inputs[0].path_count, 1);
    LF_CHECK_STR_EQ(config.inputs[0].paths[0], "logs/*.log");
    LF_CHECK_INT_EQ(config.inputs[0].field_count, 0);
    LF_CHECK(config.inputs[0].fields == NULL);
    LF_CHECK(!config.inputs[0].preserve_original_event);
    LF_CHECK_INT_EQ(config.inputs[0].max_line_bytes, 1024 * 1024);
    LF_CHECK(config.inputs[0].parsers != NULL);
    LF_CHECK_INT_EQ(config.es.host_count, 1);
    if (config.es.host_count == 1) {
        LF_CHECK_STR_EQ(config.es.hosts[0], "http://127.0.0.1:9200");
    }
    lf_config_cleanup(&config);
    LF_CHECK(config.doc == NULL);
    LF_CHECK(config.inputs == NULL);
    LF_CHECK_INT_EQ(config.input_count, 0);
}

static void test_config_full_example(void)
{
    static const char text[] =
        "path.data: ./state\n"
        "inputs:\n"
        "  - id: app\n"
        "    paths: [\"logs/*.log\", \"more/*.log\"]\n"
        "    fields: {service.name: rewards-api}\n"
        "    preserve_original_event: true\n"
        "    max_line_bytes: 64KiB\n"
        "    parsers:\n"
        "      - regex:\n"
        "          pattern: '^(?<ts>\\S+) (?<level>\\w+) (?<msg>.*)$'\n"
        "          fields:\n"
        "            ts: {field: \"@timestamp\", type: timestamp}\n"
        "            level: log.level\n"
        "            msg: message\n"
        "  - id: web\n"
        "    paths: [\"/var/log/nginx/access.log\"]\n"
        "    parsers:\n"
        "      - preset: nginx\n"
        "output.elasticsearch:\n"
        "  hosts: [\"http://127.0.0.1:9200\"]\n"
        "  index: logs-app-default\n"
        "shutdown.timeout: 10s\n"
        "registry:\n"
        "  flush: 250ms\n"
        "logging.level: debug\n";
    struct lf_config config;
    const struct lf_field *field;
    int rc = load(text, &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    LF_CHECK_STR_EQ(config.data_path, "./state");
    LF_CHECK_INT_EQ(config.shutdown_timeout_ms, 10000);
    LF_CHECK_INT_EQ(config.registry_flush_ms, 250);
    LF_CHECK_INT_EQ(config.log_level, LF_LOG_DEBUG);
    LF_CHECK_INT_EQ(config.input_count, 2);

    LF_CHECK_STR_EQ(config.inputs[0].id, "app");
    LF_CHECK_INT_EQ(config.inputs[0].path_count, 2);
    LF_CHECK_STR_EQ(config.inputs[0].paths[1], "more/*.log");
    LF_CHECK(config.inputs[0].preserve_original_event);
    LF_CHECK_INT_EQ(config.inputs[0].max_line_bytes, 65536);
    LF_CHECK(config.inputs[0].parsers != NULL);
    LF_CHECK_INT_EQ(config.inputs[0].field_count, 1);
    field = find_field(&config.inputs[0], "service.name");
    LF_CHECK(field != NULL);
    if (field != NULL) {
        LF_CHECK_INT_EQ(field->value.type, LF_VALUE_STRING);
        LF_CHECK_MEM_EQ(field->value.u.str.ptr, field->value.u.str.len,
                        "rewards-api");
    }

    LF_CHECK_STR_EQ(config.inputs[1].id, "web");
    LF_CHECK_STR_EQ(config.inputs[1].paths[0], "/var/log/nginx/access.log");
    LF_CHECK(config.inputs[1].parsers != NULL);
    LF_CHECK_STR_EQ(config.es.index, "logs-app-default");
    lf_config_cleanup(&config);
}

static void test_config_nested_spelling(void)
{
    static const char text[] = "path:\n"
                               "  data: /var/lib/logferry\n"
                               "shutdown: {timeout: 1m}\n"
                               "logging:\n"
                               "  level: warn\n"
                               "inputs: [{id: a, paths: [x.log]}]\n"
                               "output:\n"
                               "  elasticsearch:\n"
                               "    hosts: [\"http://127.0.0.1:9200\"]\n";
    struct lf_config config;
    int rc = load(text, &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    LF_CHECK_STR_EQ(config.data_path, "/var/lib/logferry");
    LF_CHECK_INT_EQ(config.shutdown_timeout_ms, 60000);
    LF_CHECK_INT_EQ(config.log_level, LF_LOG_WARN);
    LF_CHECK_STR_EQ(config.inputs[0].paths[0], "x.log");
    lf_config_cleanup(&config);
}

static void test_config_fields_typed(void)
{
    static const char text[] = "inputs:\n"
                               "  - id: app\n"
                               "    paths: [a.log]\n"
                               "    fields:\n"
                               "      service.name: api\n"
                               "      labels:\n"
                               "        replicas: 3\n"
                               "        offset: -12\n"
                               "        ratio: 0.75\n"
                               "        big: 1e3\n"
                               "        canary: true\n"
                               "        legacy: False\n"
                               "        quoted_int: \"3\"\n"
                               "        quoted_bool: 'true'\n"
                               "        zip: 01234\n"
                               "        yes_word: yes\n"
                               "        huge: 99999999999999999999\n"
                               "        inf: .inf\n"
                               "        version: 1.2.3\n"
                               "        hex: 0x1F\n"
                               "        tagged: !!str 7\n"
                               "      empty: {}\n";
    struct lf_config config;
    const struct lf_input_config *input;
    struct lf_conf_node node;
    char full[2048];
    int rc;

    snprintf(full, sizeof(full), "%s%s", text, minimal_output);
    rc = load(full, &config);
    LF_CHECK_INT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    input = &config.inputs[0];
    LF_CHECK_INT_EQ(input->field_count, 16);
    if (input->field_count != 16) {
        lf_config_cleanup(&config);
        return;
    }
    /* Flattened in file order. */
    LF_CHECK_STR_EQ(input->fields[0].key, "service.name");
    LF_CHECK_STR_EQ(input->fields[1].key, "labels.replicas");
    LF_CHECK_STR_EQ(input->fields[15].key, "labels.tagged");

    LF_CHECK_INT_EQ(input->fields[0].value.type, LF_VALUE_STRING);
    LF_CHECK_MEM_EQ(input->fields[0].value.u.str.ptr,
                    input->fields[0].value.u.str.len, "api");
    LF_CHECK_INT_EQ(input->fields[1].value.type, LF_VALUE_INT);
    LF_CHECK_INT_EQ(input->fields[1].value.u.i, 3);
    LF_CHECK_INT_EQ(input->fields[2].value.type, LF_VALUE_INT);
    LF_CHECK_INT_EQ(input->fields[2].value.u.i, -12);
    LF_CHECK_INT_EQ(input->fields[3].value.type, LF_VALUE_FLOAT);
    LF_CHECK_DOUBLE_EQ(input->fields[3].value.u.f, 0.75);
    LF_CHECK_INT_EQ(input->fields[4].value.type, LF_VALUE_FLOAT);
    LF_CHECK_DOUBLE_EQ(input->fields[4].value.u.f, 1000.0);
    LF_CHECK_INT_EQ(input->fields[5].value.type, LF_VALUE_BOOL);
    LF_CHECK(input->fields[5].value.u.b == true);
    LF_CHECK_INT_EQ(input->fields[6].value.type, LF_VALUE_BOOL);
    LF_CHECK(input->fields[6].value.u.b == false);

    /* Quoted, zero-padded, out-of-range and YAML 1.1 forms stay strings. */
    for (size_t i = 7; i < 16; i++) {
        LF_CHECK_INT_EQ(input->fields[i].value.type, LF_VALUE_STRING);
    }
    LF_CHECK_MEM_EQ(input->fields[7].value.u.str.ptr,
                    input->fields[7].value.u.str.len, "3");
    LF_CHECK_MEM_EQ(input->fields[8].value.u.str.ptr,
                    input->fields[8].value.u.str.len, "true");
    LF_CHECK_MEM_EQ(input->fields[9].value.u.str.ptr,
                    input->fields[9].value.u.str.len, "01234");
    LF_CHECK_MEM_EQ(input->fields[10].value.u.str.ptr,
                    input->fields[10].value.u.str.len, "yes");
    LF_CHECK_MEM_EQ(input->fields[11].value.u.str.ptr,
                    input->fields[11].value.u.str.len, "99999999999999999999");
    LF_CHECK_MEM_EQ(input->fields[12].value.u.str.ptr,
                    input->fields[12].value.u.str.len, ".inf");
    LF_CHECK_MEM_EQ(input->fields[13].value.u.str.ptr,
                    input->fields[13].value.u.str.len, "1.2.3");
    LF_CHECK_MEM_EQ(input->fields[14].value.u.str.ptr,
                    input->fields[14].value.u.str.len, "0x1F");
    LF_CHECK_MEM_EQ(input->fields[15].value.u.str.ptr,
                    input->fields[15].value.u.str.len, "7");

    /* The key and the string are copies owned by the configuration. */
    lf_conf_root(config.doc, &node);
    lf_conf_child(&node, "inputs", &node);
    lf_conf_at(&node, 0, &node);
    lf_conf_child(&node, "fields.service.name", &node);
    LF_CHECK_STR_EQ(json_string_value(node.json), "api");
    LF_CHECK(input->fields[0].value.u.str.ptr != json_string_value(node.json));
    lf_config_cleanup(&config);
}

static void test_config_field_number_forms(void)
{
    struct field_case {
        const char *yaml;
        enum lf_value_type type;
        double number; /* expected int or float value */
    };
    static const struct field_case cases[] = {
        {"0", LF_VALUE_INT, 0},
        {"-0", LF_VALUE_INT, 0},
        {"+5", LF_VALUE_INT, 5},
        {"9223372036854775807", LF_VALUE_INT, 9223372036854775807.0},
        {"-9223372036854775808", LF_VALUE_INT, -9223372036854775807.0 - 1},
        {"9223372036854775808", LF_VALUE_STRING, 0},
        {"0.5", LF_VALUE_FLOAT, 0.5},
        {"-2.5e-3", LF_VALUE_FLOAT, -0.0025},
        {"1E2", LF_VALUE_FLOAT, 100.0},
        {"1e999", LF_VALUE_STRING, 0},
        {"1.", LF_VALUE_STRING, 0},
        {".5", LF_VALUE_STRING, 0},
        {"00.5", LF_VALUE_STRING, 0},
        {"1e", LF_VALUE_STRING, 0},
        {"12abc", LF_VALUE_STRING, 0},
        {"-", LF_VALUE_STRING, 0},
        {"TRUE", LF_VALUE_BOOL, 1},
        {"no", LF_VALUE_STRING, 0},
        {"on", LF_VALUE_STRING, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char extra[128];
        struct lf_config config;
        const struct lf_value *value;
        int rc;

        snprintf(extra, sizeof(extra), "    fields: {v: %s}\n", cases[i].yaml);
        rc = load_input_with(extra, &config);
        LF_CHECK_INT_EQ(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", cases[i].yaml, errbuf);
            continue;
        }
        LF_CHECK_INT_EQ(config.inputs[0].field_count, 1);
        value = &config.inputs[0].fields[0].value;
        if (value->type != cases[i].type) {
            fprintf(stderr, "value %s\n", cases[i].yaml);
        }
        LF_CHECK_INT_EQ(value->type, cases[i].type);
        if (value->type == LF_VALUE_INT && cases[i].type == LF_VALUE_INT) {
            LF_CHECK_DOUBLE_EQ((double)value->u.i, cases[i].number);
        } else if (value->type == LF_VALUE_FLOAT &&
                   cases[i].type == LF_VALUE_FLOAT) {
            LF_CHECK_DOUBLE_EQ(value->u.f, cases[i].number);
        } else if (value->type == LF_VALUE_BOOL &&
                   cases[i].type == LF_VALUE_BOOL) {
            LF_CHECK_INT_EQ(value->u.b, cases[i].number);
        } else if (value->type == LF_VALUE_STRING &&
                   cases[i].type == LF_VALUE_STRING) {
            LF_CHECK_MEM_EQ(value->u.str.ptr, value->u.str.len, cases[i].yaml);
        }
        lf_config_cleanup(&config);
    }
}

static void test_config_missing_file(void)
{
    struct lf_config config;
    char missing[300];
    char expected[ERRLEN];

    snprintf(missing, sizeof(missing), "%s/absent.yml", dir);
    snprintf(expected, sizeof(expected),
             "%s: cannot read the configuration file: no such file or "
             "directory",
             missing);
    LF_CHECK_INT_EQ(lf_config_load(missing, &config, errbuf, sizeof(errbuf)),
                    LF_ENOENT);
    LF_CHECK_STR_EQ(errbuf, expected);
    LF_CHECK(config.doc == NULL);
    lf_config_cleanup(&config);
}

static void test_config_requires_inputs(void)
{
    check_error("", ": inputs: missing: add an `inputs` list with at least "
                    "one input, such as `inputs: [{id: app, paths: "
                    "[\"/var/log/app/*.log\"]}]`");
    check_error("inputs:\n",
                ":1: inputs: missing: add an `inputs` list with at least "
                "one input, such as `inputs: [{id: app, paths: "
                "[\"/var/log/app/*.log\"]}]`");
    check_error("inputs: []\n",
                ":1: inputs: expected at least one input, got an empty list");
    check_error("inputs: {id: a}\n",
                ":1: inputs: expected a list of inputs, got a map");
    check_error("inputs: [web]\n",
                ":1: inputs[0]: expected an input map with id and paths, "
                "got 'web'");
}

static void test_config_requires_output(void)
{
    char text[512];

    snprintf(text, sizeof(text), "%s", minimal_input);
    check_error(text, ": output.elasticsearch: missing: add an "
                      "`output.elasticsearch` section with the cluster's "
                      "hosts, such as `hosts: [\"http://127.0.0.1:9200\"]`, "
                      "an `output.cloudwatch` section, or both");
    snprintf(text, sizeof(text), "%soutput.elasticsearch:\n", minimal_input);
    check_error(text, ":4: output.elasticsearch: missing: add an "
                      "`output.elasticsearch` section with the cluster's "
                      "hosts, such as `hosts: [\"http://127.0.0.1:9200\"]`, "
                      "an `output.cloudwatch` section, or both");
    snprintf(text, sizeof(text), "%soutput:\n  console: {}\n", minimal_input);
    check_error(text, ":5: output: unknown key 'console'. Valid keys: "
                      "elasticsearch, cloudwatch");
}

static void test_config_cloudwatch_output(void)
{
    struct lf_config config;
    char text[512];

    snprintf(text, sizeof(text),
             "%soutput.cloudwatch:\n  region: us-east-1\n"
             "  log_group: /ecs/app\n",
             minimal_input);
    LF_CHECK_INT_EQ(load(text, &config), 0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK(config.use_cloudwatch);
    LF_CHECK(!config.use_elasticsearch);
    LF_CHECK_STR_EQ(config.cw.log_group, "/ecs/app");
    LF_CHECK_STR_EQ(config.cw.endpoint, "https://logs.us-east-1.amazonaws.com");
    LF_CHECK_INT_EQ(config.es.host_count, 0);
    lf_config_cleanup(&config);

    snprintf(text, sizeof(text),
             "%s%soutput.cloudwatch:\n  region: us-east-1\n"
             "  log_group: /ecs/app\n",
             minimal_input, minimal_output);
    LF_CHECK_INT_EQ(load(text, &config), 0);
    LF_CHECK_STR_EQ(errbuf, "");
    LF_CHECK(config.use_elasticsearch);
    LF_CHECK(config.use_cloudwatch);
    LF_CHECK_INT_EQ(config.es.host_count, 1);
    LF_CHECK_STR_EQ(config.cw.log_group, "/ecs/app");
    lf_config_cleanup(&config);

    /* An error in the first section is reported before the second. */
    snprintf(text, sizeof(text),
             "%soutput.elasticsearch:\n  hosts: []\n"
             "output.cloudwatch:\n  region: us-east-1\n"
             "  log_group: /ecs/app\n",
             minimal_input);
    check_error(text, ":5: output.elasticsearch.hosts: expected at least one "
                      "URL, got an empty list");
}

static void test_config_unknown_keys(void)
{
    check_error_with("inptus: []\n",
                     ":6: unknown key 'inptus', did you mean 'inputs'? Valid "
                     "keys: path.data, inputs, output.elasticsearch, "
                     "shutdown.timeout, registry.flush, "
                     "registry.clean_removed, logging.level, "
                     "logging.format, logging.to, logging.file.path, "
                     "logging.file.max_bytes, logging.file.keep, "
                     "logging.rate_limit.burst, "
                     "logging.rate_limit.interval, processors, queue, "
                     "output.cloudwatch, http, metrics");
    check_error_with("path.dta: x\n",
                     ":6: path: unknown key 'dta', did you mean 'data'? Valid "
                     "keys: data");
    check_error("inputs:\n"
                "  - id: app\n"
                "    pahts: [a.log]\n",
                ":3: inputs[0]: unknown key 'pahts', did you mean 'paths'? "
                "Valid keys: id, paths, fields, preserve_original_event, "
                "parsers, max_line_bytes, exclude_files, scan_frequency, "
                "partial_line_timeout, multiline, include_lines, "
                "exclude_lines, encoding, format, close, compression, "
                "processors, stat_poll.interval, stat_poll.max_interval, "
                "recursive_glob.max_depth, ignore_older, harvester_limit, "
                "start_position");
}

static void test_config_input_id_errors(void)
{
    check_error("inputs:\n"
                "  - paths: [a.log]\n",
                ":2: inputs[0]: missing 'id': give each input a unique id, "
                "such as `id: app`");
    check_error("inputs:\n"
                "  - id:\n"
                "    paths: [a.log]\n",
                ":2: inputs[0]: missing 'id': give each input a unique id, "
                "such as `id: app`");
    check_error("inputs:\n"
                "  - id: ''\n"
                "    paths: [a.log]\n",
                ":2: inputs[0].id: expected a non-empty input id, got an "
                "empty string");
    check_error("inputs:\n"
                "  - id: [a]\n"
                "    paths: [a.log]\n",
                ":2: inputs[0].id: expected a string, got a list");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "  - id: web\n"
                "    paths: [b.log]\n"
                "  - id: app\n"
                "    paths: [c.log]\n",
                ":6: inputs[2].id: duplicate input id 'app', already used by "
                "inputs[0].id on line 2: input ids must be unique");
}

static void test_config_input_paths_errors(void)
{
    check_error("inputs:\n"
                "  - id: app\n",
                ":2: inputs[0]: missing 'paths': list the files to read, "
                "such as `paths: [\"/var/log/app/*.log\"]`");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths:\n"
                "      a: b\n",
                ":3: inputs[0].paths: expected a list of glob strings, got "
                "a map");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: logs/*.log\n",
                ":3: inputs[0].paths: expected a list of glob strings, got "
                "'logs/*.log': write it as a list, such as "
                "[\"logs/*.log\"]");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths:\n",
                ":3: inputs[0].paths: expected a list of glob strings, got "
                "null");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: []\n",
                ":3: inputs[0].paths: expected at least one glob, got an "
                "empty list");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths:\n"
                "      - a.log\n"
                "      - [b.log]\n",
                ":5: inputs[0].paths[1]: expected a glob string, got a "
                "list");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log, \"\"]\n",
                ":3: inputs[0].paths[1]: expected a glob string, got an "
                "empty string");
}

static void test_config_discovery_defaults(void)
{
    struct lf_config config;
    int rc = load_with("", &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    LF_CHECK_INT_EQ(config.inputs[0].stat_poll_interval_ms, 1000);
    LF_CHECK_INT_EQ(config.inputs[0].stat_poll_max_interval_ms, 10000);
    LF_CHECK_INT_EQ(config.inputs[0].recursive_glob_max_depth, 8);
    LF_CHECK_INT_EQ(config.inputs[0].ignore_older_ms, 0);
    LF_CHECK_INT_EQ(config.inputs[0].harvester_limit, 0);
    LF_CHECK(!config.inputs[0].start_at_end);
    lf_config_cleanup(&config);
}

static void test_config_discovery_options(void)
{
    struct lf_config config;
    char text[1024];
    int rc;

    snprintf(text, sizeof(text), "%s%s", minimal_output,
             "inputs:\n"
             "  - id: app\n"
             "    paths: [\"logs/**/*.log\"]\n"
             "    stat_poll: {interval: 500ms, max_interval: 4s}\n"
             "    recursive_glob.max_depth: 3\n"
             "    ignore_older: 2h\n"
             "    harvester_limit: 16\n"
             "    start_position: end\n"
             "  - id: slow\n"
             "    paths: [\"other/*.log\"]\n"
             "    stat_poll.interval: 30s\n");
    rc = load(text, &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    LF_CHECK_INT_EQ(config.inputs[0].stat_poll_interval_ms, 500);
    LF_CHECK_INT_EQ(config.inputs[0].stat_poll_max_interval_ms, 4000);
    LF_CHECK_INT_EQ(config.inputs[0].recursive_glob_max_depth, 3);
    LF_CHECK_INT_EQ(config.inputs[0].ignore_older_ms, 2 * 3600 * 1000);
    LF_CHECK_INT_EQ(config.inputs[0].harvester_limit, 16);
    LF_CHECK(config.inputs[0].start_at_end);
    /* An interval above the default maximum raises the maximum with it. */
    LF_CHECK_INT_EQ(config.inputs[1].stat_poll_interval_ms, 30000);
    LF_CHECK_INT_EQ(config.inputs[1].stat_poll_max_interval_ms, 30000);
    lf_config_cleanup(&config);
}

static void test_config_discovery_errors(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    stat_poll.interval: 50ms\n",
                ":4: inputs[0].stat_poll.interval: expected at least 100ms, "
                "got 50 ms");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    stat_poll.interval: 2s\n"
                "    stat_poll.max_interval: 1s\n",
                ":5: inputs[0].stat_poll.max_interval: expected at least "
                "stat_poll.interval (2000 ms), got 1000 ms");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    start_position: middle\n",
                ":4: inputs[0].start_position: expected beginning or end, "
                "got 'middle'");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    recursive_glob.max_depth: 0\n",
                ":4: inputs[0].recursive_glob.max_depth: expected an integer "
                "from 1 to 64, got '0'");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    harvester_limit: -1\n",
                ":4: inputs[0].harvester_limit: expected an integer from 0 "
                "to 1000000, got '-1'");
}

static void test_config_input_option_errors(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    fields: [a]\n",
                ":4: inputs[0].fields: expected a map of field names to "
                "values, got a list");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    fields:\n"
                "      tags: [a, b]\n",
                ":5: inputs[0].fields.tags: expected a string, number or "
                "boolean, got a list");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    fields:\n"
                "      owner:\n",
                ":5: inputs[0].fields.owner: expected a string, number or "
                "boolean, got null");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    preserve_original_event: yes\n",
                ":4: inputs[0].preserve_original_event: expected true or "
                "false, got 'yes'");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    max_line_bytes: 512\n",
                ":4: inputs[0].max_line_bytes: expected at least 1KiB (1024 "
                "bytes), got 512 bytes");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    max_line_bytes: lots\n",
                ":4: inputs[0].max_line_bytes: expected a non-negative size "
                "in whole bytes such as 512, 64KiB, 10MiB or 1GB "
                "(KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based), got "
                "'lots'");
}

static void test_config_reserved_fields_rejected(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    fields:\n"
                "      message: hi\n",
                ":5: inputs[0].fields.message: message is set by logferry "
                "for every event and cannot be set in fields; use another "
                "name, such as labels.message");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    fields: {'@timestamp': now}\n",
                ":4: inputs[0].fields.@timestamp: @timestamp is set by "
                "logferry for every event and cannot be set in fields; use "
                "another name, such as labels.timestamp");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    fields:\n"
                "      log: {offset: 3}\n",
                ":5: inputs[0].fields.log.offset: log.offset is set by "
                "logferry for every event and cannot be set in fields; use "
                "another name, such as labels.log_offset");
}

static void test_config_exclude_files(void)
{
    struct lf_config config;
    int rc = load_input_with("    exclude_files: ['\\.gz$', '/archive/']\n"
                             "    scan_frequency: 2s\n",
                             &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        const struct lf_input_config *input = &config.inputs[0];

        LF_CHECK(lf_input_excludes(input, "/var/log/app.log.1.gz"));
        LF_CHECK(lf_input_excludes(input, "/var/log/archive/app.log"));
        LF_CHECK(!lf_input_excludes(input, "/var/log/app.log"));
        LF_CHECK(!lf_input_excludes(input, "/var/log/app.gz.log"));
        LF_CHECK_INT_EQ(input->scan_frequency_ms, 2000);
    }
    lf_config_cleanup(&config);

    rc = load_input_with("", &config);
    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        LF_CHECK(!lf_input_excludes(&config.inputs[0], "/x.gz"));
        LF_CHECK_INT_EQ(config.inputs[0].scan_frequency_ms, 10000);
    }
    lf_config_cleanup(&config);
}

static void test_config_close_and_compression(void)
{
    struct lf_config config;
    int rc = load_input_with("    close: {inactive: 30s, removed_after: 2m,"
                             " timeout: 1h}\n"
                             "    compression: none\n",
                             &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        const struct lf_input_config *input = &config.inputs[0];

        LF_CHECK_INT_EQ(input->close_inactive_ms, 30000);
        LF_CHECK_INT_EQ(input->close_removed_after_ms, 120000);
        LF_CHECK_INT_EQ(input->close_timeout_ms, 3600000);
        LF_CHECK_INT_EQ(input->compression, LF_COMPRESSION_NONE);
    }
    lf_config_cleanup(&config);

    rc = load_input_with("    close.inactive: 1s\n", &config);
    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        const struct lf_input_config *input = &config.inputs[0];

        LF_CHECK_INT_EQ(input->close_inactive_ms, 1000);
        LF_CHECK_INT_EQ(input->close_removed_after_ms, 300000);
        LF_CHECK_INT_EQ(input->close_timeout_ms, 0);
        LF_CHECK_INT_EQ(input->compression, LF_COMPRESSION_AUTO);
        LF_CHECK_INT_EQ(config.registry_clean_removed_ms, 3600000);
    }
    lf_config_cleanup(&config);
}

static void test_config_close_and_compression_errors(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    close: 5m\n",
                ":4: inputs[0].close: expected a map of inactive, "
                "removed_after and timeout durations, got '5m'");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    close: {inactiv: 5m}\n",
                ":4: inputs[0].close: unknown key 'inactiv', did you mean "
                "'inactive'? Valid keys: inactive, removed_after, timeout");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    compression: gzip\n",
                ":4: inputs[0].compression: expected auto or none, got "
                "'gzip'");
}

static void test_config_exclude_files_errors(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    exclude_files: ['(unclosed']\n",
                ":4: inputs[0].exclude_files[0]: invalid regular expression "
                "at offset 9: missing closing parenthesis");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    exclude_files: '\\.gz$'\n",
                ":4: inputs[0].exclude_files: expected a list of regular "
                "expressions, got '\\.gz$'");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    scan_frequency: 10ms\n",
                ":4: inputs[0].scan_frequency: expected at least 100ms, got "
                "10 ms");
}

static void test_config_line_options(void)
{
    struct lf_config config;
    int rc = load_input_with("", &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        const struct lf_input_config *input = &config.inputs[0];

        LF_CHECK_INT_EQ(input->partial_line_timeout_ms, 5000);
        LF_CHECK_INT_EQ(input->encoding, LF_ENCODING_UTF8);
        LF_CHECK_INT_EQ(input->format, LF_CONTAINER_PLAIN);
        LF_CHECK(input->multiline == NULL);
        LF_CHECK(input->line_filter == NULL);
    }
    lf_config_cleanup(&config);

    rc = load_input_with("    partial_line_timeout: 0\n"
                         "    encoding: utf-16be\n"
                         "    format: cri\n"
                         "    multiline: {preset: python, timeout: 250ms}\n"
                         "    exclude_lines: ['^DEBUG']\n",
                         &config);
    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        const struct lf_input_config *input = &config.inputs[0];

        LF_CHECK_INT_EQ(input->partial_line_timeout_ms, 0);
        LF_CHECK_INT_EQ(input->encoding, LF_ENCODING_UTF16BE);
        LF_CHECK_INT_EQ(input->format, LF_CONTAINER_CRI);
        LF_CHECK(input->multiline != NULL);
        if (input->multiline != NULL) {
            LF_CHECK_INT_EQ(input->multiline->timeout_ms, 250);
            LF_CHECK_INT_EQ(input->multiline->max_bytes, 1024 * 1024);
        }
        LF_CHECK(input->line_filter != NULL);
    } else {
        fprintf(stderr, "%s\n", errbuf);
    }
    lf_config_cleanup(&config);
}

static void test_config_line_option_errors(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    partial_line_timeout: -1s\n",
                ":4: inputs[0].partial_line_timeout: expected a "
                "non-negative duration in whole milliseconds such as 250ms, "
                "5s, 2m, 1h or 1m30s (a bare number means seconds), got "
                "'-1s'");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    encoding: latin1\n",
                ":4: inputs[0].encoding: expected utf-8, utf-16le or "
                "utf-16be, got \"latin1\"");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    format: json\n",
                ":4: inputs[0].format: expected plain, docker, cri or auto, "
                "got \"json\"");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    multiline: {preset: java, negat: true}\n",
                ":4: inputs[0].multiline: unknown key 'negat', did you mean "
                "'negate'? Valid keys: pattern, negate, match, max_lines, "
                "max_bytes, timeout, preset");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    include_lines: ['[']\n",
                ":4: inputs[0].include_lines[0]: invalid regular expression "
                "at offset 1: missing terminating ] for character class");
}

static void test_config_max_line_bytes_maximum(void)
{
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    max_line_bytes: 1000TiB\n",
                ":4: inputs[0].max_line_bytes: expected at most 64MiB "
                "(67108864 bytes), got 1099511627776000 bytes; a line is "
                "held in memory until its end");
}

static void test_config_max_line_bytes_minimum(void)
{
    struct lf_config config;
    int rc = load_input_with("    max_line_bytes: 1KiB\n", &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        LF_CHECK_INT_EQ(config.inputs[0].max_line_bytes, 1024);
    }
    lf_config_cleanup(&config);
}

static void test_config_setting_errors(void)
{
    check_error_with("logging.level: verbose\n",
                     ":6: logging.level: expected one of error, warn, info, "
                     "debug or trace, got 'verbose'");
    check_error_with("registry.flush: 0\n",
                     ":6: registry.flush: expected a duration of at least "
                     "1ms, got 0");
    check_error_with("shutdown.timeout: -5s\n",
                     ":6: shutdown.timeout: expected a non-negative duration "
                     "in whole milliseconds such as 250ms, 5s, 2m, 1h or "
                     "1m30s (a bare number means seconds), got '-5s'");
    check_error_with("path.data: ''\n",
                     ":6: path.data: expected a directory path, got an empty "
                     "string");
}

static void test_config_empty_fields_is_unset(void)
{
    struct lf_config config;
    int rc = load_input_with("    fields:\n", &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        LF_CHECK_INT_EQ(config.inputs[0].field_count, 0);
        LF_CHECK(config.inputs[0].fields == NULL);
    }
    lf_config_cleanup(&config);
}

static void test_config_shutdown_timeout_zero(void)
{
    struct lf_config config;
    int rc = load_with("shutdown.timeout: 0\n", &config);

    LF_CHECK_INT_EQ(rc, 0);
    if (rc == 0) {
        LF_CHECK_INT_EQ(config.shutdown_timeout_ms, 0);
    }
    lf_config_cleanup(&config);
}

static void test_config_yaml_errors_pass_through(void)
{
    check_error("inputs: [\n",
                ":2: invalid YAML: did not find expected node content at "
                "column 1, while parsing a flow node that starts on line 2");
    unsetenv("LF_TEST_CONFIG_UNSET");
    check_error("path.data: ${LF_TEST_CONFIG_UNSET}\n",
                ":1: path.data: environment variable LF_TEST_CONFIG_UNSET "
                "is not set: set it or give a default with "
                "${LF_TEST_CONFIG_UNSET:-default}");
    check_error("- a\n- b\n", ":1: expected a map, got a list");
}

static void test_config_parser_errors_name_the_input(void)
{
    static const char text[] = "inputs:\n"
                               "  - id: app\n"
                               "    paths: [a.log]\n"
                               "    parsers:\n"
                               "      - preset: bogus\n";
    struct lf_config config;
    char prefix[ERRLEN];

    /* The parser module words the reason; the location is checked here. */
    snprintf(prefix, sizeof(prefix),
             "%s:5: inputs[0].parsers[0].preset: ", path);
    LF_CHECK_INT_EQ(load(text, &config), LF_ECONFIG);
    LF_CHECK_MEM_EQ(errbuf, strlen(prefix), prefix);
    LF_CHECK(config.doc == NULL);
    lf_config_cleanup(&config);
}

static void test_config_partial_failure_frees(void)
{
    /* The second input fails after the first built fields and a chain. */
    static const char text[] = "inputs:\n"
                               "  - id: app\n"
                               "    paths: [a.log, b.log]\n"
                               "    fields: {a: 1, b: x, c: {d: y}}\n"
                               "    parsers:\n"
                               "      - preset: nginx\n"
                               "  - id: web\n"
                               "    paths: [c.log]\n"
                               "    fields: {ok: 1, bad: [1]}\n";

    check_error(text, ":9: inputs[1].fields.bad: expected a string, number "
                      "or boolean, got a list");
}

static void test_config_cleanup_zeroed(void)
{
    struct lf_config config;

    memset(&config, 0, sizeof(config));
    lf_config_cleanup(&config);
    lf_config_cleanup(&config);
    lf_config_cleanup(NULL);
    LF_CHECK(config.doc == NULL);
}

static void test_config_processors(void)
{
    struct lf_config config;

    LF_CHECK_INT_EQ(load_input_with("    processors:\n"
                                    "      - add_tags: {tags: [web]}\n",
                                    &config),
                    0);
    LF_CHECK(config.inputs != NULL && config.inputs[0].processors != NULL);
    /* A missing list is an empty one, never NULL. */
    LF_CHECK(config.processors != NULL);
    lf_config_cleanup(&config);

    LF_CHECK_INT_EQ(load_with("processors:\n"
                              "  - drop_event:\n"
                              "      when: {equals: {log.level: debug}}\n",
                              &config),
                    0);
    LF_CHECK(config.processors != NULL);
    lf_config_cleanup(&config);

    check_error_with("processors:\n  - drop: {}\n",
                     ":7: processors[0]: unknown processor type 'drop': "
                     "expected one of add_fields, drop_fields, rename, "
                     "copy_fields, truncate_fields, convert, drop_event, "
                     "include_event, add_tags, route_template, "
                     "add_host_metadata, add_cloud_metadata, "
                     "add_ecs_task_metadata");
    check_error("inputs:\n"
                "  - id: app\n"
                "    paths: [a.log]\n"
                "    processors:\n"
                "      - rename: {fields: [{from: a, to: a}]}\n",
                ":5: inputs[0].processors[0].rename.fields[0]: from and to "
                "are both 'a'; name two different fields");
}

static void test_config_queue_defaults(void)
{
    struct lf_config config;

    LF_CHECK_INT_EQ(load_with("", &config), 0);
    LF_CHECK_INT_EQ(config.queue.mem_max_bytes, 64 * 1024 * 1024);
    LF_CHECK(config.queue.disk_path == NULL);
    LF_CHECK_INT_EQ(config.queue.disk_max_bytes, 1024 * 1024 * 1024);
    LF_CHECK_INT_EQ(config.queue.disk_mode, LF_QUEUE_DISK_OVERFLOW);
    LF_CHECK_INT_EQ(config.queue.disk_fsync, LF_SPOOL_FSYNC_BATCH);
    LF_CHECK_INT_EQ(config.queue.disk_fsync_interval_ms, 1000);
    LF_CHECK(!config.queue.disk_drop_oldest);
    lf_config_cleanup(&config);
}

static void test_config_queue_values(void)
{
    struct lf_config config;

    LF_CHECK_INT_EQ(load_with("queue:\n"
                              "  mem.max_bytes: 1MiB\n"
                              "  disk:\n"
                              "    path: /var/lib/logferry/spool\n"
                              "    max_bytes: 4GiB\n"
                              "    mode: always\n"
                              "    fsync: interval\n"
                              "    fsync_interval: 250ms\n"
                              "    on_full: drop_oldest\n",
                              &config),
                    0);
    LF_CHECK_INT_EQ(config.queue.mem_max_bytes, 1024 * 1024);
    LF_CHECK_STR_EQ(config.queue.disk_path, "/var/lib/logferry/spool");
    LF_CHECK_INT_EQ(config.queue.disk_max_bytes, 4ull << 30);
    LF_CHECK_INT_EQ(config.queue.disk_mode, LF_QUEUE_DISK_ALWAYS);
    LF_CHECK_INT_EQ(config.queue.disk_fsync, LF_SPOOL_FSYNC_INTERVAL);
    LF_CHECK_INT_EQ(config.queue.disk_fsync_interval_ms, 250);
    LF_CHECK(config.queue.disk_drop_oldest);
    lf_config_cleanup(&config);
}

static void test_config_queue_errors(void)
{
    check_error_with("queue:\n  disk.fsync: always\n",
                     ":7: queue.disk.fsync: invalid value \"always\": "
                     "expected batch, interval or never");
    check_error_with("queue:\n  disk.mode: spill\n",
                     ":7: queue.disk.mode: invalid value \"spill\": "
                     "expected overflow or always");
    check_error_with("queue:\n  disk.on_full: wait\n",
                     ":7: queue.disk.on_full: invalid value \"wait\": "
                     "expected block or drop_oldest");
    check_error_with("queue:\n  mem.max_bytes: 1KiB\n",
                     ":7: queue.mem.max_bytes: invalid size 1024: expected "
                     "at least 65536 bytes (64KiB)");
    check_error_with("queue:\n  disk.max_bytes: 64KiB\n",
                     ":7: queue.disk.max_bytes: invalid size 65536: "
                     "expected at least 131072 bytes (128KiB)");
    check_error_with("queue:\n  disk.path: \"\"\n",
                     ":7: queue.disk.path: expected a directory path for "
                     "the spool, got an empty string; remove the key to run "
                     "without a spool");
    check_error_with("queue:\n  disk.fsync_interval: 0\n",
                     ":7: queue.disk.fsync_interval: invalid duration 0: "
                     "expected at least 1ms");
}

static void test_config_http(void)
{
    struct lf_config config;

    LF_CHECK_INT_EQ(load_with("", &config), 0);
    LF_CHECK(!config.http.enabled);
    LF_CHECK_STR_EQ(config.http.host, "127.0.0.1");
    LF_CHECK_INT_EQ(config.http.port, 5066);
    LF_CHECK_INT_EQ(config.http.ready_timeout_ms, 60000);
    lf_config_cleanup(&config);

    LF_CHECK_INT_EQ(load_with("http:\n  enabled: true\n  host: \"::1\"\n"
                              "  port: 0\n  ready_timeout: 2s\n", &config),
                    0);
    LF_CHECK(config.http.enabled);
    LF_CHECK_STR_EQ(config.http.host, "::1");
    LF_CHECK_INT_EQ(config.http.port, 0);
    LF_CHECK_INT_EQ(config.http.ready_timeout_ms, 2000);
    lf_config_cleanup(&config);

    check_error_with("http:\n  host: example.com\n",
                     ":7: http.host: invalid value \"example.com\": "
                     "expected an IPv4 or IPv6 address such as 127.0.0.1 "
                     "or ::1");
    check_error_with("http:\n  ready_timeout: 0\n",
                     ":7: http.ready_timeout: expected a duration of at "
                     "least 1ms, got 0");
}

static void test_config_logging(void)
{
    struct lf_config config;

    LF_CHECK_INT_EQ(load_with("", &config), 0);
    LF_CHECK_INT_EQ(config.logging.format, LF_LOG_FORMAT_TEXT);
    LF_CHECK(config.logging.file_path == NULL);
    LF_CHECK_INT_EQ(config.logging.file_max_bytes, 10 * 1024 * 1024);
    LF_CHECK_INT_EQ(config.logging.file_keep, 5);
    LF_CHECK_INT_EQ(config.logging.rate_limit_burst, 100);
    LF_CHECK_INT_EQ(config.logging.rate_limit_interval_ms, 10000);
    lf_config_cleanup(&config);

    LF_CHECK_INT_EQ(load_with("logging:\n  format: json\n  to: file\n"
                              "  file:\n    path: /var/log/lf.log\n"
                              "    max_bytes: 1MiB\n    keep: 0\n"
                              "  rate_limit: {burst: 0, interval: 1m}\n",
                              &config),
                    0);
    LF_CHECK_INT_EQ(config.logging.format, LF_LOG_FORMAT_JSON);
    LF_CHECK_STR_EQ(config.logging.file_path, "/var/log/lf.log");
    LF_CHECK_INT_EQ(config.logging.file_max_bytes, 1024 * 1024);
    LF_CHECK_INT_EQ(config.logging.file_keep, 0);
    LF_CHECK_INT_EQ(config.logging.rate_limit_burst, 0);
    LF_CHECK_INT_EQ(config.logging.rate_limit_interval_ms, 60000);
    lf_config_cleanup(&config);

    check_error_with("logging.format: ecs\n",
                     ":6: logging.format: expected text or json, got "
                     "'ecs'");
    check_error_with("logging.to: syslog\n",
                     ":6: logging.to: expected stderr or file, got "
                     "'syslog'");
    check_error_with("logging.to: file\n",
                     ":6: logging.to: file needs logging.file.path; set "
                     "it to the log file's path");
    check_error_with("logging.file.path: /tmp/x.log\n",
                     ":6: logging.file.path: set while logging.to is "
                     "stderr; add logging.to: file");
    check_error_with("logging.to: file\nlogging.file.path: x.log\n"
                     "logging.file.max_bytes: 1KiB\n",
                     ":8: logging.file.max_bytes: expected 0 (never "
                     "rotate) or at least 64KiB, got 1024 bytes");
    check_error_with("logging.rate_limit.interval: 0s\n",
                     ":6: logging.rate_limit.interval: expected a duration "
                     "of at least 1ms, got 0");
}

/* Loads `text` from a file of mode `mode`; returns the secrets warning. */
static char *load_secrets_warning(const char *text, mode_t mode)
{
    struct lf_config config;
    char *warning = NULL;

    write_config(text);
    LF_CHECK_INT_EQ(chmod(path, mode), 0);
    LF_CHECK_INT_EQ(lf_config_load(path, &config, errbuf, sizeof(errbuf)), 0);
    if (config.secrets_warning != NULL) {
        warning = strdup(config.secrets_warning);
    }
    lf_config_cleanup(&config);
    chmod(path, 0600);
    return warning;
}

static void test_config_secrets_warning(void)
{
    char expected[ERRLEN];
    char *warning;

    warning = load_secrets_warning(
        "inputs:\n"
        "  - id: a\n"
        "    paths: [x.log]\n"
        "    fields: {upstream: \"https://u:pw@example.com/x\"}\n"
        "output.elasticsearch:\n"
        "  hosts: [\"http://127.0.0.1:9200\"]\n",
        0604);
    snprintf(expected, sizeof(expected),
             "configuration file %s contains a secret "
             "(inputs[0].fields.upstream) and is readable by every user "
             "(mode 0604); run chmod 600 %s",
             path, path);
    LF_CHECK_STR_EQ(warning, expected);
    free(warning);

    warning = load_secrets_warning(
        "inputs: [{id: a, paths: [x.log]}]\n"
        "output.elasticsearch:\n"
        "  hosts: [\"http://127.0.0.1:9200\"]\n"
        "  api_key: abc\n",
        0640);
    snprintf(expected, sizeof(expected),
             "configuration file %s contains a secret "
             "(output.elasticsearch.api_key) and is readable by its group "
             "(mode 0640); run chmod 600 %s",
             path, path);
    LF_CHECK_STR_EQ(warning, expected);
    free(warning);

    /* The same secret in a private file, and a user name without one. */
    warning = load_secrets_warning(
        "inputs: [{id: a, paths: [x.log]}]\n"
        "output.elasticsearch:\n"
        "  hosts: [\"http://127.0.0.1:9200\"]\n"
        "  api_key: abc\n",
        0600);
    LF_CHECK(warning == NULL);
    warning = load_secrets_warning(
        "inputs:\n"
        "  - id: a\n"
        "    paths: [x.log]\n"
        "    fields: {upstream: \"https://u@example.com/a:b@c\"}\n"
        "output.elasticsearch:\n"
        "  hosts: [\"http://127.0.0.1:9200\"]\n",
        0644);
    LF_CHECK(warning == NULL);
}

static void test_config_secret_file_warning(void)
{
    char secret[sizeof(dir) + 16];
    char text[ERRLEN];
    char expected[ERRLEN];
    char *warning;
    FILE *fp;

    snprintf(secret, sizeof(secret), "%s/api_key", dir);
    fp = fopen(secret, "w");
    LF_CHECK(fp != NULL);
    fputs("abc\n", fp);
    fclose(fp);
    snprintf(text, sizeof(text),
             "inputs: [{id: a, paths: [x.log]}]\n"
             "output.elasticsearch:\n"
             "  hosts: [\"http://127.0.0.1:9200\"]\n"
             "  api_key: ${file:%s}\n",
             secret);

    LF_CHECK_INT_EQ(chmod(secret, 0604), 0);
    warning = load_secrets_warning(text, 0600);
    snprintf(expected, sizeof(expected),
             "secret file %s (read for output.elasticsearch.api_key) is "
             "readable by every user (mode 0604); run chmod 600 %s",
             secret, secret);
    LF_CHECK_STR_EQ(warning, expected);
    free(warning);

    LF_CHECK_INT_EQ(chmod(secret, 0600), 0);
    warning = load_secrets_warning(text, 0600);
    LF_CHECK(warning == NULL);
    unlink(secret);
}

int main(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/logferry.yml", dir);

    LF_RUN(test_config_minimal_defaults);
    LF_RUN(test_config_cloudwatch_output);
    LF_RUN(test_config_full_example);
    LF_RUN(test_config_nested_spelling);
    LF_RUN(test_config_fields_typed);
    LF_RUN(test_config_field_number_forms);
    LF_RUN(test_config_missing_file);
    LF_RUN(test_config_requires_inputs);
    LF_RUN(test_config_requires_output);
    LF_RUN(test_config_unknown_keys);
    LF_RUN(test_config_input_id_errors);
    LF_RUN(test_config_input_paths_errors);
    LF_RUN(test_config_input_option_errors);
    LF_RUN(test_config_discovery_defaults);
    LF_RUN(test_config_discovery_options);
    LF_RUN(test_config_discovery_errors);
    LF_RUN(test_config_reserved_fields_rejected);
    LF_RUN(test_config_max_line_bytes_minimum);
    LF_RUN(test_config_max_line_bytes_maximum);
    LF_RUN(test_config_exclude_files);
    LF_RUN(test_config_close_and_compression);
    LF_RUN(test_config_close_and_compression_errors);
    LF_RUN(test_config_exclude_files_errors);
    LF_RUN(test_config_line_options);
    LF_RUN(test_config_line_option_errors);
    LF_RUN(test_config_setting_errors);
    LF_RUN(test_config_empty_fields_is_unset);
    LF_RUN(test_config_shutdown_timeout_zero);
    LF_RUN(test_config_yaml_errors_pass_through);
    LF_RUN(test_config_parser_errors_name_the_input);
    LF_RUN(test_config_partial_failure_frees);
    LF_RUN(test_config_cleanup_zeroed);
    LF_RUN(test_config_processors);
    LF_RUN(test_config_queue_defaults);
    LF_RUN(test_config_queue_values);
    LF_RUN(test_config_queue_errors);
    LF_RUN(test_config_http);
    LF_RUN(test_config_logging);
    LF_RUN(test_config_secrets_warning);
    LF_RUN(test_config_secret_file_warning);

    unlink(path);
    rmdir(dir);
    return lf_test_end();
}
