/// Fused HF expert tensors `[Ne, a, b]` <-> one Megatron tensor per expert (§3.10), e.g.
/// `model.language_model.layers.{L}.mlp.experts.{gate_up_proj,down_proj}` ->
/// `text_decoder.decoder.layers.{L}.mlp.experts.local_experts.{E}.{linear_fc1,linear_fc2}.weight`.
///
/// Expert `E` becomes `fused[E]` transposed to `[b, a]` (HF computes `x @ W`, Megatron `x @ Wᵀ`),
/// or `fused[E]` as is with `transpose: false`. The output template must contain `{E}`; experts
/// are numbered 0..<numExperts. The inverse needs every expert of every instance (a missing one is
/// an error naming it) and stacks them along a new first dimension. All lazy: the transposed
/// views are written through the blocked-transpose fast path of the run streamer.
///
/// With `flat: true` the fused tensor is the 2-D view `[Ne·a, b]` of `[Ne, a, b]` (the layout
/// MindSpeed-MM's FSDP2 models and `moe_expert --style merge` use for InternVL and GLM): expert `E`
/// is rows `E·a ..< (E+1)·a`, and the inverse concatenates the experts along dim 0.
public struct ExpertSplit: Transform {
    public let numExperts: Int
    public let transpose: Bool
    public let flat: Bool
    public let presence: Presence
    let pairing: PatternPairing

    public init(fused: NamePattern, perExpert: NamePattern, numExperts: Int, transpose: Bool = true, flat: Bool = false, presence: Presence = .required) throws {
        guard numExperts > 0 else { throw OpsError.invalid("expert split '\(fused)': numExperts must be > 0") }
        guard perExpert.captureNames.contains("E") else {
            throw OpsError.invalid("expert split: the per-expert pattern '\(perExpert)' needs an {E} placeholder")
        }
        pairing = try PatternPairing(input: fused, output: perExpert, parts: 1, extraOutputCaptures: ["E"])
        self.numExperts = numExperts
        self.transpose = transpose
        self.flat = flat
        self.presence = presence
    }

    public init(_ fused: String, _ perExpert: String, numExperts: Int, transpose: Bool = true, flat: Bool = false, presence: Presence = .required) throws {
        try self.init(fused: try NamePattern(fused), perExpert: try NamePattern(perExpert), numExperts: numExperts, transpose: transpose, flat: flat, presence: presence)
    }

    public var description: String {
        "expert split " + pairing.pairs.map { "'\($0.parts[0])' -> '\($0.output)'" }.joined(separator: ", ") + " experts=\(numExperts)" + (flat ? " flat" : "")
    }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        var replace: [String: [(String, Tensor)]] = [:]
        for pair in pairing.pairs {
            var found = false
            for (name, t) in tensors {
                guard let caps = pair.parts[0].match(name) else { continue }
                found = true
                if flat {
                    guard t.rank == 2, t.shape[0] % numExperts == 0 else {
                        throw OpsError.tensor(name: name, message: "is \(t), expected [\(numExperts) experts x rows, cols] (the 2-D view of the fused experts): its rows do not divide by \(numExperts)")
                    }
                } else {
                    guard t.rank == 3, t.shape[0] == numExperts else {
                        throw OpsError.tensor(name: name, message: "is \(t), expected [\(numExperts) experts, rows, cols]")
                    }
                }
                let rows = flat ? t.shape[0] / numExperts : t.shape[1], cols = t.shape[t.rank - 1]
                var experts: [(String, Tensor)] = []
                for e in 0..<numExperts {
                    var c = caps
                    c["E"] = String(e)
                    var x = flat ? try t.slice(dim: 0, start: e * rows, count: rows)
                                 : try t.slice(dim: 0, start: e, count: 1).reshaped([rows, cols])
                    if transpose { x = try x.transposed(0, 1) }
                    experts.append((try pair.output.render(c), x))
                }
                replace[name] = experts
            }
            if !found && presence == .required { throw nothingMatched(pair.parts[0], step: "expert split") }
        }
        try rejectLookalikes(tensors, consumed: Set(replace.keys), outputs: pairing.pairs.map(\.output), step: "expert split")
        return try tensors.rebuilt(replace: replace, step: "expert split")
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        let step = "expert split (inverse)"
        var replace: [String: [(String, Tensor)]] = [:]
        var remove = Set<String>()
        for pair in pairing.pairs {
            var order: [String] = []
            var groups: [String: (caps: [String: String], experts: [Int: String])] = [:]
            var firstName: [String: String] = [:]
            for name in tensors.names {
                guard var caps = pair.output.match(name), let es = caps["E"], let e = Int(es) else { continue }
                caps["E"] = nil
                let key = caps.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1}")
                if groups[key] == nil { groups[key] = (caps, [:]); order.append(key); firstName[key] = name }
                guard e < numExperts, groups[key]!.experts[e] == nil else {
                    throw OpsError.tensor(name: name, message: "expert \(e) is outside 0..<\(numExperts) or appears twice")
                }
                groups[key]!.experts[e] = name
            }
            if order.isEmpty && presence == .required { throw nothingMatched(pair.output, step: step) }
            for key in order {
                let (caps, experts) = groups[key]!
                var stacked: [Tensor] = []
                var first: Tensor?
                for e in 0..<numExperts {
                    var c = caps
                    c["E"] = String(e)
                    guard let n = experts[e] else {
                        throw OpsError.tensor(name: try pair.output.render(c), message: "missing: \(step) needs all \(numExperts) experts")
                    }
                    var x = tensors[n]!
                    guard x.rank == 2 else { throw OpsError.tensor(name: n, message: "is \(x), expected a matrix") }
                    if let f = first, f.shape != x.shape || f.dtype != x.dtype {
                        throw OpsError.tensor(name: n, message: "is \(x), but expert 0 is \(f)")
                    }
                    first = first ?? x
                    if transpose { x = try x.transposed(0, 1) }
                    stacked.append(flat ? x : try x.reshaped([1] + x.shape))
                }
                let fusedName = try pair.parts[0].render(caps)
                let at = firstName[key]!
                replace[at] = [(fusedName, try Tensor.concat(stacked, dim: 0))]
                for n in experts.values where n != at { remove.insert(n) }
            }
        }
        return try tensors.rebuilt(replace: replace, remove: remove, step: step)
    }
}
