import XCTest
import DSL
import Ops
@testable import CLI

final class ArgumentsParsingTests: XCTestCase {
    static let llm: Value = .list([.list([.int(1), .int(10), .int(10), .int(7)])])
    static let vit: Value = .list([.list([.int(32), .int(0), .int(0), .int(0)])])
    static let envOn = ["JSONARGPARSE_DEFAULT_ENV": "true"]

    func required(_ box: ArgumentsSandbox) -> [String] {
        ["--cfg.mm_dir", "mm/Qwen2-VL-7B", "--cfg.hf_config.hf_dir", box.hfDir,
         "--cfg.parallel_config.llm_pp_layers", "[[1,10,10,7]]", "--cfg.parallel_config.vit_pp_layers", "[[32,0,0,0]]"]
    }

    func testProductExampleCommandLine() throws {
        let box = try ArgumentsSandbox()
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm"] + required(box) + ["--cfg.parallel_config.tp_size", "1"])
        XCTAssertEqual(v["cfg.mm_dir"], .string("mm/Qwen2-VL-7B"))
        XCTAssertEqual(v["cfg.hf_config.hf_dir"], .string(box.hfDir))
        XCTAssertEqual(v["cfg.parallel_config.llm_pp_layers"], Self.llm)
        XCTAssertEqual(v["cfg.parallel_config.vit_pp_layers"], Self.vit)
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(1))
        // Defaults are filled, ignored parameters included.
        XCTAssertEqual(v["cfg.parallel_config.audio_pp_layers"], .null)
        XCTAssertEqual(v["cfg.parallel_config.vit_tp_size"], .int(0))
        XCTAssertEqual(v["cfg.save_vit_only"], .bool(false))
        XCTAssertEqual(v["cfg.trust_remote_code"], .bool(false))
        XCTAssertEqual(v.count, ArgumentsRecipes.hfToMM.params.count)
    }

    func testEqualsFormAndValueKinds() throws {
        let box = try ArgumentsSandbox()
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm", "--cfg.mm_dir=out dir/a: b", "--cfg.hf_config.hf_dir=" + box.hfDir,
                               "--cfg.parallel_config.llm_pp_layers=[[1, 10, 10, 7]]", "--cfg.parallel_config.vit_pp_layers", "[[32,0,0,0]]",
                               "--cfg.save_vit_only", "True", "--cfg.parallel_config.vit_tp_size", "null",
                               "--cfg.common_model_config.llm_hf_dir", "123", "--cfg.parallel_config.audio_pp_layers", "[[0, 0, 0, 0]]"])
        XCTAssertEqual(v["cfg.mm_dir"], .string("out dir/a: b"))
        XCTAssertEqual(v["cfg.save_vit_only"], .bool(true))
        XCTAssertEqual(v["cfg.parallel_config.vit_tp_size"], .null)
        XCTAssertEqual(v["cfg.common_model_config.llm_hf_dir"], .string("123"))
        XCTAssertEqual(v["cfg.parallel_config.audio_pp_layers"], .list([.list([.int(0), .int(0), .int(0), .int(0)])]))
    }

    func testFlatListsForMMToHF() throws {
        let box = try ArgumentsSandbox()
        let v = try runValues(["Qwen2VLConverter", "mm_to_hf", "--cfg.save_hf_dir", "out", "--cfg.mm_dir", box.hfDir, "--cfg.hf_config.hf_dir", box.hfDir,
                               "--cfg.parallel_config.llm_pp_layers", "[1,10,10,7]", "--cfg.parallel_config.vit_pp_layers", "[32,0,0,0]"])
        XCTAssertEqual(v["cfg.parallel_config.llm_pp_layers"], .list([.int(1), .int(10), .int(10), .int(7)]))
    }

    func testLaterOptionWinsAndAppend() throws {
        let box = try ArgumentsSandbox()
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm"] + required(box) + [
            "--cfg.parallel_config.tp_size", "2", "--cfg.parallel_config.tp_size", "4",
            "--cfg.parallel_config.llm_pp_layers+", "[5,5]", "--cfg.parallel_config.vit_pp_layers+", "[[1,1],[2,2]]"])
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(4))
        XCTAssertEqual(v["cfg.parallel_config.llm_pp_layers"], .list([.list([.int(1), .int(10), .int(10), .int(7)]), .list([.int(5), .int(5)])]))
        XCTAssertEqual(v["cfg.parallel_config.vit_pp_layers"], .list([.list([.int(32), .int(0), .int(0), .int(0)]), .list([.int(1), .int(1)]), .list([.int(2), .int(2)])]))
    }

    func testIgnoredParametersAcceptedSilently() throws {
        let box = try ArgumentsSandbox()
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm"] + required(box) + [
            "--cfg.trust_remote_code", "true", "--cfg.llm_hf_config.hf_dir", "whatever", "--cfg.common_model_config.num_key_value_heads", "abc"])
        XCTAssertEqual(v["cfg.trust_remote_code"], .bool(true))
        XCTAssertEqual(v["cfg.common_model_config.num_key_value_heads"], .string("abc"))
        XCTAssertNil(v["cfg.llm_hf_config.hf_dir"])
    }

    // MARK: Config files

    func testOperationLevelConfigFile() throws {
        let box = try ArgumentsSandbox()
        let file = try box.write("hf_to_mm.yaml", """
        cfg:
          mm_dir: mm/Qwen2-VL-7B-Instruct
          parallel_config:
            llm_pp_layers: [[1,10,10,7]]
            vit_pp_layers: [[32,0,0,0]]
            tp_size: 2
          hf_config:
            hf_dir: \(box.hfDir)
        """)
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm", "--config", file])
        XCTAssertEqual(v["cfg.mm_dir"], .string("mm/Qwen2-VL-7B-Instruct"))
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(2))
        XCTAssertEqual(v["cfg.parallel_config.llm_pp_layers"], Self.llm)
    }

    func testConfigFileAppliesAtItsPosition() throws {
        let box = try ArgumentsSandbox()
        let file = try box.write("c.yaml", "cfg:\n  parallel_config:\n    tp_size: 2\n  mm_dir: from-file\n")
        let before = try runValues(["Qwen2VLConverter", "hf_to_mm"] + required(box) + ["--cfg.parallel_config.tp_size", "4", "--config", file])
        XCTAssertEqual(before["cfg.parallel_config.tp_size"], .int(2), "the file overrides options before it")
        XCTAssertEqual(before["cfg.mm_dir"], .string("from-file"))
        let after = try runValues(["Qwen2VLConverter", "hf_to_mm", "--config", file] + required(box) + ["--cfg.parallel_config.tp_size", "4"])
        XCTAssertEqual(after["cfg.parallel_config.tp_size"], .int(4), "options after the file override it")
        XCTAssertEqual(after["cfg.mm_dir"], .string("mm/Qwen2-VL-7B"))
    }

    func testTopLevelAndConverterLevelConfigNesting() throws {
        let box = try ArgumentsSandbox()
        let top = try box.write("top.yaml", """
        Qwen2VLConverter:
          hf_to_mm:
            cfg:
              mm_dir: top-out
              parallel_config: {tp_size: 8}
          mm_to_hf:
            cfg: {save_hf_dir: elsewhere}
        InternVLConverter:
          hf_to_mm: {cfg: {mm_dir: other}}
        """)
        let conv = try box.write("conv.yaml", "hf_to_mm:\n  cfg:\n    parallel_config:\n      ep_size: 2\n")
        let v = try runValues(["--config", top, "Qwen2VLConverter", "--config", conv, "hf_to_mm", "--cfg.hf_config.hf_dir", box.hfDir,
                               "--cfg.parallel_config.llm_pp_layers", "[[1,10,10,7]]", "--cfg.parallel_config.vit_pp_layers", "[[32,0,0,0]]"])
        XCTAssertEqual(v["cfg.mm_dir"], .string("top-out"))
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(8))
        XCTAssertEqual(v["cfg.parallel_config.ep_size"], .int(2))
        // Any command-line option overrides the top-level file.
        let w = try runValues(["--config", top, "Qwen2VLConverter", "hf_to_mm"] + required(box))
        XCTAssertEqual(w["cfg.mm_dir"], .string("mm/Qwen2-VL-7B"))
        XCTAssertEqual(w["cfg.parallel_config.tp_size"], .int(8))
    }

    func testTopLevelConfigMayChooseTheCommand() throws {
        let box = try ArgumentsSandbox()
        let single = try box.write("single.yaml", """
        Qwen2VLConverter:
          resplit:
            cfg: {source_dir: \(box.hfDir), target_dir: t, source_parallel_config: {llm_pp_layers: [28], vit_pp_layers: [32]},
                  target_parallel_config: {llm_pp_layers: [14, 14], vit_pp_layers: [32, 0]}}
        """)
        guard case let .run(recipe, values) = try ArgumentsRecipes.surface.parse(["--config", single]) else { return XCTFail() }
        XCTAssertEqual(recipe.operation, "resplit")
        XCTAssertEqual(values["cfg.target_parallel_config.llm_pp_layers"], .list([.int(14), .int(14)]))
        let chosen = try box.write("chosen.yaml", """
        subcommand: Qwen2VLConverter
        Qwen2VLConverter:
          subcommand: mm_to_hf
          mm_to_hf: {cfg: {save_hf_dir: out}}
          resplit: {cfg: {target_dir: t}}
        InternVLConverter:
          hf_to_mm: {cfg: {mm_dir: x}}
        """)
        guard case let .printConfig(text) = try ArgumentsRecipes.surface.parse(["--config", chosen, "--print_config=skip_null"]) else { return XCTFail() }
        XCTAssertTrue(text.hasPrefix("Qwen2VLConverter:\n  mm_to_hf:\n    cfg:\n      save_hf_dir: out\n"), text)
        let ambiguous = try box.write("ambiguous.yaml", "Qwen2VLConverter:\n  mm_to_hf: {}\n  resplit: {}\n")
        XCTAssertEqual(argumentError(["--config", ambiguous])?.message, "a command is required: one of Qwen2VLConverter, InternVLConverter, inspect, verify")
    }

    func testSubTreeConfigFilesAndInlineMappings() throws {
        let box = try ArgumentsSandbox()
        let pc = try box.write("pc.yaml", "llm_pp_layers: [[1,10,10,7]]\nvit_pp_layers:\n- [32, 0, 0, 0]\ntp_size: 2\n")
        let cfg = try box.write("cfg.yaml", "mm_dir: m\nhf_config: {hf_dir: \(box.hfDir)}\n")
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm", "--cfg", cfg, "--cfg.parallel_config", pc, "--cfg.parallel_config", "{tp_size: 4}"])
        XCTAssertEqual(v["cfg.mm_dir"], .string("m"))
        XCTAssertEqual(v["cfg.parallel_config.vit_pp_layers"], Self.vit)
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(4))
    }

    func testTemplateNullsLeaveValuesUnset() throws {
        let box = try ArgumentsSandbox()
        guard case let .printConfig(template) = try ArgumentsRecipes.surface.parse(["Qwen2VLConverter", "hf_to_mm", "--print_config"]) else {
            return XCTFail("expected print_config")
        }
        let file = try box.write("t.yaml", template)
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm", "--config", file] + required(box))
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(1))
        XCTAssertEqual(argumentError(["Qwen2VLConverter", "hf_to_mm"] + required(box) + ["--config", file])?.message,
                       "missing required options --cfg.mm_dir, --cfg.hf_config.hf_dir, --cfg.parallel_config.llm_pp_layers, --cfg.parallel_config.vit_pp_layers: pass each as --OPTION VALUE or in a --config file ('mm-convert Qwen2VLConverter hf_to_mm --print_config' writes a template)")
    }

    // MARK: Environment

    func testEnvironmentVariablesOnlyWhenEnabled() throws {
        let box = try ArgumentsSandbox()
        let env = ["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE": "2",
                   "MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__MM_DIR": "env-out"]
        let off = try runValues(["Qwen2VLConverter", "hf_to_mm"] + required(box), environment: env)
        XCTAssertEqual(off["cfg.parallel_config.tp_size"], .int(1))
        let on = try runValues(["Qwen2VLConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", box.hfDir,
                                "--cfg.parallel_config.llm_pp_layers", "[[1,10,10,7]]", "--cfg.parallel_config.vit_pp_layers", "[[32,0,0,0]]"],
                               environment: env.merging(Self.envOn) { a, _ in a })
        XCTAssertEqual(on["cfg.parallel_config.tp_size"], .int(2))
        XCTAssertEqual(on["cfg.mm_dir"], .string("env-out"))
    }

    func testCommandLineBeatsEnvironmentAndConfigFileBeatsEnvironment() throws {
        let box = try ArgumentsSandbox()
        let file = try box.write("c.yaml", "cfg:\n  parallel_config:\n    ep_size: 3\n")
        var env = Self.envOn
        env["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE"] = "2"
        env["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__EP_SIZE"] = "2"
        env["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__LLM_PP_LAYERS"] = "[[4,4]]"
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm"] + required(box) + ["--cfg.parallel_config.tp_size", "4", "--config", file], environment: env)
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(4))
        XCTAssertEqual(v["cfg.parallel_config.ep_size"], .int(3))
        XCTAssertEqual(v["cfg.parallel_config.llm_pp_layers"], Self.llm)
    }

    func testEnvironmentConfigFilesAndSubTrees() throws {
        let box = try ArgumentsSandbox()
        let opFile = try box.write("op.yaml", "cfg:\n  mm_dir: op-file\n  parallel_config: {tp_size: 2, ep_size: 2}\n")
        let topFile = try box.write("top.yaml", "Qwen2VLConverter:\n  hf_to_mm:\n    cfg: {mm_dir: top-file, save_vit_only: true}\n")
        var env = Self.envOn
        env["MM_CONVERT_CONFIG"] = topFile
        env["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CONFIG"] = opFile
        env["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG"] = "{tp_size: 3}"
        env["MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__EP_SIZE"] = "5"
        let v = try runValues(["Qwen2VLConverter", "hf_to_mm", "--cfg.hf_config.hf_dir", box.hfDir,
                               "--cfg.parallel_config.llm_pp_layers", "[[1,10,10,7]]", "--cfg.parallel_config.vit_pp_layers", "[[32,0,0,0]]"], environment: env)
        XCTAssertEqual(v["cfg.save_vit_only"], .bool(true))
        XCTAssertEqual(v["cfg.mm_dir"], .string("op-file"))
        XCTAssertEqual(v["cfg.parallel_config.tp_size"], .int(3))
        XCTAssertEqual(v["cfg.parallel_config.ep_size"], .int(5))
    }

    func testEnvironmentNames() {
        XCTAssertEqual(EnvironmentNames.variable(program: "mm-convert", commands: ["Qwen2VLConverter", "hf_to_mm"], option: "cfg.parallel_config.llm_pp_layers"),
                       "MM_CONVERT_QWEN2VLCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__LLM_PP_LAYERS")
        XCTAssertEqual(EnvironmentNames.variable(program: "mm-convert", commands: ["Qwen2_5_VLConverter", "hf_to_mm"], option: "config"),
                       "MM_CONVERT_QWEN2_5_VLCONVERTER__HF_TO_MM__CONFIG")
        XCTAssertEqual(EnvironmentNames.variable(program: "mm-convert", commands: [], option: "config"), "MM_CONVERT_CONFIG")
        XCTAssertTrue(EnvironmentNames.isEnabled(["JSONARGPARSE_DEFAULT_ENV": "True"]))
        XCTAssertFalse(EnvironmentNames.isEnabled(["JSONARGPARSE_DEFAULT_ENV": "false"]))
        XCTAssertFalse(EnvironmentNames.isEnabled([:]))
    }

    // MARK: print_config

    func testPrintConfigRoundTrip() throws {
        let box = try ArgumentsSandbox()
        let argv = ["Qwen2VLConverter", "hf_to_mm"] + required(box) + ["--cfg.parallel_config.tp_size", "2", "--cfg.mm_dir", "a: b #c"]
        let direct = try runValues(argv)
        for flags in ["", "=comments", "=comments,skip_null", "=skip_default", "=skip_unset"] {
            guard case let .printConfig(yaml) = try ArgumentsRecipes.surface.parse(argv + ["--print_config" + flags]) else {
                return XCTFail("expected print_config")
            }
            let file = try box.write("p.yaml", yaml)
            XCTAssertEqual(try runValues(["Qwen2VLConverter", "hf_to_mm", "--config", file]), direct, "flags \(flags):\n\(yaml)")
        }
        guard case let .printConfig(top) = try ArgumentsRecipes.surface.parse(["--print_config"] + argv) else { return XCTFail() }
        let file = try box.write("top.yaml", top)
        XCTAssertEqual(try runValues(["--config", file, "Qwen2VLConverter", "hf_to_mm"]), direct)
        XCTAssertTrue(top.hasPrefix("Qwen2VLConverter:\n  hf_to_mm:\n    cfg:\n"), top)
    }

    func testPrintConfigFlagsOutput() throws {
        let p = try ArgumentsRecipes.surface.parse(["Qwen2VLConverter", "resplit", "--print_config=skip_null,skip_default",
                                                    "--cfg.target_parallel_config.tp_size", "2", "--cfg.target_dir", "t",
                                                    "--cfg.source_parallel_config.llm_pp_layers", "[28]"])
        XCTAssertEqual(p, .printConfig("""
        cfg:
          target_dir: t
          source_parallel_config:
            llm_pp_layers: [28]
          target_parallel_config:
            tp_size: 2

        """))
        let q = try ArgumentsRecipes.surface.parse(["Qwen2VLConverter", "resplit", "--print_config", "skip_unset", "--cfg.target_dir", "t"])
        XCTAssertEqual(q, .printConfig("cfg:\n  target_dir: t\n"))
    }

    // MARK: Levels and other commands

    func testHelpAtEachLevelAndOtherCommands() throws {
        let s = ArgumentsRecipes.surface
        XCTAssertEqual(try s.parse(["-h"]), .help(s.topLevelHelp()))
        XCTAssertEqual(try s.parse(["--config", "missing.yaml", "--help"]), .help(s.topLevelHelp()))
        XCTAssertEqual(try s.parse(["Qwen2VLConverter", "-h"]), .help(s.converterHelp("Qwen2VLConverter")))
        XCTAssertEqual(try s.parse(["Qwen2VLConverter", "hf_to_mm", "--cfg.parallel_config.tp_size", "abc", "-h"]),
                       .help(s.operationHelp(ArgumentsRecipes.hfToMM)))
        XCTAssertEqual(try s.parse(["Qwen2VLConverter", "hf_to_mm", "--help"], environment: Self.envOn),
                       .help(s.operationHelp(ArgumentsRecipes.hfToMM, environment: Self.envOn)))
        XCTAssertEqual(try s.parse(["inspect", "--cfg", "x", "-h"]), .other(command: "inspect", args: ["--cfg", "x", "-h"]))
        XCTAssertEqual(try s.parse(["verify"]), .other(command: "verify", args: []))
    }
}
