/// A torch Distributed Checkpoint (DCP), read without torch.
///
/// `load` reads `.metadata`, maps the data files it names and checks everything that can be checked
/// without reading items: every chunk and bytes entry has its item, every item lies inside an
/// existing file, and each tensor's chunks cover it exactly once. Items are parsed only when asked
/// for: `tensor(_:)` gives a lazy tensor over the mapped files (chunks assembled without copying),
/// `value(_:)` unpickles one bytes entry, so a training checkpoint's optimizer state is never
/// touched unless requested.
public struct DCPCheckpoint {
    public let location: DCPLocation
    public let metadata: DCPMetadata
    /// The data files `.metadata` names, mapped (relative path -> file).
    let files: [String: ByteStore]
    let items: [DCPStorageKey: DCPStorageItem]
    /// FQN -> position in `metadata.entries` (lookups stay O(1) with many thousand entries).
    let index: [String: Int]

    /// The checkpoint directory (the one holding `.metadata`).
    public var directory: String { location.directory }
    public var metadataPath: String { directory + "/" + DCPLocation.metadataName }

    /// Loads a checkpoint directory or a MindSpeed-MM root (tracker + `release/` or `iter_*/`).
    public static func load(_ path: String) throws -> DCPCheckpoint {
        let location = try DCPLocation.resolve(path)
        let metadataPath = location.directory + "/" + DCPLocation.metadataName
        return try DCPCheckpoint(location: location, metadata: try DCPMetadata.read(metadataPath))
    }

    /// Checks `metadata` against the files of `location.directory` and maps them.
    public init(location: DCPLocation, metadata: DCPMetadata) throws {
        self.location = location
        self.metadata = metadata
        let path = location.directory + "/" + DCPLocation.metadataName
        func fail(_ message: String) -> OpsError { .format(path: path, message: message) }
        var items: [DCPStorageKey: DCPStorageItem] = [:]
        var files: [String: ByteStore] = [:]
        for s in metadata.storage {
            // A later duplicate key wins, as in the Python dict torch builds.
            items[s.key] = s
        }
        func item(_ key: DCPStorageKey, _ what: String) throws -> DCPStorageItem {
            guard let s = items[key] else { throw fail("entry '\(key.fqn)': \(what) has no item in storage_data") }
            if files[s.file] == nil {
                let parts = s.file.split(separator: "/", omittingEmptySubsequences: false)
                guard !s.file.isEmpty, !s.file.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
                    throw fail("entry '\(key.fqn)': data file name '\(s.file)' is not a plain name inside the checkpoint directory")
                }
                let filePath = location.directory + "/" + s.file
                do {
                    files[s.file] = try ByteStore(mapping: filePath)
                } catch let OpsError.io(_, message) {
                    throw OpsError.io(path: filePath, message: "data file of entry '\(key.fqn)' (named in .metadata): \(message)")
                }
            }
            let size = files[s.file]!.count
            guard s.offset >= 0, s.length >= 0, s.offset <= size, s.length <= size - s.offset else {
                throw OpsError.format(path: location.directory + "/" + s.file,
                    message: "the item of entry '\(key.fqn)' (offset \(s.offset), length \(s.length)) lies outside the file (\(size) bytes): the file is truncated or .metadata is wrong")
            }
            return s
        }
        for e in metadata.entries {
            switch e.kind {
            case .bytes:
                _ = try item(DCPStorageKey(fqn: e.fqn), "the bytes value")
            case let .tensor(t):
                try DCPChunkLayout.check(t.chunks, size: t.size, fqn: e.fqn, path: path)
                for (i, c) in t.chunks.enumerated() {
                    _ = try item(DCPStorageKey(fqn: e.fqn, offsets: c.offsets), "chunk \(i) (offsets \(c.offsets))")
                }
            }
        }
        self.items = items
        self.files = files
        self.index = Dictionary(metadata.entries.enumerated().map { ($1.fqn, $0) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: - Entries

    public var entries: [DCPEntry] { metadata.entries }

    /// Tensor entries, in file order.
    public var tensorNames: [String] { metadata.entries.compactMap { $0.tensor == nil ? nil : $0.fqn } }

    /// Bytes (non-tensor) entries, in file order.
    public var valueNames: [String] { metadata.entries.compactMap { $0.tensor == nil ? $0.fqn : nil } }

    /// The entry named `fqn`, if any.
    public func entry(_ fqn: String) -> DCPEntry? { index[fqn].map { metadata.entries[$0] } }

    func entry(named fqn: String) throws -> DCPEntry {
        guard let e = entry(fqn) else { throw OpsError.invalid("\(metadataPath): no entry '\(fqn)'") }
        return e
    }

    /// The item holding a chunk (`offsets`) or a bytes value (nil).
    public func storageItem(_ fqn: String, offsets: [Int]? = nil) -> DCPStorageItem? {
        items[DCPStorageKey(fqn: fqn, offsets: offsets)]
    }

    func item(_ key: DCPStorageKey) throws -> DCPItem {
        // `init` checked that every entry's items exist and that their files are mapped.
        guard let s = items[key], let f = files[s.file] else { throw OpsError.invalid("\(metadataPath): no item for '\(key)'") }
        return DCPItem(item: s, file: f)
    }

    // MARK: - Reading

    /// The chunks of a tensor entry as stored (each its item's tensor, with the item's stride).
    public func chunks(_ fqn: String) throws -> [(chunk: DCPChunk, tensor: TorchTensor)] {
        let e = try entry(named: fqn)
        guard let t = e.tensor else { throw OpsError.invalid("\(metadataPath): entry '\(fqn)' is a bytes value, not a tensor") }
        guard let dtype = t.properties.dtype else {
            throw OpsError.unsupported("\(metadataPath): entry '\(fqn)' has dtype torch.\(t.properties.dtypeName), which is not supported (supported: \(DType.allCases.map(\.torchName).joined(separator: ", ")))")
        }
        return try t.chunks.map { c in
            (c, try item(DCPStorageKey(fqn: fqn, offsets: c.offsets)).tensor(dtype: dtype, sizes: c.sizes))
        }
    }

    /// The global tensor of an entry, lazily over the mapped files.
    public func tensor(_ fqn: String) throws -> Tensor {
        let e = try entry(named: fqn)
        let pieces = try chunks(fqn).map { DCPChunkLayout.Piece(chunk: $0.chunk, tensor: $0.tensor.tensor) }
        let t = e.tensor!
        return try DCPChunkLayout.assemble(pieces, size: t.size, dtype: t.properties.dtype!, fqn: fqn)
    }

    /// The value of a bytes entry (unpickled as torch.load would, without running code).
    public func value(_ fqn: String) throws -> PickleValue {
        let e = try entry(named: fqn)
        guard e.tensor == nil else { throw OpsError.invalid("\(metadataPath): entry '\(fqn)' is a tensor, not a bytes value") }
        return try item(DCPStorageKey(fqn: fqn)).load()
    }

    /// Starts reading, in the background, the start and end of every item of the tensor entries
    /// whose FQN passes `include` (where the item's zip records are), so that parsing them finds
    /// those pages in the page cache instead of waiting for one small disk read after another: a
    /// training checkpoint's model items lie scattered among its optimizer state.
    public func prefetchItemHeaders(where include: (String) -> Bool) {
        let edge = 64 << 10
        for e in metadata.entries where include(e.fqn) {
            guard let t = e.tensor else { continue }
            for c in t.chunks {
                guard let s = items[DCPStorageKey(fqn: e.fqn, offsets: c.offsets)], let f = files[s.file] else { continue }
                f.prefetch(offset: s.offset, count: min(edge, s.length))
                if s.length > edge { f.prefetch(offset: s.offset + s.length - edge, count: edge) }
            }
        }
    }

    /// Unmaps the pages parsing the items touched (see `ByteStore.unmapTouchedPages`), once the
    /// tensors a conversion needs are built (`stateDict`), before they are copied.
    func unmapParsedPages() {
        for f in files.values { f.unmapTouchedPages() }
    }

    /// The tensor entries whose FQN passes `include`, in file order.
    public func tensors(where include: (String) -> Bool = { _ in true }) throws -> TensorMap {
        var m = TensorMap()
        for name in tensorNames where include(name) { m[name] = try tensor(name) }
        return m
    }

    /// The planner path of an entry (the FQN itself when `.metadata` has none).
    public func plannerPath(_ fqn: String) -> [DCPPathElement] { metadata.plannerPaths[fqn] ?? [.key(fqn)] }
}
