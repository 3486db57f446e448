import Foundation

/// One side of a `verify`: a checkpoint directory or a single weights file, loaded lazily.
public enum VerifyInput {
    case hf(HFCheckpoint)
    case mm(MMCheckpoint)
    case safetensors(SafetensorsFile, TensorMap)
    case torch(path: String, root: PickleValue)
    case dcp(DCPCheckpoint)

    public enum Kind: String, Sendable {
        case hf = "Hugging Face checkpoint"
        case mm = "MindSpeed-MM checkpoint"
        case safetensors = "safetensors file"
        case torch = "torch file"
        case dcp = "DCP checkpoint"
    }

    public var kind: Kind {
        switch self {
        case .hf: return .hf
        case .mm: return .mm
        case .safetensors: return .safetensors
        case .torch: return .torch
        case .dcp: return .dcp
        }
    }

    /// Opens `path`, deciding what it is from its content: a directory with a Megatron tracker
    /// (or `release/`, `iter_*` rank directories) is MindSpeed-MM, a directory with safetensors
    /// files is Hugging Face; a zip file is a torch file, anything else must be safetensors.
    public static func open(_ path: String) throws -> VerifyInput {
        switch try kind(of: path) {
        case .mm: return .mm(try MMCheckpointReader.load(path))
        case .hf: return .hf(try HFCheckpoint.load(path))
        case .torch: return .torch(path: path, root: try TorchCheckpoint.load(path))
        case .dcp: return .dcp(try DCPCheckpoint.load(path))
        case .safetensors:
            let file = try SafetensorsFile(path: path)
            return .safetensors(file, try file.tensors())
        }
    }

    /// What `open` would load, decided from the directory listing or the file's first bytes
    /// (cheap: lets a caller refuse an impossible comparison before loading anything).
    public static func kind(of path: String) throws -> Kind {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw OpsError.io(path: path, message: "does not exist")
        }
        if isDir.boolValue { return try directoryKind(path) }
        if (path as NSString).lastPathComponent == DCPLocation.metadataName { return .dcp }
        if path.hasSuffix(".pt") || path.hasSuffix(".pth") || path.hasSuffix(".bin") { return .torch }
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw OpsError.io(path: path, message: "cannot open for reading")
        }
        defer { try? h.close() }
        let head = [UInt8](h.readData(ofLength: 4))
        return head == [0x50, 0x4B, 0x03, 0x04] ? .torch : .safetensors
    }

    /// Whether a directory holds a DCP, a Megatron or a Hugging Face checkpoint (without loading it).
    public static func directoryKind(_ path: String) throws -> Kind {
        let fm = FileManager.default
        if DCPLocation.isDCP(path) { return .dcp }
        if fm.fileExists(atPath: path + "/" + MMCheckpointWriter.trackerName) { return .mm }
        let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if names.contains(where: { $0.hasSuffix(".safetensors") || SafetensorsIndex.fileNames.contains($0) }) { return .hf }
        for n in names where n == "release" || n.hasPrefix("iter_") {
            let inner = (try? fm.contentsOfDirectory(atPath: path + "/" + n)) ?? []
            if inner.contains(where: { $0.hasPrefix("mp_rank_") }) { return .mm }
        }
        throw OpsError.format(path: path, message: "is neither a Hugging Face checkpoint (no *.safetensors files), a MindSpeed-MM checkpoint (no \(MMCheckpointWriter.trackerName)) nor a DCP checkpoint (no .metadata)")
    }

    /// Where it was loaded from.
    public var path: String {
        switch self {
        case let .hf(c): return c.directory
        case let .mm(c): return c.directory
        case let .safetensors(f, _): return f.path
        case let .torch(p, _): return p
        case let .dcp(c): return c.location.root ?? c.directory
        }
    }

    /// One line for the report: kind, path and size.
    public var summary: String {
        switch self {
        case let .hf(c):
            let shards = Set(c.shardOf.values).count
            return "\(kind.rawValue) \(c.directory) (\(c.tensors.count) tensors, \(Progress.size(c.tensors.totalBytes)), \(shards) shard(s), \(c.sideFiles.count) side file(s))"
        case let .mm(c):
            let tensors = c.ranks.reduce(0) { $0 + $1.chunks.reduce(0) { $0 + $1.count } }
            return "\(kind.rawValue) \(c.directory) (\(c.iteration.directoryName), tp \(c.tpSize), pp \(c.ppSize), ep \(c.epSize), vpp \(c.vppSize), \(c.ranks.count) rank file(s), \(tensors) tensors)"
        case let .safetensors(f, m):
            return "\(kind.rawValue) \(f.path) (\(m.count) tensors, \(Progress.size(m.totalBytes)))"
        case let .torch(p, root):
            return "\(kind.rawValue) \(p) (\(root.typeName), \(root.tensors().count) tensors)"
        case let .dcp(c):
            let where_ = c.location.iteration.map { " (\($0.directoryName))" } ?? ""
            return "\(kind.rawValue) \(path)\(where_) (\(c.tensorNames.count) tensors, \(c.valueNames.count) bytes entries, \(Set(c.metadata.storage.map(\.file)).count) data file(s))"
        }
    }

    /// Why two kinds cannot be compared, or nil when they can.
    public static func incompatibility(_ a: Kind, _ b: Kind) -> String? {
        switch (a, b) {
        case (.hf, .hf), (.mm, .mm), (.safetensors, .safetensors), (.torch, .torch), (.dcp, .dcp),
             (.hf, .safetensors), (.safetensors, .hf):
            return nil
        case (.hf, .mm), (.mm, .hf):
            return "cannot compare a Hugging Face checkpoint with a MindSpeed-MM checkpoint: their tensor names and layouts differ. Convert one to the other's format first (e.g. mm_to_hf of the MindSpeed-MM one), then verify the two of the same format; or check a converter with `mm-convert verify HF_DIR --roundtrip CONVERTER`"
        default:
            return "cannot compare a \(a.rawValue) with a \(b.rawValue): give two checkpoints of the same format (two Hugging Face directories or safetensors files, two MindSpeed-MM directories, two DCP checkpoints, or two torch files)"
        }
    }
}
