/// Fast path of the run streamer for concatenations along dim 1 (TP merges of column-split or
/// GLU-split tensors, then transposed for fused experts).
///
/// The generic path streams such a tensor one row at a time, slicing every part per row; when the
/// parts are strided (transposed) views, every row of every part then degrades to one-element
/// runs. Here bands of whole output rows are assembled in a scratch buffer: each part streams its
/// band through its own fast paths (e.g. the blocked transpose) and its bytes are copied into its
/// column range; a transposed 2-byte part of whole 8 x 8 blocks is transposed straight into it.
/// Parts whose rows are long contiguous runs keep the zero-copy per-row path.
extension Tensor {
    /// Parts' row bytes below this are gathered even when contiguous (many tiny runs cost more
    /// than one copy).
    static let smallPartRowBytes = 4096

    /// Streams `self` = concat(parts, dim: 1) in row bands; returns false (emitting nothing) when
    /// the per-row path is as good (every part a view with long contiguous rows).
    func emitColumnConcat(parts: [Tensor], _ body: (Run) throws -> Void) throws -> Bool {
        guard rank >= 2, shape[0] > 0 else { return false }
        let size = dtype.size
        let rows = shape[0]
        let partRow = parts.map { $0.numel / rows * size }
        guard zip(parts, partRow).contains(where: { p, b in b < Tensor.smallPartRowBytes || !p.hasContiguousRows }) else { return false }
        let rowBytes = partRow.reduce(0, +)
        guard rowBytes > 0 else { return false }
        let bandRows = max(1, min(rows, scratchBytes / rowBytes))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: bandRows * rowBytes, alignment: 64)
        defer { scratch.deallocate() }
        var i0 = 0
        while i0 < rows {
            let band = min(bandRows, rows - i0)
            var column = 0
            for (p, pb) in zip(parts, partRow) where pb > 0 {
                let rows = try p.slice(dim: 0, start: i0, count: band)
                if rows.transposeDirectly(into: scratch + column, rowBytes: rowBytes) {
                    column += pb
                    continue
                }
                var pos = 0
                try rows.forEachRun { run in
                    var src: UnsafeRawPointer?
                    if case let .bytes(b) = run { src = b.baseAddress }
                    var done = 0
                    let total = run.count
                    while done < total {
                        let r = pos / pb, c = pos % pb
                        let n = min(total - done, pb - c)
                        let dst = scratch + r * rowBytes + column + c
                        if let src {
                            dst.copyMemory(from: src + done, byteCount: n)
                        } else {
                            dst.initializeMemory(as: UInt8.self, repeating: 0, count: n)
                        }
                        pos += n
                        done += n
                    }
                }
                column += pb
            }
            try body(.bytes(UnsafeRawBufferPointer(start: scratch, count: band * rowBytes)))
            i0 += band
        }
        return true
    }

    /// A view whose every dim-0 slice is one contiguous range.
    var hasContiguousRows: Bool {
        guard case let .view(_, _, strides) = node else { return false }
        var expect = 1
        for i in stride(from: rank - 1, through: 1, by: -1) where shape[i] != 1 {
            guard strides[i] == expect else { return false }
            expect *= shape[i]
        }
        return true
    }
}
