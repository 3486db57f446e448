/// An ordered pattern -> strategy table (§4.2): the first pattern that matches a name decides;
/// names no pattern matches are replicated.
public struct TPTable: Sendable, CustomStringConvertible {
    public let entries: [(pattern: NamePattern, strategy: TPStrategy)]

    public init(_ entries: [(NamePattern, TPStrategy)]) {
        self.entries = entries.map { (pattern: $0.0, strategy: $0.1) }
    }

    public init(_ entries: [(String, TPStrategy)]) throws {
        self.init(try entries.map { (try NamePattern($0.0), $0.1) })
    }

    /// The matching entry's strategy, or nil (replicated) when no pattern matches.
    public func strategy(for name: String) -> TPStrategy? {
        entries.first { $0.pattern.matches(name) }?.strategy
    }

    public var description: String { entries.map { "\($0.strategy) '\($0.pattern)'" }.joined(separator: "; ") }
}

/// Splits a model over tensor-parallel ranks and merges it back (§4.3, §4.4), with a TP size per
/// module decided by name prefix (hetero TP: a ViT at TP 1 beside an LLM at TP 4).
///
/// The number of rank maps is `T = max(sizes)`; every non-zero module size must divide it. A
/// tensor of a module with size `n < T` is split into `n` pieces and rank `t` gets piece `t mod n`
/// (`n = 1`: a full copy everywhere). Replicated tensors go to all `T` ranks.
public struct TensorParallel: Sendable {
    public let table: TPTable
    /// The default size (`tp_size`), used by `text_decoder.*`, by modules whose size is 0 and by
    /// names outside every module prefix.
    public let tp: Int
    /// (name prefix, size) pairs, first match wins; size 0 means "use `tp`".
    public let modules: [(prefix: String, size: Int)]

    /// The MindSpeed-MM modules: `image_encoder` -> `vitTP`, `audio_encoder` -> `audioTP`,
    /// `text_decoder` -> `tp` (0 = use `tp`).
    public init(table: TPTable, tp: Int, vitTP: Int = 0, audioTP: Int = 0) throws {
        try self.init(table: table, tp: tp, modules: [("image_encoder", vitTP), ("audio_encoder", audioTP), ("text_decoder", tp)])
    }

    public init(table: TPTable, tp: Int, modules: [(String, Int)]) throws {
        guard tp > 0 else { throw OpsError.invalid("tp_size must be > 0 (got \(tp))") }
        for (p, s) in modules where s < 0 { throw OpsError.invalid("TP size of '\(p)' must be >= 0 (got \(s))") }
        self.table = table
        self.tp = tp
        self.modules = modules.map { (prefix: $0.0, size: $0.1) }
        for (p, s) in self.modules where s > 0 && width % s != 0 {
            throw OpsError.invalid("TP size \(s) of '\(p)' does not divide the number of TP ranks \(width) (the largest TP size)")
        }
        if width % tp != 0 { throw OpsError.invalid("tp_size \(tp) does not divide the number of TP ranks \(width)") }
    }

    /// Number of TP rank maps: the largest size.
    public var width: Int { modules.map(\.size).reduce(tp, max) }

    /// The TP size that applies to `name`.
    public func size(for name: String) -> Int {
        for m in modules where name.hasPrefix(m.prefix) { return m.size == 0 ? tp : m.size }
        return tp
    }

    /// One map per TP rank (`width` maps), each in the input's order.
    public func split(_ tensors: TensorMap) throws -> [TensorMap] {
        let w = width
        var out = (0..<w).map { _ in TensorMap(capacity: tensors.count) }
        for (name, t) in tensors {
            guard let s = table.strategy(for: name) else {
                for r in 0..<w { out[r][name] = t }
                continue
            }
            let n = size(for: name)
            let pieces = try s.split(t, into: n, name: name)
            for r in 0..<w { out[r][name] = pieces[r % n] }
        }
        return out
    }

    /// The inverse of `split`: the model from its TP rank maps (which must all hold the same names).
    public func merge(_ ranks: [TensorMap]) throws -> TensorMap {
        guard ranks.count == width else {
            throw OpsError.invalid("expected \(width) tensor-parallel ranks, got \(ranks.count)")
        }
        let names = ranks[0].names
        let known = Set(names)
        for (r, m) in ranks.enumerated() {
            if let extra = m.names.first(where: { !known.contains($0) }) {
                throw OpsError.tensor(name: extra, message: "is in TP rank \(r) but not in TP rank 0")
            }
        }
        var out = TensorMap(capacity: names.count)
        for name in names {
            var pieces: [Tensor] = []
            for (r, m) in ranks.enumerated() {
                guard let t = m[name] else { throw OpsError.tensor(name: name, message: "is in TP rank 0 but missing from TP rank \(r)") }
                pieces.append(t)
            }
            let s = table.strategy(for: name) ?? .replicate
            let n = s == .replicate ? pieces.count : size(for: name)
            // Ranks beyond n hold cyclic copies: check they agree in shape with the piece they repeat.
            for r in n..<pieces.count where pieces[r].shape != pieces[r % n].shape || pieces[r].dtype != pieces[r % n].dtype {
                throw OpsError.tensor(name: name, message: "TP rank \(r) holds \(pieces[r]) but should repeat rank \(r % n)'s \(pieces[r % n])")
            }
            out[name] = try s.merge(Array(pieces[0..<n]), name: name)
        }
        return out
    }
}
