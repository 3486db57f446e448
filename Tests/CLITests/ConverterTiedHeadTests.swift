import CLI
import Foundation
import Ops
import XCTest

/// §9 Q15: a tied model whose HF files also ship the LM head (a copy of the embedding). hf_to_mm
/// keeps Megatron's layout (a copy only with PP > 1) and mm_to_hf writes the head back exactly
/// where the original checkpoint has one.
final class ConverterTiedHeadTests: XCTestCase {
    func testTiedModelShippingItsHeadRoundTrips() throws {
        let scratch = try Scratch("tiedhead")
        var model = try SampleModel.preset(.qwen2_5vl, size: "tiny")
        model.llm.tied = true
        let gen = SampleGenerator(model: model)
        var tensors = try gen.tensors()
        tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"]
        let side: [String: [UInt8]] = ["config.json": JSONWriter(layout: .indented(2)).encode(gen.config()) + [0x0a]]
        let hf = scratch.path("hf")
        _ = try HFCheckpoint.save(tensors, to: hf, maxShardBytes: model.maxShardBytes, sideFiles: side)
        for (llm, vit) in [([[4]], [[2]]), ([[2, 2]], [[2, 0]])] {
            let mm = scratch.path("mm\(llm)"), back = scratch.path("back\(llm)")
            try Converters.hfToMM("Qwen2_5_VLConverter", hf: hf, to: mm, tp: 1, llm: llm, vit: vit)
            let ckpt = try MMCheckpointReader.load(mm)
            let heads = ckpt.ranks.filter { $0.chunks[0].contains("text_decoder.output_layer.weight") }.count
            XCTAssertEqual(heads, llm[0].count > 1 ? 1 : 0, "output layer copies for \(llm)")
            try Converters.mmToHF("Qwen2_5_VLConverter", mm: mm, hf: hf, to: back, tp: 1)
            try Converters.assertSameFiles(hf, back, "tied head, llm \(llm)")
        }
    }
}
