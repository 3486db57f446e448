import Foundation
import XCTest

/// `mm-convert repl --dry-run` driven through the standard input of the real binary: a session
/// on the Qwen2-VL fixture with inspection, statements, errors that do not end it, a planned save
/// and `exit`.
final class ReplSessionTests: XCTestCase {
    func testPipedSessionTranscript() throws {
        let s = try Scratch("repl")
        let out = s.path("mm")
        let script = """
            load hf "\(RecipePaths.qwen2vlHF)"
            ls "model.layers.0.self_attn.*"
            show "model.norm.weight"
            print config.num_key_value_heads len(config.vision_config)
            renam "model.norm.weight" -> "x"
            merge glu "model.layers.{L}.mlp.{gate,up}_proj.weight" \\
              -> "text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight"
            rename "nothing.*" -> "x.*"
            ls "text_decoder.*"
            shard tp=2 dim=0
            save mm "\(out)"
            plan
            exit
            print "not reached"

            """
        let r = try runBinary(["repl", "--dry-run"], stdin: script)
        // Errors were reported, so a piped session ends with status 1; the session went on.
        XCTAssertEqual(r.status, 1, r.errText)

        let rank0 = out + "/release/mp_rank_00/model_optim_rng.pt", rank1 = out + "/release/mp_rank_01/model_optim_rng.pt"
        let expectedHead = [
            "model.layers.0.self_attn.k_proj.bias  bf16 [32]",
            "model.layers.0.self_attn.k_proj.weight  bf16 [32, 64]",
            "model.layers.0.self_attn.o_proj.weight  bf16 [64, 64]",
            "model.layers.0.self_attn.q_proj.bias  bf16 [64]",
            "model.layers.0.self_attn.q_proj.weight  bf16 [64, 64]",
            "model.layers.0.self_attn.v_proj.bias  bf16 [32]",
            "model.layers.0.self_attn.v_proj.weight  bf16 [32, 64]",
            "model.norm.weight: bf16 [64], 128 bytes",
            "min 0.74609375  max 1.21875  mean 1.0106201171875",
            "first: 0.99609375 1.1015625 1.0 1.1171875 0.984375 1.0390625 1.0234375 1.0703125",
            "2 10",
            "text_decoder.decoder.layers.0.mlp.linear_fc1.weight  bf16 [384, 64]",
            "text_decoder.decoder.layers.1.mlp.linear_fc1.weight  bf16 [384, 64]",
            "text_decoder.decoder.layers.2.mlp.linear_fc1.weight  bf16 [384, 64]",
            "text_decoder.decoder.layers.3.mlp.linear_fc1.weight  bf16 [384, 64]",
            "\(rank0)  (78 tensors, 334720 bytes)",
        ]
        XCTAssertEqual(Array(r.out.prefix(expectedHead.count)), expectedHead)
        // The plan: both rank files with every tensor (dtype, shape, bytes), then the total.
        XCTAssertEqual(r.out.count, expectedHead.count + 78 + 1 + 78 + 1)
        XCTAssertTrue(r.out.contains("  model/text_decoder.decoder.layers.0.mlp.linear_fc1.weight  bf16 [192, 64]  24576"))
        XCTAssertTrue(r.out.contains("  model/visual.patch_embed.proj.weight  bf16 [16, 3, 2, 14, 14]  37632"))
        XCTAssertTrue(r.out.contains("\(rank1)  (78 tensors, 334720 bytes)"))
        XCTAssertEqual(r.out.last, "total: 2 files, 669440 bytes")
        XCTAssertFalse(r.out.contains("not reached"))

        XCTAssertEqual(r.err, [
            "<repl>:5:1: error: unknown statement 'renam'; did you mean 'rename'?",
            "renam \"model.norm.weight\" -> \"x\"",
            "^",
            "note: 'help' lists the statements",
            "<repl>:8:8: error: rename: pattern 'nothing.*' matched no tensor (check the name, or mark the statement optional)",
            "rename \"nothing.*\" -> \"x.*\"",
            "       ^",
        ])
        // A dry run writes nothing.
        XCTAssertFalse(s.exists("mm"))
    }

    /// A clean piped session exits 0; `quit` ends it like `exit`.
    func testCleanSessionExitsZero() throws {
        let r = try runBinary(["repl"], stdin: "let x = 6 * 7\nprint x\nquit\nprint 0\n")
        XCTAssertEqual(r.status, 0, r.errText)
        XCTAssertEqual(r.out, ["42"])
        XCTAssertEqual(r.err, [])
    }
}
