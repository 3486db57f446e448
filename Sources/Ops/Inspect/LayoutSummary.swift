extension CheckpointSummary {
    /// One `.safetensors` file: its tensors in header order and its `__metadata__`.
    public static func safetensors(_ file: SafetensorsFile) -> CheckpointSummary {
        var s = CheckpointSummary(kind: .safetensors, path: file.path)
        s.facts = [("header bytes", .int(file.dataStart))]
        if let m = file.metadata { s.entries = [("__metadata__", .dict(m.map { ($0.0, .string($0.1)) }))] }
        s.groups = [TensorGroup(title: "", tensors: file.entries.map { TensorEntry(name: $0.name, dtype: $0.dtype, shape: $0.shape) })]
        return s
    }

    /// A Hugging Face directory: one group per shard, the config summary and shard metadata.
    public static func hf(_ ckpt: HFCheckpoint) -> CheckpointSummary {
        var s = CheckpointSummary(kind: .hf, path: ckpt.directory)
        var byShard: [String: [TensorEntry]] = [:]
        var order: [String] = []
        for (name, t) in ckpt.tensors {
            let shard = ckpt.shardOf[name] ?? "?"
            if byShard[shard] == nil { order.append(shard) }
            byShard[shard, default: []].append(TensorEntry(name: name, t))
        }
        s.facts = [("shards", .int(order.count)), ("index", ckpt.index.map { .string($0.name) } ?? .null)]
        if !ckpt.sideFiles.isEmpty { s.facts.append(("side files", .list(ckpt.sideFiles.map { .string($0) }))) }
        if let config = ckpt.config { s.entries.append(("config", configSummary(config))) }
        if let idx = ckpt.index, let total = idx.metadata.first(where: { $0.0 == "total_size" })?.1 {
            s.entries.append(("index.total_size", total))
        }
        let metas = order.compactMap { f in ckpt.metadata[f].map { (f, $0) } }
        let distinct = Set(metas.map { $0.1.map { "\($0.0)=\($0.1)" }.joined(separator: ",") })
        if let first = metas.first, distinct.count == 1 {
            s.entries.append(("__metadata__", .dict(first.1.map { ($0.0, .string($0.1)) })))
        } else if !metas.isEmpty {
            s.entries.append(("__metadata__", .dict(metas.map { ($0.0, .dict($0.1.map { ($0.0, .string($0.1)) })) })))
        }
        s.groups = order.map { TensorGroup(title: $0, tensors: byShard[$0] ?? []) }
        return s
    }

    /// The config.json fields that identify a model and its size: architectures, model_type,
    /// dtype, widths and layer counts (top level and in the text / LLM / vision sub-configs).
    public static func configSummary(_ config: Value) -> Value {
        let top = ["architectures", "model_type", "torch_dtype", "dtype", "hidden_size", "num_hidden_layers",
                   "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size", "tie_word_embeddings"]
        let sub = ["model_type", "architectures", "hidden_size", "embed_dim", "num_hidden_layers", "depth", "num_layers",
                   "num_attention_heads", "num_heads"]
        var out: [(String, Value)] = []
        for k in top { if let v = config[k] { out.append((k, v)) } }
        for section in ["text_config", "llm_config", "vision_config", "audio_config"] {
            guard let c = config[section], case .dict = c else { continue }
            let fields = sub.compactMap { k in c[k].map { (k, $0) } }
            if !fields.isEmpty { out.append((section, .dict(fields))) }
        }
        return .dict(out)
    }

    /// A MindSpeed-MM directory: one group per rank and model chunk; non-tensor entries of the
    /// first rank file (iteration, checkpoint_version, args ...).
    public static func mm(_ ckpt: MMCheckpoint) -> CheckpointSummary {
        var s = CheckpointSummary(kind: .mm, path: ckpt.directory)
        s.facts = [("iteration", .string(ckpt.iteration.directoryName)),
                   ("parallel", .dict([("tp", .int(ckpt.tpSize)), ("pp", .int(ckpt.ppSize)), ("ep", .int(ckpt.epSize)),
                                       ("vpp", .int(ckpt.vppSize))])),
                   ("rank files", .int(ckpt.ranks.count))]
        if let first = ckpt.ranks.first {
            for (k, v) in first.extras.items {
                let key = PickleValue.keyText(k)
                if v.containsTensor {
                    let ts = v.tensors()
                    s.entries.append((key, .string("<\(v.typeName), \(ts.count) tensors, \(ts.reduce(0) { $0 + $1.tensor.tensor.byteCount }) bytes>")))
                } else {
                    s.entries.append((key, v.summaryValue()))
                }
            }
        }
        for r in ckpt.ranks {
            let dir = r.rank.directoryName(ppSize: ckpt.ppSize, epSize: ckpt.epSize)
            let skipped = r.skipped.map(parseSkipped)
            for (v, chunk) in r.chunks.enumerated() {
                let label = r.chunks.count == 1 ? "model" : "model\(v)"
                var g = TensorGroup(title: "\(dir) (\(r.rank.description)) \(label)", file: relative(r.path, to: ckpt.directory),
                                    rank: r.rank, chunk: label)
                g.tensors = chunk.map { TensorEntry(name: $0.name, $0.tensor) }
                g.skipped = skipped.filter { $0.chunk == label }.map { SkippedEntry(name: $0.name, type: $0.type) }
                s.groups.append(g)
            }
        }
        return s
    }

    /// `model0/name (type)` as the reader lists skipped entries.
    static func parseSkipped(_ text: String) -> (chunk: String, name: String, type: String) {
        var rest = Substring(text)
        var type = "?"
        if rest.hasSuffix(")"), let open = rest.range(of: " (", options: .backwards) {
            type = String(rest[open.upperBound..<rest.index(before: rest.endIndex)])
            rest = rest[..<open.lowerBound]
        }
        guard let slash = rest.firstIndex(of: "/") else { return ("model", String(rest), type) }
        return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]), type)
    }

    static func relative(_ path: String, to directory: String) -> String {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
