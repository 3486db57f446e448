/// A 2-D tensor whose rows are computed when it is written (not copied from stored bytes): the
/// result of a LoRA merge `W + s·B·A`. `produce` fills whole rows in the tensor's dtype; the
/// run streamer calls it band by band (a scratch buffer of about 1 MB), so memory stays bounded
/// by a band whatever the tensor's size.
///
/// Row slices (a tensor-parallel row split) stay lazy; any other view of it (column slice,
/// transpose, reshape) first computes the tensor into memory (`computedCopy`), which is correct
/// but holds that one tensor.
public final class ComputedRows: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let dtype: DType
    /// The tensors it reads (for page release and `stores`).
    public let sources: [Tensor]
    /// Fills rows `range` (row-major, `cols` elements each, in `dtype`) at the pointer.
    let produce: (Range<Int>, UnsafeMutableRawPointer) throws -> Void

    public init(rows: Int, cols: Int, dtype: DType, sources: [Tensor], produce: @escaping (Range<Int>, UnsafeMutableRawPointer) throws -> Void) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.sources = sources
        self.produce = produce
    }

    public var tensor: Tensor { Tensor(dtype: dtype, shape: [rows, cols], node: .computed(self, rowStart: 0)) }

    func emit(rows range: Range<Int>, _ body: (Run) throws -> Void) throws {
        let rowBytes = max(1, cols * dtype.size)
        let band = max(1, min(range.count, scratchBytes / rowBytes))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: band * rowBytes, alignment: 64)
        defer { scratch.deallocate() }
        var i = range.lowerBound
        while i < range.upperBound {
            let n = min(band, range.upperBound - i)
            try produce(i..<(i + n), scratch)
            try body(.bytes(UnsafeRawBufferPointer(start: scratch, count: n * cols * dtype.size)))
            i += n
        }
    }
}

extension Tensor {
    /// The tensor computed into memory, as a plain view (for operations a computed node does
    /// not express lazily).
    func computedCopy() throws -> Tensor {
        let bytes = try materialize()
        return try Tensor.fromBytes(bytes, dtype: dtype, shape: shape, name: "<computed>")
    }
}
