import CLI
import DSL
import Foundation
import Ops
import XCTest

/// `mm-convert run` end to end on tiny checkpoints: dry-run plans, and diagnostics that point at
/// file:line:col with the source line and a caret, before anything is written.
final class RunRecipeTests: XCTestCase {
    /// Checks a rendered diagnostic: `path:line:col: error: MESSAGE`, the source line, the caret.
    func assertDiagnostic(_ r: CLIResult, _ path: String, line: Int, column: Int, message: String, source: String,
                          file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertEqual(r.status, 1, file: file, line: sourceLine)
        XCTAssertEqual(r.out, [], file: file, line: sourceLine)
        guard r.err.count >= 3 else { return XCTFail("expected a rendered diagnostic, got \(r.err)", file: file, line: sourceLine) }
        XCTAssertEqual(r.err[0], "\(path):\(line):\(column): error: \(message)", file: file, line: sourceLine)
        XCTAssertEqual(r.err[1], source, file: file, line: sourceLine)
        XCTAssertEqual(r.err[2], String(repeating: " ", count: column - 1) + "^", file: file, line: sourceLine)
    }

    // MARK: - Dry run

    /// The card recipe's plan: every rank file with every tensor, dtype, shape and byte count.
    func testDryRunPrintsThePlanAndWritesNothing() throws {
        let s = try Scratch("run-dry")
        let input = s.path("hf"), output = s.path("mm")
        _ = try CardRecipeTests.writeCheckpoint(input)
        let r = runCLI(["run", RecipePaths.examples + "/card.recipe", "--set", "input=\(input)", "--set", "output=\(output)", "--dry-run"])
        XCTAssertEqual(r.status, 0, r.errText)
        var expected = ["dry run: nothing was written"]
        for t in 0..<2 {
            expected.append("\(output)/release/mp_rank_0\(t)/model_optim_rng.pt  (4 tensors, 38304 bytes)")
            for l in 0..<2 {
                expected.append("  model/blocks.\(l).attn.qkv.bias  f32 [84]  336")
                expected.append("  model/blocks.\(l).attn.qkv.weight  f32 [84, 56]  18816")
            }
        }
        expected.append("total: 2 files, 76608 bytes")
        XCTAssertEqual(r.out, expected)
        XCTAssertEqual(r.err, [])
        XCTAssertFalse(s.exists("mm"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.root), ["hf"])
    }

    /// The Llama recipe at tp 2 / pp [[1,3]]: four files; bytes = the model plus one more copy of
    /// the replicated norms (4 layers x 2 x 128 + 128 bytes).
    func testDryRunOfTheLlamaRecipe() throws {
        let s = try Scratch("run-dry-llama")
        let hf = s.path("hf"), mm = s.path("mm")
        let model = try TinyLlama.write(hf)
        let r = runCLI(["run", RecipePaths.examples + "/llama/standalone/hf_to_mm.recipe", "--set", "hf_dir=\(hf)", "--set", "mm_dir=\(mm)",
                        "--set", "tp=2", "--set", "pp_layers=[[1,3]]", "--dry-run"])
        XCTAssertEqual(r.status, 0, r.errText)
        let headers = r.out.filter { $0.hasPrefix(mm) }
        XCTAssertEqual(headers.map { $0.replacingOccurrences(of: mm, with: "MM") }, [
            "MM/release/mp_rank_00_000/model_optim_rng.pt  (7 tensors, 53504 bytes)",
            "MM/release/mp_rank_00_001/model_optim_rng.pt  (20 tensors, 127872 bytes)",
            "MM/release/mp_rank_01_000/model_optim_rng.pt  (7 tensors, 53504 bytes)",
            "MM/release/mp_rank_01_001/model_optim_rng.pt  (20 tensors, 127872 bytes)",
        ])
        XCTAssertEqual(r.out.count, 1 + 4 + 2 * (7 + 20) + 1)
        XCTAssertTrue(r.out.contains("  model/text_decoder.decoder.layers.2.self_attention.linear_qkv.weight  bf16 [64, 64]  8192"))
        XCTAssertEqual(r.out.last, "total: 4 files, \(model.totalBytes + 4 * 2 * 128 + 128) bytes")
        XCTAssertEqual(model.totalBytes + 1152, 362_752)
        XCTAssertFalse(s.exists("mm"))
    }

    // MARK: - Diagnostics

    func testPatternThatMatchedNothing() throws {
        let s = try Scratch("run-err")
        let recipe = try s.write("a.recipe", "load hf\nrename \"model.layers.{L}.self_attn.qq_proj.weight\" -> \"x.{L}\"\nsave mm\n")
        let r = runCLI(["run", recipe, "--set", "input=\(RecipePaths.qwen2vlHF)", "--set", "output=\(s.path("out"))"])
        assertDiagnostic(r, recipe, line: 2, column: 8,
                         message: "rename: pattern 'model.layers.{L}.self_attn.qq_proj.weight' matched no tensor (check the name, or mark the statement optional)",
                         source: "rename \"model.layers.{L}.self_attn.qq_proj.weight\" -> \"x.{L}\"")
        XCTAssertFalse(s.exists("out"))
    }

    /// Heads that do not divide by tp: the Llama recipe's own check (2 KV heads, tp 4), and the
    /// library's check of a head-wise TP split.
    func testHeadsThatDoNotSplitOverTP() throws {
        let s = try Scratch("run-err")
        let hf = s.path("hf")
        try TinyLlama.write(hf)
        let llama = RecipePaths.examples + "/llama/standalone/hf_to_mm.recipe"
        let r = runCLI(["run", llama, "--set", "hf_dir=\(hf)", "--set", "mm_dir=\(s.path("mm"))", "--set", "tp=4", "--set", "pp_layers=[4]"])
        assertDiagnostic(r, llama, line: 19, column: 1, message: "the 2 KV heads do not split over tp=4", source: "assert config.num_key_value_heads % tp == 0 \\")
        XCTAssertFalse(s.exists("mm"))

        let recipe = try s.write("b.recipe", """
            shard vit_tp {
              urow "visual.blocks.{L}.attn.qkv.weight" heads=config.vision_config.num_heads
            }
            load hf
            shard vit_tp tp=8
            save mm

            """)
        let r2 = runCLI(["run", recipe, "--set", "input=\(RecipePaths.qwen2vlHF)", "--set", "output=\(s.path("out"))"])
        assertDiagnostic(r2, recipe, line: 5, column: 14, message: "shard: tensor 'visual.blocks.0.attn.qkv.weight': 4 heads do not split over tp=8", source: "shard vit_tp tp=8")
        XCTAssertFalse(s.exists("out"))
    }

    func testMissingDirectory() throws {
        let s = try Scratch("run-err")
        let recipe = try s.write("c.recipe", "# convert\nload hf \"nowhere/hf\"\n")
        assertDiagnostic(runCLI(["run", recipe]), recipe, line: 2, column: 9,
                         message: "load hf: nowhere/hf: cannot list the directory: it does not exist or is not readable", source: "load hf \"nowhere/hf\"")
        // Through the `input` setting.
        let setting = try s.write("d.recipe", "load hf\nsave mm\n")
        assertDiagnostic(runCLI(["run", setting, "--set", "input=\(s.path("missing"))"]), setting, line: 1, column: 1,
                         message: "load hf: \(s.path("missing")): cannot list the directory: it does not exist or is not readable", source: "load hf")
        // No directory at all.
        assertDiagnostic(runCLI(["run", setting]), setting, line: 1, column: 1,
                         message: "load hf: no directory given: write it after the statement, or set `input` (mm-convert run FILE --set input=DIR)", source: "load hf")
        // A `dir` parameter is checked before any statement runs (a command-line value: no position).
        let r = runCLI(["run", RecipePaths.examples + "/llama/standalone/hf_to_mm.recipe", "--set", "hf_dir=\(s.path("missing"))", "--set", "mm_dir=\(s.path("mm"))"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, ["error: parameter 'hf_dir' expects dir, but directory '\(s.path("missing"))' does not exist"])
    }

    /// A merge after `shard` is refused at the merge, before the save.
    func testWrongStatementOrder() throws {
        let s = try Scratch("run-err")
        let recipe = try s.write("e.recipe", """
            load hf
            shard tp=2 dim=0
            merge glu "model.layers.{L}.mlp.{gate,up}_proj.weight" -> "fc1.{L}.weight"
            save mm

            """)
        let r = runCLI(["run", recipe, "--set", "input=\(RecipePaths.qwen2vlHF)", "--set", "output=\(s.path("out"))"])
        assertDiagnostic(r, recipe, line: 3, column: 1,
                         message: "merge glu: this statement works on the whole model, but it is sharded over ranks; put it before `shard`/`stage`, or after `unstage`/`unshard`",
                         source: "merge glu \"model.layers.{L}.mlp.{gate,up}_proj.weight\" -> \"fc1.{L}.weight\"")
        XCTAssertFalse(s.exists("out"))
    }

    /// `save hf like=` puts each tensor in the original's place, so it must have the original's
    /// shape: a vocabulary padded on the way and not sliced off again is refused, nothing written.
    func testSaveLikeRefusesAChangedShape() throws {
        let s = try Scratch("run-err")
        let hf = RecipePaths.qwen2vlHF
        let recipe = try s.write("g.recipe", """
            load hf
            pad "model.embed_tokens.weight" vocab=config.vocab_size rows=400
            save hf like="\(hf)"

            """)
        let r = runCLI(["run", recipe, "--set", "input=\(hf)", "--set", "output=\(s.path("out"))"])
        assertDiagnostic(r, recipe, line: 3, column: 9,
                         message: "save hf: tensor 'model.embed_tokens.weight': has shape [400, 64], but the original in \(hf) has [384, 64]: the conversion does not give back the original's shape (an option that changed it, e.g. a padded vocabulary, must be given again)",
                         source: "save hf like=\"\(hf)\"")
        XCTAssertFalse(s.exists("out"))
    }

    /// `load pt`: the tensors of one torch.save state dict (the saved dict, or the dict at `key=`),
    /// their names as `weight_map`, `config` left as `load config` read it; a dict that holds
    /// anything but tensors is refused.
    func testLoadPt() throws {
        let s = try Scratch("run-pt")
        let a = try Tensor.zeros(.bf16, [2, 3]), b = try RandomPool(dtype: .f32, bytes: 64, seed: 3).tensor("b", [4])
        func dict(_ items: [(String, PickleValue)]) -> PickleValue { .dict(PickleDict(strings: items)) }
        let flat = s.path("flat.pt"), nested = s.path("nested.pt"), mixed = s.path("mixed.pt")
        try TorchCheckpoint.save(dict([("x.weight", .tensor(TorchTensor(a))), ("y", .tensor(TorchTensor(b)))]), to: flat)
        try TorchCheckpoint.save(dict([("state", dict([("x.weight", .tensor(TorchTensor(a)))])), ("step", .int(3))]), to: nested)
        try TorchCheckpoint.save(dict([("x.weight", .tensor(TorchTensor(a))), ("device", .string("cpu"))]), to: mixed)
        let recipe = try s.write("p.recipe", """
            load config "\(RecipePaths.qwen2vlHF)"
            load pt
            print weight_map config.num_hidden_layers
            ls

            """)
        let r = runCLI(["run", recipe, "--set", "input=\(flat)"])
        XCTAssertEqual(r.status, 0, r.errText)
        XCTAssertEqual(r.out.first, "{x.weight: \"flat.pt\", y: \"flat.pt\"} 4")
        XCTAssertTrue(r.outText.contains("x.weight") && r.outText.contains("[2, 3]"), r.outText)
        let keyed = try s.write("q.recipe", "load pt \"\(nested)\" key=\"state\"\nprint weight_map\n")
        let r2 = runCLI(["run", keyed])
        XCTAssertEqual(r2.out, ["{x.weight: \"nested.pt\"}"], r2.errText)
        let plain = try s.write("r.recipe", "load pt\n")
        let r3 = runCLI(["run", plain, "--set", "input=\(mixed)"])
        XCTAssertEqual(r3.status, 1)
        XCTAssertTrue(r3.errText.contains("the saved dict is not a state dict: it holds entries that are not tensors: device (str)"), r3.errText)
    }

    /// A misspelt argument is caught before anything runs, pointing at the argument.
    func testMisspeltArgumentBeforeAnythingRuns() throws {
        let s = try Scratch("run-err")
        let recipe = try s.write("f.recipe", "load hf\nsplit qkv hedas=28\nsave mm\n")
        let r = runCLI(["run", recipe, "--set", "input=\(s.path("missing"))"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.first?.hasPrefix("\(recipe):2:11: error: ") ?? false, r.errText)
        XCTAssertTrue(r.errText.contains("did you mean 'heads'?"), r.errText)
    }
}
