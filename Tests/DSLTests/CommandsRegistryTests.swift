import DSL
import Foundation
import Ops
import XCTest

/// The conversion statements of `ConversionCommands.registry()` run by the interpreter on a
/// `Workspace` of tiny in-memory tensors: each revertible statement, applied then reverted inside a
/// map, gives back the exact tensors, names and order; the layout statements invert too.
final class CommandsRegistryTests: XCTestCase {
    /// A session over a workspace holding `tensors`, collecting output.
    final class WorkspaceSession {
        let workspace = Workspace()
        let interpreter: Interpreter<Workspace>
        var output: [String] = []

        init(_ tensors: TensorMap, config: Value? = nil) {
            workspace.setModel(tensors)
            interpreter = Interpreter(registry: ConversionCommands.registry(), state: workspace, loader: .memory([:]))
            interpreter.checkDirectories = false
            interpreter.context.config = config
            interpreter.context.output = { [unowned self] in self.output.append($0) }
        }

        func run(_ text: String) throws { try interpreter.execute(text, name: "t.recipe") }
        var model: TensorMap { workspace.allMaps[0].tensors }
    }

    /// An f32 tensor with elements start, start+1, ... (exact, distinct).
    func t(_ shape: [Int], _ start: Int = 0) throws -> Tensor {
        let n = shape.reduce(1, *)
        var b: [UInt8] = []
        for i in 0..<n { withUnsafeBytes(of: Float(start + i).bitPattern.littleEndian) { b.append(contentsOf: $0) } }
        return try Tensor.fromBytes(b, dtype: .f32, shape: shape)
    }

    func assertSame(_ a: TensorMap, _ b: TensorMap, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(a.names, b.names, file: file, line: line)
        for (n, x) in a {
            guard let y = b[n] else { continue }
            XCTAssertEqual(x.dtype, y.dtype, n, file: file, line: line)
            XCTAssertEqual(x.shape, y.shape, n, file: file, line: line)
            XCTAssertEqual(try x.materialize(), try y.materialize(), n, file: file, line: line)
        }
    }

    /// Applies `statement` in a map, checks the forward result with `check`, reverts, and checks
    /// the original comes back exactly.
    func roundTrip(_ statement: String, _ tensors: TensorMap, file: StaticString = #filePath, line: UInt = #line,
                   check: (TensorMap) throws -> Void) throws {
        let s = WorkspaceSession(tensors)
        try s.run("map m {\n  \(statement)\n}\napply m")
        try check(s.model)
        try s.run("revert m")
        try assertSame(s.model, tensors, file: file, line: line)
    }

    func testStatementsTheRegistryProvides() {
        let r = ConversionCommands.registry()
        XCTAssertEqual(r.order, [
            "load hf", "load mm", "load config", "load pt", "load dcp", "load layerzero", "add hf", "save hf", "save dcp", "save pt", "save mm",
            "rename", "merge glu", "merge qkv", "merge zerok", "merge cat", "relocate qkv", "split qkv", "tie", "retie",
            "pad", "zeros", "experts", "experts merge", "experts split", "merge lora", "flatten", "transpose", "drop", "refuse", "keep", "cast",
            "shard", "unshard", "ep", "stage", "unstage", "ls", "show", "plan",
        ])
        XCTAssertEqual(r.tableKinds.keys.sorted(), ["shard", "stages"])
        let revertible = r.order.filter { r.commands[$0]?.revert != nil }
        XCTAssertEqual(revertible, ["rename", "merge glu", "merge qkv", "merge zerok", "merge cat", "relocate qkv", "split qkv",
                                    "tie", "pad", "zeros", "experts", "experts merge", "experts split", "flatten", "transpose", "cast"])
    }

    func testRenameReverts() throws {
        let m = TensorMap([("a.0.w", try t([2])), ("a.1.w", try t([2], 2)), ("n.x", try t([1], 4)), ("n.y", try t([1], 5))])
        try roundTrip(#"rename "a.{L}.w" -> "b.{L}.weight" "n.*" -> "m.*""#, m) { out in
            XCTAssertEqual(out.names, ["b.0.weight", "b.1.weight", "m.x", "m.y"])
        }
    }

    func testGLUMergeReverts() throws {
        let m = TensorMap([("l.0.gate.w", try t([2, 2])), ("l.0.up.w", try t([2, 2], 4))])
        try roundTrip(#"merge glu "l.{L}.{gate,up}.w" -> "l.{L}.fc1.w""#, m) { out in
            XCTAssertEqual(out.names, ["l.0.fc1.w"])
            XCTAssertEqual(try out["l.0.fc1.w"]!.materialize(), try t([4, 2]).materialize())  // [gate; up]
        }
    }

    /// 4 heads, 2 groups, head dim 1: [q0 q1 k0 v0 q2 q3 k1 v1].
    func testQKVMergeReverts() throws {
        let m = TensorMap([("l.0.q", try t([4, 1], 0)), ("l.0.k", try t([2, 1], 10)), ("l.0.v", try t([2, 1], 20))])
        try roundTrip(#"merge qkv "l.{L}.{q,k,v}" -> "l.{L}.qkv" groups=2 heads=4"#, m) { out in
            XCTAssertEqual(try out["l.0.qkv"]!.materialize(), try TensorMap([("x", try Tensor.concat([
                try t([2, 1], 0), try t([1, 1], 10), try t([1, 1], 20), try t([2, 1], 2), try t([1, 1], 11), try t([1, 1], 21),
            ], dim: 0))])["x"]!.materialize())
        }
    }

    func testZeroKeyMergeReverts() throws {
        let m = TensorMap([("a.q", try t([2], 1)), ("a.v", try t([2], 5))])
        try roundTrip(#"merge zerok "a.{q,v}" -> "a.qkv" heads=2"#, m) { out in
            XCTAssertEqual(out["a.qkv"]?.shape, [6])
            XCTAssertEqual(try out["a.qkv"]!.materialize(), try Tensor.concat([try t([1], 1), .zeros(.f32, [1]), try t([1], 5),
                                                                              try t([1], 2), .zeros(.f32, [1]), try t([1], 6)], dim: 0).materialize())
        }
    }

    func testConcatMergeReverts() throws {
        let m = TensorMap([("p.a", try t([2, 3])), ("p.b", try t([2, 1], 9))])
        try roundTrip(#"merge cat "p.{a,b}" -> "p.ab" sizes=[3, 1] dim=1"#, m) { out in
            XCTAssertEqual(out["p.ab"]?.shape, [2, 4])
        }
    }

    func testRelocateAndSplitQKVRevert() throws {
        let m = TensorMap([("blk.0.qkv.weight", try t([6, 2])), ("blk.0.qkv.bias", try t([6], 100))])
        for statement in [#"relocate qkv "blk.{L}.qkv.{weight,bias}" heads=2"#, "split qkv heads=2"] {
            try roundTrip(statement, m) { out in
                // [q0 q1 k0 k1 v0 v1] -> [q0 k0 v0 q1 k1 v1]
                XCTAssertEqual(try TensorMap([("b", out["blk.0.qkv.bias"]!)])["b"]!.materialize(),
                               try Tensor.concat([100, 102, 104, 101, 103, 105].map { try t([1], $0) }, dim: 0).materialize())
            }
        }
    }

    func testTiePadZerosExpertsCastRevert() throws {
        let base = TensorMap([("emb", try t([5, 2])), ("moe.0.experts", try t([2, 3, 4]))])
        try roundTrip(#"tie "emb" -> "out""#, base) { out in
            XCTAssertEqual(out.names, ["emb", "moe.0.experts", "out"])
        }
        try roundTrip(#"pad "emb" vocab=5 multiple=4"#, base) { out in
            XCTAssertEqual(out["emb"]?.shape, [8, 2])
            XCTAssertEqual(Array(try out["emb"]!.materialize().suffix(24)), [UInt8](repeating: 0, count: 24))
        }
        try roundTrip(#"zeros "blk.{L}.k_bias" layers=[0, 1] shape=[3] dtype=f32"#, base) { out in
            XCTAssertEqual(out.names, ["emb", "moe.0.experts", "blk.0.k_bias", "blk.1.k_bias"])
        }
        try roundTrip(#"experts "moe.{L}.experts" -> "moe.{L}.local_experts.{E}.w" n=2"#, base) { out in
            XCTAssertEqual(out.names, ["emb", "moe.0.local_experts.0.w", "moe.0.local_experts.1.w"])
            XCTAssertEqual(out["moe.0.local_experts.1.w"]?.shape, [4, 3])  // transposed
        }
        try roundTrip(#"cast bf16 "emb" from=f32"#, base) { out in
            XCTAssertEqual(out["emb"]?.dtype, .bf16)
            XCTAssertEqual(out["moe.0.experts"]?.dtype, .f32)
        }
    }

    /// `drop` and `keep` have no inverse: reverting a map holding one is refused before anything runs.
    func testDropHasNoInverse() throws {
        let s = WorkspaceSession(TensorMap([("a", try t([1])), ("b", try t([1], 1))]))
        try s.run("map m {\n  rename \"a\" -> \"c\"\n  drop \"b\"\n}\napply m")
        XCTAssertEqual(s.model.names, ["c"])
        XCTAssertThrowsError(try s.run("revert m")) { e in
            XCTAssertTrue("\(e)".contains("drop"), "\(e)")
        }
        XCTAssertEqual(s.model.names, ["c"])  // nothing was reverted
    }

    /// shard/unshard and stage/unstage through tables, ep/unshard experts=: back to the model.
    func testLayoutStatementsInvert() throws {
        var m = TensorMap()
        m["text_decoder.embedding.word_embeddings.weight"] = try t([4, 2])
        for l in 0..<3 {
            m["text_decoder.decoder.layers.\(l).mlp.linear_fc1.weight"] = try t([4, 2], 100 * l)
            m["text_decoder.decoder.layers.\(l).mlp.linear_fc2.weight"] = try t([2, 2], 100 * l + 50)
            m["text_decoder.decoder.layers.\(l).input_layernorm.weight"] = try t([2], 100 * l + 90)
        }
        m["text_decoder.decoder.final_layernorm.weight"] = try t([2], 999)
        m["text_decoder.output_layer.weight"] = try t([4, 2], 1000)
        let s = WorkspaceSession(m)
        try s.run("""
            shard tp_table {
              row "text_decoder.embedding.word_embeddings.weight" "text_decoder.output_layer.weight"
              glu "text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight"
              col "text_decoder.decoder.layers.{L}.mlp.linear_fc2.weight"
            }
            stages pp_table { llm preset="text" }
            shard tp_table tp=2
            stage pp_table llm=[[1, 2]]
            """)
        XCTAssertEqual(s.workspace.phase, .staged)
        XCTAssertEqual(s.workspace.allMaps.map(\.label), ["tp 0, pp 0", "tp 0, pp 1", "tp 1, pp 0", "tp 1, pp 1"])
        XCTAssertEqual(s.workspace.allMaps[1].tensors["text_decoder.decoder.layers.1.mlp.linear_fc2.weight"]?.shape, [2, 1])
        try s.run("plan")
        XCTAssertEqual(s.output, ["phase: staged", "ranks: ep 1 x tp 2 x pp 2",
                                  "tp 0, pp 0: 4 tensors, 48 bytes", "tp 0, pp 1: 8 tensors, 88 bytes",
                                  "tp 1, pp 0: 4 tensors, 48 bytes", "tp 1, pp 1: 8 tensors, 88 bytes"])
        try s.run("unstage pp_table\nunshard tp_table tp=2")
        XCTAssertEqual(Set(s.model.names), Set(m.names))
        for (n, x) in m { XCTAssertEqual(try s.model[n]!.materialize(), try x.materialize(), n) }
    }

    /// `ls` and `show` on the workspace.
    func testInspection() throws {
        let s = WorkspaceSession(TensorMap([("l.0.w", try t([2, 3])), ("l.1.w", try t([2], 7)), ("x", try t([1]))]))
        try s.run("ls \"l.*\"\nshow \"l.0.w\"\nls \"nothing\"")
        XCTAssertEqual(s.output, [
            "l.0.w  f32 [2, 3]", "l.1.w  f32 [2]",
            "l.0.w: f32 [2, 3], 24 bytes", "min 0.0  max 5.0  mean 2.5", "first: 0.0 1.0 2.0 3.0 4.0 5.0",
            "no tensor matches 'nothing'",
        ])
        XCTAssertThrowsError(try s.run("show \"l.0.x\"")) { e in
            XCTAssertTrue("\(e)".contains("no tensor 'l.0.x'; did you mean 'l.0.w'?"), "\(e)")
        }
    }

    /// `retie`: the copy present for pp > 1, absent for pp = 1; an untied output layer is left alone.
    func testRetie() throws {
        let s = WorkspaceSession(TensorMap([("emb", try t([2, 2])), ("x", try t([1]))]))
        try s.run("retie \"emb\" -> \"out\" pp=2")
        XCTAssertEqual(s.model.names, ["emb", "x", "out"])
        try s.run("retie \"emb\" -> \"out\" pp=1")
        XCTAssertEqual(s.model.names, ["emb", "x"])
        let untied = WorkspaceSession(TensorMap([("emb", try t([2, 2])), ("out", try t([2, 2], 9))]))
        try untied.run("retie \"emb\" -> \"out\" pp=1")
        XCTAssertEqual(untied.model.names, ["emb", "out"])
    }

    /// `ep` splits experts over expert-parallel ranks, renumbered; `unshard ... experts=` merges them.
    func testExpertParallelInverts() throws {
        var m = TensorMap([("emb", try t([2, 2]))])
        for e in 0..<4 { m["layers.0.mlp.experts.local_experts.\(e).linear_fc1.weight"] = try t([2], 10 * e) }
        let s = WorkspaceSession(m)
        try s.run("ep experts=4 size=2")
        XCTAssertEqual(s.workspace.allMaps.map(\.label), ["tp 0, ep 0", "tp 0, ep 1"])
        XCTAssertEqual(s.workspace.allMaps[1].tensors.names, ["emb", "layers.0.mlp.experts.local_experts.0.linear_fc1.weight",
                                                             "layers.0.mlp.experts.local_experts.1.linear_fc1.weight"])
        XCTAssertEqual(try s.workspace.allMaps[1].tensors["layers.0.mlp.experts.local_experts.0.linear_fc1.weight"]!.materialize(), try t([2], 20).materialize())
        try s.run("unshard tp=1 dim=0 experts=4")
        try assertSame(s.model, m)
    }
}
