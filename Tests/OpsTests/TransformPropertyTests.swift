import XCTest
@testable import Ops

/// inverse(forward(x)) is bit-identical (names, order, dtypes, shapes, bytes) for every transform,
/// over random shapes and sizes from a seeded generator.
final class TransformPropertyTests: XCTestCase {
    var rng = SeededRNG(seed: 0x5eed)
    var counter: Int32 = 0

    func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

    /// A tensor of fresh, distinct values.
    func fresh(_ shape: [Int]) throws -> Tensor {
        defer { counter += Int32(shape.reduce(1, *)) }
        return try TF.iota(shape, from: counter)
    }

    /// Random trailing dims: none (a bias) or one or two columns dims.
    func trailing() -> [Int] { [[], [int(1...3)], [int(1...2), int(1...3)]][int(0...2)] }

    func roundTrip(_ t: any Transform, _ input: TensorMap, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try t.forward(input)
        try TF.assertIdentical(try t.inverse(out), input, file: file, line: line)
    }

    func testMergesRoundTrip() throws {
        for _ in 0..<40 {
            let layers = int(1...3), groups = int(1...3), heads = groups * int(1...3), d = int(1...3)
            let tail = trailing()
            var m = TensorMap()
            m["model.embed"] = try fresh([2])
            for l in 0..<layers {
                m["model.layers.\(l).q_proj"] = try fresh([heads * d] + tail)
                m["model.layers.\(l).k_proj"] = try fresh([groups * d] + tail)
                m["model.layers.\(l).v_proj"] = try fresh([groups * d] + tail)
                m["model.layers.\(l).o_proj"] = try fresh([2])
                let f = int(1...4), h = tail.isEmpty ? [] : [int(1...3)]
                m["model.layers.\(l).gate_proj"] = try fresh([f] + h)
                m["model.layers.\(l).up_proj"] = try fresh([f] + h)
                let a = int(0...3), b = int(0...3)
                m["model.layers.\(l).a_part"] = try fresh([a, 2])
                m["model.layers.\(l).b_part"] = try fresh([b, 2])
                m["model.layers.\(l).qb"] = try fresh([heads * d])
                m["model.layers.\(l).vb"] = try fresh([heads * d])
            }
            try roundTrip(try QKVMerge("model.layers.{L}.{q,k,v}_proj", "t.layers.{L}.qkv", groups: groups, heads: heads), m)
            try roundTrip(try GLUMerge("model.layers.{L}.{gate,up}_proj", "t.layers.{L}.fc1"), m)
            try roundTrip(try ZeroKeyMerge("model.layers.{L}.{qb,vb}", "t.layers.{L}.qkv_bias", heads: heads), m)
            let sizes = [m["model.layers.0.a_part"]!.shape[0], m["model.layers.0.b_part"]!.shape[0]]
            // Part sizes are per statement: only layer 0's sizes fit; restrict to that layer.
            let c = try ConcatMerge("model.layers.0.{a,b}_part", "t.layers.0.ab", sizes: sizes)
            try roundTrip(c, m)
            // All of them chained, inverted in reverse order.
            try roundTrip(TransformChain([
                try Rename("model.embed", "t.embed"),
                try QKVMerge("model.layers.{L}.{q,k,v}_proj", "t.layers.{L}.qkv", groups: groups, heads: heads),
                try GLUMerge("model.layers.{L}.{gate,up}_proj", "t.layers.{L}.fc1"),
                try Rename("model.layers.{L}.o_proj", "t.layers.{L}.proj"),
            ]), m)
        }
    }

    func testSingleTensorTransformsRoundTrip() throws {
        for _ in 0..<40 {
            let heads = int(1...4), d = int(1...3), tail = trailing()
            let v = int(1...20), cols = int(1...3)
            var m = TensorMap()
            for l in 0..<int(1...3) { m["v.\(l).qkv"] = try fresh([3 * heads * d] + tail) }
            m["emb"] = try fresh([v, cols])
            m["other.x"] = try fresh([1])
            try roundTrip(try Relocate("v.{L}.qkv", heads: heads), m)
            try roundTrip(try VocabPad("emb", vocabSize: v, to: .multiple(int(1...8))), m)
            try roundTrip(try VocabPad("emb", vocabSize: v, to: .rows(v + int(0...5))), m)
            try roundTrip(Tie(source: "emb", target: "out"), m)
            try roundTrip(try ZeroTensors("z.{L}.bias", indices: Array(0..<int(0...3)), shape: [int(0...3), 2], dtype: .i32), m)
            try roundTrip(try Rename([try .init("v.{L}.*", "w.blocks.{L}.*"), try .init("emb", "text.emb")]), m)
        }
    }

    func testExpertSplitRoundTrip() throws {
        for _ in 0..<30 {
            let ne = int(1...4)
            var m = TensorMap()
            m["router"] = try fresh([ne])
            for l in 0..<int(1...2) {
                m["l.\(l).experts.gate_up_proj"] = try fresh([ne, int(1...5), 2 * int(1...4)])
                m["l.\(l).experts.down_proj"] = try fresh([ne, int(1...5), int(1...5)])
            }
            for transpose in [true, false] {
                try roundTrip(try ExpertSplit("l.{L}.experts.{gate_up_proj,down_proj}",
                                              "t.{L}.local_experts.{E}.{linear_fc1,linear_fc2}.weight", numExperts: ne, transpose: transpose), m)
            }
        }
    }

    func testCastRoundTrip() throws {
        for _ in 0..<20 {
            let n = int(1...40)
            var bytes: [UInt8] = []
            for _ in 0..<n {
                // Finite bf16 values only (exponent not all ones).
                var bits = UInt16.random(in: 0...UInt16.max, using: &rng)
                if bits & 0x7f80 == 0x7f80 { bits &= 0xbfff }
                bytes += [UInt8(bits & 0xff), UInt8(bits >> 8)]
            }
            let m = TF.map([("w", try Tensor.fromBytes(bytes, dtype: .bf16, shape: [n])), ("ids", try fresh([2]))])
            try roundTrip(try CastDType("*", from: .bf16, to: .f32), m)
            try roundTrip(try CastDType("*", from: .f16, to: .f64), m)
        }
    }
}
