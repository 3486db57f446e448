import XCTest
import Ops

final class SampleTests: XCTestCase {
    /// The tiny Qwen2-VL sample has the fixture's names and shapes, is deterministic, and saves as a
    /// valid sharded HF checkpoint.
    func testTinyQwen2VLMatchesFixtureLayout() throws {
        let gen = SampleGenerator(model: try SampleModel.preset(.qwen2vl, size: "tiny"))
        let tensors = try gen.tensors()
        XCTAssertEqual(tensors.count, 82)
        XCTAssertEqual(tensors["visual.patch_embed.proj.weight"]?.shape, [32, 3, 2, 14, 14])
        XCTAssertEqual(tensors["model.layers.3.self_attn.k_proj.weight"]?.shape, [32, 64])
        XCTAssertEqual(tensors["lm_head.weight"]?.shape, [384, 64])
        XCTAssertEqual(tensors.totalBytes, 669_440)
        let again = try SampleGenerator(model: try SampleModel.preset(.qwen2vl, size: "tiny")).tensors()
        XCTAssertEqual(try tensors["model.norm.weight"]!.sha256(), try again["model.norm.weight"]!.sha256())
        XCTAssertNotEqual(try tensors["model.norm.weight"]!.sha256(), try tensors["visual.blocks.0.norm1.weight"]!.sha256())

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sample-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try HFCheckpoint.save(tensors, to: dir, maxShardBytes: gen.model.maxShardBytes, sideFiles: [:])
        let back = try HFCheckpoint.load(dir)
        XCTAssertEqual(back.tensors.count, 82)
        XCTAssertEqual(Set(back.shardOf.values).count, 2)
        for (name, t) in tensors { XCTAssertEqual(try back.tensors[name]!.sha256(), try t.sha256(), name) }
    }

    func testRealShapeSizes() throws {
        let two = try SampleGenerator(model: SampleModel.preset(.qwen2vl, size: "2b")).tensors()
        XCTAssertEqual(two["model.embed_tokens.weight"]?.shape, [151_936, 1536])
        XCTAssertNil(two["lm_head.weight"])  // tied
        XCTAssertGreaterThan(two.totalBytes, 4_300_000_000)
        XCTAssertLessThan(two.totalBytes, 4_500_000_000)
    }
}
