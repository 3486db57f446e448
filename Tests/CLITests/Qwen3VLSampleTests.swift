import Ops
import XCTest

/// `mm-convert sample qwen3vl` / `qwen3vl_moe`: the tiny size is the fixture's checkpoint (tensor
/// names, shapes, dtypes, bytes and config.json), the real sizes have the Hub checkpoints' shapes.
final class Qwen3VLSampleTests: XCTestCase {
    func testTinyQwen3VLMatchesFixture() throws {
        try SampleFixture.assertTinyMatches(.qwen3vl, fixture: "qwen3vl", tensors: 104)
    }

    func testTinyQwen3VLMoeMatchesFixture() throws {
        try SampleFixture.assertTinyMatches(.qwen3vlMoe, fixture: "qwen3vl_moe", tensors: 64)
    }

    /// Through the command line: a loadable two-shard checkpoint whose config.json and
    /// generation_config.json are byte for byte the fixture's, written the same on every run.
    func testCommandWritesFixtureLikeCheckpoint() throws {
        let scratch = Converters.Scratch()
        for (family, fixture) in [("qwen3vl", "qwen3vl"), ("qwen3vl_moe", "qwen3vl_moe")] {
            let dir = scratch.path(family), again = scratch.path(family + "-again")
            try Converters.run(["sample", family, dir])
            try Converters.run(["sample", family, again])
            let back = try HFCheckpoint.load(dir), ref = try HFCheckpoint.load(Converters.hf(fixture))
            XCTAssertEqual(Set(back.tensors.names), Set(ref.tensors.names), family)
            XCTAssertEqual(Set(back.shardOf.values).count, 2, family)
            for file in ["config.json", "generation_config.json"] {
                XCTAssertEqual(FileManager.default.contents(atPath: dir + "/" + file),
                               FileManager.default.contents(atPath: Converters.hf(fixture) + "/" + file), "\(family) \(file)")
            }
            let twice = try HFCheckpoint.load(again)
            for (name, t) in back.tensors { XCTAssertEqual(try twice.tensors[name]!.sha256(), try t.sha256(), name) }
        }
    }

    /// The real sizes, checked lazily (nothing is written): the Hub's shapes, tying and byte counts.
    func testRealShapeSizes() throws {
        func tensors(_ family: SampleFamily, _ size: String) throws -> TensorMap {
            try SampleGenerator(model: SampleModel.preset(family, size: size)).tensors()
        }
        let eight = try tensors(.qwen3vl, "8b")
        XCTAssertEqual(eight.totalBytes, 17_534_247_392)  // the Hub index's total_size
        XCTAssertEqual(eight["model.language_model.layers.35.self_attn.q_proj.weight"]?.shape, [4096, 4096])
        XCTAssertEqual(eight["model.language_model.layers.35.self_attn.k_proj.weight"]?.shape, [1024, 4096])
        XCTAssertEqual(eight["model.language_model.layers.0.mlp.down_proj.weight"]?.shape, [4096, 12288])
        XCTAssertEqual(eight["lm_head.weight"]?.shape, [151_936, 4096])
        XCTAssertEqual(eight["model.visual.blocks.26.mlp.linear_fc1.weight"]?.shape, [4304, 1152])
        XCTAssertEqual(eight["model.visual.pos_embed.weight"]?.shape, [2304, 1152])
        XCTAssertEqual(eight["model.visual.merger.norm.weight"]?.shape, [1152])
        XCTAssertEqual(eight["model.visual.deepstack_merger_list.2.norm.weight"]?.shape, [4608])
        XCTAssertEqual(eight["model.visual.deepstack_merger_list.2.linear_fc2.weight"]?.shape, [4096, 4608])
        XCTAssertNil(eight["model.visual.deepstack_merger_list.3.norm.weight"])

        for (size, hidden, bytes) in [("2b", 2048, 4_255_064_064), ("4b", 2560, 8_875_631_616)] {
            let t = try tensors(.qwen3vl, size)
            XCTAssertNil(t["lm_head.weight"], size)  // tied
            XCTAssertEqual(t["model.language_model.embed_tokens.weight"]?.shape, [151_936, hidden], size)
            XCTAssertEqual(t["model.visual.merger.linear_fc2.weight"]?.shape, [hidden, 4096], size)
            XCTAssertEqual(t.totalBytes, bytes, size)
        }

        let moe = try tensors(.qwen3vlMoe, "30b_a3b")
        XCTAssertEqual(moe["model.language_model.layers.47.self_attn.q_proj.weight"]?.shape, [4096, 2048])
        XCTAssertEqual(moe["model.language_model.layers.47.self_attn.o_proj.weight"]?.shape, [2048, 4096])
        XCTAssertEqual(moe["model.language_model.layers.47.self_attn.k_norm.weight"]?.shape, [128])
        XCTAssertEqual(moe["model.language_model.layers.47.mlp.gate.weight"]?.shape, [128, 2048])
        XCTAssertEqual(moe["model.language_model.layers.47.mlp.experts.gate_up_proj"]?.shape, [128, 2048, 1536])
        XCTAssertEqual(moe["model.language_model.layers.47.mlp.experts.down_proj"]?.shape, [128, 768, 2048])
        XCTAssertEqual(moe.totalBytes, 62_141_508_064)  // 31.07 B parameters

        let bench = try tensors(.qwen3vlMoe, "bench")
        XCTAssertEqual(bench.count, 606)
        XCTAssertEqual(bench.totalBytes, 2_498_994_176)
        XCTAssertEqual(bench["model.language_model.layers.47.mlp.experts.gate_up_proj"]?.shape, [128, 256, 512])
        XCTAssertEqual(HFCheckpoint.shardPlan(bench, maxShardBytes: try SampleModel.preset(.qwen3vlMoe, size: "bench").maxShardBytes).count, 3)
    }

    /// Every size the usage text and errors list is a preset; others are refused with that list.
    func testSizesAndUnknownSize() throws {
        for family in SampleFamily.allCases {
            for size in SampleModel.sizes(family) { XCTAssertNoThrow(try SampleModel.preset(family, size: size), "\(family) \(size)") }
        }
        XCTAssertThrowsError(try SampleModel.preset(.qwen3vlMoe, size: "8b")) { e in
            XCTAssertTrue("\(e)".contains("tiny, 30b_a3b, bench"), "\(e)")
        }
        let failed = Converters.runFailing(["sample", "qwen3vl", unusedDirectory, "--size", "7b"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.text.contains("choose one of: tiny, 2b, 4b, 8b"), failed.text)
    }

    private var unusedDirectory: String { FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString)").path }
}
