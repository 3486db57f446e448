/// A Hugging Face checkpoint directory: safetensors shards (with or without
/// `model.safetensors.index.json`), `config.json`, and side files (tokenizer, generation config,
/// README, remote code ...) that a conversion carries over unchanged.
public struct HFCheckpoint {
    public let directory: String
    /// Every tensor, as lazy views into the mapped shards (shard by shard, header order).
    public let tensors: TensorMap
    /// `config.json`, or nil when the directory has none (e.g. a LoRA adapter).
    public let config: Value?
    /// The index, when the checkpoint is sharded with one.
    public let index: SafetensorsIndex?
    /// tensor name -> shard file name it was read from.
    public let shardOf: [String: String]
    /// `__metadata__` of each shard, by file name.
    public let metadata: [String: [(String, String)]]
    /// Every other file, as relative paths (recursive, sorted): everything except `*.safetensors`
    /// files and the index, which a save rewrites.
    public let sideFiles: [String]

    /// Maps and validates every shard, reads `config.json`, lists the side files.
    public static func load(_ directory: String) throws -> HFCheckpoint {
        let shards = try SafetensorsDirectory(directory: directory)
        let configPath = directory + "/config.json"
        let files = try CheckpointFiles.listFiles(in: directory)
        let config = files.contains("config.json") ? try JSONReader.parse(contentsOf: configPath) : nil
        return HFCheckpoint(
            directory: directory,
            tensors: shards.tensors,
            config: config,
            index: shards.index,
            shardOf: shards.shardOf,
            metadata: shards.metadata,
            sideFiles: files.filter { !isRewritten($0) })
    }

    /// Every tensor with the shard file it is in, in the order the tensors were read.
    public var weightMap: [(tensor: String, file: String)] {
        tensors.names.map { ($0, shardOf[$0] ?? "") }
    }

    /// Files a save writes itself instead of copying. Safetensors files in sub-directories are
    /// not weights of this checkpoint (loading is not recursive); like the reference converter we
    /// do not copy them either.
    static func isRewritten(_ relativePath: String) -> Bool {
        relativePath.hasSuffix(".safetensors") || SafetensorsIndex.fileNames.contains(relativePath)
    }
}
