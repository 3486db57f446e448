import Foundation

/// One entry to write into a DCP: a tensor (stored as one chunk covering it) or any other value
/// (stored as a pickled "bytes" item), with the nested path it stands for and its data file.
public struct DCPWriteEntry {
    public enum Value {
        case tensor(Tensor)
        case bytes(PickleValue)
    }

    public var fqn: String
    public var value: Value
    /// The path in the nested state dict (`planner_data`); its elements joined with `.` must give
    /// `fqn`, as torch's flattening does.
    public var path: [DCPPathElement]
    /// The data file: `__<file>_0.distcp` (the reference writes one per HF shard).
    public var file: Int

    /// `path` defaults to MindSpeed-MM's layout: `model.<key>` comes from `{"model": {key: ...}}`
    /// (the key may contain dots), anything else is a top-level key.
    public init(fqn: String, value: Value, path: [DCPPathElement]? = nil, file: Int = 0) {
        self.fqn = fqn
        self.value = value
        self.path = path ?? DCPWriteEntry.defaultPath(fqn)
        self.file = file
    }

    public static func tensor(_ fqn: String, _ t: Tensor, file: Int = 0) -> DCPWriteEntry {
        DCPWriteEntry(fqn: fqn, value: .tensor(t), file: file)
    }

    public static func bytes(_ fqn: String, _ v: PickleValue, file: Int = 0) -> DCPWriteEntry {
        DCPWriteEntry(fqn: fqn, value: .bytes(v), file: file)
    }

    /// MindSpeed-MM's `checkpoint_version` = 3.0 entry.
    public static var checkpointVersion: DCPWriteEntry { .bytes("checkpoint_version", .float(3.0)) }

    public static func defaultPath(_ fqn: String) -> [DCPPathElement] {
        if fqn.hasPrefix("model."), fqn.count > "model.".count { return [.key("model"), .key(String(fqn.dropFirst("model.".count)))] }
        return [.key(fqn)]
    }
}

extension DCPCheckpoint {
    /// How the written checkpoint is laid out.
    public enum SaveLayout: Equatable {
        /// `dir` is the checkpoint directory itself (`.metadata` + data files).
        case directory
        /// `dir` is a MindSpeed-MM root: the tracker names the iteration and the checkpoint is in
        /// `release/` or `iter_NNNNNNN/` (what the trainer loads; converters write `release`).
        case root(MMIteration)
    }

    /// Writes `entries` as a DCP checkpoint, atomically (all of `dir` appears, or nothing).
    ///
    /// The form of the hand-made fixture torch 2.7 to 2.15 load: items are `torch.save` archives
    /// streamed from the lazy tensors (each tensor one contiguous chunk), per file first the bytes
    /// items then the tensors, back to back; `.metadata` is a protocol-2 pickle with 5-item
    /// `TensorProperties`, `version` "1.0.0" and no `StorageMeta` (so the bytes depend only on the
    /// content: no path, no random id). Returns the metadata written.
    @discardableResult
    public static func save(_ entries: [DCPWriteEntry], to dir: String, layout: SaveLayout = .directory, force: Bool = false,
                            workers: Int = 1) throws -> DCPMetadata {
        try validate(entries)
        return try AtomicOutput.write(to: dir, force: force) { tmp in
            var target = tmp
            if case let .root(iteration) = layout {
                target = tmp + "/" + iteration.directoryName
                try MMCheckpointWriter.makeDirectory(target)
                try MMCheckpointWriter.writeTracker(in: tmp, iteration: iteration)
            }
            return try writeCheckpoint(entries, into: target, workers: workers)
        }
    }

    /// One data file: its entries' items back to back, bytes values first.
    static func writeDataFile(_ mine: [DCPWriteEntry], name: String, in dir: String) throws -> [String: DCPStorageItem] {
        var placed: [String: DCPStorageItem] = [:]
        let out = try OutputFile(creating: dir + "/" + name)
        let ordered = mine.filter { if case .bytes = $0.value { return true }; return false }
            + mine.filter { if case .tensor = $0.value { return true }; return false }
        for e in ordered {
            let start = out.offset
            let root: PickleValue
            switch e.value {
            case let .tensor(t): root = .tensor(TorchTensor(t))
            case let .bytes(v): root = v
            }
            let length = try TorchCheckpoint.write(root, archiveName: "archive", to: out)
            var key = DCPStorageKey(fqn: e.fqn)
            if case let .tensor(t) = e.value { key.offsets = [Int](repeating: 0, count: t.rank) }
            placed[e.fqn] = DCPStorageItem(key: key, indexHint: key.offsets == nil ? nil : 0, file: name, offset: start, length: length)
        }
        try out.close()
        return placed
    }

    static func validate(_ entries: [DCPWriteEntry]) throws {
        var seen: Set<String> = []
        for e in entries {
            guard seen.insert(e.fqn).inserted else { throw OpsError.invalid("DCP save: entry '\(e.fqn)' is given twice (FQNs must be unique)") }
            guard e.path.map(\.description).joined(separator: ".") == e.fqn else {
                throw OpsError.invalid("DCP save: entry '\(e.fqn)' has the path \(e.path.map(\.description)), which flattens to '\(e.path.map(\.description).joined(separator: "."))'")
            }
            guard e.file >= 0 else { throw OpsError.invalid("DCP save: entry '\(e.fqn)' has a negative file number") }
        }
    }

    /// Writes the data files and `.metadata` into the existing directory `dir`, up to `workers`
    /// data files at once (each file's items in entry order, bytes items first).
    static func writeCheckpoint(_ entries: [DCPWriteEntry], into dir: String, workers: Int = 1) throws -> DCPMetadata {
        let fileNumbers = Set(entries.map(\.file)).sorted()
        var placedPerFile = [[String: DCPStorageItem]](repeating: [:], count: fileNumbers.count)
        let lock = NSLock()
        try ParallelJobs.run(fileNumbers.enumerated().map { slot, file in
            let mine = entries.filter { $0.file == file }
            let cost = mine.reduce(0) { if case let .tensor(t) = $1.value { return $0 + t.byteCount } else { return $0 } }
            return (cost: cost, work: {
                let placed = try writeDataFile(mine, name: "__\(file)_0.distcp", in: dir)
                OutputFile.progress?.fileDone()
                lock.lock()
                placedPerFile[slot] = placed
                lock.unlock()
            })
        }, workers: workers)
        let placed = placedPerFile.reduce(into: [String: DCPStorageItem]()) { $0.merge($1) { a, _ in a } }
        var m = DCPMetadata(version: "1.0.0")
        for e in entries {
            switch e.value {
            case let .tensor(t):
                let chunk = DCPChunk(offsets: [Int](repeating: 0, count: t.rank), sizes: t.shape)
                m.entries.append(DCPEntry(fqn: e.fqn, kind: .tensor(DCPTensorMetadata(properties: DCPTensorProperties(dtype: t.dtype),
                                                                                     size: t.shape, chunks: [chunk]))))
            case .bytes:
                m.entries.append(DCPEntry(fqn: e.fqn, kind: .bytes))
            }
            m.plannerPaths[e.fqn] = e.path
            m.storage.append(placed[e.fqn]!)
        }
        let out = try OutputFile(creating: dir + "/" + DCPLocation.metadataName)
        try out.write(try m.encode())
        try out.close()
        return m
    }
}
