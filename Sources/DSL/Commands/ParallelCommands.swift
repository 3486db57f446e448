import Ops

extension ConversionCommands {
    static let strategies = ["row", "col", "glu", "qkv", "catcol", "uemb", "urow", "ucol", "replicate"]
    static let modules = ["vit", "llm", "audio", "dit"]

    static func registerParallel(_ r: CommandRegistry<Workspace>) {
        let patterns = CommandSignature(variadic: slot("pattern", .string), keywords: [slot("heads", .int, required: false, doc: "heads (urow, ucol)"),
                                                                                     slot("parts", .int, required: false, doc: "equal row blocks (qkv; default 3)"),
                                                                                     slot("sizes", .list(.int), required: false, doc: "widths of the column blocks (catcol)")])
        r.register(table: TableKind(name: "shard", doc: "tensor-parallel split strategies: the first pattern matching a tensor decides; others are replicated",
                                    entries: strategies.map { ($0, patterns) }))
        let stageEntry = CommandSignature(positional: [slot("layers", .string, required: false, doc: "per-layer prefix, followed by the layer number")], keywords: [
            slot("first", .list(.string), required: false, doc: "prefixes placed on the module's first stage with layers"),
            slot("last", .list(.string), required: false, doc: "prefixes placed on its last stage with layers"),
            slot("all", .list(.string), required: false, doc: "prefixes placed on every stage with its layers"),
            slot("preset", .string, required: false, doc: "a built-in schema: \(StageSchema.presets.keys.sorted().joined(separator: ", "))"),
        ])
        r.register(table: TableKind(name: "stages", doc: "pipeline stage schemas, one entry per module (vit, llm, audio, dit: a diffusion transformer's blocks)",
                                    entries: modules.map { ($0, stageEntry) }))

        let table = ArgumentSlot("table", .table("shard"), required: false)
        let sizes = [slot("tp", .int, doc: "tensor-parallel size"), slot("vit", .optional(.int), required: false, doc: "ViT TP size (0: tp)"),
                     slot("audio", .optional(.int), required: false, doc: "audio TP size (0: tp)"),
                     slot("dim", .int, required: false, doc: "without a table: split every tensor along this dim")]
        r.register(TensorCommand("shard", signature: CommandSignature(positional: [table], keywords: sizes),
                                 doc: "split the model over tensor-parallel ranks by a shard table") { call, ctx in
            let tp = try tensorParallel(call)
            try call.attempt { try ctx.state.shard(tp) }
        })
        r.register(TensorCommand("unshard", signature: CommandSignature(positional: [table], keywords: sizes + [
            slot("experts", .optional(.int), required: false, doc: "number of experts, to merge expert-parallel ranks"),
        ]), doc: "merge tensor-parallel (and expert-parallel) ranks back") { call, ctx in
            let tp = try tensorParallel(call)
            var ep: ExpertParallel?
            let ranks = ctx.state.grid.count
            if let n = try call.optionalInt("experts"), n > 0 {
                ep = try call.attempt { try ExpertParallel(numExperts: n, ep: ranks) }
            } else if ranks > 1 {
                // No count given (resplit has no config.json): every EP rank holds as many.
                let per = try call.attempt { try ExpertParallel.localExpertCount(in: ctx.state.grid[0][0][0]) }
                ep = try call.attempt { try ExpertParallel(numExperts: max(per, 1) * ranks, ep: ranks) }
            }
            try call.attempt { try ctx.state.unshard(tp, ep: ep) }
        })
        r.register(TensorCommand("ep", signature: CommandSignature(keywords: [
            slot("experts", .int, required: false, doc: "number of experts (default: counted in the model)"), slot("size", .int),
        ]), doc: "split experts (local_experts.{E}) over expert-parallel ranks, renumbered; the count must divide (no expert is dropped)") { call, ctx in
            let size = try call.int("size")
            let n = try call.optionalInt("experts")
                ?? call.attempt { try ExpertParallel.localExpertCount(in: try ctx.state.model(for: "the expert-parallel split")) }
            guard n > 0 else {
                throw call.error("the model has no experts (no local_experts.{E} tensors), so it cannot be split over ep_size=\(size): give ep_size 1", at: "size")
            }
            let ep = try call.attempt { try ExpertParallel(numExperts: n, ep: size) }
            try call.attempt { try ctx.state.splitExperts(ep) }
        })

        let layerSlots = modules.map { slot($0, .optional(.list(.any)), required: false, doc: "\($0) layers per stage: [[...]] per VPP chunk, or flat") }
        r.register(TensorCommand("stage", signature: CommandSignature(positional: [ArgumentSlot("table", .table("stages"))], keywords: layerSlots + [
            slot("pp", .int, required: false, doc: "PP ranks (default: the length of llm's (else dit's) inner list)"),
        ]), doc: "place tensors on pipeline stages (intended MindSpeed-MM rule: first/last stage with layers, local layer numbers)") { call, ctx in
            let (layout, pp) = try pipeline(call, ctx, inferMissing: false)
            do {
                try call.attempt { try ctx.state.stage(layout, pp: pp) }
            } catch var e as RecipeError where e.message.contains("belong to no pipeline schema") {
                // A converter's user left out a module's layer list (vit_pp_layers of a model with a ViT).
                let omitted = try call.arguments.table("table")?.entries.map(\.word).filter { try call.layers($0) == nil } ?? []
                if !omitted.isEmpty {
                    e.notes.append("no layers were given for " + omitted.joined(separator: ", ") + " (a converter's --cfg...\(omitted[0])_pp_layers): give them when the model has that module")
                }
                throw e
            }
        })
        r.register(TensorCommand("unstage", signature: CommandSignature(positional: [ArgumentSlot("table", .table("stages"))], keywords: layerSlots + modules.map {
            slot("\($0)_total", .optional(.int), required: false, doc: "total \($0) layers (to read a replicated module's layout)")
        }), doc: "merge pipeline stages back, restoring global layer numbers (layer lists inferred from the files when omitted)") { call, ctx in
            let (layout, _) = try pipeline(call, ctx, inferMissing: true)
            try call.attempt { try ctx.state.unstage(layout) }
        })
    }

    static func tensorParallel(_ call: CommandCall) throws -> TensorParallel {
        let tp = try call.int("tp")
        let vit = try call.optionalInt("vit") ?? 0, audio = try call.optionalInt("audio") ?? 0
        var entries: [(NamePattern, TPStrategy)] = []
        if let t = call.arguments.table("table") {
            for e in t.entries {
                var sizes: [Int]?
                if case let .list(items)? = e.arguments.value("sizes") {
                    sizes = try items.map { v in
                        guard case let .int(i) = v else { throw RecipeError("shard table \(t.name): sizes must be ints", at: e.arguments.location) }
                        return i
                    }
                }
                let strategy = try call.attempt { try TPStrategy(name: e.word, heads: e.arguments.int("heads"), parts: e.arguments.int("parts"), sizes: sizes) }
                for v in e.arguments.values("pattern") {
                    guard case let .string(p) = v else { throw RecipeError("shard table \(t.name): patterns must be strings", at: e.arguments.location) }
                    entries.append((try call.attempt { try NamePattern(p) }, strategy))
                }
            }
        } else if let dim = try call.optionalInt("dim") {
            guard dim == 0 || dim == 1 else { throw call.error("dim must be 0 or 1", at: "dim") }
            entries = [(try NamePattern("*"), dim == 0 ? .row : .col)]
        } else {
            throw call.error("give a shard table, or dim= to split every tensor along one dimension")
        }
        return try call.attempt { try TensorParallel(table: TPTable(entries), tp: tp, vitTP: vit, audioTP: audio) }
    }

    /// The stage schemas of a `stages` table with the layer lists given (or inferred).
    /// The stage schema of each entry of a `stages` table.
    static func schemas(of t: TableData) throws -> [StageSchema] {
        try t.entries.map { e in
            if let preset = e.arguments.string("preset") {
                guard let s = StageSchema.presets[preset] else {
                    throw RecipeError(Suggestions.message("unknown stage preset '\(preset)'", for: preset, in: Array(StageSchema.presets.keys)), at: e.arguments.location)
                }
                return StageSchema(name: e.word, layerPrefix: s.layerPrefix, first: s.first, last: s.last, everywhere: s.everywhere)
            }
            guard let prefix = e.arguments.string("layers") else { throw RecipeError("stages \(t.name) \(e.word): give the per-layer prefix or preset=", at: e.arguments.location) }
            func list(_ k: String) -> [String] {
                if case let .list(l)? = e.arguments.value(k) { return l.compactMap { if case let .string(s) = $0 { return s } else { return nil } } }
                return []
            }
            return StageSchema(name: e.word, layerPrefix: prefix, first: list("first"), last: list("last"), everywhere: list("all"))
        }
    }

    static func pipeline(_ call: CommandCall, _ ctx: RecipeContext<Workspace>, inferMissing: Bool) throws -> (PipelineLayout, Int) {
        guard let t = call.arguments.table("table") else { throw call.error("needs a stages table") }
        var mods: [PipelineModule] = []
        var pp: Int?
        for (e, schema) in zip(t.entries, try schemas(of: t)) {
            if let layers = try call.layers(e.word) {
                if e.word == "llm" || e.word == "dit" || pp == nil { pp = layers.first?.count }
                mods.append(try call.attempt { try PipelineModule(schema, layers: layers) })
            } else if inferMissing {
                let total = try call.optionalInt("\(e.word)_total")
                let counts = try call.attempt { try ctx.state.inferLayers(schema, totalLayers: total) }
                if counts.contains(where: { $0 > 0 }) { mods.append(try call.attempt { try PipelineModule(schema, flat: counts) }) }
            }
        }
        guard !mods.isEmpty else { throw call.error("no module has layers: give at least one of \(t.entries.map { $0.word + "=" }.joined(separator: ", "))") }
        // The LLM's stages are the pipeline; another module may have as many, or fewer to be
        // replicated over them (hetero PP), never more.
        if !inferMissing, let anchor = mods.first(where: { $0.schema.name == "llm" || $0.schema.name == "dit" }) ?? mods.first {
            let g = anchor.flat.count
            for m in mods where m.flat.count > g || g % m.flat.count != 0 {
                throw call.error("\(m.schema.name) has \(m.flat.count) pipeline stages but \(anchor.schema.name) has \(g): give \(m.schema.name) as many stages, or a number that divides \(g) to replicate it on every stage (hetero PP)", at: m.schema.name)
            }
        }
        if let given = try call.optionalInt("pp") { pp = given }
        let layout = try call.attempt { try PipelineLayout(mods) }
        return (layout, pp ?? layout.stageCount)
    }
}
