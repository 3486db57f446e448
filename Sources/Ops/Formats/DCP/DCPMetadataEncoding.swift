/// Writes `DCPMetadata` as the `.metadata` pickle torch 2.7 to 2.15 load.
///
/// Protocol 2 through `PickleWriter` (the opcodes of the hand-made fixture torch 2.15 loads, plus
/// memo puts Python's pickler writes itself); every class is encoded as torch pickles it
/// (dataclasses as `cls.__new__(cls)` + BUILD of a field dict, `TensorProperties` with a tuple
/// state). `TensorProperties` gets the 5-item state whenever `strides` is nil: releases before
/// 2026 (the 2.7.1 MindSpeed-MM pins) unpack exactly 5 items and cannot read the 6-item form.
extension DCPMetadata {
    /// The `.metadata` bytes.
    public func encode() throws -> [UInt8] { try PickleWriter.pickle(pickleValue).bytes }

    /// The `Metadata` object as a pickle value.
    public var pickleValue: PickleValue {
        var sdm = PickleDict()
        for e in entries {
            switch e.kind {
            case .bytes:
                sdm.items.append((.string(e.fqn), Self.dataclass("BytesStorageMetadata", [])))
            case let .tensor(t):
                let chunks = t.chunks.map { c in
                    Self.dataclass("ChunkStorageMetadata", [("offsets", .size(c.offsets)), ("sizes", .size(c.sizes))])
                }
                sdm.items.append((.string(e.fqn), Self.dataclass("TensorStorageMetadata", [
                    ("properties", Self.properties(t.properties)), ("size", .size(t.size)), ("chunks", .list(chunks)),
                ])))
            }
        }
        // planner_data in entry order, then any path without an entry by name (a dict in torch
        // too; its order is not read, ours only has to be deterministic).
        var planner = PickleDict()
        let named = Set(entries.map(\.fqn))
        for fqn in entries.map(\.fqn) + plannerPaths.keys.filter({ !named.contains($0) }).sorted() {
            guard let p = plannerPaths[fqn] else { continue }
            planner.items.append((.string(fqn), .tuple(p.map { x -> PickleValue in
                switch x {
                case let .key(k): return .string(k)
                case let .index(i): return .int(i)
                }
            })))
        }
        var storageData = PickleDict()
        for s in storage {
            var key: [(String, PickleValue)] = [("fqn", .string(s.key.fqn))]
            if let o = s.key.offsets { key.append(("offset", .size(o))) }
            key.append(("index", s.indexHint.map { .int($0) } ?? .none))
            storageData.items.append((Self.dataclass("MetadataIndex", key),
                                      Self.dataclass("_StorageInfo", module: Self.filesystemModule, [
                                          ("relative_path", .string(s.file)), ("offset", .int(s.offset)), ("length", .int(s.length)),
                                      ])))
        }
        var fields: [(String, PickleValue)] = [("state_dict_metadata", .dict(sdm)), ("planner_data", .dict(planner)),
                                               ("storage_data", .dict(storageData))]
        // StorageMeta would carry the writer's path and a random id (D14: never byte-reproducible,
        // and a Python 3.13 PosixPath is unreadable by 3.12): None, which torch replaces on load.
        fields.append(("storage_meta", storageMeta.map(Self.storageMeta) ?? .none))
        if let version { fields.append(("version", .string(version))) }
        return Self.dataclass("Metadata", fields)
    }

    static func dataclass(_ name: String, module: String = metadataModule, _ fields: [(String, PickleValue)]) -> PickleValue {
        .object(PickleObject(module: module, name: name, construction: .newobj, args: [], state: .dict(PickleDict(strings: fields))))
    }

    static func properties(_ p: DCPTensorProperties) -> PickleValue {
        let dtype: PickleValue = p.dtype.map { .dtype($0) } ?? .global(module: "torch", name: p.dtypeName)
        var state: [PickleValue] = [
            dtype,
            .object(PickleObject(module: "torch.serialization", name: "_get_layout", args: [.string(p.layout)])),
            .bool(p.requiresGrad),
            .object(PickleObject(module: metadataModule, name: "_MEM_FORMAT_ENCODING", args: [.int(p.memoryFormat)])),
            .bool(p.pinMemory),
        ]
        if let s = p.strides { state.append(.tuple(s.map { .int($0) })) }
        return .object(PickleObject(module: metadataModule, name: "TensorProperties", construction: .newobj, args: [], state: .tuple(state)))
    }

    /// A `StorageMeta` whose `checkpoint_id` is a plain str (never a `PosixPath`).
    static func storageMeta(_ m: DCPStorageMeta) -> PickleValue {
        dataclass("StorageMeta", [
            ("checkpoint_id", m.checkpointID.map { .string($0) } ?? .none), ("save_id", m.saveID.map { .string($0) } ?? .none),
            ("load_id", m.loadID.map { .string($0) } ?? .none), ("modules", .list(m.modules.map { .string($0) })),
        ])
    }
}
