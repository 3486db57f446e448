import XCTest
@testable import Ops

/// GlmConverter (GLM-4.1V) and Qwen2_5_OmniConverter: the reference's goldens, exact round trips
/// through mm_to_hf and resplit, and where ours differs from the reference (GLM's TP split, Omni's
/// thinker tensors never filled in from the original directory).
final class GlmOmniConverterTests: XCTestCase {
    func testGlmGoldenAndRoundTrips() throws {
        let s = Converters.Scratch()
        let hf = Converters.hf("glm4v")
        let mm = s.path("mm")
        try Converters.hfToMM("GlmConverter", hf: hf, to: mm, tp: 1, llm: [[1, 3]], vit: [[2, 0]])
        Converters.assertEqual(try Converters.summary(ofMM: mm), try Converters.summary(ofManifest: Converters.golden("glm4v_tp1_pp2") + ".manifest.json"), "glm4v_tp1_pp2")
        let back = s.path("back")
        try Converters.mmToHF("GlmConverter", mm: mm, hf: hf, to: back, tp: 1)
        try Converters.assertSameFiles(back, hf, "GLM mm_to_hf")
        // TP 2 with VPP, back through resplit to the golden's layout.
        let tp2 = s.path("tp2"), again = s.path("again")
        try Converters.resplit("GlmConverter", from: mm, .init(tp: 1, llm: [[1, 3]], vit: [[2, 0]]), to: tp2, .init(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]))
        try Converters.resplit("GlmConverter", from: tp2, .init(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]), to: again, .init(tp: 1, llm: [[1, 3]], vit: [[2, 0]]))
        Converters.assertEqual(try Converters.summary(ofMM: again, bytes: true), try Converters.summary(ofMM: mm, bytes: true), "GLM tp1 -> tp2/vpp2 -> tp1")
    }

    /// The reference's table is empty, so at TP 2 it writes full copies everywhere (§9 Q14); ours
    /// splits the LLM by the Megatron rules and keeps the ViT and projector whole.
    func testGlmTP2SplitsTheLLM() throws {
        let s = Converters.Scratch()
        let hf = Converters.hf("glm4v")
        let mm = s.path("mm")
        try Converters.hfToMM("GlmConverter", hf: hf, to: mm, tp: 2, llm: [[4]], vit: [[2]])
        let original = try HFCheckpoint.load(hf).tensors
        let ckpt = try MMCheckpointReader.load(mm)
        for t in 0..<2 {
            let m = try XCTUnwrap(ckpt.rank(MMRank(tp: t))).chunks[0]
            // 4 heads / 2 KV heads of 8: rank t holds KV group t (2 q heads, 1 k, 1 v) = 32 rows.
            XCTAssertEqual(m["text_decoder.decoder.layers.0.self_attention.linear_qkv.weight"]?.shape, [32, 32])
            XCTAssertEqual(m["text_decoder.decoder.layers.0.self_attention.linear_proj.weight"]?.shape, [32, 16])
            // fused [gate; up] of 64 + 64 rows: rank t gets gate rows and up rows of its half.
            let fc1 = try XCTUnwrap(m["text_decoder.decoder.layers.0.mlp.linear_fc1.weight"])
            let fused = original["model.language_model.layers.0.mlp.gate_up_proj.weight"]!
            let expected = try Tensor.concat([try fused.slice(dim: 0, start: t * 32, count: 32), try fused.slice(dim: 0, start: 64 + t * 32, count: 32)], dim: 0)
            XCTAssertEqual(try fc1.materialize(), try expected.materialize())
            XCTAssertEqual(m["text_decoder.embedding.word_embeddings.weight"]?.shape, [128, 32])
            XCTAssertEqual(try m["image_encoder.encoder.blocks.layers.0.self_attention.qkv.weight"]?.materialize(),
                           try original["model.visual.blocks.0.attn.qkv.weight"]?.materialize())
        }
        let back = s.path("back")
        try Converters.mmToHF("GlmConverter", mm: mm, hf: hf, to: back, tp: 2)
        try Converters.assertSameFiles(back, hf, "GLM tp2 mm_to_hf")
    }

    /// A config.json that keeps the text fields under text_config converts the same.
    func testGlmTextConfigLayout() throws {
        let s = Converters.Scratch()
        let hf = s.path("hf")
        try FileManager.default.copyItem(atPath: Converters.hf("glm4v"), toPath: hf)
        var config = try JSONReader.parse(contentsOf: hf + "/config.json")
        let textKeys = ["num_key_value_heads", "num_attention_heads", "num_hidden_layers", "hidden_size", "vocab_size", "tie_word_embeddings"]
        guard case let .dict(pairs) = config else { return XCTFail("config") }
        config = .dict(pairs.filter { !textKeys.contains($0.0) } + [("text_config", .dict(pairs.filter { textKeys.contains($0.0) }))])
        try Data(TestTensors.json(config)).write(to: URL(fileURLWithPath: hf + "/config.json"))
        let mm = s.path("mm")
        try Converters.hfToMM("GlmConverter", hf: hf, to: mm, tp: 1, llm: [[1, 3]], vit: [[2, 0]])
        Converters.assertEqual(try Converters.summary(ofMM: mm), try Converters.summary(ofManifest: Converters.golden("glm4v_tp1_pp2") + ".manifest.json"), "glm4v text_config")
    }

    func testOmniGoldenAndRoundTrips() throws {
        let s = Converters.Scratch()
        let hf = Converters.hf("qwen2_5omni")
        let audio = ["--cfg.parallel_config.audio_pp_layers", "[[1,1]]"]
        let mm = s.path("mm")
        try Converters.hfToMM("Qwen2_5_OmniConverter", hf: hf, to: mm, tp: 2, llm: [[2, 2]], vit: [[2, 0]], extra: audio)
        Converters.assertEqual(try Converters.summary(ofMM: mm), try Converters.summary(ofManifest: Converters.golden("qwen2_5omni_tp2_pp2") + ".manifest.json"), "qwen2_5omni_tp2_pp2")
        let back = s.path("back")
        try Converters.mmToHF("Qwen2_5_OmniConverter", mm: mm, hf: hf, to: back, tp: 2)
        try Converters.assertSameFiles(back, hf, "Omni mm_to_hf (talker and token2wav from the original, float32 kept)")
        // Hetero TP (ViT and audio whole, LLM TP 2) with VPP, through resplit, back to HF.
        let hetero = s.path("hetero"), back2 = s.path("back2")
        try Converters.resplit("Qwen2_5_OmniConverter", from: mm, .init(tp: 2, llm: [[2, 2]], vit: [[2, 0]]), to: hetero,
                               .init(tp: 2, vitTP: 1, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]),
                               extra: ["--cfg.target_parallel_config.audio_pp_layers", "[[1,1],[0,0]]", "--cfg.target_parallel_config.audio_tp_size", "1"])
        try Converters.mmToHF("Qwen2_5_OmniConverter", mm: hetero, hf: hf, to: back2, tp: 2, vitTP: 1, extra: ["--cfg.parallel_config.audio_tp_size", "1"])
        try Converters.assertSameFiles(back2, hf, "Omni hetero TP / VPP")
    }

    /// The reference fills a thinker tensor missing from the MindSpeed-MM checkpoint in from the
    /// original directory (§9 Q29); ours stops. Audio layers are required; an audio list longer
    /// than the LLM's is refused (§9 Q26).
    func testOmniRefusals() throws {
        let s = Converters.Scratch()
        let hf = Converters.hf("qwen2_5omni")
        let out = s.path("out")
        var r = Converters.runFailing(["Qwen2_5_OmniConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", out,
                                       "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"])
        XCTAssertTrue(r.text.contains("audio_pp_layers is required: config.json has 2 audio encoder layers"), r.text)
        r = Converters.runFailing(["Qwen2_5_OmniConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", out,
                                   "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]",
                                   "--cfg.parallel_config.audio_pp_layers", "[[1,1]]"])
        XCTAssertTrue(r.text.contains("audio has 2 pipeline stages but llm has 1"), r.text)

        let mm = s.path("mm")
        try Converters.hfToMM("Qwen2_5_OmniConverter", hf: hf, to: mm, tp: 1, llm: [[4]], vit: [[2]], extra: ["--cfg.parallel_config.audio_pp_layers", "[[2]]"])
        // Remove one thinker tensor from the MindSpeed-MM checkpoint.
        let partial = s.path("partial")
        let recipe = s.path("cut.recipe")
        try """
        use "\(RecipePaths.repoRoot.path)/Recipes/qwen2_5omni/layout.recipe"
        load mm "\(mm)"
        unstage omni_pp vit=[2] llm=[4] audio=[2]
        unshard omni_tp tp=1
        drop "audio_encoder.encoder.ln_post.weight"
        shard omni_tp tp=1
        stage omni_pp vit=[2] llm=[4] audio=[2]
        save mm "\(partial)"
        """.write(toFile: recipe, atomically: true, encoding: .utf8)
        try Converters.run(["run", recipe])
        r = Converters.runFailing(["Qwen2_5_OmniConverter", "mm_to_hf", "--cfg.mm_dir", partial, "--cfg.hf_config.hf_dir", hf, "--cfg.save_hf_dir", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("thinker.audio_tower.ln_post.weight"), r.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}

/// Every converter refuses another model's checkpoint before writing, naming the model it converts.
final class WrongModelTests: XCTestCase {
    func testEveryConverterRefusesAnotherModel() throws {
        let s = Converters.Scratch()
        let cases: [(String, String, String)] = [
            ("Qwen2VLConverter", "qwen3vl", "config.json has model_type 'qwen3_vl': Qwen2VLConverter converts Qwen2-VL ('qwen2_vl')"),
            ("Qwen2_5_VLConverter", "glm4v", "config.json has model_type 'glm4v': Qwen2_5_VLConverter converts Qwen2.5-VL ('qwen2_5_vl')"),
            ("InternVLConverter", "qwen2vl", "config.json has no llm_config / vision_config: not an InternVL (InternVLChatModel) checkpoint"),
            ("Qwen3VLMegatronConverter", "glm4v", "config.json has no text_config / vision_config: not a Qwen3-VL (Qwen3VLForConditionalGeneration) checkpoint"),
            ("GlmConverter", "qwen3vl", "config.json has model_type 'qwen3_vl': GlmConverter converts GLM-4.1V ('glm4v')"),
            ("Qwen2_5_OmniConverter", "qwen2vl", "config.json has no thinker_config: not a Qwen2.5-Omni (Qwen2_5OmniModel) checkpoint"),
            ("DeepSeekVLConverter", "qwen3vl", "config.json has no language_config / vision_config: not a DeepSeek-VL2 (DeepseekVLV2ForCausalLM) checkpoint"),
        ]
        for (converter, model, message) in cases {
            let out = s.path("out")
            let r = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", Converters.hf(model), "--cfg.mm_dir", out,
                                           "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"])
            XCTAssertEqual(r.status, 1, converter)
            XCTAssertTrue(r.text.contains("error: " + message), "\(converter) <- \(model): \(r.text)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }
}
