extension Workspace {
    /// Reads the tensors under `key` (default `model`) of a DCP checkpoint, lazily, named relative
    /// to it: FQN `model.model.x` -> `model.x`. `path` may be the checkpoint directory or a
    /// MindSpeed-MM root (tracker + `release/` or `iter_*/`). Only `.metadata` is read here; other
    /// entries (a training checkpoint's optimizer state) are never touched. `config` and the weight
    /// map of a `load config` before are kept: they describe the model for `save hf ... like=`.
    public func loadDCP(_ path: String, key: String?) throws {
        let ckpt = try DCPCheckpoint.load(path)
        let prefix = (key ?? "model") + "."
        ckpt.prefetchItemHeaders { $0.hasPrefix(prefix) }
        let selection = try ckpt.stateDict(key: key ?? "model")
        if !selection.skipped.isEmpty {
            throw OpsError.format(path: ckpt.metadataPath, message: "'\(selection.key)' holds entries that are not tensors: "
                + selection.skipped.prefix(10).map(\.name).joined(separator: ", ") + "; give key= the dict of the model's tensors")
        }
        setModel(selection.tensors)
        hfSource = nil
    }

    /// Writes the model as MindSpeed-MM's FSDP2 trainer loads it: a root with the tracker
    /// `release` and `release/` holding `{key: {name: tensor}, "checkpoint_version": 3.0}` as a DCP
    /// (FQN `key.name`). Tensors go into data files of about `partBytes` each (1 GB: enough files
    /// for every worker), in model order, written `workers` at a time; atomically, like every
    /// other save.
    public func saveDCP(_ directory: String, key: String = "model", partBytes: Int = 1_000_000_000) throws {
        let tensors = try model(for: "`save dcp`")
        var entries: [DCPWriteEntry] = [.checkpointVersion]
        var part = 0, filled = 0
        for (name, t) in tensors {
            if filled > 0 && filled + t.byteCount > partBytes { part += 1; filled = 0 }
            filled += t.byteCount
            entries.append(DCPWriteEntry(fqn: key + "." + name, value: .tensor(t), path: [.key(key), .key(name)], file: part))
        }
        if dryRun {
            for p in 0...part {
                let mine = entries.filter { $0.file == p }
                plan(PlannedOutput(path: directory + "/release/__\(p)_0.distcp", entries: mine.compactMap { e in
                    guard case let .tensor(t) = e.value else { return nil }
                    return (e.fqn, t.dtype, t.shape, t.byteCount)
                }))
            }
            return
        }
        let progress = Progress(label: "save dcp", totalFiles: part + 1, totalBytes: tensors.totalBytes, mode: progressMode)
        try withProgress(progress) {
            try DCPCheckpoint.save(entries, to: directory, layout: .root(.release), force: force, workers: workers)
        }
    }
}

extension Workspace {
    /// Reads a MindSpeed LayerZeRO training checkpoint (`LayerZeroCheckpoint`), lazily, as the
    /// whole model: iteration `iteration` (or the highest) of `root`, the dict `key`, the names
    /// under `prefix` with it taken off.
    public func loadLayerZero(_ root: String, iteration: Int?, key: String, prefix: String) throws {
        let dir = try LayerZeroCheckpoint.iterationDirectory(root, iteration: iteration)
        setModel(try LayerZeroCheckpoint.load(dir, key: key, prefix: prefix))
        hfSource = nil
    }
}
