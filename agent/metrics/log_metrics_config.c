/*
 * Compiles the `metrics:` list of the configuration into rules. Names
 * follow the Prometheus data model: metric names match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and may
 * not start with "__".
 */
#include "agent/metrics/log_metrics.h"
#include "agent/metrics/log_metrics_rule.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = {
    "type",   "name", "help",    "labels",     "when",
    "inputs", "field", "unit",   "buckets",    "max_series",
};

static const char *const label_keys[] = {"field", "status_class"};

/* DefBuckets of prometheus/client_golang (histogram.go), in seconds. */
static const double default_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct time_unit {
    const char *name;
    double per_second;
};

static const struct time_unit time_units[] = {
    {"s", 1}, {"ms", 1e3}, {"us", 1e6}, {"ns", 1e9},
};

/* Prefixes of the agent's own series, which rules may not use. */
static const char *const reserved_prefixes[] = {"logferry_", "process_"};

static bool is_name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        return true;
    }
    if (colon && c == ':') {
        return true;
    }
    return !first && c >= '0' && c <= '9';
}

static bool is_valid_name(const char *name, bool colon)
{
    if (name[0] == '\0') {
        return false;
    }
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (!is_name_char(name[i], i == 0, colon)) {
            return false;
        }
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t len = strlen(s);
    size_t suffix_len = strlen(suffix);

    return len >= suffix_len && strcmp(s + len - suffix_len, suffix) == 0;
}

/* ---- name and type ---- */

static int parse_type(const struct lf_conf_node *rule_node,
                      struct lf_log_metric_rule *rule, char *errbuf,
                      size_t errlen)
{
    struct lf_conf_node node;
    const char *type = NULL;
    int rc;

    rc = lf_conf_get_str(rule_node, "type", NULL, &type, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (type == NULL) {
        return lf_conf_error(rule_node, errbuf, errlen,
                             "missing 'type': write `type: counter` or "
                             "`type: histogram`");
    }
    if (strcmp(type, "counter") == 0) {
        rule->type = LF_LOG_METRIC_COUNTER;
    } else if (strcmp(type, "histogram") == 0) {
        rule->type = LF_LOG_METRIC_HISTOGRAM;
    } else {
        lf_conf_child(rule_node, "type", &node);
        return lf_conf_error(&node, errbuf, errlen,
                             "invalid value \"%s\": expected counter or "
                             "histogram", type);
    }
    return 0;
}

static int check_name(const struct lf_conf_node *node,
                      const struct lf_log_metric_rule *rule, const char *name,
                      char *errbuf, size_t errlen)
{
    static const char *const histogram_suffixes[] = {"_bucket", "_sum",
                                                     "_count"};

    if (!is_valid_name(name, true)) {
        return lf_conf_error(node, errbuf, errlen,
                             "invalid metric name \"%s\": use letters, "
                             "digits, '_' and ':', not starting with a "
                             "digit, such as app_requests", name);
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(reserved_prefixes); i++) {
        if (strncmp(name, reserved_prefixes[i],
                    strlen(reserved_prefixes[i])) == 0) {
            return lf_conf_error(node, errbuf, errlen,
                                 "invalid metric name \"%s\": names "
                                 "starting with %s are the agent's own; "
                                 "choose another prefix, such as app_",
                                 name, reserved_prefixes[i]);
        }
    }
    if (rule->type == LF_LOG_METRIC_COUNTER && ends_with(name, "_total")) {
        return lf_conf_error(node, errbuf, errlen,
                             "invalid counter name \"%s\": the agent "
                             "appends _total, so write the name without it",
                             name);
    }
    for (size_t i = 0; rule->type == LF_LOG_METRIC_HISTOGRAM &&
                       i < LF_ARRAY_SIZE(histogram_suffixes);
         i++) {
        if (ends_with(name, histogram_suffixes[i])) {
            return lf_conf_error(node, errbuf, errlen,
                                 "invalid histogram name \"%s\": the "
                                 "agent appends _bucket, _sum and _count, "
                                 "so write the name without %s",
                                 name, histogram_suffixes[i]);
        }
    }
    return 0;
}

static int parse_name(const struct lf_conf_node *rule_node,
                      struct lf_log_metric_rule *rule, char *errbuf,
                      size_t errlen)
{
    struct lf_conf_node node;
    const char *name = NULL;
    int rc;

    rc = lf_conf_get_str(rule_node, "name", NULL, &name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (name == NULL) {
        return lf_conf_error(rule_node, errbuf, errlen,
                             "missing 'name': give each rule a metric "
                             "name, such as `name: app_requests`");
    }
    lf_conf_child(rule_node, "name", &node);
    rc = check_name(&node, rule, name, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    if (rule->type == LF_LOG_METRIC_COUNTER) {
        size_t len = strlen(name) + sizeof("_total");

        rule->family = lf_malloc(len);
        snprintf(rule->family, len, "%s_total", name);
    } else {
        rule->family = lf_strdup(name);
    }
    return lf_conf_get_str(rule_node, "help", "Counted from log events.",
                           &rule->help, errbuf, errlen);
}

/* Rejects a family name that an earlier rule already exposes. */
static int check_unique_family(const struct lf_conf_node *rule_node,
                               const struct lf_log_metrics *metrics,
                               size_t index, char *errbuf, size_t errlen)
{
    const char *family = metrics->rules[index].family;
    struct lf_conf_node node;

    for (size_t i = 0; i < index; i++) {
        if (strcmp(metrics->rules[i].family, family) == 0) {
            lf_conf_child(rule_node, "name", &node);
            return lf_conf_error(&node, errbuf, errlen,
                                 "metric %s is already defined by "
                                 "metrics[%zu]; give each rule its own "
                                 "name", family, i);
        }
    }
    return 0;
}

/* ---- labels ---- */

static int parse_label(const char *name, const struct lf_conf_node *node,
                       struct lf_log_metric_label *label, char *errbuf,
                       size_t errlen)
{
    int rc;

    if (!is_valid_name(name, false) || strncmp(name, "__", 2) == 0 ||
        strcmp(name, "le") == 0) {
        return lf_conf_error(node, errbuf, errlen,
                             "invalid label name \"%s\": use letters, "
                             "digits and '_', not starting with a digit "
                             "or \"__\", and not \"le\"", name);
    }
    label->name = name;
    if (lf_conf_kind(node) == LF_CONF_SCALAR) {
        return lf_conf_scalar(node, &label->field, errbuf, errlen);
    }
    if (lf_conf_kind(node) != LF_CONF_MAP) {
        return lf_conf_error(node, errbuf, errlen,
                             "expected an event field such as "
                             "http.route, or a map such as {field: "
                             "http.response.status_code, status_class: "
                             "true}");
    }
    rc = lf_conf_check_keys(node, label_keys, LF_ARRAY_SIZE(label_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = lf_conf_get_str(node, "field", NULL, &label->field, errbuf,
                             errlen);
    }
    if (rc == 0 && label->field == NULL) {
        return lf_conf_error(node, errbuf, errlen,
                             "missing 'field': name the event field that "
                             "gives the label's value");
    }
    if (rc == 0) {
        rc = lf_conf_get_bool(node, "status_class", false,
                              &label->status_class, errbuf, errlen);
    }
    return rc;
}

static int parse_labels(const struct lf_conf_node *rule_node,
                        struct lf_log_metric_rule *rule, char *errbuf,
                        size_t errlen)
{
    struct lf_conf_node labels;
    struct lf_conf_node node;
    const char *name;
    size_t count;
    int rc;

    lf_conf_child(rule_node, "labels", &labels);
    if (lf_conf_kind(&labels) == LF_CONF_MISSING ||
        lf_conf_kind(&labels) == LF_CONF_NULL) {
        return 0;
    }
    if (lf_conf_kind(&labels) != LF_CONF_MAP) {
        return lf_conf_error(&labels, errbuf, errlen,
                             "expected a map of label name to event "
                             "field, such as {route: http.route}");
    }
    count = lf_conf_size(&labels);
    if (count > LF_LOG_METRICS_MAX_LABELS) {
        return lf_conf_error(&labels, errbuf, errlen,
                             "%zu labels given, at most %d are allowed",
                             count, LF_LOG_METRICS_MAX_LABELS);
    }
    for (size_t i = 0; i < count; i++) {
        lf_conf_entry(&labels, i, &name, &node);
        rc = parse_label(name, &node, &rule->labels[i], errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    rule->label_count = count;
    return 0;
}

/* ---- when and inputs ---- */

static int parse_when(const struct lf_conf_node *rule_node,
                      struct lf_log_metric_rule *rule, char *errbuf,
                      size_t errlen)
{
    struct lf_conf_node when;

    lf_conf_child(rule_node, "when", &when);
    if (lf_conf_kind(&when) == LF_CONF_MISSING ||
        lf_conf_kind(&when) == LF_CONF_NULL) {
        return 0;
    }
    return lf_condition_new(&when, &rule->when, errbuf, errlen);
}

static bool is_input_id(const char *id, const char *const *input_ids,
                        size_t input_count)
{
    for (size_t i = 0; i < input_count; i++) {
        if (strcmp(id, input_ids[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int parse_inputs(const struct lf_conf_node *rule_node,
                        struct lf_log_metric_rule *rule,
                        const char *const *input_ids, size_t input_count,
                        char *errbuf, size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node node;
    size_t count;
    int rc;

    lf_conf_child(rule_node, "inputs", &list);
    if (lf_conf_kind(&list) == LF_CONF_MISSING ||
        lf_conf_kind(&list) == LF_CONF_NULL) {
        return 0;
    }
    count = lf_conf_size(&list);
    if (lf_conf_kind(&list) != LF_CONF_LIST || count == 0) {
        return lf_conf_error(&list, errbuf, errlen,
                             "expected a non-empty list of input ids, "
                             "such as [app]");
    }
    rule->inputs = lf_calloc(count, sizeof(*rule->inputs));
    for (size_t i = 0; i < count; i++) {
        lf_conf_at(&list, i, &node);
        rc = lf_conf_scalar(&node, &rule->inputs[i], errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
        if (!is_input_id(rule->inputs[i], input_ids, input_count)) {
            return lf_conf_error(&node, errbuf, errlen,
                                 "no input has the id \"%s\"; use the id: "
                                 "of an entry of inputs", rule->inputs[i]);
        }
        rule->input_count = i + 1;
    }
    return 0;
}

/* ---- histogram options ---- */

/* Rejects `key` on a counter, which only histograms take. */
static int reject_histogram_key(const struct lf_conf_node *rule_node,
                                const char *key, char *errbuf, size_t errlen)
{
    struct lf_conf_node node;

    if (lf_conf_child(rule_node, key, &node) != 0) {
        return 0;
    }
    return lf_conf_error(&node, errbuf, errlen,
                         "only histograms take '%s'; remove it or write "
                         "`type: histogram`", key);
}

static int parse_unit(const struct lf_conf_node *rule_node,
                      struct lf_log_metric_rule *rule, char *errbuf,
                      size_t errlen)
{
    struct lf_conf_node node;
    const char *unit = NULL;
    int rc;

    rule->divisor = 1;
    rc = lf_conf_get_str(rule_node, "unit", NULL, &unit, errbuf, errlen);
    if (rc != 0 || unit == NULL) {
        return rc;
    }
    for (size_t i = 0; i < LF_ARRAY_SIZE(time_units); i++) {
        if (strcmp(unit, time_units[i].name) == 0) {
            rule->divisor = time_units[i].per_second;
            return 0;
        }
    }
    lf_conf_child(rule_node, "unit", &node);
    return lf_conf_error(&node, errbuf, errlen,
                         "invalid unit \"%s\": expected s, ms, us or ns, "
                         "the unit of the field's values; the series is "
                         "in seconds", unit);
}

static int parse_bound(const struct lf_conf_node *node, double previous,
                       bool first, double *out, char *errbuf, size_t errlen)
{
    const char *text = NULL;
    char *end = NULL;
    int rc;

    rc = lf_conf_scalar(node, &text, errbuf, errlen);
    if (rc != 0) {
        return rc;
    }
    *out = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(*out)) {
        return lf_conf_error(node, errbuf, errlen,
                             "invalid bucket bound \"%s\": expected a "
                             "finite number such as 0.25", text);
    }
    if (!first && *out <= previous) {
        return lf_conf_error(node, errbuf, errlen,
                             "bucket bound %s is not above the one before "
                             "it; list the bounds in increasing order",
                             text);
    }
    return 0;
}

static int parse_buckets(const struct lf_conf_node *rule_node,
                         struct lf_log_metric_rule *rule, char *errbuf,
                         size_t errlen)
{
    struct lf_conf_node list;
    struct lf_conf_node node;
    size_t count;
    int rc;

    lf_conf_child(rule_node, "buckets", &list);
    if (lf_conf_kind(&list) == LF_CONF_MISSING ||
        lf_conf_kind(&list) == LF_CONF_NULL) {
        memcpy(rule->bounds, default_bounds, sizeof(default_bounds));
        rule->bound_count = LF_ARRAY_SIZE(default_bounds);
        return 0;
    }
    count = lf_conf_size(&list);
    if (lf_conf_kind(&list) != LF_CONF_LIST || count == 0 ||
        count > LF_LOG_METRICS_MAX_BUCKETS) {
        return lf_conf_error(&list, errbuf, errlen,
                             "expected a list of 1 to %d increasing bucket "
                             "bounds, such as [0.1, 0.5, 1, 2]",
                             LF_LOG_METRICS_MAX_BUCKETS);
    }
    for (size_t i = 0; i < count; i++) {
        lf_conf_at(&list, i, &node);
        rc = parse_bound(&node, i > 0 ? rule->bounds[i - 1] : 0, i == 0,
                         &rule->bounds[i], errbuf, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    rule->bound_count = count;
    return 0;
}

static int parse_histogram(const struct lf_conf_node *rule_node,
                           struct lf_log_metric_rule *rule, char *errbuf,
                           size_t errlen)
{
    static const char *const keys[] = {"field", "unit", "buckets"};
    int rc = 0;

    if (rule->type == LF_LOG_METRIC_COUNTER) {
        for (size_t i = 0; rc == 0 && i < LF_ARRAY_SIZE(keys); i++) {
            rc = reject_histogram_key(rule_node, keys[i], errbuf, errlen);
        }
        return rc;
    }
    rc = lf_conf_get_str(rule_node, "field", NULL, &rule->field, errbuf,
                         errlen);
    if (rc == 0 && rule->field == NULL) {
        return lf_conf_error(rule_node, errbuf, errlen,
                             "missing 'field': a histogram observes a "
                             "numeric event field, such as `field: "
                             "event.duration`");
    }
    if (rc == 0) {
        rc = parse_unit(rule_node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_buckets(rule_node, rule, errbuf, errlen);
    }
    return rc;
}

/* ---- rules ---- */

static int parse_rule(const struct lf_conf_node *rule_node,
                      struct lf_log_metric_rule *rule,
                      const char *const *input_ids, size_t input_count,
                      char *errbuf, size_t errlen)
{
    long long max_series = LF_LOG_METRICS_DEFAULT_MAX_SERIES;
    int rc;

    if (lf_conf_kind(rule_node) != LF_CONF_MAP) {
        return lf_conf_error(rule_node, errbuf, errlen,
                             "expected a map with type, name and labels");
    }
    rc = lf_conf_check_keys(rule_node, rule_keys, LF_ARRAY_SIZE(rule_keys),
                            errbuf, errlen);
    if (rc == 0) {
        rc = parse_type(rule_node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_name(rule_node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_labels(rule_node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_when(rule_node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = parse_inputs(rule_node, rule, input_ids, input_count, errbuf,
                          errlen);
    }
    if (rc == 0) {
        rc = parse_histogram(rule_node, rule, errbuf, errlen);
    }
    if (rc == 0) {
        rc = lf_conf_get_int(rule_node, "max_series",
                             LF_LOG_METRICS_DEFAULT_MAX_SERIES, 1,
                             LF_LOG_METRICS_MAX_SERIES_LIMIT, &max_series,
                             errbuf, errlen);
    }
    rule->max_series = (size_t)max_series;
    return rc;
}

int lf_log_metrics_new(const struct lf_conf_node *list,
                       const char *const *input_ids, size_t input_count,
                       struct lf_log_metrics **out, char *errbuf,
                       size_t errlen)
{
    struct lf_log_metrics *metrics;
    struct lf_conf_node node;
    size_t count;
    int rc = 0;

    *out = NULL;
    if (lf_conf_kind(list) == LF_CONF_MISSING ||
        lf_conf_kind(list) == LF_CONF_NULL) {
        return 0;
    }
    count = lf_conf_size(list);
    if (lf_conf_kind(list) != LF_CONF_LIST) {
        return lf_conf_error(list, errbuf, errlen,
                             "expected a list of rules, each a map such "
                             "as {type: counter, name: app_requests}");
    }
    if (count == 0) {
        return 0;
    }

    metrics = lf_calloc(1, sizeof(*metrics));
    metrics->rules = lf_calloc(count, sizeof(*metrics->rules));
    lf_buf_init(&metrics->key);
    /* Allocated now, so a rule without labels has a key to compare too. */
    lf_buf_reserve(&metrics->key, 256);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        lf_conf_at(list, i, &node);
        metrics->rule_count = i + 1;
        rc = parse_rule(&node, &metrics->rules[i], input_ids, input_count,
                        errbuf, errlen);
        if (rc == 0) {
            rc = check_unique_family(&node, metrics, i, errbuf, errlen);
        }
    }
    if (rc != 0) {
        lf_log_metrics_free(metrics);
        return rc;
    }
    *out = metrics;
    return 0;
}

void lf_log_metrics_free(struct lf_log_metrics *metrics)
{
    if (metrics == NULL) {
        return;
    }
    for (size_t i = 0; i < metrics->rule_count; i++) {
        struct lf_log_metric_rule *rule = &metrics->rules[i];

        lf_log_metric_rule_clear(rule);
        lf_condition_free(rule->when);
        lf_free(rule->inputs);
        lf_free(rule->family);
    }
    lf_free(metrics->rules);
    lf_buf_cleanup(&metrics->key);
    lf_free(metrics);
}
