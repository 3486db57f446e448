#ifndef CARRYLESS_CRC_H
#define CARRYLESS_CRC_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the carry-less multiply (PCLMULQDQ) and SSE4.1 the folding CRC needs.
int carryless_crc32_available(void);

/// Advances the inverted running CRC-32 (ISO-HDLC, the zip checksum) `state` over
/// `length` bytes at `bytes`, by folding with carry-less multiplies. `length` must be at least 64
/// and a multiple of 16; callers check `carryless_crc32_available()` first.
uint32_t carryless_crc32_fold(uint32_t state, const uint8_t *bytes, size_t length);

/// 1 when this CPU (and its OS) also has the 512-bit carry-less multiply (VPCLMULQDQ, AVX-512F/VL)
/// the wide fold needs.
int carryless_crc32_wide_available(void);

/// The same as `carryless_crc32_fold` four 128-bit lanes at a time. `length` must be at least 256
/// and a multiple of 16; callers check `carryless_crc32_wide_available()` first.
uint32_t carryless_crc32_fold_wide(uint32_t state, const uint8_t *bytes, size_t length);

#endif
