// The carry-less CRC fold on 512-bit registers (VPCLMULQDQ with AVX-512): four times the bytes
// per multiply of the SSE fold, so about 4x its speed where the CPU has it (AMD Zen 4, Intel Ice
// Lake and later). Same method and polynomial as crc32_fold.c.
#include "CarryLessCRC.h"
#include "crc32_finish.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int carryless_crc32_wide_available(void) {
    unsigned a, b, c, d;
    if (!carryless_crc32_available() || !__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    // The OS must save the AVX-512 state (XCR0: SSE, AVX, opmask and both ZMM halves).
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX512F) && (b & bit_AVX512VL) && (c & bit_VPCLMULQDQ);
}

// Bit-reflected x^(n+32), x^(n-32) mod P in each 128-bit lane: n = 2048 folds each of four
// accumulators past the other three, n = 512 folds one accumulator past the next 64 bytes, and
// n = 384, 256, 128 fold lanes 0, 1, 2 of the last accumulator onto lane 3.
static const uint64_t fold2048[8] __attribute__((aligned(64))) = {
    0x011542778a, 0x01322d1430, 0x011542778a, 0x01322d1430, 0x011542778a, 0x01322d1430, 0x011542778a, 0x01322d1430};
static const uint64_t fold512x4[8] __attribute__((aligned(64))) = {
    0x0154442bd4, 0x01c6e41596, 0x0154442bd4, 0x01c6e41596, 0x0154442bd4, 0x01c6e41596, 0x0154442bd4, 0x01c6e41596};
static const uint64_t lanesOntoLast[8] __attribute__((aligned(64))) = {
    0x003db1ecdc, 0x0174359406, 0x00f1da05aa, 0x015a546366, 0x01751997d0, 0x00ccaa009e, 0, 0};

#define WIDE __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.1")))

// x folded forward by the distance k encodes, plus `data`.
WIDE static inline __m512i fold(__m512i x, __m512i k, __m512i data) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

WIDE uint32_t carryless_crc32_fold_wide(uint32_t state, const uint8_t *p, size_t n) {
    __m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64);
    __m512i x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)state)));
    __m512i k = _mm512_load_si512(fold2048);
    p += 256;
    n -= 256;
    while (n >= 256) {
        x0 = fold(x0, k, _mm512_loadu_si512(p));
        x1 = fold(x1, k, _mm512_loadu_si512(p + 64));
        x2 = fold(x2, k, _mm512_loadu_si512(p + 128));
        x3 = fold(x3, k, _mm512_loadu_si512(p + 192));
        p += 256;
        n -= 256;
    }
    // The four accumulators into one, then the remaining 64-byte blocks.
    k = _mm512_load_si512(fold512x4);
    x0 = fold(x0, k, x1);
    x0 = fold(x0, k, x2);
    x0 = fold(x0, k, x3);
    while (n >= 64) {
        x0 = fold(x0, k, _mm512_loadu_si512(p));
        p += 64;
        n -= 64;
    }
    __m512i t = fold(x0, _mm512_load_si512(lanesOntoLast), _mm512_setzero_si512());
    __m128i y = _mm_xor_si128(_mm_xor_si128(_mm512_extracti32x4_epi32(t, 0), _mm512_extracti32x4_epi32(t, 1)),
                              _mm_xor_si128(_mm512_extracti32x4_epi32(t, 2), _mm512_extracti32x4_epi32(x0, 3)));
    return crc32_fold_finish(y, p, n);
}

#else

int carryless_crc32_wide_available(void) { return 0; }

uint32_t carryless_crc32_fold_wide(uint32_t state, const uint8_t *p, size_t n) {
    (void)p; (void)n;
    return state;
}

#endif
