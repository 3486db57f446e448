import BlockTranspose

/// Fast path of the run streamer for transposed views (expert split, `x.transposed()`): views
/// whose last dimension is strided and whose second-to-last is contiguous in the store.
///
/// The generic streamer copies such a view one element at a time (every run is a single element).
/// Here each matrix is transposed in 16 x 64 tiles into a scratch band of whole output rows, which
/// is then handed on as one run: reads and writes stay within cache-sized tiles.
extension Tensor {
    /// Streams the view if it has the transposed shape described above; returns false (and emits
    /// nothing) otherwise, so the caller falls back to the generic path.
    func emitTransposedView(store: ByteStore, byteOffset: Int, strides: [Int], _ body: (Run) throws -> Void) throws -> Bool {
        let r = rank
        guard r >= 2, shape[r - 1] > 1, shape[r - 2] > 1, strides[r - 2] == 1, strides[r - 1] != 1 else { return false }
        switch dtype.size {
        case 1: try transposeBands(UInt8.self, store: store, byteOffset: byteOffset, strides: strides, body)
        case 2: try transposeBands(UInt16.self, store: store, byteOffset: byteOffset, strides: strides, body)
        case 4: try transposeBands(UInt32.self, store: store, byteOffset: byteOffset, strides: strides, body)
        case 8: try transposeBands(UInt64.self, store: store, byteOffset: byteOffset, strides: strides, body)
        default: return false
        }
        return true
    }

    /// Writes this tensor straight into `dst` (its rows `rowBytes` apart) when it is a 2-D
    /// transposed view of 2-byte elements made of whole 8 x 8 blocks, as a GLU/TP merge's
    /// per-expert parts are: the column concatenation then skips a scratch band and a copy per
    /// part. Returns false (writing nothing) for any other tensor.
    func transposeDirectly(into dst: UnsafeMutableRawPointer, rowBytes: Int) -> Bool {
        guard rank == 2, dtype.size == 2, case let .view(store, byteOffset, strides) = node,
              strides[0] == 1, strides[1] != 1, shape[0] % 8 == 0, shape[1] % 8 == 0, shape[1] > 0 else { return false }
        return Tensor.transpose8x8Blocks(from: store.base + byteOffset, colStride: strides[1], rows: shape[0], cols: shape[1],
                                         to: dst, rowBytes: rowBytes) == shape[1]
    }

    private func transposeBands<T>(_: T.Type, store: ByteStore, byteOffset: Int, strides: [Int], _ body: (Run) throws -> Void) throws {
        let size = MemoryLayout<T>.size
        let r = rank
        let rows = shape[r - 2], cols = shape[r - 1], colStride = strides[r - 1]
        let rowBytes = cols * size
        var bandRows = max(1, min(rows, scratchBytes / rowBytes))
        if bandRows >= 8 { bandRows -= bandRows % 8 }   // whole 8 x 8 blocks (2-byte elements)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: bandRows * rowBytes, alignment: 64)
        defer { scratch.deallocate() }
        let outer = Array(shape[0..<(r - 2)])
        let outerStrides = Array(strides[0..<(r - 2)])
        var odometer = Odometer(shape: outer, strides: outerStrides)
        while true {
            let base = store.base + byteOffset + odometer.offset * size
            var i0 = 0
            while i0 < rows {
                let band = min(bandRows, rows - i0)
                // 2-byte elements (bf16, f16): 8 x 8 blocks transposed in vector registers; the
                // scalar tiles below do what is left at the edges.
                var done = 0
                if size == 2 {
                    done = Tensor.transpose8x8Blocks(from: base + i0 * 2, colStride: colStride, rows: band, cols: cols,
                                                     to: scratch, rowBytes: rowBytes)
                }
                // Tiles of 16 output rows x 64 columns, writing along the output rows (measured
                // ~8x faster than per-element runs in an -O build; power-of-two source strides make
                // other tile orders thrash the cache).
                var jt = done
                while jt < cols {
                    let jEnd = min(cols, jt + 64)
                    var it = 0
                    while it < band {
                        let iEnd = min(band, it + 16)
                        for i in it..<iEnd {
                            let src = base + (i0 + i) * size
                            let dst = scratch + i * rowBytes
                            for j in jt..<jEnd {
                                let v = src.loadUnaligned(fromByteOffset: j * colStride * size, as: T.self)
                                dst.storeBytes(of: v, toByteOffset: j * size, as: T.self)
                            }
                        }
                        it = iEnd
                    }
                    jt = jEnd
                }
                try body(.bytes(UnsafeRawBufferPointer(start: scratch, count: band * rowBytes)))
                i0 += band
            }
            // Next matrix.
            if !odometer.advance() { break }
        }
    }

    /// Transposes the 8 x 8 blocks of a band of 2-byte elements: output row `i` (< `rows`), column
    /// `j` is the element at `src + (i + j * colStride) * 2`. Covers every output row up to the last
    /// multiple of 8 fully (`cols` rounded down to 8 columns) and, when `rows` is not a multiple of
    /// 8, nothing of the last rows; returns the first column the caller must still fill for every
    /// row (0 when the band has fewer than 8 rows).
    static func transpose8x8Blocks(from src: UnsafeRawPointer, colStride: Int, rows: Int, cols: Int,
                                   to dst: UnsafeMutableRawPointer, rowBytes: Int) -> Int {
        let fullRows = rows / 8 * 8, fullCols = cols / 8 * 8
        guard fullRows == rows, fullCols > 0 else { return 0 }
        // Tiles of `tile` source rows (output columns): within a tile the loads go down the
        // source rows 8 at a time (a constant stride the prefetcher follows) while the tile's
        // slice of those rows stays in L1, and the stores fill whole 16-byte pieces of output rows.
        // Measured on 2-byte views of expert shapes (source rows of 256-2048 elements, bands of
        // 128-336 output rows): 1.4-2.9x faster than sweeping 8 source rows along the band, except
        // when each source row's slice is long (over 512 bytes), where short tiles do best.
        let tile = rows * 2 <= 512 ? 64 : 16
        // The blocks themselves are C (BlockTranspose): SSE2/AVX2 unpacks, which Swift's generic
        // SIMD shuffles do not compile to on the x86-64 baseline.
        block_transpose16(src.assumingMemoryBound(to: UInt8.self), colStride * 2, rows, fullCols,
                          dst.assumingMemoryBound(to: UInt8.self), rowBytes, tile)
        return fullCols
    }
}
