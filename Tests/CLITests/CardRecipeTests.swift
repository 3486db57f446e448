import CLI
import DSL
import Foundation
import Ops
import XCTest

/// The design card's example, `load hf; split qkv heads=28; shard tp=2 dim=0; save mm`, run as
/// written (examples/card.recipe) on a checkpoint where it makes sense: only fused [q; k; v]
/// tensors of 28 heads.
final class CardRecipeTests: XCTestCase {
    static let heads = 28, headDim = 2
    static var hidden: Int { heads * headDim }

    /// Layer l's weight element (row, col) is l*1_000_000 + row*1000 + col; its bias element row
    /// is l*1_000_000 + row: every element says where it came from.
    static func writeCheckpoint(_ dir: String) throws -> TensorMap {
        let d = Self.hidden
        var m = TensorMap()
        for l in 0..<2 {
            m["blocks.\(l).attn.qkv.weight"] = try TestTensors.f32([3 * d, d]) { i in Float(l * 1_000_000 + (i / d) * 1000 + i % d) }
            m["blocks.\(l).attn.qkv.bias"] = try TestTensors.f32([3 * d]) { i in Float(l * 1_000_000 + i) }
        }
        let config: Value = .dict([("hidden_size", .int(d)), ("num_attention_heads", .int(Self.heads))])
        try HFCheckpoint.save(m, to: dir, maxShardBytes: 1 << 30, sideFiles: ["config.json": TestTensors.json(config)])
        return m
    }

    /// The HF row behind row `g` of the interleaved tensor: head g / (3 hd), part (q, k, v)
    /// (g mod 3 hd) / hd, row in head g mod hd.
    func sourceRow(_ g: Int) -> Int {
        let hd = Self.headDim
        let head = g / (3 * hd), part = (g % (3 * hd)) / hd, i = g % hd
        return part * Self.hidden + head * hd + i
    }

    func testCardRecipeParses() throws {
        let recipe = try Recipe.load(RecipePaths.examples + "/card.recipe")
        XCTAssertEqual(recipe.statements.count, 4)
        let inline = try Recipe.parse("load hf; split qkv heads=28; shard tp=2 dim=0; save mm", name: "card")
        XCTAssertEqual(inline.statements.map(\.description), recipe.statements.map(\.description))
    }

    func testCardRecipeRunsEndToEnd() throws {
        let s = try Scratch("card")
        let input = s.path("hf"), output = s.path("mm")
        _ = try Self.writeCheckpoint(input)
        let r = runCLI(["run", RecipePaths.examples + "/card.recipe", "--set", "input=\(input)", "--set", "output=\(output)", "--quiet"])
        XCTAssertEqual(r.status, 0, r.errText)

        XCTAssertEqual(try String(contentsOfFile: output + "/latest_checkpointed_iteration.txt", encoding: .utf8), "release")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output + "/release").sorted(), ["mp_rank_00", "mp_rank_01"])
        let ckpt = try MMCheckpointReader.load(output)
        XCTAssertEqual([ckpt.tpSize, ckpt.ppSize, ckpt.epSize, ckpt.vppSize], [2, 1, 1, 1])

        let d = Self.hidden, rows = 3 * d / 2
        for t in 0..<2 {
            guard let rank = ckpt.rank(MMRank(tp: t, pp: 0, ep: 0)) else { return XCTFail("no rank tp \(t)") }
            XCTAssertEqual(rank.chunks.count, 1)
            let m = rank.chunks[0]
            XCTAssertEqual(m.names.sorted(), ["blocks.0.attn.qkv.bias", "blocks.0.attn.qkv.weight", "blocks.1.attn.qkv.bias", "blocks.1.attn.qkv.weight"])
            for l in 0..<2 {
                let w = try XCTUnwrap(m["blocks.\(l).attn.qkv.weight"]), b = try XCTUnwrap(m["blocks.\(l).attn.qkv.bias"])
                XCTAssertEqual(w.shape, [rows, d])
                XCTAssertEqual(b.shape, [rows])
                let wv = try TestTensors.floats(w), bv = try TestTensors.floats(b)
                var wrong = 0
                for r in 0..<rows {
                    let src = sourceRow(t * rows + r)
                    if bv[r] != Float(l * 1_000_000 + src) { wrong += 1 }
                    for c in 0..<d where wv[r * d + c] != Float(l * 1_000_000 + src * 1000 + c) { wrong += 1 }
                }
                XCTAssertEqual(wrong, 0, "tp \(t) layer \(l): elements out of place")
            }
            // Spot checks written out: rank 0 starts with head 0's q rows, then its k rows;
            // rank 1 starts with head 14's q row 0 (HF row 28).
            let w0 = try TestTensors.floats(m["blocks.0.attn.qkv.weight"]!)
            if t == 0 {
                XCTAssertEqual(Array(w0[0..<2]), [0, 1])              // q head 0, row 0
                XCTAssertEqual(w0[2 * d], 56_000)                      // k head 0, row 0 = HF row 56
                XCTAssertEqual(w0[4 * d + 1], 112_001)                 // v head 0, row 0 = HF row 112
                XCTAssertEqual(w0[6 * d], 2000)                        // q head 1, row 0 = HF row 2
            } else {
                XCTAssertEqual(w0[0], 28_000)
                XCTAssertEqual(w0[(rows - 1) * d + 55], 167_055)      // v head 27, last row
            }
        }
    }

    /// The card with heads that do not fit the tensors is refused before anything is written.
    func testCardRecipeRefusesWrongHeads() throws {
        let s = try Scratch("card-bad")
        let input = s.path("hf"), output = s.path("mm")
        _ = try Self.writeCheckpoint(input)
        let recipe = try s.write("card.recipe", "load hf; split qkv heads=32; shard tp=2 dim=0; save mm\n")
        let r = runCLI(["run", recipe, "--set", "input=\(input)", "--set", "output=\(output)", "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.first?.hasPrefix(recipe + ":1:10: error: ") ?? false, r.errText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }
}
