/*
 * Prometheus text exposition format 0.0.4. Label values escape backslash,
 * double quote and line feed; HELP text escapes backslash and line feed.
 */
#include "agent/metrics/prom.h"
#include "lf/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum labels of a histogram series besides `le`; extra ones are cut. */
#define BUCKET_LABELS_MAX 8

/*
 * Formats a finite value with the fewest digits that read back as the
 * same double, so a bound of 0.005 prints as "0.005", not
 * "0.0050000000000000001".
 */
static void format_finite(char *out, size_t len, double value)
{
    snprintf(out, len, "%.15g", value);
    if (strtod(out, NULL) != value) {
        snprintf(out, len, "%.17g", value);
    }
}

/*
 * Appends `s` escaped for a help text or, with `quote`, a label value.
 * The exposition format is UTF-8 and Prometheus rejects a whole scrape
 * over one invalid byte, so ill-formed sequences become U+FFFD.
 */
static void append_escaped(struct lf_buf *out, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t i = 0;

    while (i < len) {
        size_t step = 1;
        size_t bad_len;

        if (p[i] == '\\') {
            lf_buf_append(out, "\\\\", 2);
        } else if (p[i] == '\n') {
            lf_buf_append(out, "\\n", 2);
        } else if (quote && p[i] == '"') {
            lf_buf_append(out, "\\\"", 2);
        } else if (p[i] < 0x80) {
            lf_buf_append_char(out, (char)p[i]);
        } else {
            step = lf_utf8_sequence(p + i, len - i, &bad_len);
            if (step == 0) {
                lf_buf_append(out, "\xef\xbf\xbd", 3);
                step = bad_len;
            } else {
                lf_buf_append(out, s + i, step);
            }
        }
        i += step;
    }
}

void lf_prom_family(struct lf_buf *out, const char *name, const char *type,
                    const char *help)
{
    lf_buf_appendf(out, "# HELP %s ", name);
    append_escaped(out, help, false);
    lf_buf_appendf(out, "\n# TYPE %s %s\n", name, type);
}

static void append_series(struct lf_buf *out, const char *name,
                          const char *suffix,
                          const struct lf_prom_label *labels,
                          size_t label_count)
{
    size_t i;

    lf_buf_append_str(out, name);
    lf_buf_append_str(out, suffix);
    if (label_count == 0) {
        return;
    }
    lf_buf_append_char(out, '{');
    for (i = 0; i < label_count; i++) {
        if (i > 0) {
            lf_buf_append_char(out, ',');
        }
        lf_buf_appendf(out, "%s=\"", labels[i].name);
        append_escaped(out, labels[i].value, true);
        lf_buf_append_char(out, '"');
    }
    lf_buf_append_char(out, '}');
}

static void append_double(struct lf_buf *out, double value)
{
    if (isnan(value)) {
        lf_buf_append_str(out, "NaN");
    } else if (isinf(value)) {
        lf_buf_append_str(out, value > 0 ? "+Inf" : "-Inf");
    } else {
        char text[32];

        format_finite(text, sizeof(text), value);
        lf_buf_append_str(out, text);
    }
}

void lf_prom_sample_u64(struct lf_buf *out, const char *name,
                        const struct lf_prom_label *labels,
                        size_t label_count, uint64_t value)
{
    append_series(out, name, "", labels, label_count);
    lf_buf_appendf(out, " %" PRIu64 "\n", value);
}

void lf_prom_sample_double(struct lf_buf *out, const char *name,
                           const struct lf_prom_label *labels,
                           size_t label_count, double value)
{
    append_series(out, name, "", labels, label_count);
    lf_buf_append_char(out, ' ');
    append_double(out, value);
    lf_buf_append_char(out, '\n');
}

void lf_prom_histogram(struct lf_buf *out, const char *name,
                       const struct lf_prom_label *labels,
                       size_t label_count, const double *bounds,
                       const uint64_t *counts, size_t bound_count,
                       double sum)
{
    struct lf_prom_label with_le[BUCKET_LABELS_MAX + 1];
    char le[32];
    uint64_t cumulative = 0;
    size_t n = label_count < BUCKET_LABELS_MAX ? label_count
                                               : BUCKET_LABELS_MAX;
    size_t i;

    if (n > 0) {
        memcpy(with_le, labels, n * sizeof(*labels));
    }
    with_le[n].name = "le";
    with_le[n].value = le;
    for (i = 0; i <= bound_count; i++) {
        cumulative += counts[i];
        if (i < bound_count) {
            format_finite(le, sizeof(le), bounds[i]);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        append_series(out, name, "_bucket", with_le, n + 1);
        lf_buf_appendf(out, " %" PRIu64 "\n", cumulative);
    }
    append_series(out, name, "_sum", labels, n);
    lf_buf_append_char(out, ' ');
    append_double(out, sum);
    lf_buf_append_char(out, '\n');
    append_series(out, name, "_count", labels, n);
    lf_buf_appendf(out, " %" PRIu64 "\n", cumulative);
}
