/// A lazy tensor: an expression over bytes that live elsewhere (usually a memory-mapped file).
///
/// Every operation (slice, concatenate, transpose, cast, reshape) builds a new expression in O(1) or
/// O(parts) without touching element bytes. Only `forEachRun` (and the writers built on it) reads
/// bytes, streaming them in row-major order as a sequence of contiguous runs. This is what keeps
/// memory bounded by a chunk, not by the model.
///
/// The expression is kept in a normal form (views, zeros, casts and concatenations) that is closed
/// under every operation, so slicing a concatenation pushes the slice into its parts instead of
/// stacking wrappers.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let dtype: DType
    public let shape: [Int]
    let node: Node

    indirect enum Node {
        /// Elements at `byteOffset + sum(index[i] * strides[i]) * dtype.size` in `store`.
        case view(store: ByteStore, byteOffset: Int, strides: [Int])
        case zeros
        case concat(dim: Int, parts: [Tensor])
        /// `source` converted element-wise to this tensor's dtype.
        case cast(source: Tensor)
        /// Rows `rowStart ..< rowStart + shape[0]` of a 2-D matrix computed band by band when
        /// written (a LoRA merge): the one node whose bytes are not copies of stored bytes.
        case computed(ComputedRows, rowStart: Int)
    }

    init(dtype: DType, shape: [Int], node: Node) {
        self.dtype = dtype
        self.shape = shape
        self.node = node
    }

    public var rank: Int { shape.count }
    public var numel: Int { shape.reduce(1, *) }
    public var byteCount: Int { numel * dtype.size }

    public var description: String { "\(dtype.rawValue)\(shape)" }

    /// Row-major element strides of a contiguous tensor of `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }

    // MARK: - Constructors

    /// A tensor whose elements live in `store`. Strides are in elements; nil means contiguous.
    /// Throws when any element would lie outside the store.
    public static func view(
        store: ByteStore, byteOffset: Int, dtype: DType, shape: [Int], strides: [Int]? = nil
    ) throws -> Tensor {
        let st = strides ?? contiguousStrides(shape)
        guard st.count == shape.count, shape.allSatisfy({ $0 >= 0 }), st.allSatisfy({ $0 >= 0 }) else {
            throw OpsError.format(path: store.name, message: "invalid shape \(shape) / strides \(st)")
        }
        let n = shape.reduce(1, *)
        if n > 0 {
            var lastElement = 0
            for (s, d) in zip(st, shape) { lastElement += (d - 1) * s }
            let end = byteOffset + (lastElement + 1) * dtype.size
            guard byteOffset >= 0, end <= store.count else {
                throw OpsError.format(path: store.name,
                    message: "tensor \(dtype.rawValue)\(shape) at byte \(byteOffset) needs bytes up to \(end), but the data has \(store.count)")
            }
        }
        return Tensor(dtype: dtype, shape: shape, node: .view(store: store, byteOffset: byteOffset, strides: st))
    }

    /// A contiguous tensor over all of `store` (which must hold exactly dtype x shape bytes).
    public static func contiguous(_ store: ByteStore, dtype: DType, shape: [Int]) throws -> Tensor {
        let need = shape.reduce(1, *) * dtype.size
        guard need == store.count else {
            throw OpsError.format(path: store.name, message: "\(dtype.rawValue)\(shape) needs \(need) bytes, the buffer has \(store.count)")
        }
        return try view(store: store, byteOffset: 0, dtype: dtype, shape: shape)
    }

    public static func zeros(_ dtype: DType, _ shape: [Int]) -> Tensor {
        Tensor(dtype: dtype, shape: shape, node: .zeros)
    }

    /// Concatenation along `dim`; every other dimension and the dtype must agree.
    public static func concat(_ parts: [Tensor], dim: Int) throws -> Tensor {
        guard let first = parts.first else { throw OpsError.invalid("concatenation of no tensors") }
        guard dim >= 0, dim < first.rank else {
            throw OpsError.invalid("cannot concatenate \(first) along dim \(dim)")
        }
        var total = 0
        var flat: [Tensor] = []
        for p in parts {
            guard p.dtype == first.dtype, p.rank == first.rank,
                  (0..<p.rank).allSatisfy({ $0 == dim || p.shape[$0] == first.shape[$0] }) else {
                throw OpsError.invalid("cannot concatenate \(first) and \(p) along dim \(dim)")
            }
            total += p.shape[dim]
            if p.shape[dim] == 0 { continue }
            if case let .concat(d, inner) = p.node, d == dim { flat += inner } else { flat.append(p) }
        }
        var shape = first.shape
        shape[dim] = total
        if flat.count == 1 { return flat[0] }
        if flat.isEmpty { return .zeros(first.dtype, shape) }
        return Tensor(dtype: first.dtype, shape: shape, node: .concat(dim: dim, parts: flat))
    }

    // MARK: - Operations

    /// Elements `start ..< start + count` along `dim`.
    public func slice(dim: Int, start: Int, count: Int) throws -> Tensor {
        guard dim >= 0, dim < rank, start >= 0, count >= 0, start + count <= shape[dim] else {
            throw OpsError.invalid("slice [\(start)..<\(start + count)] along dim \(dim) is outside \(self)")
        }
        if start == 0 && count == shape[dim] { return self }
        var newShape = shape
        newShape[dim] = count
        switch node {
        case let .view(store, off, strides):
            return Tensor(dtype: dtype, shape: newShape, node: .view(store: store, byteOffset: off + start * strides[dim] * dtype.size, strides: strides))
        case .zeros:
            return .zeros(dtype, newShape)
        case let .cast(source):
            return Tensor(dtype: dtype, shape: newShape, node: .cast(source: try source.slice(dim: dim, start: start, count: count)))
        case let .computed(c, rowStart):
            if dim == 0 { return Tensor(dtype: dtype, shape: newShape, node: .computed(c, rowStart: rowStart + start)) }
            return try computedCopy().slice(dim: dim, start: start, count: count)
        case let .concat(cdim, parts):
            if cdim != dim {
                return try .concat(parts.map { try $0.slice(dim: dim, start: start, count: count) }, dim: cdim)
            }
            var picked: [Tensor] = []
            var pos = 0
            let end = start + count
            for p in parts {
                let len = p.shape[dim]
                let lo = max(start, pos), hi = min(end, pos + len)
                if lo < hi { picked.append(try p.slice(dim: dim, start: lo - pos, count: hi - lo)) }
                pos += len
            }
            if picked.isEmpty { return .zeros(dtype, newShape) }
            return try .concat(picked, dim: dim)
        }
    }

    /// `n` equal pieces along `dim`; the size must divide (no silent remainders).
    public func chunk(_ n: Int, dim: Int) throws -> [Tensor] {
        guard n > 0, dim >= 0, dim < rank, shape[dim] % n == 0 else {
            throw OpsError.invalid("\(self) does not split into \(n) equal parts along dim \(dim)")
        }
        let s = shape[dim] / n
        return try (0..<n).map { try slice(dim: dim, start: $0 * s, count: s) }
    }

    /// Pieces of the given sizes along `dim`; they must add up to the dimension.
    public func split(sizes: [Int], dim: Int) throws -> [Tensor] {
        guard dim >= 0, dim < rank, sizes.reduce(0, +) == shape[dim], sizes.allSatisfy({ $0 >= 0 }) else {
            throw OpsError.invalid("\(self) does not split into sizes \(sizes) along dim \(dim)")
        }
        var out: [Tensor] = []
        var pos = 0
        for s in sizes { out.append(try slice(dim: dim, start: pos, count: s)); pos += s }
        return out
    }

    /// Swaps two dimensions (a lazy view; bytes are reordered only when written).
    public func transposed(_ a: Int = 0, _ b: Int = 1) throws -> Tensor {
        guard a >= 0, a < rank, b >= 0, b < rank else { throw OpsError.invalid("cannot transpose dims \(a),\(b) of \(self)") }
        if a == b { return self }
        var newShape = shape
        newShape.swapAt(a, b)
        switch node {
        case let .view(store, off, strides):
            var st = strides
            st.swapAt(a, b)
            return Tensor(dtype: dtype, shape: newShape, node: .view(store: store, byteOffset: off, strides: st))
        case .zeros:
            return .zeros(dtype, newShape)
        case let .cast(source):
            return Tensor(dtype: dtype, shape: newShape, node: .cast(source: try source.transposed(a, b)))
        case .computed:
            return try computedCopy().transposed(a, b)
        case let .concat(cdim, parts):
            let nd = cdim == a ? b : (cdim == b ? a : cdim)
            return try .concat(parts.map { try $0.transposed(a, b) }, dim: nd)
        }
    }

    /// Element-wise conversion; a no-op when the dtype already matches.
    public func cast(to target: DType) throws -> Tensor {
        if target == dtype { return self }
        guard Cast.isSupported(from: dtype, to: target) else {
            throw OpsError.unsupported("casting \(dtype.rawValue) to \(target.rawValue) is not supported (floating point types f64/f32/f16/bf16 only)")
        }
        switch node {
        case .zeros: return .zeros(target, shape)
        case let .cast(source): return try source.cast(to: target)
        default: return Tensor(dtype: target, shape: shape, node: .cast(source: self))
        }
    }

    /// A new shape with the same number of elements, in row-major order.
    ///
    /// Supported on views whose strides allow it (always for contiguous ones), on zeros, and on any
    /// expression when only dimensions of size 1 are added or removed.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == numel, newShape.allSatisfy({ $0 >= 0 }) else {
            throw OpsError.invalid("cannot reshape \(self) to \(newShape)")
        }
        if newShape == shape { return self }
        switch node {
        case .zeros:
            return .zeros(dtype, newShape)
        case let .view(store, off, strides):
            if let st = Tensor.reshapeStrides(shape: shape, strides: strides, to: newShape) {
                return Tensor(dtype: dtype, shape: newShape, node: .view(store: store, byteOffset: off, strides: st))
            }
        case let .cast(source):
            return Tensor(dtype: dtype, shape: newShape, node: .cast(source: try source.reshaped(newShape)))
        case .computed:
            return try computedCopy().reshaped(newShape)
        case let .concat(cdim, parts):
            // Only unit dimensions may change: map the concat dim to its place in the new shape.
            let old = shape.enumerated().filter { $0.element != 1 }
            let new = newShape.enumerated().filter { $0.element != 1 }
            if old.map(\.element) == new.map(\.element), shape[cdim] != 1,
               let k = old.firstIndex(where: { $0.offset == cdim }) {
                let nd = new[k].offset
                return try .concat(parts.map { p in
                    var s = newShape
                    s[nd] = p.shape[cdim]
                    return try p.reshaped(s)
                }, dim: nd)
            }
        }
        throw OpsError.unsupported("cannot reshape \(self) to \(newShape) without copying")
    }

    /// torch's `view` stride rule: the new shape must split or merge only dimensions that are
    /// contiguous with each other.
    static func reshapeStrides(shape: [Int], strides: [Int], to newShape: [Int]) -> [Int]? {
        if shape.contains(0) || newShape.contains(0) { return contiguousStrides(newShape) }
        // Drop unit dims; group the old dims into contiguous chunks.
        let dims = zip(shape, strides).filter { $0.0 != 1 }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var oi = 0, ni = 0
        while ni < newShape.count && newShape[ni] == 1 { newStrides[ni] = 1; ni += 1 }
        while oi < dims.count {
            // Collect one contiguous old chunk.
            var chunkSize = dims[oi].0
            var chunkEnd = oi
            while chunkEnd + 1 < dims.count && dims[chunkEnd].1 == dims[chunkEnd + 1].0 * dims[chunkEnd + 1].1 {
                chunkEnd += 1
                chunkSize *= dims[chunkEnd].0
            }
            let innerStride = dims[chunkEnd].1
            // Consume new dims whose product equals the chunk.
            var prod = 1
            var group: [Int] = []
            while ni < newShape.count && prod < chunkSize {
                prod *= newShape[ni]
                group.append(ni)
                ni += 1
            }
            guard prod == chunkSize else { return nil }
            while ni < newShape.count && newShape[ni] == 1 { group.append(ni); ni += 1 }
            var acc = innerStride
            for g in group.reversed() {
                newStrides[g] = acc
                acc *= newShape[g]
            }
            oi = chunkEnd + 1
        }
        guard ni == newShape.count else { return nil }
        return newStrides
    }

    /// True when this tensor is a single contiguous range of one store (written with one copy).
    public var contiguousRange: (store: ByteStore, byteOffset: Int)? {
        guard case let .view(store, off, strides) = node else { return nil }
        var expect = 1
        for i in stride(from: rank - 1, through: 0, by: -1) where shape[i] != 1 {
            guard strides[i] == expect else { return nil }
            expect *= shape[i]
        }
        return (store, off)
    }

    /// The parts of a concatenation along dim 0 (whose bytes are the parts' bytes in order), or
    /// the tensor itself.
    public var leadingParts: [Tensor] {
        if case let .concat(0, parts) = node { return parts }
        return [self]
    }

    /// The stores this expression reads from (for releasing their pages after a write).
    public var stores: [ByteStore] {
        switch node {
        case let .view(store, _, _): return [store]
        case .zeros: return []
        case let .cast(source): return source.stores
        case let .computed(c, _): return c.sources.flatMap(\.stores)
        case let .concat(_, parts):
            var seen: [ObjectIdentifier: ByteStore] = [:]
            for p in parts { for s in p.stores { seen[ObjectIdentifier(s)] = s } }
            return Array(seen.values)
        }
    }
}
