import Ops

extension ConversionCommands {
    /// Registers a statement whose run is a transform's forward and whose revert is its inverse.
    static func transform(_ r: CommandRegistry<Workspace>, _ name: String, _ sig: CommandSignature, doc: String,
                          build: @escaping (CommandCall, RecipeContext<Workspace>) throws -> any Transform) {
        r.register(TensorCommand(name, signature: sig, doc: doc, run: { call, ctx in
            let t = try call.attempt { try build(call, ctx) }
            try call.attempt { try ctx.state.apply(t, inverse: false) }
        }, revert: { call, ctx in
            let t = try call.attempt { try build(call, ctx) }
            try call.attempt { try ctx.state.apply(t, inverse: true) }
        }))
    }

    static func registerTransforms(_ r: CommandRegistry<Workspace>) {
        let arrow = ArgumentSlot("mapping", .arrow, doc: "\"input pattern\" -> \"output pattern\"")
        let optional = slot("optional", .bool, required: false, doc: "true: a pattern matching nothing is not an error")
        func presence(_ call: CommandCall) throws -> Presence { try call.bool("optional", default: false) ? .optional : .required }

        transform(r, "rename", CommandSignature(variadic: arrow, keywords: [optional]),
                  doc: "rename tensors: each name by the first rule whose pattern matches it ({L} layer, {E} expert, {a,b} alternatives, trailing * carries the rest)") { call, _ in
            let p = try presence(call)
            let rules = try call.arguments.arrows.map { a, b -> Rename.Rule in
                guard case let .string(x) = a, case let .string(y) = b else { throw call.error("both sides of -> must be strings") }
                return try Rename.Rule(x, y, presence: p)
            }
            return try Rename(rules)
        }
        transform(r, "merge glu", CommandSignature(positional: [arrow], keywords: [optional]),
                  doc: "gate and up projections -> one fused [gate; up] tensor (\"...{gate,up}_proj.weight\" -> \"...linear_fc1.weight\")") { call, _ in
            let (a, b) = try call.arrow()
            return try GLUMerge(a, b, presence: try presence(call))
        }
        transform(r, "merge qkv", CommandSignature(positional: [arrow], keywords: [
            slot("groups", .int, doc: "key/value heads (query groups)"), slot("heads", .int, doc: "attention heads"), optional,
        ]), doc: "separate q, k, v -> Megatron's group-interleaved linear_qkv") { call, _ in
            let (a, b) = try call.arrow()
            return try QKVMerge(a, b, groups: try call.int("groups"), heads: try call.int("heads"), presence: try presence(call))
        }
        transform(r, "merge zerok", CommandSignature(positional: [arrow], keywords: [slot("heads", .int), optional]),
                  doc: "q and v biases -> an interleaved qkv bias with a zero k part (audio encoders without a k bias)") { call, _ in
            let (a, b) = try call.arrow()
            return try ZeroKeyMerge(a, b, heads: try call.int("heads"), presence: try presence(call))
        }
        transform(r, "merge cat", CommandSignature(positional: [arrow], keywords: [
            slot("sizes", .list(.int), doc: "size of each part along dim"), slot("dim", .int, required: false), optional,
        ]), doc: "plain concatenation of the parts (inverted by the declared sizes)") { call, _ in
            let (a, b) = try call.arrow()
            guard case let .list(items) = try call.required("sizes") else { throw call.error("sizes must be a list", at: "sizes") }
            let sizes = items.compactMap { if case let .int(i) = $0 { return i } else { return nil } }
            return try ConcatMerge(a, b, sizes: sizes, dim: try call.optionalInt("dim") ?? 0, presence: try presence(call))
        }
        let qkvPattern = slot("pattern", .string, required: false, doc: "fused [q; k; v] tensors (default: every *qkv.weight/bias)")
        for name in ["relocate qkv", "split qkv"] {
            transform(r, name, CommandSignature(positional: [qkvPattern], keywords: [slot("heads", .int), optional]),
                      doc: "concatenated [q; k; v] -> per-head interleaved [q0; k0; v0; q1; ...] (Megatron's ViT layout)") { call, _ in
                let pattern = call.arguments.string("pattern") ?? #"re:.*qkv\.(weight|bias)"#
                return try Relocate(pattern, heads: try call.int("heads"), presence: try presence(call))
            }
        }
        transform(r, "tie", CommandSignature(positional: [arrow]),
                  doc: "copy a tensor to a second name (embedding -> output layer of a tied model); revert drops the copy") { call, _ in
            let (a, b) = try call.arrow()
            return Tie(source: a, target: b)
        }
        r.register(TensorCommand("retie", signature: CommandSignature(positional: [arrow], keywords: [slot("pp", .int, doc: "target PP ranks")]),
                                 doc: "keep a tied model's output-layer copy consistent with PP: present when pp > 1, absent when pp = 1 (untied models are left alone)") { call, ctx in
            let (a, b) = try call.arrow()
            let pp = try call.int("pp")
            try call.attempt {
                var m = try ctx.state.model(for: "`retie`")
                guard let source = m[a] else { throw OpsError.invalid("no tensor '\(a)' to tie from") }
                if let copy = m[b] {
                    // Different bytes: an untied model with its own output layer.
                    guard try TensorBytesComparison().equal(copy, source) else { return }
                    m[b] = nil
                }
                ctx.state.setModel(pp > 1 ? try Tie(source: a, target: b).forward(m) : m)
            }
        })
        transform(r, "pad", CommandSignature(positional: [slot("pattern", .string)], keywords: [
            slot("vocab", .int, doc: "the unpadded row count"), slot("multiple", .int, required: false), slot("rows", .int, required: false),
        ]), doc: "pad rows (vocabulary) with zeros to a multiple or a size; revert slices them off") { call, _ in
            let pattern = call.arguments.string("pattern")!
            let target: VocabPad.Target
            if let m = try call.optionalInt("multiple") { target = .multiple(m) } else if let n = try call.optionalInt("rows") { target = .rows(n) } else {
                throw call.error("give multiple= or rows=")
            }
            return try VocabPad(pattern, vocabSize: try call.int("vocab"), to: target)
        }
        transform(r, "zeros", CommandSignature(positional: [slot("template", .string)], keywords: [
            slot("layers", .list(.int), doc: "values of {L}"), slot("shape", .list(.int)),
            ArgumentSlot("dtype", .word(DType.allCases.map(\.rawValue)), required: false),
        ]), doc: "insert zero tensors (one per layer); revert deletes them") { call, _ in
            func ints(_ s: String) throws -> [Int] {
                guard case let .list(l) = try call.required(s) else { throw call.error("\(s) must be a list", at: s) }
                return l.compactMap { if case let .int(i) = $0 { return i } else { return nil } }
            }
            return try ZeroTensors(call.arguments.string("template")!, indices: try ints("layers"), shape: try ints("shape"),
                                   dtype: try call.dtype("dtype") ?? .bf16)
        }
        transform(r, "experts", CommandSignature(positional: [arrow], keywords: [
            slot("n", .int, doc: "number of experts"), slot("transpose", .bool, required: false),
            slot("flat", .bool, required: false, doc: "true: the fused tensor is the 2-D view [E*a, b]"), optional,
        ]), doc: "fused experts [E, a, b] -> one tensor per expert ({E} in the output), transposed by default") { call, _ in
            let (a, b) = try call.arrow()
            return try ExpertSplit(a, b, numExperts: try call.int("n"), transpose: try call.bool("transpose", default: true),
                                   flat: try call.bool("flat", default: false), presence: try presence(call))
        }
        registerExpertFuse(r)
        r.register(TensorCommand("merge lora", signature: CommandSignature(positional: [slot("path", .string, doc: "the LoRA adapter: a .safetensors file, a directory of them, a torch .pt state dict, or a DCP checkpoint (its model entries)")], keywords: [
            slot("scaling", .number, doc: "the factor of B @ A (lora_alpha / lora_r)"),
            slot("targets", .optional(.list(.string)), required: false, doc: "merge only layers whose name contains one of these (default: every lora_A/lora_B pair)"),
            slot("strip", .string, required: false, doc: "a prefix taken off the adapter's names first (a LoRA DCP's base_model.model.model.)"),
            ArgumentSlot("stages", .table("stages"), required: false, doc: "an adapter that is a MindSpeed-MM checkpoint: the stages table its PP / VPP stages merge by (layouts read from the files)"),
        ]), doc: "merge LoRA pairs (<layer>.lora_A/B.default.weight) into <layer>.weight: W + scaling * B @ A in f32, rounded once to W's dtype (not revertible)") { call, ctx in
            let path = call.arguments.string("path")!
            let scaling: Double
            switch call.arguments.value("scaling") {
            case let .int(i)?: scaling = Double(i)
            case let .float(f)?: scaling = f
            default: throw call.error("scaling must be a number", at: "scaling")
            }
            var targets: [String]?
            if case let .list(items)? = call.arguments.value("targets") {
                targets = items.compactMap { if case let .string(s) = $0 { return s } else { return nil } }
            }
            let strip = call.arguments.string("strip") ?? ""
            let stages = try call.arguments.table("stages").map { try ConversionCommands.schemas(of: $0) }
            try call.attempt { try ctx.state.mergeLoRA(path, scaling: scaling, targets: targets, stripPrefix: strip, mmStages: stages) }
        })
        let patterns = slot("pattern", .strings, doc: "tensor name patterns (each a string, or a list of them)")
        transform(r, "flatten", CommandSignature(variadic: patterns, keywords: [slot("experts", .int, required: false, doc: "number of experts (0 or absent: taken from each tensor; the revert needs it)"), optional]),
                  doc: "view fused expert tensors [E, a, b] as [E*a, b] (the FSDP2 trainers' layout); revert views them 3-D again") { call, _ in
            try ExpertView(try call.strings("pattern"), experts: try call.optionalInt("experts") ?? 0, presence: try presence(call))
        }
        transform(r, "transpose", CommandSignature(variadic: patterns, keywords: [optional]),
                  doc: "swap the last two dimensions of 3-D (fused expert) tensors, written contiguous; its own revert") { call, _ in
            try SwapLastDims(try call.strings("pattern"), presence: try presence(call))
        }
        r.register(TensorCommand("drop", signature: CommandSignature(variadic: patterns, keywords: [optional]),
                                 doc: "remove tensors (not revertible)") { call, ctx in
            let t = try call.attempt { try Drop(try call.strings("pattern"), presence: try presence(call)) }
            try call.attempt { try ctx.state.apply(t, inverse: false) }
        })
        r.register(TensorCommand("refuse", signature: CommandSignature(variadic: patterns, keywords: [
            slot("why", .string, doc: "what the matching tensors mean and what to do instead"),
            slot("unless", .strings, required: false, doc: "patterns: nothing is refused when some tensor matches one of them"),
        ]), doc: "stop with an error if any tensor matches (unless one matches unless=): a layout the recipe cannot convert correctly") { call, ctx in
            let found = try call.attempt { () -> (label: String, name: String)? in
                let matchers = try call.strings("pattern").map { try NamePattern($0) }
                let unless = try call.keywordStrings("unless").map { try NamePattern($0) }
                if !unless.isEmpty, ctx.state.allMaps.contains(where: { $0.tensors.names.contains { n in unless.contains { $0.matches(n) } } }) {
                    return nil
                }
                for (label, map) in ctx.state.allMaps {
                    if let name = map.names.first(where: { n in matchers.contains { $0.matches(n) } }) { return (label, name) }
                }
                return nil
            }
            if let found {
                let rank = found.label == "model" ? "" : " (\(found.label))"
                throw call.error("tensor '\(found.name)'\(rank): \(call.arguments.string("why") ?? "")")
            }
        })
        r.register(TensorCommand("keep", signature: CommandSignature(variadic: patterns, keywords: [optional]),
                                 doc: "keep only the matching tensors (not revertible)") { call, ctx in
            let t = try call.attempt { try Keep(try call.strings("pattern"), presence: try presence(call)) }
            try call.attempt { try ctx.state.apply(t, inverse: false) }
        })
        let dtypes = DType.allCases.map(\.rawValue) + ["fp16", "fp32", "fp64", "bfloat16", "float16", "float32"]
        transform(r, "cast", CommandSignature(positional: [ArgumentSlot("dtype", .word(dtypes)), slot("pattern", .string, required: false)],
                                              keywords: [ArgumentSlot("from", .word(dtypes)),
                                                         slot("revertible", .bool, required: false, doc: "false: tensors that already have the target dtype are kept, and there is no revert (a one-way --to_bf16)")]),
                  doc: "convert floating point tensors from= one dtype to another; revert converts back") { call, _ in
            guard let to = try call.dtype("dtype"), let from = try call.dtype("from") else { throw call.error("give the target dtype and from=") }
            return try CastDType(call.arguments.string("pattern") ?? "*", from: from, to: to, keepTarget: !(try call.bool("revertible", default: true)))
        }
    }
}

extension ConversionCommands {
    /// `experts merge` / `experts split`: per-expert HF MLPs <-> fused experts, each the other's revert.
    static func registerExpertFuse(_ r: CommandRegistry<Workspace>) {
        let sig = CommandSignature(positional: [slot("module", .string, doc: "one expert's MLP, with {E} (and {L}): \"model.layers.{L}.mlp.experts.{E}\"")], keywords: [
            slot("n", .int, doc: "number of experts"),
            slot("layers", .list(.int), required: false, doc: "the layers (values of {L}) to convert, each with experts; other layers are left as they are"),
            slot("flat", .bool, required: false, doc: "true: the fused tensors are the 2-D views [E*H, 2I] / [E*I, H] (InternVL, GLM); default 3-D"),
        ])
        func build(_ call: CommandCall) throws -> ExpertFuse {
            var layers: [Int]?
            if case let .list(items)? = call.arguments.value("layers") {
                layers = try items.map { v -> Int in
                    guard case let .int(i) = v else { throw call.error("layers must be a list of integers", at: "layers") }
                    return i
                }
            }
            return try ExpertFuse(module: call.arguments.string("module")!, numExperts: try call.int("n"), layers: layers,
                                  flat: try call.bool("flat", default: false))
        }
        transform(r, "experts merge", sig,
                  doc: "per-expert gate/up/down_proj.weight -> fused gate_up_proj [E, H, 2I] and down_proj [E, I, H] (module without .{E}); revert splits") { call, _ in
            try build(call)
        }
        transform(r, "experts split", sig,
                  doc: "fused gate_up_proj / down_proj -> per-expert gate/up/down_proj.weight (the inverse of experts merge); revert merges") { call, _ in
            Inverted(try build(call))
        }
    }
}
