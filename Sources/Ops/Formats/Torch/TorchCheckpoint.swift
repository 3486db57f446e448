/// Reads and writes `torch.save` files (the zip format of torch >= 1.6) without torch.
///
/// Loading maps the file, decodes `data.pkl` with the code-free pickle interpreter and turns every
/// tensor into a lazy view of its `data/<key>` entry: nothing is copied. Saving writes the archive
/// torch.save writes (same entry order, names, alignment, records and serialization id), streaming
/// each tensor from its lazy expression.
public enum TorchCheckpoint {
    /// The magic number the legacy (pre-zip) torch format pickles first.
    static let legacyMagic: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Loads the object saved in `path`.
    /// - Parameter verifyCRC: also check every entry's CRC-32 (reads all storage bytes once);
    ///   `data.pkl` is always checked.
    public static func load(_ path: String, verifyCRC: Bool = false) throws -> PickleValue {
        let store = try ByteStore(mapping: path)
        try rejectLegacy(store)
        store.advise(.random)
        defer { store.advise(.normal) }
        let root = try load(archive: ZipArchive(store: store), verifyCRC: verifyCRC)
        // Reading the directory and local headers faulted in (with read-ahead) pages all over
        // the file; the tensors are read later, so give those pages back now.
        store.release(offset: 0, count: store.count)
        return root
    }

    /// Loads from an archive already opened (e.g. a nested `torch.save` held in memory).
    public static func load(archive: ZipArchive, verifyCRC: Bool = false) throws -> PickleValue {
        let path = archive.path
        guard let pkl = archive.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw OpsError.format(path: path, message: "zip archive has no data.pkl entry: not a torch.save checkpoint")
        }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        if verifyCRC { try archive.verifyAllCRCs() } else { try archive.verifyCRC(pkl) }
        var storages: [String: TorchStorage] = [:]
        let load: PickleReader.PersistentLoad = { pid in
            guard case let .tuple(t) = pid, t.count == 5, t[0].stringValue == "storage" else {
                throw OpsError.format(path: path, message: "unsupported persistent id \(pid) (expected ('storage', type, key, location, numel))")
            }
            guard case let .global(module, typeName) = t[1], module == "torch" || module == "torch.storage" else {
                throw OpsError.format(path: path, message: "persistent id storage type \(t[1]) is not a torch storage class")
            }
            // torch pickles the dtypes without a legacy storage class (float8, uint16/32/64) as a
            // byte storage, `torch.storage.UntypedStorage`, whose numel counts bytes; the tensor's
            // dtype comes with `_rebuild_tensor_v3`.
            let untyped = typeName == "UntypedStorage"
            guard let dtype = untyped ? .u8 : DType(storageName: typeName) else {
                throw OpsError.unsupported("\(path): storage type torch.\(typeName) is not supported (known: UntypedStorage, \(DType.allCases.compactMap(\.storageName).joined(separator: ", ")))")
            }
            guard let key = t[2].stringValue, let location = t[3].stringValue, let numel = t[4].intValue, numel >= 0 else {
                throw OpsError.format(path: path, message: "malformed persistent id \(pid)")
            }
            if let s = storages[key] {
                guard s.dtype == dtype, s.isUntyped == untyped else {
                    throw OpsError.format(path: path, message: "storage '\(key)' is referenced as both \(s.isUntyped ? "UntypedStorage" : s.dtype.storageName ?? s.dtype.rawValue) and \(typeName)")
                }
                return .storage(s)
            }
            let name = prefix + "data/" + key
            guard let entry = archive.entry(named: name) else {
                throw OpsError.format(path: path, message: "missing storage entry '\(name)' (the pickle refers to storage '\(key)' but the archive does not contain it)")
            }
            try archive.checkReadable(entry)
            let (need, overflow) = numel.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, need <= entry.size else {
                let what = untyped ? "an UntypedStorage of \(numel) bytes needs" : "\(numel) \(dtype.torchName) elements need"
                throw OpsError.format(path: path, message: "storage '\(name)' holds \(entry.size) bytes but \(what) \(overflow ? "more" : String(need)): storage too small")
            }
            let data = numel == 0 ? Tensor.zeros(dtype, [0])
                : try Tensor.view(store: archive.store, byteOffset: entry.dataOffset, dtype: dtype, shape: [numel])
            let s = untyped ? TorchStorage(untypedKey: key, byteCount: numel, location: location, data: data)
                : TorchStorage(key: key, dtype: dtype, numel: numel, location: location, data: data)
            storages[key] = s
            return .storage(s)
        }
        return try PickleReader(try archive.data(pkl), path: "\(path):\(pkl.name)", persistentLoad: load).read()
    }

    static func rejectLegacy(_ store: ByteStore) throws {
        let b = store.buffer
        guard b.count >= 2 + legacyMagic.count, b[0] == PickleOpcode.proto else { return }
        if Array(b[2..<(2 + legacyMagic.count)]) == legacyMagic {
            throw OpsError.unsupported("\(store.name): legacy torch format (torch.save with _use_new_zipfile_serialization=False) is not supported: load it in Python and re-save it with torch.save(..., _use_new_zipfile_serialization=True)")
        }
    }

    /// Writes `root` to `path` as torch.save does. The archive prefix is the file name without its
    /// extension (torch's rule), unless `archiveName` is given.
    public static func save(_ root: PickleValue, to path: String, archiveName: String? = nil) throws {
        let out = try OutputFile(creating: path)
        try write(root, archiveName: archiveName ?? defaultArchiveName(path), to: out)
        try out.close()
    }

    /// Appends the archive torch.save writes for `root` to `out`, from its current offset on;
    /// returns the archive's length. Offsets inside the archive are relative to its start, as
    /// when torch.save writes to a stream, so the archive can be read back from its byte range
    /// alone (how a DCP `.distcp` file holds one archive per item). The caller closes `out`.
    @discardableResult
    public static func write(_ root: PickleValue, archiveName stem: String, to out: OutputFile) throws -> Int {
        let (pickle, storages) = try PickleWriter.pickle(root)
        let zip = ZipWriter(out)
        var names: [String] = []
        func add(_ name: String, _ bytes: [UInt8]) throws {
            try zip.addEntry(name: stem + "/" + name, bytes: bytes)
            names.append(name)
        }
        try add("data.pkl", pickle)
        try add(".format_version", Array("1".utf8))
        try add(".storage_alignment", Array(String(ZipWriter.alignment).utf8))
        try add("byteorder", Array("little".utf8))
        for s in storages {
            let size = s.numel * s.dtype.size
            try zip.addEntry(name: stem + "/data/" + s.key, size: size) { out in
                try out.write(s.data)
            }
            names.append("data/" + s.key)
        }
        try add("version", Array("3\n".utf8))
        let id = TorchSerializationID.compute(names: names, crcs: zip.descriptorCRCs)
        try add(".data/serialization_id", Array(id.utf8))
        try zip.finish()
        return zip.position
    }

    /// Saves `{name: tensor}` (each tensor with its own compact storage), nested under the
    /// dotted path `key` when given (`"module"`: DeepSpeed model states), mode 0640: `save pt`,
    /// and the samples of models released as one torch file.
    public static func saveStateDict(_ tensors: TensorMap, key: String? = nil, to path: String, archiveName: String? = nil) throws {
        var object = PickleValue.dict(PickleDict(strings: tensors.map { ($0.name, .tensor(TorchTensor($0.tensor))) }))
        for part in (key ?? "").split(separator: ".").reversed() { object = .dict(PickleDict(strings: [(String(part), object)])) }
        try save(object, to: path, archiveName: archiveName)
        try CheckpointFiles.setMode(path, CheckpointFiles.fileMode)
    }

    /// torch's archive name: the file's base name without its last extension
    /// (`model_optim_rng.pt` -> `model_optim_rng`).
    public static func defaultArchiveName(_ path: String) -> String {
        let base = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        if let dot = base.lastIndex(of: "."), dot != base.startIndex { return String(base[..<dot]) }
        return base.isEmpty ? "archive" : base
    }
}
