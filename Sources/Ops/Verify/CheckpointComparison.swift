import Foundation

/// Compares two checkpoints tensor by tensor (names, dtypes, shapes, bytes) and, where the format
/// has one, their layout: MindSpeed-MM parallel sizes, rank files and non-tensor entries; Hugging
/// Face shard placement, index and side files. The result lists every difference.
public struct CheckpointComparison {
    public var tensors: TensorComparison

    public init(tensors: TensorComparison = TensorComparison()) {
        self.tensors = tensors
    }

    /// Throws `OpsError.unsupported` when the two kinds cannot be compared (see
    /// `VerifyInput.incompatibility`).
    public func compare(_ a: VerifyInput, _ b: VerifyInput) throws -> VerifyReport {
        if let why = VerifyInput.incompatibility(a.kind, b.kind) { throw OpsError.unsupported(why) }
        var report = VerifyReport(first: a.summary, second: b.summary)
        switch (a, b) {
        case let (.hf(x), .hf(y)): try compareHF(x, y, into: &report)
        case let (.mm(x), .mm(y)): try compareMM(x, y, into: &report)
        case let (.torch(_, x), .torch(_, y)):
            var walk = PickleComparison()
            walk.compare(x, y, path: "", into: &report)
            try tensors.compare(walk.pairs, into: &report)
        case let (.safetensors(f, x), .safetensors(g, y)):
            try tensors.compare(x, y, into: &report)
            compareMetadata(f.metadata ?? [], g.metadata ?? [], subject: "__metadata__", into: &report)
        case let (.dcp(x), .dcp(y)): try compareDCP(x, y, into: &report)
        case let (.hf(x), .safetensors(_, y)): try tensors.compare(x.tensors, y, into: &report)
        case let (.safetensors(_, x), .hf(y)): try tensors.compare(x, y.tensors, into: &report)
        default: break
        }
        return report
    }

    /// Opens and compares two paths.
    public func compare(_ a: String, _ b: String) throws -> VerifyReport {
        try compare(VerifyInput.open(a), VerifyInput.open(b))
    }

    // MARK: - Hugging Face

    func compareHF(_ a: HFCheckpoint, _ b: HFCheckpoint, into report: inout VerifyReport) throws {
        try tensors.compare(a.tensors, b.tensors, into: &report)
        let shardsA = Set(a.shardOf.values), shardsB = Set(b.shardOf.values)
        for f in shardsA.subtracting(shardsB).sorted() { report.add(.layout, f, "shard file only in A") }
        for f in shardsB.subtracting(shardsA).sorted() { report.add(.layout, f, "shard file only in B") }
        for name in a.tensors.names {
            if let fa = a.shardOf[name], let fb = b.shardOf[name], fa != fb {
                report.add(.layout, name, "stored in \(fa) vs \(fb)")
            }
        }
        for f in shardsA.intersection(shardsB).sorted() {
            compareMetadata(a.metadata[f] ?? [], b.metadata[f] ?? [], subject: f + " __metadata__", into: &report)
        }
        let indexA = SafetensorsIndex.fileNames.filter { FileManager.default.fileExists(atPath: a.directory + "/" + $0) }
        let indexB = SafetensorsIndex.fileNames.filter { FileManager.default.fileExists(atPath: b.directory + "/" + $0) }
        try FileComparison.compare(indexA, in: a.directory, indexB, in: b.directory, into: &report)
        try FileComparison.compare(a.sideFiles, in: a.directory, b.sideFiles, in: b.directory, into: &report)
    }

    func compareMetadata(_ a: [(String, String)], _ b: [(String, String)], subject: String, into report: inout VerifyReport) {
        func text(_ m: [(String, String)]) -> String { "{" + m.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}" }
        let sa = a.sorted { $0.0 < $1.0 }, sb = b.sorted { $0.0 < $1.0 }
        if sa.map(\.0) != sb.map(\.0) || sa.map(\.1) != sb.map(\.1) {
            report.add(.layout, subject, "\(text(a)) vs \(text(b))")
        }
    }

    // MARK: - MindSpeed-MM

    func compareMM(_ a: MMCheckpoint, _ b: MMCheckpoint, into report: inout VerifyReport) throws {
        if a.iteration != b.iteration {
            report.add(.layout, MMCheckpointWriter.trackerName, "\(a.iteration.directoryName) vs \(b.iteration.directoryName)")
        }
        func sizes(_ c: MMCheckpoint) -> String { "tp \(c.tpSize), pp \(c.ppSize), ep \(c.epSize), vpp \(c.vppSize)" }
        if sizes(a) != sizes(b) {
            let hint = (a.tpSize, a.ppSize, a.epSize) != (b.tpSize, b.ppSize, b.epSize)
                ? "; only rank files of the same name are compared: resplit one checkpoint to the other's layout to compare all tensors" : ""
            report.add(.layout, "parallel sizes", "\(sizes(a)) vs \(sizes(b))\(hint)")
        }
        let ranksA = Dictionary(a.ranks.map { (Self.rankDirectory($0), $0) }, uniquingKeysWith: { f, _ in f })
        let ranksB = Dictionary(b.ranks.map { (Self.rankDirectory($0), $0) }, uniquingKeysWith: { f, _ in f })
        for r in a.ranks where ranksB[Self.rankDirectory(r)] == nil {
            report.add(.layout, Self.rankDirectory(r), "rank file only in A")
        }
        for r in b.ranks where ranksA[Self.rankDirectory(r)] == nil {
            report.add(.layout, Self.rankDirectory(r), "rank file only in B")
        }
        var walk = PickleComparison()
        for r in a.ranks {
            let dir = Self.rankDirectory(r)
            guard let s = ranksB[dir] else { continue }
            if r.chunks.count != s.chunks.count {
                report.add(.layout, dir, "\(r.chunks.count) vs \(s.chunks.count) model chunks")
            }
            walk.compare(try TorchCheckpoint.load(r.path), try TorchCheckpoint.load(s.path), path: dir, into: &report)
        }
        try tensors.compare(walk.pairs, into: &report)
    }

    /// The rank directory's name (`mp_rank_01_002`): ranks are matched by it, whatever the
    /// iteration directory holding them.
    static func rankDirectory(_ r: MMRankContent) -> String {
        URL(fileURLWithPath: r.path).deletingLastPathComponent().lastPathComponent
    }
}
