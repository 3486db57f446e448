import Foundation
import XCTest
@testable import Ops

/// `verify`'s comparison logic: block-wise byte comparison of lazy tensors, pickle structure,
/// and whole checkpoints (HF, MindSpeed-MM, torch files) against modified copies of the fixtures.
final class VerifyComparisonTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("verify-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }
    var hfFixture: String { TorchFixtures.shared.appendingPathComponent("fixtures/hf/qwen2vl").path }

    func f32(_ values: [Float], _ shape: [Int]) throws -> Tensor {
        try .fromBytes(values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }, dtype: .f32, shape: shape)
    }

    // MARK: - Tensor bytes

    func testEqualTensorsFromDifferentExpressionsCompareEqualAtEveryBlockSize() throws {
        let values = (0..<(12 * 40)).map { Float($0) * 0.5 - 7 }
        let plain = try f32(values, [12, 40])
        // The same elements as a transposed view of a transposed copy and as a concatenation.
        var t: [Float] = []
        for c in 0..<40 { for r in 0..<12 { t.append(values[r * 40 + c]) } }
        let transposed = try f32(t, [40, 12]).transposed()
        let halves = try Tensor.concat([try plain.slice(dim: 1, start: 0, count: 17), try plain.slice(dim: 1, start: 17, count: 23)], dim: 1)
        for block in [64, 100, 160, 1000, 4 << 20] {
            let c = TensorBytesComparison(blockBytes: block)
            XCTAssertNil(try c.compare(plain, transposed), "block \(block)")
            XCTAssertNil(try c.compare(transposed, halves), "block \(block)")
            XCTAssertTrue(try c.equal(plain, transposed), "block \(block)")
            XCTAssertTrue(try c.equal(transposed, halves), "block \(block)")
        }
        XCTAssertNil(try TensorBytesComparison().compare(Tensor.zeros(.bf16, [3, 0]), Tensor.zeros(.bf16, [3, 0])))
        XCTAssertNil(try TensorBytesComparison().compare(Tensor.zeros(.f32, [2, 3]), try f32([0, 0, 0, 0, 0, 0], [2, 3])))
    }

    func testMismatchCountsEveryDifferingElementAndNamesTheFirst() throws {
        var values = (0..<(12 * 40)).map { Float($0) }
        let a = try f32(values, [12, 40])
        values[3 * 40 + 7] = 1.0      // first difference: element [3, 7]
        values[11 * 40 + 39] = -2.0   // last element
        values[8 * 40] = 5.5
        let b = try f32(values, [12, 40])
        for block in [64, 160, 1 << 20] {
            let m = try XCTUnwrap(TensorBytesComparison(blockBytes: block).compare(a, b), "block \(block)")
            XCTAssertEqual(m.differingElements, 3)
            XCTAssertEqual(m.totalElements, 480)
            XCTAssertEqual(m.firstIndex, [3, 7])
            XCTAssertEqual(m.firstA, "0x42fe0000")  // 127.0 (element 3 * 40 + 7)
            XCTAssertEqual(m.firstB, "0x3f800000")  // 1.0
            XCTAssertEqual(m.description, "3 of 480 elements differ, first at [3, 7] (0x42fe0000 vs 0x3f800000)")
            XCTAssertFalse(try TensorBytesComparison(blockBytes: block).equal(a, b), "block \(block)")
        }
        // Zero and negative zero differ; NaNs with the same bits are equal.
        XCTAssertNotNil(try TensorBytesComparison().compare(try f32([0], [1]), try f32([-0.0], [1])))
        XCTAssertNil(try TensorBytesComparison().compare(try f32([.nan], [1]), try f32([.nan], [1])))
        XCTAssertThrowsError(try TensorBytesComparison().compare(a, try a.reshaped([480])))
        XCTAssertFalse(try TensorBytesComparison().equal(a, try a.reshaped([480])), "another shape is not equal")
        XCTAssertTrue(try TensorBytesComparison().equal(a, a))
    }

    func testComparisonAgreesWithSHA256OnRandomTensors() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let shape = [Int.random(in: 1...9, using: &rng), Int.random(in: 1...33, using: &rng), Int.random(in: 1...5, using: &rng)]
            let n = shape.reduce(1, *)
            let x = (0..<n * 2).map { _ in UInt8.random(in: 0...3, using: &rng) }
            var y = x
            if Bool.random(using: &rng) { y[Int.random(in: 0..<y.count, using: &rng)] ^= 0x10 }
            let a = try Tensor.fromBytes(x, dtype: .bf16, shape: shape), b = try Tensor.fromBytes(y, dtype: .bf16, shape: shape)
            let m = try TensorBytesComparison(blockBytes: 64).compare(a, b)
            XCTAssertEqual(m == nil, try a.sha256() == b.sha256())
            if let m { XCTAssertEqual(m.differingElements, 1) }
        }
    }

    // MARK: - Pickle structure

    func testPickleComparisonReportsEntriesAndPairsTensors() throws {
        let t = TorchTensor(try f32([1, 2], [2]))
        func ns(_ tp: Int) -> PickleValue {
            .object(PickleObject(module: "argparse", name: "Namespace", args: [],
                                 state: .dict(PickleDict(strings: [("tensor_model_parallel_size", .int(tp)), ("lr", .float(1e-4))]))))
        }
        let a = PickleValue.dict(PickleDict(strings: [("model", .dict(PickleDict(strings: [("w", .tensor(t)), ("only_a", .tensor(t))]))),
                                                    ("iteration", .int(10)), ("checkpoint_version", .float(3.0)), ("args", ns(1))]))
        let b = PickleValue.dict(PickleDict(strings: [("args", ns(2)), ("checkpoint_version", .int(3)),
                                                    ("model", .dict(PickleDict(strings: [("w", .tensor(t))]))), ("extra", .list([.none]))]))
        var report = VerifyReport(first: "a", second: "b")
        var walk = PickleComparison()
        walk.compare(a, b, path: "rank", into: &report)
        XCTAssertEqual(walk.pairs.map(\.subject), ["rank/model/w"])
        XCTAssertEqual(report.differences.map(\.description), [
            "rank/model/only_a: f32[2]",
            "rank/iteration: only in A (10)",
            "rank/checkpoint_version: 3.0 vs 3",
            "rank/args/tensor_model_parallel_size: 1 vs 2",
            "rank/extra: only in B (list [None])",
        ])
        XCTAssertEqual(report.differences.map(\.category), [.onlyInFirst, .entries, .entries, .entries, .entries])
    }

    // MARK: - Checkpoints

    func testHFCheckpointAgainstItselfAndAModifiedCopy() throws {
        let same = try CheckpointComparison().compare(hfFixture, hfFixture)
        XCTAssertTrue(same.isIdentical, "\(same.differences)")
        XCTAssertEqual(same.tensorsCompared, 82)
        XCTAssertEqual(same.bytesCompared, 669_440)
        XCTAssertEqual(same.filesCompared, 5)  // index + config, generation config, tokenizer config, README

        let source = try HFCheckpoint.load(hfFixture)
        var tensors = source.tensors
        let norm = "model.norm.weight"
        var bytes = try tensors[norm]!.materialize()
        bytes[6] ^= 1
        tensors[norm] = try .fromBytes(bytes, dtype: .bf16, shape: [64])
        let copy = path("hf")
        try HFCheckpoint.save(tensors, to: copy, like: source)
        XCTAssertTrue(try CheckpointComparison().compare(hfFixture, copy).differences.map(\.description) == [
            "model.norm.weight: 1 of 64 elements differ, first at [3] (\(TensorBytesComparison.hex(try source.tensors[norm]!.materialize().withUnsafeBytes { $0.baseAddress! + 6 }, 2)) vs \(TensorBytesComparison.hex(bytes.withUnsafeBytes { $0.baseAddress! + 6 }, 2)))",
        ])
        try "changed\n".write(toFile: copy + "/README.md", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: copy + "/generation_config.json")
        try "{}".write(toFile: copy + "/extra.json", atomically: true, encoding: .utf8)
        let r = try CheckpointComparison().compare(hfFixture, copy)
        let files = r.differences(in: .files).map(\.description)
        XCTAssertEqual(files.count, 3, "\(files)")
        XCTAssertTrue(files[0].hasPrefix("README.md: contents differ ("), files[0])
        XCTAssertEqual(Array(files[1...]), ["generation_config.json: only in A", "extra.json: only in B"])
        XCTAssertEqual(r.differences(in: .bytes).count, 1)
    }

    func testHFLayoutDifferencesAreReported() throws {
        let source = try HFCheckpoint.load(hfFixture)
        var tensors = source.tensors
        tensors.remove("lm_head.weight")
        tensors["model.norm.weight"] = try tensors["model.norm.weight"]!.cast(to: .f32)
        tensors["new.weight"] = .zeros(.bf16, [2, 2])
        let copy = path("one-shard")
        try HFCheckpoint.save(tensors, to: copy, maxShardBytes: 10_000_000)
        let r = try CheckpointComparison().compare(hfFixture, copy)
        XCTAssertEqual(r.differences(in: .onlyInFirst).map(\.description), ["lm_head.weight: bf16[384, 64]"])
        XCTAssertEqual(r.differences(in: .onlyInSecond).map(\.description), ["new.weight: bf16[2, 2]"])
        XCTAssertEqual(r.differences(in: .dtype).map(\.description), ["model.norm.weight: bf16 vs f32"])
        let layout = r.differences(in: .layout).map(\.description)
        XCTAssertEqual(Array(layout.prefix(3)), ["model-00001-of-00002.safetensors: shard file only in A",
                                                  "model-00002-of-00002.safetensors: shard file only in A",
                                                  "model.safetensors: shard file only in B"])
        XCTAssertEqual(layout.count, 3 + 81, "every common tensor moved to model.safetensors")
        XCTAssertTrue(r.differences(in: .files).map(\.description).contains("model.safetensors.index.json: only in A"))
        XCTAssertTrue(r.differences(in: .files).map(\.description).contains("config.json: only in A"))
    }

    /// Writes golden tp1_pp1's tensors (possibly changed) as a MindSpeed-MM directory.
    func writeMM(_ name: String, iteration: MMIteration = .release, _ change: (inout TensorMap) throws -> Void = { _ in }) throws -> String {
        let golden = try MMCheckpointReader.load(TorchFixtures.golden("qwen2vl_tp1_pp1"))
        var chunk = golden.ranks[0].chunks[0]
        try change(&chunk)
        let dir = path(name)
        try MMCheckpointWriter.save([(MMRank(tp: 0), [chunk])], to: dir, iteration: iteration)
        return dir
    }

    func testMMCheckpointsCompareTensorsPerRankAndLayout() throws {
        let golden = TorchFixtures.golden("qwen2vl_tp1_pp1")
        let same = try CheckpointComparison().compare(golden, try writeMM("same"))
        XCTAssertTrue(same.isIdentical, "\(same.differences)")
        XCTAssertEqual(same.tensorsCompared, 62)

        let qkv = "text_decoder.decoder.layers.0.self_attention.linear_qkv.weight"
        let changed = try writeMM("changed", iteration: .iteration(1000)) { m in
            m.remove("text_decoder.output_layer.weight")
            m[qkv] = try m[qkv]!.slice(dim: 0, start: 0, count: 64)
            m["text_decoder.decoder.final_layernorm.weight"] = .zeros(.bf16, [64])
        }
        let r = try CheckpointComparison().compare(golden, changed)
        XCTAssertEqual(r.differences.map(\.description).filter { !$0.contains("elements differ") }, [
            "latest_checkpointed_iteration.txt: release vs iter_0001000",
            "mp_rank_00/model/text_decoder.output_layer.weight: bf16[384, 64]",
            "mp_rank_00/model/\(qkv): [128, 64] vs [64, 64]",
        ])
        XCTAssertEqual(r.differences(in: .bytes).map(\.subject), ["mp_rank_00/model/text_decoder.decoder.final_layernorm.weight"])
        XCTAssertTrue(r.differences(in: .bytes)[0].detail.hasPrefix("64 of 64 elements differ, first at [0]"))

        let other = try CheckpointComparison().compare(golden, TorchFixtures.golden("qwen2vl_tp2_pp3"))
        XCTAssertEqual(other.differences(in: .layout).map(\.subject), ["parallel sizes", "mp_rank_00"] +
                       ["mp_rank_00_000", "mp_rank_00_001", "mp_rank_00_002", "mp_rank_01_000", "mp_rank_01_001", "mp_rank_01_002"])
        XCTAssertEqual(other.differences(in: .layout)[0].detail.prefix(44), "tp 1, pp 1, ep 1, vpp 1 vs tp 2, pp 3, ep 1,")
    }

    func testMMVirtualPipelineChunksAndTrainingEntries() throws {
        // Two training checkpoints that differ in args, iteration and one optimizer tensor.
        let a = path("train-a"), b = path("train-b")
        for dir in [a, b] {
            try FileManager.default.createDirectory(atPath: dir + "/iter_0001000/mp_rank_00", withIntermediateDirectories: true)
            try "1000".write(toFile: dir + "/latest_checkpointed_iteration.txt", atomically: true, encoding: .utf8)
        }
        try FileManager.default.copyItem(atPath: TorchFixtures.torch("megatron_ckpt.pt"), toPath: a + "/iter_0001000/mp_rank_00/model_optim_rng.pt")
        guard case var .dict(root) = try TorchCheckpoint.load(TorchFixtures.torch("megatron_ckpt.pt")),
              case var .object(args) = root["args"]!, case var .dict(state) = args.state!,
              case var .dict(optimizer) = root["optimizer"]!, case var .dict(states) = optimizer["state"]!,
              case var .dict(s0) = states.items[0].value else { return XCTFail("unexpected fixture structure") }
        state["tensor_model_parallel_size"] = .int(2)
        args.state = .dict(state)
        root["args"] = .object(args)
        root["iteration"] = .int(2000)
        s0["exp_avg"] = .tensor(TorchTensor(.zeros(.f32, [16, 8])))
        states.items[0].value = .dict(s0)
        optimizer["state"] = .dict(states)
        root["optimizer"] = .dict(optimizer)
        try TorchCheckpoint.save(.dict(root), to: b + "/iter_0001000/mp_rank_00/model_optim_rng.pt")
        let r = try CheckpointComparison().compare(a, b)
        XCTAssertEqual(r.differences.map(\.description).filter { !$0.contains("elements differ") }, [
            "mp_rank_00/args/tensor_model_parallel_size: 1 vs 2",
            "mp_rank_00/iteration: 1000 vs 2000",
        ])
        XCTAssertEqual(r.differences(in: .bytes).map(\.subject), ["mp_rank_00/optimizer/state/0/exp_avg"])
        XCTAssertEqual(r.tensorsCompared, 30)

        // The same rank file with one chunk vs two.
        let golden = try MMCheckpointReader.load(TorchFixtures.golden("qwen2vl_tp1_pp1")).ranks[0].chunks[0]
        var first = TensorMap(), second = TensorMap()
        for (i, (n, t)) in golden.enumerated() { if i % 2 == 0 { first[n] = t } else { second[n] = t } }
        try MMCheckpointWriter.save([(MMRank(tp: 0), [golden])], to: path("one"))
        try MMCheckpointWriter.save([(MMRank(tp: 0), [first, second])], to: path("two"))
        let v = try CheckpointComparison().compare(path("one"), path("two"))
        XCTAssertEqual(v.differences(in: .layout).map(\.description), ["parallel sizes: tp 1, pp 1, ep 1, vpp 1 vs tp 1, pp 1, ep 1, vpp 2",
                                                                        "mp_rank_00: 1 vs 2 model chunks"])
        XCTAssertEqual(v.differences(in: .entries).map(\.subject), ["mp_rank_00/model", "mp_rank_00/model0", "mp_rank_00/model1"])
    }

    func testTorchAndSafetensorsFiles() throws {
        let pt = TorchFixtures.torch("megatron_ckpt.pt")
        XCTAssertTrue(try CheckpointComparison().compare(pt, pt).isIdentical)
        let views = try CheckpointComparison().compare(pt, TorchFixtures.torch("views.pt"))
        XCTAssertFalse(views.isIdentical)
        let shard = hfFixture + "/model-00001-of-00002.safetensors"
        XCTAssertEqual(try VerifyInput.kind(of: shard), .safetensors)
        XCTAssertEqual(try VerifyInput.kind(of: pt), .torch)
        XCTAssertEqual(try VerifyInput.kind(of: hfFixture), .hf)
        XCTAssertEqual(try VerifyInput.kind(of: TorchFixtures.golden("qwen2vl_tp1_pp1")), .mm)
        let r = try CheckpointComparison().compare(shard, hfFixture)
        XCTAssertEqual(r.differences(in: .onlyInSecond).count, 82 - (try SafetensorsFile(path: shard).entries.count))
        XCTAssertEqual(r.differences.count, r.differences(in: .onlyInSecond).count)
        XCTAssertThrowsError(try CheckpointComparison().compare(hfFixture, TorchFixtures.golden("qwen2vl_tp1_pp1"))) { e in
            XCTAssertTrue("\(e)".contains("Convert one to the other's format first"), "\(e)")
        }
        XCTAssertThrowsError(try CheckpointComparison().compare(pt, shard)) { e in
            XCTAssertTrue("\(e)".contains("cannot compare a torch file with a safetensors file"), "\(e)")
        }
        XCTAssertThrowsError(try VerifyInput.kind(of: tmp.path)) { e in XCTAssertTrue("\(e)".contains("is neither"), "\(e)") }
    }

    func testReportTextAndJSON() throws {
        var r = VerifyReport(first: "A1", second: "B1")
        r.tensorsCompared = 3
        r.bytesCompared = 2048
        for i in 0..<4 { r.add(.bytes, "t\(i)", "differs") }
        r.add(.layout, "tp size", "1 vs 2")
        XCTAssertEqual(r.text(limit: 2), [
            "A: A1", "B: B1",
            "layout differs (1):", "  tp size: 1 vs 2",
            "bytes differ (4):", "  t0: differs", "  t1: differs", "  ... and 2 more",
            "different: 5 difference(s) (1 layout, 4 bytes); 3 tensors (2.0 KiB) compared",
        ])
        XCTAssertEqual(JSONWriter(layout: .compact).string(r.json(limit: 1)),
                       #"{"identical":false,"a":"A1","b":"B1","tensors_compared":3,"bytes_compared":2048,"files_compared":0,"difference_count":5,"differences":{"layout":{"count":1,"items":[{"subject":"tp size","detail":"1 vs 2"}]},"bytes":{"count":4,"items":[{"subject":"t0","detail":"differs"}]}}}"#)
    }
}
