import Ops
import XCTest

/// `mm-convert sample` writes what the converters meet on the Hub: the tensor names of §7.2 / §7.4
/// and the config.json fields the recipes read.
final class ConverterSampleTests: XCTestCase {
    func sample(_ family: SampleFamily) throws -> (TensorMap, Value) {
        let gen = SampleGenerator(model: try SampleModel.preset(family, size: "tiny"))
        return (try gen.tensors(), gen.config())
    }

    /// Qwen2.5-VL: RMSNorm weights only, gated ViT MLP with biases, patch embed without bias, tied
    /// LLM (no lm_head, like the 3B), config fields of the Hub's config.json.
    func testQwen2_5VL() throws {
        let (t, c) = try sample(.qwen2_5vl)
        XCTAssertEqual(t.count, 80)
        for n in ["visual.blocks.0.norm1.bias", "visual.merger.ln_q.bias", "visual.patch_embed.proj.bias", "visual.blocks.0.mlp.fc1.weight", "lm_head.weight"] {
            XCTAssertNil(t[n], n)
        }
        XCTAssertEqual(t["visual.blocks.1.norm2.weight"]?.shape, [32])
        XCTAssertEqual(t["visual.blocks.1.mlp.gate_proj.weight"]?.shape, [96, 32])
        XCTAssertEqual(t["visual.blocks.1.mlp.up_proj.bias"]?.shape, [96])
        XCTAssertEqual(t["visual.blocks.1.mlp.down_proj.weight"]?.shape, [32, 96])
        XCTAssertEqual(t["visual.blocks.1.mlp.down_proj.bias"]?.shape, [32])
        XCTAssertEqual(t["visual.merger.mlp.2.weight"]?.shape, [64, 128])
        XCTAssertEqual(t["model.layers.3.self_attn.q_proj.bias"]?.shape, [64])
        XCTAssertEqual(c["model_type"], .string("qwen2_5_vl"))
        XCTAssertEqual(c["tie_word_embeddings"], .bool(true))
        XCTAssertEqual(c["num_key_value_heads"], .int(2))
        XCTAssertEqual(c["vision_config"]?["hidden_size"], .int(32))
        XCTAssertEqual(c["vision_config"]?["num_heads"], .int(4))
        XCTAssertEqual(c["vision_config"]?["depth"], .int(2))
        XCTAssertEqual(c["vision_config"]?["out_hidden_size"], .int(64))
    }

    /// InternVL with a Qwen2 LLM: exactly the fixture's tensors (made from the Hub's names).
    func testInternVLQwen2MatchesFixture() throws {
        let (t, c) = try sample(.internvl)
        let fixture = try HFCheckpoint.load(Converters.hf("internvl_qwen2")).tensors
        XCTAssertEqual(Set(t.names), Set(fixture.names))
        for (name, f) in fixture {
            XCTAssertEqual(t[name]?.shape, f.shape, name)
            XCTAssertEqual(t[name]?.dtype, f.dtype, name)
        }
        XCTAssertEqual(c["llm_config"]?["architectures"], .list([.string("Qwen2ForCausalLM")]))
        XCTAssertEqual(c["llm_config"]?["tie_word_embeddings"], .bool(false))
        XCTAssertEqual(c["vision_config"]?["num_attention_heads"], .int(3))
        XCTAssertEqual(c["vision_config"]?["num_hidden_layers"], .int(2))
    }

    /// InternLM2: fused, group-interleaved wqkv, w1/w2/w3, attention_norm/ffn_norm, output.
    func testInternVLInternLM2() throws {
        let (t, c) = try sample(.internvlInternLM2)
        XCTAssertEqual(t["language_model.model.tok_embeddings.weight"]?.shape, [331, 64])
        XCTAssertEqual(t["language_model.model.layers.0.attention.wqkv.weight"]?.shape, [(4 + 2 * 2) * 16, 64])
        XCTAssertEqual(t["language_model.model.layers.0.attention.wo.weight"]?.shape, [64, 64])
        for w in ["w1", "w3"] { XCTAssertEqual(t["language_model.model.layers.3.feed_forward.\(w).weight"]?.shape, [192, 64]) }
        XCTAssertEqual(t["language_model.model.layers.3.feed_forward.w2.weight"]?.shape, [64, 192])
        XCTAssertNotNil(t["language_model.model.layers.3.attention_norm.weight"])
        XCTAssertNotNil(t["language_model.model.layers.3.ffn_norm.weight"])
        XCTAssertEqual(t["language_model.output.weight"]?.shape, [331, 64])
        XCTAssertTrue(t.names.filter { $0.contains("q_proj") || $0.contains("embed_tokens") || $0.contains("lm_head") }.isEmpty)
        XCTAssertEqual(c["llm_config"]?["architectures"], .list([.string("InternLM2ForCausalLM")]))
        XCTAssertEqual(c["llm_config"]?["model_type"], .string("internlm2"))
    }

    /// Llama: the Qwen2 names without q/k/v biases.
    func testInternVLLlama() throws {
        let (t, c) = try sample(.internvlLlama)
        XCTAssertNotNil(t["language_model.model.layers.0.self_attn.q_proj.weight"])
        XCTAssertTrue(t.names.filter { $0.hasPrefix("language_model.") && $0.hasSuffix(".bias") }.isEmpty)
        XCTAssertEqual(c["llm_config"]?["architectures"], .list([.string("LlamaForCausalLM")]))
    }
}
