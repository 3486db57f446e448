// CRC-32 by folding 64-byte blocks with carry-less multiplies (Gopal et al., "Fast CRC
// Computation for Generic Polynomials Using PCLMULQDQ Instruction", Intel, 2009), for the
// bit-reflected zip polynomial. C because Swift has no carry-less multiply; the table-driven
// Swift CRC32 remains the fallback and the reference the tests compare this with.
#include "CarryLessCRC.h"
#include "crc32_finish.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int carryless_crc32_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_PCLMUL) && (c & bit_SSE4_1);
}

// x^(4*128+32), x^(4*128-32) mod P (fold by 512 bits), bit-reflected.
static const uint64_t fold512[2] __attribute__((aligned(16))) = {0x0154442bd4, 0x01c6e41596};

__attribute__((target("pclmul,sse4.1")))
uint32_t carryless_crc32_fold(uint32_t state, const uint8_t *p, size_t n) {
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 0x00));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 0x10));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 0x20));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)state));
    __m128i k = _mm_load_si128((const __m128i *)fold512);
    p += 64;
    n -= 64;
    // Four independent 128-bit accumulators, each folded 512 bits forward per step.
    while (n >= 64) {
        __m128i l1 = _mm_clmulepi64_si128(x1, k, 0x00), l2 = _mm_clmulepi64_si128(x2, k, 0x00);
        __m128i l3 = _mm_clmulepi64_si128(x3, k, 0x00), l4 = _mm_clmulepi64_si128(x4, k, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, l1), _mm_loadu_si128((const __m128i *)(p + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, l2), _mm_loadu_si128((const __m128i *)(p + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, l3), _mm_loadu_si128((const __m128i *)(p + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, l4), _mm_loadu_si128((const __m128i *)(p + 0x30)));
        p += 64;
        n -= 64;
    }
    // The four accumulators into one, then the remaining 16-byte blocks.
    k = _mm_load_si128((const __m128i *)fold128);
    __m128i next[3] = {x2, x3, x4};
    for (int i = 0; i < 3; i++) {
        __m128i lo = _mm_clmulepi64_si128(x1, k, 0x00);
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k, 0x11), next[i]), lo);
    }
    return crc32_fold_finish(x1, p, n);
}

#else

int carryless_crc32_available(void) { return 0; }

uint32_t carryless_crc32_fold(uint32_t state, const uint8_t *p, size_t n) {
    (void)p; (void)n;
    return state;
}

#endif
