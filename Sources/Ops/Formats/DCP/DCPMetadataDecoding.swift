/// Reads `.metadata` with the code-free pickle interpreter and maps torch's classes (kept as
/// inert objects) to `DCPMetadata`.
///
/// Accepts what torch writes (protocol 4 with memo, 6-item `TensorProperties`, a `StorageMeta`
/// holding a `PosixPath`) and what a minimal writer emits (protocol 2, 5-item properties, no
/// `storage_meta`/`version`). Every error names the `.metadata` file and the entry concerned.
extension DCPMetadata {
    static let metadataModule = "torch.distributed.checkpoint.metadata"
    static let filesystemModule = "torch.distributed.checkpoint.filesystem"

    /// Reads and decodes a `.metadata` file.
    public static func read(_ path: String) throws -> DCPMetadata {
        let store = try ByteStore(mapping: path)
        guard store.count > 0 else {
            throw OpsError.format(path: path, message: "is empty: not a DCP metadata pickle (an interrupted save leaves .metadata.tmp behind and no .metadata)")
        }
        let root: PickleValue
        do {
            root = try PickleReader(store.buffer, path: path).read()
        } catch let OpsError.format(_, message) {
            throw OpsError.format(path: path, message: "cannot read the DCP metadata pickle (\(store.count) bytes, truncated or corrupt): \(message)")
        }
        return try decode(root, path: path)
    }

    /// Decodes the unpickled `Metadata` object; `path` is used in messages.
    public static func decode(_ root: PickleValue, path: String) throws -> DCPMetadata {
        let d = DCPDecoder(path: path)
        let fields = try d.fields(root, metadataModule, "Metadata", what: "the root object")
        guard let sdm = fields["state_dict_metadata"] else { throw d.fail("Metadata has no state_dict_metadata") }
        guard let entries = sdm.dictValue else { throw d.fail("Metadata.state_dict_metadata is a \(sdm.typeName), not a dict") }
        var m = DCPMetadata()
        var seen: Set<String> = []
        for (k, v) in entries.items {
            guard let fqn = k.stringValue else { throw d.fail("state_dict_metadata key \(k) is not a string") }
            guard seen.insert(fqn).inserted else { throw d.fail("entry '\(fqn)' appears twice in state_dict_metadata") }
            m.entries.append(DCPEntry(fqn: fqn, kind: try d.entryKind(v, fqn: fqn)))
        }
        switch fields["planner_data"] {
        case nil, .none?: break
        case let p?:
            guard let dict = p.dictValue else { throw d.fail("Metadata.planner_data is a \(p.typeName), not a dict") }
            for (k, v) in dict.items {
                guard let fqn = k.stringValue else { throw d.fail("planner_data key \(k) is not a string") }
                m.plannerPaths[fqn] = try d.plannerPath(v, fqn: fqn)
            }
        }
        guard let s = fields["storage_data"] else { throw d.fail("Metadata has no storage_data: the data files cannot be located") }
        guard let storage = s.dictValue else { throw d.fail("Metadata.storage_data is a \(s.typeName), not a dict") }
        for (k, v) in storage.items { m.storage.append(try d.storageItem(key: k, info: v)) }
        switch fields["version"] {
        case nil, .none?: break
        case let .string(v)?: m.version = v
        case let v?: throw d.fail("Metadata.version is a \(v.typeName), not a string")
        }
        switch fields["storage_meta"] {
        case nil, .none?: break
        case let v?: m.storageMeta = try d.storageMeta(v)
        }
        return m
    }
}

/// The decoding rules of each class, with the file path for messages.
struct DCPDecoder {
    let path: String

    func fail(_ message: String) -> OpsError { .format(path: path, message: message) }

    /// The `__dict__` state of a dataclass instance (`cls.__new__(cls)` + BUILD of a dict).
    func fields(_ v: PickleValue, _ module: String, _ name: String, what: String) throws -> PickleDict {
        let o = try object(v, module, name, what: what)
        switch o.state {
        case nil: return PickleDict()
        case let .dict(d)?: return d
        case let s?:
            guard let a = o.attributes else { throw fail("\(what): \(name) state is a \(s.typeName), expected a dict of fields") }
            return a
        }
    }

    func object(_ v: PickleValue, _ module: String, _ name: String, what: String) throws -> PickleObject {
        guard case let .object(o) = v, o.name == name, o.module == module else {
            throw fail("\(what) is \(v.typeName), expected \(module).\(name)")
        }
        return o
    }

    func entryKind(_ v: PickleValue, fqn: String) throws -> DCPEntry.Kind {
        guard case let .object(o) = v, o.module == DCPMetadata.metadataModule else {
            throw fail("entry '\(fqn)': \(v.typeName) is neither TensorStorageMetadata nor BytesStorageMetadata")
        }
        switch o.name {
        case "BytesStorageMetadata": return .bytes
        case "TensorStorageMetadata":
            let f = try fields(v, DCPMetadata.metadataModule, "TensorStorageMetadata", what: "entry '\(fqn)'")
            guard let p = f["properties"], let s = f["size"], let c = f["chunks"] else {
                throw fail("entry '\(fqn)': TensorStorageMetadata lacks \(["properties", "size", "chunks"].filter { f[$0] == nil }.joined(separator: ", "))")
            }
            let size = try ints(s, "entry '\(fqn)': size")
            guard case let .list(list) = c else { throw fail("entry '\(fqn)': chunks is a \(c.typeName), not a list") }
            var chunks: [DCPChunk] = []
            for (i, x) in list.enumerated() {
                let cf = try fields(x, DCPMetadata.metadataModule, "ChunkStorageMetadata", what: "entry '\(fqn)' chunk \(i)")
                guard let o = cf["offsets"], let z = cf["sizes"] else { throw fail("entry '\(fqn)' chunk \(i): offsets or sizes missing") }
                let chunk = DCPChunk(offsets: try ints(o, "entry '\(fqn)' chunk \(i) offsets"), sizes: try ints(z, "entry '\(fqn)' chunk \(i) sizes"))
                guard chunk.offsets.count == size.count, chunk.sizes.count == size.count else {
                    throw fail("entry '\(fqn)' chunk \(i): offsets \(chunk.offsets) / sizes \(chunk.sizes) do not have the tensor's \(size.count) dimensions (size \(size))")
                }
                chunks.append(chunk)
            }
            return .tensor(DCPTensorMetadata(properties: try properties(p, fqn: fqn), size: size, chunks: chunks))
        default:
            throw fail("entry '\(fqn)': \(o.className) is neither TensorStorageMetadata nor BytesStorageMetadata")
        }
    }

    /// `TensorProperties`: a `__setstate__` tuple of 5 (torch <= 2.7 form) or 6 items (adds the
    /// strides), or a field dict (an older dataclass pickle).
    func properties(_ v: PickleValue, fqn: String) throws -> DCPTensorProperties {
        let o = try object(v, DCPMetadata.metadataModule, "TensorProperties", what: "entry '\(fqn)' properties")
        let what = "entry '\(fqn)' properties"
        var items: [PickleValue?]
        switch o.state {
        case let .tuple(t)?:
            guard t.count == 5 || t.count == 6 else { throw fail("\(what): state has \(t.count) items, expected 5 or 6") }
            items = t.map { $0 }
        case let .dict(f)?:
            items = ["dtype", "layout", "requires_grad", "memory_format", "pin_memory"].map { f[$0] }
        default:
            throw fail("\(what): unexpected state \(o.state?.typeName ?? "none")")
        }
        while items.count < 6 { items.append(nil) }
        let dtypeName: String
        switch items[0] {
        case let .dtype(t)?: dtypeName = t.torchName
        case let .global("torch", name)?: dtypeName = name
        default: throw fail("\(what): dtype is \(items[0]?.typeName ?? "missing"), not a torch dtype")
        }
        var p = DCPTensorProperties(dtypeName: dtypeName)
        switch items[1] {
        case let .object(l)? where l.name == "_get_layout" && l.args.count == 1: p.layout = l.args[0].stringValue ?? "\(l.args[0])"
        case let .global(m, n)?: p.layout = "\(m).\(n)"
        case nil, .none?: break
        case let x?: p.layout = x.description
        }
        if case let .bool(b)? = items[2] { p.requiresGrad = b }
        switch items[3] {
        case let .object(e)? where e.name == "_MEM_FORMAT_ENCODING": p.memoryFormat = e.args.first?.intValue ?? 0
        case let .int(i)?: p.memoryFormat = i
        default: break
        }
        if case let .bool(b)? = items[4] { p.pinMemory = b }
        if let s = items[5], s.intValue == nil, !isNone(s) { p.strides = try ints(s, "\(what) strides") }
        return p
    }

    func isNone(_ v: PickleValue) -> Bool { if case .none = v { return true }; return false }

    func plannerPath(_ v: PickleValue, fqn: String) throws -> [DCPPathElement] {
        let items: [PickleValue]
        switch v {
        case let .tuple(t), let .list(t): items = t
        case let .string(s): return [.key(s)]
        default: throw fail("planner_data of '\(fqn)' is a \(v.typeName), not a tuple path")
        }
        return try items.map { x in
            switch x {
            case let .string(s): return .key(s)
            case let .int(i): return .index(i)
            default: throw fail("planner_data of '\(fqn)': path element \(x) is neither a str nor an int")
            }
        }
    }

    func storageItem(key: PickleValue, info: PickleValue) throws -> DCPStorageItem {
        let k = try fields(key, DCPMetadata.metadataModule, "MetadataIndex", what: "a storage_data key")
        guard let fqn = k["fqn"]?.stringValue else { throw fail("a storage_data key (MetadataIndex) has no fqn string") }
        var offsets: [Int]?
        if let o = k["offset"], !isNone(o) { offsets = try ints(o, "storage_data key '\(fqn)' offset") }
        let i = try fields(info, DCPMetadata.filesystemModule, "_StorageInfo", what: "storage_data['\(fqn)']")
        guard let file = i["relative_path"]?.stringValue, let offset = i["offset"]?.intValue, let length = i["length"]?.intValue else {
            throw fail("storage_data['\(fqn)']: _StorageInfo needs relative_path (str), offset and length (ints)")
        }
        if let t = i["transform_descriptors"], !isNone(t) {
            if case let .list(l) = t, l.isEmpty {} else {
                throw OpsError.unsupported("\(path): storage_data['\(fqn)'] has transform_descriptors \(t) (a stream extension such as compression): not supported")
            }
        }
        return DCPStorageItem(key: DCPStorageKey(fqn: fqn, offsets: offsets), indexHint: k["index"]?.intValue,
                              file: file, offset: offset, length: length)
    }

    func storageMeta(_ v: PickleValue) throws -> DCPStorageMeta {
        let f = try fields(v, DCPMetadata.metadataModule, "StorageMeta", what: "Metadata.storage_meta")
        var s = DCPStorageMeta()
        switch f["checkpoint_id"] {
        case let .string(p)?: s.checkpointID = p
        case let .object(o)? where o.name.hasSuffix("Path"):
            let parts = o.args.compactMap(\.stringValue)
            s.checkpointID = parts.first == "/" ? "/" + parts.dropFirst().joined(separator: "/") : parts.joined(separator: "/")
        default: break
        }
        s.saveID = f["save_id"]?.stringValue
        s.loadID = f["load_id"]?.stringValue
        if case let .list(l)? = f["modules"] { s.modules = l.compactMap(\.stringValue) }
        return s
    }

    func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        switch v {
        case let .size(s): return s
        case let .tuple(l), let .list(l):
            return try l.map { x in
                guard let i = x.intValue else { throw fail("\(what): \(x) is not an integer") }
                return i
            }
        default: throw fail("\(what) is a \(v.typeName), expected torch.Size or a tuple of ints")
        }
    }
}
