import Foundation
import XCTest
@testable import Ops

/// `mm-convert sample wan|wan_i2v`: the tiny presets are the fixtures' models (names, dtypes, shapes,
/// config.json byte for byte), written as a diffusers folder, and convert both ways; the real shapes
/// are Wan2.1's.
final class WanSampleTests: XCTestCase {
    func testTinyPresetsAreTheFixtures() throws {
        let s = Converters.Scratch()
        for (family, fixture, count) in [("wan", "wan_t2v_vpp2", 123), ("wan_i2v", "wan_i2v_tp1", 151)] {
            let dir = s.path(family)
            try Converters.run(["sample", family, dir])
            let input = WanConverterTests.sora(fixture + "/input")
            let mine = try HFCheckpoint.load(dir), ref = try HFCheckpoint.load(input)
            XCTAssertEqual(mine.tensors.count, count)
            XCTAssertEqual(Set(mine.tensors.names), Set(ref.tensors.names), family)
            for (name, t) in ref.tensors {
                XCTAssertEqual(mine.tensors[name]?.shape, t.shape, name)
                XCTAssertEqual(mine.tensors[name]?.dtype, t.dtype, name)
            }
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/config.json"), FileManager.default.contents(atPath: input + "/config.json"), family)
            XCTAssertEqual(try Converters.files(dir), ["config.json", "diffusion_pytorch_model-00001-of-00002.safetensors",
                                                      "diffusion_pytorch_model-00002-of-00002.safetensors", "diffusion_pytorch_model.safetensors.index.json"])
            XCTAssertEqual(mine.index?.name, SafetensorsIndex.diffusersFileName)
            // The same bytes on every run; converts to MindSpeed-MM with VPP and back byte for byte.
            let again = s.path(family + "-again")
            try Converters.run(["sample", family, again])
            try Converters.assertSameFiles(dir, again, family + " twice")
            let mm = s.path(family + "-mm"), back = s.path(family + "-back")
            try WanConverterTests.run("hf_to_mm", dir, mm, WanConverterTests.pp("[[1,1],[1,1]]"))
            try WanConverterTests.run("mm_to_hf", mm, back, ["--cfg.hf_dir", dir])
            try Converters.assertSameFiles(back, dir, family + " round trip")
        }
    }

    /// Wan2.1-T2V-1.3B: 30 blocks of width 1536 (12 heads x 128), FFN 8960; 1.42 G parameters.
    func testRealShapes() throws {
        let t2v = try SampleFixture.tensors(.wan, "1.3b")
        XCTAssertEqual(t2v["blocks.29.ffn.net.0.proj.weight"]?.shape, [8960, 1536])
        XCTAssertEqual(t2v["condition_embedder.text_embedder.linear_1.weight"]?.shape, [1536, 4096])
        XCTAssertEqual(t2v["patch_embedding.weight"]?.shape, [1536, 16, 1, 2, 2])
        XCTAssertEqual(t2v["proj_out.weight"]?.shape, [64, 1536])
        XCTAssertNil(t2v["blocks.30.scale_shift_table"])
        XCTAssertEqual(t2v.reduce(0) { $0 + $1.tensor.numel }, 1_418_996_800)
        // Wan2.2-TI2V-5B: width 3072 (24 heads x 128), FFN 14336, 48 latent channels in and out.
        let ti2v = try SampleFixture.tensors(.wan, "5b")
        XCTAssertEqual(ti2v["blocks.29.ffn.net.0.proj.weight"]?.shape, [14336, 3072])
        XCTAssertEqual(ti2v["patch_embedding.weight"]?.shape, [3072, 48, 1, 2, 2])
        XCTAssertEqual(ti2v["proj_out.weight"]?.shape, [192, 3072])
        XCTAssertNil(ti2v["blocks.30.scale_shift_table"])
        let i2v = try SampleFixture.tensors(.wanI2V, "14b")
        XCTAssertEqual(i2v["blocks.39.attn2.add_k_proj.weight"]?.shape, [5120, 5120])
        XCTAssertEqual(i2v["condition_embedder.image_embedder.ff.net.2.weight"]?.shape, [5120, 1280])
        XCTAssertEqual(i2v["patch_embedding.weight"]?.shape, [5120, 36, 1, 2, 2])
        let config = try SampleFixture.config(.wan, "1.3b")
        XCTAssertEqual(config["num_layers"], .int(30))
        XCTAssertEqual(config["ffn_dim"], .int(8960))
    }
}
