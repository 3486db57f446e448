#ifndef BLOCK_TRANSPOSE_H
#define BLOCK_TRANSPOSE_H

#include <stddef.h>
#include <stdint.h>

/// Transposes 2-byte elements (bf16, f16) in 8 x 8 blocks: output row `i` (< `rows`), column `j`
/// (< `cols`) becomes the element at `src + i * 2 + j * src_stride`, written at
/// `dst + i * dst_row_bytes + j * 2`. `rows` and `cols` must be multiples of 8. Source rows (the
/// output's columns) are walked in tiles of `tile` (a multiple of 8) so their slices stay in L1.
void block_transpose16(const uint8_t *src, size_t src_stride, size_t rows, size_t cols,
                       uint8_t *dst, size_t dst_row_bytes, size_t tile);

/// The same with SSE2 only (what CPUs without AVX2 run; exported so tests cover it everywhere).
void block_transpose16_sse2(const uint8_t *src, size_t src_stride, size_t rows, size_t cols,
                            uint8_t *dst, size_t dst_row_bytes, size_t tile);

#endif
