import Foundation

/// All safetensors shards of one checkpoint directory, mapped and cross-checked.
///
/// With `model.safetensors.index.json` the index decides: every shard it names must exist, every
/// tensor it lists must be in the shard it names, and no shard may hold a tensor the index does
/// not list. Without an index, every `*.safetensors` file directly in the directory is read, in
/// sorted name order. A tensor name found in two files is an error either way.
public struct SafetensorsDirectory {
    public let directory: String
    /// Every tensor, shard by shard (sorted file names), in each shard's header order.
    public let tensors: TensorMap
    /// tensor name -> the file name (within `directory`) it was read from.
    public let shardOf: [String: String]
    /// The files read, in reading order.
    public let files: [SafetensorsFile]
    public let index: SafetensorsIndex?

    public init(directory: String) throws {
        self.directory = directory
        // transformers' index name, else diffusers' (a folder with both is ambiguous).
        let present = SafetensorsIndex.fileNames.filter { FileManager.default.fileExists(atPath: directory + "/" + $0) }
        if present.count > 1 {
            throw OpsError.format(path: directory, message: "has two indexes (\(present.joined(separator: " and "))); remove the one that does not describe the shards")
        }
        let indexName = present.first ?? SafetensorsIndex.fileName
        let indexPath = directory + "/" + indexName
        var names: [String]
        var index: SafetensorsIndex?
        if !present.isEmpty {
            let idx = try SafetensorsIndex(contentsOf: indexPath)
            names = idx.shardFiles
            for n in names where !FileManager.default.fileExists(atPath: directory + "/" + n) {
                let count = idx.weightMap.filter { $0.file == n }.count
                throw OpsError.io(path: directory + "/" + n,
                    message: "shard named by \(indexName) (for \(count) tensors) is missing; download the complete checkpoint")
            }
            index = idx
        } else {
            names = try SafetensorsDirectory.safetensorsFiles(in: directory)
            guard !names.isEmpty else {
                throw OpsError.io(path: directory, message: "no *.safetensors file and no \(SafetensorsIndex.fileName) in this directory; is it a Hugging Face checkpoint?")
            }
        }
        var tensors = TensorMap()
        var shardOf: [String: String] = [:]
        var files: [SafetensorsFile] = []
        for n in names {
            let file = try SafetensorsFile(path: directory + "/" + n)
            for (name, t) in try file.tensors() {
                if let other = shardOf[name] {
                    throw OpsError.format(path: file.path, message: "tensor '\(name)' is also in \(other); a checkpoint must hold each tensor once: remove the stray file")
                }
                tensors[name] = t
                shardOf[name] = n
            }
            files.append(file)
        }
        if let idx = index {
            var listed = Set<String>()
            for (tensor, file) in idx.weightMap {
                listed.insert(tensor)
                guard let found = shardOf[tensor] else {
                    throw OpsError.format(path: directory + "/" + file,
                        message: "tensor '\(tensor)' listed in \(indexName) is not in this shard; the checkpoint is incomplete or the index is stale: re-download it")
                }
                guard found == file else {
                    throw OpsError.format(path: indexPath,
                        message: "tensor '\(tensor)' is listed in \(file) but found in \(found); fix the index or remove it to load every *.safetensors file")
                }
            }
            for name in tensors.names where !listed.contains(name) {
                throw OpsError.format(path: indexPath,
                    message: "tensor '\(name)' of \(shardOf[name] ?? "?") is not listed in the index; fix the index or remove it to load every *.safetensors file")
            }
        }
        self.tensors = tensors
        self.shardOf = shardOf
        self.files = files
        self.index = index
    }

    /// Metadata (`__metadata__`) of each file read, by file name.
    public var metadata: [String: [(String, String)]] {
        var m: [String: [(String, String)]] = [:]
        for f in files { m[(f.path as NSString).lastPathComponent] = f.metadata ?? [] }
        return m
    }

    /// Regular files (or links to them) named `*.safetensors` directly in `directory`, sorted.
    static func safetensorsFiles(in directory: String) throws -> [String] {
        let all: [String]
        do {
            all = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw OpsError.io(path: directory, message: "cannot list the directory: it does not exist or is not readable")
        }
        return all.filter { name in
            guard name.hasSuffix(".safetensors") else { return false }
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDir) && !isDir.boolValue
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
