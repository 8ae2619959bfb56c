/*
 * gzip of request bodies: igzip at level 1 and libdeflate above it must
 * both produce gzip streams that zlib inflates back to the input, for
 * text, incompressible bytes and an empty body, within the stated bound.
 */
#include "outputs/elasticsearch/es_gzip.h"
#include "lf_test.h"

#define ZLIB_CONST
#include <zlib.h>

/* Inflates a gzip stream; returns the length or -1. */
static long gunzip(const unsigned char *in, size_t len, unsigned char *out,
                   size_t cap)
{
    z_stream z;
    long n;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        return -1;
    }
    z.next_in = in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    n = inflate(&z, Z_FINISH) == Z_STREAM_END ? (long)z.total_out : -1;
    inflateEnd(&z);
    return n;
}

static void roundtrip(int level, const unsigned char *data, size_t len)
{
    struct lf_es_gzip *gzip = lf_es_gzip_new(level);
    size_t bound = lf_es_gzip_bound(gzip, len);
    unsigned char *packed = malloc(bound);
    unsigned char *back = malloc(len + 1);
    size_t n = lf_es_gzip_compress(gzip, data, len, packed, bound);

    LF_CHECK(n > 0);
    LF_CHECK(n <= bound);
    LF_CHECK_INT_EQ(packed[0], 0x1f);
    LF_CHECK_INT_EQ(packed[1], 0x8b);
    LF_CHECK_INT_EQ(gunzip(packed, n, back, len + 1), (long)len);
    LF_CHECK(len == 0 || memcmp(back, data, len) == 0);

    /* A second body through the same compressor. */
    n = lf_es_gzip_compress(gzip, data, len, packed, bound);
    LF_CHECK_INT_EQ(gunzip(packed, n, back, len + 1), (long)len);
    free(packed);
    free(back);
    lf_es_gzip_free(gzip);
}

static unsigned char *ndjson(size_t *len_out)
{
    size_t cap = 1 << 20;
    unsigned char *text = malloc(cap);
    size_t len = 0;

    for (int i = 0; len + 200 < cap; i++) {
        len += (size_t)snprintf((char *)text + len, cap - len,
                                "{\"create\":{\"_id\":\"00ab-%x\"}}\n"
                                "{\"message\":\"GET /api/tasks %d\","
                                "\"log\":{\"level\":\"info\"}}\n",
                                i * 77, i);
    }
    *len_out = len;
    return text;
}

static void test_es_gzip_text_levels(void)
{
    size_t len;
    unsigned char *text = ndjson(&len);
    const int levels[] = {1, 2, 6, 12};

    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        roundtrip(levels[i], text, len);
    }
    free(text);
}

static void test_es_gzip_incompressible(void)
{
    size_t len = 300000;
    unsigned char *noise = malloc(len);
    uint32_t x = 2463534242u;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (unsigned char)x;
    }
    roundtrip(1, noise, len);
    roundtrip(6, noise, len);
    free(noise);
}

static void test_es_gzip_empty_and_small(void)
{
    roundtrip(1, (const unsigned char *)"", 0);
    roundtrip(1, (const unsigned char *)"x\n", 2);
    roundtrip(9, (const unsigned char *)"x\n", 2);
}

static void test_es_gzip_too_small_output(void)
{
    size_t len;
    unsigned char *text = ndjson(&len);
    struct lf_es_gzip *gzip = lf_es_gzip_new(1);
    unsigned char out[64];

    LF_CHECK_INT_EQ(lf_es_gzip_compress(gzip, text, len, out, sizeof(out)),
                    0);
    lf_es_gzip_free(gzip);
    free(text);
}

int main(void)
{
    LF_RUN(test_es_gzip_text_levels);
    LF_RUN(test_es_gzip_incompressible);
    LF_RUN(test_es_gzip_empty_and_small);
    LF_RUN(test_es_gzip_too_small_output);
    return lf_test_end();
}
