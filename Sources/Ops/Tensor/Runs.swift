/// One contiguous piece of a tensor's row-major bytes.
public enum Run {
    /// Bytes to copy as they are (pointing into a mapped file or a scratch buffer valid only
    /// during the callback).
    case bytes(UnsafeRawBufferPointer)
    /// This many zero bytes.
    case zeros(Int)

    public var count: Int {
        switch self {
        case let .bytes(b): return b.count
        case let .zeros(n): return n
        }
    }
}

/// Runs shorter than this are gathered into a scratch buffer instead of being passed one by one.
let smallRunBytes = 256
/// Size of the scratch buffers used for gathering and casting.
let scratchBytes = 256 << 10
/// Contiguous source ranges are streamed (and their mapped pages released) in pieces of this size.
let releaseChunkBytes = 16 << 20

extension Tensor {
    /// Streams the tensor's bytes in row-major (C-contiguous) order as contiguous runs.
    ///
    /// This is the one place where an expression is compiled into copies: views become strided
    /// loops over their store, concatenations visit their parts block by block, casts convert
    /// through a bounded scratch buffer. Memory used is O(scratch), whatever the tensor's size.
    public func forEachRun(_ body: (Run) throws -> Void) throws {
        if numel == 0 { return }
        switch node {
        case .zeros:
            try body(.zeros(byteCount))
        case let .view(store, off, strides):
            try emitView(store: store, byteOffset: off, strides: strides, body)
        case let .cast(source):
            try emitCast(source: source, body)
        case let .computed(c, rowStart):
            try c.emit(rows: rowStart..<(rowStart + shape[0]), body)
        case let .concat(dim, parts):
            if dim == 0 {
                for p in parts { try p.forEachRun(body) }
            } else if dim == 1, try emitColumnConcat(parts: parts, body) {
                // Row bands assembled in scratch (ConcatRuns.swift).
            } else {
                // Row by row; the rows' source pages are given back in slabs of about
                // `releaseChunkBytes`, so a large merged tensor is never resident whole.
                let rowBytes = byteCount / shape[0]
                let slab = max(1, releaseChunkBytes / max(1, rowBytes))
                var released = 0
                for i in 0..<shape[0] {
                    let rows = try parts.map { try $0.selecting(i) }
                    try Tensor.concat(rows, dim: dim - 1).forEachRun(body)
                    if i + 1 - released >= slab || i + 1 == shape[0] {
                        for p in parts { try p.slice(dim: 0, start: released, count: i + 1 - released).releaseSourcePages() }
                        released = i + 1
                    }
                }
            }
        }
    }

    /// The sub-tensor at index `i` of dim 0, with that dimension removed.
    func selecting(_ i: Int) throws -> Tensor {
        let s = try slice(dim: 0, start: i, count: 1)
        return try s.dropLeadingUnit()
    }

    private func dropLeadingUnit() throws -> Tensor {
        let newShape = Array(shape.dropFirst())
        switch node {
        case let .view(store, off, strides):
            return Tensor(dtype: dtype, shape: newShape, node: .view(store: store, byteOffset: off, strides: Array(strides.dropFirst())))
        case .zeros:
            return .zeros(dtype, newShape)
        case let .cast(source):
            return Tensor(dtype: dtype, shape: newShape, node: .cast(source: try source.dropLeadingUnit()))
        case .computed:
            return try computedCopy().dropLeadingUnit()
        case let .concat(dim, parts):
            if dim == 0 { return try parts[0].dropLeadingUnit() }
            return try .concat(parts.map { try $0.dropLeadingUnit() }, dim: dim - 1)
        }
    }

    private func emitView(store: ByteStore, byteOffset: Int, strides: [Int], _ body: (Run) throws -> Void) throws {
        // Transposed matrices would otherwise be one-element runs (TransposeRuns.swift).
        if try emitTransposedView(store: store, byteOffset: byteOffset, strides: strides, body) { return }
        let size = dtype.size
        // Largest suffix of dimensions that is one contiguous block.
        var k = rank
        var inner = 1
        while k > 0 && (shape[k - 1] == 1 || strides[k - 1] == inner) {
            inner *= shape[k - 1]
            k -= 1
        }
        let blockBytes = inner * size
        let outer = Array(shape[0..<k])
        let outerStrides = Array(strides[0..<k])
        let base = store.base + byteOffset
        if k == 0 {
            // One contiguous range: hand it over in pieces and give each piece's pages back to the
            // kernel once written, so a large tensor never sits in the resident set whole.
            var done = 0
            // Ask the kernel to read ahead what comes next (a cold, scattered input such as a
            // training checkpoint's model items is otherwise read in the small steps of page
            // faults): the first two pieces now, then each piece two ahead of the one written.
            store.prefetch(offset: byteOffset, count: min(blockBytes, 2 * releaseChunkBytes))
            while done < blockBytes {
                let n = min(releaseChunkBytes, blockBytes - done)
                let ahead = done + 2 * releaseChunkBytes
                if ahead < blockBytes { store.prefetch(offset: byteOffset + ahead, count: min(releaseChunkBytes, blockBytes - ahead)) }
                try body(.bytes(UnsafeRawBufferPointer(start: base + done, count: n)))
                // Small ranges (a row of a merge) are left to the writer's release after the
                // whole tensor: one system call per row would cost more than the copy.
                if blockBytes > releaseChunkBytes { store.release(offset: byteOffset + done, count: n) }
                done += n
            }
            return
        }
        var odometer = Odometer(shape: outer, strides: outerStrides)
        let gather = blockBytes < smallRunBytes
        let scratch = gather ? UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64) : nil
        defer { scratch?.deallocate() }
        var filled = 0
        // A row-major walk (outer strides non-increasing) only moves forward through the store:
        // release what lies behind it as it goes, so a strided view of a huge tensor (a column
        // split) does not keep the whole tensor resident.
        let forward = zip(outerStrides, outerStrides.dropFirst()).allSatisfy { $0 >= $1 } && outerStrides.allSatisfy { $0 >= 0 }
        var releasedTo = byteOffset
        while true {
            let src = base + odometer.offset * size
            if forward, byteOffset + odometer.offset * size - releasedTo >= releaseChunkBytes {
                let upTo = byteOffset + odometer.offset * size
                store.release(offset: releasedTo, count: upTo - releasedTo)
                releasedTo = upTo
            }
            if let scratch {
                if filled + blockBytes > scratchBytes {
                    try body(.bytes(UnsafeRawBufferPointer(start: scratch, count: filled)))
                    filled = 0
                }
                (scratch + filled).copyMemory(from: src, byteCount: blockBytes)
                filled += blockBytes
            } else {
                try body(.bytes(UnsafeRawBufferPointer(start: src, count: blockBytes)))
            }
            if !odometer.advance() { break }
        }
        if let scratch, filled > 0 {
            try body(.bytes(UnsafeRawBufferPointer(start: scratch, count: filled)))
        }
    }

    private func emitCast(source: Tensor, _ body: (Run) throws -> Void) throws {
        let from = source.dtype, to = dtype
        let out = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes / from.size * to.size + 64, alignment: 64)
        defer { out.deallocate() }
        let maxElements = scratchBytes / max(from.size, to.size)
        // Source runs may split an element only if they are not multiples of the element size,
        // which never happens: every run is whole elements.
        try source.forEachRun { run in
            switch run {
            case let .zeros(n):
                try body(.zeros(n / from.size * to.size))
            case let .bytes(b):
                var done = 0
                let total = b.count / from.size
                while done < total {
                    let n = min(maxElements, total - done)
                    Cast.convert(b.baseAddress! + done * from.size, from: from, to: out, as: to, count: n)
                    try body(.bytes(UnsafeRawBufferPointer(start: out, count: n * to.size)))
                    done += n
                }
            }
        }
    }

    /// The tensor's bytes, contiguous, in memory. For tests, small tensors and statistics only:
    /// conversions never call this.
    public func materialize() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        try forEachRun { run in
            switch run {
            case let .bytes(b): out.append(contentsOf: b)
            case let .zeros(n): out.append(contentsOf: repeatElement(0, count: n))
            }
        }
        return out
    }

    /// A contiguous in-memory copy (used by tests and by the sample generator).
    public static func fromBytes(_ bytes: [UInt8], dtype: DType, shape: [Int], name: String = "<memory>") throws -> Tensor {
        try contiguous(ByteStore(bytes: bytes, name: name), dtype: dtype, shape: shape)
    }
}


extension Tensor {
    /// Gives the pages of every mapped range this expression reads back to the kernel (they are
    /// re-read from the page cache if needed again). Called after a tensor is written, so the
    /// resident set stays bounded by what is being copied, not by the model.
    public func releaseSourcePages() {
        switch node {
        case .zeros: return
        case let .cast(source): source.releaseSourcePages()
        case let .computed(c, _): for s in c.sources { s.releaseSourcePages() }
        case let .concat(_, parts): for p in parts { p.releaseSourcePages() }
        case let .view(store, off, strides):
            guard numel > 0 else { return }
            var last = 0
            for (s, d) in zip(strides, shape) { last += (d - 1) * s }
            store.release(offset: off, count: (last + 1) * dtype.size)
        }
    }
}
