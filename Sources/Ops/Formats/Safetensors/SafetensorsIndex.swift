import Foundation

/// `model.safetensors.index.json` (transformers) or `diffusion_pytorch_model.safetensors.index.json`
/// (diffusers): which shard file holds each tensor of a sharded checkpoint.
public struct SafetensorsIndex: Equatable {
    public static let fileName = "model.safetensors.index.json"
    /// The index name of a diffusers model folder (`transformer/` of Wan, CogVideoX, ...).
    public static let diffusersFileName = "diffusion_pytorch_model.safetensors.index.json"
    /// Every index name a checkpoint directory may have, in the order they are looked for.
    public static let fileNames = [fileName, diffusersFileName]

    /// The `metadata` object (usually just `total_size`), in file order.
    public var metadata: [(String, Value)]
    /// tensor name -> shard file name, in file order.
    public var weightMap: [(tensor: String, file: String)]
    /// The file the index is read from and written to (`fileName` or `diffusersFileName`).
    public var name: String

    public init(metadata: [(String, Value)], weightMap: [(tensor: String, file: String)], name: String = SafetensorsIndex.fileName) {
        self.metadata = metadata
        self.weightMap = weightMap
        self.name = name
    }

    public static func == (a: SafetensorsIndex, b: SafetensorsIndex) -> Bool {
        Value.dict(a.metadata) == Value.dict(b.metadata)
            && a.weightMap.map(\.tensor) == b.weightMap.map(\.tensor) && a.weightMap.map(\.file) == b.weightMap.map(\.file)
    }

    /// Reads and validates an index file: an object with a `weight_map` of strings naming plain
    /// file names (no directories, so a hostile index cannot point outside the checkpoint).
    public init(contentsOf path: String) throws {
        let json = try JSONReader.parse(contentsOf: path)
        func fail(_ m: String) -> OpsError { .format(path: path, message: m + "; fix the index or remove it to load every *.safetensors file of the directory") }
        guard case .dict = json else { throw fail("the index must be a JSON object, found a \(json.typeName)") }
        var metadata: [(String, Value)] = []
        if let m = json["metadata"] {
            guard case let .dict(pairs) = m else { throw fail("\"metadata\" must be an object, found a \(m.typeName)") }
            metadata = pairs
        }
        guard let wm = json["weight_map"] else { throw fail("missing \"weight_map\"") }
        guard case let .dict(entries) = wm else { throw fail("\"weight_map\" must be an object, found a \(wm.typeName)") }
        var map: [(tensor: String, file: String)] = []
        for (tensor, v) in entries {
            guard case let .string(file) = v else { throw fail("weight_map entry '\(tensor)' must be a file name string, found a \(v.typeName)") }
            guard SafetensorsIndex.isPlainFileName(file) else {
                throw fail("weight_map entry '\(tensor)' names \"\(file)\", which is not a plain file name in the checkpoint directory")
            }
            map.append((tensor, file))
        }
        self.init(metadata: metadata, weightMap: map, name: (path as NSString).lastPathComponent)
    }

    /// The shard files named by the index, each once, sorted by name.
    public var shardFiles: [String] { Array(Set(weightMap.map(\.file))).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    /// The file as `transformers` writes it: `json.dumps(index, indent=2, sort_keys=True) + "\n"`.
    public func encoded() -> [UInt8] {
        let doc = Value.dict([
            ("metadata", .dict(metadata)),
            ("weight_map", .dict(weightMap.map { ($0.tensor, .string($0.file)) })),
        ])
        return JSONWriter(layout: .indented(2), ensureASCII: true, sortKeys: true).encode(doc) + [0x0A]
    }

    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }
}
