import Foundation
import XCTest
@testable import Ops

/// The MindSpeed-MM directory layout: golden outputs of the reference load exactly, saving
/// reproduces them byte for byte, and incomplete or unusual layouts are handled clearly.
final class MMLayoutTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mm-layout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    let goldens: [(name: String, tp: Int, pp: Int, vpp: Int)] = [
        ("qwen2vl_tp1_pp1", 1, 1, 1), ("qwen2vl_tp2_pp3", 2, 3, 1),
        ("qwen2vl_tp1_vpp2", 1, 2, 2), ("internvl_qwen2_tp2_pp3", 2, 3, 1),
    ]

    func testGoldenDirectoriesLoadAsTheirManifests() throws {
        for g in goldens {
            let ckpt = try MMCheckpointReader.load(TorchFixtures.golden(g.name))
            XCTAssertEqual([ckpt.tpSize, ckpt.ppSize, ckpt.epSize, ckpt.vppSize], [g.tp, g.pp, 1, g.vpp], g.name)
            XCTAssertEqual(ckpt.iteration, .release)
            let manifest = try TorchFixtures.json(TorchFixtures.golden("\(g.name).manifest.json")) as! [String: Any]
            let files = (manifest["files"] as! [String: Any]).filter { $0.key.hasSuffix(".pt") }
            XCTAssertEqual(files.count, ckpt.ranks.count, g.name)
            for rank in ckpt.ranks {
                let rel = "release/" + rank.rank.directoryName(ppSize: ckpt.ppSize, epSize: ckpt.epSize) + "/model_optim_rng.pt"
                guard let file = files[rel] as? [String: Any] else { XCTFail("\(g.name): no manifest entry \(rel)"); continue }
                XCTAssertEqual(file["top_level_keys"] as? [String], (g.vpp == 1 ? ["model"] : (0..<g.vpp).map { "model\($0)" }) + ["checkpoint_version"])
                XCTAssertEqual(rank.extras.stringKeys, ["checkpoint_version"])
                XCTAssertEqual(rank.extras["checkpoint_version"]?.description, "3.0")
                XCTAssertTrue(rank.skipped.isEmpty)
                for (v, chunk) in rank.chunks.enumerated() {
                    let key = g.vpp == 1 ? "model" : "model\(v)"
                    let expected = file[key] as! [String: [String: Any]]
                    XCTAssertEqual(Set(chunk.names), Set(expected.keys), "\(g.name) \(rel) \(key)")
                    for (name, t) in chunk {
                        guard let e = expected[name] else { continue }
                        XCTAssertEqual(t.dtype.torchName, e["dtype"] as? String, name)
                        XCTAssertEqual(t.shape, e["shape"] as? [Int], name)
                        XCTAssertEqual(try t.sha256(), e["sha256"] as? String, name)
                    }
                }
            }
        }
    }

    /// Loading a golden directory and saving its ranks gives the reference's files byte for byte.
    func testSavingGoldenRanksReproducesTheReferenceFiles() throws {
        for g in goldens {
            let source = TorchFixtures.golden(g.name)
            let ckpt = try MMCheckpointReader.load(source)
            let target = tmp.appendingPathComponent(g.name).path
            try MMCheckpointWriter.save(ckpt.ranks.map { ($0.rank, $0.chunks) }, to: target)
            let fm = FileManager.default
            let sourceFiles = fm.enumerator(atPath: source)!.compactMap { $0 as? String }.sorted()
            let targetFiles = fm.enumerator(atPath: target)!.compactMap { $0 as? String }.sorted()
            XCTAssertEqual(sourceFiles, targetFiles, g.name)
            for f in sourceFiles {
                var isDir: ObjCBool = false
                fm.fileExists(atPath: source + "/" + f, isDirectory: &isDir)
                let mode = (try fm.attributesOfItem(atPath: target + "/" + f)[.posixPermissions] as? Int) ?? 0
                XCTAssertEqual(mode, isDir.boolValue ? 0o750 : 0o640, f)
                if isDir.boolValue { continue }
                XCTAssertTrue(fm.contentsEqual(atPath: source + "/" + f, andPath: target + "/" + f), "\(g.name)/\(f) differs from the reference")
            }
            XCTAssertEqual(try String(contentsOfFile: target + "/latest_checkpointed_iteration.txt", encoding: .utf8), "release")
        }
    }

    func testDirectoryNames() {
        XCTAssertEqual(MMRank(tp: 0).directoryName(ppSize: 1, epSize: 1), "mp_rank_00")
        XCTAssertEqual(MMRank(tp: 1, pp: 3).directoryName(ppSize: 4, epSize: 1), "mp_rank_01_003")
        XCTAssertEqual(MMRank(tp: 0, ep: 7).directoryName(ppSize: 1, epSize: 8), "mp_rank_00_007")
        XCTAssertEqual(MMRank(tp: 0, pp: 2, ep: 1).directoryName(ppSize: 4, epSize: 2), "mp_rank_00_002_001")
        XCTAssertEqual(MMIteration(trackerText: "release\n"), .release)
        XCTAssertEqual(MMIteration(trackerText: " 1000 "), .iteration(1000))
        XCTAssertEqual(MMIteration.iteration(1000).directoryName, "iter_0001000")
        XCTAssertNil(MMIteration(trackerText: "latest"))
    }

    func small(_ names: [String], seed: UInt8) throws -> TensorMap {
        TensorMap(try names.enumerated().map { (i, n) in (n, try Tensor.fromBytes([seed, UInt8(i), 0, 0], dtype: .bf16, shape: [2])) })
    }

    /// EP without PP uses the single 3-digit suffix for the expert rank; it is recognised as such.
    func testExpertParallelLayoutRoundTrips() throws {
        let dir = tmp.appendingPathComponent("ep").path
        let names = ["decoder.layers.0.mlp.experts.local_experts.0.linear_fc1.weight", "embedding.word_embeddings.weight"]
        let ranks = try (0..<2).flatMap { tp in try (0..<2).map { ep in (MMRank(tp: tp, ep: ep), [try small(names, seed: UInt8(tp * 2 + ep))]) } }
        try MMCheckpointWriter.save(ranks, to: dir)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/release").sorted(),
                       ["mp_rank_00_000", "mp_rank_00_001", "mp_rank_01_000", "mp_rank_01_001"])
        let ckpt = try MMCheckpointReader.load(dir)
        XCTAssertEqual([ckpt.tpSize, ckpt.ppSize, ckpt.epSize], [2, 1, 2])
        XCTAssertEqual(try ckpt.rank(MMRank(tp: 1, ep: 0))!.chunks[0][names[1]]!.materialize(), [2, 1, 0, 0])
        let asPipeline = try MMCheckpointReader.load(dir, singleSuffix: .pipeline)
        XCTAssertEqual([asPipeline.ppSize, asPipeline.epSize], [2, 1])

        let dir3 = tmp.appendingPathComponent("pp-ep").path
        let ranks3 = try (0..<2).flatMap { pp in try (0..<2).map { ep in (MMRank(tp: 0, pp: pp, ep: ep), [try small(["a", "b"], seed: 1), try small(["c"], seed: 2)]) } }
        try MMCheckpointWriter.save(ranks3, to: dir3, iteration: .iteration(1000))
        XCTAssertEqual(try String(contentsOfFile: dir3 + "/latest_checkpointed_iteration.txt", encoding: .utf8), "1000")
        let c3 = try MMCheckpointReader.load(dir3)
        XCTAssertEqual([c3.tpSize, c3.ppSize, c3.epSize, c3.vppSize], [1, 2, 2, 2])
        XCTAssertEqual(c3.iteration, .iteration(1000))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir3 + "/iter_0001000/mp_rank_00_001_001/model_optim_rng.pt"))
        XCTAssertEqual(c3.ranks.map(\.chunks).map { $0.map(\.names) }.first!, [["a", "b"], ["c"]])
    }

    func testMissingRankIsNamed() throws {
        let dir = tmp.appendingPathComponent("gap").path
        let ranks = try (0..<2).flatMap { tp in try (0..<3).map { pp in (MMRank(tp: tp, pp: pp), [try small(["w"], seed: 0)]) } }
        try MMCheckpointWriter.save(ranks, to: dir)
        try FileManager.default.removeItem(atPath: dir + "/release/mp_rank_01_002")
        XCTAssertThrowsError(try MMCheckpointReader.load(dir)) { e in
            XCTAssertTrue("\(e)".contains("mp_rank_01_002"), "\(e)")
            XCTAssertTrue("\(e)".contains("5 of 6"), "\(e)")
        }
        try FileManager.default.removeItem(atPath: dir + "/release/mp_rank_00_001/model_optim_rng.pt")
        XCTAssertThrowsError(try MMCheckpointReader.load(dir)) { e in XCTAssertTrue("\(e)".contains("mp_rank_00_001"), "\(e)") }
        XCTAssertThrowsError(try MMCheckpointWriter.save(Array(ranks.dropLast()), to: dir + "x")) { e in
            XCTAssertTrue("\(e)".contains("(tp 1, pp 2, ep 0) is missing"), "\(e)")
        }
    }

    /// A training checkpoint: tracker with a newline, iteration directory, non-tensor model entries
    /// listed as skipped, other top-level entries kept.
    func testTrainingCheckpointKeepsExtrasAndListsSkippedEntries() throws {
        let dir = tmp.appendingPathComponent("train").path
        try FileManager.default.createDirectory(atPath: dir + "/iter_0001000/mp_rank_00", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TorchFixtures.torch("megatron_ckpt.pt"), toPath: dir + "/iter_0001000/mp_rank_00/model_optim_rng.pt")
        try "1000\n".write(toFile: dir + "/latest_checkpointed_iteration.txt", atomically: true, encoding: .utf8)
        let ckpt = try MMCheckpointReader.load(dir)
        XCTAssertEqual(ckpt.iteration, .iteration(1000))
        let rank = ckpt.ranks[0]
        XCTAssertEqual(rank.chunks[0].count, 14)
        XCTAssertEqual(rank.skipped.count, 9)
        XCTAssertTrue(rank.skipped.contains("model/output_layer._extra_state (NoneType)"), "\(rank.skipped)")
        XCTAssertTrue(rank.skipped.contains("model/decoder.layers.0.mlp.linear_fc1._extra_state (_io.BytesIO)"), "\(rank.skipped)")
        XCTAssertEqual(rank.extras.stringKeys, ["args", "checkpoint_version", "iteration", "optimizer", "opt_param_scheduler",
                                                "num_floating_point_operations_so_far", "rng_state"])
        XCTAssertEqual(rank.extras["iteration"]?.intValue, 1000)
    }
}
