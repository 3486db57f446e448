import XCTest

/// The bundled converters reproduce the reference's hf_to_mm output (shared/fixtures/golden): the
/// same rank directories, top-level entries (`model` or `model0`/`model1`, `checkpoint_version`
/// 3.0) and, for every tensor, the same name, dtype, shape and SHA-256.
final class GoldenConversionTests: XCTestCase {
    func check(_ golden: String, converter: String, hf: String, tp: Int, llm: [[Int]], vit: [[Int]], readFixture: Bool = false) throws {
        let scratch = Converters.Scratch()
        let out = scratch.path(golden)
        try Converters.hfToMM(converter, hf: Converters.hf(hf), to: out, tp: tp, llm: llm, vit: vit)
        let expected = try Converters.summary(ofManifest: Converters.golden(golden) + ".manifest.json")
        XCTAssertFalse(expected.models.isEmpty)
        Converters.assertEqual(try Converters.summary(ofMM: out), expected, golden)
        // The golden directory itself reads back to its manifest (guards the comparison).
        if readFixture { Converters.assertEqual(try Converters.summary(ofMM: Converters.golden(golden)), expected, golden + " (fixture)") }
    }

    func testQwen2VLTP1PP1() throws {
        try check("qwen2vl_tp1_pp1", converter: "Qwen2VLConverter", hf: "qwen2vl", tp: 1, llm: [[4]], vit: [[2]])
    }

    func testQwen2VLTP2PP3() throws {
        try check("qwen2vl_tp2_pp3", converter: "Qwen2VLConverter", hf: "qwen2vl", tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
    }

    func testQwen2VLTP1VPP2() throws {
        try check("qwen2vl_tp1_vpp2", converter: "Qwen2VLConverter", hf: "qwen2vl", tp: 1, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]])
    }

    /// Unaligned vocabulary (331 -> 166 + 165) and ViT heads (3 -> 2 + 1), InternViT names.
    func testInternVLQwen2TP2PP3() throws {
        try check("internvl_qwen2_tp2_pp3", converter: "InternVLConverter", hf: "internvl_qwen2", tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]],
                  readFixture: true)
    }

    /// A resplit of a golden gives exactly another golden: tp2/pp3 -> tp1/pp1 and -> tp1 with VPP.
    func testResplitGoldenToOtherGoldens() throws {
        let scratch = Converters.Scratch()
        let source = Converters.golden("qwen2vl_tp2_pp3")
        let from = Converters.Layout(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]])
        for (golden, layout) in [("qwen2vl_tp1_pp1", Converters.Layout(tp: 1, llm: [[4]], vit: [[2]])),
                                 ("qwen2vl_tp1_vpp2", Converters.Layout(tp: 1, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]))] {
            let out = scratch.path(golden)
            try Converters.resplit("Qwen2VLConverter", from: source, from, to: out, layout)
            Converters.assertEqual(try Converters.summary(ofMM: out), try Converters.summary(ofManifest: Converters.golden(golden) + ".manifest.json"), "resplit to " + golden)
        }
    }
}
