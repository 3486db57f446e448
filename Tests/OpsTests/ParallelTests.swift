import XCTest
@testable import Ops

/// The worked examples of §4, §5, §6 and Appendix A.
final class ParallelTests: XCTestCase {
    // MARK: - TP strategies (§4.1, A.3, A.4)

    func testGLUSplit() throws {
        // F=6, tp=2: rows g0..g5 (0..5), u0..u5 (10..15).
        let fc1 = try TF.tensor([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], [12])
        let r = try TPStrategy.glu.split(fc1, into: 2, name: "fc1")
        XCTAssertEqual(try TF.values(r[0]), [0, 1, 2, 10, 11, 12])
        XCTAssertEqual(try TF.values(r[1]), [3, 4, 5, 13, 14, 15])
        XCTAssertEqual(try TF.values(TPStrategy.glu.merge(r, name: "fc1")), try TF.values(fc1))
    }

    func testUnalignedVocab() throws {
        XCTAssertEqual(try TPStrategy.unalignedVocab.split(TF.iota([11, 2]), into: 2, name: "e").map { $0.shape[0] }, [6, 5])
        let r = try TPStrategy.unalignedVocab.split(TF.iota([10]), into: 4, name: "e")
        XCTAssertEqual(try r.map { try TF.values($0) }, [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]])
        XCTAssertEqual(try TF.values(TPStrategy.unalignedVocab.merge(r, name: "e")), Array(0..<10))
    }

    func testUnalignedRowAndCol() throws {
        // heads=3, D=6 (2 rows per head), tp=2, rows 0..17.
        let s = TPStrategy.unalignedRow(heads: 3)
        let r = try s.split(TF.iota([18]), into: 2, name: "qkv")
        XCTAssertEqual(try TF.values(r[0]), [0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15])
        XCTAssertEqual(try TF.values(r[1]), [4, 5, 10, 11, 16, 17])
        // The correct merge regroups the thirds (§9 Q5), giving back 0..17.
        XCTAssertEqual(try TF.values(s.merge(r, name: "qkv")), Array(0..<18))
        let w = try s.split(TF.iota([18, 2]), into: 2, name: "qkv.w")
        XCTAssertEqual(w.map(\.shape), [[12, 2], [6, 2]])
        XCTAssertEqual(try TF.values(s.merge(w, name: "qkv.w")), Array(0..<36))

        let c = TPStrategy.unalignedCol(heads: 3)
        let cols = try c.split(TF.iota([2, 6]), into: 2, name: "proj")
        XCTAssertEqual(try TF.values(cols[0]), [0, 1, 2, 3, 6, 7, 8, 9])
        XCTAssertEqual(try TF.values(cols[1]), [4, 5, 10, 11])
        XCTAssertEqual(try TF.values(c.merge(cols, name: "proj")), Array(0..<12))
    }

    func testDivisibilityErrorsNameTheTensor() {
        let t1 = TF.errorText { _ = try TPStrategy.row.split(TF.iota([14, 2]), into: 4, name: "layers.0.linear_qkv.weight") }
        XCTAssertTrue(t1.contains("layers.0.linear_qkv.weight") && t1.contains("14 rows do not split over tp=4"), t1)
        let t2 = TF.errorText { _ = try TPStrategy.col.split(TF.iota([2, 6]), into: 4, name: "proj") }
        XCTAssertTrue(t2.contains("proj") && t2.contains("tp=4"), t2)
        let t3 = TF.errorText { _ = try TPStrategy.glu.split(TF.iota([12]), into: 4, name: "fc1") }
        XCTAssertTrue(t3.contains("fc1"), t3)
        let t4 = TF.errorText { _ = try TPStrategy.unalignedRow(heads: 3).split(TF.iota([18]), into: 4, name: "qkv") }
        XCTAssertTrue(t4.contains("3 heads do not split over tp=4"), t4)
    }

    // MARK: - Hetero TP (§4.3, A.5)

    func testHeteroTP() throws {
        let table = try TPTable([
            ("image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv.weight", .row),
            ("text_decoder.decoder.layers.{L}.self_attention.linear_proj.weight", .col),
        ])
        let vitQKV = "image_encoder.encoder.blocks.layers.0.self_attention.linear_qkv.weight"
        let proj = "text_decoder.decoder.layers.0.self_attention.linear_proj.weight"
        let norm = "text_decoder.decoder.final_layernorm.weight"
        let model = TF.map([(vitQKV, try TF.iota([4, 1])), (proj, try TF.iota([1, 8])), (norm, try TF.iota([2]))])

        let tp = try TensorParallel(table: table, tp: 4, vitTP: 2)
        XCTAssertEqual(tp.width, 4)
        let ranks = try tp.split(model)
        XCTAssertEqual(try ranks.map { try TF.values($0[vitQKV]!) }, [[0, 1], [2, 3], [0, 1], [2, 3]])  // pieces 0,1,0,1
        XCTAssertEqual(try ranks.map { try TF.values($0[proj]!) }, [[0, 1], [2, 3], [4, 5], [6, 7]])
        XCTAssertEqual(try ranks.map { try TF.values($0[norm]!) }, Array(repeating: [0, 1], count: 4))
        try TF.assertIdentical(try tp.merge(ranks), model)

        let tp2 = try TensorParallel(table: table, tp: 2, vitTP: 1)
        let r2 = try tp2.split(model)
        XCTAssertEqual(r2.count, 2)
        XCTAssertEqual(try r2.map { try TF.values($0[vitQKV]!) }, [[0, 1, 2, 3], [0, 1, 2, 3]])
        try TF.assertIdentical(try tp2.merge(r2), model)

        // ViT at TP 4 beside an LLM at TP 2: LLM pieces 0,1,0,1.
        let tp3 = try TensorParallel(table: table, tp: 2, vitTP: 4)
        XCTAssertEqual(try tp3.split(model).map { try TF.values($0[proj]!) }, [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7]])
        try TF.assertIdentical(try tp3.merge(tp3.split(model)), model)

        XCTAssertTrue(TF.errorText { _ = try TensorParallel(table: table, tp: 4, vitTP: 3) }.contains("does not divide"))
        var broken = ranks
        broken[2].remove(norm)
        XCTAssertTrue(TF.errorText { _ = try tp.merge(broken) }.contains(norm))
    }

    // MARK: - PP (§5)

    /// A model whose tensors carry their identity as values: ViT layer L = L, LLM layer L = 1000+L.
    func model(vit: Int, llm: Int, schema: StageSchema = .vision) throws -> TensorMap {
        var m = TensorMap()
        if vit > 0 {
            m["image_encoder.encoder.patch_embed.proj.weight"] = try TF.iota([1], from: 5000)
            for l in 0..<vit { m["\(schema.layerPrefix)\(l).input_layernorm.weight"] = try TF.iota([1], from: Int32(l)) }
            for l in 0..<vit { m["\(schema.layerPrefix)\(l).mlp.linear_fc1.weight"] = try TF.iota([1], from: Int32(l)) }
            m["image_encoder.projector.layernorm.weight"] = try TF.iota([1], from: 5001)
        }
        m["text_decoder.embedding.word_embeddings.weight"] = try TF.iota([1], from: 6000)
        for l in 0..<llm { m["text_decoder.decoder.layers.\(l).input_layernorm.weight"] = try TF.iota([1], from: Int32(1000 + l)) }
        m["text_decoder.decoder.final_layernorm.weight"] = try TF.iota([1], from: 6001)
        m["text_decoder.output_layer.weight"] = try TF.iota([1], from: 6002)
        return m
    }

    /// What one stage holds: global layer numbers (read from the values, after checking the local
    /// numbers run 0..<n) and which first/last tensors.
    struct Content: Equatable, CustomStringConvertible {
        var vit: [Int] = [], llm: [Int] = []
        var patchEmbed = false, projector = false, embedding = false, finalNorm = false, output = false
        var description: String {
            "vit \(vit.first.map { "\($0)-\(vit.last!)" } ?? "-")\(patchEmbed ? " +patch" : "")\(projector ? " +proj" : "") | llm \(llm.first.map { "\($0)-\(llm.last!)" } ?? "-")\(embedding ? " +emb" : "")\(finalNorm ? " +norm" : "")\(output ? " +out" : "")"
        }
    }

    func content(_ s: TensorMap, vitPrefix: String = StageSchema.vision.layerPrefix) throws -> Content {
        func layers(_ prefix: String, _ offset: Int32) throws -> [Int] {
            var out: [Int] = []
            var l = 0
            while let t = s["\(prefix)\(l).input_layernorm.weight"] { out.append(Int(try TF.values(t)[0] - offset)); l += 1 }
            let count = s.names.filter { $0.hasPrefix(prefix) && $0.hasSuffix("input_layernorm.weight") }.count
            XCTAssertEqual(count, out.count, "local layer numbers of \(prefix) are not 0..<n")
            return out
        }
        var c = Content()
        c.vit = try layers(vitPrefix, 0)
        c.llm = try layers("text_decoder.decoder.layers.", 1000)
        c.patchEmbed = s.contains("image_encoder.encoder.patch_embed.proj.weight")
        c.projector = s.contains("image_encoder.projector.layernorm.weight")
        c.embedding = s.contains("text_decoder.embedding.word_embeddings.weight")
        c.finalNorm = s.contains("text_decoder.decoder.final_layernorm.weight")
        c.output = s.contains("text_decoder.output_layer.weight")
        return c
    }

    func C(vit: ClosedRange<Int>? = nil, llm: ClosedRange<Int>? = nil, patch: Bool = false, proj: Bool = false,
           emb: Bool = false, norm: Bool = false) -> Content {
        Content(vit: vit.map(Array.init) ?? [], llm: llm.map(Array.init) ?? [], patchEmbed: patch, projector: proj,
                embedding: emb, finalNorm: norm, output: norm)
    }

    func layout(vit: [[Int]], llm: [[Int]]) throws -> PipelineLayout {
        try PipelineLayout([try PipelineModule(.vision, layers: vit), try PipelineModule(.text, layers: llm)])
    }

    // §5.6 example A: LLM [1,10,10,7], ViT [32,0,0,0].
    func testExampleA() throws {
        let m = try model(vit: 32, llm: 28)
        let l = try layout(vit: [[32, 0, 0, 0]], llm: [[1, 10, 10, 7]])
        let stages = try l.stage(m)
        XCTAssertEqual(try stages.map { try content($0) }, [
            C(vit: 0...31, llm: 0...0, patch: true, proj: true, emb: true),
            C(llm: 1...10), C(llm: 11...20), C(llm: 21...27, norm: true),
        ])
        try TF.assertIdentical(try l.unstage(stages), m, ordered: false)
        // mm_to_hf without lists: infer them from the stages.
        XCTAssertEqual(try PipelineLayout.inferLayers(stages, schema: .text), [1, 10, 10, 7])
        XCTAssertEqual(try PipelineLayout.inferLayers(stages, schema: .vision, totalLayers: 32), [32, 0, 0, 0])
    }

    // §5.7 example B (VPP), with the intended placement table.
    func testExampleBVirtualPipeline() throws {
        let m = try model(vit: 32, llm: 28)
        let l = try layout(vit: [[10, 10, 10, 2], [0, 0, 0, 0], [0, 0, 0, 0]], llm: [[0, 0, 0, 1], [4, 4, 4, 4], [4, 3, 2, 2]])
        XCTAssertEqual(l.stageCount, 12)
        let stages = try l.stage(m)
        XCTAssertEqual(try stages.map { try content($0) }, [
            C(vit: 0...9, patch: true), C(vit: 10...19), C(vit: 20...29), C(vit: 30...31, llm: 0...0, proj: true, emb: true),
            C(llm: 1...4), C(llm: 5...8), C(llm: 9...12), C(llm: 13...16),
            C(llm: 17...20), C(llm: 21...23), C(llm: 24...25), C(llm: 26...27, norm: true),
        ])
        // File assembly: PP rank 3 holds flat stages 3, 7, 11 as model0..2.
        XCTAssertEqual([3, 7, 11].map { PipelineLayout.rankAndChunk(ofStage: $0, pp: 4).rank }, [3, 3, 3])
        XCTAssertEqual([3, 7, 11].map { PipelineLayout.rankAndChunk(ofStage: $0, pp: 4).chunk }, [0, 1, 2])
        try TF.assertIdentical(try l.unstage(stages), m, ordered: false)
        XCTAssertEqual(try PipelineLayout.inferLayers(stages, schema: .text), [0, 0, 0, 1, 4, 4, 4, 4, 4, 3, 2, 2])
    }

    // A leading empty stage (§9 Q1: the reference loses layers 14-27 here).
    func testLeadingEmptyStage() throws {
        let m = try model(vit: 4, llm: 28)
        let l = try layout(vit: [[4, 0, 0]], llm: [[0, 14, 14]])
        XCTAssertEqual(try l.stage(m).map { try content($0) }, [
            C(vit: 0...3, patch: true, proj: true), C(llm: 0...13, emb: true), C(llm: 14...27, norm: true),
        ])
    }

    // §5.8 example C: ViT [[32]], LLM [[14,14]]: the ViT is on both stages.
    func testExampleCHeteroPipeline() throws {
        let m = try model(vit: 32, llm: 28)
        let l = try layout(vit: [[32]], llm: [[14, 14]])
        let stages = try l.stage(m)
        XCTAssertEqual(try stages.map { try content($0) }, [
            C(vit: 0...31, llm: 0...13, patch: true, proj: true, emb: true),
            C(vit: 0...31, llm: 14...27, patch: true, proj: true, norm: true),
        ])
        try TF.assertIdentical(try l.unstage(stages), m, ordered: false)
        XCTAssertEqual(try PipelineLayout.inferLayers(stages, schema: .vision), [32, 32])
        XCTAssertEqual(try PipelineLayout.inferLayers(stages, schema: .vision, totalLayers: 32), [32])
        XCTAssertThrowsError(try PipelineLayout.inferLayers(stages, schema: .vision, totalLayers: 30))
        // A module whose stage count does not divide the model's is refused.
        XCTAssertThrowsError(try layout(vit: [[1, 1, 1]], llm: [[1, 1, 1, 1]]))
    }

    // The golden qwen2vl_tp1_vpp2 placement (fixtures README): llm [[1,1],[1,1]], vit [[2,0],[0,0]].
    func testGoldenVPPPlacement() throws {
        let m = try model(vit: 2, llm: 4)
        let stages = try layout(vit: [[2, 0], [0, 0]], llm: [[1, 1], [1, 1]]).stage(m)
        XCTAssertEqual(try stages.map { try content($0) }, [
            C(vit: 0...1, llm: 0...0, patch: true, proj: true, emb: true), C(llm: 1...1), C(llm: 2...2), C(llm: 3...3, norm: true),
        ])
    }

    func testUnclaimedNamesAreAnErrorListingThem() throws {
        var m = try model(vit: 2, llm: 2)
        m["talker.model.x"] = try TF.iota([1])
        m["token2wav.y"] = try TF.iota([1])
        let l = try layout(vit: [[2]], llm: [[2]])
        let text = TF.errorText { _ = try l.stage(m) }
        XCTAssertTrue(text.contains("'talker.model.x'") && text.contains("'token2wav.y'") && text.contains("2 tensor(s)"), text)
        // A layer beyond the layout.
        let short = try layout(vit: [[2]], llm: [[1]])
        XCTAssertTrue(TF.errorText { _ = try short.stage(try self.model(vit: 2, llm: 2)) }.contains("text_decoder.decoder.layers.1."))
        // Unstage with a layout that does not fit.
        let stages = try l.stage(try model(vit: 2, llm: 2))
        XCTAssertThrowsError(try layout(vit: [[2]], llm: [[1]]).unstage(stages))
    }

    func testRenumbersOnlyTheLayerNumber() throws {
        // Qwen3-VL deepstack mergers live under a ViT layer and travel with it; other numbers stay.
        let m = TF.map([
            ("image_encoder.encoder.blocks.layers.3.deepstack_layer.encoder.linear_fc1.weight", try TF.iota([1])),
            ("image_encoder.encoder.blocks.layers.3.mlp.experts.local_experts.7.w", try TF.iota([1])),
            ("image_encoder.encoder.blocks.layers.1.x", try TF.iota([1])),
            ("image_encoder.encoder.blocks.layers.0.x", try TF.iota([1])),
            ("image_encoder.encoder.blocks.layers.2.x", try TF.iota([1])),
        ])
        let l = try PipelineLayout([try PipelineModule(.vision, flat: [2, 2])])
        let s = try l.stage(m)
        XCTAssertEqual(s[1].names, [
            "image_encoder.encoder.blocks.layers.1.deepstack_layer.encoder.linear_fc1.weight",
            "image_encoder.encoder.blocks.layers.1.mlp.experts.local_experts.7.w",
            "image_encoder.encoder.blocks.layers.0.x",
        ])
        try TF.assertIdentical(try l.unstage(s), m, ordered: false)
    }

    /// `everywhere` tensors go to every stage, also one without the module's layers (§5.2: the
    /// DeepSeek-VL2 golden has image_newline on the LLM-only stage); the layer-wise disaggregated
    /// layout keeps them where the module is (§5.9).
    func testEverywhereTensorsGoToEveryStage() throws {
        let m = TF.map([
            ("image_newline", try TF.iota([1])),
            ("image_encoder.encoder.blocks.0.w", try TF.iota([1])),
            ("image_encoder.encoder.blocks.1.w", try TF.iota([1])),
        ])
        let l = try PipelineLayout([try PipelineModule(.visionDeepSeek, flat: [1, 0, 1])])
        let s = try l.stage(m)
        XCTAssertEqual(s.map(\.names), [["image_newline", "image_encoder.encoder.blocks.0.w"], ["image_newline"], ["image_newline", "image_encoder.encoder.blocks.0.w"]])
        try TF.assertIdentical(try l.unstage(s), m, ordered: false)
        // A ViT on the first stage only, the LLM on both.
        let two = try PipelineLayout([try PipelineModule(.visionDeepSeek, flat: [2, 0]), try PipelineModule(.text, flat: [1, 1])])
        XCTAssertEqual(try two.stage(m).map(\.names), [["image_newline", "image_encoder.encoder.blocks.0.w", "image_encoder.encoder.blocks.1.w"], ["image_newline"]])
        let ldt = try PipelineLayout([try PipelineModule(.visionDeepSeek, flat: [1, 0, 1])], replicateShorter: false)
        XCTAssertEqual(try ldt.stage(m).map(\.names), [["image_newline", "image_encoder.encoder.blocks.0.w"], [], ["image_newline", "image_encoder.encoder.blocks.0.w"]])
    }

    // MARK: - EP (§6)

    func testExpertParallel() throws {
        var m = TensorMap()
        m["text_decoder.decoder.layers.0.mlp.router.weight"] = try TF.iota([1], from: 9999)
        for e in 0..<64 { m["text_decoder.decoder.layers.0.mlp.experts.local_experts.\(e).linear_fc1.weight"] = try TF.iota([1], from: Int32(e)) }
        let ep = try ExpertParallel(numExperts: 64, ep: 8)
        let ranks = try ep.split(m)
        XCTAssertEqual(ranks.count, 8)
        XCTAssertEqual(ranks[3].count, 9)
        for local in 0..<8 {
            let t = try XCTUnwrap(ranks[3]["text_decoder.decoder.layers.0.mlp.experts.local_experts.\(local).linear_fc1.weight"])
            XCTAssertEqual(try TF.values(t), [Int32(24 + local)])
        }
        XCTAssertNotNil(ranks[5]["text_decoder.decoder.layers.0.mlp.router.weight"])
        try TF.assertIdentical(try ep.merge(ranks), m, ordered: false)
        XCTAssertTrue(TF.errorText { _ = try ExpertParallel(numExperts: 64, ep: 6) }.contains("64 experts do not split over ep_size=6"))
    }

    // MARK: - A.9: which stage holds what (directory-independent part)

    func testStageToRankAndChunk() {
        // pp=3, vpp=2: PP rank 0 holds model0 = stage 0 and model1 = stage 3.
        XCTAssertTrue(PipelineLayout.rankAndChunk(ofStage: 0, pp: 3) == (0, 0))
        XCTAssertTrue(PipelineLayout.rankAndChunk(ofStage: 3, pp: 3) == (0, 1))
        XCTAssertTrue(PipelineLayout.rankAndChunk(ofStage: 5, pp: 3) == (2, 1))
    }
}

extension ParallelTests {
    func testExpertCountInferenceAndStageIndex() throws {
        var m = TensorMap()
        for e in 0..<4 { m["t.decoder.layers.0.mlp.experts.local_experts.\(e).linear_fc1.weight"] = try TF.iota([1]) }
        m["t.decoder.layers.0.mlp.router.weight"] = try TF.iota([1])
        XCTAssertEqual(try ExpertParallel.localExpertCount(in: m), 4)
        XCTAssertEqual(try ExpertParallel.localExpertCount(in: TensorMap()), 0)
        XCTAssertEqual(PipelineLayout.stage(rank: 2, chunk: 1, pp: 4), 6)
    }
}

extension ParallelTests {
    func testStrategyNamesAndPresets() throws {
        XCTAssertEqual(try TPStrategy(name: "row"), .row)
        XCTAssertEqual(try TPStrategy(name: "UEmb"), .unalignedVocab)
        XCTAssertEqual(try TPStrategy(name: "urow", heads: 25), .unalignedRow(heads: 25))
        XCTAssertThrowsError(try TPStrategy(name: "ucol"))
        XCTAssertTrue(TF.errorText { _ = try TPStrategy(name: "diagonal") }.contains("unknown TP strategy"))
        XCTAssertEqual(StageSchema.presets["vision_internvl"], .visionInternVL)
        XCTAssertEqual(StageSchema.presets.count, 8)
    }
}

extension ParallelTests {
    // §5.9: the documented hf_to_mm_ldt layout, pp=5, vpp=3.
    func testLayerwiseDisaggregatedLayout() throws {
        let m = try model(vit: 32, llm: 64)
        let llm = try PipelineModule.layerwiseDisaggregated(.text, layers: [[0, 0, 0, 0, 0], [0, 16, 16, 16, 16], [0, 0, 0, 0, 0]])
        let l = try PipelineLayout([try PipelineModule(.vision, layers: [[3, 7, 7, 7, 7], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]), llm],
                                   replicateShorter: false)
        let stages = try l.stage(m)
        XCTAssertEqual(try stages.map { try content($0) }, [
            C(vit: 0...2, patch: true), C(vit: 3...9), C(vit: 10...16), C(vit: 17...23), C(vit: 24...30),
            C(vit: 31...31, proj: true, emb: true), C(llm: 0...15), C(llm: 16...31), C(llm: 32...47), C(llm: 48...63),
            C(norm: true), C(), C(), C(), C(),
        ])
        try TF.assertIdentical(try l.unstage(stages), m, ordered: false)
        // Without replication a shorter module stays on its own stages.
        let short = try PipelineLayout([try PipelineModule(.vision, layers: [[2]]), try PipelineModule(.text, layers: [[1, 1]])], replicateShorter: false)
        XCTAssertEqual(try short.stage(try model(vit: 2, llm: 2)).map { try content($0) }, [
            C(vit: 0...1, llm: 0...0, patch: true, proj: true, emb: true), C(llm: 1...1, norm: true),
        ])
    }
}
