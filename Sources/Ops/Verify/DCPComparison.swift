extension CheckpointComparison {
    /// Two DCP checkpoints: every tensor entry by FQN (the merged tensors, so the same weights
    /// chunked differently compare equal byte for byte), every bytes value structurally, and as
    /// layout the tracker's iteration, planner paths and chunk boxes. Where items lie (file names,
    /// offsets) is not compared: it is not content.
    func compareDCP(_ a: DCPCheckpoint, _ b: DCPCheckpoint, into report: inout VerifyReport) throws {
        if let x = a.location.iteration, let y = b.location.iteration, x != y {
            report.add(.layout, MMCheckpointWriter.trackerName, "\(x.directoryName) vs \(y.directoryName)")
        }
        for e in a.metadata.entries {
            guard let f = b.entry(e.fqn) else { continue }
            if a.plannerPath(e.fqn) != b.plannerPath(e.fqn) {
                report.add(.layout, e.fqn, "planner path \(a.plannerPath(e.fqn).map(\.description)) vs \(b.plannerPath(e.fqn).map(\.description))")
            }
            if let x = e.tensor, let y = f.tensor, x.size == y.size, x.chunks != y.chunks {
                report.add(.layout, e.fqn, "stored as \(Self.chunksText(x.chunks)) vs \(Self.chunksText(y.chunks))")
            }
            if (e.tensor == nil) != (f.tensor == nil) {
                report.add(.entries, e.fqn, e.tensor == nil ? "a bytes value in A, a tensor in B" : "a tensor in A, a bytes value in B")
            }
        }
        try tensors.compare(try a.tensors(), try b.tensors(), into: &report)
        var walk = PickleComparison()
        for name in a.valueNames {
            guard let f = b.entry(name) else { report.add(.entries, name, "only in A"); continue }
            guard f.tensor == nil else { continue }
            walk.compare(try a.value(name), try b.value(name), path: name, into: &report)
        }
        for name in b.valueNames where a.entry(name) == nil { report.add(.entries, name, "only in B") }
        // Values holding tensors (rare) are compared like the rest.
        try tensors.compare(walk.pairs, into: &report)
    }

    static func chunksText(_ chunks: [DCPChunk]) -> String {
        chunks.count == 1 ? "1 chunk" : CheckpointSummary.chunksText(chunks)
    }
}
