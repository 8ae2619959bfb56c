/*
 * Conditions of `when:`. A condition compiles into a small tree: `and`,
 * `or` and `not` nodes over leaf checks of one field each. An operator
 * given several fields (`equals: {a: 1, b: 2}`) becomes an `and` of one
 * leaf per field, as in Filebeat.
 */
#include "agent/processors/condition.h"
#include "agent/processors/processor.h"
#include "lf/error.h"
#include "lf/mem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum cond_op {
    COND_EQUALS,
    COND_CONTAINS,
    COND_REGEXP,
    COND_RANGE,
    COND_HAS_FIELD,
    COND_AND,
    COND_OR,
    COND_NOT,
};

enum range_op {
    RANGE_GT,
    RANGE_GTE,
    RANGE_LT,
    RANGE_LTE,
};

struct lf_condition {
    enum cond_op op;
    char *field;           /* owned; the field a leaf checks */
    struct lf_value value; /* equals: expected value, strings borrowed */
    pcre2_code *re;        /* regexp */
    pcre2_match_data *match;
    enum range_op range_op;
    double bound;
    struct lf_condition **children; /* owned; and, or, not */
    size_t child_count;
};

static const char *const operator_names[] = {
    "equals", "contains", "regexp", "range", "has_fields", "and", "or", "not",
};

#define OPERATOR_LIST                                                          \
    "equals, contains, regexp, range, has_fields, and, or, not"

static const char *const range_names[] = {"gt", "gte", "lt", "lte"};

static struct lf_condition *add_child(struct lf_condition *parent,
                                      enum cond_op op)
{
    struct lf_condition *child = lf_calloc(1, sizeof(*child));

    child->op = op;
    parent->children =
        lf_realloc(parent->children,
                   (parent->child_count + 1) * sizeof(*parent->children));
    parent->children[parent->child_count++] = child;
    return child;
}

/* ---- leaf checks ---- */

static int add_equals(void *arg, const char *key,
                      const struct lf_conf_node *node, char *errbuf,
                      size_t errlen)
{
    struct lf_condition *leaf = add_child(arg, COND_EQUALS);

    (void)errbuf;
    (void)errlen;
    leaf->field = lf_strdup(key);
    lf_processor_scalar_value(node, &leaf->value);
    return 0;
}

static int add_contains(void *arg, const char *key,
                        const struct lf_conf_node *node, char *errbuf,
                        size_t errlen)
{
    struct lf_condition *leaf = add_child(arg, COND_CONTAINS);
    const char *text;
    int rc = lf_conf_scalar(node, &text, errbuf, errlen);

    leaf->field = lf_strdup(key);
    leaf->value.type = LF_VALUE_STRING;
    leaf->value.u.str.ptr = text;
    leaf->value.u.str.len = rc == 0 ? strlen(text) : 0;
    return rc;
}

static int add_regexp(void *arg, const char *key,
                      const struct lf_conf_node *node, char *errbuf,
                      size_t errlen)
{
    struct lf_condition *leaf = add_child(arg, COND_REGEXP);
    PCRE2_UCHAR message[256];
    PCRE2_SIZE offset;
    const char *pattern;
    int error;
    int rc = lf_conf_scalar(node, &pattern, errbuf, errlen);

    leaf->field = lf_strdup(key);
    if (rc != 0) {
        return rc;
    }
    leaf->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                             &error, &offset, NULL);
    if (leaf->re == NULL) {
        pcre2_get_error_message(error, message, sizeof(message));
        return lf_conf_error(node, errbuf, errlen,
                             "invalid regular expression '%s' at offset "
                             "%zu: %s; fix the pattern (PCRE2 syntax)",
                             pattern, (size_t)offset, (const char *)message);
    }
    /* Without JIT support pcre2_match() interprets the pattern instead. */
    pcre2_jit_compile(leaf->re, PCRE2_JIT_COMPLETE);
    leaf->match = pcre2_match_data_create_from_pattern(leaf->re, NULL);
    return 0;
}

/* Parses a finite decimal number that fills all of `text`. */
static bool parse_number(const char *text, double *out)
{
    char *end;

    if (text[0] == '\0') {
        return false;
    }
    errno = 0;
    *out = strtod(text, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

static int add_range(void *arg, const char *key,
                     const struct lf_conf_node *node, char *errbuf,
                     size_t errlen)
{
    const char *dot = strrchr(key, '.');
    const char *text;
    struct lf_condition *leaf;
    size_t op;
    int rc;

    for (op = 0; dot != NULL && op < LF_ARRAY_SIZE(range_names); op++) {
        if (strcmp(dot + 1, range_names[op]) == 0) {
            break;
        }
    }
    if (dot == NULL || dot == key || op == LF_ARRAY_SIZE(range_names)) {
        return lf_conf_error(node, errbuf, errlen,
                             "range of '%s' has no bound: write the field "
                             "followed by gt, gte, lt or lte, such as "
                             "`http.response.status_code.gte: 400`",
                             key);
    }
    rc = lf_conf_scalar(node, &text, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    leaf = add_child(arg, COND_RANGE);
    leaf->field = lf_strndup(key, (size_t)(dot - key));
    leaf->range_op = (enum range_op)op;
    if (!parse_number(text, &leaf->bound)) {
        return lf_conf_error(node, errbuf, errlen,
                             "expected a number for the range bound, got "
                             "'%s'",
                             text);
    }
    return 0;
}

static int add_has_fields(struct lf_condition *cond,
                          const struct lf_conf_node *spec, char *errbuf,
                          size_t errlen)
{
    const char **names = NULL;
    size_t count = 0;
    int rc;

    rc = lf_processor_get_str_list(spec, "has_fields", true, &names, &count,
                                   errbuf, errlen);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        add_child(cond, COND_HAS_FIELD)->field = lf_strdup(names[i]);
    }
    lf_free(names);
    return rc;
}

/* ---- operators ---- */

static int add_field_checks(struct lf_condition *cond, const char *name,
                            const struct lf_conf_node *node, char *errbuf,
                            size_t errlen)
{
    static int (*const adders[])(
        void *, const char *, const struct lf_conf_node *, char *, size_t) = {
        [COND_EQUALS] = add_equals,
        [COND_CONTAINS] = add_contains,
        [COND_REGEXP] = add_regexp,
        [COND_RANGE] = add_range,
    };
    static const char *const examples[] = {
        [COND_EQUALS] = "`equals: {log.level: error}`",
        [COND_CONTAINS] = "`contains: {message: timeout}`",
        [COND_REGEXP] = "`regexp: {url.path: '^/api/'}`",
        [COND_RANGE] = "`range: {http.response.status_code.gte: 500}`",
    };
    enum cond_op op = cond->op;

    cond->op = COND_AND;
    if (lf_conf_kind(node) != LF_CONF_MAP || lf_conf_size(node) == 0) {
        return lf_conf_error(node, errbuf, errlen,
                             "%s takes a map of fields to values, such as "
                             "%s",
                             name, examples[op]);
    }
    return lf_processor_walk_scalars(node, adders[op], cond, errbuf, errlen);
}

static int add_list(struct lf_condition *cond, const char *name,
                    const struct lf_conf_node *node, char *errbuf,
                    size_t errlen)
{
    struct lf_conf_node item;
    size_t count = lf_conf_size(node);
    int rc = 0;

    if (lf_conf_kind(node) != LF_CONF_LIST || count == 0) {
        return lf_conf_error(node, errbuf, errlen,
                             "%s takes a non-empty list of conditions, such "
                             "as `%s: [{equals: {log.level: error}}, "
                             "{contains: {message: timeout}}]`",
                             name, name);
    }
    cond->children = lf_calloc(count, sizeof(*cond->children));
    for (size_t i = 0; rc == 0 && i < count; i++) {
        lf_conf_at(node, i, &item);
        rc = lf_condition_new(&item, &cond->children[i], errbuf, errlen);
        /* Counted even on failure: a NULL child is skipped when freed. */
        cond->child_count++;
    }
    return rc;
}

static int build(struct lf_condition *cond, const struct lf_conf_node *spec,
                 const char *name, const struct lf_conf_node *node,
                 char *errbuf, size_t errlen)
{
    switch (cond->op) {
    case COND_EQUALS:
    case COND_CONTAINS:
    case COND_REGEXP:
    case COND_RANGE:
        return add_field_checks(cond, name, node, errbuf, errlen);
    case COND_HAS_FIELD:
        cond->op = COND_AND;
        return add_has_fields(cond, spec, errbuf, errlen);
    case COND_AND:
    case COND_OR:
        return add_list(cond, name, node, errbuf, errlen);
    case COND_NOT:
        cond->children = lf_calloc(1, sizeof(*cond->children));
        cond->child_count = 1;
        return lf_condition_new(node, &cond->children[0], errbuf, errlen);
    }
    return LF_EINVAL;
}

int lf_condition_new(const struct lf_conf_node *node, struct lf_condition **out,
                     char *errbuf, size_t errlen)
{
    struct lf_condition *cond = NULL;
    struct lf_conf_node value;
    const char *name;
    size_t op;
    int rc;

    *out = NULL;
    if (lf_conf_kind(node) != LF_CONF_MAP || lf_conf_size(node) != 1) {
        return lf_conf_error(node, errbuf, errlen,
                             "a condition is a map with one operator (%s), "
                             "such as `equals: {log.level: error}`; "
                             "combine several with `and: [...]`",
                             OPERATOR_LIST);
    }
    lf_conf_entry(node, 0, &name, &value);
    for (op = 0; op < LF_ARRAY_SIZE(operator_names); op++) {
        if (strcmp(name, operator_names[op]) == 0) {
            break;
        }
    }
    if (op == LF_ARRAY_SIZE(operator_names)) {
        return lf_conf_error(node, errbuf, errlen,
                             "unknown condition '%s': expected one of %s", name,
                             OPERATOR_LIST);
    }
    cond = lf_calloc(1, sizeof(*cond));
    cond->op = (enum cond_op)op;
    rc = build(cond, node, name, &value, errbuf, errlen);
    if (rc != 0) {
        lf_condition_free(cond);
        return rc;
    }
    *out = cond;
    return 0;
}

struct lf_condition *lf_condition_negate(struct lf_condition *inner)
{
    struct lf_condition *cond = lf_calloc(1, sizeof(*cond));

    cond->op = COND_NOT;
    cond->children = lf_calloc(1, sizeof(*cond->children));
    cond->children[0] = inner;
    cond->child_count = 1;
    return cond;
}

void lf_condition_free(struct lf_condition *cond)
{
    if (cond == NULL) {
        return;
    }
    for (size_t i = 0; i < cond->child_count; i++) {
        lf_condition_free(cond->children[i]);
    }
    lf_free(cond->children);
    lf_free(cond->field);
    pcre2_match_data_free(cond->match);
    pcre2_code_free(cond->re);
    lf_free(cond);
}

/* ---- evaluation ---- */

static bool as_number(const struct lf_value *v, double *out)
{
    if (v->type == LF_VALUE_INT) {
        *out = (double)v->u.i;
        return true;
    }
    if (v->type == LF_VALUE_FLOAT) {
        *out = v->u.f;
        return true;
    }
    return false;
}

static bool values_equal(const struct lf_value *expected,
                         const struct lf_value *v)
{
    double x;

    switch (expected->type) {
    case LF_VALUE_STRING:
        return v->type == LF_VALUE_STRING &&
               v->u.str.len == expected->u.str.len &&
               memcmp(v->u.str.ptr, expected->u.str.ptr, v->u.str.len) == 0;
    case LF_VALUE_INT:
        if (v->type == LF_VALUE_INT) {
            return v->u.i == expected->u.i;
        }
        return v->type == LF_VALUE_FLOAT && v->u.f == (double)expected->u.i;
    case LF_VALUE_FLOAT:
        return as_number(v, &x) && x == expected->u.f;
    case LF_VALUE_BOOL:
        return v->type == LF_VALUE_BOOL && v->u.b == expected->u.b;
    case LF_VALUE_TIMESTAMP:
    case LF_VALUE_JSON:
        /* A configured value is never a timestamp or a JSON value. */
        break;
    }
    return false;
}

static bool in_range(const struct lf_condition *leaf, const struct lf_value *v)
{
    double x;

    if (!as_number(v, &x)) {
        return false;
    }
    switch (leaf->range_op) {
    case RANGE_GT:
        return x > leaf->bound;
    case RANGE_GTE:
        return x >= leaf->bound;
    case RANGE_LT:
        return x < leaf->bound;
    case RANGE_LTE:
        return x <= leaf->bound;
    }
    return false;
}

/* A field holding an object in the document: keys under "name.". */
static bool has_children(const struct lf_event *ev, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < ev->field_count; i++) {
        const char *key = ev->fields[i].key;

        if (ev->key_lens[i] > len && key[len] == '.' &&
            memcmp(key, name, len) == 0) {
            return true;
        }
    }
    return false;
}

static bool eval_leaf(struct lf_condition *leaf, const struct lf_event *ev)
{
    struct lf_value tmp;
    const struct lf_value *v = lf_processor_get(ev, leaf->field, &tmp);

    if (v == NULL) {
        return leaf->op == COND_HAS_FIELD && has_children(ev, leaf->field);
    }
    switch (leaf->op) {
    case COND_EQUALS:
        return values_equal(&leaf->value, v);
    case COND_CONTAINS:
        return v->type == LF_VALUE_STRING && v->u.str.ptr != NULL &&
               memmem(v->u.str.ptr, v->u.str.len, leaf->value.u.str.ptr,
                      leaf->value.u.str.len) != NULL;
    case COND_REGEXP:
        return v->type == LF_VALUE_STRING && v->u.str.ptr != NULL &&
               pcre2_match(leaf->re, (PCRE2_SPTR)v->u.str.ptr, v->u.str.len, 0,
                           0, leaf->match, NULL) >= 0;
    case COND_RANGE:
        return in_range(leaf, v);
    case COND_HAS_FIELD:
        return true;
    default:
        return false;
    }
}

bool lf_condition_eval(struct lf_condition *cond, const struct lf_event *ev)
{
    switch (cond->op) {
    case COND_AND:
        for (size_t i = 0; i < cond->child_count; i++) {
            if (!lf_condition_eval(cond->children[i], ev)) {
                return false;
            }
        }
        return true;
    case COND_OR:
        for (size_t i = 0; i < cond->child_count; i++) {
            if (lf_condition_eval(cond->children[i], ev)) {
                return true;
            }
        }
        return false;
    case COND_NOT:
        return !lf_condition_eval(cond->children[0], ev);
    default:
        return eval_leaf(cond, ev);
    }
}
