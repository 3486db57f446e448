import XCTest
@testable import Ops

/// merge(split(x)) == x for every TP strategy, unstage(stage(x)) == x for random PP / VPP / hetero
/// layouts (zero-layer stages included), EP merge(split(x)) == x; seeded.
final class ParallelPropertyTests: XCTestCase {
    var rng = SeededRNG(seed: 42)
    func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

    func testTPStrategiesRoundTrip() throws {
        for _ in 0..<60 {
            let n = int(1...5), k = int(1...3), c = int(1...3), heads = n + int(0...4), p = int(1...2)
            let cases: [(TPStrategy, [Int])] = [
                (.replicate, [int(1...4), c]),
                (.row, [n * k, c]), (.row, [n * k]),
                (.col, [c, n * k]),
                (.glu, [2 * n * k, c]), (.glu, [2 * n * k]),
                (.unalignedVocab, [n + int(0...7), c]),
                (.unalignedRow(heads: heads), [3 * heads * p, c]), (.unalignedRow(heads: heads), [3 * heads * p]),
                (.unalignedCol(heads: heads), [c, heads * p]),
            ]
            for (s, shape) in cases {
                let t = try TF.iota(shape)
                let pieces = try s.split(t, into: n, name: "t")
                XCTAssertEqual(pieces.count, n)
                XCTAssertEqual(pieces.map(\.numel).reduce(0, +), s == .replicate ? n * t.numel : t.numel, "\(s) \(shape) n=\(n)")
                let back = try s.merge(pieces, name: "t")
                XCTAssertEqual(back.shape, shape)
                XCTAssertEqual(try TF.values(back), try TF.values(t), "\(s) \(shape) n=\(n)")
            }
        }
    }

    func testHeteroTPMapRoundTrip() throws {
        let table = try TPTable([(#"re:.*\.qkv"#, .row), (#"re:.*\.proj"#, .col), (#"re:.*\.fc1"#, .glu), (#"re:.*\.vocab"#, .unalignedVocab)])
        for _ in 0..<30 {
            let sizes = [1, 2, 4]
            let tp = sizes[int(0...2)], vit = [0, 1, 2, 4][int(0...3)], audio = [0, 1, 2][int(0...2)]
            let tpl = try TensorParallel(table: table, tp: tp, vitTP: vit, audioTP: audio)
            var m = TensorMap()
            for module in ["image_encoder", "audio_encoder", "text_decoder", "other"] {
                m["\(module).qkv"] = try TF.iota([8, 2])
                m["\(module).proj"] = try TF.iota([2, 8])
                m["\(module).fc1"] = try TF.iota([16])
                m["\(module).vocab"] = try TF.iota([int(4...9)])
                m["\(module).norm"] = try TF.iota([3])
            }
            let ranks = try tpl.split(m)
            XCTAssertEqual(ranks.count, max(tp, vit, audio))
            try TF.assertIdentical(try tpl.merge(ranks), m)
        }
    }

    func testPipelineRoundTrip() throws {
        for _ in 0..<60 {
            let pp = int(1...4), vpp = int(1...3)
            func lists(_ stagesPP: Int, _ chunks: Int) -> [[Int]] {
                var l: [[Int]]
                repeat {
                    l = (0..<chunks).map { _ in (0..<stagesPP).map { _ in [0, 0, 1, 2, 3][int(0...4)] } }
                } while l.flatMap({ $0 }).reduce(0, +) == 0
                return l
            }
            let llm = lists(pp, vpp)
            // The ViT: same shape, or hetero (one stage, replicated), or one chunk of the pipeline.
            let vitShape = int(0...2)
            let vit = vitShape == 0 ? lists(pp, vpp) : vitShape == 1 ? lists(1, 1) : lists(pp, 1)
            let vitStages = vit.flatMap { $0 }.count
            guard (pp * vpp) % vitStages == 0 else { continue }
            let audio = lists(pp, vpp)
            let layout = try PipelineLayout([
                try PipelineModule(.vision, layers: vit), try PipelineModule(.text, layers: llm), try PipelineModule(.audio, layers: audio),
            ])
            var m = TensorMap()
            var v: Int32 = 0
            func add(_ n: String) throws { m[n] = try TF.iota([1], from: v); v += 1 }
            try add("image_encoder.encoder.patch_embed.proj.weight")
            for l in 0..<vit.flatMap({ $0 }).reduce(0, +) { try add("image_encoder.encoder.blocks.layers.\(l).w"); try add("image_encoder.encoder.blocks.layers.\(l).b") }
            try add("image_encoder.projector.w")
            try add("text_decoder.embedding.word_embeddings.weight")
            for l in 0..<llm.flatMap({ $0 }).reduce(0, +) { try add("text_decoder.decoder.layers.\(l).w") }
            try add("text_decoder.decoder.final_layernorm.weight")
            try add("text_decoder.output_layer.weight")
            try add("audio_encoder.encoder.conv1.weight")
            for l in 0..<audio.flatMap({ $0 }).reduce(0, +) { try add("audio_encoder.encoder.blocks.layers.\(l).w") }
            try add("audio_encoder.encoder.ln_post.weight")

            let stages = try layout.stage(m)
            XCTAssertEqual(stages.count, pp * vpp)
            try TF.assertIdentical(try layout.unstage(stages), m, ordered: false)
            XCTAssertEqual(try PipelineLayout.layerCounts(stages, schema: .text), llm.flatMap { $0 })
            XCTAssertEqual(try PipelineLayout.inferLayers(stages, schema: .audio, totalLayers: audio.flatMap { $0 }.reduce(0, +)), audio.flatMap { $0 })
            let vitFlat = vit.flatMap { $0 }, total = vitFlat.reduce(0, +)
            let inferred = try PipelineLayout.inferLayers(stages, schema: .vision, totalLayers: total)
            // The inferred period repeats to the stage counts and sums to the layers.
            XCTAssertEqual(inferred.reduce(0, +), total)
            XCTAssertEqual((0..<(pp * vpp)).map { inferred[$0 % inferred.count] }, (0..<(pp * vpp)).map { vitFlat[$0 % vitFlat.count] })
        }
    }

    func testExpertParallelRoundTrip() throws {
        for _ in 0..<20 {
            let ep = int(1...4), ne = ep * int(1...3)
            var m = TensorMap()
            m["a.router"] = try TF.iota([2])
            for l in 0..<2 { for e in 0..<ne { m["a.layers.\(l).mlp.experts.local_experts.\(e).fc1.weight"] = try TF.iota([1], from: Int32(100 * l + e)) } }
            let p = try ExpertParallel(numExperts: ne, ep: ep)
            let ranks = try p.split(m)
            XCTAssertEqual(ranks.map(\.count), Array(repeating: 1 + 2 * ne / ep, count: ep))
            try TF.assertIdentical(try p.merge(ranks), m, ordered: false)
        }
    }
}
