import Foundation
import XCTest
@testable import Ops

/// The malformed MindSpeed-MM directories of Tests/Corpus/mm: each must fail to load with a
/// message that names the problem (and the file or directory).
///
/// The corpus is committed; `MM_CORPUS_REGENERATE=1 swift test --filter VerifyMMCorpusTests`
/// rewrites it with `regenerate()` (our own torch writer; rank files are tiny
/// `{"model": {"w": f32[2]}, "checkpoint_version": 3.0}` dicts unless an entry needs otherwise).
final class VerifyMMCorpusTests: XCTestCase {
    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Corpus/mm")
    }

    func expectFailure(_ entry: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        let dir = Self.corpus.appendingPathComponent(entry).path
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir), "corpus entry \(entry) is missing", file: file, line: line)
        XCTAssertThrowsError(try MMCheckpointReader.load(dir), file: file, line: line) { e in
            let text = "\(e)"
            for f in fragments { XCTAssertTrue(text.contains(f), "\(entry): '\(f)' not in: \(text)", file: file, line: line) }
            XCTAssertFalse(text.contains("Fatal"), text, file: file, line: line)
        }
    }

    func testMissingRank() {
        expectFailure("missing_rank", ["missing_rank/release", "incomplete checkpoint", "mp_rank_01_001 (tp 1, pp 1, ep 0) is missing", "found 3 of 4 ranks"])
    }
    func testTrackerNamesMissingIteration() {
        expectFailure("tracker_missing_iteration", ["tracker_missing_iteration/iter_0002000", "the tracker points to 'iter_0002000', which is not a readable directory"])
    }
    func testTrackerGarbage() {
        expectFailure("tracker_garbage", ["tracker_garbage/latest_checkpointed_iteration.txt", "expected 'release' or an iteration number, found 'step 12"])
    }
    func testNegativeIterationInTracker() {
        expectFailure("tracker_negative", ["latest_checkpointed_iteration.txt", "expected 'release' or an iteration number, found '-5'"])
    }
    func testRankFileNotAZip() {
        expectFailure("rank_not_zip", ["rank_not_zip/release/mp_rank_00/model_optim_rng.pt", "not a zip archive"])
    }
    func testTruncatedRankFile() {
        expectFailure("rank_truncated", ["rank_truncated/release/mp_rank_00/model_optim_rng.pt", "truncated or corrupt"])
    }
    func testVPPChunkCountsDisagree() {
        expectFailure("vpp_mismatch", ["vpp_mismatch/release", "rank files disagree on the number of virtual pipeline chunks ([1, 2])"])
    }
    func testRankDirectoryWithoutRankFile() {
        expectFailure("rank_without_file", ["rank_without_file/release/mp_rank_01/model_optim_rng.pt", "missing rank file (rank directory mp_rank_01 has no model_optim_rng.pt)"])
    }
    func testNotAMegatronDirectory() {
        expectFailure("no_tracker", ["no_tracker/latest_checkpointed_iteration.txt", "not a Megatron checkpoint directory"])
    }
    func testNoRankDirectories() {
        expectFailure("no_ranks", ["no_ranks/release", "no mp_rank_* directories"])
    }
    func testBadRankDirectoryName() {
        expectFailure("bad_rank_name", ["bad_rank_name/release/mp_rank_0x", "unexpected rank directory name (expected mp_rank_TT[_PPP][_EEE])"])
    }
    func testMixedRankNaming() {
        expectFailure("mixed_naming", ["mixed_naming/release", "rank directories mix naming schemes (mp_rank_00, mp_rank_01_001"])
    }
    func testRankFileWithoutModel() {
        expectFailure("no_model_entry", ["no_model_entry/release/mp_rank_00/model_optim_rng.pt", "no 'model' entry (top-level keys: 'iteration', 'checkpoint_version')"])
    }
    func testModelIsNotADict() {
        expectFailure("model_not_dict", ["model_optim_rng.pt", "'model' is a list, expected a dict of tensors"])
    }
    func testModelAndVirtualChunksTogether() {
        expectFailure("model_and_model0", ["model_optim_rng.pt", "has both 'model' and 'model<N>' entries"])
    }
    func testVirtualChunksWithAGap() {
        expectFailure("vpp_gap", ["model_optim_rng.pt", "virtual pipeline entries are not model0..model1: [\"model0\", \"model2\"]"])
    }
    func testRootIsNotADict() {
        expectFailure("root_not_dict", ["model_optim_rng.pt", "the saved object is a list, expected a dict with 'model'"])
    }

    /// Every directory of the corpus has a test above (a new entry without one fails here).
    func testEveryEntryIsTested() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
        XCTAssertEqual(names, Self.entries.sorted())
    }

    static let entries = ["missing_rank", "tracker_missing_iteration", "tracker_garbage", "tracker_negative", "rank_not_zip",
                          "rank_truncated", "vpp_mismatch", "rank_without_file", "no_tracker", "no_ranks", "bad_rank_name",
                          "mixed_naming", "no_model_entry", "model_not_dict", "model_and_model0", "vpp_gap", "root_not_dict"]

    // MARK: - Regeneration

    func testRegenerate() throws {
        guard ProcessInfo.processInfo.environment["MM_CORPUS_REGENERATE"] == "1" else {
            throw XCTSkip("set MM_CORPUS_REGENERATE=1 to rewrite Tests/Corpus/mm")
        }
        try Self.regenerate()
    }

    static func regenerate() throws {
        let fm = FileManager.default
        let root = corpus.path
        for e in entries { try? fm.removeItem(atPath: root + "/" + e) }
        func dir(_ p: String) throws { try fm.createDirectory(atPath: root + "/" + p, withIntermediateDirectories: true) }
        func text(_ p: String, _ s: String) throws {
            try dir((p as NSString).deletingLastPathComponent)
            try Data(s.utf8).write(to: URL(fileURLWithPath: root + "/" + p))
        }
        func keep(_ p: String) throws { try dir(p); try text(p + "/.gitkeep", "") }
        let w = PickleValue.tensor(TorchTensor(try Tensor.fromBytes([0, 0, 128, 63, 0, 0, 0, 64], dtype: .f32, shape: [2])))
        func model(_ names: [String] = ["w"]) -> PickleValue { .dict(PickleDict(strings: names.map { ($0, w) })) }
        func save(_ p: String, _ items: [(String, PickleValue)]) throws {
            try dir((p as NSString).deletingLastPathComponent)
            try TorchCheckpoint.save(.dict(PickleDict(strings: items)), to: root + "/" + p)
        }
        let version: (String, PickleValue) = ("checkpoint_version", .float(3.0))
        func rank(_ entry: String, _ rankDir: String, iteration: String = "release") throws {
            try save("\(entry)/\(iteration)/\(rankDir)/model_optim_rng.pt", [("model", model()), version])
        }

        try text("missing_rank/latest_checkpointed_iteration.txt", "release")
        for r in ["mp_rank_00_000", "mp_rank_00_001", "mp_rank_01_000"] { try rank("missing_rank", r) }

        try text("tracker_missing_iteration/latest_checkpointed_iteration.txt", "2000")
        try rank("tracker_missing_iteration", "mp_rank_00", iteration: "iter_0001000")

        try text("tracker_garbage/latest_checkpointed_iteration.txt", "step 12\n")
        try rank("tracker_garbage", "mp_rank_00")

        try text("tracker_negative/latest_checkpointed_iteration.txt", "-5")
        try rank("tracker_negative", "mp_rank_00", iteration: "iter_-000005")

        try text("rank_not_zip/latest_checkpointed_iteration.txt", "release")
        try dir("rank_not_zip/release/mp_rank_00")
        try text("rank_not_zip/release/mp_rank_00/model_optim_rng.pt", "this is not a torch checkpoint\n")

        try text("rank_truncated/latest_checkpointed_iteration.txt", "release")
        try rank("rank_truncated", "mp_rank_00")
        let full = try Data(contentsOf: URL(fileURLWithPath: root + "/rank_truncated/release/mp_rank_00/model_optim_rng.pt"))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: root + "/rank_truncated/release/mp_rank_00/model_optim_rng.pt"))

        try text("vpp_mismatch/latest_checkpointed_iteration.txt", "release")
        try save("vpp_mismatch/release/mp_rank_00_000/model_optim_rng.pt", [("model0", model()), ("model1", model(["v"])), version])
        try rank("vpp_mismatch", "mp_rank_00_001")

        try text("rank_without_file/latest_checkpointed_iteration.txt", "release")
        try rank("rank_without_file", "mp_rank_00")
        try keep("rank_without_file/release/mp_rank_01")

        try text("no_tracker/config.json", "{}\n")

        try text("no_ranks/latest_checkpointed_iteration.txt", "release")
        try keep("no_ranks/release")

        try text("bad_rank_name/latest_checkpointed_iteration.txt", "release")
        try rank("bad_rank_name", "mp_rank_0x")

        try text("mixed_naming/latest_checkpointed_iteration.txt", "release")
        try rank("mixed_naming", "mp_rank_00")
        try rank("mixed_naming", "mp_rank_01_001")

        try text("no_model_entry/latest_checkpointed_iteration.txt", "release")
        try save("no_model_entry/release/mp_rank_00/model_optim_rng.pt", [("iteration", .int(5)), version])

        try text("model_not_dict/latest_checkpointed_iteration.txt", "release")
        try save("model_not_dict/release/mp_rank_00/model_optim_rng.pt", [("model", .list([w])), version])

        try text("model_and_model0/latest_checkpointed_iteration.txt", "release")
        try save("model_and_model0/release/mp_rank_00/model_optim_rng.pt", [("model", model()), ("model0", model()), version])

        try text("vpp_gap/latest_checkpointed_iteration.txt", "release")
        try save("vpp_gap/release/mp_rank_00/model_optim_rng.pt", [("model0", model()), ("model2", model()), version])

        try text("root_not_dict/latest_checkpointed_iteration.txt", "release")
        try dir("root_not_dict/release/mp_rank_00")
        try TorchCheckpoint.save(.list([model()]), to: root + "/root_not_dict/release/mp_rank_00/model_optim_rng.pt")
    }
}
