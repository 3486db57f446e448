import XCTest
import Ops
@testable import CLI

/// Every validation failure, with its exact user-facing message.
final class ArgumentsValidationTests: XCTestCase {
    var box: ArgumentsSandbox!
    var req: [String] = []

    override func setUpWithError() throws {
        box = try ArgumentsSandbox()
        req = ["Qwen2VLConverter", "hf_to_mm", "--cfg.mm_dir", "m", "--cfg.hf_config.hf_dir", box.hfDir,
               "--cfg.parallel_config.llm_pp_layers", "[[1,10,10,7]]", "--cfg.parallel_config.vit_pp_layers", "[[32,0,0,0]]"]
    }

    func check(_ argv: [String], _ expected: String, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(argumentError(argv, environment: environment, file: file, line: line)?.message, expected, file: file, line: line)
    }

    func testCommands() {
        check([], "a command is required: one of Qwen2VLConverter, InternVLConverter, inspect, verify")
        check(["Qwen2VLConverte"], "invalid command 'Qwen2VLConverte' (did you mean Qwen2VLConverter?); choose from Qwen2VLConverter, InternVLConverter, inspect, verify")
        check(["--confg", "x"], "unknown option --confg (did you mean --config?)")
        check(["Qwen2VLConverter"], "an operation is required: one of hf_to_mm, mm_to_hf, resplit")
        check(["Qwen2VLConverter", "hf_to_m"], "invalid operation 'hf_to_m' for Qwen2VLConverter (did you mean hf_to_mm?); choose from hf_to_mm, mm_to_hf, resplit")
        check(["--config", "x", "inspect"], "--config and --print_config apply to converter operations, not to 'inspect'")
        check(req + ["stray"], "unrecognized argument 'stray' (options are written --cfg.NAME VALUE)")
    }

    func testUnknownOptionsSuggestTheNearestOne() {
        check(req + ["--cfg.parallel_config.tp_sise", "2"], "unknown option --cfg.parallel_config.tp_sise (did you mean --cfg.parallel_config.tp_size?)")
        check(req + ["--tp_size", "2"], "unknown option --tp_size (did you mean --cfg.parallel_config.tp_size?)")
        check(req + ["--cfg.tp_size", "2"], "unknown option --cfg.tp_size (did you mean --cfg.parallel_config.tp_size?)")
        check(req + ["--cfg.parallel-config.tp-size=2"], "unknown option --cfg.parallel-config.tp-size (did you mean --cfg.parallel_config.tp_size?)")
        check(req + ["--completely_different", "2"], "unknown option --completely_different")
    }

    func testTypeBoundAndShapeErrors() {
        check(req + ["--cfg.parallel_config.tp_size", "abc"], "argument --cfg.parallel_config.tp_size: expected an int > 0, got 'abc'")
        check(req + ["--cfg.parallel_config.tp_size", "0"], "argument --cfg.parallel_config.tp_size: expected an int > 0, got 0")
        check(req + ["--cfg.parallel_config.tp_size", "1.5"], "argument --cfg.parallel_config.tp_size: expected an int > 0, got 1.5")
        check(req + ["--cfg.parallel_config.tp_size", "null"], "argument --cfg.parallel_config.tp_size: expected an int > 0, got null")
        check(req + ["--cfg.parallel_config.vit_tp_size", "-1"], "argument --cfg.parallel_config.vit_tp_size: expected an int >= 0 or null, got -1")
        check(req + ["--cfg.save_vit_only", "yes"], "argument --cfg.save_vit_only: expected a bool (true or false) or null, got 'yes'")
        check(req + ["--cfg.parallel_config.llm_pp_layers", "[[1,2],3]"],
              "argument --cfg.parallel_config.llm_pp_layers: expected a list of lists of ints >= 0, got [[1, 2], 3] (item [1]: expected a list of ints >= 0, got 3)")
        check(req + ["--cfg.parallel_config.llm_pp_layers", "[1,10,10,7]"],
              "argument --cfg.parallel_config.llm_pp_layers: expected a list of lists of ints >= 0, got [1, 10, 10, 7] (item [0]: expected a list of ints >= 0, got 1)")
        check(req + ["--cfg.parallel_config.llm_pp_layers", "[[1,-2]]"],
              "argument --cfg.parallel_config.llm_pp_layers: expected a list of lists of ints >= 0, got [[1, -2]] (item [0][1]: -2 is not >= 0)")
        check(req + ["--cfg.parallel_config.llm_pp_layers", "[[1,2]"],
              "argument --cfg.parallel_config.llm_pp_layers: invalid value '[[1,2]': unclosed '[': expected ']' before the end of the text (a value with spaces must be quoted so the shell passes it as one argument: \"[[1, 10]]\")")
        check(req + ["--cfg.parallel_config.llm_pp_layers", "[[1,", "10]]"],
              "argument --cfg.parallel_config.llm_pp_layers: invalid value '[[1,': unclosed '[': expected ']' before the end of the text (a value with spaces must be quoted so the shell passes it as one argument: \"[[1, 10]]\")")
        check(req + ["--cfg.mm_dir+", "x"], "argument --cfg.mm_dir+: '+' appends to a list, and cfg.mm_dir is not a list")
    }

    func testMissingValues() {
        check(req + ["--cfg.parallel_config.tp_size"], "argument --cfg.parallel_config.tp_size: expected one argument")
        check(req + ["--cfg.parallel_config.tp_size", "--cfg.mm_dir", "x"], "argument --cfg.parallel_config.tp_size: expected one argument")
        check(["Qwen2VLConverter", "hf_to_mm", "--config"], "argument --config: expected one argument")
        check(["--config"], "argument --config: expected one argument")
    }

    func testMissingRequiredOptions() {
        check(["Qwen2VLConverter", "hf_to_mm", "--cfg.mm_dir", "x"],
              "missing required options --cfg.hf_config.hf_dir, --cfg.parallel_config.llm_pp_layers, --cfg.parallel_config.vit_pp_layers: pass each as --OPTION VALUE or in a --config file ('mm-convert Qwen2VLConverter hf_to_mm --print_config' writes a template)")
        check(["Qwen2VLConverter", "hf_to_mm", "--cfg.mm_dir", "x", "--cfg.hf_config.hf_dir", box.hfDir, "--cfg.parallel_config.llm_pp_layers", "[[1]]"],
              "missing required option --cfg.parallel_config.vit_pp_layers (type: [[int >= 0]]): pass it as --cfg.parallel_config.vit_pp_layers VIT_PP_LAYERS or put 'vit_pp_layers: VALUE' under 'cfg: parallel_config:' in a --config file")
        check(["Qwen2VLConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", box.hfDir, "--cfg.parallel_config.llm_pp_layers", "[[1]]", "--cfg.parallel_config.vit_pp_layers", "[[1]]"],
              "missing required option --cfg.mm_dir (type: path): pass it as --cfg.mm_dir MM_DIR or put 'mm_dir: VALUE' under 'cfg:' in a --config file, or set MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__MM_DIR",
              environment: ["JSONARGPARSE_DEFAULT_ENV": "true"])
    }

    func testDirectoriesMustExist() throws {
        let file = try box.write("f.txt", "x")
        check(req + ["--cfg.hf_config.hf_dir", "nope/dir"], "argument --cfg.hf_config.hf_dir: directory 'nope/dir' does not exist")
        check(req + ["--cfg.hf_config.hf_dir", file], "argument --cfg.hf_config.hf_dir: '\(file)' is not a directory")
        let conf = try box.write("c.yaml", "cfg:\n  hf_config:\n    hf_dir: nope\n")
        check(["Qwen2VLConverter", "hf_to_mm", "--cfg.mm_dir", "m", "--cfg.parallel_config.llm_pp_layers", "[[1]]", "--cfg.parallel_config.vit_pp_layers", "[[1]]", "--config", conf],
              "\(conf):3: cfg.hf_config.hf_dir: directory 'nope' does not exist")
        // A path that need not exist is not checked; nor is print_config.
        XCTAssertNoThrow(try ArgumentsRecipes.surface.parse(req + ["--cfg.hf_config.hf_dir", "nope", "--print_config"]))
    }

    func testConfigFileErrors() throws {
        let bad = try box.write("bad.yaml", "cfg:\n  parallel_config:\n    tp_sise: 2\n")
        check(req + ["--config", bad], "\(bad):3: unknown key 'cfg.parallel_config.tp_sise' (did you mean cfg.parallel_config.tp_size?)")
        let badType = try box.write("badtype.yaml", "cfg:\n  parallel_config:\n    tp_size: two\n")
        check(req + ["--config", badType], "\(badType):3: cfg.parallel_config.tp_size: expected an int > 0, got 'two'")
        let syntax = try box.write("syntax.yaml", "cfg:\n\tmm_dir: x\n")
        check(req + ["--config", syntax], "\(syntax):2: tab character in indentation; YAML indentation must use spaces")
        check(req + ["--config", "missing.yaml"], "argument --config: config file 'missing.yaml' does not exist")
        check(req + ["--config", box.root.path], "argument --config: '\(box.root.path)' is a directory, expected a YAML config file")
        let wrongLevel = try box.write("wl.yaml", "cfg:\n  mm_dir: x\n")
        check(["--config", wrongLevel] + req,
              "\(wrongLevel):1: unknown key 'cfg' (at this position --config expects Qwen2VLConverter: hf_to_mm: cfg: ...; a file starting with 'cfg:' goes after the operation name)")
        let typo = try box.write("typo.yaml", "Qwen2VLConverter:\n  hf_to_mn: {}\n")
        check(["--config", typo] + req, "\(typo):2: unknown key 'hf_to_mn' (did you mean hf_to_mm?)")
        let notMap = try box.write("list.yaml", "cfg: [1, 2]\n")
        check(req + ["--config", notMap], "\(notMap):1: cfg: expected a mapping of options, got [1, 2]")
        check(req + ["--cfg.parallel_config", "{tp_size: 0}"], "argument --cfg.parallel_config: cfg.parallel_config.tp_size: expected an int > 0, got 0")
        check(req + ["--cfg.parallel_config", "{tp_size: 1"], "argument --cfg.parallel_config: invalid inline mapping: unclosed '{': expected '}' before the end of the text")
        check(req + ["--print_config=comment"], "argument --print_config: invalid flags 'comment' (use one or more of comments, skip_null, skip_default, skip_unset, separated by commas)")
    }

    func testEnvironmentErrors() {
        let on = ["JSONARGPARSE_DEFAULT_ENV": "true"]
        check(req, "environment variable MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE: cfg.parallel_config.tp_size: expected an int > 0, got 'x'",
              environment: on.merging(["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE": "x"]) { a, _ in a })
        check(req, "environment variable MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__MM_DIR: cfg.mm_dir: expected a path, got ''",
              environment: on.merging(["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__MM_DIR": ""]) { a, _ in a })
        check(req, "environment variable MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CONFIG: config file 'nope.yaml' does not exist",
              environment: on.merging(["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CONFIG": "nope.yaml"]) { a, _ in a })
    }

    func testRenderedErrorHasUsageFirst() {
        let e = argumentError(["Qwen2VLConverter", "resplit", "--cfg.unrelated_name", "1"])
        XCTAssertEqual(e?.rendered(), """
        usage: mm-convert Qwen2VLConverter resplit [-h] [--config CONFIG] [--print_config[=flags]]
                                                   --cfg.source_dir SOURCE_DIR --cfg.target_dir TARGET_DIR
                                                   --cfg.source_parallel_config.llm_pp_layers LLM_PP_LAYERS
                                                   --cfg.source_parallel_config.vit_pp_layers VIT_PP_LAYERS
                                                   --cfg.target_parallel_config.llm_pp_layers LLM_PP_LAYERS
                                                   --cfg.target_parallel_config.vit_pp_layers VIT_PP_LAYERS
                                                   [--OPTION VALUE ...]
        mm-convert: error: unknown option --cfg.unrelated_name

        """)
        XCTAssertEqual(argumentError(["nope"])?.usage, "usage: mm-convert [-h] [--config CONFIG] [--print_config[=flags]] COMMAND ...")
        XCTAssertEqual(argumentError(["Qwen2VLConverter", "--bad"])?.usage,
                       "usage: mm-convert Qwen2VLConverter [-h] [--config CONFIG] [--print_config[=flags]] OPERATION ...")
    }
}
