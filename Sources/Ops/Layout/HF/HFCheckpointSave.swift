import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        let sourceNames = source.index.map { $0.weightMap.map(\.tensor) } ?? source.tensors.names
        let missing = sourceNames.filter { !tensors.contains($0) }
        if !missing.isEmpty {
            let shown = missing.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            let more = missing.count > 5 ? " and \(missing.count - 5) more" : ""
            let listedIn = source.index != nil ? SafetensorsIndex.fileName : "the shards"
            throw OpsError.invalid("cannot save like \(source.directory): \(missing.count) tensor(s) listed in its \(listedIn) are missing from the converted checkpoint: \(shown)\(more); check that the conversion produces every tensor of the original model")
        }
        let unplaced = tensors.names.filter { source.shardOf[$0] == nil }
        let shardFiles = Array(Set(sourceNames.compactMap { source.shardOf[$0] })).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var shards: [(file: String, tensors: TensorMap)] = shardFiles.map { ($0, TensorMap()) }
        let position = Dictionary(uniqueKeysWithValues: shardFiles.enumerated().map { ($1, $0) })
        for (name, t) in tensors {
            guard let f = source.shardOf[name], let i = position[f] else { continue }
            shards[i].tensors[name] = t
        }
        try refuseSameDirectory(directory, source.directory)
        try CheckpointFiles.makeDirectory(directory)

        var written: [String] = []
        var total = 0
        for (file, shard) in shards {
            try SafetensorsWriter.write(shard, metadata: hfShardMetadata, to: directory + "/" + file)
            total += shard.totalBytes
            written.append(file)
        }
        if let index = source.index {
            var metadata = index.metadata
            if let k = metadata.firstIndex(where: { $0.0 == "total_size" }) { metadata[k].1 = .int(total) } else { metadata.append(("total_size", .int(total))) }
            let map = shards.flatMap { s in s.tensors.names.map { (tensor: $0, file: s.file) } }
            let bytes = SafetensorsIndex(metadata: metadata, weightMap: map).encoded()
            try CheckpointFiles.writeFile(bytes, to: directory + "/" + SafetensorsIndex.fileName)
            written.append(SafetensorsIndex.fileName)
        }
        for rel in source.sideFiles {
            try makeParent(of: rel, in: directory)
            try CheckpointFiles.copyFile(from: source.directory + "/" + rel, to: directory + "/" + rel)
            written.append(rel)
        }
        return HFSaveResult(files: written, unplaced: unplaced, totalSize: total)
    }

    /// Writes `tensors` sharded by size as `save_pretrained(max_shard_size=)` does: in the map's
    /// order, a new shard starts when the next tensor would push the current one past
    /// `maxShardBytes`, and a tensor larger than that gets a shard of its own. Files are
    /// `model-0000k-of-0000n.safetensors` plus the index, or `model.safetensors` alone when one
    /// shard suffices. `sideFiles` (relative path -> contents, e.g. `config.json`) are written too.
    @discardableResult
    public static func save(_ tensors: TensorMap, to directory: String, maxShardBytes: Int, sideFiles: [String: [UInt8]] = [:]) throws -> HFSaveResult {
        for name in sideFiles.keys where !CheckpointFiles.isSafeRelativePath(name) || isRewritten(name) {
            throw OpsError.invalid("side file name '\(name)' must be a relative path inside the checkpoint and not a safetensors file or the index")
        }
        let plan = shardPlan(tensors, maxShardBytes: maxShardBytes)
        try CheckpointFiles.makeDirectory(directory)
        var written: [String] = []
        var total = 0
        for (file, names) in plan {
            let shard = TensorMap(names.compactMap { n in tensors[n].map { (n, $0) } })
            try SafetensorsWriter.write(shard, metadata: hfShardMetadata, to: directory + "/" + file)
            total += shard.totalBytes
            written.append(file)
        }
        if plan.count > 1 {
            let map = plan.flatMap { p in p.names.map { (tensor: $0, file: p.file) } }
            let bytes = SafetensorsIndex(metadata: [("total_size", .int(total))], weightMap: map).encoded()
            try CheckpointFiles.writeFile(bytes, to: directory + "/" + SafetensorsIndex.fileName)
            written.append(SafetensorsIndex.fileName)
        }
        for name in sideFiles.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            try makeParent(of: name, in: directory)
            try CheckpointFiles.writeFile(sideFiles[name] ?? [], to: directory + "/" + name)
            written.append(name)
        }
        return HFSaveResult(files: written, unplaced: [], totalSize: total)
    }

    /// The shard files and the tensor names in each, as `save(_:to:maxShardBytes:)` writes them
    /// (huggingface_hub's `split_state_dict_into_shards`). No files are touched.
    public static func shardPlan(_ tensors: TensorMap, maxShardBytes: Int) -> [(file: String, names: [String])] {
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
        if shards.count == 1 { return [("model.safetensors", shards[0])] }
        let n = shards.count
        return shards.enumerated().map { i, names in (String(format: "model-%05d-of-%05d.safetensors", i + 1, n), names) }
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
