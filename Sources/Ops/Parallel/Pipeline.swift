/// One module's pipeline split: its schema and its layers per stage, nested as in the
/// configuration (outer list = virtual-pipeline chunk, inner list = PP rank; `[[1,10,10,7]]` is
/// PP 4 without VPP). Flat stage `f = v * pp + p` is chunk `v` on PP rank `p`.
public struct PipelineModule: Sendable {
    public let schema: StageSchema
    public let layers: [[Int]]
    /// Explicit first / last stage (module-local flat index) instead of the first / last stage
    /// holding layers; only the layer-wise disaggregated layout needs them.
    public let firstOverride: Int?
    public let lastOverride: Int?

    public init(_ schema: StageSchema, layers: [[Int]], firstStage: Int? = nil, lastStage: Int? = nil) throws {
        guard layers.allSatisfy({ $0.allSatisfy { $0 >= 0 } }) else {
            throw OpsError.invalid("\(schema.name) pipeline layers \(layers): counts must be >= 0")
        }
        if let w = layers.first?.count, let bad = layers.first(where: { $0.count != w }) {
            throw OpsError.invalid("\(schema.name) pipeline layers \(layers): every virtual chunk needs \(w) stages, \(bad) has \(bad.count)")
        }
        let n = layers.reduce(0) { $0 + $1.count }
        for f in [firstStage, lastStage].compactMap({ $0 }) where f < 0 || f >= n {
            throw OpsError.invalid("\(schema.name) pipeline: stage \(f) is outside its \(n) stages")
        }
        self.schema = schema
        self.layers = layers
        self.firstOverride = firstStage
        self.lastOverride = lastStage
        let flat = layers.flatMap { $0 }
        var starts: [Int] = [], acc = 0
        for n in flat { starts.append(acc); acc += n }
        self.flat = flat
        self.starts = starts
        self.totalLayers = acc
        self.firstStage = firstStage ?? flat.firstIndex { $0 > 0 }
        self.lastStage = lastStage ?? flat.lastIndex { $0 > 0 }
    }

    /// The LLM of the layer-wise disaggregated training layout (§5.9, `hf_to_mm_ldt`): first
    /// stage = PP rank 0 of the first virtual chunk holding layers, last stage = PP rank 0 of the
    /// last chunk ("U-shaped"), even when those stages hold no layers. Use it in a
    /// `PipelineLayout(..., replicateShorter: false)`.
    public static func layerwiseDisaggregated(_ schema: StageSchema, layers: [[Int]]) throws -> PipelineModule {
        let pp = layers.first?.count ?? 0
        guard let chunk = layers.firstIndex(where: { $0.reduce(0, +) > 0 }) else {
            throw OpsError.invalid("\(schema.name) pipeline layers \(layers): no layers")
        }
        return try PipelineModule(schema, layers: layers, firstStage: pp * chunk, lastStage: pp * (layers.count - 1))
    }

    /// Flat (non-nested) counts, e.g. for mm_to_hf's `[1,10,10,7]`.
    public init(_ schema: StageSchema, flat: [Int]) throws {
        try self.init(schema, layers: [flat])
    }

    // Derived once (placement consults them for every tensor name).
    /// Per-stage counts in flat stage order.
    public let flat: [Int]
    public let totalLayers: Int
    /// First global layer of each of the module's stages.
    public let starts: [Int]
    /// The module's first and last stage holding layers (nil when it has none).
    public let firstStage: Int?
    public let lastStage: Int?

    /// Whether module-local stage `s` gets this module's `everywhere` tensors in the layer-wise
    /// disaggregated layout (elsewhere they go to every stage).
    func isPresent(onStage s: Int) -> Bool { flat[s] > 0 || s == firstStage || s == lastStage }
}

/// Pipeline placement of a whole model (§5.3) and its inverse (§5.5), for PP, VPP and hetero PP.
///
/// Placement is the intended rule, not the reference's regressed one (§9 Q1): a module's stage `f`
/// gets its global layers `start_f ..< start_f + n_f`, renumbered from 0 (only the number right
/// after the per-layer prefix changes); first-stage tensors go to the first stage with layers,
/// last-stage tensors to the last one; stages with no layers get nothing of the module. A module
/// with fewer stages `S` than the model (`G`) is replicated: global stage `g` holds the module's
/// stage `g mod S` (`S` must divide `G`; `S = 1` puts the whole encoder on every stage). A name no
/// schema claims is an error listing it (§9 Q3); drop such tensors explicitly before staging.
public struct PipelineLayout: Sendable {
    public let modules: [PipelineModule]
    /// Hetero PP: repeat a module with fewer stages over the model's stages (`g mod S`). When
    /// false (layer-wise disaggregated layout), such a module only occupies its own first `S` stages.
    public let replicateShorter: Bool
    /// Number of flat stages `G` (the longest module list; normally pp x vpp).
    public let stageCount: Int

    /// Modules whose flat list is empty are left out (as the reference skips them).
    public init(_ modules: [PipelineModule], replicateShorter: Bool = true) throws {
        self.modules = modules.filter { !$0.flat.isEmpty }
        self.replicateShorter = replicateShorter
        self.stageCount = self.modules.map { $0.flat.count }.max() ?? 0
        guard !self.modules.isEmpty else { throw OpsError.invalid("pipeline layout: no module has any stage") }
        let g = stageCount
        for m in self.modules where replicateShorter && g % m.flat.count != 0 {
            throw OpsError.invalid("pipeline layout: \(m.schema.name) has \(m.flat.count) stages, which does not divide the \(g) stages of the model")
        }
    }

    /// The global stages showing module-local stage `local` of a module with `s` stages.
    private func globalStages(_ local: Int, of s: Int) -> StrideTo<Int> {
        replicateShorter ? stride(from: local, to: stageCount, by: s) : stride(from: local, to: local + 1, by: 1)
    }

    /// The module-local stage global stage `g` shows (nil: the module is not on that stage).
    private func localStage(_ g: Int, of s: Int) -> Int? {
        replicateShorter ? g % s : (g < s ? g : nil)
    }

    /// PP rank and virtual chunk of flat stage `f` for a pipeline of `pp` ranks.
    public static func rankAndChunk(ofStage f: Int, pp: Int) -> (rank: Int, chunk: Int) {
        (f % pp, f / pp)
    }

    /// Flat stage of virtual chunk `chunk` on PP rank `rank` (`model{chunk}` of rank `rank`'s file).
    public static func stage(rank: Int, chunk: Int, pp: Int) -> Int {
        chunk * pp + rank
    }

    /// The schema claiming `name`, with its role.
    func classify(_ name: String) -> (Int, StageSchema.Role)? {
        for (i, m) in modules.enumerated() {
            if let r = m.schema.role(of: name) { return (i, r) }
        }
        return nil
    }

    /// Throws listing (up to 20 of) the names no schema claims.
    private func rejectUnclaimed(_ names: [String], what: String) throws {
        guard !names.isEmpty else { return }
        let shown = names.prefix(20).map { "'\($0)'" }.joined(separator: ", ")
        let more = names.count > 20 ? " and \(names.count - 20) more" : ""
        let schemas = modules.map(\.schema.name).joined(separator: ", ")
        throw OpsError.invalid("\(what): \(names.count) tensor(s) belong to no pipeline schema (\(schemas)): \(shown)\(more). Drop them explicitly or add them to a schema.")
    }

    /// One map per flat stage (`stageCount` maps), each in the input's order.
    public func stage(_ tensors: TensorMap) throws -> [TensorMap] {
        let g = stageCount
        var out = (0..<g).map { _ in TensorMap(capacity: tensors.count / max(1, g) + 64) }
        var unclaimed: [String] = []
        for (name, t) in tensors {
            guard let (mi, role) = classify(name) else { unclaimed.append(name); continue }
            let m = modules[mi]
            let flat = m.flat, s = flat.count
            guard let first = m.firstStage, let last = m.lastStage else {
                throw OpsError.tensor(name: name, message: "belongs to \(m.schema.name), whose pipeline layers \(m.layers) hold no layer")
            }
            switch role {
            case let .layer(n, digits):
                guard n < m.totalLayers else {
                    throw OpsError.tensor(name: name, message: "layer \(n) is beyond the \(m.totalLayers) \(m.schema.name) layers of the pipeline layout \(m.layers)")
                }
                let starts = m.starts
                let local = (0..<s).last { starts[$0] <= n && flat[$0] > 0 }!
                let renamed = m.schema.renumbered(name, digits: digits, to: n - starts[local])
                for gs in globalStages(local, of: s) { out[gs][renamed] = t }
            case .first:
                for gs in globalStages(first, of: s) { out[gs][name] = t }
            case .last:
                for gs in globalStages(last, of: s) { out[gs][name] = t }
            case .everywhere:
                // Every stage of the model (§5.2: DeepSeek-VL2's image_newline / view_seperator
                // exist on every pipeline rank, also ranks without ViT layers); the layer-wise
                // disaggregated layout only puts them where the module is (§5.9).
                for gs in 0..<g {
                    if replicateShorter {
                        out[gs][name] = t
                    } else if let l = localStage(gs, of: s), m.isPresent(onStage: l) {
                        out[gs][name] = t
                    }
                }
            }
        }
        try rejectUnclaimed(unclaimed, what: "pipeline stage")
        return out
    }

    /// The inverse of `stage`: global layer numbers back, all stages merged into one map.
    /// Copies of the same tensor (hetero replication, `everywhere` tensors) must agree in dtype and
    /// shape; the first is kept. Every layer of a module must appear on some stage (unless the
    /// module has no layer tensors at all).
    public func unstage(_ stages: [TensorMap]) throws -> TensorMap {
        let g = stageCount
        guard stages.count == g else {
            throw OpsError.invalid("pipeline layout has \(g) stages, but \(stages.count) stage maps were given")
        }
        var out = TensorMap(capacity: stages.reduce(0) { $0 + $1.count })
        var unclaimed: [String] = []
        var seenLayers = modules.map { [Bool](repeating: false, count: $0.totalLayers) }
        for (gs, stage) in stages.enumerated() {
            for (name, t) in stage {
                guard let (mi, role) = classify(name) else { unclaimed.append(name); continue }
                let m = modules[mi]
                var global = name
                if case let .layer(n, digits) = role {
                    guard let local = localStage(gs, of: m.flat.count) else {
                        throw OpsError.tensor(name: name, message: "stage \(gs) is beyond the \(m.flat.count) stages of \(m.schema.name)")
                    }
                    guard n < m.flat[local] else {
                        throw OpsError.tensor(name: name, message: "stage \(gs) holds \(m.schema.name) layer \(n), but the layout gives that stage \(m.flat[local]) layers (\(m.layers))")
                    }
                    let n0 = m.starts[local] + n
                    seenLayers[mi][n0] = true
                    global = m.schema.renumbered(name, digits: digits, to: n0)
                }
                if let prev = out[global] {
                    guard prev.shape == t.shape, prev.dtype == t.dtype else {
                        throw OpsError.tensor(name: global, message: "stage \(gs) holds \(t), another stage holds \(prev); replicated copies must agree")
                    }
                } else {
                    out[global] = t
                }
            }
        }
        try rejectUnclaimed(unclaimed, what: "pipeline unstage")
        // A module absent from the checkpoint altogether (e.g. a ViT-only save) is not checked.
        for (mi, seen) in seenLayers.enumerated() where seen.contains(true) {
            if let missing = seen.firstIndex(of: false) {
                throw OpsError.invalid("pipeline unstage: no stage holds \(modules[mi].schema.name) layer \(missing) ('\(modules[mi].schema.layerPrefix)\(missing).…'); the layout \(modules[mi].layers) does not fit the checkpoint")
            }
        }
        return out
    }

    // MARK: - Inference (mm_to_hf without explicit lists)

    /// The number of `schema` layers each stage map holds (local numbers must be `0..<n`).
    public static func layerCounts(_ stages: [TensorMap], schema: StageSchema) throws -> [Int] {
        try stages.enumerated().map { gs, stage in
            var seen = Set<Int>()
            for name in stage.names {
                if case let .layer(n, _)? = schema.role(of: name) { seen.insert(n) }
            }
            let n = seen.count
            if let bad = seen.first(where: { $0 >= n }) {
                throw OpsError.invalid("stage \(gs): \(schema.name) layer numbers \(seen.sorted()) are not 0..<\(n) (layer \(bad) out of order); cannot infer the layout")
            }
            return n
        }
    }

    /// Per-stage layer counts of `schema`, collapsed to the shortest repeating period when the
    /// module is replicated by hetero PP: with `totalLayers` known, the smallest period `P`
    /// (dividing the stage count) whose counts repeat and sum to `totalLayers` is returned
    /// (e.g. `[32, 32]` with 32 layers -> `[32]`). Without `totalLayers` the counts are returned as
    /// found. Throws when no period sums to `totalLayers`.
    public static func inferLayers(_ stages: [TensorMap], schema: StageSchema, totalLayers: Int? = nil) throws -> [Int] {
        let counts = try layerCounts(stages, schema: schema)
        guard let total = totalLayers else { return counts }
        let g = counts.count
        for p in 1...max(g, 1) where g % p == 0 {
            let period = Array(counts[0..<p])
            if period.reduce(0, +) == total && (0..<g).allSatisfy({ counts[$0] == period[$0 % p] }) {
                return period
            }
        }
        throw OpsError.invalid("\(schema.name): the stages hold \(counts) layers, which do not add up to the expected \(total) (nor repeat with a period that does)")
    }
}
