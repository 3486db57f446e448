#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where two tensors of the same dtype and shape differ.
public struct ByteMismatch: Equatable, Sendable {
    /// How many elements differ (bitwise: NaNs with the same bits are equal, +0 and -0 are not).
    public let differingElements: Int
    public let totalElements: Int
    /// Index of the first differing element, one entry per dimension.
    public let firstIndex: [Int]
    /// That element's bytes in each tensor, as little-endian hex (`0x3f80`).
    public let firstA: String
    public let firstB: String

    public var description: String {
        "\(differingElements) of \(totalElements) elements differ, first at \(firstIndex) (\(firstA) vs \(firstB))"
    }
}

/// Compares the element bytes of two lazy tensors block by block, in bounded memory.
///
/// Both tensors are cut the same way into row-major blocks of at most `blockBytes` (whole rows
/// where they fit, rows cut further where they do not); each block of each side is streamed with
/// `forEachRun` into a scratch buffer and the two buffers are compared. Memory is two blocks,
/// whatever the tensors' size; every byte is read once.
public struct TensorBytesComparison {
    public let blockBytes: Int

    public init(blockBytes: Int = 4 << 20) {
        self.blockBytes = max(64, blockBytes)
    }

    /// nil when the bytes are equal. The tensors must have the same dtype and shape.
    public func compare(_ a: Tensor, _ b: Tensor) throws -> ByteMismatch? {
        guard a.dtype == b.dtype, a.shape == b.shape else {
            throw OpsError.invalid("byte comparison of \(a) and \(b): dtype and shape must agree")
        }
        let state = try scan(a, b, stopAtFirstBlock: false)
        guard let first = state.firstElement else { return nil }
        return ByteMismatch(differingElements: state.differing, totalElements: a.numel,
                            firstIndex: Self.index(of: first, in: a.shape), firstA: state.firstA, firstB: state.firstB)
    }

    /// Whether dtype, shape and bytes are equal, reading only up to the first block that differs
    /// (asking "is this output layer a copy of the embedding?" should not read 1 GB to say no).
    public func equal(_ a: Tensor, _ b: Tensor) throws -> Bool {
        guard a.dtype == b.dtype, a.shape == b.shape else { return false }
        return try scan(a, b, stopAtFirstBlock: true).firstElement == nil
    }

    private func scan(_ a: Tensor, _ b: Tensor, stopAtFirstBlock: Bool) throws -> State {
        var state = State(shape: a.shape, size: a.dtype.size, stopAtFirstBlock: stopAtFirstBlock)
        if a.byteCount == 0 || sameView(a, b) { return state }
        let bufA = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 64)
        let bufB = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 64)
        defer { bufA.deallocate(); bufB.deallocate() }
        try walk(a, b, elementBase: 0, bufA, bufB, &state)
        return state
    }

    private struct State {
        let shape: [Int]
        let size: Int
        var differing = 0
        var firstElement: Int?
        var firstA = ""
        var firstB = ""
        /// Stop at the first block that differs (`equal`): the counts are then incomplete.
        var stopAtFirstBlock = false
        var done: Bool { stopAtFirstBlock && firstElement != nil }
    }

    /// Both are the very same bytes (e.g. a checkpoint compared with itself): nothing to read.
    private func sameView(_ a: Tensor, _ b: Tensor) -> Bool {
        guard case let .view(sa, oa, sta) = a.node, case let .view(sb, ob, stb) = b.node else { return false }
        return sa === sb && oa == ob && sta == stb
    }

    private func walk(_ a: Tensor, _ b: Tensor, elementBase: Int,
                      _ bufA: UnsafeMutableRawPointer, _ bufB: UnsafeMutableRawPointer, _ state: inout State) throws {
        if a.byteCount == 0 { return }
        if a.byteCount <= blockBytes || a.rank == 0 {
            try compareBlock(a, b, elementBase: elementBase, bufA, bufB, &state)
            return
        }
        let rows = a.shape[0]
        let rowElements = a.numel / rows
        let rowBytes = rowElements * a.dtype.size
        if rowBytes <= blockBytes {
            let step = blockBytes / rowBytes
            var start = 0
            while start < rows && !state.done {
                let n = min(step, rows - start)
                try compareBlock(try a.slice(dim: 0, start: start, count: n), try b.slice(dim: 0, start: start, count: n),
                                 elementBase: elementBase + start * rowElements, bufA, bufB, &state)
                start += n
            }
        } else {
            for i in 0..<rows where !state.done {
                try walk(try a.selecting(i), try b.selecting(i), elementBase: elementBase + i * rowElements, bufA, bufB, &state)
            }
        }
    }

    private func compareBlock(_ a: Tensor, _ b: Tensor, elementBase: Int,
                              _ bufA: UnsafeMutableRawPointer, _ bufB: UnsafeMutableRawPointer, _ state: inout State) throws {
        let n = a.byteCount
        try Self.fill(a, bufA)
        try Self.fill(b, bufB)
        // Each byte is read once: drop the mapped pages so resident memory stays at a few blocks.
        for t in [a, b] {
            if let (store, offset) = t.contiguousRange { store.release(offset: offset, count: t.byteCount) }
        }
        if memcmp(bufA, bufB, n) == 0 { return }
        if state.stopAtFirstBlock {
            state.firstElement = elementBase
            return
        }
        let size = state.size
        var e = 0
        while e < n / size {
            if memcmp(bufA + e * size, bufB + e * size, size) != 0 {
                if state.firstElement == nil {
                    state.firstElement = elementBase + e
                    state.firstA = Self.hex(bufA + e * size, size)
                    state.firstB = Self.hex(bufB + e * size, size)
                }
                state.differing += 1
            }
            e += 1
        }
    }

    /// Streams `t` (at most `blockBytes`) into `buffer`.
    static func fill(_ t: Tensor, _ buffer: UnsafeMutableRawPointer) throws {
        var at = 0
        try t.forEachRun { run in
            switch run {
            case let .bytes(b):
                if let base = b.baseAddress { (buffer + at).copyMemory(from: base, byteCount: b.count) }
                at += b.count
            case let .zeros(n):
                (buffer + at).initializeMemory(as: UInt8.self, repeating: 0, count: n)
                at += n
            }
        }
    }

    /// The element's value as a little-endian number in hex (most significant digit first).
    static func hex(_ p: UnsafeRawPointer, _ size: Int) -> String {
        "0x" + (0..<size).reversed().map { hex2(p.load(fromByteOffset: $0, as: UInt8.self)) }.joined()
    }

    /// Row-major multi-index of a flat element number.
    static func index(of flat: Int, in shape: [Int]) -> [Int] {
        var rest = flat
        var out = [Int](repeating: 0, count: shape.count)
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] > 0 {
            out[d] = rest % shape[d]
            rest /= shape[d]
        }
        return out
    }
}
