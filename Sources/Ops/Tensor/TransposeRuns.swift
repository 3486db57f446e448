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

    private func transposeBands<T>(_: T.Type, store: ByteStore, byteOffset: Int, strides: [Int], _ body: (Run) throws -> Void) throws {
        let size = MemoryLayout<T>.size
        let r = rank
        let rows = shape[r - 2], cols = shape[r - 1], colStride = strides[r - 1]
        let rowBytes = cols * size
        let bandRows = max(1, min(rows, scratchBytes / rowBytes))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: bandRows * rowBytes, alignment: 64)
        defer { scratch.deallocate() }
        let outer = Array(shape[0..<(r - 2)])
        let outerStrides = Array(strides[0..<(r - 2)])
        var index = [Int](repeating: 0, count: outer.count)
        var elementOffset = 0
        while true {
            let base = store.base + byteOffset + elementOffset * size
            var i0 = 0
            while i0 < rows {
                let band = min(bandRows, rows - i0)
                // Tiles of 16 output rows x 64 columns, writing along the output rows (measured
                // ~8x faster than per-element runs in an -O build; power-of-two source strides make
                // other tile orders thrash the cache).
                var jt = 0
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
            // Next matrix (odometer over the leading dimensions).
            var d = outer.count - 1
            while d >= 0 {
                index[d] += 1
                elementOffset += outerStrides[d]
                if index[d] < outer[d] { break }
                elementOffset -= outerStrides[d] * outer[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
    }
}
