/// Concatenated ViT `qkv` (`[q; k; v]`, each block `D` rows in head order) <-> Megatron's per-head
/// interleave `[q_h0; k_h0; v_h0; q_h1; ...]` (§3.6), in place (the name is kept), e.g.
/// `image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv.{weight,bias}` with
/// `heads` = ViT heads. Put it after the rename that produces the MM name: in a `TransformChain`
/// the inverse then runs before the rename's inverse, still seeing the MM name.
public struct Relocate: Transform {
    public let pattern: NamePattern
    public let heads: Int
    public let presence: Presence

    public init(_ pattern: NamePattern, heads: Int, presence: Presence = .required) throws {
        guard heads > 0 else { throw OpsError.invalid("relocate '\(pattern)': heads must be > 0") }
        self.pattern = pattern
        self.heads = heads
        self.presence = presence
    }

    public init(_ pattern: String, heads: Int, presence: Presence = .required) throws {
        try self.init(try NamePattern(pattern), heads: heads, presence: presence)
    }

    public var description: String { "relocate '\(pattern)' heads=\(heads)" }

    private func blockRows(_ t: Tensor, _ name: String) throws -> Int {
        let r = try rows(of: t, name)
        try requireDivisible(r, by: 3 * heads, "rows (3 blocks x \(heads) heads)", tensor: name)
        return r / 3
    }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try apply(tensors, step: "relocate") { t, name in
            _ = try blockRows(t, name)
            let p = try t.chunk(3, dim: 0)
            return try QKVInterleave.interleave(q: p[0], k: p[1], v: p[2], groups: heads, names: [name, name, name])
        }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try apply(tensors, step: "relocate (inverse)") { t, name in
            let d = try blockRows(t, name)
            return try Tensor.concat(try QKVInterleave.deinterleave(t, groups: heads, qRows: d, kRows: d, vRows: d, name: name), dim: 0)
        }
    }

    private func apply(_ tensors: TensorMap, step: String, _ f: (Tensor, String) throws -> Tensor) throws -> TensorMap {
        try mapMatching(tensors, pattern, presence: presence, step: step) { t, n in try f(t, n) }
    }
}

/// Applies `f` to every tensor `pattern` selects, keeping names and order; enforces `presence`
/// per expansion of the pattern's alternatives.
func mapMatching(_ tensors: TensorMap, _ pattern: NamePattern, presence: Presence, step: String,
                 _ f: (Tensor, String) throws -> Tensor) throws -> TensorMap {
    let concrete = pattern.expanded()
    var used = [Bool](repeating: false, count: concrete.count)
    var out = TensorMap(capacity: tensors.count)
    for (name, t) in tensors {
        if let k = concrete.firstIndex(where: { $0.matches(name) }) {
            used[k] = true
            out[name] = try f(t, name)
        } else {
            out[name] = t
        }
    }
    if presence == .required, let k = used.firstIndex(of: false) { throw nothingMatched(concrete[k], step: step) }
    return out
}
