import CLI
import Foundation
import Ops
import XCTest

/// The bundled Qwen2-VL converter driven exactly as users of the reference drive it: options,
/// YAML config files, environment variables, help, and the validation that runs before writing.
final class ConverterCommandLineTests: XCTestCase {
    let hf = RecipePaths.qwen2vlHF

    func run(_ args: [String], env: [String: String] = [:]) -> CLIResult {
        var out: [String] = [], err: [String] = []
        let status = CommandLineTool.run(args, environment: env, output: Output(out: { out.append($0) }, err: { err.append($0) }))
        return CLIResult(status: status, out: out.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) },
                         err: err.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) })
    }

    func hfToMM(_ out: String, tp: String = "2", llm: String = "[[1,2,1]]", vit: String = "[[2,0,0]]") -> [String] {
        ["Qwen2VLConverter", "hf_to_mm", "--quiet", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", out,
         "--cfg.parallel_config.tp_size", tp, "--cfg.parallel_config.llm_pp_layers", llm, "--cfg.parallel_config.vit_pp_layers", vit]
    }

    func rankDirs(_ mm: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: mm + "/release").sorted()
    }

    /// Through the real binary, whose standard error is a pipe: plain progress lines with the
    /// files and bytes of the save; `--quiet` prints nothing at all.
    func testProgressLinesAndQuiet() throws {
        let s = try Scratch("progress")
        var args = hfToMM(s.path("mm"))
        args.removeAll { $0 == "--quiet" }
        let r = try runBinary(args, stdin: "")
        XCTAssertEqual(r.status, 0, r.errText)
        // Messages go to standard error, so standard output stays free for --print_config.
        XCTAssertEqual(r.out, [])
        XCTAssertEqual(r.err.last, "saved " + s.path("mm"))
        XCTAssertTrue(r.err.dropLast().last?.hasPrefix("save mm: 6/6 files, 729.4 KiB / 729.4 KiB, ") ?? false, r.errText)
        XCTAssertTrue(r.err.dropLast().allSatisfy { $0.hasPrefix("save mm: ") && !$0.contains("\r") }, r.errText)
        let quiet = try runBinary(hfToMM(s.path("mm2")), stdin: "")
        XCTAssertEqual(quiet.status, 0, quiet.errText)
        XCTAssertEqual(quiet.err + quiet.out, [])
    }

    func testHelpListsEveryOptionWithTypeDefaultDocAndEnvironmentName() {
        let r = run(["Qwen2VLConverter", "hf_to_mm", "-h"], env: ["JSONARGPARSE_DEFAULT_ENV": "true"])
        XCTAssertEqual(r.status, 0)
        let text = r.outText
        for option in ["--cfg.mm_dir", "--cfg.hf_config.hf_dir", "--cfg.parallel_config.llm_pp_layers", "--cfg.parallel_config.vit_pp_layers",
                       "--cfg.parallel_config.tp_size", "--cfg.parallel_config.vit_tp_size", "--cfg.trust_remote_code", "--config", "--print_config",
                       "--dry-run", "--force", "--workers"] {
            XCTAssertTrue(text.contains(option), "help lacks \(option)")
        }
        XCTAssertTrue(text.contains("MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE"), text)
        XCTAssertTrue(text.contains("tensor-parallel size of the LLM"), text)
        XCTAssertTrue(text.contains("[[int >= 0]]"), text)
        let top = run(["-h"])
        XCTAssertTrue(top.outText.contains("Qwen2VLConverter      hf_to_mm, mm_to_hf, resplit"), top.outText)
    }

    func testPrintConfigThenConfigFileRunsTheSameConversion() throws {
        let s = try Scratch("printcfg")
        let printed = run(hfToMM(s.path("unused")) + ["--print_config=comments"])
        XCTAssertEqual(printed.status, 0, printed.errText)
        XCTAssertTrue(printed.outText.contains("tp_size: 2"), printed.outText)
        XCTAssertTrue(printed.outText.contains("# tensor-parallel size of the LLM"), printed.outText)
        let yaml = try s.write("hf_to_mm.yaml", printed.outText + "\n")
        XCTAssertFalse(s.exists("unused"))
        // A later option overrides the file; the file's tp_size (2) and layer lists are used.
        let r = run(["Qwen2VLConverter", "hf_to_mm", "--quiet", "--config", yaml, "--cfg.mm_dir", s.path("mm")])
        XCTAssertEqual(r.status, 0, r.errText)
        XCTAssertEqual(try rankDirs(s.path("mm")), ["mp_rank_00_000", "mp_rank_00_001", "mp_rank_00_002", "mp_rank_01_000", "mp_rank_01_001", "mp_rank_01_002"])
    }

    func testEnvironmentVariablesAndTheirPrecedence() throws {
        let s = try Scratch("env")
        let env = ["JSONARGPARSE_DEFAULT_ENV": "true", "MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE": "2",
                   "MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__LLM_PP_LAYERS": "[[4]]"]
        let base = ["Qwen2VLConverter", "hf_to_mm", "--quiet", "--cfg.hf_config.hf_dir", hf, "--cfg.parallel_config.vit_pp_layers", "[[2]]"]
        XCTAssertEqual(run(base + ["--cfg.mm_dir", s.path("a")], env: env).status, 0)
        XCTAssertEqual(try rankDirs(s.path("a")), ["mp_rank_00", "mp_rank_01"])
        // The command line beats the environment.
        XCTAssertEqual(run(base + ["--cfg.mm_dir", s.path("b"), "--cfg.parallel_config.tp_size", "1"], env: env).status, 0)
        XCTAssertEqual(try rankDirs(s.path("b")), ["mp_rank_00"])
        // Without JSONARGPARSE_DEFAULT_ENV the variables are not read: llm_pp_layers is missing.
        var off = env
        off["JSONARGPARSE_DEFAULT_ENV"] = nil
        let r = run(base + ["--cfg.mm_dir", s.path("c")], env: off)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.errText.contains("missing required option --cfg.parallel_config.llm_pp_layers"), r.errText)
        XCTAssertFalse(s.exists("c"))
    }

    /// Each validation failure: a clear message, a non-zero status, nothing written.
    func testValidationFailuresBeforeAnythingIsWritten() throws {
        let s = try Scratch("validate")
        let cases: [([String], Int32, String)] = [
            (hfToMM(s.path("o"), tp: "1", llm: "[[1,2,2]]"), 1, "llm_pp_layers [[1, 2, 2]] add up to 5, but config.json has 4 LLM layers (num_hidden_layers)"),
            (hfToMM(s.path("o"), tp: "1", vit: "[[1,0,0]]"), 1, "vit_pp_layers [[1, 0, 0]] add up to 1, but config.json has 2 ViT layers"),
            (hfToMM(s.path("o"), tp: "4", llm: "[[4]]", vit: "[[2]]"), 1, "the 2 KV heads (num_key_value_heads) do not split over tp_size=4"),
            (hfToMM(s.path("o"), tp: "0"), 2, "--cfg.parallel_config.tp_size"),
            (hfToMM(s.path("o"), llm: "[[1,2],[1]]"), 1, "every virtual chunk needs 2 stages"),
            (["Qwen2VLConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", s.path("missing"), "--cfg.mm_dir", s.path("o"),
              "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]"], 2, "does not exist"),
            (hfToMM(s.path("o")) + ["--cfg.parallel_config.tpsize", "2"], 2, "did you mean --cfg.parallel_config.tp_size?"),
        ]
        for (args, status, message) in cases {
            let r = run(args)
            XCTAssertEqual(r.status, status, "\(args): \(r.errText)")
            XCTAssertTrue(r.errText.contains(message), "expected '\(message)' in:\n\(r.errText)")
            XCTAssertFalse(s.exists("o"), "\(args) wrote output")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.root), [], "temporary directories left behind")
    }

    func testOptionsOfTheReferenceThatMeanNothingHereAreAccepted() throws {
        let s = try Scratch("ignored")
        let r = run(hfToMM(s.path("mm")) + ["--cfg.trust_remote_code", "true", "--cfg.common_model_config.num_key_value_heads", "7"])
        XCTAssertEqual(r.status, 0, r.errText)
    }

    func testDryRunPrintsThePlanAndWritesNothing() throws {
        let s = try Scratch("dry")
        let r = run(hfToMM(s.path("mm")) + ["--dry-run"])
        XCTAssertEqual(r.status, 0, r.errText)
        XCTAssertEqual(r.out.first, "dry run: nothing was written")
        XCTAssertTrue(r.out.contains(s.path("mm") + "/release/mp_rank_01_002/model_optim_rng.pt  (9 tensors, 74240 bytes)"), r.outText)
        XCTAssertTrue(r.out.contains("  model/text_decoder.output_layer.weight  bf16 [192, 64]  24576"), r.outText)
        XCTAssertEqual(r.out.last, "total: 6 files, 746880 bytes")
        XCTAssertFalse(s.exists("mm"))
    }

    func testExistingOutputIsRefusedUnlessForced() throws {
        let s = try Scratch("force")
        try s.write("mm/keep.txt", "precious")
        let r = run(hfToMM(s.path("mm")))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.errText.contains("exists and is not empty; choose a new output directory or pass --force"), r.errText)
        XCTAssertTrue(s.exists("mm/keep.txt"))
        XCTAssertEqual(run(hfToMM(s.path("mm")) + ["--force"]).status, 0)
        XCTAssertFalse(s.exists("mm/keep.txt"))
        XCTAssertEqual(try rankDirs(s.path("mm")).count, 6)
    }
}
