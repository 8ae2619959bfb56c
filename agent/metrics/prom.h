/*
 * Writer of the Prometheus text exposition format, version 0.0.4: one
 * HELP and TYPE header per metric family, then its samples.
 */
#ifndef LF_AGENT_METRICS_PROM_H
#define LF_AGENT_METRICS_PROM_H

#include "lf/buf.h"

#include <stddef.h>
#include <stdint.h>

#define LF_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct lf_prom_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not checked */
    const char *value; /* any UTF-8; escaped on output */
};

/*
 * Appends the "# HELP" and "# TYPE" lines of a family. `type` is
 * "counter", "gauge" or "histogram"; backslashes and line feeds in `help`
 * are escaped.
 */
void lf_prom_family(struct lf_buf *out, const char *name, const char *type,
                    const char *help);

/* Appends one sample line with an integer value. */
void lf_prom_sample_u64(struct lf_buf *out, const char *name,
                        const struct lf_prom_label *labels,
                        size_t label_count, uint64_t value);

/* Appends one sample line; infinities and NaN use +Inf, -Inf and NaN. */
void lf_prom_sample_double(struct lf_buf *out, const char *name,
                           const struct lf_prom_label *labels,
                           size_t label_count, double value);

/*
 * Appends the samples of one histogram series: a cumulative `_bucket` per
 * bound and `le="+Inf"`, then `_sum` and `_count`. `counts` contains
 * `bound_count + 1` non-cumulative counts, the last for observations above
 * every bound. `bounds` must be increasing.
 */
void lf_prom_histogram(struct lf_buf *out, const char *name,
                       const struct lf_prom_label *labels,
                       size_t label_count, const double *bounds,
                       const uint64_t *counts, size_t bound_count,
                       double sum);

#endif
