import Ops
import XCTest

/// `mm-convert sample videoalign`: Qwen2-VL in the newer key layout plus the reward head (no fixture:
/// compared with the qwen2vl sample it is built from).
final class VideoAlignSampleTests: XCTestCase {
    /// The qwen2vl sample's tensors and config.json under `model.visual.` / `model.language_model.`,
    /// plus `rm_head.weight` [1, hidden].
    func testTinyIsQwen2VLWithRewardHead() throws {
        let t = try SampleFixture.tensors(.videoalign, "tiny"), qwen = try SampleFixture.tensors(.qwen2vl, "tiny")
        func renamed(_ n: String) -> String {
            n.hasPrefix("visual.") ? "model." + n : n.hasPrefix("model.") ? "model.language_model." + n.dropFirst(6) : n
        }
        XCTAssertEqual(Set(t.names), Set(qwen.names.map(renamed) + ["rm_head.weight"]))
        for (n, q) in qwen {
            XCTAssertEqual(t[renamed(n)]?.shape, q.shape, n)
            XCTAssertEqual(t[renamed(n)]?.dtype, .bf16, n)
        }
        XCTAssertEqual(t["rm_head.weight"]?.shape, [1, 64])
        XCTAssertEqual(t["lm_head.weight"]?.shape, [384, 64])
        XCTAssertEqual(t.totalBytes, qwen.totalBytes + 128)
        XCTAssertEqual(try SampleFixture.config(.videoalign, "tiny"), try SampleFixture.config(.qwen2vl, "tiny"))
    }

    /// Through the command line: a loadable two-shard checkpoint with the Qwen2-VL config.
    func testCommandWritesCheckpoint() throws {
        let scratch = Converters.Scratch()
        let dir = scratch.path("videoalign")
        try Converters.run(["sample", "videoalign", dir])
        let back = try HFCheckpoint.load(dir)
        XCTAssertEqual(back.tensors.count, 83)
        XCTAssertEqual(Set(back.shardOf.values).count, 2)
        XCTAssertEqual(back.tensors["rm_head.weight"]?.shape, [1, 64])
        XCTAssertEqual(back.config?["model_type"], .string("qwen2_vl"))
        for name in ["generation_config.json", "README.md"] { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + name), name) }
    }

    /// 2B: Qwen2-VL-2B's shapes (tied: no lm_head) and the reward head.
    func testTwoB() throws {
        let t = try SampleFixture.tensors(.videoalign, "2b")
        XCTAssertEqual(t.totalBytes, 4_417_974_272)  // Qwen2-VL-2B's 4_417_971_200 + the 1536-wide head
        XCTAssertEqual(t["rm_head.weight"]?.shape, [1, 1536])
        XCTAssertNil(t["lm_head.weight"])
        XCTAssertEqual(t["model.language_model.embed_tokens.weight"]?.shape, [151_936, 1536])
        XCTAssertEqual(t["model.visual.blocks.31.attn.qkv.weight"]?.shape, [3840, 1280])
        XCTAssertEqual(t["model.visual.merger.mlp.2.weight"]?.shape, [1536, 5120])
        XCTAssertEqual(t["model.language_model.layers.27.self_attn.k_proj.weight"]?.shape, [256, 1536])
    }
}
