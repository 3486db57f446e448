/// How one tensor is divided over `n` tensor-parallel ranks, and put back together (§4.1).
///
/// Every strategy requires exact divisibility, naming the tensor when it fails (the reference
/// silently drops remainders, §9 Q7), except the unaligned ones, which exist for models whose
/// head or vocabulary counts do not divide (InternViT-6B: 25 heads; odd vocabularies).
public enum TPStrategy: Sendable, Equatable, CustomStringConvertible {
    /// Dim 0 in `n` equal contiguous pieces (ColumnParallelLinear weights and biases, embeddings).
    case row
    /// Dim 1 in `n` equal pieces (RowParallelLinear weights).
    case col
    /// Fused `[gate; up]`: each rank gets its slice of gate followed by its slice of up.
    case glu
    /// Dim 0 in `n` contiguous pieces whose sizes differ by at most one row, larger ones first
    /// (vocabulary not divisible by TP).
    case unalignedVocab
    /// Concatenated `[q; k; v]` with `heads` heads per block: rank k gets its heads' rows of each
    /// block, `[q_k; k_k; v_k]`; heads are dealt like `unalignedVocab` (InternVL ViT qkv). With
    /// divisible heads this is also the correct split of any concatenated qkv (§9 Q6).
    case unalignedRow(heads: Int)
    /// Dim 1 by whole heads of `cols / heads` columns, dealt like `unalignedVocab` (InternVL ViT proj).
    case unalignedCol(heads: Int)
    /// Dim 0 made of `parts` equal blocks (`[q; k; v]`: 3): each rank gets its slice of every
    /// block, `[q_r; k_r; v_r]` (HunyuanVideo's fused qkv, CogVideoX's; `glu` is the 2-block case).
    case fusedRows(parts: Int)
    /// Dim 1 made of blocks of the given widths (HunyuanVideo's `linear2`: `[x (H) | mlp (4H)]`):
    /// each rank gets its slice of every block, side by side.
    case fusedCols(sizes: [Int])
    /// The same tensor on every rank.
    case replicate

    public var description: String {
        switch self {
        case .row: return "row"
        case .col: return "col"
        case .glu: return "glu"
        case .unalignedVocab: return "unaligned-vocab"
        case let .unalignedRow(h): return "unaligned-row(heads=\(h))"
        case let .unalignedCol(h): return "unaligned-col(heads=\(h))"
        case let .fusedRows(p): return "qkv(parts=\(p))"
        case let .fusedCols(sizes): return "catcol(sizes=\(sizes))"
        case .replicate: return "replicate"
        }
    }

    /// The strategy a recipe names: `row`, `col`, `glu`, `uemb` (or `unaligned-vocab`), `urow` and
    /// `ucol` (these two need `heads`), `replicate` (or `none`). Case and `-`/`_` are ignored.
    public init(name: String, heads: Int? = nil, parts: Int? = nil, sizes: [Int]? = nil) throws {
        let key = name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "")
        func needHeads() throws -> Int {
            guard let h = heads, h > 0 else { throw OpsError.invalid("TP strategy '\(name)' needs heads > 0") }
            return h
        }
        switch key {
        case "row": self = .row
        case "col", "column": self = .col
        case "glu": self = .glu
        case "uemb", "unalignedvocab", "unalignedembedding": self = .unalignedVocab
        case "urow", "unalignedrow": self = .unalignedRow(heads: try needHeads())
        case "ucol", "unalignedcol": self = .unalignedCol(heads: try needHeads())
        case "qkv", "fusedrows":
            let p = parts ?? 3
            guard p > 0 else { throw OpsError.invalid("TP strategy '\(name)' needs parts > 0") }
            self = .fusedRows(parts: p)
        case "catcol", "fusedcols":
            guard let sizes, !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else { throw OpsError.invalid("TP strategy '\(name)' needs sizes=[...] of the column blocks, each > 0") }
            self = .fusedCols(sizes: sizes)
        case "replicate", "none": self = .replicate
        default:
            throw OpsError.invalid("unknown TP strategy '\(name)' (expected row, col, glu, qkv, catcol, uemb, urow, ucol or replicate)")
        }
    }

    /// Sizes of `total` items dealt over `n` ranks: `total / n`, plus one for the first `total % n`.
    public static func unalignedSizes(_ total: Int, over n: Int) -> [Int] {
        (0..<n).map { total / n + ($0 < total % n ? 1 : 0) }
    }

    /// The `n` pieces, rank order. `n == 1` gives the tensor itself.
    public func split(_ t: Tensor, into n: Int, name: String) throws -> [Tensor] {
        guard n > 0 else { throw OpsError.invalid("tensor parallel size must be > 0 (tensor '\(name)')") }
        if n == 1 { return [t] }
        func need(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw OpsError.tensor(name: name, message: message()) }
        }
        switch self {
        case .replicate:
            return Array(repeating: t, count: n)
        case .row:
            try need(t.rank >= 1 && t.shape[0] % n == 0, "\(t): \(t.shape.first ?? 0) rows do not split over tp=\(n)")
            return try t.chunk(n, dim: 0)
        case .col:
            try need(t.rank >= 2 && t.shape[1] % n == 0, "\(t): \(t.rank >= 2 ? t.shape[1] : 0) columns do not split over tp=\(n)")
            return try t.chunk(n, dim: 1)
        case .glu:
            try need(t.rank >= 1 && t.shape[0] % (2 * n) == 0, "\(t): gate/up halves of \((t.shape.first ?? 0) / 2) rows do not split over tp=\(n)")
            let halves = try t.chunk(2, dim: 0)
            let g = try halves[0].chunk(n, dim: 0), u = try halves[1].chunk(n, dim: 0)
            return try (0..<n).map { try Tensor.concat([g[$0], u[$0]], dim: 0) }
        case let .fusedRows(parts):
            try need(t.rank >= 1 && t.shape[0] % (parts * n) == 0, "\(t): \(parts) blocks of \((t.shape.first ?? 0) / parts) rows do not split over tp=\(n)")
            let blocks = try t.chunk(parts, dim: 0).map { try $0.chunk(n, dim: 0) }
            return try (0..<n).map { r in try Tensor.concat(blocks.map { $0[r] }, dim: 0) }
        case let .fusedCols(sizes):
            try need(t.rank >= 2 && t.shape[1] == sizes.reduce(0, +), "\(t): \(t.rank >= 2 ? t.shape[1] : 0) columns are not the blocks \(sizes)")
            try need(sizes.allSatisfy { $0 % n == 0 }, "\(t): column blocks \(sizes) do not split over tp=\(n)")
            let blocks = try t.split(sizes: sizes, dim: 1).map { try $0.chunk(n, dim: 1) }
            return try (0..<n).map { r in try Tensor.concat(blocks.map { $0[r] }, dim: 1) }
        case .unalignedVocab:
            try need(t.rank >= 1 && t.shape[0] >= n, "\(t): \(t.shape.first ?? 0) rows cannot give every one of tp=\(n) ranks a row")
            return try t.split(sizes: TPStrategy.unalignedSizes(t.shape[0], over: n), dim: 0)
        case let .unalignedRow(heads):
            try need(heads >= n, "\(heads) heads do not split over tp=\(n)")
            try need(t.rank >= 1 && t.shape[0] % (3 * heads) == 0, "\(t): rows are not 3 blocks of \(heads) heads")
            let p = t.shape[0] / 3 / heads
            let sizes = TPStrategy.unalignedSizes(heads, over: n).map { $0 * p }
            let blocks = try t.chunk(3, dim: 0).map { try $0.split(sizes: sizes, dim: 0) }
            return try (0..<n).map { k in try Tensor.concat([blocks[0][k], blocks[1][k], blocks[2][k]], dim: 0) }
        case let .unalignedCol(heads):
            try need(heads >= n, "\(heads) heads do not split over tp=\(n)")
            try need(t.rank >= 2 && t.shape[1] % heads == 0, "\(t): columns are not \(heads) heads")
            let p = t.shape[1] / heads
            return try t.split(sizes: TPStrategy.unalignedSizes(heads, over: n).map { $0 * p }, dim: 1)
        }
    }

    /// The tensor from its pieces (rank order): the exact inverse of `split`.
    public func merge(_ pieces: [Tensor], name: String) throws -> Tensor {
        guard let first = pieces.first else { throw OpsError.tensor(name: name, message: "no tensor-parallel pieces to merge") }
        if pieces.count == 1 { return first }
        switch self {
        case .replicate:
            for p in pieces where p.shape != first.shape || p.dtype != first.dtype {
                throw OpsError.tensor(name: name, message: "replicated copies differ: \(first) vs \(p)")
            }
            return first
        case .row, .unalignedVocab:
            return try concat(pieces, dim: 0, name)
        case .col, .unalignedCol:
            return try concat(pieces, dim: 1, name)
        case .glu:
            let halves = try pieces.map { p -> [Tensor] in
                guard p.rank >= 1, p.shape[0] % 2 == 0 else { throw OpsError.tensor(name: name, message: "GLU piece \(p) has an odd row count") }
                return try p.chunk(2, dim: 0)
            }
            return try concat(halves.map { $0[0] } + halves.map { $0[1] }, dim: 0, name)
        case let .fusedRows(parts):
            let blocks = try pieces.map { p -> [Tensor] in
                guard p.rank >= 1, p.shape[0] % parts == 0 else { throw OpsError.tensor(name: name, message: "piece \(p) is not \(parts) equal blocks") }
                return try p.chunk(parts, dim: 0)
            }
            return try concat((0..<parts).flatMap { b in blocks.map { $0[b] } }, dim: 0, name)
        case let .fusedCols(sizes):
            let n = pieces.count
            guard sizes.allSatisfy({ $0 % n == 0 }) else { throw OpsError.tensor(name: name, message: "column blocks \(sizes) do not come from tp=\(n)") }
            let blocks = try pieces.map { p -> [Tensor] in
                guard p.rank >= 2, p.shape[1] * n == sizes.reduce(0, +) else { throw OpsError.tensor(name: name, message: "piece \(p) is not 1/\(n) of the column blocks \(sizes)") }
                return try p.split(sizes: sizes.map { $0 / n }, dim: 1)
            }
            return try concat((0..<sizes.count).flatMap { b in blocks.map { $0[b] } }, dim: 1, name)
        case .unalignedRow:
            // Regroup the thirds: all q parts, then all k parts, then all v parts (§9 Q5).
            let thirds = try pieces.map { p -> [Tensor] in
                guard p.rank >= 1, p.shape[0] % 3 == 0 else { throw OpsError.tensor(name: name, message: "qkv piece \(p) is not three equal blocks") }
                return try p.chunk(3, dim: 0)
            }
            return try concat((0..<3).flatMap { b in thirds.map { $0[b] } }, dim: 0, name)
        }
    }

    private func concat(_ parts: [Tensor], dim: Int, _ name: String) throws -> Tensor {
        do { return try Tensor.concat(parts, dim: dim) } catch {
            throw OpsError.tensor(name: name, message: "pieces \(parts.map(\.description)) do not concatenate along dim \(dim)")
        }
    }
}
