import DSL
import Foundation
import Ops
import XCTest

/// `experts merge` / `experts split` on tiny in-memory experts: the fused values are exactly
/// stack_E([gate; up]ᵀ) and stack_E(downᵀ) (3-D or the flat 2-D view), each statement reverts to
/// the other bit for bit, and layer / shape mistakes are errors naming the tensor.
extension CommandsRegistryTests {
    /// Per-expert MLPs of `layers`, gate/up [I, H], down [H, I], f32 with distinct values.
    func perExpert(layers: [Int], experts: Int, h: Int, i: Int, prefix: String = "m.layers") throws -> TensorMap {
        var m = TensorMap()
        var next = 0
        for l in layers {
            m["\(prefix).\(l).norm.weight"] = try t([h], next); next += h
            for e in 0..<experts {
                for (p, shape) in [("gate", [i, h]), ("up", [i, h]), ("down", [h, i])] {
                    m["\(prefix).\(l).mlp.experts.\(e).\(p)_proj.weight"] = try t(shape, next)
                    next += shape.reduce(1, *)
                }
            }
        }
        return m
    }

    func floats(_ x: Tensor) throws -> [Float] {
        let b = try x.materialize()
        return b.withUnsafeBytes { r in (0..<(b.count / 4)).map { r.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    func testExpertsMergeValuesAndRevert3D() throws {
        let (h, i, n) = (3, 2, 4)
        let m = try perExpert(layers: [0, 1], experts: n, h: h, i: i)
        try roundTrip(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=4 layers=[0, 1]"#, m) { out in
            XCTAssertEqual(out.names, ["m.layers.0.norm.weight", "m.layers.0.mlp.experts.gate_up_proj", "m.layers.0.mlp.experts.down_proj",
                                       "m.layers.1.norm.weight", "m.layers.1.mlp.experts.gate_up_proj", "m.layers.1.mlp.experts.down_proj"])
            for l in 0..<2 {
                let gu = out["m.layers.\(l).mlp.experts.gate_up_proj"]!, dn = out["m.layers.\(l).mlp.experts.down_proj"]!
                XCTAssertEqual(gu.shape, [n, h, 2 * i])
                XCTAssertEqual(dn.shape, [n, i, h])
                let guv = try floats(gu), dnv = try floats(dn)
                for e in 0..<n {
                    let g = try floats(m["m.layers.\(l).mlp.experts.\(e).gate_proj.weight"]!)
                    let u = try floats(m["m.layers.\(l).mlp.experts.\(e).up_proj.weight"]!)
                    let d = try floats(m["m.layers.\(l).mlp.experts.\(e).down_proj.weight"]!)
                    for r in 0..<h {
                        for c in 0..<(2 * i) {
                            // [gate; up] is [2I, H]; its transpose at (r, c) is [gate; up][c][r].
                            let want = c < i ? g[c * h + r] : u[(c - i) * h + r]
                            XCTAssertEqual(guv[(e * h + r) * 2 * i + c], want)
                        }
                    }
                    for r in 0..<i { for c in 0..<h { XCTAssertEqual(dnv[(e * i + r) * h + c], d[c * i + r]) } }
                }
            }
        }
    }

    func testExpertsMergeFlatIsThe2DView() throws {
        let (h, i, n) = (3, 2, 4)
        let m = try perExpert(layers: [1, 2], experts: n, h: h, i: i)
        let s3 = WorkspaceSession(m)
        try s3.run(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=4"#)
        try roundTrip(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=4 layers=[1, 2] flat=true"#, m) { out in
            for l in 1...2 {
                let gu = out["m.layers.\(l).mlp.experts.gate_up_proj"]!, dn = out["m.layers.\(l).mlp.experts.down_proj"]!
                XCTAssertEqual(gu.shape, [n * h, 2 * i])
                XCTAssertEqual(dn.shape, [n * i, h])
                XCTAssertEqual(try gu.materialize(), try s3.model["m.layers.\(l).mlp.experts.gate_up_proj"]!.materialize())
                XCTAssertEqual(try dn.materialize(), try s3.model["m.layers.\(l).mlp.experts.down_proj"]!.materialize())
            }
        }
    }

    /// Layers not listed keep their experts as they are, in place (the reference merges only
    /// range(first_k_dense_replace, num_hidden_layers): GLM-4.5V's MTP layer stays per-expert).
    func testExpertsOfLayersNotListedStayInPlace() throws {
        let m = try perExpert(layers: [0, 1, 2], experts: 2, h: 4, i: 3)
        try roundTrip(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=2 layers=[1]"#, m) { out in
            XCTAssertEqual(out.names.filter { $0.hasPrefix("m.layers.1.") },
                           ["m.layers.1.norm.weight", "m.layers.1.mlp.experts.gate_up_proj", "m.layers.1.mlp.experts.down_proj"])
            XCTAssertEqual(out.names.filter { $0.hasPrefix("m.layers.0.") }, m.names.filter { $0.hasPrefix("m.layers.0.") })
            XCTAssertEqual(out.names.filter { $0.hasPrefix("m.layers.2.") }, m.names.filter { $0.hasPrefix("m.layers.2.") })
            XCTAssertEqual(out.names.count, m.names.count - 6 + 2)
            XCTAssertEqual(Array(out.names.suffix(7)), Array(m.names.suffix(7)))
        }
    }

    func testExpertsSplitIsTheInverseStatement() throws {
        let m = try perExpert(layers: [0], experts: 2, h: 4, i: 3)
        let s = WorkspaceSession(m)
        try s.run(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=2 flat=true"#)
        try s.run(#"experts split "m.layers.{L}.mlp.experts.{E}" n=2 flat=true"#)
        // The per-expert tensors come back in expert order: gate, up, down of expert 0, then 1.
        XCTAssertEqual(Set(s.model.names), Set(m.names))
        for (n, x) in m { XCTAssertEqual(try s.model[n]!.materialize(), try x.materialize(), n) }
    }

    func testExpertsMergeErrors() throws {
        let m = try perExpert(layers: [0, 1], experts: 2, h: 4, i: 3)
        func fails(_ statement: String, _ tensors: TensorMap, _ contains: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try WorkspaceSession(tensors).run(statement), file: file, line: line) { e in
                XCTAssertTrue("\(e)".contains(contains), "\(e)", file: file, line: line)
            }
        }
        // A layer that should have experts and has none; a layer with experts not listed.
        fails(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=2 layers=[0, 1, 2]"#, m, "layer 2 has no per-expert gate_proj")
        // Too few experts given: expert 1 is outside 0..<1.
        fails(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=1"#, m, "expert 1 is outside")
        // A missing expert.
        var missing = m
        missing["m.layers.1.mlp.experts.1.down_proj.weight"] = nil
        fails(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=2"#, missing, "m.layers.1.mlp.experts.1.down_proj.weight")
        // down must be gate transposed.
        var wrong = m
        wrong["m.layers.0.mlp.experts.0.down_proj.weight"] = try t([3, 4])
        fails(#"experts merge "m.layers.{L}.mlp.experts.{E}" n=2"#, wrong, "down_proj must be [hidden, intermediate]")
        // No {E}.
        fails(#"experts merge "m.layers.{L}.mlp.experts" n=2"#, m, "'.{E}' placeholder")
        // split of a checkpoint that is not merged; flat rows not divisible by the experts.
        fails(#"experts split "m.layers.{L}.mlp.experts.{E}" n=2 layers=[0, 1]"#, m, "layer 0 has no fused gate_up_proj")
        let fused = TensorMap([("m.layers.0.mlp.experts.gate_up_proj", try t([7, 6])), ("m.layers.0.mlp.experts.down_proj", try t([9, 4]))])
        fails(#"experts split "m.layers.{L}.mlp.experts.{E}" n=2 flat=true"#, fused, "do not divide by 2")
    }
}
