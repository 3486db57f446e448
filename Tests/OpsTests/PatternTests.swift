import XCTest
@testable import Ops

final class PatternTests: XCTestCase {
    func testLiteralIsAnchoredAndDotsAreLiteral() throws {
        let p = try NamePattern("model.norm.weight")
        XCTAssertNotNil(p.match("model.norm.weight"))
        XCTAssertNil(p.match("model.norm.weight2"))
        XCTAssertNil(p.match("xmodel.norm.weight"))
        XCTAssertNil(p.match("modelXnorm.weight"))
    }

    func testCapturesAndRender() throws {
        let p = try NamePattern("model.layers.{L}.mlp.experts.{E}.w")
        XCTAssertEqual(p.match("model.layers.12.mlp.experts.3.w"), ["L": "12", "E": "3"])
        XCTAssertNil(p.match("model.layers.x.mlp.experts.3.w"))
        XCTAssertNil(p.match("model.layers..mlp.experts.3.w"))
        let out = try NamePattern("t.{L}.e.{E}")
        XCTAssertEqual(try out.render(["L": "12", "E": "3"]), "t.12.e.3")
        XCTAssertThrowsError(try out.render(["L": "1"]))
        // The same placeholder twice must capture the same value.
        let twice = try NamePattern("a.{L}.b.{L}")
        XCTAssertNotNil(twice.match("a.1.b.1"))
        XCTAssertNil(twice.match("a.1.b.2"))
    }

    func testAlternativesExpandInOrder() throws {
        let p = try NamePattern("x.{q,k,v}_proj.{weight,bias}")
        XCTAssertEqual(p.alternativeGroups, [["q", "k", "v"], ["weight", "bias"]])
        XCTAssertEqual(p.expanded().map(\.source), [
            "x.q_proj.weight", "x.q_proj.bias", "x.k_proj.weight", "x.k_proj.bias", "x.v_proj.weight", "x.v_proj.bias",
        ])
        XCTAssertTrue(p.matches("x.k_proj.bias"))
        XCTAssertFalse(p.matches("x.o_proj.bias"))
        // A single word in braces is a one-choice group, upper case is a capture.
        XCTAssertEqual(try NamePattern("a.{weight}").alternativeGroups, [["weight"]])
        XCTAssertEqual(try NamePattern("a.{K}").captureNames, ["K"])
    }

    func testPrefixFormCarriesTheRest() throws {
        let p = try NamePattern("visual.blocks.{L}.attn.proj.*")
        XCTAssertTrue(p.isPrefix)
        let caps = try XCTUnwrap(p.match("visual.blocks.7.attn.proj.bias"))
        XCTAssertEqual(caps, ["L": "7", "*": "bias"])
        let out = try NamePattern("image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj.*")
        XCTAssertEqual(try out.render(caps), "image_encoder.encoder.blocks.layers.7.self_attention.linear_proj.bias")
        XCTAssertNil(p.match("visual.blocks.7.attn.pro"))
    }

    /// A `*` inside a pattern takes any non-empty text (the longest that lets the rest match) and
    /// carries it into the output: PEFT's LoRA keys in the trainer's layout.
    func testInnerStarCarriesTheMiddle() throws {
        let p = try NamePattern("base_model.*.weight")
        XCTAssertFalse(p.isPrefix)
        let caps = try XCTUnwrap(p.match("base_model.model.layers.0.q_proj.lora_A.weight"))
        XCTAssertEqual(caps, ["*": "model.layers.0.q_proj.lora_A"])
        XCTAssertEqual(try NamePattern("base_model.model.*.default.weight").render(caps), "base_model.model.model.layers.0.q_proj.lora_A.default.weight")
        XCTAssertNil(p.match("base_model..weight"))        // not empty
        XCTAssertNil(p.match("base_model.x.weight.bias"))  // anchored at the end
        XCTAssertEqual(try NamePattern("layers.{L}.*.weight").match("layers.3.mlp.fc.weight"), ["L": "3", "*": "mlp.fc"])
        XCTAssertEqual(try NamePattern("base_model.model.*.default.weight").description, "base_model.model.*.default.weight")
        XCTAssertEqual(try NamePattern("base_model.*.weight").captureNames, ["*"])
    }

    func testRegex() throws {
        let p = try NamePattern(#"re:talker\..*|token2wav\..*"#)
        XCTAssertTrue(p.isRegex)
        XCTAssertTrue(p.matches("talker.model.x"))
        XCTAssertTrue(p.matches("token2wav.a"))
        XCTAssertFalse(p.matches("thinker.talker.x"))   // anchored at the start
        let g = try NamePattern(#"re:layers\.(?<L>\d+)\.(w|b)"#)
        XCTAssertEqual(g.match("layers.4.b"), ["1": "4", "2": "b", "L": "4"])
        XCTAssertNil(g.match("layers.4.bx"))              // anchored at the end
        XCTAssertThrowsError(try NamePattern("re:("))
        XCTAssertThrowsError(try g.render([:]))
    }

    func testSyntaxErrors() {
        XCTAssertTrue(TF.errorText { _ = try NamePattern("a.{L") }.contains("unbalanced"))
        XCTAssertTrue(TF.errorText { _ = try NamePattern("a.L}") }.contains("unbalanced"))
        XCTAssertTrue(TF.errorText { _ = try NamePattern("a.*.b.*") }.contains("one '*' per pattern"))
        XCTAssertTrue(TF.errorText { _ = try NamePattern("a.{L}*.b") }.contains("in a row"))
        XCTAssertTrue(TF.errorText { _ = try NamePattern("a.{q,,v}") }.contains("empty"))
        XCTAssertTrue(TF.errorText { _ = try NamePattern("a.{L}{E}") }.contains("in a row"))
    }

    func testPairingFromTheEnd() throws {
        let pairing = try PatternPairing(
            input: NamePattern("m.{L}.{q,k,v}_proj.{weight,bias}"),
            output: NamePattern("t.{L}.linear_qkv.{weight,bias}"), parts: 3)
        XCTAssertEqual(pairing.pairs.map(\.output.source), ["t.{L}.linear_qkv.weight", "t.{L}.linear_qkv.bias"])
        XCTAssertEqual(pairing.pairs[1].parts.map(\.source), ["m.{L}.q_proj.bias", "m.{L}.k_proj.bias", "m.{L}.v_proj.bias"])
        // Missing parts group, mismatched groups, mismatched captures.
        XCTAssertThrowsError(try PatternPairing(input: NamePattern("m.{L}.w"), output: NamePattern("t.{L}.w"), parts: 2))
        XCTAssertThrowsError(try PatternPairing(input: NamePattern("m.{a,b}"), output: NamePattern("t.{x,y,z}"), parts: 1))
        XCTAssertThrowsError(try PatternPairing(input: NamePattern("m.{L}"), output: NamePattern("t.{E}"), parts: 1))
        XCTAssertThrowsError(try PatternPairing(input: NamePattern("re:m.*"), output: NamePattern("t"), parts: 1))
    }
}
