/*
 * CRC32C (Castagnoli polynomial, as used by iSCSI, ext4 and SCTP) of the
 * spool's records. The SSE4.2 crc32 instruction is used when the CPU has
 * it, checked at run time, and slicing-by-8 in software otherwise.
 */
#ifndef LF_AGENT_QUEUE_CRC32C_H
#define LF_AGENT_QUEUE_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Extends `crc` over `len` bytes of `data` and returns the new value.
 * Start with 0. The pre- and post-inversion are done inside, so
 * lf_crc32c(lf_crc32c(0, a, n), b, m) equals the CRC of a followed by b.
 */
uint32_t lf_crc32c(uint32_t crc, const void *data, size_t len);

/* The software implementation, exposed so tests check both. */
uint32_t lf_crc32c_sw(uint32_t crc, const void *data, size_t len);

/*
 * The SSE4.2 implementation. Returns false from lf_crc32c_hw_available()
 * when the build has no such code or the CPU lacks the instruction, and
 * lf_crc32c_hw() must then not be called.
 */
bool lf_crc32c_hw_available(void);
uint32_t lf_crc32c_hw(uint32_t crc, const void *data, size_t len);

#endif
