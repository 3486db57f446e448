/// Separate q/k/v projections -> Megatron's group-interleaved `linear_qkv` (§3.3), e.g.
/// `model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}` -> `text_decoder.decoder.layers.{L}.self_attention.linear_qkv.{weight,bias}`
/// with `groups` = KV heads and `heads` = attention heads.
///
/// The head dim is read from the tensors (k rows / groups), so no hidden size is needed; the
/// parameters are validated against the shapes (the reference's torch `chunk` silently mis-orders
/// non-divisible sizes, §3.3). The inverse derives `d = rows / (heads + 2*groups)`.
/// Also covers the per-head (MHA) interleave of separate ViT q/k/v (Omni): `groups == heads`.
public struct QKVMerge: Transform {
    public let groups: Int
    public let heads: Int
    let engine: MergeEngine

    /// `input` has a leading 3-way group for q, k, v (in that order); see `PatternPairing`.
    public init(input: NamePattern, output: NamePattern, groups: Int, heads: Int, presence: Presence = .required) throws {
        guard groups > 0, heads > 0, heads % groups == 0 else {
            throw OpsError.invalid("qkv merge '\(output)': \(heads) heads do not divide into \(groups) groups")
        }
        self.groups = groups
        self.heads = heads
        engine = MergeEngine(pairing: try PatternPairing(input: input, output: output, parts: 3), presence: presence, step: "qkv merge '\(output)'")
    }

    public init(_ input: String, _ output: String, groups: Int, heads: Int, presence: Presence = .required) throws {
        try self.init(input: try NamePattern(input), output: try NamePattern(output), groups: groups, heads: heads, presence: presence)
    }

    public var description: String { "\(engine.step) groups=\(groups) heads=\(heads)" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try engine.merge(tensors) { parts, names, _ in
            let (q, k, v) = (parts[0], parts[1], parts[2])
            try requireSameTrailing(parts, names)
            try requireDivisible(k.shape[0], by: groups, "key rows", tensor: names[1])
            let d = k.shape[0] / groups
            guard v.shape[0] == k.shape[0] else {
                throw OpsError.tensor(name: names[2], message: "has \(v.shape[0]) rows but the key has \(k.shape[0])")
            }
            guard q.shape[0] == heads * d else {
                throw OpsError.tensor(name: names[0], message: "has \(q.shape[0]) rows, expected \(heads) heads x head dim \(d) = \(heads * d)")
            }
            return try QKVInterleave.interleave(q: q, k: k, v: v, groups: groups, names: names)
        }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try engine.split(tensors) { t, name in
            let r = try rows(of: t, name)
            try requireDivisible(r, by: heads + 2 * groups, "rows (heads + 2 x groups = \(heads + 2 * groups) heads of equal size)", tensor: name)
            let d = r / (heads + 2 * groups)
            return try QKVInterleave.deinterleave(t, groups: groups, qRows: heads * d, kRows: groups * d, vRows: groups * d, name: name)
        }
    }
}

/// q and v projections whose k has no bias -> `linear_qkv` with a zero k part (§3.5, Omni audio
/// bias), interleaved per head. The inverse drops the k part.
public struct ZeroKeyMerge: Transform {
    public let heads: Int
    let engine: MergeEngine

    /// `input` has a leading 2-way group for q and v, e.g. `...self_attn.{q,v}_proj.bias`.
    public init(input: NamePattern, output: NamePattern, heads: Int, presence: Presence = .required) throws {
        guard heads > 0 else { throw OpsError.invalid("zero-k merge '\(output)': heads must be > 0") }
        self.heads = heads
        engine = MergeEngine(pairing: try PatternPairing(input: input, output: output, parts: 2), presence: presence, step: "zero-k qkv merge '\(output)'")
    }

    public init(_ input: String, _ output: String, heads: Int, presence: Presence = .required) throws {
        try self.init(input: try NamePattern(input), output: try NamePattern(output), heads: heads, presence: presence)
    }

    public var description: String { "\(engine.step) heads=\(heads)" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try engine.merge(tensors) { parts, names, _ in
            let (q, v) = (parts[0], parts[1])
            guard q.shape == v.shape, q.dtype == v.dtype else {
                throw OpsError.tensor(name: names[1], message: "\(v) does not match '\(names[0])' \(q)")
            }
            let k = Tensor.zeros(q.dtype, q.shape)
            return try QKVInterleave.interleave(q: q, k: k, v: v, groups: heads, names: [names[0], "zero k", names[1]])
        }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try engine.split(tensors) { t, name in
            let r = try rows(of: t, name)
            try requireDivisible(r, by: 3 * heads, "rows (3 x heads)", tensor: name)
            let p = try QKVInterleave.deinterleave(t, groups: heads, qRows: r / 3, kRows: r / 3, vRows: r / 3, name: name)
            return [p[0], p[2]]
        }
    }
}
