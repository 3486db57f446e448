import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything a save will write, decided before the first byte is written (so a dry run can print
/// it and every error surfaces up front).
public struct HFWritePlan {
    /// Shard files in writing order, each with its tensors (the writer lays them out as the
    /// safetensors library does, whatever their order here).
    public let shards: [(file: String, tensors: TensorMap)]
    /// The index to write, or nil for a checkpoint without one.
    public let index: SafetensorsIndex?
    /// Files copied unchanged: relative path -> absolute source path, in writing order.
    public let copies: [(path: String, from: String)]
    /// Files written from bytes: relative path -> contents, in writing order.
    public let contents: [(path: String, bytes: [UInt8])]
    /// Tensors given but with no place in the layout, so not written. In input order.
    public let unplaced: [String]
    /// The source checkpoint's directory, when saving like one (the output must differ from it).
    public let sourceDirectory: String?
    /// Whether the index file ends with a newline (transformers' `save_pretrained` writes one,
    /// MindSpeed-MM's `moe_expert` writer does not).
    public var indexTrailingNewline = true

    /// Sum of the tensors' bytes (the index's `metadata.total_size`).
    public var totalSize: Int { shards.reduce(0) { $0 + $1.tensors.totalBytes } }
    /// Every file, relative to the output directory, in writing order.
    public var files: [String] {
        shards.map(\.file) + (index.map { [$0.name] } ?? []) + copies.map(\.path) + contents.map(\.path)
    }
}

/// What a save wrote.
public struct HFSaveResult: Equatable {
    /// Files written, relative to the output directory, in writing order.
    public let files: [String]
    /// Tensors that were given but have no place in the layout, so were not written (e.g.
    /// `lm_head.weight` of a tied model whose source index does not list it). In input order.
    public let unplaced: [String]
    /// Sum of the written tensors' bytes (the index's `metadata.total_size`).
    public let totalSize: Int
}

/// Shard metadata the Hugging Face tools write (`save_pretrained`).
public let hfShardMetadata: [(String, String)] = [("format", "pt")]

extension HFCheckpoint {
    /// Writes `tensors` in the layout of `source`: the same shard files (each tensor goes to the
    /// shard the source holds it in), metadata `{"format":"pt"}`, the index recomputed
    /// (`total_size`, `weight_map`) when the source has one, and every side file of the source
    /// copied unchanged. Output is byte-identical to `save_pretrained` for the same tensors.
    ///
    /// Every tensor of the source must be given (else nothing is written and the error lists the
    /// missing ones); tensors the source has no place for are returned in `unplaced`.
    /// `directory` is written as given (created if missing); it must not be the source directory.
    @discardableResult
    public static func save(_ tensors: TensorMap, to directory: String, like source: HFCheckpoint) throws -> HFSaveResult {
        try write(plan(tensors, like: source), to: directory)
    }

    /// Writes `tensors` sharded by size as `save_pretrained(max_shard_size=)` does (see
    /// `shardPlan`): `model-0000k-of-0000n.safetensors` plus the index, or `model.safetensors`
    /// alone when one shard suffices. `sideFiles` (relative path -> contents, e.g. `config.json`)
    /// are written too.
    @discardableResult
    public static func save(_ tensors: TensorMap, to directory: String, maxShardBytes: Int, sideFiles: [String: [UInt8]] = [:],
                            diffusers: Bool = false) throws -> HFSaveResult {
        try write(plan(tensors, maxShardBytes: maxShardBytes, sideFiles: sideFiles, diffusers: diffusers), to: directory)
    }

    /// The plan of `save(_:to:like:)`; throws if a tensor of the source is missing.
    public static func plan(_ tensors: TensorMap, like source: HFCheckpoint) throws -> HFWritePlan {
        let sourceNames = source.index.map { $0.weightMap.map(\.tensor) } ?? source.tensors.names
        let missing = sourceNames.filter { !tensors.contains($0) }
        if !missing.isEmpty {
            let shown = missing.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            let more = missing.count > 5 ? " and \(missing.count - 5) more" : ""
            let listedIn = source.index?.name ?? "shards"
            throw OpsError.invalid("cannot save like \(source.directory): \(missing.count) tensor(s) listed in its \(listedIn) are missing from the converted checkpoint: \(shown)\(more); check that the conversion produces every tensor of the original model")
        }
        let shardFiles = Array(Set(sourceNames.compactMap { source.shardOf[$0] })).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var shards: [(file: String, tensors: TensorMap)] = shardFiles.map { ($0, TensorMap()) }
        let position = Dictionary(uniqueKeysWithValues: shardFiles.enumerated().map { ($1, $0) })
        var unplaced: [String] = []
        for (name, t) in tensors {
            guard let f = source.shardOf[name], let i = position[f] else { unplaced.append(name); continue }
            shards[i].tensors[name] = t
        }
        var index: SafetensorsIndex?
        if let sourceIndex = source.index {
            let totalSize = shards.reduce(0) { $0 + $1.tensors.totalBytes }
            let parameters = shards.reduce(0) { acc, s in s.tensors.reduce(acc) { $0 + $1.tensor.numel } }
            var metadata = sourceIndex.metadata
            setValue("total_size", .int(totalSize), in: &metadata)
            // Newer transformers also record the parameter count; keep it true when present.
            if metadata.contains(where: { $0.0 == "total_parameters" }) { setValue("total_parameters", .int(parameters), in: &metadata) }
            index = SafetensorsIndex(metadata: metadata, weightMap: shards.flatMap { s in s.tensors.names.map { (tensor: $0, file: s.file) } }, name: sourceIndex.name)
        }
        return HFWritePlan(shards: shards, index: index,
                           copies: source.sideFiles.map { ($0, source.directory + "/" + $0) }, contents: [],
                           unplaced: unplaced, sourceDirectory: source.directory)
    }

    /// The plan of `save(_:to:maxShardBytes:sideFiles:)`.
    /// `diffusers`: shards and index named as diffusers names them (`diffusion_pytorch_model*`).
    public static func plan(_ tensors: TensorMap, maxShardBytes: Int, sideFiles: [String: [UInt8]] = [:], diffusers: Bool = false) throws -> HFWritePlan {
        for name in sideFiles.keys where !CheckpointFiles.isSafeRelativePath(name) || isRewritten(name) {
            throw OpsError.invalid("side file name '\(name)' must be a relative path inside the checkpoint, and not a *.safetensors file or the index")
        }
        let layout = shardPlan(tensors, maxShardBytes: maxShardBytes, baseName: diffusers ? "diffusion_pytorch_model" : "model")
        let shards = layout.map { file, names in (file: file, tensors: TensorMap(names.compactMap { n in tensors[n].map { (n, $0) } })) }
        var index: SafetensorsIndex?
        if shards.count > 1 {
            let total = shards.reduce(0) { $0 + $1.tensors.totalBytes }
            index = SafetensorsIndex(metadata: [("total_size", .int(total))],
                                     weightMap: layout.flatMap { p in p.names.map { (tensor: $0, file: p.file) } },
                                     name: diffusers ? SafetensorsIndex.diffusersFileName : SafetensorsIndex.fileName)
        }
        let contents = sideFiles.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { ($0, sideFiles[$0] ?? []) }
        return HFWritePlan(shards: shards, index: index, copies: [], contents: contents, unplaced: [], sourceDirectory: nil)
    }

    /// The plan of MindSpeed-MM's `moe_expert` / `ExpertMergeDcpConverter` writer
    /// (huggingface_hub's `split_torch_state_dict_into_shards` + its own index): shards cut by
    /// `maxShardBytes` in the map's order (see `shardPlan`), an index **always** (also for a
    /// single `model.safetensors`) with `metadata.total_size`, written as
    /// `json.dumps(indent=2, sort_keys=True)` without a trailing newline, and every file of
    /// `copyFrom` except `*.safetensors` (recursive, byte for byte; its old index is replaced).
    public static func plan(_ tensors: TensorMap, maxShardBytes: Int, copyFrom: String?) throws -> HFWritePlan {
        let layout = shardPlan(tensors, maxShardBytes: maxShardBytes)
        let shards = layout.map { file, names in (file: file, tensors: TensorMap(names.compactMap { n in tensors[n].map { (n, $0) } })) }
        let total = shards.reduce(0) { $0 + $1.tensors.totalBytes }
        let index = SafetensorsIndex(metadata: [("total_size", .int(total))],
                                     weightMap: layout.flatMap { p in p.names.map { (tensor: $0, file: p.file) } })
        var copies: [(path: String, from: String)] = []
        if let copyFrom {
            copies = try CheckpointFiles.listFiles(in: copyFrom).filter { !isRewritten($0) }.map { ($0, copyFrom + "/" + $0) }
        }
        var plan = HFWritePlan(shards: shards, index: index, copies: copies, contents: [], unplaced: [], sourceDirectory: copyFrom)
        plan.indexTrailingNewline = false
        return plan
    }

    /// Writes a plan into `directory` (created with mode 0750 if missing; files 0640). Up to
    /// `concurrentFiles` shards are written at once (both cores: casts and gathers cost CPU);
    /// the bytes do not depend on it.
    @discardableResult
    public static func write(_ plan: HFWritePlan, to directory: String, concurrentFiles: Int = 2) throws -> HFSaveResult {
        if let source = plan.sourceDirectory { try refuseSameDirectory(directory, source) }
        try CheckpointFiles.makeDirectory(directory)
        let files = try plan.shards.map { file, shard in
            try SafetensorsWriter.FileJob(shard, metadata: hfShardMetadata, path: directory + "/" + file,
                                          parts: regionCount(shard, workers: concurrentFiles))
        }
        for f in files { try f.prepare() }
        // A shard counts as done for the progress line when the last of its regions is written.
        let lock = NSLock()
        var regionsLeft = files.map { $0.regions.count }
        try ParallelJobs.run(files.enumerated().flatMap { i, f in
            f.regions.map { r in
                (cost: r.bytes, work: {
                    try r.write()
                    lock.lock()
                    regionsLeft[i] -= 1
                    let done = regionsLeft[i] == 0
                    lock.unlock()
                    if done { OutputFile.progress?.fileDone() }
                })
            }
        }, workers: concurrentFiles)
        if let index = plan.index {
            var bytes = index.encoded()
            if !plan.indexTrailingNewline { bytes.removeLast() }
            try CheckpointFiles.writeFile(bytes, to: directory + "/" + index.name)
        }
        for (rel, from) in plan.copies {
            try makeParent(of: rel, in: directory)
            try CheckpointFiles.copyFile(from: from, to: directory + "/" + rel)
        }
        for (rel, bytes) in plan.contents {
            try makeParent(of: rel, in: directory)
            try CheckpointFiles.writeFile(bytes, to: directory + "/" + rel)
        }
        return HFSaveResult(files: plan.files, unplaced: plan.unplaced, totalSize: plan.totalSize)
    }

    /// How many regions a shard is written in. A shard whose bytes are mostly gathered, cast or
    /// transposed here is cut into one region per worker, so one large shard (a 2B model in one
    /// 4 GB file) keeps every core busy. A shard the kernel mostly copies (`sendfile` of whole
    /// tensors, or of the parts of a concatenation: a TP merge, a DCP tensor's FSDP chunks) is
    /// written by one worker: the kernel serialises writes to one file anyway, and a
    /// second writer only takes the core the writeback needs (measured on Wan-1.3B's single
    /// 2.8 GB file: 2.2 s and 1.8 s of CPU with one region, 2.1-4.4 s and 2.4-5.2 s with two).
    static func regionCount(_ shard: TensorMap, workers: Int) -> Int {
        var copied = 0, total = 0
        for (_, t) in shard {
            total += t.byteCount
            copied += OutputFile.kernelCopiedBytes(t)
        }
        return copied * 2 > total ? 1 : workers
    }

    /// Shard files and the tensor names in each, as `save_pretrained(max_shard_size=)` decides them
    /// (huggingface_hub's `split_state_dict_into_shards`): in the map's order, a new shard starts
    /// when the next tensor would push the current one past `maxShardBytes`; a tensor larger than
    /// that gets a shard of its own, placed where it occurs while the current shard keeps filling.
    /// `baseName` "diffusion_pytorch_model" gives diffusers' file names.
    public static func shardPlan(_ tensors: TensorMap, maxShardBytes: Int, baseName: String = "model") -> [(file: String, names: [String])] {
        var shards: [[String]] = []
        var current: [String] = []
        var currentSize = 0
        for (name, t) in tensors {
            let size = t.byteCount
            if size > maxShardBytes { shards.append([name]); continue }
            if currentSize + size > maxShardBytes {
                shards.append(current)
                current = []
                currentSize = 0
            }
            current.append(name)
            currentSize += size
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        if shards.count == 1 { return [(baseName + ".safetensors", shards[0])] }
        let n = shards.count
        return shards.enumerated().map { i, names in (baseName + String(format: "-%05d-of-%05d.safetensors", i + 1, n), names) }
    }

    private static func makeParent(of relativePath: String, in directory: String) throws {
        let parent = (relativePath as NSString).deletingLastPathComponent
        if !parent.isEmpty { try CheckpointFiles.makeDirectory(directory + "/" + parent) }
    }

    /// Writing into the source directory would truncate the very files the tensors are mapped from.
    private static func refuseSameDirectory(_ output: String, _ source: String) throws {
        guard let a = realpath(output, nil) else { return }
        defer { free(a) }
        guard let b = realpath(source, nil) else { return }
        defer { free(b) }
        if strcmp(a, b) == 0 {
            throw OpsError.invalid("the output directory \(output) is the source checkpoint \(source); write to another directory")
        }
    }
}

/// Replaces the value of `key` in ordered pairs, keeping its position, or appends it.
private func setValue(_ key: String, _ value: Value, in pairs: inout [(String, Value)]) {
    if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = value } else { pairs.append((key, value)) }
}
