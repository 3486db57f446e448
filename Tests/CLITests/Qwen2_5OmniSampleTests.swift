import Ops
import XCTest

/// `mm-convert sample qwen2_5omni`: the tiny size is the fixture's checkpoint (float32 token2wav
/// next to bfloat16 everything else), `7b` has the thinker of Qwen2.5-Omni-7B.
final class Qwen2_5OmniSampleTests: XCTestCase {
    func testTinyMatchesFixture() throws {
        try SampleFixture.assertTinyMatches(.qwen2_5omni, fixture: "qwen2_5omni", tensors: 137)
        let t = try SampleFixture.tensors(.qwen2_5omni, "tiny")
        XCTAssertEqual(t.names.filter { t[$0]?.dtype == .f32 }.sorted(), [
            "token2wav.code2wav_bigvgan_model.conv_pre.bias", "token2wav.code2wav_bigvgan_model.conv_pre.weight",
            "token2wav.code2wav_dit_model.proj_out.bias", "token2wav.code2wav_dit_model.proj_out.weight",
        ])
    }

    func testCommandWritesFixtureLikeCheckpoint() throws {
        try SampleFixture.assertCommandWritesFixtureLike("qwen2_5omni", fixture: "qwen2_5omni")
    }

    /// The 7B, checked lazily: the thinker's real shapes; talker and token2wav only as the few
    /// representative tensors the fixture has, at the 7B's widths.
    func testSevenB() throws {
        let t = try SampleFixture.tensors(.qwen2_5omni, "7b")
        XCTAssertEqual(t.count, 9 + 32 * 15 + 1 + 32 * 16 + 5 + 1 + 28 * 12 + 2 + 5 + 4)
        XCTAssertEqual(t.totalBytes, 17_949_522_752)  // 8.97 B bf16 parameters and 0.94 M float32 ones
        let th = "thinker."
        XCTAssertEqual(t[th + "audio_tower.conv1.weight"]?.shape, [1280, 128, 3])
        XCTAssertEqual(t[th + "audio_tower.layers.31.fc1.weight"]?.shape, [5120, 1280])
        XCTAssertNil(t[th + "audio_tower.layers.31.self_attn.k_proj.bias"])
        XCTAssertEqual(t[th + "audio_tower.proj.weight"]?.shape, [3584, 1280])
        XCTAssertEqual(t[th + "audio_tower.audio_bos_eos_token.weight"]?.shape, [2, 3584])
        XCTAssertEqual(t[th + "visual.blocks.31.attn.q.weight"]?.shape, [1280, 1280])
        XCTAssertEqual(t[th + "visual.blocks.31.mlp.gate_proj.weight"]?.shape, [3420, 1280])
        XCTAssertEqual(t[th + "visual.merger.mlp.2.weight"]?.shape, [3584, 5120])
        XCTAssertEqual(t[th + "model.layers.27.self_attn.k_proj.weight"]?.shape, [512, 3584])
        XCTAssertEqual(t[th + "model.layers.27.mlp.down_proj.weight"]?.shape, [3584, 18944])
        XCTAssertEqual(t[th + "lm_head.weight"]?.shape, [152_064, 3584])
        XCTAssertEqual(t["talker.thinker_to_talker_proj.weight"]?.shape, [896, 3584])
        XCTAssertEqual(t["talker.codec_head.weight"]?.shape, [8448, 896])
        XCTAssertEqual(t["token2wav.code2wav_bigvgan_model.conv_pre.weight"]?.shape, [1536, 80, 7])
        XCTAssertEqual(t["token2wav.code2wav_bigvgan_model.conv_pre.weight"]?.dtype, .f32)
        XCTAssertEqual(t["token2wav.code2wav_dit_model.proj_out.weight"]?.shape, [80, 1024])

        let c = try SampleFixture.config(.qwen2_5omni, "7b")
        let fixture = try XCTUnwrap(HFCheckpoint.load(Converters.hf("qwen2_5omni")).config)
        XCTAssertEqual(SampleFixture.keyPaths(c), SampleFixture.keyPaths(fixture))
        XCTAssertEqual(c["thinker_config"]?["vision_config"]?["fullatt_block_indexes"], .list([7, 15, 23, 31].map { .int($0) }))
        XCTAssertEqual(c["thinker_config"]?["text_config"]?["rope_scaling"]?["mrope_section"], .list([16, 24, 24].map { .int($0) }))
        XCTAssertEqual(c["thinker_config"]?["audio_config"]?["output_dim"], .int(3584))
        XCTAssertEqual(c["thinker_config"]?["image_token_index"], .int(151_655))
        XCTAssertEqual(c["talker_config"]?["tts_codec_start_token_id"], .int(8293))
    }
}
