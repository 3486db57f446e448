import XCTest

/// Pipeline placement follows the intended rule (§5.3), where the reference at HEAD is wrong for
/// modalities whose first stage with layers is not stage 0 (§9 Q1): each stage gets its layers
/// renumbered from 0, first-stage tensors go to the first stage *with layers*, last-stage tensors
/// to the last one, and stages without layers get nothing of that module.
final class ConverterPlacementTests: XCTestCase {
    override class func tearDown() { Converters.removeSamples() }

    typealias Entries = [String: Converters.Entry]

    /// Tensors of one rank file's model entry.
    func model(_ s: Converters.MMSummary, _ dir: String, _ key: String = "model") -> Entries {
        s.models["release/\(dir)/model_optim_rng.pt"]?[key] ?? [:]
    }

    /// The names of one module's tensors in a model entry, with layer numbers as written.
    func names(_ m: Entries, _ prefix: String) -> Set<String> { Set(m.keys.filter { $0.hasPrefix(prefix) }) }

    /// `text_decoder.decoder.layers.N.` numbers present.
    func llmLayers(_ m: Entries) -> [Int] {
        Set(m.keys.compactMap { k -> Int? in
            guard k.hasPrefix("text_decoder.decoder.layers.") else { return nil }
            return Int(k.dropFirst("text_decoder.decoder.layers.".count).prefix { $0 != "." })
        }).sorted()
    }

    /// Every tensor of layer `local` on a stage equals global layer `global` of the PP 1 conversion.
    func assertLayer(_ stage: Entries, _ local: Int, isGlobal global: Int, of full: Entries, file: StaticString = #filePath, line: UInt = #line) {
        let prefix = "text_decoder.decoder.layers.\(global)."
        let expected = full.filter { $0.key.hasPrefix(prefix) }
        XCTAssertFalse(expected.isEmpty, file: file, line: line)
        for (name, e) in expected {
            let mine = "text_decoder.decoder.layers.\(local)." + name.dropFirst(prefix.count)
            XCTAssertEqual(stage[mine], e, "\(mine) should be global layer \(global)", file: file, line: line)
        }
    }

    /// LLM `[[0, 2, 2]]`: stage 0 holds the ViT only; the embedding goes to stage 1 with layers 0-1;
    /// stage 2 has layers 2-3 (as 0-1), the final norm and the output layer. The reference at HEAD
    /// shifts the stages and loses layers 2-3, the final norm and the output layer.
    func testLeadingZeroLLMStage() throws {
        let s = Converters.Scratch(), hf = Converters.hf("qwen2vl")
        let full = s.path("pp1"), mm = s.path("pp3")
        try Converters.hfToMM("Qwen2VLConverter", hf: hf, to: full, tp: 1, llm: [[4]], vit: [[2]])
        try Converters.hfToMM("Qwen2VLConverter", hf: hf, to: mm, tp: 1, llm: [[0, 2, 2]], vit: [[2, 0, 0]])
        let f = model(try Converters.summary(ofMM: full, bytes: true), "mp_rank_00")
        let p = try Converters.summary(ofMM: mm, bytes: true)
        let s0 = model(p, "mp_rank_00_000"), s1 = model(p, "mp_rank_00_001"), s2 = model(p, "mp_rank_00_002")
        XCTAssertTrue(names(s0, "text_decoder.").isEmpty)
        XCTAssertEqual(names(s0, "image_encoder."), names(f, "image_encoder."))
        XCTAssertEqual(names(s1, "text_decoder.embedding."), ["text_decoder.embedding.word_embeddings.weight"])
        XCTAssertEqual(llmLayers(s1), [0, 1])
        XCTAssertEqual(llmLayers(s2), [0, 1])
        assertLayer(s1, 0, isGlobal: 0, of: f); assertLayer(s1, 1, isGlobal: 1, of: f)
        assertLayer(s2, 0, isGlobal: 2, of: f); assertLayer(s2, 1, isGlobal: 3, of: f)
        XCTAssertEqual(s2["text_decoder.decoder.final_layernorm.weight"], f["text_decoder.decoder.final_layernorm.weight"])
        XCTAssertEqual(s2["text_decoder.output_layer.weight"], f["text_decoder.output_layer.weight"])
        XCTAssertTrue(names(s1, "image_encoder.").isEmpty && names(s2, "image_encoder.").isEmpty)
        XCTAssertEqual(s0.count + s1.count + s2.count, f.count)
    }

    /// VPP with leading zero stages (InternVL2-8B's documented shape, scaled down): LLM
    /// `[[0,0,1],[1,1,1]]`, ViT `[[2,0,0],[0,0,0]]` over 3 PP ranks. Flat stage f = v*3 + p.
    func testVPPWithLeadingZeroStages() throws {
        let s = Converters.Scratch(), hf = try Converters.sample("internvl_internlm2")
        let full = s.path("pp1"), mm = s.path("vpp")
        try Converters.hfToMM("InternVLConverter", hf: hf, to: full, tp: 1, llm: [[4]], vit: [[2]])
        try Converters.hfToMM("InternVLConverter", hf: hf, to: mm, tp: 1, llm: [[0, 0, 1], [1, 1, 1]], vit: [[2, 0, 0], [0, 0, 0]])
        let f = model(try Converters.summary(ofMM: full, bytes: true), "mp_rank_00")
        let p = try Converters.summary(ofMM: mm, bytes: true)
        for r in 0..<3 { XCTAssertEqual(p.topLevelKeys["release/mp_rank_00_00\(r)/model_optim_rng.pt"], ["model0", "model1", "checkpoint_version"]) }
        let stage = { (f: Int) in self.model(p, "mp_rank_00_00\(f % 3)", "model\(f / 3)") }
        XCTAssertEqual(names(stage(0), "image_encoder."), names(f, "image_encoder."))
        XCTAssertTrue(names(stage(0), "text_decoder.").isEmpty)
        XCTAssertTrue(stage(1).isEmpty)
        XCTAssertEqual(names(stage(2), "text_decoder.embedding."), ["text_decoder.embedding.word_embeddings.weight"])
        for (k, global) in [(2, 0), (3, 1), (4, 2), (5, 3)] {
            XCTAssertEqual(llmLayers(stage(k)), [0], "stage \(k)")
            assertLayer(stage(k), 0, isGlobal: global, of: f)
        }
        XCTAssertNotNil(stage(5)["text_decoder.output_layer.weight"])
        XCTAssertNotNil(stage(5)["text_decoder.decoder.final_layernorm.weight"])
        XCTAssertEqual((0..<6).map { stage($0).count }.reduce(0, +), f.count)
    }

    /// Hetero PP: a ViT list of one stage with an LLM over two replicates the whole ViT (embeddings
    /// and projector included) on both stages.
    func testHeteroPPReplicatesTheViT() throws {
        let s = Converters.Scratch(), hf = Converters.hf("internvl_qwen2")
        let full = s.path("pp1"), mm = s.path("hetero")
        try Converters.hfToMM("InternVLConverter", hf: hf, to: full, tp: 1, llm: [[4]], vit: [[2]])
        try Converters.hfToMM("InternVLConverter", hf: hf, to: mm, tp: 1, llm: [[2, 2]], vit: [[2]])
        let f = model(try Converters.summary(ofMM: full, bytes: true), "mp_rank_00")
        let p = try Converters.summary(ofMM: mm, bytes: true)
        let vit = f.filter { $0.key.hasPrefix("image_encoder.") }
        XCTAssertEqual(vit.count, 38)
        for r in ["mp_rank_00_000", "mp_rank_00_001"] {
            XCTAssertEqual(model(p, r).filter { $0.key.hasPrefix("image_encoder.") }, vit, r)
        }
        XCTAssertEqual(llmLayers(model(p, "mp_rank_00_001")), [0, 1])
        assertLayer(model(p, "mp_rank_00_001"), 1, isGlobal: 3, of: f)
    }
}
