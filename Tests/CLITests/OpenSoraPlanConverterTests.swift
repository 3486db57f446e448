import Foundation
import XCTest
@testable import Ops

/// OpenSoraPlanConverter v1.2 / v1.3 (sora.md §7.5.1) on a tiny folder with the release's names
/// (no shared fixture): renames, TP by the reference's table, PP / VPP placement, mm_to_hf back to
/// the input byte for byte (the reference has none), resplit (the reference concatenates copies
/// from VPP checkpoints, §9 Q2).
final class OpenSoraPlanConverterTests: XCTestCase {
    static let converter = "OpenSoraPlanConverter"

    static func folder(in s: Converters.Scratch) throws -> String {
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 15, seed: 13)
        var t = TensorMap()
        let d = 8
        func add(_ n: String, _ shape: [Int]) throws { t[n] = try pool.tensor(n, shape) }
        func linear(_ n: String, _ o: Int, _ i: Int) throws { try add(n + ".weight", [o, i]); try add(n + ".bias", [o]) }
        try add("pos_embed.proj.weight", [d, 4, 2, 2]); try add("pos_embed.proj.bias", [d])
        try linear("adaln_single.emb.timestep_embedder.linear_1", d, 16); try linear("adaln_single.emb.timestep_embedder.linear_2", d, d)
        try linear("adaln_single.linear", 6 * d, d)
        try linear("caption_projection.linear_1", d, 12); try linear("caption_projection.linear_2", d, d)
        for l in 0..<4 {
            let p = "transformer_blocks.\(l)."
            for a in ["attn1", "attn2"] {
                for x in ["to_q", "to_k", "to_v", "to_out.0"] { try linear(p + a + "." + x, d, d) }
            }
            try add(p + "norm1.weight", [d]); try add(p + "norm1.bias", [d]); try add(p + "norm2.weight", [d])
            try linear(p + "ff.net.0.proj", 4 * d, d); try linear(p + "ff.net.2", d, 4 * d)
            try add(p + "scale_shift_table", [6, d])
        }
        try add("scale_shift_table", [2, d]); try linear("proj_out", 16, d)
        let dir = s.path("osp")
        _ = try HFCheckpoint.save(t, to: dir, maxShardBytes: 1 << 30, sideFiles: [
            "config.json": Array(#"{"_class_name": "OpenSoraT2V_v1_3", "num_layers": 4, "num_attention_heads": 2, "attention_head_dim": 4}"#.utf8),
        ], diffusers: true)
        return dir
    }

    @discardableResult
    static func run(_ version: String, _ op: String, _ source: String, _ target: String, _ extra: [String] = []) throws -> [String] {
        try Converters.run([converter, "--version", version, op, "--cfg.source_path", source, "--cfg.target_path", target] + extra)
    }

    func testV13TPVPPRoundTripAndResplit() throws {
        let s = Converters.Scratch()
        let hf = try Self.folder(in: s)
        let mm = s.path("mm"), tp1 = s.path("tp1")
        try Self.run("v1.3", "hf_to_mm", hf, mm, ["--cfg.target_parallel_config.tp_size", "2", "--cfg.target_parallel_config.pp_layers", "[[1,1],[1,1]]"])
        XCTAssertEqual(try Converters.files(mm + "/release"), ["mp_rank_00_000/model_optim_rng.pt", "mp_rank_00_001/model_optim_rng.pt",
                                                              "mp_rank_01_000/model_optim_rng.pt", "mp_rank_01_001/model_optim_rng.pt"])
        let ck = try MMCheckpointReader.load(mm)
        XCTAssertEqual(ck.vppSize, 2)
        let r0 = ck.rank(MMRank(tp: 1, pp: 0))!.chunks[0], last = ck.rank(MMRank(tp: 0, pp: 1))!.chunks[1]
        XCTAssertEqual(r0["videodit_sparse_blocks.0.self_atten.proj_q.weight"]?.shape, [4, 8])
        XCTAssertEqual(r0["videodit_sparse_blocks.0.cross_atten.proj_out.weight"]?.shape, [8, 4])
        XCTAssertEqual(r0["videodit_sparse_blocks.0.ff.net.0.proj.bias"]?.shape, [16])
        XCTAssertEqual(r0["videodit_sparse_blocks.0.ff.net.2.bias"]?.shape, [8])
        XCTAssertNotNil(r0["adaln_single.linear.weight"])
        XCTAssertNotNil(last["proj_out.weight"]); XCTAssertNotNil(last["scale_shift_table"])
        XCTAssertNotNil(last["videodit_sparse_blocks.0.norm1.weight"])
        let back = s.path("back")
        try Self.run("v1.3", "mm_to_hf", mm, back, ["--cfg.hf_dir", hf])
        try Converters.assertSameFiles(back, hf, "mm_to_hf")
        try Self.run("v1.3", "hf_to_mm", hf, tp1)
        let re = s.path("re")
        try Self.run("v1.3", "resplit", mm, re)
        Converters.assertEqual(try Converters.summary(ofMM: re, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "resplit tp2 vpp -> tp1")
    }

    func testV12AndRefusals() throws {
        let s = Converters.Scratch()
        let hf = try Self.folder(in: s)
        let mm = s.path("mm"), back = s.path("back")
        try Self.run("v1.2", "hf_to_mm", hf, mm, ["--cfg.target_parallel_config.tp_size", "2"])
        XCTAssertNotNil(try MMCheckpointReader.load(mm).ranks[0].chunks[0]["videodit_blocks.3.self_atten.proj_k.bias"])
        try Self.run("v1.2", "mm_to_hf", mm, back, ["--cfg.hf_dir", hf])
        try Converters.assertSameFiles(back, hf, "v1.2 mm_to_hf")
        for (version, extra, message) in [("v1.2", ["--cfg.target_parallel_config.pp_layers", "[2,2]"], "v1.2 converts without pipeline parallelism"),
                                          ("v1.3", ["--cfg.target_parallel_config.tp_size", "4"], "the 2 attention heads do not split over tp_size=4"),
                                          ("v1.5", [], "v1.5's model_ema.pt converts with source_to_mm and back with mm_to_source")] {
            let out = s.path("bad")
            let r = Converters.runFailing([Self.converter, "--version", version, "hf_to_mm", "--cfg.source_path", hf, "--cfg.target_path", out] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }
}

/// LuminaConverter (sora.md §7.6): names unchanged, `_extra_state` dropped, mm_to_hf with a
/// transformers index (the reference needs a diffusers-named one, §9 Q8) gives the folder back.
final class LuminaConverterTests: XCTestCase {
    func testRoundTripWithTransformersIndex() throws {
        let s = Converters.Scratch()
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 14, seed: 17)
        var t = TensorMap()
        try t["model.embed_tokens.weight"] = pool.tensor("e", [32, 8])
        for l in 0..<2 {
            try t["model.layers.\(l).self_attn.qkv_proj.weight"] = pool.tensor("q\(l)", [24, 8])
            try t["model.layers.\(l).mlp.down_proj.weight"] = pool.tensor("d\(l)", [8, 16])
        }
        try t["model.norm.weight"] = pool.tensor("n", [8])
        try t["lm_head.weight"] = pool.tensor("h", [32, 8])
        let hf = s.path("lumina")
        _ = try HFCheckpoint.save(t, to: hf, maxShardBytes: 800, sideFiles: ["config.json": Array(#"{"model_type": "chameleon"}"#.utf8)])
        XCTAssertTrue(FileManager.default.fileExists(atPath: hf + "/model.safetensors.index.json"))
        let mm = s.path("mm"), back = s.path("back")
        try Converters.run(["LuminaConverter", "hf_to_mm", "--cfg.source_path", hf, "--cfg.target_path", mm])
        XCTAssertEqual(Set(try MMCheckpointReader.load(mm).ranks[0].chunks[0].names), Set(t.names))
        try Converters.run(["LuminaConverter", "mm_to_hf", "--cfg.source_path", mm, "--cfg.target_path", back, "--cfg.hf_dir", hf])
        try Converters.assertSameFiles(back, hf, "lumina")
    }
}

/// BagelConverter (sora.md §7.7): the table's renames (the examples of §11.1), from the file or
/// from the release folder (its ema.safetensors; the reference fails on the folder, §9 Q17).
final class BagelConverterTests: XCTestCase {
    func testRenamesFromFileAndFolder() throws {
        let s = Converters.Scratch()
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 14, seed: 19)
        var t = TensorMap()
        for n in ["language_model.model.embed_tokens.weight", "language_model.model.norm_moe_gen.weight", "language_model.lm_head.weight",
                  "language_model.model.layers.30.self_attn.q_proj_moe_gen.bias", "time_embedder.mlp.2.weight", "vae2llm.weight",
                  "vit_pos_embed.pos_embed", "latent_pos_embed.pos_embed", "connector.fc2.bias",
                  "vit_model.vision_model.embeddings.patch_embedding.weight", "vit_model.vision_model.embeddings.position_embedding.weight",
                  "vit_model.vision_model.post_layernorm.bias", "vit_model.vision_model.encoder.layers.1.self_attn.out_proj.bias",
                  "vit_model.vision_model.encoder.layers.1.layer_norm2.weight", "vit_model.vision_model.encoder.layers.0.mlp.fc1.weight"] {
            t[n] = try pool.tensor(n, [4, 2])
        }
        let folder = s.path("BAGEL-7B-MoT")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = try SafetensorsWriter.write(t, metadata: nil, to: folder + "/ema.safetensors")
        _ = try SafetensorsWriter.write(TensorMap([("decoder.conv_in.weight", try pool.tensor("vae", [2, 2]))]), metadata: nil, to: folder + "/ae.safetensors")
        let a = s.path("a"), b = s.path("b")
        try Converters.run(["BagelConverter", "hf_to_mm", "--cfg.source_path", folder + "/ema.safetensors", "--cfg.target_path", a])
        try Converters.run(["BagelConverter", "hf_to_mm", "--cfg.source_path", folder, "--cfg.target_path", b])
        Converters.assertEqual(try Converters.summary(ofMM: b, bytes: true), try Converters.summary(ofMM: a, bytes: true), "folder = file")
        let mm = try MMCheckpointReader.load(a).ranks[0].chunks[0]
        for (from, to) in [("vit_model.vision_model.encoder.layers.1.self_attn.out_proj.bias", "image_encoder.encoder.blocks.1.attn.out_proj.bias"),
                           ("language_model.model.layers.30.self_attn.q_proj_moe_gen.bias", "mllm.decoder.layers.30.self_attn.q_proj_moe_gen.bias"),
                           ("language_model.model.norm_moe_gen.weight", "mllm.decoder.norm_moe_gen.weight"), ("language_model.lm_head.weight", "mllm.lm_head.weight"),
                           ("time_embedder.mlp.2.weight", "mllm.time_embedder.time_embed.2.weight"), ("connector.fc2.bias", "image_encoder.projector.linear_fc2.bias"),
                           ("vit_model.vision_model.post_layernorm.bias", "image_encoder.encoder.norm.bias"), ("latent_pos_embed.pos_embed", "latent_pos_embed.pos_embed"),
                           ("vit_model.vision_model.encoder.layers.1.layer_norm2.weight", "image_encoder.encoder.blocks.1.norm2.weight")] {
            XCTAssertEqual(try mm[to]?.sha256(), try t[from]!.sha256(), "\(from) -> \(to)")
        }
        XCTAssertEqual(mm.count, t.count)
    }
}
