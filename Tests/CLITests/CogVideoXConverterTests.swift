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

    /// source_to_mm of a SAT checkpoint (`{"module": ...}`, SAT names, already fused) gives what
    /// hf_to_mm gives for the same weights, at TP 1 and at the golden's TP 2 / PP [20,22]; the SAT
    /// position table is dropped by name, any other unknown SAT tensor refused.
    func testSATSourceToMM() throws {
        let s = Converters.Scratch()
        let tp1 = s.path("tp1")
        try Self.run("hf_to_mm", Self.input, tp1)
        let mm = try MMCheckpointReader.load(tp1).ranks[0].chunks[0]
        let p = "model.diffusion_model."
        func sat(_ n: String) -> String {
            let table: [(String, String)] = [
                ("time_embed.time_embed.", "time_embed."), ("patch_embed.proj.", "mixins.patch_embed.proj."),
                ("caption_projection.", "mixins.patch_embed.text_proj."), ("norm_final.", "transformer.final_layernorm."),
                ("norm_out.", "mixins.final_layer.norm_final."), ("proj_out_linear.", "mixins.final_layer.linear."),
                ("adaLN_modulation.1.", "mixins.final_layer.adaLN_modulation.1."),
            ]
            for (a, b) in table where n.hasPrefix(a) { return p + b + n.dropFirst(a.count) }
            let parts = n.split(separator: ".", maxSplits: 2).map(String.init)  // videodit_blocks, L, rest
            let (l, rest) = (parts[1], parts[2])
            let block: [(String, String)] = [
                ("scale_shift_table.1.", "mixins.adaln_layer.adaLN_modulations.\(l).1."), ("self_atten.q_norm.", "mixins.adaln_layer.query_layernorm_list.\(l)."),
                ("self_atten.k_norm.", "mixins.adaln_layer.key_layernorm_list.\(l)."), ("norm1.", "transformer.layers.\(l).input_layernorm."),
                ("norm2.", "transformer.layers.\(l).post_attention_layernorm."), ("self_atten.proj_qkv.", "transformer.layers.\(l).attention.query_key_value."),
                ("self_atten.proj_out.", "transformer.layers.\(l).attention.dense."), ("ff.net.0.proj.", "transformer.layers.\(l).mlp.dense_h_to_4h."),
                ("ff.net.2.", "transformer.layers.\(l).mlp.dense_4h_to_h."),
            ]
            for (a, b) in block where rest.hasPrefix(a) { return p + b + rest.dropFirst(a.count) }
            XCTFail("no SAT name for \(n)")
            return n
        }
        var module = TensorMap(mm.map { (sat($0.name), $0.tensor) })
        module[p + "transformer.position_embeddings.weight"] = mm["patch_embed.proj.weight"]
        let src = s.path("sat") + ".pt"
        try HunyuanVideoConverterTests.writeModelStates(module, to: src)
        let out = s.path("out")
        try Self.run("source_to_mm", src, out)
        Converters.assertEqual(try Converters.summary(ofMM: out, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "SAT -> MM")
        let out2 = s.path("out2")
        try Self.run("source_to_mm", src, out2, Self.layout(tp: 2, pp: "[20,22]"))
        Converters.assertEqual(try Converters.summary(ofMM: out2), try Converters.summary(ofManifest: WanConverterTests.sora("cogvideox_tp2_pp2/ref_out.manifest.json")), "SAT -> tp2 pp2")
        module[p + "mixins.unknown.weight"] = mm["patch_embed.proj.weight"]
        let odd = s.path("odd") + ".pt"
        try HunyuanVideoConverterTests.writeModelStates(module, to: odd)
        let r = Converters.runFailing([Self.converter, "source_to_mm", "--cfg.source_path", odd, "--cfg.target_path", s.path("x")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("model.diffusion_model.mixins.unknown.weight"), r.text)
    }

    /// `mm-convert sample cogvideox`: the tiny preset is the fixture's model (names, dtypes, shapes,
    /// config.json byte for byte; one file), and converts both ways; `5b` is CogVideoX1.5-5B's shape.
    func testSample() throws {
        let s = Converters.Scratch()
        let dir = s.path("cog")
        try Converters.run(["sample", "cogvideox", dir])
        XCTAssertEqual(try Converters.files(dir), ["config.json", "diffusion_pytorch_model.safetensors"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/config.json"), FileManager.default.contents(atPath: Self.input + "/config.json"))
        let mine = try HFCheckpoint.load(dir).tensors, ref = try HFCheckpoint.load(Self.input).tensors
        XCTAssertEqual(Set(mine.names).symmetricDifference(ref.names).sorted(), [])
        for (n, t) in ref { XCTAssertEqual(mine[n]?.shape, t.shape, n); XCTAssertEqual(mine[n]?.dtype, t.dtype, n) }
        let mm = s.path("mm"), back = s.path("back")
        try Self.run("hf_to_mm", dir, mm, Self.layout(tp: 2, pp: "[[10,11],[10,11]]"))
        try Self.run("mm_to_hf", mm, back, ["--cfg.hf_dir", dir])
        try Converters.assertSameFiles(back, dir, "sample round trip")
        let big = try SampleFixture.tensors(.cogvideox, "5b")
        XCTAssertEqual(big["transformer_blocks.41.norm1.linear.weight"]?.shape, [18432, 512])
        XCTAssertEqual(big["patch_embed.proj.weight"]?.shape, [3072, 128])
        XCTAssertEqual(big["proj_out.weight"]?.shape, [128, 3072])
    }
}

extension CogVideoXConverterTests {
    /// merge_lora_to_base (the reference merges nothing, §9 Q11): a MindSpeed-MM LoRA checkpoint
    /// split over PP [20,22] (as training with PP saves it: `model` per stage, blocks numbered
    /// from 0 on each; the stage sizes read from the files) merged into a base at TP 2 / PP [20,22]; every pair merged, W + alpha /
    /// rank * B @ A (the shared merge), nothing else changed, written at TP 1.
    func testMergeLoRAToBase() throws {
        let s = Converters.Scratch()
        let base = s.path("base"), tp1 = s.path("tp1"), merged = s.path("merged")
        try Self.run("hf_to_mm", Self.input, base, Self.layout(tp: 2, pp: "[20,22]"))
        try Self.run("hf_to_mm", Self.input, tp1)
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 14, seed: 31)
        let r = 2, d = 8
        // (stage, local block, module, out, in): proj_qkv and proj_out of every block (what
        // MindSpeed-MM's CogVideoX LoRA example trains), and one ff.net.2.
        var pairs: [(Int, Int, String, Int, Int)] = [(1, 5, "ff.net.2", d, 4 * d)]
        for (st, n) in [(0, 20), (1, 22)] {
            for l in 0..<n { pairs += [(st, l, "self_atten.proj_qkv", 3 * d, d), (st, l, "self_atten.proj_out", d, d)] }
        }
        var stages = [TensorMap(), TensorMap()]
        var lora: [String: (a: Tensor, b: Tensor)] = [:]
        for (st, l, m, o, i) in pairs {
            let local = "videodit_blocks.\(l).\(m)", global = "videodit_blocks.\(l + 20 * st).\(m)"
            let a = try pool.tensor(global + "A", [r, i]), b = try pool.tensor(global + "B", [o, r])
            stages[st][local + ".lora_A.default.weight"] = a
            stages[st][local + ".lora_B.default.weight"] = b
            lora[global] = (a, b)
        }
        let loraDir = s.path("lora")
        for (st, m) in stages.enumerated() {
            let dir = loraDir + "/release/mp_rank_00_00\(st)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let sd = PickleValue.dict(PickleDict(strings: m.map { ($0.name, .tensor(TorchTensor($0.tensor))) }))
            try TorchCheckpoint.save(.dict(PickleDict(strings: [("model", sd)])), to: dir + "/model_optim_rng.pt")
        }
        try Data("release".utf8).write(to: URL(fileURLWithPath: loraDir + "/latest_checkpointed_iteration.txt"))
        try Self.run("merge_lora_to_base", base, merged, ["--cfg.lora_path", loraDir, "--lora_alpha", "4", "--lora_rank", "2", "--use_npu", "false"])
        XCTAssertEqual(try Converters.files(merged + "/release"), ["mp_rank_00/model_optim_rng.pt"])
        let before = try MMCheckpointReader.load(tp1).ranks[0].chunks[0], after = try MMCheckpointReader.load(merged).ranks[0].chunks[0]
        XCTAssertEqual(Set(after.names), Set(before.names))
        var changed: [String] = []
        for (name, t) in before where try after[name]!.sha256() != t.sha256() { changed.append(name) }
        XCTAssertEqual(changed.sorted(), lora.keys.map { $0 + ".weight" }.sorted())
        for (layer, ab) in lora {
            let w = before[layer + ".weight"]!
            let expected = try LoRAMerge.merged(w, a: ab.a, b: ab.b, scaling: 2.0, name: layer)
            XCTAssertEqual(try after[layer + ".weight"]!.sha256(), try expected.sha256(), layer)
            XCTAssertEqual(after[layer + ".weight"]!.dtype, .bf16)
        }
        // Refused: --lora_rank 0 (the reference: ValueError), and a pair without a base layer.
        let bad = Converters.runFailing([Self.converter, "merge_lora_to_base", "--cfg.source_path", base, "--cfg.lora_path", loraDir,
                                         "--cfg.target_path", s.path("x"), "--lora_rank", "0"])
        XCTAssertEqual(bad.status, 1, bad.text)
        XCTAssertTrue(bad.text.contains("--lora_rank must be > 0"), bad.text)
    }
}
