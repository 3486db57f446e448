import Foundation

extension Workspace {
    /// Writes the MindSpeed-MM layout: one `model_optim_rng.pt` per (tp, pp, ep) rank, each with
    /// `model` (or `model0..` with VPP) and `checkpoint_version` 3.0, then the tracker. Rank files
    /// are written in parallel into a temporary sibling that is renamed into place when complete.
    public func saveMM(_ directory: String, version: MMCheckpointWriter.VersionEntry = .always) throws {
        let ep = grid.count, tp = grid[0].count
        let stages = phase == .staged ? grid[0][0].count : 1
        let pp = phase == .staged ? ppSize : 1
        let vpp = stages / pp
        let epDirs = epSplit ? ep : 1
        var ranks: [(rank: MMRank, chunks: [TensorMap])] = []
        for e in 0..<ep {
            for t in 0..<tp {
                for p in 0..<pp {
                    ranks.append((MMRank(tp: t, pp: p, ep: e), (0..<vpp).map { grid[e][t][PipelineLayout.stage(rank: p, chunk: $0, pp: pp)] }))
                }
            }
        }
        if dryRun {
            for (rank, chunks) in ranks {
                let path = MMCheckpointWriter.rankFilePath(rank, in: directory, ppSize: pp, epSize: epDirs)
                var entries: [(name: String, dtype: DType, shape: [Int], bytes: Int)] = []
                for (v, chunk) in chunks.enumerated() {
                    let key = vpp > 1 ? "model\(v)" : "model"
                    entries += chunk.map { ("\(key)/\($0.name)", $0.tensor.dtype, $0.tensor.shape, $0.tensor.byteCount) }
                }
                plan(PlannedOutput(path: path, entries: entries))
            }
            return
        }
        let total = ranks.reduce(0) { $0 + $1.chunks.reduce(0) { $0 + $1.totalBytes } }
        let progress = Progress(label: "save mm", totalFiles: ranks.count, totalBytes: total, mode: progressMode)
        try withProgress(progress) {
            try AtomicOutput.write(to: directory, force: force) { tmp in
                try ParallelJobs.run(ranks.map { rank, chunks in
                    (cost: chunks.reduce(0) { $0 + $1.totalBytes }, work: {
                        try MMCheckpointWriter.saveRank(rank, chunks: chunks, to: tmp, ppSize: pp, epSize: epDirs, version: version)
                        progress.fileDone()
                    })
                }, workers: workers)
                try MMCheckpointWriter.writeTracker(in: tmp)
            }
        }
    }

    /// Writes the whole (merged) model as one `torch.save` file of `{name: tensor}` (every tensor
    /// with its own compact storage; `torch.load(weights_only=True)` reads it), atomically: the
    /// file appears complete or not at all; a missing parent directory is created (mode 0750),
    /// the file gets mode 0640. With `key` (a dotted path), the dict is nested under it:
    /// `{"module": {name: tensor}}` for `key: "module"`. The inverse of `load pt`.
    public func savePT(_ path: String, key: String? = nil) throws {
        let tensors = try model(for: "`save pt`")
        if dryRun {
            plan(PlannedOutput(path: path, tensors: tensors))
            return
        }
        let progress = Progress(label: "save pt", totalFiles: 1, totalBytes: tensors.totalBytes, mode: progressMode)
        try withProgress(progress) {
            try AtomicFileOutput.write(to: path, force: force) { tmp in
                try TorchCheckpoint.saveStateDict(tensors, key: key, to: tmp, archiveName: TorchCheckpoint.defaultArchiveName(path))
            }
            progress.fileDone()
        }
    }

    /// Writes the Hugging Face layout. With a template (`like`, or the HF checkpoint loaded last),
    /// shards, index and side files follow it; every tensor must have a place in its index.
    /// Without one, shards are cut at `maxShardBytes` and config.json is written from `config`.
    /// `optional` names are written only where the template has a place for them (a tied
    /// model's lm_head), instead of being an error.
    /// With `dropCopies`, a tensor the template has no place for is left out when its bytes equal
    /// those of a tensor that is placed (a tie the trainer saved twice, e.g. `lm_head.weight`).
    ///
    /// With `maxShardSize` (bytes) the shards are cut afresh by that size whatever was loaded, as
    /// MindSpeed-MM's `moe_expert` writes them (`HFCheckpoint.plan(_:maxShardBytes:copyFrom:)`):
    /// an index always, and every non-safetensors file of `copyFrom` copied.
    ///
    /// With `fresh`, the checkpoint is written as transformers' `save_pretrained` writes a new
    /// model: shards cut at `maxShardBytes`, an index only when there are several, the given
    /// JSON files (`json.dumps(indent=2, sort_keys=True)` and a newline), and the named files
    /// of a directory copied where it has them (a tokenizer's).
    public func saveHF(_ directory: String, like templateDir: String?, optional: Set<String> = [], dropCopies: Bool = false,
                       maxShardBytes: Int = 5_000_000_000, maxShardSize: Int? = nil, copyFrom: String? = nil,
                       fresh: HFFreshFiles? = nil) throws {
        let tensors = try model(for: "`save hf`")
        let plan: HFWritePlan
        if let fresh {
            var side: [String: [UInt8]] = [:]
            for (file, value) in fresh.json { side[file] = JSONWriter(layout: .indented(2), sortKeys: true).encode(value) + [0x0a] }
            let cut = try HFCheckpoint.plan(tensors, maxShardBytes: maxShardBytes, sideFiles: side)
            var copies: [(path: String, from: String)] = []
            if let from = fresh.copyFrom {
                for file in fresh.copyFiles where FileManager.default.fileExists(atPath: from + "/" + file) {
                    guard CheckpointFiles.isSafeRelativePath(file), side[file] == nil, !HFCheckpoint.isRewritten(file) else {
                        throw OpsError.invalid("save hf: cannot copy '\(file)': name a side file inside \(from) that is not written otherwise")
                    }
                    copies.append((file, from + "/" + file))
                }
            }
            plan = HFWritePlan(shards: cut.shards, index: cut.index, copies: copies, contents: cut.contents, unplaced: [], sourceDirectory: fresh.copyFrom)
        } else if let maxShardSize {
            guard maxShardSize > 0 else { throw OpsError.invalid("max_shard_size must be positive, got \(maxShardSize)") }
            plan = try HFCheckpoint.plan(tensors, maxShardBytes: maxShardSize, copyFrom: copyFrom)
        } else if let template = try templateDir.map({ try HFCheckpoint.load($0) }) ?? hfSource {
            // A converted tensor takes the original's place, so it must have its shape: a
            // difference means an option that changed it (a padded vocabulary) was not given again.
            for (name, t) in tensors {
                if let original = template.tensors[name], original.shape != t.shape {
                    throw OpsError.tensor(name: name, message: "has shape \(t.shape), but the original in \(template.directory) has \(original.shape): the conversion does not give back the original's shape (an option that changed it, e.g. a padded vocabulary, must be given again)")
                }
            }
            plan = try HFCheckpoint.plan(tensors, like: template)
            var unplaced = plan.unplaced.filter { !optional.contains($0) }
            if dropCopies {
                let placed = Set(plan.shards.flatMap { $0.tensors.names })
                unplaced = try unplaced.filter { name in
                    let t = tensors[name]!
                    return try !placed.contains { p in
                        guard let o = tensors[p], o.dtype == t.dtype, o.shape == t.shape else { return false }
                        return try TensorBytesComparison().equal(o, t)
                    }
                }
            }
            if !unplaced.isEmpty {
                let shown = unplaced.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
                throw OpsError.invalid("\(unplaced.count) tensor(s) have no place in the index of \(template.directory): \(shown)\(unplaced.count > 10 ? ", ..." : ""); drop them in the recipe if that is intended")
            }
        } else {
            var side: [String: [UInt8]] = [:]
            if let config { side["config.json"] = JSONWriter(layout: .indented(2)).encode(config) + [0x0a] }
            plan = try HFCheckpoint.plan(tensors, maxShardBytes: maxShardBytes, sideFiles: side)
        }
        if dryRun {
            for (file, shard) in plan.shards { self.plan(PlannedOutput(path: directory + "/" + file, tensors: shard)) }
            return
        }
        let progress = Progress(label: "save hf", totalFiles: plan.shards.count, totalBytes: plan.totalSize, mode: progressMode)
        try withProgress(progress) {
            _ = try AtomicOutput.write(to: directory, force: force) { tmp in
                try HFCheckpoint.write(plan, to: tmp, concurrentFiles: workers)
            }
        }
    }

    func withProgress(_ progress: Progress, _ body: () throws -> Void) throws {
        OutputFile.progress = progress
        defer { OutputFile.progress = nil; progress.finish() }
        try body()
    }
}

/// What `saveHF(fresh:)` writes besides the tensors: JSON files (config.json, ...) from values,
/// and the named files of `copyFrom` that exist there.
public struct HFFreshFiles {
    public var json: [(file: String, value: Value)]
    public var copyFrom: String?
    public var copyFiles: [String]

    public init(json: [(file: String, value: Value)], copyFrom: String? = nil, copyFiles: [String] = []) {
        self.json = json
        self.copyFrom = copyFrom
        self.copyFiles = copyFiles
    }
}
