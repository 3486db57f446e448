import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes the MindSpeed-MM (Megatron) directory layout of a converted checkpoint.
///
/// ```
/// <dir>/latest_checkpointed_iteration.txt      "release" (no newline)
/// <dir>/release/mp_rank_{tp:02d}[_{pp:03d}][_{ep:03d}]/model_optim_rng.pt
/// ```
/// Each file is a torch.save of `{"model": {name: tensor}, "checkpoint_version": 3.0}`, or with
/// virtual pipeline stages `{"model0": ..., "model1": ..., "checkpoint_version": 3.0}`.
/// Directories get mode 0750 and files 0640, as the reference leaves them.
public enum MMCheckpointWriter {
    /// When a rank file gets the `checkpoint_version` entry: always (the VLM converters), or only
    /// with virtual pipeline chunks (the reference's video-model converters write `{"model": ...}`
    /// alone without VPP, sora.md §3.1).
    public enum VersionEntry: String, Sendable { case always, vpp }

    public static let fileName = "model_optim_rng.pt"
    public static let trackerName = "latest_checkpointed_iteration.txt"

    /// Writes every rank into `directory` (created if needed; the caller handles temporary
    /// directories and the final rename).
    /// - Parameter ranks: per rank, one TensorMap per virtual pipeline chunk (one without VPP).
    ///   Every (tp, pp, ep) of the grid must be present, all with the same number of chunks.
    public static func save(_ ranks: [(rank: MMRank, chunks: [TensorMap])], to directory: String,
                            iteration: MMIteration = .release) throws {
        guard !ranks.isEmpty else { throw OpsError.invalid("no ranks to save") }
        let tpSize = ranks.map(\.rank.tp).max()! + 1
        let ppSize = ranks.map(\.rank.pp).max()! + 1
        let epSize = ranks.map(\.rank.ep).max()! + 1
        let present = Set(ranks.map(\.rank))
        guard present.count == ranks.count else { throw OpsError.invalid("a rank is given twice") }
        for tp in 0..<tpSize { for pp in 0..<ppSize { for ep in 0..<epSize where !present.contains(MMRank(tp: tp, pp: pp, ep: ep)) {
            throw OpsError.invalid("rank (tp \(tp), pp \(pp), ep \(ep)) is missing: every rank of the \(tpSize)x\(ppSize)x\(epSize) grid must be written")
        } } }
        let chunkCounts = Set(ranks.map(\.chunks.count))
        guard chunkCounts.count == 1, let vpp = chunkCounts.first, vpp >= 1 else {
            throw OpsError.invalid("every rank needs the same number (>= 1) of virtual pipeline chunks, got \(chunkCounts.sorted())")
        }
        try makeDirectory(directory)
        try makeDirectory(directory + "/" + iteration.directoryName)
        for (rank, chunks) in ranks.sorted(by: { $0.rank < $1.rank }) {
            try saveRank(rank, chunks: chunks, to: directory, iteration: iteration, ppSize: ppSize, epSize: epSize)
        }
        try writeTracker(in: directory, iteration: iteration)
    }

    /// `<directory>/<iteration>/mp_rank_.../model_optim_rng.pt`.
    public static func rankFilePath(_ rank: MMRank, in directory: String, iteration: MMIteration = .release,
                                    ppSize: Int, epSize: Int) -> String {
        directory + "/" + iteration.directoryName + "/" + rank.directoryName(ppSize: ppSize, epSize: epSize) + "/" + fileName
    }

    /// Writes one rank's file (and its directories), for callers that write ranks in parallel.
    /// `save` does this for every rank, then writes the tracker.
    public static func saveRank(_ rank: MMRank, chunks: [TensorMap], to directory: String, iteration: MMIteration = .release,
                                ppSize: Int, epSize: Int, version: VersionEntry = .always) throws {
        guard !chunks.isEmpty else { throw OpsError.invalid("rank (\(rank)) has no model chunk") }
        try makeDirectory(directory)
        try makeDirectory(directory + "/" + iteration.directoryName)
        let path = rankFilePath(rank, in: directory, iteration: iteration, ppSize: ppSize, epSize: epSize)
        try makeDirectory(String(path.dropLast(fileName.count + 1)))
        try TorchCheckpoint.save(rootValue(chunks, version: version), to: path)
        try setMode(path, 0o640)
    }

    /// Writes `latest_checkpointed_iteration.txt` (`release` or the number, no newline).
    public static func writeTracker(in directory: String, iteration: MMIteration = .release) throws {
        let tracker = directory + "/" + trackerName
        let out = try OutputFile(creating: tracker)
        try out.write(Array(iteration.trackerText.utf8))
        try out.close()
        try setMode(tracker, 0o640)
    }

    /// The object saved in one rank file.
    public static func rootValue(_ chunks: [TensorMap], version: VersionEntry = .always) -> PickleValue {
        func model(_ m: TensorMap) -> PickleValue {
            .dict(PickleDict(strings: m.map { ($0.name, .tensor(TorchTensor($0.tensor))) }))
        }
        var items: [(String, PickleValue)] = []
        if chunks.count == 1 {
            items.append(("model", model(chunks[0])))
        } else {
            for (v, c) in chunks.enumerated() { items.append(("model\(v)", model(c))) }
        }
        if version == .always || chunks.count > 1 { items.append(("checkpoint_version", .float(3.0))) }
        return .dict(PickleDict(strings: items))
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o750) != 0 && errno != EEXIST {
            throw OpsError.io(path: path, message: "cannot create directory: \(String(cString: strerror(errno)))")
        }
        try setMode(path, 0o750)
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else {
            throw OpsError.io(path: path, message: "cannot set permissions: \(String(cString: strerror(errno)))")
        }
    }
}
