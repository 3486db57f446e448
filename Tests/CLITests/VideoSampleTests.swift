import Foundation
import XCTest
@testable import Ops

/// `mm-convert sample vace|hunyuanvideo`: the tiny presets are the test models (VACE: the shared
/// fixture sora/vace_roundtrip, config.json byte for byte; HunyuanVideo: HunyuanVideoConverterTests'
/// tensors), written as the releases ship them, and convert both ways; the real shapes are
/// Wan2.1-VACE-1.3B's and hunyuan-video-t2v-720p's.
final class VideoSampleTests: XCTestCase {
    /// Writes the tiny sample of `family` twice (the same bytes both times); the first's directory.
    func sampleTwice(_ family: String, in s: Converters.Scratch) throws -> String {
        let dir = s.path(family), again = s.path(family + "-again")
        try Converters.run(["sample", family, dir])
        try Converters.run(["sample", family, again, "--quiet"])
        try Converters.assertSameFiles(dir, again, family + " twice")
        return dir
    }

    func testVACETinyIsTheFixture() throws {
        let s = Converters.Scratch()
        let dir = try sampleTwice("vace", in: s)
        let input = VACEConverterTests.input
        XCTAssertEqual(try Converters.files(dir), ["config.json", "diffusion_pytorch_model.safetensors"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/config.json"), FileManager.default.contents(atPath: input + "/config.json"))
        let mine = try HFCheckpoint.load(dir).tensors, ref = try HFCheckpoint.load(input).tensors
        XCTAssertEqual(mine.count, 185)
        XCTAssertEqual(Set(mine.names), Set(ref.names))
        for (name, t) in ref {
            XCTAssertEqual(mine[name]?.shape, t.shape, name)
            XCTAssertEqual(mine[name]?.dtype, t.dtype, name)
        }
        // hf_to_mm, then mm_to_hf back to one torch file holding exactly the sample's tensors.
        let mm = s.path("vace-mm"), back = s.path("vace-back") + ".pt"
        try VACEConverterTests.run("hf_to_mm", dir, mm)
        XCTAssertNotNil(try MMCheckpointReader.load(mm).ranks[0].chunks[0]["vace_dit.vace_blocks.1.wan_dit_block.cross_attn.proj_out.bias"])
        try VACEConverterTests.run("mm_to_hf", mm, back)
        XCTAssertEqual(try VACEConverterTests.entries(ofPT: back), try VACEConverterTests.entries(ofHF: dir))
    }

    /// Wan2.1-VACE-1.3B: the Wan2.1-T2V-1.3B blocks plus 15 VACE blocks (on blocks 0, 2, ..., 28).
    func testVACERealShapes() throws {
        let t = try SampleFixture.tensors(.vace, "1.3b")
        XCTAssertEqual(t["blocks.29.ffn.0.weight"]?.shape, [8960, 1536])
        XCTAssertEqual(t["vace_blocks.14.after_proj.weight"]?.shape, [1536, 1536])
        XCTAssertNil(t["vace_blocks.15.after_proj.weight"])
        XCTAssertNotNil(t["vace_blocks.0.before_proj.weight"])
        XCTAssertNil(t["vace_blocks.1.before_proj.weight"])
        XCTAssertEqual(t["vace_patch_embedding.weight"]?.shape, [1536, 96, 1, 2, 2])
        XCTAssertEqual(t["text_embedding.0.weight"]?.shape, [1536, 4096])
        // Wan2.1-T2V-1.3B's 1_418_996_800 + 15 VACE blocks, before_proj, vace_patch_embedding
        XCTAssertEqual(t.reduce(0) { $0 + $1.tensor.numel }, 2_153_972_032)
        let config = try SampleFixture.config(.vace, "1.3b")
        XCTAssertEqual(config["vace_layers"], .list(stride(from: 0, to: 30, by: 2).map { .int($0) }))
        XCTAssertEqual(config["dim"], .int(1536))
    }

    func testHunyuanVideoTinyAndRoundTrip() throws {
        let s = Converters.Scratch()
        let dir = try sampleTwice("hunyuanvideo", in: s)
        XCTAssertEqual(try Converters.files(dir), ["transformers/mp_rank_00_model_states.pt"])
        let file = dir + "/transformers/mp_rank_00_model_states.pt"
        let root = try TorchCheckpoint.load(file)
        XCTAssertEqual(root.dictValue?.items.map { PickleValue.keyText($0.key) }, ["module"])
        let mine = try StateDictSelection.select(root, key: "module", path: file).tensors
        let want = try HunyuanVideoConverterTests.tensors()
        XCTAssertEqual(Set(mine.names), Set(want.names))
        XCTAssertEqual(mine.names.last, "final_layer.adaLN_modulation.1.bias")  // module order
        for (name, t) in want {
            XCTAssertEqual(mine[name]?.shape, t.shape, name)
            XCTAssertEqual(mine[name]?.dtype, t.dtype, name)
        }
        // source_to_mm over TP 2, and mm_to_source back to the same tensors.
        let mm = s.path("hyv-mm"), back = s.path("hyv-back") + ".pt"
        try HunyuanVideoConverterTests.run("source_to_mm", file, mm, HunyuanVideoConverterTests.tp(2))
        XCTAssertEqual(try MMCheckpointReader.load(mm).tpSize, 2)
        try HunyuanVideoConverterTests.run("mm_to_source", mm, back)
        let out = try StateDictSelection.select(try TorchCheckpoint.load(back), key: "module", path: back).tensors
        XCTAssertEqual(Set(out.names), Set(mine.names))
        for (name, t) in mine { XCTAssertEqual(try out[name]?.sha256(), try t.sha256(), name) }
    }

    /// hunyuan-video-t2v-720p: width 3072, 20 double and 40 single blocks, MLP 12288.
    func testHunyuanVideoRealShapes() throws {
        let t = try SampleFixture.tensors(.hunyuanvideo, "720p")
        XCTAssertEqual(t["single_blocks.39.linear1.weight"]?.shape, [21504, 3072])
        XCTAssertEqual(t["single_blocks.39.linear2.weight"]?.shape, [3072, 15360])
        XCTAssertEqual(t["double_blocks.19.img_mod.linear.weight"]?.shape, [18432, 3072])
        XCTAssertEqual(t["double_blocks.0.txt_attn_q_norm.weight"]?.shape, [128])
        XCTAssertEqual(t["txt_in.input_embedder.weight"]?.shape, [3072, 4096])
        XCTAssertEqual(t["vector_in.in_layer.weight"]?.shape, [3072, 768])
        XCTAssertEqual(t["img_in.proj.weight"]?.shape, [3072, 16, 1, 2, 2])
        XCTAssertNotNil(t["txt_in.individual_token_refiner.blocks.1.mlp.fc2.weight"])
        XCTAssertNil(t["double_blocks.20.img_mod.linear.weight"])
        XCTAssertEqual(t.reduce(0) { $0 + $1.tensor.numel }, 12_821_012_544)
    }
}
