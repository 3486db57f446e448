import Foundation

extension CheckpointSummary {
    /// Torch file extensions (`pytorch_model.bin` is a torch.save zip too).
    static let torchExtensions: Set<String> = ["pt", "pth", "bin"]

    /// Which kind of checkpoint `path` is, from the file system alone (extension, zip magic,
    /// directory contents); throws a clear error for a missing path or anything else.
    public static func detectKind(_ path: String) throws -> Kind {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw OpsError.io(path: path, message: "no such file or directory")
        }
        if isDir.boolValue {
            if DCPLocation.isDCP(path) { return .dcp }
            let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            if names.contains(MMCheckpointWriter.trackerName) || names.contains("release") || names.contains(where: { $0.hasPrefix("iter_") }) {
                return .mm
            }
            if names.contains(where: { $0.hasSuffix(".safetensors") }) || SafetensorsIndex.fileNames.contains(where: names.contains) { return .hf }
            if names.contains(where: { $0.hasPrefix("mp_rank_") }) {
                throw OpsError.format(path: path, message: "holds mp_rank_* directories but no \(MMCheckpointWriter.trackerName): pass the checkpoint directory above it (the one with the tracker file)")
            }
            if names.contains(MMCheckpointWriter.fileName) {
                throw OpsError.format(path: path, message: "is one rank directory: inspect \(path)/\(MMCheckpointWriter.fileName), or the checkpoint directory two levels up")
            }
            throw OpsError.format(path: path, message: "is a directory but neither a Hugging Face checkpoint (no *.safetensors), a MindSpeed-MM checkpoint (no \(MMCheckpointWriter.trackerName), release/ or iter_*/) nor a DCP checkpoint (no .metadata)")
        }
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "safetensors" { return .safetensors }
        if torchExtensions.contains(ext) { return .torch }
        if let h = FileHandle(forReadingAtPath: path) {
            let head = [UInt8](h.readData(ofLength: 4))
            try? h.close()
            if head == [0x50, 0x4B, 0x03, 0x04] { return .torch }
        }
        if (path as NSString).lastPathComponent == DCPLocation.metadataName { return .dcp }
        throw OpsError.unsupported("\(path): unknown file kind (expected a .safetensors file, a torch .pt/.pth/.bin file, a Hugging Face directory, a MindSpeed-MM directory or a DCP checkpoint directory)")
    }

    /// Loads and summarizes any checkpoint `inspect` understands. Tensors stay lazy: only headers
    /// and pickles are read.
    public static func load(_ path: String) throws -> CheckpointSummary {
        switch try detectKind(path) {
        case .safetensors: return safetensors(try SafetensorsFile(path: path))
        case .torch: return torch(try TorchCheckpoint.load(path), path: path)
        case .hf: return hf(try HFCheckpoint.load(path))
        case .mm: return mm(try MMCheckpointReader.load(path))
        case .dcp: return try dcp(try DCPCheckpoint.load(path))
        }
    }
}
