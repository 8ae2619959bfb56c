/*
 * Tests of the YAML document loader and its typed getters.
 */
#include "lf/conf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 512

static char errbuf[ERRLEN];

/* Loads `text` as "test.yml". Returns NULL and leaves errbuf set on error. */
static struct lf_conf *load(const char *text)
{
    struct lf_conf *conf = NULL;
    int rc;

    errbuf[0] = '\0';
    rc = lf_conf_load_string(text, strlen(text), "test.yml", &conf, errbuf,
                             sizeof(errbuf));
    if (rc != 0) {
        LF_CHECK(conf == NULL);
        return NULL;
    }
    return conf;
}

/* Loads `text`, expecting LF_ECONFIG with exactly `message`. */
static void check_load_error(const char *text, const char *message)
{
    struct lf_conf *conf = NULL;
    int rc;

    errbuf[0] = '\0';
    rc = lf_conf_load_string(text, strlen(text), "test.yml", &conf, errbuf,
                             sizeof(errbuf));
    LF_CHECK_INT_EQ(rc, LF_ECONFIG);
    LF_CHECK(conf == NULL);
    LF_CHECK_STR_EQ(errbuf, message);
    lf_conf_free(conf);
}

/* Stores the node at dotted `path` under the root. */
static void node_at(const struct lf_conf *conf, const char *path,
                    struct lf_conf_node *out)
{
    struct lf_conf_node root;

    lf_conf_root(conf, &root);
    lf_conf_child(&root, path, out);
}

static const char *scalar_at(const struct lf_conf *conf, const char *path)
{
    struct lf_conf_node node;
    const char *text = NULL;

    node_at(conf, path, &node);
    if (lf_conf_scalar(&node, &text, errbuf, sizeof(errbuf)) != 0) {
        return NULL;
    }
    return text;
}

static void test_conf_scalars_are_strings(void)
{
    struct lf_conf *conf = load("a: 1\n"
                                "b: true\n"
                                "c: 'quoted'\n"
                                "d: \"x\\ty\"\n"
                                "e: 1.5\n"
                                "f: no\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    LF_CHECK_STR_EQ(scalar_at(conf, "a"), "1");
    LF_CHECK_STR_EQ(scalar_at(conf, "b"), "true");
    LF_CHECK_STR_EQ(scalar_at(conf, "c"), "quoted");
    LF_CHECK_STR_EQ(scalar_at(conf, "d"), "x\ty");
    LF_CHECK_STR_EQ(scalar_at(conf, "e"), "1.5");
    LF_CHECK_STR_EQ(scalar_at(conf, "f"), "no");

    node_at(conf, "a", &node);
    LF_CHECK_INT_EQ(lf_conf_kind(&node), LF_CONF_SCALAR);
    LF_CHECK(json_is_string(node.json));
    LF_CHECK(lf_conf_is_plain(&node));
    LF_CHECK_INT_EQ(lf_conf_line(&node), 1);
    LF_CHECK_STR_EQ(node.path, "a");
    node_at(conf, "c", &node);
    LF_CHECK(!lf_conf_is_plain(&node));
    LF_CHECK_INT_EQ(lf_conf_line(&node), 3);
    node_at(conf, "d", &node);
    LF_CHECK(!lf_conf_is_plain(&node));
    node_at(conf, "f", &node);
    LF_CHECK(lf_conf_is_plain(&node));
    LF_CHECK_INT_EQ(lf_conf_line(&node), 6);
    LF_CHECK_STR_EQ(lf_conf_name(conf), "test.yml");
    lf_conf_free(conf);
}

static void test_conf_nulls_keep_their_line(void)
{
    struct lf_conf *conf = load("a:\n"
                                "b: ~\n"
                                "c: null\n"
                                "d: \"null\"\n"
                                "e: ''\n"
                                "list:\n"
                                "  - x\n"
                                "  -\n");
    struct lf_conf_node node;
    const char *text = "unset";

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "a", &node);
    LF_CHECK_INT_EQ(lf_conf_kind(&node), LF_CONF_NULL);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 1);
    LF_CHECK(!lf_conf_is_plain(&node));
    node_at(conf, "b", &node);
    LF_CHECK_INT_EQ(lf_conf_kind(&node), LF_CONF_NULL);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 2);
    node_at(conf, "c", &node);
    LF_CHECK_INT_EQ(lf_conf_kind(&node), LF_CONF_NULL);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 3);
    LF_CHECK_STR_EQ(scalar_at(conf, "d"), "null");
    LF_CHECK_STR_EQ(scalar_at(conf, "e"), "");

    node_at(conf, "list", &node);
    LF_CHECK_INT_EQ(lf_conf_at(&node, 1, &node), 0);
    LF_CHECK_INT_EQ(lf_conf_kind(&node), LF_CONF_NULL);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 8);
    LF_CHECK_STR_EQ(node.path, "list[1]");

    node_at(conf, "a", &node);
    LF_CHECK_INT_EQ(lf_conf_scalar(&node, &text, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(text, "unset");
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: a: expected a string, got null");
    lf_conf_free(conf);
}

static void test_conf_missing_node(void)
{
    struct lf_conf *conf = load("a: 1\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "nope", &node);
    LF_CHECK(node.json == NULL);
    LF_CHECK_INT_EQ(lf_conf_kind(&node), LF_CONF_MISSING);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 0);
    LF_CHECK_INT_EQ(lf_conf_size(&node), 0);
    LF_CHECK_STR_EQ(node.path, "nope");
    LF_CHECK_INT_EQ(lf_conf_child(&node, "deeper", &node), LF_ENOENT);
    LF_CHECK(node.json == NULL);
    LF_CHECK_STR_EQ(node.path, "nope.deeper");
    LF_CHECK_INT_EQ(lf_conf_error(&node, errbuf, sizeof(errbuf),
                                  "is required, add %s", "it"),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml: nope.deeper: is required, add it");

    /* A scalar has no children. */
    node_at(conf, "a", &node);
    LF_CHECK_INT_EQ(lf_conf_child(&node, "b", &node), LF_ENOENT);
    LF_CHECK(node.json == NULL);
    LF_CHECK_INT_EQ(lf_conf_at(&node, 0, &node), LF_ENOENT);
    lf_conf_free(conf);
}

static void test_conf_dotted_keys_equal_nested(void)
{
    struct lf_conf *dotted = load("path.data: ./data\n"
                                  "output.elasticsearch.hosts: [a]\n");
    struct lf_conf *nested = load("path:\n"
                                  "  data: ./data\n"
                                  "output:\n"
                                  "  elasticsearch:\n"
                                  "    hosts: [a]\n");
    struct lf_conf_node a;
    struct lf_conf_node b;

    LF_CHECK(dotted != NULL);
    LF_CHECK(nested != NULL);
    if (dotted == NULL || nested == NULL) {
        lf_conf_free(dotted);
        lf_conf_free(nested);
        return;
    }
    lf_conf_root(dotted, &a);
    lf_conf_root(nested, &b);
    LF_CHECK(json_equal(a.json, b.json));
    LF_CHECK_STR_EQ(scalar_at(dotted, "path.data"), "./data");

    /* Child lookups by segment and by dotted key reach the same node. */
    lf_conf_child(&a, "output", &a);
    lf_conf_child(&a, "elasticsearch", &a);
    LF_CHECK_STR_EQ(a.path, "output.elasticsearch");
    LF_CHECK_INT_EQ(lf_conf_line(&a), 2);
    node_at(dotted, "output.elasticsearch", &b);
    LF_CHECK(a.json == b.json);
    LF_CHECK_STR_EQ(b.path, "output.elasticsearch");
    node_at(nested, "output.elasticsearch", &b);
    LF_CHECK_INT_EQ(lf_conf_line(&b), 4);
    lf_conf_free(dotted);
    lf_conf_free(nested);
}

static void test_conf_dotted_keys_merge(void)
{
    struct lf_conf *conf = load("path.data: x\n"
                                "other: 1\n"
                                "path:\n"
                                "  logs: y\n"
                                "path.home: z\n");
    struct lf_conf_node node;
    const char *key = NULL;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    LF_CHECK_STR_EQ(scalar_at(conf, "path.data"), "x");
    LF_CHECK_STR_EQ(scalar_at(conf, "path.logs"), "y");
    LF_CHECK_STR_EQ(scalar_at(conf, "path.home"), "z");
    node_at(conf, "path", &node);
    LF_CHECK_INT_EQ(lf_conf_size(&node), 3);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 1);
    LF_CHECK_INT_EQ(lf_conf_entry(&node, 1, &key, &node), 0);
    LF_CHECK_STR_EQ(key, "logs");
    LF_CHECK_STR_EQ(node.path, "path.logs");
    LF_CHECK_INT_EQ(lf_conf_line(&node), 4);
    lf_conf_free(conf);
}

static void test_conf_duplicate_keys(void)
{
    check_load_error("path.data: x\n"
                     "path:\n"
                     "  data: y\n",
                     "test.yml:3: path.data: duplicate key, first set on "
                     "line 1");
    check_load_error("path:\n"
                     "  data: y\n"
                     "path.data: x\n",
                     "test.yml:3: path.data: duplicate key, first set on "
                     "line 2");
    check_load_error("a: 1\n"
                     "b: 2\n"
                     "a: 3\n",
                     "test.yml:3: a: duplicate key, first set on line 1");
    check_load_error("a: {x: 1}\n"
                     "a: {y: 2}\n",
                     "test.yml:2: a: duplicate key, first set on line 1");
    check_load_error("a:\n"
                     "a.b: 1\n",
                     "test.yml:2: a.b: duplicate key: 'a' is already set "
                     "on line 1 and is not a map");
    check_load_error("x:\n"
                     "  a: [1]\n"
                     "  a.b.c: 1\n",
                     "test.yml:3: x.a.b.c: duplicate key: 'x.a' is already "
                     "set on line 2 and is not a map");
    check_load_error("a.b: 1\n"
                     "a: 2\n",
                     "test.yml:2: a: duplicate key, first set on line 1");
    check_load_error("items:\n"
                     "  - {id: 1, id: 2}\n",
                     "test.yml:2: items[0].id: duplicate key, first set on "
                     "line 2");
}

static void test_conf_invalid_keys(void)
{
    check_load_error("a..b: 1\n",
                     "test.yml:1: invalid key 'a..b': a dotted key needs a "
                     "name between every two dots");
    check_load_error("m:\n  .a: 1\n",
                     "test.yml:2: m: invalid key '.a': a dotted key needs a "
                     "name between every two dots");
    check_load_error("a.: 1\n",
                     "test.yml:1: invalid key 'a.': a dotted key needs a "
                     "name between every two dots");
    check_load_error("\"\": 1\n", "test.yml:1: empty key: give it a name");
    check_load_error("? \n: 1\n", "test.yml:1: empty key: give it a name");
    check_load_error("? [a, b]\n: 1\n",
                     "test.yml:1: complex keys (a map or list used as a "
                     "key) are not supported");
    check_load_error("\"a\\0b\": 1\n",
                     "test.yml:1: key contains a NUL character");
}

static void test_conf_lists_of_maps_and_flow(void)
{
    struct lf_conf *conf = load("inputs:\n"
                                "  - id: app\n"
                                "    paths: [\"logs/*.log\", b.log]\n"
                                "    fields: {service.name: rewards-api}\n"
                                "  - id: web\n"
                                "    paths:\n"
                                "      - /var/log/nginx/access.log\n");
    struct lf_conf_node inputs;
    struct lf_conf_node item;
    struct lf_conf_node node;
    const char *text = NULL;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "inputs", &inputs);
    LF_CHECK_INT_EQ(lf_conf_kind(&inputs), LF_CONF_LIST);
    LF_CHECK_INT_EQ(lf_conf_size(&inputs), 2);
    LF_CHECK_INT_EQ(lf_conf_line(&inputs), 1);

    LF_CHECK_INT_EQ(lf_conf_at(&inputs, 0, &item), 0);
    LF_CHECK_INT_EQ(lf_conf_kind(&item), LF_CONF_MAP);
    LF_CHECK_STR_EQ(item.path, "inputs[0]");
    LF_CHECK_INT_EQ(lf_conf_line(&item), 2);
    lf_conf_child(&item, "paths", &node);
    LF_CHECK_INT_EQ(lf_conf_size(&node), 2);
    LF_CHECK_INT_EQ(lf_conf_at(&node, 1, &node), 0);
    LF_CHECK_STR_EQ(node.path, "inputs[0].paths[1]");
    LF_CHECK_INT_EQ(lf_conf_scalar(&node, &text, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(text, "b.log");
    lf_conf_child(&item, "fields.service.name", &node);
    LF_CHECK_INT_EQ(lf_conf_scalar(&node, &text, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(text, "rewards-api");
    LF_CHECK_STR_EQ(node.path, "inputs[0].fields.service.name");
    LF_CHECK_INT_EQ(lf_conf_line(&node), 4);

    LF_CHECK_INT_EQ(lf_conf_at(&inputs, 1, &item), 0);
    LF_CHECK_INT_EQ(lf_conf_line(&item), 5);
    lf_conf_child(&item, "paths", &node);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 6);
    LF_CHECK_INT_EQ(lf_conf_at(&node, 0, &node), 0);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 7);
    LF_CHECK_INT_EQ(lf_conf_at(&inputs, 2, &item), LF_ENOENT);
    LF_CHECK(item.json == NULL);
    LF_CHECK_STR_EQ(item.path, "inputs[2]");
    lf_conf_free(conf);
}

static void test_conf_block_scalars(void)
{
    struct lf_conf *conf = load("literal: |\n"
                                "  line one\n"
                                "  line two\n"
                                "folded: >-\n"
                                "  a\n"
                                "  b\n"
                                "pattern: '^(?<ts>\\S+) (?<level>\\w+)'\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    LF_CHECK_STR_EQ(scalar_at(conf, "literal"), "line one\nline two\n");
    LF_CHECK_STR_EQ(scalar_at(conf, "folded"), "a b");
    LF_CHECK_STR_EQ(scalar_at(conf, "pattern"), "^(?<ts>\\S+) (?<level>\\w+)");
    node_at(conf, "literal", &node);
    LF_CHECK(!lf_conf_is_plain(&node));
    LF_CHECK_INT_EQ(lf_conf_line(&node), 1);
    node_at(conf, "folded", &node);
    LF_CHECK_INT_EQ(lf_conf_line(&node), 4);
    lf_conf_free(conf);
}

static void test_conf_entry_file_order(void)
{
    struct lf_conf *conf = load("zeta: 1\nalpha: 2\nmid: 3\n");
    struct lf_conf_node root;
    struct lf_conf_node node;
    const char *key = "unset";

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(lf_conf_size(&root), 3);
    LF_CHECK_INT_EQ(lf_conf_entry(&root, 0, &key, &node), 0);
    LF_CHECK_STR_EQ(key, "zeta");
    LF_CHECK_INT_EQ(lf_conf_entry(&root, 1, &key, &node), 0);
    LF_CHECK_STR_EQ(key, "alpha");
    LF_CHECK_INT_EQ(lf_conf_entry(&root, 2, &key, &node), 0);
    LF_CHECK_STR_EQ(key, "mid");
    LF_CHECK_STR_EQ(node.path, "mid");
    LF_CHECK_INT_EQ(lf_conf_line(&node), 3);
    LF_CHECK_INT_EQ(lf_conf_entry(&root, 3, &key, &node), LF_ENOENT);
    LF_CHECK(key == NULL);
    LF_CHECK(node.json == NULL);
    lf_conf_free(conf);
}

static void test_conf_empty_document_is_empty_map(void)
{
    static const char *const texts[] = {"", "# only a comment\n", "---\n"};

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct lf_conf *conf = load(texts[i]);
        struct lf_conf_node root;

        LF_CHECK(conf != NULL);
        if (conf == NULL) {
            continue;
        }
        lf_conf_root(conf, &root);
        LF_CHECK_INT_EQ(lf_conf_kind(&root), LF_CONF_MAP);
        LF_CHECK_INT_EQ(lf_conf_size(&root), 0);
        LF_CHECK_STR_EQ(root.path, "");
        lf_conf_free(conf);
    }
}

static void test_conf_env_substitution(void)
{
    struct lf_conf *conf;
    struct lf_conf_node node;

    setenv("LF_TEST_HOST", "127.0.0.1", 1);
    setenv("LF_TEST_PORT", "9200", 1);
    setenv("LF_TEST_EMPTY", "", 1);
    unsetenv("LF_TEST_UNSET");
    conf = load("url: http://${LF_TEST_HOST}:${LF_TEST_PORT}/\n"
                "port: ${LF_TEST_PORT}\n"
                "quoted: \"${LF_TEST_PORT}\"\n"
                "def: ${LF_TEST_UNSET:-fallback}\n"
                "empty_def: ${LF_TEST_EMPTY:-used}\n"
                "empty: x${LF_TEST_EMPTY}y\n"
                "blank_def: a${LF_TEST_UNSET:-}b\n"
                "nested: ${LF_TEST_UNSET:-${LF_TEST_HOST}}\n"
                "nested_def: ${LF_TEST_UNSET:-${LF_TEST_UNSET:-{x}}}\n"
                "escaped: $${LF_TEST_HOST} costs $5 $$\n"
                "${LF_TEST_HOST}: key\n"
                "list: ['${LF_TEST_PORT}']\n"
                "block: |\n"
                "  host ${LF_TEST_HOST}\n");

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    LF_CHECK_STR_EQ(scalar_at(conf, "url"), "http://127.0.0.1:9200/");
    LF_CHECK_STR_EQ(scalar_at(conf, "port"), "9200");
    LF_CHECK_STR_EQ(scalar_at(conf, "quoted"), "9200");
    LF_CHECK_STR_EQ(scalar_at(conf, "def"), "fallback");
    LF_CHECK_STR_EQ(scalar_at(conf, "empty_def"), "used");
    LF_CHECK_STR_EQ(scalar_at(conf, "empty"), "xy");
    LF_CHECK_STR_EQ(scalar_at(conf, "blank_def"), "ab");
    LF_CHECK_STR_EQ(scalar_at(conf, "nested"), "127.0.0.1");
    LF_CHECK_STR_EQ(scalar_at(conf, "nested_def"), "{x}");
    LF_CHECK_STR_EQ(scalar_at(conf, "escaped"), "${LF_TEST_HOST} costs $5 $$");
    LF_CHECK_STR_EQ(scalar_at(conf, "block"), "host 127.0.0.1\n");

    /* Keys are not substituted. */
    LF_CHECK_STR_EQ(scalar_at(conf, "${LF_TEST_HOST}"), "key");

    /* Substitution keeps the quoting style of the value. */
    node_at(conf, "port", &node);
    LF_CHECK(lf_conf_is_plain(&node));
    node_at(conf, "quoted", &node);
    LF_CHECK(!lf_conf_is_plain(&node));
    lf_conf_free(conf);
    unsetenv("LF_TEST_HOST");
    unsetenv("LF_TEST_PORT");
    unsetenv("LF_TEST_EMPTY");
}

static void test_conf_env_substitution_errors(void)
{
    unsetenv("LF_TEST_UNSET");
    check_load_error("a: 1\n"
                     "inputs:\n"
                     "  - paths: [\"${LF_TEST_UNSET}/x.log\"]\n",
                     "test.yml:3: inputs[0].paths[0]: environment variable "
                     "LF_TEST_UNSET is not set: set it or give a default "
                     "with ${LF_TEST_UNSET:-default}");
    check_load_error("a: ${LF_TEST_UNSET\n",
                     "test.yml:1: a: variable reference '${LF_TEST_UNSET' "
                     "has no closing '}'");
    check_load_error("a: ${X:-never closed\n",
                     "test.yml:1: a: variable reference '${X:-never "
                     "closed' has no closing '}'");
    check_load_error("a: ${1BAD}\n",
                     "test.yml:1: a: invalid variable reference '${1BAD}': "
                     "expected ${NAME}, ${NAME:-default} or ${file:/path} "
                     "(write $${ for a literal ${)");
    check_load_error("a: ${X-default}\n",
                     "test.yml:1: a: invalid variable reference "
                     "'${X-default}': expected ${NAME}, ${NAME:-default} "
                     "or ${file:/path} (write $${ for a literal ${)");
    check_load_error("a: ${}\n",
                     "test.yml:1: a: invalid variable reference '${}': "
                     "expected ${NAME}, ${NAME:-default} or ${file:/path} "
                     "(write $${ for a literal ${)");
    check_load_error("a: ${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-${A:-x}}}}}"
                     "}}}}\n",
                     "test.yml:1: a: variable defaults are nested more than "
                     "8 deep");
}

/* Writes `content` to a new temporary file; stores its name in `path`. */
static bool write_temp_file(char *path, const char *content, size_t len)
{
    int fd = mkstemp(path);
    bool ok;

    LF_CHECK(fd >= 0);
    if (fd < 0) {
        return false;
    }
    ok = write(fd, content, len) == (ssize_t)len;
    LF_CHECK(ok);
    close(fd);
    return ok;
}

/* Loads `prefix`, `path` and "}" as a document and returns the result. */
static int load_file_reference(const char *prefix, const char *path,
                               struct lf_conf **conf)
{
    char text[256];

    snprintf(text, sizeof(text), "%s%s}\n", prefix, path);
    errbuf[0] = '\0';
    return lf_conf_load_string(text, strlen(text), "test.yml", conf, errbuf,
                               sizeof(errbuf));
}

static void test_conf_file_substitution(void)
{
    static const struct {
        const char *content;
        const char *value;
    } cases[] = {
        {"s3cret\n", "s3cret"},
        {"s3cret", "s3cret"},
        {"s3cret\r\n", "s3cret"},
        {"two\nlines\n\n", "two\nlines\n"},
        {"", ""},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        char path[] = "/tmp/lf_test_secret_XXXXXX";
        struct lf_conf *conf = NULL;

        if (!write_temp_file(path, cases[i].content,
                             strlen(cases[i].content))) {
            continue;
        }
        LF_CHECK_INT_EQ(load_file_reference("a: x${file:", path, &conf), 0);
        LF_CHECK_STR_EQ(errbuf, "");
        if (conf != NULL) {
            char expected[64];

            snprintf(expected, sizeof(expected), "x%s", cases[i].value);
            LF_CHECK_STR_EQ(scalar_at(conf, "a"), expected);
        }
        lf_conf_free(conf);
        unlink(path);
    }
}

static void test_conf_file_substitution_errors(void)
{
    char path[] = "/tmp/lf_test_secret_XXXXXX";
    char fifo[64];
    char expected[ERRLEN];
    struct lf_conf *conf = NULL;

    check_load_error("a: 1\nb: ${file:/nonexistent/lf-secret}\n",
                     "test.yml:2: b: reading secret file "
                     "'/nonexistent/lf-secret' failed: no such file or "
                     "directory");
    check_load_error("a: ${file:relative/secret}\n",
                     "test.yml:1: a: secret file 'relative/secret' must be "
                     "an absolute path, as in "
                     "${file:/run/secrets/es_password}");
    check_load_error("a: ${file:/x\n",
                     "test.yml:1: a: variable reference '${file:/x' has no "
                     "closing '}'");
    check_load_error("a: ${file:/tmp}\n",
                     "test.yml:1: a: reading secret file '/tmp' failed: is "
                     "a directory");
    check_load_error("a: ${file:/dev/zero}\n",
                     "test.yml:1: a: reading secret file '/dev/zero' failed: "
                     "not a regular file");

    /* A FIFO without a writer is rejected at once instead of blocking. */
    snprintf(fifo, sizeof(fifo), "/tmp/lf_test_fifo_%ld", (long)getpid());
    if (mkfifo(fifo, 0600) == 0) {
        LF_CHECK_INT_EQ(load_file_reference("a: ${file:", fifo, &conf),
                        LF_ECONFIG);
        snprintf(expected, sizeof(expected),
                 "test.yml:1: a: reading secret file '%s' failed: not a "
                 "regular file",
                 fifo);
        LF_CHECK_STR_EQ(errbuf, expected);
        lf_conf_free(conf);
        conf = NULL;
        unlink(fifo);
    } else {
        LF_FAIL_AT("mkfifo %s failed", fifo);
    }

    /* A NUL byte is rejected, and the message never quotes the content. */
    if (write_temp_file(path, "top\0secret\n", 11)) {
        LF_CHECK_INT_EQ(load_file_reference("a: ${file:", path, &conf),
                        LF_ECONFIG);
        snprintf(expected, sizeof(expected),
                 "test.yml:1: a: secret file '%s' contains a NUL byte", path);
        LF_CHECK_STR_EQ(errbuf, expected);
        LF_CHECK(strstr(errbuf, "top") == NULL);
        lf_conf_free(conf);
        unlink(path);
    }
}

static void test_conf_env_invalid_utf8(void)
{
    setenv("LF_TEST_BINARY", "\xff\xfe", 1);
    check_load_error("a: ${LF_TEST_BINARY}\n",
                     "test.yml:1: a: value is not valid UTF-8 after "
                     "substituting environment variables");
    unsetenv("LF_TEST_BINARY");
}

static void test_conf_rejects_anchors_and_aliases(void)
{
    check_load_error("a: &base 1\n",
                     "test.yml:1: a: anchors (&base) and aliases are not "
                     "supported: repeat the value instead");
    check_load_error("a: &m {x: 1}\n",
                     "test.yml:1: a: anchors (&m) and aliases are not "
                     "supported: repeat the value instead");
    check_load_error("a: 1\nb: *base\n",
                     "test.yml:2: aliases (*base) and anchors are not "
                     "supported: repeat the value instead");
}

static void test_conf_tags(void)
{
    struct lf_conf *conf = load("a: !!str 5\nb: ! 6\nc: !!map {x: 1}\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf != NULL) {
        node_at(conf, "a", &node);
        LF_CHECK_STR_EQ(json_string_value(node.json), "5");
        LF_CHECK(!lf_conf_is_plain(&node));
        node_at(conf, "b", &node);
        LF_CHECK_STR_EQ(json_string_value(node.json), "6");
        LF_CHECK(!lf_conf_is_plain(&node));
        LF_CHECK_STR_EQ(scalar_at(conf, "c.x"), "1");
        lf_conf_free(conf);
    }
    check_load_error("a: !Ref name\n",
                     "test.yml:1: a: unsupported tag '!Ref': remove it (only "
                     "!!str, !!map and !!seq are accepted)");
    check_load_error("a: !!int 5\n",
                     "test.yml:1: a: unsupported tag 'tag:yaml.org,2002:int':"
                     " remove it (only !!str, !!map and !!seq are accepted)");
    check_load_error("a: !!seq {x: 1}\n",
                     "test.yml:1: a: unsupported tag 'tag:yaml.org,2002:seq':"
                     " remove it (only !!str, !!map and !!seq are accepted)");
}

static void test_conf_rejects_second_document(void)
{
    check_load_error("a: 1\n---\nb: 2\n",
                     "test.yml:2: a second YAML document starts here, but a "
                     "configuration file holds exactly one");
}

static void test_conf_syntax_errors(void)
{
    check_load_error("a: 1\n"
                     "b: [1, 2\n",
                     "test.yml:3: invalid YAML: did not find expected ',' "
                     "or ']' at column 1, while parsing a flow sequence "
                     "that starts on line 2");
    check_load_error("a:\n"
                     "  b: 1\n"
                     " c: 2\n",
                     "test.yml:3: invalid YAML: did not find expected key "
                     "at column 2, while parsing a block mapping that "
                     "starts on line 1");
    check_load_error("a: 1\n"
                     "\tb: 2\n",
                     "test.yml:2: invalid YAML: found a tab character that "
                     "violates indentation at column 1, while scanning a "
                     "plain scalar that starts on line 1 (YAML does not "
                     "allow tabs for indentation)");
    check_load_error("a:\n"
                     "\t- b\n",
                     "test.yml:2: invalid YAML: found character that cannot "
                     "start any token at column 1, while scanning for the "
                     "next token that starts on line 2 (YAML does not allow "
                     "tabs for indentation)");
    check_load_error("a: 'open\n",
                     "test.yml:2: invalid YAML: found unexpected end of "
                     "stream at column 1, while scanning a quoted scalar "
                     "that starts on line 1");
}

static void test_conf_invalid_utf8_input(void)
{
    check_load_error("a: 1\nb: \xff\n",
                     "test.yml:2: invalid YAML: invalid leading UTF-8 octet "
                     "(#FF at byte offset 8)");
}

static void test_conf_rejects_nul_in_value(void)
{
    check_load_error("a: \"x\\0y\"\n",
                     "test.yml:1: a: value contains a NUL character");
}

/*
 * The root map and the list under `a` are two of the 64 levels, so the
 * list that fails is the 63rd inside `a`.
 */
static void test_conf_nesting_limit(void)
{
    char text[256];
    char expected[ERRLEN];
    size_t len = 0;
    int n;

    text[len++] = 'a';
    text[len++] = ':';
    text[len++] = ' ';
    for (int i = 0; i < 70; i++) {
        text[len++] = '[';
    }
    text[len] = '\0';
    n = snprintf(expected, sizeof(expected), "test.yml:1: a");
    for (int i = 0; i < 63; i++) {
        n += snprintf(expected + n, sizeof(expected) - (size_t)n, "[0]");
    }
    snprintf(expected + n, sizeof(expected) - (size_t)n,
             ": maps and lists are nested more than 64 deep");
    check_load_error(text, expected);
}

static void test_conf_long_path_is_cut(void)
{
    char key[300];
    char text[400];
    struct lf_conf *conf;
    struct lf_conf_node node;

    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    snprintf(text, sizeof(text), "%s: 1\n", key);
    conf = load(text);
    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, key, &node);
    LF_CHECK_STR_EQ(json_string_value(node.json), "1");
    LF_CHECK_INT_EQ(strlen(node.path), LF_CONF_PATH_MAX - 1);
    LF_CHECK_STR_EQ(node.path + LF_CONF_PATH_MAX - 4, "...");
    lf_conf_free(conf);
}

static void test_conf_get_str(void)
{
    struct lf_conf *conf = load("s: text\nm: {x: 1}\nn:\n");
    struct lf_conf_node root;
    struct lf_conf_node missing;
    const char *out = NULL;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(
        lf_conf_get_str(&root, "s", "d", &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(out, "text");
    LF_CHECK_INT_EQ(
        lf_conf_get_str(&root, "absent", "d", &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(out, "d");
    LF_CHECK_INT_EQ(
        lf_conf_get_str(&root, "n", NULL, &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK(out == NULL);
    LF_CHECK_INT_EQ(
        lf_conf_get_str(&root, "m", "d", &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:2: m: expected a string, got a map");

    /* A missing map gives defaults; a scalar where a map belongs does not. */
    lf_conf_child(&root, "absent", &missing);
    LF_CHECK_INT_EQ(
        lf_conf_get_str(&missing, "x", "d", &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK_STR_EQ(out, "d");
    lf_conf_child(&root, "s", &missing);
    LF_CHECK_INT_EQ(
        lf_conf_get_str(&missing, "x", "d", &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: s: expected a map, got 'text'");
    lf_conf_free(conf);
}

static void test_conf_get_int(void)
{
    struct lf_conf *conf = load("a: 42\nb: -7\nc: \"12\"\nd: 1.5\ne: 0x10\n"
                                "f: 99999999999999999999\ng: 101\nh: +3\n"
                                "i: [1]\n");
    struct lf_conf_node root;
    long long out = 0;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "a", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK_INT_EQ(out, 42);
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "b", 0, -10, 100, &out, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK_INT_EQ(out, -7);
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "c", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK_INT_EQ(out, 12);
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "h", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK_INT_EQ(out, 3);
    LF_CHECK_INT_EQ(lf_conf_get_int(&root, "absent", 5, 0, 100, &out, errbuf,
                                    sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ(out, 5);

    out = 0;
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "d", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:4: d: expected an integer from 0 to "
                            "100, got '1.5'");
    LF_CHECK_INT_EQ(out, 0);
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "e", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:5: e: expected an integer from 0 to "
                            "100, got '0x10'");
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "f", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:6: f: expected an integer from 0 to "
                            "100, got '99999999999999999999'");
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "g", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:7: g: expected an integer from 0 to "
                            "100, got '101'");
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "b", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:2: b: expected an integer from 0 to "
                            "100, got '-7'");
    LF_CHECK_INT_EQ(
        lf_conf_get_int(&root, "i", 0, 0, 100, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:9: i: expected an integer from 0 to "
                            "100, got a list");
    lf_conf_free(conf);
}

static void test_conf_get_bool(void)
{
    struct lf_conf *conf = load("a: true\nb: False\nc: yes\nd: 'TRUE'\n");
    struct lf_conf_node root;
    bool out = false;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(
        lf_conf_get_bool(&root, "a", false, &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK(out == true);
    LF_CHECK_INT_EQ(
        lf_conf_get_bool(&root, "b", true, &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK(out == false);
    LF_CHECK_INT_EQ(
        lf_conf_get_bool(&root, "d", false, &out, errbuf, sizeof(errbuf)), 0);
    LF_CHECK(out == true);
    LF_CHECK_INT_EQ(
        lf_conf_get_bool(&root, "absent", true, &out, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK(out == true);
    LF_CHECK_INT_EQ(
        lf_conf_get_bool(&root, "c", false, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:3: c: expected true or false, got "
                            "'yes'");
    lf_conf_free(conf);
}

struct conf_number_case {
    const char *text;
    long long expected; /* -1 when the text is invalid */
};

static void check_number_cases(const struct conf_number_case *cases,
                               size_t count, bool duration)
{
    for (size_t i = 0; i < count; i++) {
        char text[128];
        struct lf_conf *conf;
        struct lf_conf_node root;
        long long out = -2;
        int rc;

        snprintf(text, sizeof(text), "v: '%s'\n", cases[i].text);
        conf = load(text);
        LF_CHECK(conf != NULL);
        if (conf == NULL) {
            continue;
        }
        lf_conf_root(conf, &root);
        if (duration) {
            rc = lf_conf_get_duration_ms(&root, "v", 0, &out, errbuf,
                                         sizeof(errbuf));
        } else {
            rc = lf_conf_get_bytes(&root, "v", 0, &out, errbuf, sizeof(errbuf));
        }
        if (cases[i].expected >= 0) {
            if (rc != 0) {
                fprintf(stderr, "value '%s': %s\n", cases[i].text, errbuf);
            }
            LF_CHECK_INT_EQ(rc, 0);
            LF_CHECK_INT_EQ(out, cases[i].expected);
        } else {
            if (rc == 0) {
                fprintf(stderr, "value '%s' was accepted as %lld\n",
                        cases[i].text, out);
            }
            LF_CHECK_INT_EQ(rc, LF_ECONFIG);
        }
        lf_conf_free(conf);
    }
}

static void test_conf_get_duration(void)
{
    static const struct conf_number_case cases[] = {
        {"250ms", 250},
        {"5s", 5000},
        {"2m", 120000},
        {"1h", 3600000},
        {"1h30m", 5400000},
        {"1m30s500ms", 90500},
        {"1.5s", 1500},
        {"0.25h", 900000},
        {"30", 30000},
        {"0.5", 500},
        {"0", 0},
        {"0ms", 0},
        {"9223372036854775807ms", 9223372036854775807LL},
        {"9223372036854775808ms", -1},
        {"9223372036854775s", 9223372036854775000LL},
        {"9223372036854776s", -1},
        {"2562047788015216h", -1},
        {"-5s", -1},
        {"0.5ms", -1},
        {"1.0001s", -1},
        {"1.1234567h", -1},
        {"5 s", -1},
        {"5S", -1},
        {"5d", -1},
        {"s", -1},
        {"", -1},
        {"1.s", -1},
        {".5s", -1},
        {"5s3", -1},
        {"1e3", -1},
        {"abc", -1},
    };
    struct lf_conf *conf = load("a: soon\nb: -1s\n");
    struct lf_conf_node root;
    long long out = 0;

    check_number_cases(cases, sizeof(cases) / sizeof(cases[0]), true);
    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(lf_conf_get_duration_ms(&root, "absent", 1234, &out, errbuf,
                                            sizeof(errbuf)),
                    0);
    LF_CHECK_INT_EQ(out, 1234);
    LF_CHECK_INT_EQ(
        lf_conf_get_duration_ms(&root, "a", 0, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: a: expected a non-negative duration "
                            "in whole milliseconds such as 250ms, 5s, 2m, 1h "
                            "or 1m30s (a bare number means seconds), got "
                            "'soon'");
    LF_CHECK_INT_EQ(
        lf_conf_get_duration_ms(&root, "b", 0, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:2: b: expected a non-negative duration "
                            "in whole milliseconds such as 250ms, 5s, 2m, 1h "
                            "or 1m30s (a bare number means seconds), got "
                            "'-1s'");
    lf_conf_free(conf);
}

static void test_conf_get_bytes(void)
{
    static const struct conf_number_case cases[] = {
        {"512", 512},
        {"0", 0},
        {"64KiB", 65536},
        {"10MiB", 10485760},
        {"1GiB", 1073741824},
        {"2TiB", 2199023255552LL},
        {"1KB", 1000},
        {"3MB", 3000000},
        {"1GB", 1000000000},
        {"1TB", 1000000000000LL},
        {"100B", 100},
        {"10 MiB", 10485760},
        {"1.5KiB", 1536},
        {"0.5MB", 500000},
        {"64kib", 65536},
        {"64kb", 64000},
        {"9223372036854775807", 9223372036854775807LL},
        {"9223372036854775808", -1},
        {"8388608TiB", -1},
        {"-1", -1},
        {"-1KiB", -1},
        {"1.5B", -1},
        {"0.3KiB", -1},
        {"10K", -1},
        {"10M", -1},
        {"10 MiB ", -1},
        {"MiB", -1},
        {"", -1},
        {"ten", -1},
    };
    struct lf_conf *conf = load("a: huge\n");
    struct lf_conf_node root;
    long long out = 0;

    check_number_cases(cases, sizeof(cases) / sizeof(cases[0]), false);
    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    lf_conf_root(conf, &root);
    LF_CHECK_INT_EQ(
        lf_conf_get_bytes(&root, "absent", 4096, &out, errbuf, sizeof(errbuf)),
        0);
    LF_CHECK_INT_EQ(out, 4096);
    LF_CHECK_INT_EQ(
        lf_conf_get_bytes(&root, "a", 0, &out, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: a: expected a non-negative size in "
                            "whole bytes such as 512, 64KiB, 10MiB or 1GB "
                            "(KiB/MiB/GiB are 1024-based, KB/MB/GB "
                            "1000-based), got 'huge'");
    lf_conf_free(conf);
}

static void test_conf_check_keys_suggests(void)
{
    static const char *const allowed[] = {"hosts", "index", "compression"};
    struct lf_conf *conf = load("output.elasticsearch:\n"
                                "  index: logs\n"
                                "  hsots: [a]\n"
                                "other:\n"
                                "  zzz: 1\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "output.elasticsearch", &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 3, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:3: output.elasticsearch: unknown key "
                            "'hsots', did you mean 'hosts'? Valid keys: "
                            "hosts, index, compression");
    node_at(conf, "other", &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 3, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:5: other: unknown key 'zzz'. Valid "
                            "keys: hosts, index, compression");
    lf_conf_free(conf);
}

static void test_conf_check_keys_accepts_known(void)
{
    static const char *const allowed[] = {"id", "paths"};
    struct lf_conf *conf = load("inputs:\n  - id: a\n    paths: [x]\n"
                                "scalar: 1\nnull_value:\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "inputs", &node);
    lf_conf_at(&node, 0, &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 2, errbuf, sizeof(errbuf)), 0);
    node_at(conf, "absent", &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 2, errbuf, sizeof(errbuf)), 0);
    node_at(conf, "scalar", &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 2, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:4: scalar: expected a map, got '1'");
    node_at(conf, "null_value", &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 2, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:5: null_value: expected a map, got "
                            "null");
    lf_conf_free(conf);
}

static void test_conf_check_keys_dotted_allowed(void)
{
    static const char *const allowed[] = {"path.data", "inputs",
                                          "output.elasticsearch"};
    struct lf_conf *ok = load("path.data: x\ninputs: []\n"
                              "output:\n  elasticsearch: {}\n");
    struct lf_conf *typo = load("path:\n  dta: x\n");
    struct lf_conf *flat = load("path: ./data\n");
    struct lf_conf *top = load("ouptut.elasticsearch: {}\n");
    struct lf_conf_node root;

    LF_CHECK(ok != NULL && typo != NULL && flat != NULL && top != NULL);
    if (ok == NULL || typo == NULL || flat == NULL || top == NULL) {
        goto done;
    }
    lf_conf_root(ok, &root);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&root, allowed, 3, errbuf, sizeof(errbuf)), 0);
    lf_conf_root(typo, &root);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&root, allowed, 3, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:2: path: unknown key 'dta', did you "
                            "mean 'data'? Valid keys: data");
    lf_conf_root(flat, &root);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&root, allowed, 3, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: path: expected a map, got './data'");
    lf_conf_root(top, &root);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&root, allowed, 3, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:1: unknown key 'ouptut', did you mean "
                            "'output'? Valid keys: path.data, inputs, "
                            "output.elasticsearch");
done:
    lf_conf_free(ok);
    lf_conf_free(typo);
    lf_conf_free(flat);
    lf_conf_free(top);
}

static void test_conf_unknown_null_key_line(void)
{
    static const char *const allowed[] = {"id"};
    struct lf_conf *conf = load("x: 1\nm:\n  id: a\n  extra:\n");
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "m", &node);
    LF_CHECK_INT_EQ(
        lf_conf_check_keys(&node, allowed, 1, errbuf, sizeof(errbuf)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(errbuf, "test.yml:4: m: unknown key 'extra'. Valid "
                            "keys: id");
    lf_conf_free(conf);
}

static void test_conf_error_truncates_safely(void)
{
    struct lf_conf *conf = load("key: 1\n");
    struct lf_conf_node node;
    char small[12];

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    node_at(conf, "key", &node);
    memset(small, 'x', sizeof(small));
    LF_CHECK_INT_EQ(
        lf_conf_error(&node, small, sizeof(small), "long %s", "message"),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(small, "test.yml:1:");
    LF_CHECK_INT_EQ(lf_conf_error(&node, NULL, 0, "ignored"), LF_ECONFIG);
    lf_conf_free(conf);
}

static void test_conf_brief_example(void)
{
    static const char text[] =
        "path.data: ./data              # registry\n"
        "inputs:\n"
        "  - id: app\n"
        "    paths: [\"logs/*.log\"]      # globs\n"
        "    fields: {service.name: rewards-api}\n"
        "    parsers:\n"
        "      - regex:\n"
        "          pattern: '^(?<ts>\\S+) (?<level>\\w+) ...'\n"
        "          fields:\n"
        "            ts: {field: \"@timestamp\", type: timestamp}\n"
        "            level: log.level\n"
        "  - id: web\n"
        "    paths: [\"/var/log/nginx/access.log\"]\n"
        "    parsers:\n"
        "      - preset: nginx\n"
        "output.elasticsearch:\n"
        "  hosts: [\"http://127.0.0.1:9200\"]\n"
        "  index: logs-app-default\n"
        "  compression: gzip            # or none\n";
    struct lf_conf *conf = load(text);
    struct lf_conf_node node;

    LF_CHECK(conf != NULL);
    if (conf == NULL) {
        return;
    }
    LF_CHECK_STR_EQ(scalar_at(conf, "path.data"), "./data");
    LF_CHECK_STR_EQ(scalar_at(conf, "output.elasticsearch.index"),
                    "logs-app-default");
    node_at(conf, "inputs", &node);
    lf_conf_at(&node, 0, &node);
    lf_conf_child(&node, "parsers", &node);
    lf_conf_at(&node, 0, &node);
    lf_conf_child(&node, "regex.fields.ts.field", &node);
    LF_CHECK_STR_EQ(json_string_value(node.json), "@timestamp");
    LF_CHECK_STR_EQ(node.path, "inputs[0].parsers[0].regex.fields.ts.field");
    LF_CHECK_INT_EQ(lf_conf_line(&node), 10);
    node_at(conf, "inputs", &node);
    lf_conf_at(&node, 1, &node);
    lf_conf_child(&node, "parsers", &node);
    lf_conf_at(&node, 0, &node);
    lf_conf_child(&node, "preset", &node);
    LF_CHECK_STR_EQ(json_string_value(node.json), "nginx");
    LF_CHECK_INT_EQ(lf_conf_line(&node), 15);
    lf_conf_free(conf);
}

static void test_conf_load_file(void)
{
    char path[] = "/tmp/lf_test_conf_XXXXXX";
    static const char text[] = "a: 1\nb:\n  c: two\n";
    struct lf_conf *conf = NULL;
    int fd = mkstemp(path);

    LF_CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    LF_CHECK_INT_EQ(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
    close(fd);
    LF_CHECK_INT_EQ(lf_conf_load_file(path, &conf, errbuf, sizeof(errbuf)), 0);
    LF_CHECK(conf != NULL);
    if (conf != NULL) {
        LF_CHECK_STR_EQ(lf_conf_name(conf), path);
        LF_CHECK_STR_EQ(scalar_at(conf, "b.c"), "two");
        lf_conf_free(conf);
    }
    unlink(path);
}

static void test_conf_load_file_errors(void)
{
    struct lf_conf *conf = NULL;
    char expected[ERRLEN];
    char path[] = "/tmp/lf_test_conf_XXXXXX";
    int fd;

    LF_CHECK_INT_EQ(lf_conf_load_file("/nonexistent/logferry.yml", &conf,
                                      errbuf, sizeof(errbuf)),
                    LF_ENOENT);
    LF_CHECK(conf == NULL);
    LF_CHECK_STR_EQ(errbuf, "/nonexistent/logferry.yml: cannot read the "
                            "configuration file: no such file or directory");

    LF_CHECK_INT_EQ(lf_conf_load_file("/tmp", &conf, errbuf, sizeof(errbuf)),
                    LF_EISDIR);
    LF_CHECK_STR_EQ(errbuf, "/tmp: cannot read the configuration file: is a "
                            "directory");

    fd = mkstemp(path);
    LF_CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    LF_CHECK_INT_EQ(write(fd, "a: [\n", 5), 5);
    close(fd);
    LF_CHECK_INT_EQ(lf_conf_load_file(path, &conf, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    snprintf(expected, sizeof(expected),
             "%s:2: invalid YAML: did not find expected node content at "
             "column 1, while parsing a flow node that starts on line 2",
             path);
    LF_CHECK_STR_EQ(errbuf, expected);

    /* The file is readable only by root; skip when the tests run as root. */
    if (geteuid() != 0) {
        LF_CHECK_INT_EQ(chmod(path, 0), 0);
        LF_CHECK_INT_EQ(lf_conf_load_file(path, &conf, errbuf, sizeof(errbuf)),
                        LF_EACCES);
    }
    unlink(path);
}

static void test_conf_load_file_too_large(void)
{
    char path[] = "/tmp/lf_test_conf_XXXXXX";
    char expected[ERRLEN];
    struct lf_conf *conf = NULL;
    int fd = mkstemp(path);

    LF_CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    LF_CHECK_INT_EQ(ftruncate(fd, 16 * 1024 * 1024 + 1), 0);
    close(fd);
    LF_CHECK_INT_EQ(lf_conf_load_file(path, &conf, errbuf, sizeof(errbuf)),
                    LF_ECONFIG);
    snprintf(expected, sizeof(expected),
             "%s: file is larger than 16 MiB, so it is not a configuration "
             "file",
             path);
    LF_CHECK_STR_EQ(errbuf, expected);
    unlink(path);
}

int main(void)
{
    LF_RUN(test_conf_scalars_are_strings);
    LF_RUN(test_conf_nulls_keep_their_line);
    LF_RUN(test_conf_missing_node);
    LF_RUN(test_conf_dotted_keys_equal_nested);
    LF_RUN(test_conf_dotted_keys_merge);
    LF_RUN(test_conf_duplicate_keys);
    LF_RUN(test_conf_invalid_keys);
    LF_RUN(test_conf_lists_of_maps_and_flow);
    LF_RUN(test_conf_block_scalars);
    LF_RUN(test_conf_entry_file_order);
    LF_RUN(test_conf_empty_document_is_empty_map);
    LF_RUN(test_conf_env_substitution);
    LF_RUN(test_conf_env_substitution_errors);
    LF_RUN(test_conf_file_substitution);
    LF_RUN(test_conf_file_substitution_errors);
    LF_RUN(test_conf_env_invalid_utf8);
    LF_RUN(test_conf_rejects_anchors_and_aliases);
    LF_RUN(test_conf_tags);
    LF_RUN(test_conf_rejects_second_document);
    LF_RUN(test_conf_syntax_errors);
    LF_RUN(test_conf_invalid_utf8_input);
    LF_RUN(test_conf_rejects_nul_in_value);
    LF_RUN(test_conf_nesting_limit);
    LF_RUN(test_conf_long_path_is_cut);
    LF_RUN(test_conf_get_str);
    LF_RUN(test_conf_get_int);
    LF_RUN(test_conf_get_bool);
    LF_RUN(test_conf_get_duration);
    LF_RUN(test_conf_get_bytes);
    LF_RUN(test_conf_check_keys_suggests);
    LF_RUN(test_conf_check_keys_accepts_known);
    LF_RUN(test_conf_check_keys_dotted_allowed);
    LF_RUN(test_conf_unknown_null_key_line);
    LF_RUN(test_conf_error_truncates_safely);
    LF_RUN(test_conf_brief_example);
    LF_RUN(test_conf_load_file);
    LF_RUN(test_conf_load_file_errors);
    LF_RUN(test_conf_load_file_too_large);
    return lf_test_end();
}
