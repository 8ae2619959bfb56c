/*
 * gzip for bulk bodies: ISA-L igzip at level 1, libdeflate above it. Both
 * compress a whole body in one call; neither allocates per call.
 */
#include "outputs/elasticsearch/es_gzip.h"
#include "lf/mem.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The level served by igzip; higher levels go to libdeflate. */
#define IGZIP_LEVEL 1

struct lf_es_gzip {
    int level;
    struct libdeflate_compressor *deflate; /* levels above IGZIP_LEVEL */
    struct isal_zstream stream;            /* IGZIP_LEVEL */
    uint8_t *level_buf;                    /* igzip's level 1 work area */
};

struct lf_es_gzip *lf_es_gzip_new(int level)
{
    struct lf_es_gzip *gzip = lf_calloc(1, sizeof(*gzip));

    gzip->level = level;
    if (level == IGZIP_LEVEL) {
        gzip->level_buf = lf_malloc(ISAL_DEF_LVL1_DEFAULT);
        return gzip;
    }
    gzip->deflate = libdeflate_alloc_compressor(level);
    if (gzip->deflate == NULL) {
        /* The level is checked by the config: this is out of memory. */
        fprintf(stderr, "logferry: out of memory allocating a compressor\n");
        abort();
    }
    return gzip;
}

void lf_es_gzip_free(struct lf_es_gzip *gzip)
{
    if (gzip == NULL) {
        return;
    }
    if (gzip->deflate != NULL) {
        libdeflate_free_compressor(gzip->deflate);
    }
    lf_free(gzip->level_buf);
    lf_free(gzip);
}

size_t lf_es_gzip_bound(const struct lf_es_gzip *gzip, size_t len)
{
    if (gzip->deflate != NULL) {
        return libdeflate_gzip_compress_bound(gzip->deflate, len);
    }
    /*
     * Stored blocks add 5 bytes per 64 KiB; the gzip header and trailer
     * take 18. An eighth more is a margin, not a bound igzip documents: a
     * body that does not fit is sent uncompressed by the caller.
     */
    return len + len / 8 + 1024;
}

static size_t igzip_compress(struct lf_es_gzip *gzip, const void *in,
                             size_t len, void *out, size_t cap)
{
    struct isal_zstream *s = &gzip->stream;

    if (len > UINT32_MAX || cap > UINT32_MAX) {
        return 0;
    }
    isal_deflate_init(s);
    s->level = IGZIP_LEVEL;
    s->level_buf = gzip->level_buf;
    s->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    s->gzip_flag = IGZIP_GZIP;
    s->end_of_stream = 1;
    s->flush = NO_FLUSH;
    s->next_in = (uint8_t *)(uintptr_t)in;
    s->avail_in = (uint32_t)len;
    s->next_out = out;
    s->avail_out = (uint32_t)cap;

    if (isal_deflate(s) != COMP_OK || s->internal_state.state != ZSTATE_END) {
        return 0;
    }
    return s->total_out;
}

size_t lf_es_gzip_compress(struct lf_es_gzip *gzip, const void *in,
                           size_t len, void *out, size_t cap)
{
    if (gzip->deflate != NULL) {
        return libdeflate_gzip_compress(gzip->deflate, in, len, out, cap);
    }
    return igzip_compress(gzip, in, len, out, cap);
}
