/// Per-expert Hugging Face MLPs (Mixtral style: one `nn.Linear` per projection and expert) <->
/// fused expert parameters (one tensor per layer for all experts), as MindSpeed-MM's
/// `moe_expert --style merge|split` and `ExpertMergeDcpConverter` convert them.
///
/// `module` names one expert's MLP with `{E}` (and usually `{L}`), e.g.
/// `language_model.model.layers.{L}.mlp.experts.{E}`; the fused names are `module` without
/// `.{E}` plus `.gate_up_proj` / `.down_proj` (no `.weight`). Per layer:
///
/// * merge (forward): `gate [I, H]`, `up [I, H]`, `down [H, I]` of every expert ->
///   `gate_up_proj = stack_E([gate; up]ᵀ)` `[E, H, 2I]` and `down_proj = stack_E(downᵀ)` `[E, I, H]`,
///   or with `flat` their 2-D views `[E·H, 2I]` / `[E·I, H]`;
/// * split (inverse): the exact inverse (`gate`, `up` = the halves of `gate_up_proj[E]ᵀ`).
///
/// The rules are the existing ones composed: `[gate; up]` is `GLUMerge`, the transposed stacking
/// (and the 2-D view) is `ExpertSplit`'s inverse. Everything stays lazy.
public struct ExpertFuse: Transform {
    public let module: String
    public let numExperts: Int
    /// The layers to convert (values of `{L}`), each of which must have experts; the experts of
    /// other layers are left as they are. nil: every layer that matches.
    public let layers: [Int]?
    public let flat: Bool
    let glu: GLUMerge
    let stack: ExpertSplit
    let gate, up, down, fused, fusedDown: NamePattern

    public init(module: String, numExperts: Int, layers: [Int]? = nil, flat: Bool = false) throws {
        guard module.contains(".{E}") else {
            throw OpsError.invalid("experts: the expert module '\(module)' needs a '.{E}' placeholder for the expert index (e.g. \"model.layers.{L}.mlp.experts.{E}\")")
        }
        guard numExperts > 0 else { throw OpsError.invalid("experts '\(module)': the number of experts must be > 0, got \(numExperts)") }
        let fusedModule = module.replacingOccurrences(of: ".{E}", with: "")
        if layers != nil, !module.contains("{L}") {
            throw OpsError.invalid("experts: layers= needs a '{L}' placeholder in the expert module '\(module)'")
        }
        self.module = module
        self.numExperts = numExperts
        self.layers = layers
        self.flat = flat
        glu = try GLUMerge(module + ".{gate,up}_proj.weight", module + ".gate_up_proj.weight")
        stack = try ExpertSplit(fusedModule + ".{gate_up_proj,down_proj}", module + ".{gate_up_proj,down_proj}.weight",
                                numExperts: numExperts, transpose: true, flat: flat)
        gate = try NamePattern(module + ".gate_proj.weight")
        up = try NamePattern(module + ".up_proj.weight")
        down = try NamePattern(module + ".down_proj.weight")
        fused = try NamePattern(fusedModule + ".gate_up_proj")
        fusedDown = try NamePattern(fusedModule + ".down_proj")
    }

    public var description: String {
        "experts '\(module)' n=\(numExperts)" + (layers.map { " layers=\($0)" } ?? "") + (flat ? " flat" : "")
    }

    /// merge: per-expert -> fused.
    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try checkLayers(tensors, pattern: gate, what: "per-expert gate_proj weights", step: "experts merge")
        return try holdingOtherLayers(tensors, patterns: [gate, up, down, fused, fusedDown]) { try merge($0) }
    }

    private func merge(_ tensors: TensorMap) throws -> TensorMap {
        // down [H, I] must be the transpose of gate [I, H] (GLUMerge checks gate against up).
        for (name, d) in tensors {
            guard let caps = down.match(name) else { continue }
            let g = try gate.render(caps)
            if let gt = tensors[g], d.rank == 2, gt.rank == 2, d.shape != [gt.shape[1], gt.shape[0]] || d.dtype != gt.dtype {
                throw OpsError.tensor(name: name, message: "is \(d), but '\(g)' is \(gt): down_proj must be [hidden, intermediate] when gate_proj is [intermediate, hidden], of the same dtype")
            }
        }
        return try stack.inverse(try glu.forward(tensors))
    }

    /// split: fused -> per-expert.
    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try checkLayers(tensors, pattern: fused, what: "fused gate_up_proj", step: "experts split")
        return try holdingOtherLayers(tensors, patterns: [gate, up, down, fused, fusedDown]) { try split($0) }
    }

    private func split(_ tensors: TensorMap) throws -> TensorMap {
        let split = try glu.inverse(try stack.forward(tensors))
        // Per layer, expert by expert (gate, up, down of expert 0, then 1, ...) where the fused
        // gate_up_proj was, as a per-expert checkpoint lists them (and the reference inserts them).
        var out = TensorMap()
        var emitted = Set<String>()
        func add(_ n: String) {
            guard !emitted.contains(n), let t = split[n] else { return }
            out[n] = t
            emitted.insert(n)
        }
        for name in tensors.names {
            if var caps = fused.match(name) {
                for e in 0..<numExperts {
                    caps["E"] = String(e)
                    for p in [gate, up, down] { add(try p.render(caps)) }
                }
            } else if let caps = fusedDown.match(name), tensors[try fused.render(caps)] != nil {
                continue
            } else if split[name] != nil {
                add(name)
            }
        }
        // Anything else the split made (the experts of a down_proj without its gate_up_proj).
        for name in split.names where !emitted.contains(name) { add(name) }
        return out
    }

    /// With `layers`, the tensors of other layers matching `patterns` are left as they are (as
    /// the reference leaves them: GLM-4.5V's MTP layer after `num_hidden_layers` keeps its
    /// per-expert weights), each kept after the tensor it followed.
    private func holdingOtherLayers(_ tensors: TensorMap, patterns: [NamePattern], _ body: (TensorMap) throws -> TensorMap) throws -> TensorMap {
        guard let layers else { return try body(tensors) }
        let wanted = Set(layers)
        var held: [String: [(String, Tensor)]] = [:]   // anchor (a name that stays) -> held tensors after it
        var first: [(String, Tensor)] = []
        var rest = TensorMap()
        var anchor: String?
        for (name, t) in tensors {
            if patterns.contains(where: { p in p.match(name).flatMap { $0["L"] }.flatMap { Int($0) }.map { !wanted.contains($0) } ?? false }) {
                if let anchor { held[anchor, default: []].append((name, t)) } else { first.append((name, t)) }
            } else {
                rest[name] = t
                anchor = name
            }
        }
        if held.isEmpty && first.isEmpty { return try body(tensors) }
        let done = try body(rest)
        var out = TensorMap()
        func add(_ n: String, _ t: Tensor) throws {
            guard !out.contains(n) else { throw OpsError.invalid("experts: would produce tensor '\(n)' twice (it already exists)") }
            out[n] = t
        }
        for (n, t) in first { try add(n, t) }
        var pending = held
        for (n, t) in done {
            try add(n, t)
            if let h = pending.removeValue(forKey: n) { for (hn, ht) in h { try add(hn, ht) } }
        }
        // Anchors the conversion consumed (an expert tensor followed by another layer's).
        for (_, h) in pending.sorted(by: { $0.key < $1.key }) { for (hn, ht) in h { try add(hn, ht) } }
        return out
    }

    /// With `layers`, every listed layer must have the tensors.
    private func checkLayers(_ tensors: TensorMap, pattern: NamePattern, what: String, step: String) throws {
        guard let layers else { return }
        var found: [Int: String] = [:]
        for name in tensors.names {
            if let caps = pattern.match(name), let l = caps["L"].flatMap({ Int($0) }), found[l] == nil { found[l] = name }
        }
        if let missing = layers.first(where: { found[$0] == nil }) {
            let caps = ["L": String(missing), "E": "0"]
            let example = (try? pattern.render(caps)) ?? pattern.source
            throw OpsError.invalid("\(step): layer \(missing) has no \(what) (no tensor like '\(example)'); check the layer range and that the checkpoint is \(step == "experts merge" ? "per-expert (not already merged)" : "merged (fused experts)")")
        }
    }
}
