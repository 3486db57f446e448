import XCTest
@testable import Ops

/// The worked examples of §3 and Appendix A, checked element by element.
final class TransformTests: XCTestCase {
    // §3.3 / A.1: nh=4, ng=2, d=2. Rows labelled q: 0..7, k: 100..103, v: 200..203.
    let qkvExpected: [Int32] = [0, 1, 2, 3, 100, 101, 200, 201, 4, 5, 6, 7, 102, 103, 202, 203]

    func qkvInput(bias: Bool) throws -> TensorMap {
        let shape: (Int) -> [Int] = { bias ? [$0] : [$0, 1] }
        return TF.map([
            ("model.layers.0.self_attn.q_proj.weight", try TF.iota(shape(8))),
            ("model.layers.0.self_attn.k_proj.weight", try TF.iota(shape(4), from: 100)),
            ("model.layers.0.self_attn.v_proj.weight", try TF.iota(shape(4), from: 200)),
            ("model.layers.0.self_attn.o_proj.weight", try TF.iota([2, 2])),
        ])
    }

    func testInterleavedQKVWorkedExample() throws {
        let merge = try QKVMerge("model.layers.{L}.self_attn.{q,k,v}_proj.weight",
                                 "text_decoder.decoder.layers.{L}.self_attention.linear_qkv.weight", groups: 2, heads: 4)
        for bias in [false, true] {
            let input = try qkvInput(bias: bias)
            let out = try merge.forward(input)
            XCTAssertEqual(out.names, ["text_decoder.decoder.layers.0.self_attention.linear_qkv.weight", "model.layers.0.self_attn.o_proj.weight"])
            let qkv = try XCTUnwrap(out["text_decoder.decoder.layers.0.self_attention.linear_qkv.weight"])
            XCTAssertEqual(qkv.shape, bias ? [16] : [16, 1])
            XCTAssertEqual(try TF.values(qkv), qkvExpected)
            // TP=2 row split: rank 0 = group 0, rank 1 = group 1.
            let ranks = try TPStrategy.row.split(qkv, into: 2, name: "qkv")
            XCTAssertEqual(try TF.values(ranks[0]), Array(qkvExpected[0..<8]))
            XCTAssertEqual(try TF.values(ranks[1]), Array(qkvExpected[8..<16]))
            try TF.assertIdentical(try merge.inverse(out), input)
        }
    }

    func testQKVWeightAndBiasInOneStatement() throws {
        let merge = try QKVMerge("model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}",
                                 "text_decoder.decoder.layers.{L}.self_attention.linear_qkv.{weight,bias}", groups: 2, heads: 4)
        var input = try qkvInput(bias: false)
        for (n, t) in try qkvInput(bias: true) where !n.contains("o_proj") {
            input[n.replacingOccurrences(of: ".weight", with: ".bias")] = t
        }
        let out = try merge.forward(input)
        XCTAssertEqual(Set(out.names), [
            "text_decoder.decoder.layers.0.self_attention.linear_qkv.weight",
            "text_decoder.decoder.layers.0.self_attention.linear_qkv.bias",
            "model.layers.0.self_attn.o_proj.weight",
        ])
        XCTAssertEqual(try TF.values(out["text_decoder.decoder.layers.0.self_attention.linear_qkv.bias"]!), qkvExpected)
        try TF.assertIdentical(try merge.inverse(out), input)
    }

    func testQKVValidatesHeadGeometry() throws {
        let merge = try QKVMerge("m.{L}.{q,k,v}", "t.{L}.qkv", groups: 2, heads: 4)
        var input = TF.map([("m.0.q", try TF.iota([6])), ("m.0.k", try TF.iota([4])), ("m.0.v", try TF.iota([4]))])
        XCTAssertTrue(TF.errorText { _ = try merge.forward(input) }.contains("expected 4 heads"))
        input["m.0.k"] = try TF.iota([3])
        XCTAssertTrue(TF.errorText { _ = try merge.forward(input) }.contains("m.0.k"))
        XCTAssertThrowsError(try QKVMerge("m.{L}.{q,k,v}", "t.{L}.qkv", groups: 3, heads: 4))
        // Inverse of a tensor that is not (heads + 2 groups) heads.
        XCTAssertTrue(TF.errorText { _ = try merge.inverse(TF.map([("t.0.qkv", try TF.iota([15]))])) }.contains("t.0.qkv"))
    }

    // §9 Q20: a layer with only some inputs is an error naming the missing one.
    func testMergeIsStrictPerLayer() throws {
        let merge = try QKVMerge("m.{L}.{q,k,v}", "t.{L}.qkv", groups: 1, heads: 1)
        let input = TF.map([
            ("m.0.q", try TF.iota([2])), ("m.0.k", try TF.iota([2])), ("m.0.v", try TF.iota([2])),
            ("m.1.q", try TF.iota([2])), ("m.1.k", try TF.iota([2])),
        ])
        let text = TF.errorText { _ = try merge.forward(input) }
        XCTAssertTrue(text.contains("'m.1.v'") && text.contains("missing"), text)
        // A statement that matches nothing fails naming its pattern, unless optional.
        let none = TF.map([("x", try TF.iota([1]))])
        XCTAssertTrue(TF.errorText { _ = try merge.forward(none) }.contains("m.{L}.q"))
        let optional = try QKVMerge("m.{L}.{q,k,v}", "t.{L}.qkv", groups: 1, heads: 1, presence: .optional)
        XCTAssertEqual(try optional.forward(none).names, ["x"])
        // The merged name may not already exist.
        var clash = input
        clash["m.1.v"] = try TF.iota([2])
        clash["t.0.qkv"] = try TF.iota([6])
        XCTAssertTrue(TF.errorText { _ = try merge.forward(clash) }.contains("t.0.qkv"))
    }

    // §3.6 / A.2: heads=2, D=8, rows 0..23.
    func testRelocateWorkedExamples() throws {
        let r = try Relocate("v.{L}.qkv.{weight,bias}", heads: 2)
        let input = TF.map([("v.0.qkv.weight", try TF.iota([24, 1])), ("v.0.qkv.bias", try TF.iota([24]))])
        let out = try r.forward(input)
        let expected: [Int32] = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]
        XCTAssertEqual(try TF.values(out["v.0.qkv.weight"]!), expected)
        XCTAssertEqual(try TF.values(out["v.0.qkv.bias"]!), expected)
        let ranks = try TPStrategy.row.split(out["v.0.qkv.bias"]!, into: 2, name: "b")
        XCTAssertEqual(try TF.values(ranks[0]), [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19])
        try TF.assertIdentical(try r.inverse(out), input)

        // Small vectors: 4 heads, 1 row per head.
        let small = try Relocate("x", heads: 4)
        let one = TF.map([("x", try TF.iota([12], from: 1))])
        XCTAssertEqual(try TF.values(small.forward(one)["x"]!), [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12])
        XCTAssertEqual(try TF.values(small.inverse(one)["x"]!), [1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12])
        XCTAssertTrue(TF.errorText { _ = try small.forward(TF.map([("x", try TF.iota([10]))])) }.contains("'x'"))
    }

    func testGLUMerge() throws {
        let glu = try GLUMerge("model.layers.{L}.mlp.{gate,up}_proj.weight", "t.{L}.linear_fc1.weight")
        let input = TF.map([
            ("model.layers.0.mlp.gate_proj.weight", try TF.iota([3, 2])),
            ("model.layers.0.mlp.up_proj.weight", try TF.iota([3, 2], from: 10)),
            ("model.layers.0.mlp.down_proj.weight", try TF.iota([2, 3])),
        ])
        let out = try glu.forward(input)
        XCTAssertEqual(out.names, ["t.0.linear_fc1.weight", "model.layers.0.mlp.down_proj.weight"])
        XCTAssertEqual(try TF.values(out["t.0.linear_fc1.weight"]!), [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15])
        try TF.assertIdentical(try glu.inverse(out), input)
    }

    // §3.5 / A.7: 2 heads, da = 4: [q_h0, 0 x 4, v_h0, q_h1, 0 x 4, v_h1].
    func testOmniZeroKeyBias() throws {
        let m = try ZeroKeyMerge("a.{L}.self_attn.{q,v}_proj.bias", "b.{L}.linear_qkv.bias", heads: 2)
        let input = TF.map([("a.0.self_attn.q_proj.bias", try TF.iota([8], from: 1)), ("a.0.self_attn.v_proj.bias", try TF.iota([8], from: 101))])
        let out = try m.forward(input)
        XCTAssertEqual(try TF.values(out["b.0.linear_qkv.bias"]!),
                       [1, 2, 3, 4, 0, 0, 0, 0, 101, 102, 103, 104, 5, 6, 7, 8, 0, 0, 0, 0, 105, 106, 107, 108])
        try TF.assertIdentical(try m.inverse(out), input)
    }

    // §3.10 / A.6: linear_fc1 of expert E = gate_up_proj[E] transposed.
    func testExpertSplit() throws {
        let s = try ExpertSplit("m.layers.{L}.mlp.experts.{gate_up_proj,down_proj}",
                                "t.layers.{L}.mlp.experts.local_experts.{E}.{linear_fc1,linear_fc2}.weight", numExperts: 2)
        let input = TF.map([
            ("m.layers.0.mlp.experts.gate_up_proj", try TF.iota([2, 3, 4])),  // [Ne, H, 2I]
            ("m.layers.0.mlp.experts.down_proj", try TF.iota([2, 2, 3], from: 100)),  // [Ne, I, H]
        ])
        let out = try s.forward(input)
        XCTAssertEqual(out.names, [
            "t.layers.0.mlp.experts.local_experts.0.linear_fc1.weight", "t.layers.0.mlp.experts.local_experts.1.linear_fc1.weight",
            "t.layers.0.mlp.experts.local_experts.0.linear_fc2.weight", "t.layers.0.mlp.experts.local_experts.1.linear_fc2.weight",
        ])
        let fc1e1 = out["t.layers.0.mlp.experts.local_experts.1.linear_fc1.weight"]!
        XCTAssertEqual(fc1e1.shape, [4, 3])
        // gate_up[1] = [[12,13,14,15],[16,17,18,19],[20,21,22,23]] transposed.
        XCTAssertEqual(try TF.values(fc1e1), [12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23])
        XCTAssertEqual(try TF.values(out["t.layers.0.mlp.experts.local_experts.0.linear_fc2.weight"]!), [100, 103, 101, 104, 102, 105])
        try TF.assertIdentical(try s.inverse(out), input)
        var missing = out
        missing.remove("t.layers.0.mlp.experts.local_experts.1.linear_fc2.weight")
        XCTAssertTrue(TF.errorText { _ = try s.inverse(missing) }.contains("local_experts.1.linear_fc2.weight"))
        XCTAssertTrue(TF.errorText { _ = try ExpertSplit("a.{L}", "b.{L}", numExperts: 2) }.contains("{E}"))
    }

    func testConcatMergeWithDeclaredSizes() throws {
        let c = try ConcatMerge(parts: [NamePattern("l.{L}.q_a_proj.weight"), NamePattern("l.{L}.kv_a_proj_with_mqa.weight")],
                                output: NamePattern("t.{L}.linear_qkv.weight"), sizes: [3, 2])
        let input = TF.map([("l.0.q_a_proj.weight", try TF.iota([3, 2])), ("l.0.kv_a_proj_with_mqa.weight", try TF.iota([2, 2], from: 50))])
        let out = try c.forward(input)
        XCTAssertEqual(try TF.values(out["t.0.linear_qkv.weight"]!), [0, 1, 2, 3, 4, 5, 50, 51, 52, 53])
        try TF.assertIdentical(try c.inverse(out), input)
        let wrong = try ConcatMerge(parts: [NamePattern("l.{L}.q_a_proj.weight"), NamePattern("l.{L}.kv_a_proj_with_mqa.weight")],
                                    output: NamePattern("t.{L}.linear_qkv.weight"), sizes: [2, 3])
        XCTAssertTrue(TF.errorText { _ = try wrong.forward(input) }.contains("l.0.q_a_proj.weight"))
    }

    func testRenameOrderedFirstMatchAndPrefix() throws {
        let r = try Rename([
            try .init("language_model.model.layers.{L}.attention.wqkv.weight", "text_decoder.decoder.layers.{L}.self_attention.linear_qkv.weight"),
            try .init("visual.blocks.{L}.{norm1,norm2}.*", "image_encoder.encoder.blocks.layers.{L}.{input_layernorm,pre_mlp_layernorm}.*"),
            try .init("lm_head.weight", "text_decoder.output_layer.weight", presence: .optional),
            try .init("language_model.*", "text_decoder.*"),
        ])
        let input = TF.map([
            ("visual.blocks.3.norm2.bias", try TF.iota([1])),
            ("visual.blocks.3.norm1.weight", try TF.iota([1])),
            ("language_model.model.layers.0.attention.wqkv.weight", try TF.iota([1])),
            ("language_model.model.norm.weight", try TF.iota([1])),
            ("other", try TF.iota([1])),
        ])
        let out = try r.forward(input)
        XCTAssertEqual(out.names, [
            "image_encoder.encoder.blocks.layers.3.pre_mlp_layernorm.bias",
            "image_encoder.encoder.blocks.layers.3.input_layernorm.weight",
            "text_decoder.decoder.layers.0.self_attention.linear_qkv.weight",
            "text_decoder.model.norm.weight",
            "other",
        ])
        try TF.assertIdentical(try r.inverse(out), input)
        // A required rule that matches nothing names its pattern.
        let strict = try Rename("lm_head.weight", "text_decoder.output_layer.weight")
        XCTAssertTrue(TF.errorText { _ = try strict.forward(input) }.contains("'lm_head.weight'"))
        // A rule set whose inverse would not give back the name is refused.
        let shadow = try Rename([try .init("a.{L}.x", "b.{L}.y"), try .init("c.*", "b.*")])
        let text = TF.errorText { _ = try shadow.forward(TF.map([("a.1.x", try TF.iota([1])), ("c.1.y", try TF.iota([1]))])) }
        XCTAssertTrue(text.contains("cannot be undone"), text)
        // Renaming onto an existing name: the existing name would be caught by the inverse.
        let clash = try Rename("a.*", "b.*")
        let t2 = TF.errorText { _ = try clash.forward(TF.map([("a.x", try TF.iota([1])), ("b.x", try TF.iota([1]))])) }
        XCTAssertTrue(t2.contains("'b.x' is not renamed") && t2.contains("could not be undone"), t2)
        // A broad MM-side pattern that would catch names another step created.
        let broad = try Rename("model.layers.{L}.*", "text_decoder.decoder.layers.{L}.*")
        let m = TF.map([("model.layers.0.norm", try TF.iota([1])), ("text_decoder.decoder.layers.0.linear_qkv.weight", try TF.iota([1]))])
        XCTAssertTrue(TF.errorText { _ = try broad.forward(m) }.contains("'text_decoder.decoder.layers.0.linear_qkv.weight' is not renamed"))
    }

    func testTieZerosPadSelectCast() throws {
        let emb = "text_decoder.embedding.word_embeddings.weight", out = "text_decoder.output_layer.weight"
        let tie = Tie(source: emb, target: out)
        let base = TF.map([(emb, try TF.iota([5, 2]))])
        let tied = try tie.forward(base)
        XCTAssertEqual(tied.names, [emb, out])
        XCTAssertEqual(try TF.values(tied[out]!), try TF.values(base[emb]!))
        try TF.assertIdentical(try tie.inverse(tied), base)
        XCTAssertThrowsError(try tie.forward(tied))

        let pad = try VocabPad(emb, vocabSize: 5, to: .multiple(4))
        let padded = try pad.forward(base)
        XCTAssertEqual(padded[emb]!.shape, [8, 2])
        XCTAssertEqual(try TF.values(padded[emb]!), Array(0..<10) + [0, 0, 0, 0, 0, 0])
        try TF.assertIdentical(try pad.inverse(padded), base)
        XCTAssertEqual(try VocabPad(emb, vocabSize: 5, to: .rows(7)).forward(base)[emb]!.shape, [7, 2])

        let zeros = try ZeroTensors("l.{L}.bias", indices: [0, 1], shape: [3], dtype: .i32)
        let z = try zeros.forward(base)
        XCTAssertEqual(z.names, [emb, "l.0.bias", "l.1.bias"])
        XCTAssertEqual(try TF.values(z["l.1.bias"]!), [0, 0, 0])
        try TF.assertIdentical(try zeros.inverse(z), base)

        let m = TF.map([("talker.a", try TF.iota([1])), ("thinker.b", try TF.iota([1])), ("token2wav.c", try TF.iota([1]))])
        XCTAssertEqual(try Drop(["talker.*", "re:token2wav\\..*"]).forward(m).names, ["thinker.b"])
        XCTAssertEqual(try Keep(["thinker.*"]).forward(m).names, ["thinker.b"])
        XCTAssertTrue(TF.errorText { _ = try Drop(["nothing.*"]).forward(m) }.contains("'nothing.*'"))

        let bf = try Tensor.fromBytes([0x80, 0x3f, 0x00, 0xc0], dtype: .bf16, shape: [2])
        let cast = try CastDType("*", from: .bf16, to: .f32)
        let cm = TF.map([("w", bf), ("ids", try TF.iota([2]))])
        let c = try cast.forward(cm)
        XCTAssertEqual(c["w"]!.dtype, .f32)
        XCTAssertEqual(c["ids"]!.dtype, .i32)
        try TF.assertIdentical(try cast.inverse(c), cm)
        XCTAssertThrowsError(try cast.forward(c))  // already f32: the inverse could not tell
    }

    func testChainRunsInversesInReverseOrder() throws {
        // Rename first, then relocate on the MM name: the inverse relocates before renaming back.
        let chain = TransformChain([
            try Rename("visual.blocks.{L}.attn.qkv.*", "image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv.*"),
            try Relocate("image_encoder.encoder.blocks.layers.{L}.self_attention.linear_qkv.bias", heads: 2),
        ])
        let input = TF.map([("visual.blocks.0.attn.qkv.bias", try TF.iota([24]))])
        let out = try chain.forward(input)
        XCTAssertEqual(try TF.values(out["image_encoder.encoder.blocks.layers.0.self_attention.linear_qkv.bias"]!).prefix(5), [0, 1, 2, 3, 8])
        try TF.assertIdentical(try chain.inverse(out), input)
    }
}

extension TransformTests {
    // §7.3: deepstack merger k travels under ViT layer deepstack_visual_indexes[k].
    func testRenameWithLookup() throws {
        let r = try Rename([
            try .init("model.visual.deepstack_merger_list.{K}.*", "image_encoder.encoder.blocks.layers.{L}.deepstack_layer.*",
                      lookup: try .init(from: "K", to: "L", values: [5, 11, 17])),
            try .init("model.visual.blocks.{L}.*", "image_encoder.encoder.blocks.layers.{L}.*"),
        ])
        let input = TF.map([
            ("model.visual.deepstack_merger_list.1.norm.weight", try TF.iota([1])),
            ("model.visual.deepstack_merger_list.2.linear_fc1.bias", try TF.iota([1])),
            ("model.visual.blocks.11.norm1.weight", try TF.iota([1])),
        ])
        let out = try r.forward(input)
        XCTAssertEqual(out.names, [
            "image_encoder.encoder.blocks.layers.11.deepstack_layer.norm.weight",
            "image_encoder.encoder.blocks.layers.17.deepstack_layer.linear_fc1.bias",
            "image_encoder.encoder.blocks.layers.11.norm1.weight",
        ])
        try TF.assertIdentical(try r.inverse(out), input)
        XCTAssertTrue(TF.errorText { _ = try r.forward(TF.map([("model.visual.deepstack_merger_list.3.x", try TF.iota([1]))])) }.contains("no entry"))
        XCTAssertThrowsError(try Rename.Lookup(from: "K", to: "L", values: [1, 1]))
    }

    // DeepSeek-VL2 per-expert gate/up (§3.2 "ExpertUpGate"): {L} and {E} in one merge, and its inverse (§9 Q10).
    func testPerExpertGLU() throws {
        let g = try GLUMerge("l.{L}.mlp.experts.local_experts.{E}.linear_fc1_{gate,up}.weight", "l.{L}.mlp.experts.local_experts.{E}.linear_fc1.weight")
        var m = TensorMap()
        for l in [1, 3] { for e in 0..<3 { for p in ["gate", "up"] {
            m["l.\(l).mlp.experts.local_experts.\(e).linear_fc1_\(p).weight"] = try TF.iota([2, 2], from: Int32(100 * l + 10 * e + (p == "up" ? 4 : 0)))
        } } }
        let out = try g.forward(m)
        XCTAssertEqual(out.count, 6)
        XCTAssertEqual(try TF.values(out["l.3.mlp.experts.local_experts.2.linear_fc1.weight"]!), [320, 321, 322, 323, 324, 325, 326, 327])
        try TF.assertIdentical(try g.inverse(out), m)
    }
}

extension TransformTests {
    func testMergeRefusesExistingLookalikes() throws {
        // Layer 1 already has a fused qkv (e.g. renamed from wqkv): the inverse would split it too.
        let merge = try QKVMerge("m.{L}.{q,k,v}", "t.{L}.qkv", groups: 1, heads: 1)
        let m = TF.map([("m.0.q", try TF.iota([2])), ("m.0.k", try TF.iota([2])), ("m.0.v", try TF.iota([2])), ("t.1.qkv", try TF.iota([6]))])
        XCTAssertTrue(TF.errorText { _ = try merge.forward(m) }.contains("tensor 't.1.qkv': already matches"))
        let split = try ExpertSplit("f.{L}", "e.{L}.{E}", numExperts: 1)
        XCTAssertTrue(TF.errorText { _ = try split.forward(TF.map([("f.0", try TF.iota([1, 1, 1])), ("e.3.0", try TF.iota([1]))])) }.contains("'e.3.0'"))
    }
}
