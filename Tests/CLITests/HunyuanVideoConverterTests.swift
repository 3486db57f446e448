import Foundation
import XCTest
@testable import Ops

/// HunyuanVideoConverter (sora.md §7.4) on a tiny checkpoint with the original release's names
/// (no shared fixture exists): renames, the linear1 split, the TP patterns of §5.1 / §11.2, resplit
/// both ways, and what is refused.
final class HunyuanVideoConverterTests: XCTestCase {
    static let converter = "HunyuanVideoConverter"
    // Width 8 = 2 heads x 4, MLP 32, 2 double and 2 single blocks.
    static let h = 8, m = 32, headDim = 4

    /// The original DiT's state dict (t2v has guidance_in, i2v does not).
    static func tensors(i2v: Bool = false) throws -> TensorMap {
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 16, seed: 5)
        var t = TensorMap()
        func add(_ n: String, _ s: [Int]) throws { t[n] = try pool.tensor(n, s) }
        func linear(_ n: String, _ o: Int, _ i: Int) throws { try add(n + ".weight", [o, i]); try add(n + ".bias", [o]) }
        try add("img_in.proj.weight", [h, 4, 1, 2, 2]); try add("img_in.proj.bias", [h])
        try linear("txt_in.input_embedder", h, 6)
        try linear("txt_in.t_embedder.mlp.0", h, 16); try linear("txt_in.t_embedder.mlp.2", h, h)
        try linear("txt_in.c_embedder.linear_1", h, 6); try linear("txt_in.c_embedder.linear_2", h, h)
        let r = "txt_in.individual_token_refiner.blocks.0."
        try add(r + "norm1.weight", [h]); try add(r + "norm1.bias", [h])
        try linear(r + "self_attn_qkv", 3 * h, h); try linear(r + "self_attn_proj", h, h)
        try add(r + "norm2.weight", [h]); try add(r + "norm2.bias", [h])
        try linear(r + "mlp.fc1", 4 * h, h); try linear(r + "mlp.fc2", h, 4 * h); try linear(r + "adaLN_modulation.1", 2 * h, h)
        try linear("time_in.mlp.0", h, 16); try linear("time_in.mlp.2", h, h)
        try linear("vector_in.in_layer", h, 10); try linear("vector_in.out_layer", h, h)
        if !i2v { try linear("guidance_in.mlp.0", h, 16); try linear("guidance_in.mlp.2", h, h) }
        for l in 0..<2 {
            for s in ["img", "txt"] {
                let p = "double_blocks.\(l).\(s)_"
                try linear(p + "mod.linear", 6 * h, h); try linear(p + "attn_qkv", 3 * h, h)
                try add(p + "attn_q_norm.weight", [headDim]); try add(p + "attn_k_norm.weight", [headDim])
                try linear(p + "attn_proj", h, h); try linear(p + "mlp.fc1", m, h); try linear(p + "mlp.fc2", h, m)
            }
            let p = "single_blocks.\(l)."
            try linear(p + "linear1", 3 * h + m, h); try linear(p + "linear2", h, h + m)
            try add(p + "q_norm.weight", [headDim]); try add(p + "k_norm.weight", [headDim])
            try linear(p + "modulation.linear", 3 * h, h)
        }
        try linear("final_layer.linear", 16, h); try linear("final_layer.adaLN_modulation.1", 2 * h, h)
        return t
    }

    /// `{"module": state dict}` as DeepSpeed saves model states.
    static func writeModelStates(_ t: TensorMap, to path: String) throws {
        let sd = PickleValue.dict(PickleDict(strings: t.map { ($0.name, .tensor(TorchTensor($0.tensor))) }))
        try TorchCheckpoint.save(.dict(PickleDict(strings: [("module", sd)])), to: path)
    }

    @discardableResult
    static func run(_ op: String, _ source: String, _ target: String, version: String? = nil, _ extra: [String] = []) throws -> [String] {
        try Converters.run([converter] + (version.map { ["--version", $0] } ?? []) + [op, "--cfg.source_path", source, "--cfg.target_path", target] + extra)
    }

    static func tp(_ n: Int) -> [String] { ["--cfg.target_parallel_config.tp_size", String(n)] }

    func sha(_ t: Tensor) throws -> String { try t.sha256() }

    func testSourceToMMRenamesAndSplitsLinear1() throws {
        let s = Converters.Scratch()
        let src = s.path("hyv") + ".pt"
        let input = try Self.tensors()
        try Self.writeModelStates(input, to: src)
        let out = s.path("mm")
        try Self.run("source_to_mm", src, out)
        let ckpt = try MMCheckpointReader.load(out)
        XCTAssertEqual(try Converters.files(out + "/release"), ["mp_rank_00/model_optim_rng.pt"])
        let mm = ckpt.ranks[0].chunks[0]
        XCTAssertEqual(mm.count, input.count + 4)  // linear1 -> linear1_qkv + linear1_mlp: 2 blocks x (weight, bias)
        for (from, to) in [("txt_in.t_embedder.mlp.2.weight", "txt_in.t_embedder.time_embed.2.weight"), ("time_in.mlp.0.bias", "time_in.time_embed.0.bias"),
                           ("guidance_in.mlp.2.weight", "guidance_in.time_embed.2.weight"), ("vector_in.in_layer.weight", "vector_in.fc1.weight"),
                           ("vector_in.out_layer.bias", "vector_in.fc2.bias"), ("final_layer.linear.weight", "proj_out.weight"),
                           ("final_layer.adaLN_modulation.1.bias", "adaLN_modulation.1.bias"), ("img_in.proj.weight", "img_in.proj.weight"),
                           ("double_blocks.1.txt_attn_qkv.weight", "double_blocks.1.txt_attn_qkv.weight"),
                           ("txt_in.individual_token_refiner.blocks.0.self_attn_qkv.bias", "txt_in.individual_token_refiner.blocks.0.self_attn_qkv.bias")] {
            XCTAssertEqual(try mm[to].map(sha), try sha(input[from]!), "\(from) -> \(to)")
        }
        let l1 = input["single_blocks.1.linear1.weight"]!
        let parts = try l1.split(sizes: [3 * Self.h, Self.m], dim: 0)
        XCTAssertEqual(mm["single_blocks.1.linear1_qkv.weight"]?.shape, [24, 8])
        XCTAssertEqual(try mm["single_blocks.1.linear1_qkv.weight"].map(sha), try sha(parts[0]))
        XCTAssertEqual(try mm["single_blocks.1.linear1_mlp.weight"].map(sha), try sha(parts[1]))
        XCTAssertEqual(try mm["single_blocks.0.linear1_mlp.bias"].map(sha), try sha(try input["single_blocks.0.linear1.bias"]!.split(sizes: [24, 32], dim: 0)[1]))
        XCTAssertNil(mm["single_blocks.0.linear1.weight"])
        // The same from one .safetensors file.
        let st = s.path("hyv") + ".safetensors"
        _ = try SafetensorsWriter.write(input, metadata: nil, to: st)
        let out2 = s.path("mm2")
        try Self.run("source_to_mm", st, out2)
        Converters.assertEqual(try Converters.summary(ofMM: out2, bytes: true), try Converters.summary(ofMM: out, bytes: true), "safetensors input")
    }

    /// TP 2 by §5.1 / §11.2: column (rows), row (columns), qkv-fused, x||mlp fused row; resplit
    /// 2 -> 1 equals the direct TP 1 conversion and 1 -> 2 the direct TP 2 one.
    func testTensorParallelPatternsAndResplit() throws {
        let s = Converters.Scratch()
        let src = s.path("hyv") + ".pt"
        let input = try Self.tensors()
        try Self.writeModelStates(input, to: src)
        let tp1 = s.path("tp1"), tp2 = s.path("tp2")
        try Self.run("source_to_mm", src, tp1)
        try Self.run("source_to_mm", src, tp2, Self.tp(2))
        let ranks = try MMCheckpointReader.load(tp2).ranks.map { $0.chunks[0] }
        XCTAssertEqual(ranks.count, 2)
        for r in 0..<2 {
            let mine = ranks[r]
            // column: rows
            XCTAssertEqual(try mine["double_blocks.0.img_mod.linear.weight"].map(sha), try sha(try input["double_blocks.0.img_mod.linear.weight"]!.chunk(2, dim: 0)[r]))
            XCTAssertEqual(try mine["proj_out.bias"].map(sha), try sha(try input["final_layer.linear.bias"]!.chunk(2, dim: 0)[r]))
            // row: columns; its bias replicated
            XCTAssertEqual(try mine["double_blocks.1.txt_mlp.fc2.weight"].map(sha), try sha(try input["double_blocks.1.txt_mlp.fc2.weight"]!.chunk(2, dim: 1)[r]))
            XCTAssertEqual(try mine["double_blocks.1.txt_mlp.fc2.bias"].map(sha), try sha(input["double_blocks.1.txt_mlp.fc2.bias"]!))
            // qkv-fused: [q_r; k_r; v_r]
            let qkv = try input["double_blocks.0.txt_attn_qkv.weight"]!.chunk(3, dim: 0).map { try $0.chunk(2, dim: 0)[r] }
            XCTAssertEqual(try mine["double_blocks.0.txt_attn_qkv.weight"].map(sha), try sha(try Tensor.concat(qkv, dim: 0)))
            let l1 = try input["single_blocks.0.linear1.weight"]!.split(sizes: [24, 32], dim: 0)
            let l1qkv = try l1[0].chunk(3, dim: 0).map { try $0.chunk(2, dim: 0)[r] }
            XCTAssertEqual(try mine["single_blocks.0.linear1_qkv.weight"].map(sha), try sha(try Tensor.concat(l1qkv, dim: 0)))
            XCTAssertEqual(try mine["single_blocks.0.linear1_mlp.weight"].map(sha), try sha(try l1[1].chunk(2, dim: 0)[r]))
            // x || mlp fused row: [x_r | mlp_r] along columns
            let l2 = try input["single_blocks.1.linear2.weight"]!.split(sizes: [8, 32], dim: 1).map { try $0.chunk(2, dim: 1)[r] }
            XCTAssertEqual(mine["single_blocks.1.linear2.weight"]?.shape, [8, 20])
            XCTAssertEqual(try mine["single_blocks.1.linear2.weight"].map(sha), try sha(try Tensor.concat(l2, dim: 1)))
            // replicated
            XCTAssertEqual(try mine["single_blocks.1.linear2.bias"].map(sha), try sha(input["single_blocks.1.linear2.bias"]!))
            XCTAssertEqual(try mine["txt_in.individual_token_refiner.blocks.0.self_attn_qkv.weight"].map(sha),
                           try sha(input["txt_in.individual_token_refiner.blocks.0.self_attn_qkv.weight"]!))
        }
        let back1 = s.path("back1"), back2 = s.path("back2")
        try Self.run("resplit", tp2, back1)
        Converters.assertEqual(try Converters.summary(ofMM: back1, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "resplit tp2 -> tp1")
        try Self.run("resplit", tp1, back2, Self.tp(2))
        Converters.assertEqual(try Converters.summary(ofMM: back2, bytes: true), try Converters.summary(ofMM: tp2, bytes: true), "resplit tp1 -> tp2")
        // mm_to_source: the original {"module": state dict} back from TP 2, linear1 fused again.
        let orig = s.path("orig") + ".pt"
        try Self.run("mm_to_source", tp2, orig)
        let root = try TorchCheckpoint.load(orig)
        XCTAssertEqual(root.dictValue?.items.map { PickleValue.keyText($0.key) }, ["module"])
        let back = try StateDictSelection.select(root, key: "module", path: orig).tensors
        XCTAssertEqual(Set(back.names), Set(input.names))
        for (name, t) in input {
            XCTAssertEqual(back[name]?.dtype, t.dtype, name)
            XCTAssertEqual(back[name]?.shape, t.shape, name)
            XCTAssertEqual(try back[name].map(sha), try sha(t), name)
        }
    }

    /// i2v (no guidance_in) converts at TP 2 too (the reference refuses TP for i2v although its
    /// layers split by the same rules); `--version` is an init option, before the operation.
    func testI2VWithTPAndRefusals() throws {
        let s = Converters.Scratch()
        let src = s.path("i2v") + ".pt"
        try Self.writeModelStates(try Self.tensors(i2v: true), to: src)
        let out = s.path("i2v-tp2")
        try Self.run("source_to_mm", src, out, version: "i2v", Self.tp(2))
        XCTAssertEqual(try MMCheckpointReader.load(out).tpSize, 2)
        let t2v = s.path("t2v") + ".pt"
        try Self.writeModelStates(try Self.tensors(), to: t2v)
        for (version, extra, message) in [("t2v", Self.tp(4), "the 2 attention heads do not split over tp_size=4"),
                                          ("t2v", WanConverterTests.pp("[1,1]"), "HunyuanVideo converts without pipeline parallelism"),
                                          ("t2v-lora", [], "--version t2v-lora: HunyuanVideoConverter converts t2v, i2v and i2v-lora checkpoints")] {
            let target = s.path("bad")
            let r = Converters.runFailing([Self.converter, "--version", version, "source_to_mm", "--cfg.source_path", t2v, "--cfg.target_path", target] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        }
        // A tensor of another model is refused by name.
        var odd = try Self.tensors()
        odd["final_layer.norm_final.weight"] = odd["img_in.proj.bias"]
        let oddPath = s.path("odd") + ".pt"
        try Self.writeModelStates(odd, to: oddPath)
        let r = Converters.runFailing([Self.converter, "source_to_mm", "--cfg.source_path", oddPath, "--cfg.target_path", s.path("x")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("final_layer.norm_final.weight"), r.text)
    }

    /// i2v-lora: kohya names -> MindSpeed-MM LoRA names (§7.4.3, the examples there), alphas
    /// dropped, linear1's lora_A stored for linear1_qkv and linear1_mlp, its lora_B split by rows.
    func testI2VLoRA() throws {
        let s = Converters.Scratch()
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 14, seed: 9)
        let k = "Hunyuan_video_I2V_lora_", r = 2
        var t = TensorMap()
        func pair(_ module: String, out: Int, in inp: Int) throws {
            t[k + module + ".lora_down.weight"] = try pool.tensor(module + "d", [r, inp])
            t[k + module + ".lora_up.weight"] = try pool.tensor(module + "u", [out, r])
            t[k + module + ".alpha"] = try pool.tensor(module + "a", [])
        }
        for l in 0..<2 {
            for st in ["img", "txt"] {
                try pair("double_blocks_\(l)_\(st)_attn_qkv", out: 3 * Self.h, in: Self.h)
                try pair("double_blocks_\(l)_\(st)_attn_proj", out: Self.h, in: Self.h)
                try pair("double_blocks_\(l)_\(st)_mlp_fc1", out: Self.m, in: Self.h)
                try pair("double_blocks_\(l)_\(st)_mlp_fc2", out: Self.h, in: Self.m)
                try pair("double_blocks_\(l)_\(st)_mod_linear", out: 6 * Self.h, in: Self.h)
            }
            try pair("single_blocks_\(l)_linear1", out: 3 * Self.h + Self.m, in: Self.h)
            try pair("single_blocks_\(l)_linear2", out: Self.h, in: Self.h + Self.m)
            try pair("single_blocks_\(l)_modulation_linear", out: 3 * Self.h, in: Self.h)
        }
        try pair("vector_in_in_layer", out: Self.h, in: 10)
        try pair("final_layer_linear", out: 16, in: Self.h)
        let src = s.path("lora") + ".safetensors"
        _ = try SafetensorsWriter.write(t, metadata: nil, to: src)
        let out = s.path("mm")
        try Self.run("source_to_mm", src, out, version: "i2v-lora")
        // merge_lora_to_base into an i2v base split over TP 2: every LoRA layer merged (28
        // modules, linear1 as linear1_qkv and linear1_mlp: 30 base tensors changed), written at TP 2.
        let baseSrc = s.path("i2v") + ".pt"
        try Self.writeModelStates(try Self.tensors(i2v: true), to: baseSrc)
        let base = s.path("base"), base1 = s.path("base1"), merged = s.path("merged")
        try Self.run("source_to_mm", baseSrc, base, version: "i2v", Self.tp(2))
        try Self.run("source_to_mm", baseSrc, base1, version: "i2v")
        try Self.run("merge_lora_to_base", base, merged, version: "i2v", ["--cfg.lora_path", out, "--lora_alpha", "2", "--lora_rank", "2"] + Self.tp(2))
        let back = s.path("merged-tp1")
        try Self.run("resplit", merged, back, version: "i2v")
        let before = try MMCheckpointReader.load(base1).ranks[0].chunks[0], after = try MMCheckpointReader.load(back).ranks[0].chunks[0]
        var changed: [String] = []
        for (name, t) in before where try after[name]!.sha256() != t.sha256() { changed.append(name) }
        XCTAssertEqual(changed.count, 30, changed.sorted().joined(separator: " "))
        XCTAssertTrue(changed.contains("single_blocks.1.linear1_mlp.weight") && changed.contains("proj_out.weight"))
        XCTAssertFalse(changed.contains { $0.hasSuffix(".bias") })
        let mm = try MMCheckpointReader.load(out).ranks[0].chunks[0]
        XCTAssertEqual(mm.count, (2 * 10 + 3 * 2 + 2) * 2 + 2 * 2)
        XCTAssertEqual(try mm["double_blocks.0.txt_mod.linear.lora_B.default.weight"].map(sha), try sha(t[k + "double_blocks_0_txt_mod_linear.lora_up.weight"]!))
        XCTAssertEqual(try mm["single_blocks.1.modulation.linear.lora_A.default.weight"].map(sha), try sha(t[k + "single_blocks_1_modulation_linear.lora_down.weight"]!))
        XCTAssertEqual(try mm["double_blocks.1.img_mlp.fc2.lora_A.default.weight"].map(sha), try sha(t[k + "double_blocks_1_img_mlp_fc2.lora_down.weight"]!))
        XCTAssertEqual(try mm["vector_in.fc1.lora_B.default.weight"].map(sha), try sha(t[k + "vector_in_in_layer.lora_up.weight"]!))
        XCTAssertEqual(try mm["proj_out.lora_A.default.weight"].map(sha), try sha(t[k + "final_layer_linear.lora_down.weight"]!))
        let down = t[k + "single_blocks_1_linear1.lora_down.weight"]!, up = try t[k + "single_blocks_1_linear1.lora_up.weight"]!.split(sizes: [24, 32], dim: 0)
        XCTAssertEqual(try mm["single_blocks.1.linear1_qkv.lora_A.default.weight"].map(sha), try sha(down))
        XCTAssertEqual(try mm["single_blocks.1.linear1_mlp.lora_A.default.weight"].map(sha), try sha(down))
        XCTAssertEqual(mm["single_blocks.1.linear1_qkv.lora_B.default.weight"]?.shape, [24, 2])
        XCTAssertEqual(try mm["single_blocks.1.linear1_qkv.lora_B.default.weight"].map(sha), try sha(up[0]))
        XCTAssertEqual(try mm["single_blocks.1.linear1_mlp.lora_B.default.weight"].map(sha), try sha(up[1]))
        XCTAssertFalse(mm.names.contains { $0.contains("alpha") || $0.hasPrefix("Hunyuan") })
        // TP is refused for a LoRA (as by the reference); an unknown kohya key is refused by name.
        let r1 = Converters.runFailing([Self.converter, "--version", "i2v-lora", "source_to_mm", "--cfg.source_path", src, "--cfg.target_path", s.path("x")] + Self.tp(2))
        XCTAssertEqual(r1.status, 1)
        XCTAssertTrue(r1.text.contains("tp_size must be 1"), r1.text)
        t[k + "img_in_proj.lora_down.weight"] = try pool.tensor("x", [r, 8])
        let odd = s.path("odd") + ".safetensors"
        _ = try SafetensorsWriter.write(t, metadata: nil, to: odd)
        let r2 = Converters.runFailing([Self.converter, "--version", "i2v-lora", "source_to_mm", "--cfg.source_path", odd, "--cfg.target_path", s.path("y")])
        XCTAssertEqual(r2.status, 1)
        XCTAssertTrue(r2.text.contains("Hunyuan_video_I2V_lora_img_in_proj.lora_down.weight"), r2.text)
    }
}
