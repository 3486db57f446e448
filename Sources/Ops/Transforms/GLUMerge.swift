/// Gate and up projections -> one `linear_fc1` = `[gate; up]` (§3.2), e.g.
/// `model.layers.{L}.mlp.{gate,up}_proj.weight` -> `text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight`.
/// Works for weights and 1-D biases; per-expert names work the same way (`{E}` in both patterns).
/// The inverse splits the first dimension into two halves.
public struct GLUMerge: Transform {
    let engine: MergeEngine

    /// `input` has a leading 2-way group for gate, up (in that order).
    public init(input: NamePattern, output: NamePattern, presence: Presence = .required) throws {
        engine = MergeEngine(pairing: try PatternPairing(input: input, output: output, parts: 2), presence: presence, step: "glu merge '\(output)'")
    }

    public init(_ input: String, _ output: String, presence: Presence = .required) throws {
        try self.init(input: try NamePattern(input), output: try NamePattern(output), presence: presence)
    }

    public var description: String { engine.step }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try engine.merge(tensors) { parts, names, _ in
            try requireSameTrailing(parts, names)
            guard parts[0].shape[0] == parts[1].shape[0] else {
                throw OpsError.tensor(name: names[1], message: "has \(parts[1].shape[0]) rows but '\(names[0])' has \(parts[0].shape[0]); gate and up must be the same size")
            }
            return try Tensor.concat(parts, dim: 0)
        }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try engine.split(tensors) { t, name in
            try requireDivisible(try rows(of: t, name), by: 2, "rows", tensor: name)
            return try t.chunk(2, dim: 0)
        }
    }
}

/// Plain concatenation along a dimension with declared part sizes (§3.4, DeepSeek-VL2 MLA
/// `[q_a_proj; kv_a_proj_with_mqa]`), so that it can be split back exactly (the reference has no
/// inverse, §9 Q10).
public struct ConcatMerge: Transform {
    /// Size of each part along `dim`, in part order.
    public let sizes: [Int]
    public let dim: Int
    let engine: MergeEngine

    /// Parts from a leading alternative group of `sizes.count` choices in `input`.
    public init(input: NamePattern, output: NamePattern, sizes: [Int], dim: Int = 0, presence: Presence = .required) throws {
        guard sizes.count >= 2, sizes.allSatisfy({ $0 >= 0 }), dim >= 0 else {
            throw OpsError.invalid("concat merge '\(output)': needs at least two non-negative part sizes and dim >= 0")
        }
        self.sizes = sizes
        self.dim = dim
        engine = MergeEngine(pairing: try PatternPairing(input: input, output: output, parts: sizes.count), presence: presence, step: "concat merge '\(output)'")
    }

    /// Parts as separate patterns (for parts whose names differ in more than one spot).
    public init(parts: [NamePattern], output: NamePattern, sizes: [Int], dim: Int = 0, presence: Presence = .required) throws {
        guard sizes.count == parts.count, sizes.allSatisfy({ $0 >= 0 }), dim >= 0 else {
            throw OpsError.invalid("concat merge '\(output)': one non-negative size per part is needed")
        }
        self.sizes = sizes
        self.dim = dim
        engine = MergeEngine(pairing: try PatternPairing(parts: parts, output: output), presence: presence, step: "concat merge '\(output)'")
    }

    public init(_ input: String, _ output: String, sizes: [Int], dim: Int = 0, presence: Presence = .required) throws {
        try self.init(input: try NamePattern(input), output: try NamePattern(output), sizes: sizes, dim: dim, presence: presence)
    }

    public var description: String { "\(engine.step) sizes=\(sizes) dim=\(dim)" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try engine.merge(tensors) { parts, names, _ in
            for (i, (t, n)) in zip(parts, names).enumerated() {
                guard t.rank > dim, t.shape[dim] == sizes[i] else {
                    throw OpsError.tensor(name: n, message: "\(t) should have size \(sizes[i]) along dim \(dim)")
                }
            }
            return try Tensor.concat(parts, dim: dim)
        }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try engine.split(tensors) { t, name in
            guard t.rank > dim, t.shape[dim] == sizes.reduce(0, +) else {
                throw OpsError.tensor(name: name, message: "\(t) does not split into \(sizes) along dim \(dim)")
            }
            return try t.split(sizes: sizes, dim: dim)
        }
    }
}
