import Foundation
import XCTest

/// The bundled converters refuse wrong input before writing anything, with a message that says
/// what is wrong and where.
final class ConverterValidationTests: XCTestCase {
    override class func tearDown() { Converters.removeSamples() }

    func hfToMM(_ converter: String, _ hf: String, _ out: String, extra: [String] = []) -> (status: Int32, text: String) {
        Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", out,
                               "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"] + extra)
    }

    func assertRefused(_ r: (status: Int32, text: String), _ message: String, output: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 1, r.text, file: file, line: line)
        XCTAssert(r.text.contains(message), "expected '\(message)' in:\n\(r.text)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(output) written despite the error", file: file, line: line)
    }

    func testHelpListsTheBundledConverters() throws {
        let text = try Converters.run(["-h"]).joined(separator: "\n")
        for c in ["InternVLConverter", "Qwen2VLConverter", "Qwen2_5_VLConverter"] {
            XCTAssert(text.contains(c + " ") && text.contains("hf_to_mm, mm_to_hf, resplit"), c)
        }
    }

    func testWrongFamily() {
        let s = Converters.Scratch()
        let out = s.path("out")
        assertRefused(hfToMM("InternVLConverter", Converters.hf("qwen2vl"), out), "not an InternVL (InternVLChatModel) checkpoint", output: out)
        assertRefused(hfToMM("Qwen2_5_VLConverter", Converters.hf("qwen2vl"), out), "config.json has model_type 'qwen2_vl'", output: out)
    }

    /// InternVL backbones without a table (e.g. InternLM3 in InternVL3-9B) are refused, where the
    /// reference drops their tensors silently (§7.4).
    func testUnknownInternVLBackbone() throws {
        let s = Converters.Scratch()
        let hf = s.path("hf"), out = s.path("out")
        try FileManager.default.copyItem(atPath: Converters.hf("internvl_qwen2"), toPath: hf)
        let config = hf + "/config.json"
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "Qwen2ForCausalLM", with: "InternLM3ForCausalLM")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        assertRefused(hfToMM("InternVLConverter", hf, out), "llm_config.architectures[0] is InternLM3ForCausalLM", output: out)
    }

    func testParallelSizes() throws {
        let s = Converters.Scratch()
        let out = s.path("out")
        // 3 ViT heads cannot give 4 ranks a head each.
        assertRefused(hfToMM("InternVLConverter", Converters.hf("internvl_qwen2"), out, extra: ["--cfg.parallel_config.vit_tp_size", "4"]),
                      "the ViT's 3 heads (vision_config.num_attention_heads) cannot give every one of vit_tp_size=4 ranks a head", output: out)
        // 2 KV heads do not split over 4 ranks.
        assertRefused(hfToMM("Qwen2_5_VLConverter", try Converters.sample("qwen2_5vl"), out, extra: ["--cfg.parallel_config.tp_size", "4"]),
                      "the 2 KV heads (num_key_value_heads) do not split over tp_size=4", output: out)
        // Layer counts must add up.
        let r = Converters.runFailing(["InternVLConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", try Converters.sample("internvl_llama"), "--cfg.mm_dir", out,
                                       "--cfg.parallel_config.llm_pp_layers", "[[1,2]]", "--cfg.parallel_config.vit_pp_layers", "[[2,0]]"])
        assertRefused(r, "llm_pp_layers [[1, 2]] add up to 3, but config.json has 4 LLM layers", output: out)
    }

    /// A checkpoint in MindSpeed-MM's canonical structure (separate q/k/v projections) would be
    /// re-split or converted back by the wrong rules (the reference's resplit does, §9 Q13): both
    /// operations refuse it, naming the tensor and the rank.
    func testCanonicalStructureIsRefused() throws {
        let s = Converters.Scratch()
        let canonical = s.path("canonical"), out = s.path("out")
        let recipe = s.path("make.recipe")
        try """
        use "\(RecipePaths.repoRoot.path)/Recipes/qwen2vl/layout.recipe"
        load mm "\(Converters.golden("qwen2vl_tp1_pp1"))"
        unstage qwen2vl_pp vit=[2] llm=[4]
        unshard qwen2vl_tp tp=1
        rename "text_decoder.decoder.layers.{L}.self_attention.linear_qkv.{weight,bias}" -> "text_decoder.decoder.layers.{L}.self_attention.q_proj.{weight,bias}"
        shard qwen2vl_tp tp=1
        stage qwen2vl_pp vit=[2] llm=[4]
        save mm "\(canonical)"
        """.write(toFile: recipe, atomically: true, encoding: .utf8)
        try Converters.run(["run", recipe])
        let message = "refuse: tensor 'text_decoder.decoder.layers.0.self_attention.q_proj.weight' (tp 0, pp 0): this checkpoint has MindSpeed-MM's canonical structure: give --cfg.common_model_config.enable_canonical_hf_struct true"
        assertRefused(Converters.runFailing(["Qwen2VLConverter", "resplit", "--cfg.source_dir", canonical, "--cfg.target_dir", out,
                                             "--cfg.target_parallel_config.tp_size", "2",
                                             "--cfg.target_parallel_config.llm_pp_layers", "[4]", "--cfg.target_parallel_config.vit_pp_layers", "[2]"]),
                      message, output: out)
        assertRefused(Converters.runFailing(["Qwen2VLConverter", "mm_to_hf", "--cfg.mm_dir", canonical, "--cfg.save_hf_dir", out,
                                             "--cfg.hf_config.hf_dir", Converters.hf("qwen2vl")]), message, output: out)
        assertRefused(Converters.runFailing(["Qwen2_5_VLConverter", "resplit", "--cfg.source_dir", canonical, "--cfg.target_dir", out,
                                             "--cfg.target_parallel_config.tp_size", "2",
                                             "--cfg.target_parallel_config.llm_pp_layers", "[4]", "--cfg.target_parallel_config.vit_pp_layers", "[2]"]),
                      message, output: out)
    }
}
