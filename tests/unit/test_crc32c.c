/*
 * CRC32C: the standard check value, the RFC 3720 (iSCSI) vectors, the
 * generated tables, and agreement of the hardware and software paths.
 */
#include "agent/queue/crc32c.h"
#include "agent/queue/crc32c_table.h"
#include "lf/mem.h"
#include "lf_test.h"

#include <stdint.h>
#include <string.h>

struct vector {
    const char *name;
    uint8_t data[48];
    size_t len;
    uint32_t crc;
};

static void fill_vectors(struct vector *v)
{
    /* RFC 3720, appendix B.4: 32 bytes of zeros, of ones, incrementing,
     * decrementing, and an iSCSI read command PDU. */
    static const uint8_t pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };

    memset(v, 0, 6 * sizeof(*v));
    v[0].name = "zeros";
    v[0].len = 32;
    v[0].crc = 0x8a9136aa;
    v[1].name = "ones";
    memset(v[1].data, 0xff, 32);
    v[1].len = 32;
    v[1].crc = 0x62a8ab43;
    v[2].name = "incrementing";
    v[3].name = "decrementing";
    for (int i = 0; i < 32; i++) {
        v[2].data[i] = (uint8_t)i;
        v[3].data[i] = (uint8_t)(31 - i);
    }
    v[2].len = 32;
    v[2].crc = 0x46dd794e;
    v[3].len = 32;
    v[3].crc = 0x113fdb5c;
    v[4].name = "read pdu";
    memcpy(v[4].data, pdu, sizeof(pdu));
    v[4].len = 48;
    v[4].crc = 0xd9963a56;
    v[5].name = "check";
    memcpy(v[5].data, "123456789", 9);
    v[5].len = 9;
    v[5].crc = 0xe3069283;
}

static void test_crc32c_sw_vectors(void)
{
    struct vector v[6];

    fill_vectors(v);
    for (size_t i = 0; i < LF_ARRAY_SIZE(v); i++) {
        if (lf_crc32c_sw(0, v[i].data, v[i].len) != v[i].crc) {
            LF_FAIL_AT("vector %s: 0x%08x, expected 0x%08x", v[i].name,
                       lf_crc32c_sw(0, v[i].data, v[i].len), v[i].crc);
        }
    }
}

static void test_crc32c_hw_vectors(void)
{
    struct vector v[6];

    if (!lf_crc32c_hw_available()) {
        printf("skip: no SSE4.2 on this CPU or build\n");
        return;
    }
    fill_vectors(v);
    for (size_t i = 0; i < LF_ARRAY_SIZE(v); i++) {
        if (lf_crc32c_hw(0, v[i].data, v[i].len) != v[i].crc) {
            LF_FAIL_AT("vector %s: 0x%08x, expected 0x%08x", v[i].name,
                       lf_crc32c_hw(0, v[i].data, v[i].len), v[i].crc);
        }
    }
}

static void test_crc32c_dispatch_check_value(void)
{
    LF_CHECK_INT_EQ(lf_crc32c(0, "123456789", 9), 0xe3069283);
    LF_CHECK_INT_EQ(lf_crc32c(0, "", 0), 0);
}

/* Every length and alignment up to 64 bytes, and chaining: the paths
 * split input into an unaligned head, 8-byte words and a tail. */
static void test_crc32c_paths_agree(void)
{
    uint8_t buf[80];
    int mismatches = 0;

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 131 + 7);
    }
    for (size_t start = 0; start < 8; start++) {
        for (size_t len = 0; len <= 64; len++) {
            uint32_t sw = lf_crc32c_sw(0, buf + start, len);
            uint32_t chained =
                lf_crc32c_sw(lf_crc32c_sw(0, buf + start, len / 3),
                             buf + start + len / 3, len - len / 3);

            if (chained != sw) {
                mismatches++;
            }
            if (lf_crc32c_hw_available() &&
                lf_crc32c_hw(0, buf + start, len) != sw) {
                mismatches++;
            }
        }
    }
    LF_CHECK_INT_EQ(mismatches, 0);
}

static void test_crc32c_tables_match_polynomial(void)
{
    int mismatches = 0;

    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;

        for (int bit = 0; bit < 8; bit++) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        mismatches += crc32c_table[0][n] != c;
        for (int k = 1; k < 8; k++) {
            c = crc32c_table[0][c & 0xff] ^ (c >> 8);
            mismatches += crc32c_table[k][n] != c;
        }
    }
    LF_CHECK_INT_EQ(mismatches, 0);
}

int main(void)
{
    LF_RUN(test_crc32c_sw_vectors);
    LF_RUN(test_crc32c_hw_vectors);
    LF_RUN(test_crc32c_dispatch_check_value);
    LF_RUN(test_crc32c_paths_agree);
    LF_RUN(test_crc32c_tables_match_polynomial);
    return lf_test_end();
}
