/*
 * Metrics from the logs: the `metrics:` rules that count events, or
 * observe a field of them, into Prometheus counters and histograms served
 * on /metrics next to the agent's own series.
 */
#ifndef LF_AGENT_METRICS_LOG_METRICS_H
#define LF_AGENT_METRICS_LOG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "lf/buf.h"
#include "lf/conf.h"
#include "lf/event.h"

/* Defaults and limits, also stated in docs/configuration.md. */
#define LF_LOG_METRICS_DEFAULT_MAX_SERIES 1000
#define LF_LOG_METRICS_MAX_SERIES_LIMIT 1000000
#define LF_LOG_METRICS_MAX_LABELS 8 /* lf_prom_histogram() writes 8 */
#define LF_LOG_METRICS_MAX_BUCKETS 64
/*
 * Bytes kept of a label value taken from an event. Longer values are cut
 * at a UTF-8 boundary, so one rule's series cannot hold large strings.
 */
#define LF_LOG_METRICS_LABEL_VALUE_MAX 256

struct lf_log_metrics;

/*
 * Compiles the `metrics` list at `list`. A missing or null node stores
 * NULL, which the other functions accept as "no rules". `input_ids` are
 * the configured input ids that a rule's `inputs:` may name. Returns 0,
 * or LF_ECONFIG with a message naming the key path, its line, the value
 * and what to write instead. The rules borrow strings from the document:
 * free them first.
 */
int lf_log_metrics_new(const struct lf_conf_node *list,
                       const char *const *input_ids, size_t input_count,
                       struct lf_log_metrics **out, char *errbuf,
                       size_t errlen);

/* Frees the rules and their series; accepts NULL. */
void lf_log_metrics_free(struct lf_log_metrics *metrics);

/*
 * Applies every rule to `ev`, an event of the input `input_id` that is
 * about to be shipped. Allocates only when an event creates a series or
 * carries a longer label value than any before it. Not thread-safe.
 */
void lf_log_metrics_observe(struct lf_log_metrics *metrics,
                            const struct lf_event *ev, const char *input_id);

/*
 * Appends every rule's series in the Prometheus text format, then
 * logferry_metrics_series_dropped_total and
 * logferry_metrics_events_skipped_total. Appends nothing for NULL.
 */
void lf_log_metrics_write(const struct lf_log_metrics *metrics,
                          struct lf_buf *out);

/* Counters of one rule, for tests. */
struct lf_log_metrics_rule_stats {
    const char *family;      /* the exposed name, with _total for counters */
    size_t series;           /* label sets seen */
    uint64_t series_dropped; /* events not counted: max_series reached */
    uint64_t field_missing;  /* histogram events without `field` */
    uint64_t field_invalid;  /* histogram events whose `field` is no number */
};

/* Returns the number of rules; 0 for NULL. */
size_t lf_log_metrics_count(const struct lf_log_metrics *metrics);

/* Fills `out` for rule `index`, which must be below the count. */
void lf_log_metrics_rule_stats(const struct lf_log_metrics *metrics,
                               size_t index,
                               struct lf_log_metrics_rule_stats *out);

#endif
