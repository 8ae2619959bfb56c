/*
 * The compiled form of one `metrics:` rule and its series, shared by the
 * rule compiler (log_metrics_config.c) and the evaluator
 * (log_metrics.c).
 */
#ifndef LF_AGENT_METRICS_LOG_METRICS_RULE_H
#define LF_AGENT_METRICS_LOG_METRICS_RULE_H

#include "agent/metrics/log_metrics.h"
#include "agent/processors/condition.h"

#include <stdbool.h>

enum lf_log_metric_type {
    LF_LOG_METRIC_COUNTER,
    LF_LOG_METRIC_HISTOGRAM,
};

struct lf_log_metric_label {
    const char *name;  /* borrowed from the document */
    const char *field; /* event field read; borrowed */
    bool status_class; /* map a status code to "1xx".."5xx" */
};

/*
 * One label set of a rule. `key` contains the label values, each ended
 * by a NUL, so `values[i]` point into it.
 */
struct lf_log_metric_series {
    uint64_t hash;
    char *key; /* owned */
    size_t key_len;
    const char *values[LF_LOG_METRICS_MAX_LABELS];
    uint64_t count;   /* counter value, or histogram observations */
    double sum;       /* histogram: sum of observations */
    uint64_t *counts; /* histogram: per bucket, not cumulative; owned */
};

struct lf_log_metric_rule {
    enum lf_log_metric_type type;
    char *family; /* owned; exposed name */
    const char *help;
    struct lf_log_metric_label labels[LF_LOG_METRICS_MAX_LABELS];
    size_t label_count;
    struct lf_condition *when; /* owned; NULL: every event */
    const char **inputs;       /* owned array of borrowed ids; NULL: all */
    size_t input_count;
    const char *field; /* histogram: the observed field */
    double divisor;    /* histogram: field unit per exposed unit */
    double bounds[LF_LOG_METRICS_MAX_BUCKETS];
    size_t bound_count;
    size_t max_series;

    struct lf_log_metric_series **series; /* owned, in creation order */
    size_t series_count;
    size_t series_cap;
    struct lf_log_metric_series **table; /* open addressing; borrowed */
    size_t table_cap;                    /* 0 or a power of two */
    uint64_t series_dropped;
    uint64_t field_missing;
    uint64_t field_invalid;
};

struct lf_log_metrics {
    struct lf_log_metric_rule *rules; /* owned, `rule_count` of them */
    size_t rule_count;
    struct lf_buf key; /* scratch for the label values of one event */
};

/* Frees a rule's series and its hash table. */
void lf_log_metric_rule_clear(struct lf_log_metric_rule *rule);

#endif
