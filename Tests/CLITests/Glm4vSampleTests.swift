import Ops
import XCTest

/// `mm-convert sample glm4v`: the tiny size is the fixture's checkpoint, `9b` has the shapes of
/// GLM-4.1V-9B-Thinking.
final class Glm4vSampleTests: XCTestCase {
    func testTinyMatchesFixture() throws {
        try SampleFixture.assertTinyMatches(.glm4v, fixture: "glm4v", tensors: 82)
    }

    func testCommandWritesFixtureLikeCheckpoint() throws {
        try SampleFixture.assertCommandWritesFixtureLike("glm4v", fixture: "glm4v")
    }

    /// The 9B, checked lazily: ViT MLP as wide as the LLM, merger as wide as vision intermediate_size,
    /// 24 x 24 position embeddings, fused gate_up in the LLM, two KV heads.
    func testNineB() throws {
        let t = try SampleFixture.tensors(.glm4v, "9b")
        XCTAssertEqual(t.count, 13 + 24 * 7 + 1 + 40 * 13 + 2)
        XCTAssertEqual(t.totalBytes, 20_585_554_944)  // 10.29 B parameters
        let v = "model.visual.", lm = "model.language_model."
        XCTAssertEqual(t[v + "embeddings.position_embedding.weight"]?.shape, [576, 1536])
        XCTAssertEqual(t[v + "patch_embed.proj.weight"]?.shape, [1536, 3, 2, 14, 14])
        XCTAssertEqual(t[v + "blocks.23.attn.qkv.weight"]?.shape, [4608, 1536])
        XCTAssertEqual(t[v + "blocks.23.mlp.gate_proj.weight"]?.shape, [4096, 1536])
        XCTAssertEqual(t[v + "blocks.23.mlp.down_proj.weight"]?.shape, [1536, 4096])
        XCTAssertEqual(t[v + "downsample.weight"]?.shape, [4096, 1536, 2, 2])
        XCTAssertEqual(t[v + "merger.proj.weight"]?.shape, [4096, 4096])
        XCTAssertEqual(t[v + "merger.up_proj.weight"]?.shape, [13696, 4096])
        XCTAssertEqual(t[v + "merger.down_proj.weight"]?.shape, [4096, 13696])
        XCTAssertEqual(t[lm + "layers.39.self_attn.q_proj.weight"]?.shape, [4096, 4096])
        XCTAssertEqual(t[lm + "layers.39.self_attn.k_proj.bias"]?.shape, [256])
        XCTAssertEqual(t[lm + "layers.39.mlp.gate_up_proj.weight"]?.shape, [27392, 4096])
        XCTAssertEqual(t[lm + "layers.39.mlp.down_proj.weight"]?.shape, [4096, 13696])
        XCTAssertEqual(t["lm_head.weight"]?.shape, [151_552, 4096])
        XCTAssertNil(t[lm + "layers.40.input_layernorm.weight"])

        let c = try SampleFixture.config(.glm4v, "9b")
        XCTAssertEqual(SampleFixture.keyPaths(c), SampleFixture.keyPaths(try XCTUnwrap(HFCheckpoint.load(Converters.hf("glm4v")).config)))
        XCTAssertEqual(c["rope_scaling"]?["mrope_section"], .list([.int(8), .int(12), .int(12)]))
        XCTAssertEqual(c["vision_config"]?["image_size"], .int(336))
        XCTAssertEqual(c["vision_config"]?["intermediate_size"], .int(13696))
        XCTAssertEqual(c["pad_token_id"], .int(151_329))
        XCTAssertEqual(c["eos_token_id"], .list([151_329, 151_336, 151_338, 151_348].map { .int($0) }))
        XCTAssertEqual(c["image_token_id"], .int(151_343))
    }
}
