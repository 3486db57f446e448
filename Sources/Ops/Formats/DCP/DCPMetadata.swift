/// The index of a torch Distributed Checkpoint (DCP): the content of its `.metadata` pickle as
/// Swift values.
///
/// torch pickles a `torch.distributed.checkpoint.metadata.Metadata` object; this is the same
/// information without the classes: every entry in save-plan order (a tensor with its global
/// shape and chunk boxes, or a pickled "bytes" value), the nested path each flat FQN came from,
/// and where each item lies (file, offset, length). Read by `DCPMetadata.decode`, written by
/// `DCPMetadata.encode`; nothing here touches the data files.
public struct DCPMetadata: Equatable {
    /// `state_dict_metadata`, in file order (torch writes save-plan order; no reader depends on it).
    public var entries: [DCPEntry]
    /// `planner_data`: FQN -> the path in the nested state dict it was flattened from.
    /// Loaders that start from an empty dict need it to rebuild the nesting.
    public var plannerPaths: [String: [DCPPathElement]]
    /// `storage_data`: where each item lies, in file order.
    public var storage: [DCPStorageItem]
    /// `Metadata.version` (`"1.0.0"` from torch >= 2.4; absent in older or hand-made files).
    public var version: String?
    /// `Metadata.storage_meta`, informative only (torch replaces a missing one on load).
    public var storageMeta: DCPStorageMeta?

    public init(entries: [DCPEntry] = [], plannerPaths: [String: [DCPPathElement]] = [:], storage: [DCPStorageItem] = [],
                version: String? = nil, storageMeta: DCPStorageMeta? = nil) {
        self.entries = entries
        self.plannerPaths = plannerPaths
        self.storage = storage
        self.version = version
        self.storageMeta = storageMeta
    }

    /// The entry named `fqn`.
    public func entry(_ fqn: String) -> DCPEntry? { entries.first { $0.fqn == fqn } }
}

/// One element of a planner path: a dict key, or a list index (`optimizer.param_groups.0.lr`
/// comes from `("optimizer", "param_groups", 0, "lr")`).
public enum DCPPathElement: Hashable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case let .key(k): return k
        case let .index(i): return String(i)
        }
    }
}

/// One flat entry of the checkpoint.
public struct DCPEntry: Equatable {
    public enum Kind: Equatable {
        /// `TensorStorageMetadata`: a tensor stored as one item per chunk.
        case tensor(DCPTensorMetadata)
        /// `BytesStorageMetadata`: any other value, stored as one torch.save item.
        case bytes
    }

    public var fqn: String
    public var kind: Kind

    public init(fqn: String, kind: Kind) {
        self.fqn = fqn
        self.kind = kind
    }

    public var tensor: DCPTensorMetadata? {
        if case let .tensor(t) = kind { return t }
        return nil
    }
}

/// What `.metadata` says about a tensor: its global shape, properties and chunk boxes.
public struct DCPTensorMetadata: Equatable {
    public var properties: DCPTensorProperties
    /// The global shape (`torch.Size`).
    public var size: [Int]
    /// The boxes the items cover, in file order (torch: rank order).
    public var chunks: [DCPChunk]

    public init(properties: DCPTensorProperties, size: [Int], chunks: [DCPChunk]) {
        self.properties = properties
        self.size = size
        self.chunks = chunks
    }

    public var numel: Int { size.reduce(1, *) }
}

/// `TensorProperties`. Only the dtype matters when loading; the rest is recorded as torch wrote it.
public struct DCPTensorProperties: Equatable {
    /// The torch dtype name (`bfloat16`), kept even for dtypes this tool cannot read (`complex64`).
    public var dtypeName: String
    /// `torch.strided` for every dense tensor.
    public var layout: String
    public var requiresGrad: Bool
    /// `_MEM_FORMAT_ENCODING`: 0 contiguous, 1 channels_last, 2 preserve.
    public var memoryFormat: Int
    public var pinMemory: Bool
    /// The sixth state item recent torch writes (2.15: the first chunk's local strides); nil in
    /// the 5-item state, the only one older releases (2.7) can read.
    public var strides: [Int]?

    public init(dtypeName: String, layout: String = "torch.strided", requiresGrad: Bool = false, memoryFormat: Int = 0,
                pinMemory: Bool = false, strides: [Int]? = nil) {
        self.dtypeName = dtypeName
        self.layout = layout
        self.requiresGrad = requiresGrad
        self.memoryFormat = memoryFormat
        self.pinMemory = pinMemory
        self.strides = strides
    }

    public init(dtype: DType) { self.init(dtypeName: dtype.torchName) }

    /// The dtype, when this tool supports it.
    public var dtype: DType? { DType(torchName: dtypeName) }
}

/// `ChunkStorageMetadata`: the box `[offsets[d], offsets[d] + sizes[d])` of the global tensor.
public struct DCPChunk: Hashable {
    public var offsets: [Int]
    public var sizes: [Int]

    public init(offsets: [Int], sizes: [Int]) {
        self.offsets = offsets
        self.sizes = sizes
    }

    public var numel: Int { sizes.reduce(1, *) }
}

/// `MetadataIndex` (the key of `storage_data`): torch compares and hashes `fqn` and `offset` only;
/// `offset` is absent for bytes entries.
public struct DCPStorageKey: Hashable, CustomStringConvertible {
    public var fqn: String
    public var offsets: [Int]?

    public init(fqn: String, offsets: [Int]? = nil) {
        self.fqn = fqn
        self.offsets = offsets
    }

    public var description: String { offsets.map { "\(fqn) at \($0)" } ?? fqn }
}

/// One `storage_data` item: which file holds it and where.
public struct DCPStorageItem: Equatable {
    public var key: DCPStorageKey
    /// `MetadataIndex.index`: the chunk's position in its entry's list (a hint; nil for bytes).
    public var indexHint: Int?
    /// `_StorageInfo.relative_path`: a file name inside the checkpoint directory.
    public var file: String
    public var offset: Int
    public var length: Int

    public init(key: DCPStorageKey, indexHint: Int? = nil, file: String, offset: Int, length: Int) {
        self.key = key
        self.indexHint = indexHint
        self.file = file
        self.offset = offset
        self.length = length
    }
}

/// `StorageMeta`: who wrote the checkpoint (path, random save id). Informative only.
public struct DCPStorageMeta: Equatable {
    /// The writer's path as given (a pickled `PosixPath`, shown as its parts joined with `/`).
    public var checkpointID: String?
    public var saveID: String?
    public var loadID: String?
    public var modules: [String]

    public init(checkpointID: String? = nil, saveID: String? = nil, loadID: String? = nil, modules: [String] = []) {
        self.checkpointID = checkpointID
        self.saveID = saveID
        self.loadID = loadID
        self.modules = modules
    }
}
