/*
 * Evaluation of the `metrics:` rules on each shipped event, on the loop.
 * A rule's series sit in an open-addressing hash table keyed by the tuple
 * of label values. An event of a known series costs a hash and one
 * comparison, and allocates nothing once the key buffer has grown to fit
 * the longest label values seen.
 */
#include "agent/metrics/log_metrics.h"
#include "agent/metrics/log_metrics_rule.h"
#include "agent/metrics/prom.h"
#include "lf/mem.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum length of a numeric string in an observed field, plus its NUL. */
#define NUMBER_TEXT_MAX 64

/* ---- label values ---- */

/* Formats a double with the fewest digits that read back the same. */
static void append_double_text(struct lf_buf *key, double value)
{
    char text[32];

    snprintf(text, sizeof(text), "%.15g", value);
    if (strtod(text, NULL) != value) {
        snprintf(text, sizeof(text), "%.17g", value);
    }
    lf_buf_append_str(key, text);
}

/*
 * Returns how much of `s` fits in `max` bytes without splitting a UTF-8
 * sequence: the cut moves back over continuation bytes.
 */
static size_t utf8_prefix_len(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80) {
        max--;
    }
    return max;
}

/*
 * Appends the text of `value`. A string stops at its first NUL byte,
 * because the series key uses NUL to end each value, and at
 * LF_LOG_METRICS_LABEL_VALUE_MAX bytes.
 */
static void append_value_text(struct lf_buf *key, const struct lf_value *value)
{
    switch (value->type) {
    case LF_VALUE_STRING:
    case LF_VALUE_JSON: {
        const char *nul = memchr(value->u.str.ptr, '\0', value->u.str.len);
        size_t len = nul != NULL ? (size_t)(nul - value->u.str.ptr)
                                 : value->u.str.len;

        len = utf8_prefix_len(value->u.str.ptr, len,
                              LF_LOG_METRICS_LABEL_VALUE_MAX);
        lf_buf_append(key, value->u.str.ptr, len);
        break;
    }
    case LF_VALUE_INT:
        lf_buf_appendf(key, "%" PRId64, value->u.i);
        break;
    case LF_VALUE_FLOAT:
        append_double_text(key, value->u.f);
        break;
    case LF_VALUE_BOOL:
        lf_buf_append_str(key, value->u.b ? "true" : "false");
        break;
    case LF_VALUE_TIMESTAMP:
        lf_buf_appendf(key, "%" PRId64, value->u.ts_ns);
        break;
    }
}

/*
 * Returns the class digit (1 to 5) of an HTTP status code given as an
 * integer, an integral float or a three-digit string; 0 for anything
 * else.
 */
static int status_class_digit(const struct lf_value *value)
{
    int64_t code = 0;

    switch (value->type) {
    case LF_VALUE_INT:
        code = value->u.i;
        break;
    case LF_VALUE_FLOAT:
        if (value->u.f == floor(value->u.f) && fabs(value->u.f) < 1000) {
            code = (int64_t)value->u.f;
        }
        break;
    case LF_VALUE_STRING:
        if (value->u.str.len == 3) {
            const char *s = value->u.str.ptr;

            for (size_t i = 0; i < 3; i++) {
                if (s[i] < '0' || s[i] > '9') {
                    return 0;
                }
                code = code * 10 + (s[i] - '0');
            }
        }
        break;
    default:
        break;
    }
    if (code < 100 || code > 599) {
        return 0;
    }
    return (int)(code / 100);
}

/*
 * Appends the label values of `ev` to `key`, each ended by a NUL. A
 * missing field, and a status_class label whose field contains no status
 * code from 100 to 599, give the empty value.
 */
static void build_key(struct lf_buf *key,
                      const struct lf_log_metric_rule *rule,
                      const struct lf_event *ev)
{
    lf_buf_reset(key);
    for (size_t i = 0; i < rule->label_count; i++) {
        const struct lf_log_metric_label *label = &rule->labels[i];
        const struct lf_value *value = lf_event_get(ev, label->field);

        if (value != NULL && label->status_class) {
            int digit = status_class_digit(value);

            if (digit != 0) {
                char text[3] = {(char)('0' + digit), 'x', 'x'};

                lf_buf_append(key, text, sizeof(text));
            }
        } else if (value != NULL) {
            append_value_text(key, value);
        }
        lf_buf_append(key, "", 1);
    }
}

/* ---- series table ---- */

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t hash = 14695981039346656037ULL;

    for (size_t i = 0; i < len; i++) {
        hash ^= (unsigned char)key[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

static void table_insert(struct lf_log_metric_series **table, size_t cap,
                         struct lf_log_metric_series *series)
{
    size_t i = (size_t)series->hash & (cap - 1);

    while (table[i] != NULL) {
        i = (i + 1) & (cap - 1);
    }
    table[i] = series;
}

/* Keeps the table at most half full, so probes stay short. */
static void grow_table(struct lf_log_metric_rule *rule)
{
    size_t cap = rule->table_cap == 0 ? 16 : rule->table_cap * 2;
    struct lf_log_metric_series **table = lf_calloc(cap, sizeof(*table));

    for (size_t i = 0; i < rule->series_count; i++) {
        table_insert(table, cap, rule->series[i]);
    }
    lf_free(rule->table);
    rule->table = table;
    rule->table_cap = cap;
}

static struct lf_log_metric_series *
find_series(const struct lf_log_metric_rule *rule, uint64_t hash,
            const char *key, size_t key_len)
{
    size_t i;

    if (rule->table_cap == 0) {
        return NULL;
    }
    for (i = (size_t)hash & (rule->table_cap - 1); rule->table[i] != NULL;
         i = (i + 1) & (rule->table_cap - 1)) {
        const struct lf_log_metric_series *s = rule->table[i];

        if (s->hash == hash && s->key_len == key_len &&
            memcmp(s->key, key, key_len) == 0) {
            return rule->table[i];
        }
    }
    return NULL;
}

static struct lf_log_metric_series *
add_series(struct lf_log_metric_rule *rule, uint64_t hash, const char *key,
           size_t key_len)
{
    struct lf_log_metric_series *s = lf_calloc(1, sizeof(*s));
    const char *value = NULL;

    s->hash = hash;
    s->key = lf_malloc(key_len + 1);
    memcpy(s->key, key, key_len);
    s->key_len = key_len;
    value = s->key;
    for (size_t i = 0; i < rule->label_count; i++) {
        s->values[i] = value;
        value += strlen(value) + 1;
    }
    if (rule->type == LF_LOG_METRIC_HISTOGRAM) {
        s->counts = lf_calloc(rule->bound_count + 1, sizeof(*s->counts));
    }

    if (rule->series_count == rule->series_cap) {
        rule->series_cap = rule->series_cap == 0 ? 16 : rule->series_cap * 2;
        rule->series = lf_realloc(rule->series,
                                  rule->series_cap * sizeof(*rule->series));
    }
    rule->series[rule->series_count++] = s;
    if (rule->series_count * 2 > rule->table_cap) {
        grow_table(rule);
    } else {
        table_insert(rule->table, rule->table_cap, s);
    }
    return s;
}

/*
 * Returns the series of the label values in `key`, created when the rule
 * has fewer than max_series; NULL when the cap stops it.
 */
static struct lf_log_metric_series *
lookup_series(struct lf_log_metric_rule *rule, const struct lf_buf *key)
{
    uint64_t hash = hash_key(key->data, key->len);
    struct lf_log_metric_series *s;

    s = find_series(rule, hash, key->data, key->len);
    if (s != NULL) {
        return s;
    }
    if (rule->series_count >= rule->max_series) {
        return NULL;
    }
    return add_series(rule, hash, key->data, key->len);
}

void lf_log_metric_rule_clear(struct lf_log_metric_rule *rule)
{
    for (size_t i = 0; i < rule->series_count; i++) {
        lf_free(rule->series[i]->key);
        lf_free(rule->series[i]->counts);
        lf_free(rule->series[i]);
    }
    lf_free(rule->series);
    lf_free(rule->table);
    rule->series = NULL;
    rule->table = NULL;
    rule->series_count = 0;
    rule->series_cap = 0;
    rule->table_cap = 0;
}

/* ---- evaluation ---- */

static bool takes_input(const struct lf_log_metric_rule *rule,
                        const char *input_id)
{
    if (rule->inputs == NULL) {
        return true;
    }
    for (size_t i = 0; i < rule->input_count; i++) {
        if (strcmp(rule->inputs[i], input_id) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Reads the observed value of a histogram rule in its exposed unit.
 * Counts the event and returns false when the field is missing or is no
 * finite number.
 */
static bool read_observation(struct lf_log_metric_rule *rule,
                             const struct lf_event *ev, double *out)
{
    const struct lf_value *value = lf_event_get(ev, rule->field);
    char text[NUMBER_TEXT_MAX];
    char *end = NULL;
    double number;

    if (value == NULL) {
        rule->field_missing++;
        return false;
    }
    if (value->type == LF_VALUE_INT) {
        number = (double)value->u.i;
    } else if (value->type == LF_VALUE_FLOAT) {
        number = value->u.f;
    } else if (value->type == LF_VALUE_STRING && value->u.str.len > 0 &&
               value->u.str.len < sizeof(text)) {
        memcpy(text, value->u.str.ptr, value->u.str.len);
        text[value->u.str.len] = '\0';
        number = strtod(text, &end);
        if (*end != '\0') {
            number = NAN;
        }
    } else {
        number = NAN;
    }
    if (!isfinite(number)) {
        rule->field_invalid++;
        return false;
    }
    *out = number / rule->divisor;
    return true;
}

static void observe(struct lf_log_metric_series *s,
                    const struct lf_log_metric_rule *rule, double value)
{
    size_t bucket = 0;

    while (bucket < rule->bound_count && value > rule->bounds[bucket]) {
        bucket++;
    }
    s->counts[bucket]++;
    s->count++;
    s->sum += value;
}

static void apply_rule(struct lf_log_metric_rule *rule, struct lf_buf *key,
                       const struct lf_event *ev, const char *input_id)
{
    struct lf_log_metric_series *s;
    double value = 0;

    if (!takes_input(rule, input_id)) {
        return;
    }
    if (rule->when != NULL && !lf_condition_eval(rule->when, ev)) {
        return;
    }
    if (rule->type == LF_LOG_METRIC_HISTOGRAM &&
        !read_observation(rule, ev, &value)) {
        return;
    }

    build_key(key, rule, ev);
    s = lookup_series(rule, key);
    if (s == NULL) {
        rule->series_dropped++;
        return;
    }
    if (rule->type == LF_LOG_METRIC_HISTOGRAM) {
        observe(s, rule, value);
    } else {
        s->count++;
    }
}

void lf_log_metrics_observe(struct lf_log_metrics *metrics,
                            const struct lf_event *ev, const char *input_id)
{
    if (metrics == NULL) {
        return;
    }
    for (size_t i = 0; i < metrics->rule_count; i++) {
        apply_rule(&metrics->rules[i], &metrics->key, ev, input_id);
    }
}

/* ---- exposition ---- */

static void write_rule(struct lf_buf *out,
                       const struct lf_log_metric_rule *rule)
{
    struct lf_prom_label labels[LF_LOG_METRICS_MAX_LABELS];

    lf_prom_family(out, rule->family,
                   rule->type == LF_LOG_METRIC_COUNTER ? "counter"
                                                       : "histogram",
                   rule->help);
    for (size_t i = 0; i < rule->series_count; i++) {
        const struct lf_log_metric_series *s = rule->series[i];

        for (size_t j = 0; j < rule->label_count; j++) {
            labels[j].name = rule->labels[j].name;
            labels[j].value = s->values[j];
        }
        if (rule->type == LF_LOG_METRIC_COUNTER) {
            lf_prom_sample_u64(out, rule->family, labels, rule->label_count,
                               s->count);
        } else {
            lf_prom_histogram(out, rule->family, labels, rule->label_count,
                              rule->bounds, s->counts, rule->bound_count,
                              s->sum);
        }
    }
}

static void write_skipped(struct lf_buf *out,
                          const struct lf_log_metrics *metrics)
{
    static const char *const name = "logferry_metrics_events_skipped_total";
    struct lf_prom_label labels[2] = {{"metric", NULL}, {"reason", NULL}};

    lf_prom_family(out, name, "counter",
                   "Events a histogram rule matched but could not observe: "
                   "field_missing, or field_invalid when the field holds no "
                   "finite number.");
    for (size_t i = 0; i < metrics->rule_count; i++) {
        const struct lf_log_metric_rule *rule = &metrics->rules[i];

        if (rule->type != LF_LOG_METRIC_HISTOGRAM) {
            continue;
        }
        labels[0].value = rule->family;
        labels[1].value = "field_missing";
        lf_prom_sample_u64(out, name, labels, 2, rule->field_missing);
        labels[1].value = "field_invalid";
        lf_prom_sample_u64(out, name, labels, 2, rule->field_invalid);
    }
}

void lf_log_metrics_write(const struct lf_log_metrics *metrics,
                          struct lf_buf *out)
{
    static const char *const dropped = "logferry_metrics_series_dropped_total";
    struct lf_prom_label label = {"metric", NULL};

    if (metrics == NULL) {
        return;
    }
    for (size_t i = 0; i < metrics->rule_count; i++) {
        write_rule(out, &metrics->rules[i]);
    }
    lf_prom_family(out, dropped, "counter",
                   "Events a metrics rule did not count because they would "
                   "have created a series beyond its max_series.");
    for (size_t i = 0; i < metrics->rule_count; i++) {
        label.value = metrics->rules[i].family;
        lf_prom_sample_u64(out, dropped, &label, 1,
                           metrics->rules[i].series_dropped);
    }
    write_skipped(out, metrics);
}

size_t lf_log_metrics_count(const struct lf_log_metrics *metrics)
{
    return metrics == NULL ? 0 : metrics->rule_count;
}

void lf_log_metrics_rule_stats(const struct lf_log_metrics *metrics,
                               size_t index,
                               struct lf_log_metrics_rule_stats *out)
{
    const struct lf_log_metric_rule *rule = &metrics->rules[index];

    out->family = rule->family;
    out->series = rule->series_count;
    out->series_dropped = rule->series_dropped;
    out->field_missing = rule->field_missing;
    out->field_invalid = rule->field_invalid;
}
