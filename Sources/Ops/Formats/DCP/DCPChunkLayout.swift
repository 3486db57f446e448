/// The rules for a tensor's chunk boxes: they must cover the global tensor exactly once (torch
/// checks this only when saving; its loader would leave an uncovered region uninitialised), and
/// their items are assembled into one lazy tensor by straight cuts, never by copying.
public enum DCPChunkLayout {
    /// Throws unless every chunk lies inside `size` and the chunks cover it exactly once
    /// (uneven and empty chunks are fine). `fqn` and `path` (the `.metadata` file) go in messages.
    public static func check(_ chunks: [DCPChunk], size: [Int], fqn: String, path: String) throws {
        func fail(_ message: String) -> OpsError { .format(path: path, message: "entry '\(fqn)': \(message)") }
        guard size.allSatisfy({ $0 >= 0 }) else { throw fail("negative size \(size)") }
        let (total, o) = product(size)
        guard !o else { throw fail("size \(size) has more elements than Int.max") }
        var covered = 0
        for (i, c) in chunks.enumerated() {
            for d in 0..<size.count {
                let (end, o) = c.offsets[d].addingReportingOverflow(c.sizes[d])
                guard c.offsets[d] >= 0, c.sizes[d] >= 0, !o, end <= size[d] else {
                    throw fail("chunk \(i) (offsets \(c.offsets), sizes \(c.sizes)) lies outside the tensor (size \(size))")
                }
            }
            let (sum, o2) = covered.addingReportingOverflow(c.numel)
            guard !o2 else { throw fail("the chunks hold more elements than Int.max") }
            covered = sum
        }
        // Overlaps: sweep over the chunks sorted by their start along dim 0 (for the usual
        // Shard(0) layouts only neighbours are compared).
        let boxes = chunks.enumerated().filter { $0.element.numel > 0 }
        if size.count > 0 {
            let sorted = boxes.sorted { $0.element.offsets[0] < $1.element.offsets[0] }
            for a in 0..<sorted.count {
                let x = sorted[a].element
                var b = a + 1
                while b < sorted.count, sorted[b].element.offsets[0] < x.offsets[0] + x.sizes[0] {
                    let y = sorted[b].element
                    if intersects(x, y) {
                        let (i, j) = (min(sorted[a].offset, sorted[b].offset), max(sorted[a].offset, sorted[b].offset))
                        throw fail("chunks \(i) (offsets \(chunks[i].offsets), sizes \(chunks[i].sizes)) and \(j) (offsets \(chunks[j].offsets), sizes \(chunks[j].sizes)) overlap")
                    }
                    b += 1
                }
            }
        } else if boxes.count > 1 {
            throw fail("\(boxes.count) chunks of a 0-d tensor overlap")
        }
        if covered != total {
            let hole = uncovered(chunks, size: size).map { ", e.g. the element at \($0)" } ?? ""
            throw fail("the chunks cover \(covered) of the tensor's \(total) elements (size \(size)): a gap\(hole) would be left uninitialised")
        }
    }

    static func product(_ dims: [Int]) -> (Int, Bool) {
        var n = 1
        for d in dims {
            let (m, o) = n.multipliedReportingOverflow(by: d)
            if o { return (0, true) }
            n = m
        }
        return (n, false)
    }

    static func intersects(_ a: DCPChunk, _ b: DCPChunk) -> Bool {
        for d in 0..<a.offsets.count {
            if max(a.offsets[d], b.offsets[d]) >= min(a.offsets[d] + a.sizes[d], b.offsets[d] + b.sizes[d]) { return false }
        }
        return true
    }

    /// An element no chunk covers, searched over the grid of chunk boundaries (for the message;
    /// nil when that grid is too large to scan).
    static func uncovered(_ chunks: [DCPChunk], size: [Int]) -> [Int]? {
        let rank = size.count
        var cuts: [[Int]] = []
        var cells = 1
        for d in 0..<rank {
            var s = Set([0])
            for c in chunks { s.insert(c.offsets[d]); s.insert(c.offsets[d] + c.sizes[d]) }
            let dim = s.filter { $0 < size[d] }.sorted()
            cuts.append(dim)
            cells *= dim.count
            if cells > 1_000_000 || dim.isEmpty { return nil }
        }
        var index = [Int](repeating: 0, count: rank)
        while true {
            let point = (0..<rank).map { cuts[$0][index[$0]] }
            let hit = chunks.contains { c in (0..<rank).allSatisfy { point[$0] >= c.offsets[$0] && point[$0] < c.offsets[$0] + c.sizes[$0] } }
            if !hit { return point }
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < cuts[d].count { break }
                index[d] = 0
                d -= 1
            }
            if d < 0 { return nil }
        }
    }

    /// One chunk's box and its loaded tensor (shape = the box's sizes).
    struct Piece {
        let chunk: DCPChunk
        let tensor: Tensor
    }

    /// The global tensor from pieces that tile it exactly once (checked by `check`): cut the box
    /// along a dimension where no piece straddles the cut, assemble each slab, concatenate. Every
    /// grid layout (Shard on one or several dims, uneven, empty pieces) decomposes this way.
    static func assemble(_ pieces: [Piece], size: [Int], dtype: DType, fqn: String) throws -> Tensor {
        try assemble(pieces.filter { $0.chunk.numel > 0 }, lo: [Int](repeating: 0, count: size.count), hi: size, dtype: dtype, fqn: fqn)
    }

    private static func assemble(_ pieces: [Piece], lo: [Int], hi: [Int], dtype: DType, fqn: String) throws -> Tensor {
        let shape = zip(lo, hi).map { $1 - $0 }
        if shape.contains(0) { return .zeros(dtype, shape) }
        if pieces.count == 1, pieces[0].chunk.offsets == lo, pieces[0].tensor.shape == shape { return pieces[0].tensor }
        for d in 0..<shape.count {
            let starts = Set(pieces.map { $0.chunk.offsets[d] }).filter { $0 > lo[d] && $0 < hi[d] }
            let cuts = starts.filter { c in
                !pieces.contains { $0.chunk.offsets[d] < c && c < $0.chunk.offsets[d] + $0.chunk.sizes[d] }
            }.sorted()
            guard !cuts.isEmpty else { continue }
            let bounds = [lo[d]] + cuts + [hi[d]]
            var slabs: [Tensor] = []
            for k in 0..<(bounds.count - 1) {
                var slo = lo, shi = hi
                slo[d] = bounds[k]
                shi[d] = bounds[k + 1]
                let inside = pieces.filter { $0.chunk.offsets[d] >= slo[d] && $0.chunk.offsets[d] + $0.chunk.sizes[d] <= shi[d] }
                slabs.append(try assemble(inside, lo: slo, hi: shi, dtype: dtype, fqn: fqn))
            }
            return try .concat(slabs, dim: d)
        }
        throw OpsError.unsupported("entry '\(fqn)': its \(pieces.count) chunks in the box \(lo)..<\(hi) cannot be separated by a straight cut (a pinwheel tiling): not supported")
    }
}
