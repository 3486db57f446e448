import Ops
import XCTest

/// `mm-convert sample deepseekvl2`: the tiny size is the fixture's checkpoint (MLA, a dense first
/// layer, then MoE with a noaux_tc router), `small` has the shapes of DeepSeek-VL2-Small.
final class DeepSeekVL2SampleTests: XCTestCase {
    func testTinyMatchesFixture() throws {
        try SampleFixture.assertTinyMatches(.deepseekvl2, fixture: "deepseekvl2", tensors: 109)
    }

    func testCommandWritesFixtureLikeCheckpoint() throws {
        try SampleFixture.assertCommandWritesFixtureLike("deepseekvl2", fixture: "deepseekvl2")
    }

    /// DeepSeek-VL2-Small, checked lazily: SigLIP-SO400M (27 x 27 positions, MLP 4304), a projector
    /// from 2x2 patches, MLA without q LoRA, 1 dense + 26 MoE layers of 64 experts and 2 shared ones,
    /// greedy softmax routing (no correction bias).
    func testSmall() throws {
        let t = try SampleFixture.tensors(.deepseekvl2, "small")
        let vision = 3 + 27 * 12 + 2 + 13, projector = 4 + 2
        let attention = 5, dense = attention + 3 + 2, moe = attention + 64 * 3 + 1 + 3 + 2
        XCTAssertEqual(t.count, vision + projector + 1 + dense + 26 * moe + 2)
        XCTAssertEqual(t.totalBytes, 32_296_699_008)  // 16.15 B parameters
        XCTAssertEqual(t["vision.pos_embed"]?.shape, [1, 729, 1152])
        XCTAssertEqual(t["vision.blocks.26.mlp.fc1.weight"]?.shape, [4304, 1152])
        XCTAssertEqual(t["vision.attn_pool.kv.weight"]?.shape, [2304, 1152])
        XCTAssertEqual(t["projector.layers.0.weight"]?.shape, [2048, 4608])
        XCTAssertEqual(t["projector.layers.2.weight"]?.shape, [2048, 2048])
        XCTAssertEqual(t["image_newline"]?.shape, [2048])
        XCTAssertEqual(t["view_seperator"]?.shape, [2048])
        let p = "language.model.layers."
        XCTAssertEqual(t[p + "0.mlp.gate_proj.weight"]?.shape, [10944, 2048])
        XCTAssertNil(t[p + "0.mlp.gate.weight"])
        XCTAssertEqual(t[p + "26.self_attn.q_proj.weight"]?.shape, [3072, 2048])
        XCTAssertEqual(t[p + "26.self_attn.kv_a_proj_with_mqa.weight"]?.shape, [576, 2048])
        XCTAssertEqual(t[p + "26.self_attn.kv_b_proj.weight"]?.shape, [4096, 512])
        XCTAssertEqual(t[p + "26.self_attn.o_proj.weight"]?.shape, [2048, 2048])
        XCTAssertEqual(t[p + "26.mlp.experts.63.down_proj.weight"]?.shape, [2048, 1408])
        XCTAssertEqual(t[p + "26.mlp.shared_experts.up_proj.weight"]?.shape, [2816, 2048])
        XCTAssertEqual(t[p + "26.mlp.gate.weight"]?.shape, [64, 2048])
        XCTAssertNil(t[p + "26.mlp.gate.e_score_correction_bias"])
        XCTAssertEqual(t["language.lm_head.weight"]?.shape, [102_400, 2048])

        let c = try SampleFixture.config(.deepseekvl2, "small")
        let fixture = try XCTUnwrap(HFCheckpoint.load(Converters.hf("deepseekvl2")).config)
        XCTAssertEqual(SampleFixture.keyPaths(c), SampleFixture.keyPaths(fixture))
        XCTAssertEqual(c["language_config"]?["topk_method"], .string("greedy"))
        XCTAssertEqual(c["language_config"]?["num_experts_per_tok"], .int(6))
        XCTAssertEqual(c["vision_config"]?["mlp_ratio"], .float(3.7362))
        XCTAssertEqual(c["vision_config"]?["image_size"], .int(384))
        guard case let .list(resolutions)? = c["candidate_resolutions"] else { return XCTFail("candidate_resolutions") }
        XCTAssertEqual(resolutions.count, 23)  // m x n tiles of 384 with m * n <= 9
    }

    /// The q-LoRA form (DeepSeek-V2 with q_lora_rank set): q_a_proj, q_a_layernorm, q_b_proj instead of q_proj.
    func testQLoRA() throws {
        var model = try SampleModel.preset(.deepseekvl2, size: "tiny")
        model.llm.mla?.qLoraRank = 12
        let gen = SampleGenerator(model: model)
        let t = try gen.tensors()
        XCTAssertNil(t["language.model.layers.0.self_attn.q_proj.weight"])
        XCTAssertEqual(t["language.model.layers.0.self_attn.q_a_proj.weight"]?.shape, [12, 32])
        XCTAssertEqual(t["language.model.layers.0.self_attn.q_a_layernorm.weight"]?.shape, [12])
        XCTAssertEqual(t["language.model.layers.0.self_attn.q_b_proj.weight"]?.shape, [48, 12])
        XCTAssertEqual(gen.config()["language_config"]?["q_lora_rank"], .int(12))
    }
}
