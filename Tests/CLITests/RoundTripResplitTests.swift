import XCTest

/// `resplit` (MM -> MM) gives exactly what a direct conversion to the target layout gives, for
/// every family, across TP, PP, VPP, hetero TP and the tied output layer appearing or vanishing
/// when PP crosses 1 (§9 Q13). The reference's InternVL resplit is a no-op (§9 Q8); ours works.
final class RoundTripResplitTests: XCTestCase {
    override class func tearDown() { Converters.removeSamples() }

    typealias L = Converters.Layout

    /// Converts `hf` directly to `a` and to `b`; resplits a -> b and b -> a; each result must equal
    /// the direct conversion, tensor by tensor.
    func checkResplit(_ converter: String, hf: String, _ a: L, _ b: L, inferSource: Bool = false, extra: [String] = [],
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let s = Converters.Scratch()
        let directA = s.path("a"), directB = s.path("b")
        try Converters.hfToMM(converter, hf: hf, to: directA, tp: a.tp, vitTP: a.vitTP, llm: a.llm, vit: a.vit)
        try Converters.hfToMM(converter, hf: hf, to: directB, tp: b.tp, vitTP: b.vitTP, llm: b.llm, vit: b.vit)
        let ab = s.path("a-to-b"), ba = s.path("b-to-a")
        try Converters.resplit(converter, from: directA, a, to: ab, b, inferSource: inferSource, extra: extra)
        try Converters.resplit(converter, from: directB, b, to: ba, a, inferSource: inferSource, extra: extra)
        let label = "\(converter) tp\(a.tp)/\(a.vitTP ?? 0) \(Converters.list(a.llm)) <-> tp\(b.tp)/\(b.vitTP ?? 0) \(Converters.list(b.llm))"
        Converters.assertEqual(try Converters.summary(ofMM: ab, bytes: true), try Converters.summary(ofMM: directB, bytes: true), label + ": a -> b", file: file, line: line)
        Converters.assertEqual(try Converters.summary(ofMM: ba, bytes: true), try Converters.summary(ofMM: directA, bytes: true), label + ": b -> a", file: file, line: line)
    }

    func testQwen2VL() throws {
        let hf = Converters.hf("qwen2vl")
        try checkResplit("Qwen2VLConverter", hf: hf, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), L(tp: 1, llm: [[0, 2, 2]], vit: [[2, 0, 0]]))
        // To VPP and back, source layers read from the files.
        try checkResplit("Qwen2VLConverter", hf: hf, L(tp: 2, llm: [[4]], vit: [[2]]), L(tp: 1, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]), inferSource: true)
    }

    /// Tied embeddings: PP 1 has no output layer, PP > 1 a copy on the last stage; resplit adds and
    /// removes it (the reference does neither). Hetero TP: the ViT over 4 ranks, the LLM over 2.
    func testQwen2_5VLTiedCrossingPP1() throws {
        let hf = try Converters.sample("qwen2_5vl")
        try checkResplit("Qwen2_5_VLConverter", hf: hf, L(tp: 1, llm: [[4]], vit: [[2]]), L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]))
        try checkResplit("Qwen2_5_VLConverter", hf: hf, L(tp: 2, vitTP: 4, llm: [[2, 2]], vit: [[1, 1]]), L(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]))
    }

    /// Unaligned ViT heads (3 over 2 ranks) and vocabulary (331 rows) both ways.
    func testInternVLQwen2() throws {
        let hf = Converters.hf("internvl_qwen2")
        try checkResplit("InternVLConverter", hf: hf, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), L(tp: 1, llm: [[4]], vit: [[2]]),
                         extra: ["--cfg.hf_config.hf_dir", hf])
        try checkResplit("InternVLConverter", hf: hf, L(tp: 1, vitTP: 3, llm: [[4]], vit: [[2]]), L(tp: 2, llm: [[0, 2, 2]], vit: [[2, 0, 0]]),
                         inferSource: true, extra: ["--cfg.hf_config.hf_dir", hf])
    }

    /// The reference's own TP 2 / PP 3 output resplit to TP 1, then converted back, gives the
    /// original Hugging Face checkpoint.
    func testInternVLGoldenResplitThenBackToHF() throws {
        let s = Converters.Scratch(), hf = Converters.hf("internvl_qwen2")
        let tp1 = s.path("tp1"), back = s.path("hf")
        try Converters.resplit("InternVLConverter", from: Converters.golden("internvl_qwen2_tp2_pp3"), L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),
                               to: tp1, L(tp: 1, llm: [[4]], vit: [[2]]), extra: ["--cfg.hf_config.hf_dir", hf])
        try Converters.mmToHF("InternVLConverter", mm: tp1, hf: hf, to: back, tp: 1)
        try Converters.assertSameFiles(back, hf, "golden -> resplit tp1 -> mm_to_hf")
    }

    func testInternVLInternLM2ToVPPAndBack() throws {
        let hf = try Converters.sample("internvl_internlm2")
        try checkResplit("InternVLConverter", hf: hf, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), L(tp: 1, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]),
                         extra: ["--cfg.hf_config.hf_dir", hf])
    }

    func testInternVLLlama() throws {
        let hf = try Converters.sample("internvl_llama")
        try checkResplit("InternVLConverter", hf: hf, L(tp: 2, llm: [[2, 2]], vit: [[2]]), L(tp: 1, llm: [[0, 0, 1], [1, 1, 1]], vit: [[2, 0, 0], [0, 0, 0]]),
                         extra: ["--cfg.hf_config.hf_dir", hf])
    }
}
