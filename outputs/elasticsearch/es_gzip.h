/*
 * gzip compression of request bodies. Level 1, the default, uses ISA-L's
 * igzip, which compresses bulk NDJSON about three times faster than
 * libdeflate's level 1 at the same ratio (measured on 59 MB of documents,
 * one core of the 2-core benchmark machine in bench/README.md: 944 MB/s
 * against 306 MB/s, both ratio 0.097). Levels 2 to 12 use
 * libdeflate, for a smaller body at more CPU.
 */
#ifndef LF_OUTPUTS_ELASTICSEARCH_ES_GZIP_H
#define LF_OUTPUTS_ELASTICSEARCH_ES_GZIP_H

#include <stddef.h>

/* One compressor; use it from one thread at a time. */
struct lf_es_gzip;

/* Creates a compressor for `level` (1 to 12); aborts when out of memory. */
struct lf_es_gzip *lf_es_gzip_new(int level);

void lf_es_gzip_free(struct lf_es_gzip *gzip);

/* Returns an output size that fits the gzip form of `len` bytes. */
size_t lf_es_gzip_bound(const struct lf_es_gzip *gzip, size_t len);

/*
 * Writes the gzip form of `in` to `out`. Returns its length, or 0 when it
 * does not fit in `cap` bytes.
 */
size_t lf_es_gzip_compress(struct lf_es_gzip *gzip, const void *in,
                           size_t len, void *out, size_t cap);

#endif
