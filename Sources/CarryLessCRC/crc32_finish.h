// The end of every carry-less CRC fold (shared by the SSE and the wide paths): the last 16-byte
// blocks folded into one 128-bit remainder, reduced to 64 bits and then, by Barrett reduction,
// to the 32-bit CRC.
#ifndef CRC32_FINISH_H
#define CRC32_FINISH_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

// x^(128+32), x^(128-32) mod P (fold by 128 bits); x^64 (128 -> 64 bits); P and its Barrett
// constant floor(x^64 / P); all bit-reflected.
static const uint64_t fold128[2] __attribute__((aligned(16))) = {0x01751997d0, 0x00ccaa009e};
static const uint64_t fold64[2] __attribute__((aligned(16))) = {0x0163cd6124, 0};
static const uint64_t barrett[2] __attribute__((aligned(16))) = {0x01db710641, 0x01f7011641};

// Folds the `n` (a multiple of 16) bytes at `p` into the remainder `x1`, then reduces it.
__attribute__((target("pclmul,sse4.1")))
static inline uint32_t crc32_fold_finish(__m128i x1, const uint8_t *p, size_t n) {
    __m128i k = _mm_load_si128((const __m128i *)fold128);
    while (n >= 16) {
        __m128i lo = _mm_clmulepi64_si128(x1, k, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k, 0x11), _mm_loadu_si128((const __m128i *)p)), lo);
        p += 16;
        n -= 16;
    }
    // 128 -> 64 bits.
    __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
    __m128i t = _mm_clmulepi64_si128(x1, k, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    k = _mm_loadl_epi64((const __m128i *)fold64);
    t = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k, 0x00), t);
    // Barrett reduction to 32 bits.
    k = _mm_load_si128((const __m128i *)barrett);
    t = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), k, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

#endif
