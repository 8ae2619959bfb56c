/*
 * CRC32C with the SSE4.2 crc32 instruction, 8 bytes per step. The build
 * compiles it for x86-64 only. The functions carry the target attribute,
 * so the rest of the build keeps the baseline instruction set.
 */
#include "agent/queue/crc32c.h"

#include <nmmintrin.h>
#include <string.h>

bool lf_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2"))) uint32_t
lf_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t crc64;

    crc = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc = _mm_crc32_u8(crc, *p++);
        len--;
    }

    crc64 = crc;
    while (len >= 8) {
        uint64_t word;

        memcpy(&word, p, sizeof(word));
        crc64 = _mm_crc32_u64(crc64, word);
        p += 8;
        len -= 8;
    }

    crc = (uint32_t)crc64;
    while (len > 0) {
        crc = _mm_crc32_u8(crc, *p++);
        len--;
    }
    return ~crc;
}
