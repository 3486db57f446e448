import Foundation
import XCTest
@testable import Ops

/// HunyuanVideoConverter --version t2v t2v_text_encoder (sora.md §7.4.4): a tiny LLaVA
/// transformers folder (both key layouts transformers saves LLaVA in) -> its language model as
/// LlamaForCausalLM saves it: `model.*` + `lm_head.weight` in float16, config.json from
/// text_config, generation_config.json, the tokenizer files; no vision tower, no torch.
final class HunyuanTextEncoderTests: XCTestCase {
    static let h = 8, vocab = 16, inter = 12

    /// The language model's tensors under their LlamaForCausalLM names (bf16).
    static func llama() throws -> TensorMap {
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 15, seed: 37)
        var t = TensorMap()
        func add(_ n: String, _ s: [Int]) throws { t[n] = try pool.tensor(n, s) }
        try add("model.embed_tokens.weight", [vocab, h])
        for l in 0..<2 {
            let p = "model.layers.\(l)."
            for x in ["q_proj", "o_proj"] { try add(p + "self_attn.\(x).weight", [h, h]) }
            for x in ["k_proj", "v_proj"] { try add(p + "self_attn.\(x).weight", [h / 2, h]) }
            for x in ["gate_proj", "up_proj"] { try add(p + "mlp.\(x).weight", [inter, h]) }
            try add(p + "mlp.down_proj.weight", [h, inter])
            try add(p + "input_layernorm.weight", [h]); try add(p + "post_attention_layernorm.weight", [h])
        }
        try add("model.norm.weight", [h]); try add("lm_head.weight", [vocab, h])
        return t
    }

    static let config = #"""
    {"architectures": ["LlavaForConditionalGeneration"], "ignore_index": -100, "image_token_index": 15, "model_type": "llava",
     "projector_hidden_act": "gelu", "text_config": {"_name_or_path": "meta-llama/Meta-Llama-3-8B-Instruct", "architectures": ["LlamaForCausalLM"],
     "bos_token_id": 1, "eos_token_id": 2, "hidden_size": 8, "intermediate_size": 12, "max_position_embeddings": 64, "model_type": "llama",
     "num_attention_heads": 2, "num_hidden_layers": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
     "torch_dtype": "bfloat16", "vocab_size": 16}, "torch_dtype": "float16", "transformers_version": "4.44.2",
     "vision_config": {"hidden_size": 4, "image_size": 8, "model_type": "clip_vision_model", "num_attention_heads": 1, "num_hidden_layers": 1, "patch_size": 4}}
    """#

    /// A LLaVA folder: `old` = language_model.model.* / language_model.lm_head (transformers
    /// < 4.52), else model.language_model.* / lm_head.
    static func folder(in s: Converters.Scratch, old: Bool) throws -> String {
        var t = TensorMap()
        for (n, x) in try llama() {
            t[old ? "language_model." + n : (n.hasPrefix("model.") ? "model.language_model." + n.dropFirst(6) : n)] = x
        }
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 12, seed: 41)
        t[(old ? "" : "model.") + "vision_tower.vision_model.embeddings.patch_embedding.weight"] = try pool.tensor("v", [4, 3, 4, 4])
        t[(old ? "" : "model.") + "multi_modal_projector.linear_1.weight"] = try pool.tensor("p", [8, 4])
        let dir = s.path(old ? "llava-old" : "llava-new")
        _ = try HFCheckpoint.save(t, to: dir, maxShardBytes: 1500, sideFiles: [
            "config.json": Array(config.utf8), "tokenizer.json": Array(#"{"version": "1.0", "model": {"type": "BPE"}}"#.utf8),
            "tokenizer_config.json": Array(#"{"bos_token": "<|begin_of_text|>", "processor_class": "LlavaProcessor"}"#.utf8),
            "special_tokens_map.json": Array(#"{"bos_token": "<|begin_of_text|>"}"#.utf8),
            "preprocessor_config.json": Array(#"{"crop_size": 8}"#.utf8), "chat_template.json": Array("{}".utf8),
        ])
        return dir
    }

    func testLanguageModelAsLlamaForCausalLM() throws {
        let s = Converters.Scratch()
        let old = try Self.folder(in: s, old: true), new = try Self.folder(in: s, old: false)
        let out = s.path("text_encoder"), out2 = s.path("text_encoder2")
        try Converters.run(["HunyuanVideoConverter", "--version", "t2v", "t2v_text_encoder", "--cfg.source_path", old, "--cfg.target_path", out])
        try Converters.run(["HunyuanVideoConverter", "t2v_text_encoder", "--cfg.source_path", new, "--cfg.target_path", out2])
        try Converters.assertSameFiles(out2, out, "both key layouts")
        XCTAssertEqual(try Converters.files(out), ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
                                                  "tokenizer.json", "tokenizer_config.json"])
        for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
            XCTAssertEqual(FileManager.default.contents(atPath: out + "/" + f), FileManager.default.contents(atPath: old + "/" + f), f)
        }
        let written = try SafetensorsFile(path: out + "/model.safetensors").tensors()
        let want = try Self.llama()
        XCTAssertEqual(Set(written.map(\.name)), Set(want.names))
        for (name, t) in written {
            XCTAssertEqual(t.dtype, .f16, name)
            XCTAssertEqual(t.shape, want[name]!.shape, name)
            XCTAssertEqual(try t.sha256(), try want[name]!.cast(to: .f16).sha256(), name)
        }
        let config = String(decoding: FileManager.default.contents(atPath: out + "/config.json")!, as: UTF8.self)
        XCTAssertEqual(config, """
        {
          "_name_or_path": "meta-llama/Meta-Llama-3-8B-Instruct",
          "architectures": [
            "LlamaForCausalLM"
          ],
          "bos_token_id": 1,
          "eos_token_id": 2,
          "hidden_size": 8,
          "intermediate_size": 12,
          "max_position_embeddings": 64,
          "model_type": "llama",
          "num_attention_heads": 2,
          "num_hidden_layers": 2,
          "num_key_value_heads": 1,
          "rms_norm_eps": 1e-05,
          "rope_theta": 500000.0,
          "torch_dtype": "float16",
          "transformers_version": "4.44.2",
          "vocab_size": 16
        }

        """)
        let generation = String(decoding: FileManager.default.contents(atPath: out + "/generation_config.json")!, as: UTF8.self)
        XCTAssertEqual(generation, "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n  \"transformers_version\": \"4.44.2\"\n}\n")
        // Other versions and other folders are refused, nothing written.
        for (args, message) in [(["--version", "i2v", "t2v_text_encoder", "--cfg.source_path", old], "--version i2v: t2v_text_encoder converts the t2v model's text encoder"),
                                (["t2v_text_encoder", "--cfg.source_path", WanConverterTests.sora("wan_i2v_tp1/input")], "config.json has no text_config")] {
            let target = s.path("bad")
            let r = Converters.runFailing(["HunyuanVideoConverter"] + args + ["--cfg.target_path", target])
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        }
    }
}
