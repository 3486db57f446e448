/// The Megatron `linear_qkv` row order (§3.3): per KV group `g`, that group's query rows, then its
/// key rows, then its value rows: `[Q_0; K_0; V_0; Q_1; K_1; V_1; ...]`.
///
/// Shared by the GQA merge (`QKVMerge`), the zero-key merge (`ZeroKeyMerge`) and the ViT
/// relocation (`Relocate`, where groups = heads). Works on any rank >= 1 (weights and biases), all
/// dimensions after the first are carried along.
public enum QKVInterleave {
    /// `[Q_0; K_0; V_0; ...]` from separate q, k, v. Every row count must divide by `groups`.
    public static func interleave(q: Tensor, k: Tensor, v: Tensor, groups: Int, names: [String]) throws -> Tensor {
        try requireSameTrailing([q, k, v], names)
        let parts = [q, k, v]
        var chunks: [[Tensor]] = []
        for (t, n) in zip(parts, names) {
            try requireDivisible(t.shape[0], by: groups, "rows", tensor: n)
            chunks.append(try t.chunk(groups, dim: 0))
        }
        var out: [Tensor] = []
        for g in 0..<groups { out += [chunks[0][g], chunks[1][g], chunks[2][g]] }
        return try Tensor.concat(out, dim: 0)
    }

    /// The inverse: q, k, v with `qRows`, `kRows`, `vRows` rows in total.
    public static func deinterleave(_ qkv: Tensor, groups: Int, qRows: Int, kRows: Int, vRows: Int, name: String) throws -> [Tensor] {
        let r = try rows(of: qkv, name)
        guard groups > 0, qRows % groups == 0, kRows % groups == 0, vRows % groups == 0, qRows + kRows + vRows == r else {
            throw OpsError.tensor(name: name, message: "\(qkv) is not \(groups) groups of q/k/v rows \(qRows)/\(kRows)/\(vRows)")
        }
        let sizes = [qRows / groups, kRows / groups, vRows / groups]
        var q: [Tensor] = [], k: [Tensor] = [], v: [Tensor] = []
        for chunk in try qkv.chunk(groups, dim: 0) {
            let p = try chunk.split(sizes: sizes, dim: 0)
            q.append(p[0]); k.append(p[1]); v.append(p[2])
        }
        return [try Tensor.concat(q, dim: 0), try Tensor.concat(k, dim: 0), try Tensor.concat(v, dim: 0)]
    }
}
