import Foundation
import XCTest
@testable import Ops

/// CogVideoConverter (diffusers): the reference's golden cogvideox_tp2_pp2 (q/k/v fusion, the
/// 12-chunk modulation interleave, column / row / qkv TP, PP), mm_to_hf back to the input byte
/// for byte (the reference has no mm_to_hf), resplit, and the test vectors of sora.md §11.2.
final class CogVideoXConverterTests: XCTestCase {
    static let converter = "CogVideoConverter"
    static var input: String { WanConverterTests.sora("cogvideox_tp2_pp2/input") }

    @discardableResult
    static func run(_ op: String, _ source: String, _ target: String, _ extra: [String] = []) throws -> [String] {
        try Converters.run([converter, "--version", "t2v", op, "--cfg.source_path", source, "--cfg.target_path", target] + extra)
    }

    static func layout(tp: Int, pp: String) -> [String] {
        ["--cfg.target_parallel_config.tp_size", String(tp), "--cfg.target_parallel_config.pp_layers", pp]
    }

    func testGoldenTP2PP2AndRoundTrip() throws {
        let s = Converters.Scratch()
        let mm = s.path("mm")
        try Self.run("hf_to_mm", Self.input, mm, Self.layout(tp: 2, pp: "[20,22]"))
        let expected = try Converters.summary(ofManifest: WanConverterTests.sora("cogvideox_tp2_pp2/ref_out.manifest.json"))
        XCTAssertEqual(expected.models.count, 4)
        Converters.assertEqual(try Converters.summary(ofMM: mm), expected, "cogvideox_tp2_pp2")
        Converters.assertEqual(try Converters.summary(ofMM: WanConverterTests.sora("cogvideox_tp2_pp2/ref_out")), expected, "cogvideox_tp2_pp2 (fixture)")
        for source in [mm, WanConverterTests.sora("cogvideox_tp2_pp2/ref_out")] {
            let back = s.path("back")
            try Self.run("mm_to_hf", source, back, ["--cfg.hf_dir", Self.input])
            try Converters.assertSameFiles(back, Self.input, "mm_to_hf of \(source)")
        }
    }

    /// §11.2: norm1.linear chunk rows a0..a5, norm2.linear b0..b5 -> [a0 a1 a2 b0 b1 b2 a3 a4 a5 b3 b4 b5];
    /// at TP 2 rank 0 holds the first six; qkv at TP 2: [q_r; k_r; v_r].
    func testModulationAndQKVOrder() throws {
        let s = Converters.Scratch()
        let hf = try HFCheckpoint.load(Self.input).tensors
        let tp1 = s.path("tp1"), tp2 = s.path("tp2")
        try Self.run("hf_to_mm", Self.input, tp1)
        try Self.run("hf_to_mm", Self.input, tp2, Self.layout(tp: 2, pp: "[]"))
        let one = try MMCheckpointReader.load(tp1).ranks[0].chunks[0]
        let a = try hf["transformer_blocks.7.norm1.linear.weight"]!.chunk(6, dim: 0), b = try hf["transformer_blocks.7.norm2.linear.weight"]!.chunk(6, dim: 0)
        let order = [a[0], a[1], a[2], b[0], b[1], b[2], a[3], a[4], a[5], b[3], b[4], b[5]]
        XCTAssertEqual(try one["videodit_blocks.7.scale_shift_table.1.weight"]?.sha256(), try Tensor.concat(order, dim: 0).sha256())
        let two = try MMCheckpointReader.load(tp2).ranks.map { $0.chunks[0] }
        XCTAssertEqual(try two[0]["videodit_blocks.7.scale_shift_table.1.weight"]?.sha256(), try Tensor.concat(Array(order[0..<6]), dim: 0).sha256())
        XCTAssertEqual(try two[1]["videodit_blocks.7.scale_shift_table.1.weight"]?.sha256(), try Tensor.concat(Array(order[6...]), dim: 0).sha256())
        for r in 0..<2 {
            let parts = try ["q", "k", "v"].map { try hf["transformer_blocks.3.attn1.to_\($0).bias"]!.chunk(2, dim: 0)[r] }
            XCTAssertEqual(try two[r]["videodit_blocks.3.self_atten.proj_qkv.bias"]?.sha256(), try Tensor.concat(parts, dim: 0).sha256())
        }
        // resplit tp2 -> tp1 and tp1 -> tp2 / pp equal the direct conversions.
        let back1 = s.path("back1"), back2 = s.path("back2")
        try Self.run("resplit", tp2, back1)
        Converters.assertEqual(try Converters.summary(ofMM: back1, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "resplit tp2 -> tp1")
        try Self.run("resplit", tp1, back2, Self.layout(tp: 2, pp: "[20,22]"))
        Converters.assertEqual(try Converters.summary(ofMM: back2), try Converters.summary(ofManifest: WanConverterTests.sora("cogvideox_tp2_pp2/ref_out.manifest.json")), "resplit tp1 -> tp2 pp2")
        // PP + TP back to PP-less TP 1 (the reference fails with IndexError, §9 Q1, or concatenates copies, Q2).
        let back3 = s.path("back3")
        try Self.run("resplit", back2, back3)
        Converters.assertEqual(try Converters.summary(ofMM: back3, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "resplit tp2 pp2 -> tp1")
    }

    func testRefusals() throws {
        let s = Converters.Scratch()
        for (extra, message) in [(Self.layout(tp: 4, pp: "[]"), "the 2 attention heads do not split over tp_size=4"),
                                 (Self.layout(tp: 1, pp: "[20,20]"), "add up to 40, but the model has 42 blocks"),
                                 (Self.layout(tp: 1, pp: "[42,0]"), "has a stage with no blocks")] {
            let out = s.path("bad")
            let r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", Self.input, "--cfg.target_path", out] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }
}
