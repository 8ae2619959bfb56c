/*
 * CRC32C in software (slicing-by-8: eight table lookups per 8-byte word)
 * and the dispatch to the SSE4.2 code in crc32c_sse42.c, which the build
 * adds on x86-64 only.
 */
#include "agent/queue/crc32c.h"
#include "agent/queue/crc32c_table.h"

#include <string.h>

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint32_t lf_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    crc = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }

    while (len >= 8) {
        uint32_t lo = load_le32(p) ^ crc;
        uint32_t hi = load_le32(p + 4);

        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
              crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
              crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
              crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }

    while (len > 0) {
        crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return ~crc;
}

#ifndef HAVE_CRC32C_SSE42
bool lf_crc32c_hw_available(void)
{
    return false;
}

uint32_t lf_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    return lf_crc32c_sw(crc, data, len);
}
#endif

uint32_t lf_crc32c(uint32_t crc, const void *data, size_t len)
{
    if (lf_crc32c_hw_available()) {
        return lf_crc32c_hw(crc, data, len);
    }
    return lf_crc32c_sw(crc, data, len);
}
