/// What `inspect` shows about a checkpoint, independent of how it is printed: its kind, layout
/// facts, non-tensor entries, and tensors in groups (one per file, rank or virtual stage).
///
/// Built once by `CheckpointSummary.load(_:)`; `verify` and the REPL reuse it, and the text table
/// and JSON renderers read only this value.
public struct CheckpointSummary {
    /// The kinds of path `inspect` understands.
    public enum Kind: String, Sendable {
        /// One `.safetensors` file.
        case safetensors
        /// One `torch.save` file (`.pt`, `.pth`, `.bin`).
        case torch
        /// A Hugging Face directory (safetensors shards, config.json).
        case hf
        /// A MindSpeed-MM / Megatron directory (tracker, release/ or iter_N/, mp_rank_*).
        case mm
        /// A torch Distributed Checkpoint (`.metadata` + `*.distcp`), or a MindSpeed-MM root
        /// around one (the FSDP2 layout).
        case dcp

        /// How the table's first line names the kind.
        public var label: String {
            switch self {
            case .safetensors: return "safetensors file"
            case .torch: return "torch checkpoint"
            case .hf: return "Hugging Face checkpoint"
            case .mm: return "MindSpeed-MM checkpoint"
            case .dcp: return "DCP checkpoint"
            }
        }
    }

    public var kind: Kind
    public var path: String
    /// Layout facts (parallel sizes, iteration, shard count, root type), in display order.
    public var facts: [(String, Value)]
    /// Non-tensor entries (iteration, checkpoint_version, args, __metadata__, config summary);
    /// `.dict` values are shown as `key.field` lines.
    public var entries: [(String, Value)]
    public var groups: [TensorGroup]
    /// The name pattern applied by `filtered(by:)`, if any.
    public var filter: String?
    /// The totals before `filtered(by:)`, so a filtered view can say "3 of 82".
    public var unfilteredTotals: TensorTotals?

    public init(kind: Kind, path: String, facts: [(String, Value)] = [], entries: [(String, Value)] = [],
                groups: [TensorGroup] = [], filter: String? = nil) {
        self.kind = kind
        self.path = path
        self.facts = facts
        self.entries = entries
        self.groups = groups
        self.filter = filter
    }

    /// Sums over every group.
    public var totals: TensorTotals { groups.reduce(TensorTotals()) { $0 + $1.totals } }

    /// Keeps only the tensors (and skipped entries) whose name matches `pattern` (see `NameFilter`);
    /// groups left empty are dropped.
    public func filtered(by pattern: String) -> CheckpointSummary {
        let p = NameFilter(pattern)
        var copy = self
        copy.filter = pattern
        copy.unfilteredTotals = unfilteredTotals ?? totals
        copy.groups = groups.compactMap { g in
            var g = g
            g.tensors = g.tensors.filter { p.matches($0.name) }
            g.skipped = g.skipped.filter { p.matches($0.name) }
            return g.tensors.isEmpty && g.skipped.isEmpty ? nil : g
        }
        return copy
    }
}

/// Tensors read from one place: a file, a shard, or one virtual stage of one rank.
public struct TensorGroup {
    /// The heading (`mp_rank_00_001 (tp 0, pp 1) model0`, a shard file name, a top-level key);
    /// empty when the checkpoint is a single plain group.
    public var title: String
    /// The file the tensors come from, when it is not the inspected path itself.
    public var file: String?
    /// The rank, for MindSpeed-MM directories.
    public var rank: MMRank?
    /// The model entry (`model`, `model0`, ...), for MindSpeed-MM directories.
    public var chunk: String?
    public var tensors: [TensorEntry]
    /// Entries that are not tensors (None, `_extra_state` blobs), kept so none is dropped silently.
    public var skipped: [SkippedEntry]

    public init(title: String, file: String? = nil, rank: MMRank? = nil, chunk: String? = nil,
                tensors: [TensorEntry] = [], skipped: [SkippedEntry] = []) {
        self.title = title
        self.file = file
        self.rank = rank
        self.chunk = chunk
        self.tensors = tensors
        self.skipped = skipped
    }

    public var totals: TensorTotals {
        tensors.reduce(TensorTotals()) { $0 + TensorTotals(tensors: 1, bytes: $1.bytes, parameters: $1.parameters) }
    }
}

/// One tensor's description (no bytes are read).
public struct TensorEntry: Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// The boxes a DCP stores the tensor in, when there are several (nil elsewhere).
    public var chunks: [DCPChunk]?

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    public init(name: String, _ tensor: Tensor) { self.init(name: name, dtype: tensor.dtype, shape: tensor.shape) }

    public var parameters: Int { shape.reduce(1, *) }
    public var bytes: Int { parameters * dtype.size }
}

/// An entry that is not a tensor, with its Python type name.
public struct SkippedEntry: Equatable {
    public var name: String
    public var type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }
}

/// Count, bytes and parameters of some tensors.
public struct TensorTotals: Equatable {
    public var tensors = 0
    public var bytes = 0
    public var parameters = 0

    public init(tensors: Int = 0, bytes: Int = 0, parameters: Int = 0) {
        self.tensors = tensors
        self.bytes = bytes
        self.parameters = parameters
    }

    public static func + (a: TensorTotals, b: TensorTotals) -> TensorTotals {
        TensorTotals(tensors: a.tensors + b.tensors, bytes: a.bytes + b.bytes, parameters: a.parameters + b.parameters)
    }
}
