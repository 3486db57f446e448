import Foundation

/// One rank file of a Megatron checkpoint, decoded lazily.
public struct MMRankContent {
    public let rank: MMRank
    /// The `model_optim_rng.pt` path.
    public let path: String
    /// One TensorMap per virtual pipeline chunk (`model`, or `model0`, `model1`, ...).
    public let chunks: [TensorMap]
    /// Entries of the model dicts that are not tensors (None values, `_extra_state` objects), as
    /// `model[/v]/<name> (<type>)`, listed so nothing is dropped silently.
    public let skipped: [String]
    /// Every other top-level entry (`iteration`, `args`, `checkpoint_version`, `optimizer`, ...).
    public let extras: PickleDict
}

/// A loaded Megatron / MindSpeed-MM checkpoint directory.
public struct MMCheckpoint {
    public let directory: String
    public let iteration: MMIteration
    public let tpSize: Int
    public let ppSize: Int
    public let epSize: Int
    /// Virtual pipeline chunks per rank (1 without VPP).
    public let vppSize: Int
    /// All ranks, in (tp, pp, ep) order.
    public let ranks: [MMRankContent]

    public func rank(_ r: MMRank) -> MMRankContent? { ranks.first { $0.rank == r } }
}

/// Reads the MindSpeed-MM (Megatron) directory layout: tracker, rank directories, rank files.
public enum MMCheckpointReader {
    /// What a single 3-digit suffix (`mp_rank_00_003`) counts: with PP = 1 and EP > 1 the
    /// reference writes the EP rank there, with PP > 1 and EP = 1 the PP rank.
    public enum SingleSuffix {
        /// Expert parallel when every such directory holds the same tensor names and some are
        /// `local_experts`; pipeline parallel otherwise.
        case infer
        case pipeline
        case expert
    }

    public static func load(_ directory: String, singleSuffix: SingleSuffix = .infer) throws -> MMCheckpoint {
        let fm = FileManager.default
        let trackerPath = directory + "/" + MMCheckpointWriter.trackerName
        let iteration: MMIteration
        if let data = fm.contents(atPath: trackerPath) {
            let text = String(decoding: data, as: UTF8.self)
            guard let it = MMIteration(trackerText: text) else {
                throw OpsError.format(path: trackerPath, message: "expected 'release' or an iteration number, found '\(text.prefix(40))'")
            }
            iteration = it
        } else if fm.fileExists(atPath: directory + "/release") {
            iteration = .release
        } else {
            throw OpsError.io(path: trackerPath, message: "missing: not a Megatron checkpoint directory (no \(MMCheckpointWriter.trackerName))")
        }
        let iterationDir = directory + "/" + iteration.directoryName
        guard let names = try? fm.contentsOfDirectory(atPath: iterationDir) else {
            throw OpsError.io(path: iterationDir, message: "the tracker points to '\(iteration.directoryName)', which is not a readable directory")
        }
        // Parse mp_rank_* directory names into index lists.
        var parsed: [(name: String, fields: [Int])] = []
        for name in names.sorted() where name.hasPrefix("mp_rank_") {
            let parts = name.dropFirst("mp_rank_".count).split(separator: "_", omittingEmptySubsequences: false)
            let fields = parts.map { Int($0) }
            guard (1...3).contains(parts.count), fields.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw OpsError.format(path: iterationDir + "/" + name, message: "unexpected rank directory name (expected mp_rank_TT[_PPP][_EEE])")
            }
            parsed.append((name, fields.map { $0! }))
        }
        guard !parsed.isEmpty else { throw OpsError.format(path: iterationDir, message: "no mp_rank_* directories") }
        let widths = Set(parsed.map(\.fields.count))
        guard widths.count == 1, let width = widths.first else {
            throw OpsError.format(path: iterationDir, message: "rank directories mix naming schemes (\(parsed.map(\.name).prefix(4).joined(separator: ", ")), ...)")
        }
        // Decode every rank file, on every core: a MoE checkpoint's rank files hold thousands of
        // small tensors each, and their zip directories and pickles are most of a resplit's
        // single-threaded time.
        for (name, _) in parsed {
            let path = iterationDir + "/" + name + "/" + MMCheckpointWriter.fileName
            guard fm.fileExists(atPath: path) else {
                throw OpsError.io(path: path, message: "missing rank file (rank directory \(name) has no \(MMCheckpointWriter.fileName))")
            }
        }
        let decoded = try ParallelJobs.map(parsed) { try decode(iterationDir + "/" + $0.name + "/" + MMCheckpointWriter.fileName) }
        let files = zip(parsed, decoded).map { (name: $0.name, fields: $0.fields, content: $1) }
        var expertSecond = false
        if width == 2 {
            switch singleSuffix {
            case .pipeline: expertSecond = false
            case .expert: expertSecond = true
            case .infer:
                let nameSets = files.filter { $0.fields[0] == 0 }.map { Set($0.content.chunks.flatMap(\.names)) }
                expertSecond = nameSets.count > 1 && Set(nameSets).count == 1 && nameSets[0].contains { $0.contains("local_experts") }
            }
        }
        func rank(_ f: [Int]) -> MMRank {
            switch f.count {
            case 1: return MMRank(tp: f[0])
            case 2: return expertSecond ? MMRank(tp: f[0], ep: f[1]) : MMRank(tp: f[0], pp: f[1])
            default: return MMRank(tp: f[0], pp: f[1], ep: f[2])
            }
        }
        var contents: [MMRank: MMRankContent] = [:]
        for f in files {
            let r = rank(f.fields)
            let path = iterationDir + "/" + f.name + "/" + MMCheckpointWriter.fileName
            contents[r] = MMRankContent(rank: r, path: path, chunks: f.content.chunks, skipped: f.content.skipped, extras: f.content.extras)
        }
        let tpSize = contents.keys.map(\.tp).max()! + 1
        let ppSize = contents.keys.map(\.pp).max()! + 1
        let epSize = contents.keys.map(\.ep).max()! + 1
        for tp in 0..<tpSize { for pp in 0..<ppSize { for ep in 0..<epSize {
            let r = MMRank(tp: tp, pp: pp, ep: ep)
            guard contents[r] != nil else {
                let expected = r.directoryName(ppSize: width == 3 || (width == 2 && !expertSecond) ? 2 : 1,
                                               epSize: width == 3 || (width == 2 && expertSecond) ? 2 : 1)
                throw OpsError.format(path: iterationDir, message: "incomplete checkpoint: rank directory \(expected) (\(r)) is missing; found \(contents.count) of \(tpSize * ppSize * epSize) ranks")
            }
        } } }
        let vpps = Set(contents.values.map(\.chunks.count))
        guard vpps.count == 1, let vpp = vpps.first else {
            throw OpsError.format(path: iterationDir, message: "rank files disagree on the number of virtual pipeline chunks (\(vpps.sorted()))")
        }
        return MMCheckpoint(directory: directory, iteration: iteration, tpSize: tpSize, ppSize: ppSize, epSize: epSize,
                            vppSize: vpp, ranks: contents.values.sorted { $0.rank < $1.rank })
    }

    /// Splits one rank file into its model chunks, skipped entries and other top-level values.
    public static func decode(_ path: String) throws -> (chunks: [TensorMap], skipped: [String], extras: PickleDict) {
        let root = try TorchCheckpoint.load(path)
        guard let top = root.dictValue else {
            throw OpsError.format(path: path, message: "the saved object is a \(root.typeName), expected a dict with 'model'")
        }
        var models: [(index: Int?, value: PickleValue)] = []
        var extras = PickleDict()
        for (k, v) in top.items {
            if case let .string(s) = k {
                if s == "model" { models.append((nil, v)); continue }
                if s.hasPrefix("model"), let i = Int(s.dropFirst(5)), i >= 0, String(i) == String(s.dropFirst(5)) {
                    models.append((i, v))
                    continue
                }
            }
            extras.items.append((k, v))
        }
        guard !models.isEmpty else {
            throw OpsError.format(path: path, message: "no 'model' entry (top-level keys: \(top.items.map { $0.key.description }.joined(separator: ", ")))")
        }
        let plain = models.filter { $0.index == nil }
        if !plain.isEmpty && plain.count != models.count {
            throw OpsError.format(path: path, message: "has both 'model' and 'model<N>' entries")
        }
        if plain.isEmpty {
            models.sort { $0.index! < $1.index! }
            guard models.map({ $0.index! }) == Array(0..<models.count) else {
                throw OpsError.format(path: path, message: "virtual pipeline entries are not model0..model\(models.count - 1): \(models.map { "model\($0.index!)" })")
            }
        }
        var chunks: [TensorMap] = []
        var skipped: [String] = []
        for (index, value) in models {
            let label = index.map { "model\($0)" } ?? "model"
            guard let d = value.dictValue else {
                throw OpsError.format(path: path, message: "'\(label)' is a \(value.typeName), expected a dict of tensors")
            }
            var map = TensorMap()
            for (k, v) in d.items {
                guard case let .string(name) = k else { skipped.append("\(label)/\(k) (non-string key)"); continue }
                if case let .tensor(t) = v {
                    guard map[name] == nil else { throw OpsError.format(path: path, message: "'\(label)' has '\(name)' twice") }
                    map[name] = t.tensor
                } else {
                    skipped.append("\(label)/\(name) (\(v.typeName))")
                }
            }
            chunks.append(map)
        }
        return (chunks, skipped, extras)
    }
}
