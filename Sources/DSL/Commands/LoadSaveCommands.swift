import Ops

extension ConversionCommands {
    static func registerLoadSave(_ r: CommandRegistry<Workspace>) {
        let path = slot("path", .string, required: false, doc: "a directory (default: the `input` / `output` setting)")
        r.register(TensorCommand("load hf", signature: CommandSignature(positional: [path]),
                                 doc: "read a Hugging Face checkpoint (safetensors shards + config.json), or one .safetensors file, lazily") { call, ctx in
            let dir = try ctx.state.path(call, default: "input")
            try call.attempt { try ctx.state.loadHF(dir) }
            ctx.shapes = ctx.state.loadedShapes
            ctx.config = ctx.state.config
            ctx.weightMap = ctx.state.hfWeightMap.map { m in .dict(m.map { ($0.tensor, .string($0.file)) }) }
        })
        r.register(TensorCommand("load mm", signature: CommandSignature(positional: [path]),
                                 doc: "read a MindSpeed-MM checkpoint (every rank file), lazily") { call, ctx in
            let dir = try ctx.state.path(call, default: "input")
            try call.attempt { try ctx.state.loadMM(dir) }
            ctx.shapes = ctx.state.loadedShapes
        })
        r.register(TensorCommand("load config", signature: CommandSignature(positional: [slot("path", .string)]),
                                 doc: "read config.json of a directory (e.g. the original HF checkpoint) and the names of its tensors, not the tensors") { call, ctx in
            let dir = try ctx.state.path(call, default: "input")
            try call.attempt { try ctx.state.loadConfig(dir) }
            ctx.config = ctx.state.config
            // A directory without safetensors lists no tensors: an empty mapping.
            ctx.weightMap = .dict((ctx.state.hfWeightMap ?? []).map { ($0.tensor, .string($0.file)) })
        })
        r.register(TensorCommand("load pt", signature: CommandSignature(positional: [slot("path", .string, required: false, doc: "a torch.save file (.pt, .pth, .bin; default: the `input` setting)")], keywords: [
            slot("key", .optional(.strings), required: false, doc: "the dict of tensors inside it (dotted path); a list: the first of them that is a dict of tensors (\"\" the saved dict); default: the saved dict, else its 'model'"),
        ]), doc: "read the tensors of one torch.save state dict instead of safetensors shards, lazily (config.json comes from `load config`)") { call, ctx in
            let file = try ctx.state.path(call, default: "input")
            let keys = try call.keywordStrings("key")
            try call.attempt { try ctx.state.loadTorch(file, keys: keys) }
            ctx.shapes = ctx.state.loadedShapes
            ctx.stateKey = ctx.state.torchKey.map { .string($0) }
            ctx.weightMap = ctx.state.hfWeightMap.map { m in .dict(m.map { ($0.tensor, .string($0.file)) }) }
        })
        r.register(TensorCommand("load dcp", signature: CommandSignature(positional: [slot("path", .string, required: false, doc: "a DCP checkpoint directory (.metadata + *.distcp) or a MindSpeed-MM root around one (default: the `input` setting)")], keywords: [
            slot("key", .optional(.string), required: false, doc: "the dict of the model's tensors (dotted path); default: model"),
        ]), doc: "read the model's tensors of a torch Distributed Checkpoint (FSDP2), lazily; optimizer state is never read") { call, ctx in
            let dir = try ctx.state.path(call, default: "input")
            try call.attempt { try ctx.state.loadDCP(dir, key: call.arguments.string("key")) }
        })
        r.register(TensorCommand("load layerzero", signature: CommandSignature(positional: [slot("path", .string, required: false, doc: "a MindSpeed LayerZeRO save directory holding iter_NNNNNNN/model_<rank>.pt (default: the `input` setting)")], keywords: [
            slot("iteration", .optional(.int), required: false, doc: "the iteration to read; default (null): the highest iter_NNNNNNN"),
            slot("key", .string, required: false, doc: "the state dict of the rank files: model (default) or ema_model"),
            slot("prefix", .string, required: false, doc: "read only the names under this prefix, taken off (\"predictor.\": MindSpeed-MM's DiT); default: every name"),
        ]), doc: "read a MindSpeed LayerZeRO (ZeRO-3) training checkpoint, its ranks' flat pieces reassembled lazily into the whole model") { call, ctx in
            let dir = try ctx.state.path(call, default: "input")
            var iteration: Int?
            if let v = call.arguments.value("iteration"), v != .null {
                guard case let .int(i) = v, i >= 0 else { throw call.error("iteration must be a non-negative integer or null", at: "iteration") }
                iteration = i
            }
            let key = call.arguments.string("key") ?? "model"
            let prefix = call.arguments.string("prefix") ?? ""
            try call.attempt { try ctx.state.loadLayerZero(dir, iteration: iteration, key: key, prefix: prefix) }
            ctx.shapes = ctx.state.loadedShapes
        })
        r.register(TensorCommand("add hf", signature: CommandSignature(positional: [slot("path", .string)],
                                                                     variadic: slot("pattern", .strings, doc: "names of the tensors to add"),
                                                                     keywords: [slot("optional", .bool, required: false, doc: "true: a pattern matching nothing is not an error"),
                                                                                slot("unless", .strings, required: false, doc: "patterns: nothing is added when a tensor of the model matches one of them")]),
                                 doc: "add the matching tensors of another Hugging Face directory the model lacks (mm_to_hf: parts a MindSpeed-MM checkpoint does not hold, from the original)") { call, ctx in
            let dir = try ctx.state.path(call, default: "input")
            let presence: Presence = try call.bool("optional", default: false) ? .optional : .required
            let unless = try call.keywordStrings("unless")
            try call.attempt {
                if !unless.isEmpty {
                    let matchers = try unless.map { try NamePattern($0) }
                    if try ctx.state.model(for: "`add hf`").names.contains(where: { n in matchers.contains { $0.matches(n) } }) { return }
                }
                try ctx.state.addHF(dir, patterns: try call.strings("pattern"), presence: presence)
            }
        })
        r.register(TensorCommand("save hf", signature: CommandSignature(positional: [path], keywords: [
            slot("like", .optional(.string), required: false, doc: "HF directory whose shards, index and side files to follow"),
            slot("optional", .list(.string), required: false, doc: "tensors written only where the template's index has a place for them"),
            slot("copies", .bool, required: false, doc: "true: a tensor the template has no place for is left out when it is a copy (same bytes) of one it has"),
            slot("max_shard_size", .string, required: false, doc: "cut new shards by this size (\"4GB\", \"500MB\", or bytes) instead of following a template; the index is always written"),
            slot("copy", .string, required: false, doc: "with max_shard_size: copy every file of this directory except *.safetensors (config, tokenizer, ...); with config=: the files= of it"),
            slot("config", .any, required: false, doc: "a mapping: write a new model as transformers' save_pretrained does, with this config.json (no template; shards cut at 5 GB, an index only when sharded)"),
            slot("generation", .any, required: false, doc: "with config=: a mapping written as generation_config.json"),
            slot("files", .list(.string), required: false, doc: "with config= and copy=: the files of the copy= directory to copy, where it has them (a tokenizer's)"),
        ]), doc: "write a Hugging Face checkpoint (atomically)") { call, ctx in
            let dir = try ctx.state.path(call, default: "output")
            let like = call.arguments.string("like")
            let maxShard = try call.arguments.string("max_shard_size").map { text in
                try call.attempt { try ShardSize.parse(text) }
            }
            let copy = call.arguments.string("copy")
            var fresh: HFFreshFiles?
            if let config = call.arguments.value("config"), config != .null {
                guard case .dict = config else { throw call.error("config= must be a mapping (the config.json to write)", at: "config") }
                if like != nil || maxShard != nil { throw call.error("config= writes a new model: give it without like= and max_shard_size=", at: "config") }
                var json: [(file: String, value: Value)] = [("config.json", config)]
                if let g = call.arguments.value("generation"), g != .null {
                    guard case .dict = g else { throw call.error("generation= must be a mapping (the generation_config.json to write)", at: "generation") }
                    json.append(("generation_config.json", g))
                }
                let files = try call.keywordStrings("files")
                if !files.isEmpty, copy == nil { throw call.error("files= names files of the copy= directory: give copy=DIR", at: "files") }
                fresh = HFFreshFiles(json: json, copyFrom: copy, copyFiles: files)
            } else {
                for k in ["generation", "files"] where call.arguments.value(k) != nil { throw call.error("\(k)= goes with config=", at: k) }
                if maxShard == nil, copy != nil { throw call.error("copy= goes with max_shard_size= or config= (a template given by like= brings its own side files)", at: "copy") }
            }
            if maxShard != nil, like != nil { throw call.error("give like= (follow a template's shards) or max_shard_size= (cut new shards), not both", at: "max_shard_size") }
            var optional: Set<String> = []
            if case let .list(items)? = call.arguments.value("optional") {
                optional = Set(items.compactMap { if case let .string(s) = $0 { return s } else { return nil } })
            }
            let copies = try call.bool("copies", default: false)
            try call.attempt { try ctx.state.saveHF(dir, like: like, optional: optional, dropCopies: copies, maxShardSize: maxShard, copyFrom: copy, fresh: fresh) }
            ctx.state.report("saved \(dir)")
        })
        r.register(TensorCommand("save dcp", signature: CommandSignature(positional: [path], keywords: [
            slot("part_gb", .optional(.number), required: false, doc: "size of each data file in GB (default 1)"),
        ]), doc: "write a torch Distributed Checkpoint as MindSpeed-MM's FSDP2 trainer loads it: tracker `release`, release/.metadata and data files, FQN model.<name> (atomically)") { call, ctx in
            let dir = try ctx.state.path(call, default: "output")
            var partBytes = 1_000_000_000
            if let gb = call.arguments.value("part_gb"), gb != .null {
                let v: Double
                switch gb { case let .int(i): v = Double(i); case let .float(f): v = f; default: throw call.error("part_gb must be a number", at: "part_gb") }
                guard v > 0 else { throw call.error("part_gb must be > 0", at: "part_gb") }
                partBytes = Int(v * 1e9)
            }
            try call.attempt { try ctx.state.saveDCP(dir, partBytes: partBytes) }
            ctx.state.report("saved \(dir)")
        })
        r.register(TensorCommand("save pt", signature: CommandSignature(positional: [slot("path", .string, required: false, doc: "the output file (default: the `output` setting)")], keywords: [
            slot("key", .string, required: false, doc: "nest the dict under this dotted path ({\"module\": {name: tensor}} for \"module\")"),
        ]), doc: "write the whole model as one torch.save file of {name: tensor} (atomically; the inverse of `load pt`)") { call, ctx in
            let file = try ctx.state.path(call, default: "output")
            let key = call.arguments.string("key")
            try call.attempt { try ctx.state.savePT(file, key: key) }
            ctx.state.report("saved \(file)")
        })
        r.register(TensorCommand("save mm", signature: CommandSignature(positional: [path], keywords: [
            slot("version", .string, required: false, doc: "when rank files get checkpoint_version 3.0: \"always\" (default) or \"vpp\" (only with virtual pipeline chunks, as the video-model converters write)"),
        ]), doc: "write a MindSpeed-MM checkpoint: one model_optim_rng.pt per rank (atomically)") { call, ctx in
            let dir = try ctx.state.path(call, default: "output")
            let versionText = call.arguments.string("version") ?? "always"
            guard let version = MMCheckpointWriter.VersionEntry(rawValue: versionText) else {
                throw call.error("version must be \"always\" or \"vpp\", not \"\(versionText)\"", at: "version")
            }
            try call.attempt { try ctx.state.saveMM(dir, version: version) }
            ctx.state.report("saved \(dir)")
        })
    }
}

extension Workspace {
    /// The statement's path argument, or the named setting (`--set input=DIR`).
    func path(_ call: CommandCall, default key: String) throws -> String {
        if let p = call.arguments.string("path") { return p }
        if case let .string(p)? = settings[key] { return p }
        throw call.error("no directory given: write it after the statement, or set `\(key)` (mm-convert run FILE --set \(key)=DIR)")
    }

    func report(_ line: String) {
        if !dryRun && progressMode != .quiet { messages(line) }
    }
}
