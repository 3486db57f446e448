import Ops
import XCTest

/// MindSpeed-MM's canonical model (`enable_canonical_hf_struct`, reference §7.1/§7.2): the LLM keeps
/// Hugging Face's q/k/v and gate/up projections, the ViT its `[q; k; v]` qkv, and Qwen2.5-VL's ViT
/// its gate and up projections. hf_to_mm splits them by rows, the ViT qkv by heads of each block
/// (§9 Q6); mm_to_hf gives back the original byte for byte.
final class CanonicalStructureTests: XCTestCase {
    override class func tearDown() { Converters.removeSamples() }

    let canonical = ["--cfg.common_model_config.enable_canonical_hf_struct", "true"]

    func rank(_ mm: String, tp: Int, pp: Int) throws -> TensorMap {
        let ckpt = try MMCheckpointReader.load(mm)
        let r = try XCTUnwrap(ckpt.ranks.first { $0.rank.tp == tp && $0.rank.pp == pp })
        return r.chunks[0]
    }

    func bytes(_ t: Tensor?) throws -> Data { try Converters.content(try XCTUnwrap(t)) }

    func testQwen2VLSplitsAndComesBack() throws {
        let s = Converters.Scratch()
        let hfDir = Converters.hf("qwen2vl"), mm = s.path("mm"), back = s.path("hf")
        try Converters.hfToMM("Qwen2VLConverter", hf: hfDir, to: mm, tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]], extra: canonical)
        let hf = try HFCheckpoint.load(hfDir).tensors
        let layer = "text_decoder.decoder.layers.0."
        for tp in 0..<2 {
            let r = try rank(mm, tp: tp, pp: 0)
            XCTAssertFalse(r.names.contains { $0.hasPrefix("text_decoder.") && ($0.contains("linear_qkv") || $0.contains("linear_fc1")) },
                           "no fused LLM projections: \(r.names)")
            // LLM projections: each rank its half of the rows (its heads, its KV groups).
            for hfName in ["q_proj.weight", "q_proj.bias", "k_proj.weight", "v_proj.bias"] {
                let mmName = "self_attention." + hfName
                let full = try XCTUnwrap(hf["model.layers.0.self_attn." + hfName])
                let rows = full.shape[0] / 2
                XCTAssertEqual(try bytes(r[layer + mmName]), try bytes(try full.slice(dim: 0, start: tp * rows, count: rows)), "\(mmName) tp \(tp)")
            }
            for part in ["gate", "up"] {
                let full = try XCTUnwrap(hf["model.layers.0.mlp.\(part)_proj.weight"])
                let rows = full.shape[0] / 2
                XCTAssertEqual(try bytes(r[layer + "mlp.\(part)_proj.weight"]), try bytes(try full.slice(dim: 0, start: tp * rows, count: rows)), "\(part) tp \(tp)")
            }
            // ViT qkv stays [q; k; v] (no per-head interleave); each rank takes its heads of each block.
            for suffix in ["weight", "bias"] {
                let full = try XCTUnwrap(hf["visual.blocks.1.attn.qkv." + suffix])
                let block = full.shape[0] / 3, part = block / 2
                let expected = try Tensor.concat(try (0..<3).map { b in try full.slice(dim: 0, start: b * block + tp * part, count: part) }, dim: 0)
                XCTAssertEqual(try bytes(r["image_encoder.encoder.blocks.layers.1.self_attention.linear_qkv." + suffix]), try bytes(expected), "vit qkv \(suffix) tp \(tp)")
            }
        }
        try Converters.mmToHF("Qwen2VLConverter", mm: mm, hf: hfDir, to: back, tp: 2, extra: canonical)
        try Converters.assertSameFiles(back, hfDir, "canonical Qwen2-VL round trip")
    }

    func testQwen2_5VLKeepsTheViTGateAndUpApart() throws {
        let s = Converters.Scratch()
        let hfDir = try Converters.sample("qwen2_5vl"), mm = s.path("mm"), back = s.path("hf")
        try Converters.hfToMM("Qwen2_5_VLConverter", hf: hfDir, to: mm, tp: 2, llm: [[1, 3]], vit: [[2, 0]], extra: canonical)
        let hf = try HFCheckpoint.load(hfDir).tensors
        let r = try rank(mm, tp: 1, pp: 0)
        XCTAssertFalse(r.names.contains { $0.contains("linear_fc1") && $0.hasPrefix("image_encoder.encoder.") }, "\(r.names)")
        for part in ["gate", "up"] {
            for suffix in ["weight", "bias"] {
                let full = try XCTUnwrap(hf["visual.blocks.0.mlp.\(part)_proj.\(suffix)"])
                let rows = full.shape[0] / 2
                XCTAssertEqual(try bytes(r["image_encoder.encoder.blocks.layers.0.mlp.\(part)_proj.\(suffix)"]),
                               try bytes(try full.slice(dim: 0, start: rows, count: rows)), "\(part) \(suffix)")
            }
        }
        XCTAssertEqual(try bytes(r["image_encoder.encoder.blocks.layers.0.mlp.linear_fc2.bias"]), try bytes(hf["visual.blocks.0.mlp.down_proj.bias"]))
        try Converters.mmToHF("Qwen2_5_VLConverter", mm: mm, hf: hfDir, to: back, tp: 2, extra: canonical)
        try Converters.assertSameFiles(back, hfDir, "canonical Qwen2.5-VL round trip")
    }

    /// resplit with the flag: tp2/pp3 -> tp1/pp1 gives what hf_to_mm gives at tp1/pp1 directly, and
    /// back -> tp2 with VPP converts back to the original.
    func testResplit() throws {
        let s = Converters.Scratch()
        let hfDir = Converters.hf("qwen2vl")
        let from = Converters.Layout(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), flat = Converters.Layout(tp: 1, llm: [[4]], vit: [[2]])
        let source = s.path("tp2"), direct = s.path("tp1"), resplit = s.path("resplit"), vpp = s.path("vpp"), back = s.path("hf")
        for (out, l) in [(source, from), (direct, flat)] {
            try Converters.hfToMM("Qwen2VLConverter", hf: hfDir, to: out, tp: l.tp, llm: l.llm, vit: l.vit, extra: canonical)
        }
        try Converters.resplit("Qwen2VLConverter", from: source, from, to: resplit, flat, inferSource: true, extra: canonical)
        Converters.assertEqual(try Converters.summary(ofMM: resplit), try Converters.summary(ofMM: direct), "canonical resplit tp2/pp3 -> tp1/pp1")
        try Converters.resplit("Qwen2VLConverter", from: resplit, flat, to: vpp, Converters.Layout(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]),
                               inferSource: true, extra: canonical)
        try Converters.mmToHF("Qwen2VLConverter", mm: vpp, hf: hfDir, to: back, tp: 2, extra: canonical)
        try Converters.assertSameFiles(back, hfDir, "canonical resplit to tp2 with VPP and back to HF")
    }

    /// The flag must match the checkpoint, and InternVL has no canonical model.
    func testMismatchedFlagIsRefused() throws {
        let s = Converters.Scratch()
        let out = s.path("out")
        let r = Converters.runFailing(["Qwen2VLConverter", "mm_to_hf", "--cfg.mm_dir", Converters.golden("qwen2vl_tp2_pp3"),
                                       "--cfg.hf_config.hf_dir", Converters.hf("qwen2vl"), "--cfg.save_hf_dir", out,
                                       "--cfg.parallel_config.tp_size", "2"] + canonical)
        XCTAssertEqual(r.status, 1, r.text)
        XCTAssertTrue(r.text.contains("refuse: tensor 'text_decoder.decoder.layers.0.self_attention.linear_qkv.weight' (tp 0, pp 0): this checkpoint has the default (fused qkv) structure: leave enable_canonical_hf_struct false"), r.text)
        let i = Converters.runFailing(["InternVLConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", Converters.hf("internvl_qwen2"), "--cfg.mm_dir", out,
                                       "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"] + canonical)
        XCTAssertEqual(i.status, 1, i.text)
        XCTAssertTrue(i.text.contains("enable_canonical_hf_struct applies to Qwen2-VL and Qwen2.5-VL; InternVL has no canonical model"), i.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
