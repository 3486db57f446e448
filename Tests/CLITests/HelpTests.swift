import XCTest
import DSL
import Ops
@testable import CLI

final class HelpTests: XCTestCase {
    static let toy = RecipeInfo(
        converter: "ToyConverter", operation: "hf_to_mm", doc: "Convert a toy checkpoint.\nSecond line of the first paragraph.\n\nDetails.",
        params: [
            ParamSpec(name: "cfg.mm_dir", type: .path, doc: "output root"),
            ParamSpec(name: "cfg.parallel_config.llm_pp_layers", type: .list(.list(.int)), bounds: [ParamBound(.ge, 0)], doc: "layers per stage"),
            ParamSpec(name: "cfg.parallel_config.tp_size", type: .int, bounds: [ParamBound(.gt, 0)], defaultValue: .int(1), doc: "tensor-parallel size"),
            ParamSpec(name: "cfg.trust_remote_code", type: .bool, defaultValue: .bool(false), ignored: true),
        ])
    static let toyBack = RecipeInfo(converter: "ToyConverter", operation: "mm_to_hf", doc: "Convert back.", params: [])
    static let surface = ArgumentSurface(program: "mm-convert", summary: "Convert toys.", recipes: [toy, toyBack],
                                         extraCommands: [(name: "inspect", summary: "List tensors.")])
    static let envOn = ["JSONARGPARSE_DEFAULT_ENV": "true"]

    func testTopLevelHelp() {
        XCTAssertEqual(Self.surface.topLevelHelp(), """
        usage: mm-convert [-h] [--config CONFIG] [--print_config[=flags]] COMMAND ...

        Convert toys.

        options:
          -h, --help            Show this help message and exit.
          --config CONFIG       Path to a YAML config file with the options of one operation nested as
                                CONVERTER: OPERATION: cfg: ...
          --print_config[=flags]
                                Print the configuration after applying all other arguments and exit. The
                                optional flags customize the output and are one or more keywords separated
                                by comma: comments (doc comments above each key), skip_null, skip_default,
                                skip_unset.

        converters (mm-convert CONVERTER OPERATION [options]; add -h after either for details):
          ToyConverter          hf_to_mm, mm_to_hf

        other commands:
          inspect               List tensors.

        Options of an operation can also come from a YAML file (--config, as --print_config writes it) and,
        with JSONARGPARSE_DEFAULT_ENV=true, from environment variables named
        MM_CONVERT_<CONVERTER>__<OPERATION>__CFG__... (listed by the operation's -h).

        """)
    }

    func testConverterHelp() {
        XCTAssertEqual(Self.surface.converterHelp("ToyConverter"), """
        usage: mm-convert ToyConverter [-h] [--config CONFIG] [--print_config[=flags]] OPERATION ...

        options:
          -h, --help            Show this help message and exit.
          --config CONFIG       Path to a YAML config file with the options of one operation nested as
                                OPERATION: cfg: ...
          --print_config[=flags]
                                Print the configuration after applying all other arguments and exit. The
                                optional flags customize the output and are one or more keywords separated
                                by comma: comments (doc comments above each key), skip_null, skip_default,
                                skip_unset.

        operations (mm-convert ToyConverter OPERATION -h for its options):
          hf_to_mm              Convert a toy checkpoint. Second line of the first paragraph.
          mm_to_hf              Convert back.

        """)
    }

    func testOperationHelp() {
        XCTAssertEqual(Self.surface.operationHelp(Self.toy), """
        usage: mm-convert ToyConverter hf_to_mm [-h] [--config CONFIG] [--print_config[=flags]]
                                                --cfg.mm_dir MM_DIR
                                                --cfg.parallel_config.llm_pp_layers LLM_PP_LAYERS
                                                [--OPTION VALUE ...]

        Convert a toy checkpoint. Second line of the first paragraph.

        Details.

        options:
          -h, --help            Show this help message and exit.
          --config CONFIG       Path to a YAML config file with the options below nested by their dotted
                                names (cfg: ...), as --print_config writes it.
          --print_config[=flags]
                                Print the configuration after applying all other arguments and exit. The
                                optional flags customize the output and are one or more keywords separated
                                by comma: comments (doc comments above each key), skip_null, skip_default,
                                skip_unset.

        cfg:
          --cfg CONFIG          Path to a YAML file (or an inline {key: value} mapping) with options under
                                cfg.
          --cfg.mm_dir MM_DIR   output root (required, type: path)
          --cfg.trust_remote_code TRUST_REMOTE_CODE
                                (accepted and ignored, type: bool, default: false)

        cfg.parallel_config:
          --cfg.parallel_config CONFIG
                                Path to a YAML file (or an inline {key: value} mapping) with options under
                                cfg.parallel_config.
          --cfg.parallel_config.llm_pp_layers LLM_PP_LAYERS
                                layers per stage (required, type: [[int >= 0]])
          --cfg.parallel_config.tp_size TP_SIZE
                                tensor-parallel size (type: int > 0, default: 1)

        """)
    }

    func testOperationWithEnvironmentHelp() {
        XCTAssertEqual(Self.surface.operationHelp(Self.toy, environment: Self.envOn), """
        usage: mm-convert ToyConverter hf_to_mm [-h] [--config CONFIG] [--print_config[=flags]]
                                                --cfg.mm_dir MM_DIR
                                                --cfg.parallel_config.llm_pp_layers LLM_PP_LAYERS
                                                [--OPTION VALUE ...]

        Convert a toy checkpoint. Second line of the first paragraph.

        Details.

        options:
          -h, --help            Show this help message and exit.
          ARG:   --config CONFIG
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CONFIG
                                Path to a YAML config file with the options below nested by their dotted
                                names (cfg: ...), as --print_config writes it.
          --print_config[=flags]
                                Print the configuration after applying all other arguments and exit. The
                                optional flags customize the output and are one or more keywords separated
                                by comma: comments (doc comments above each key), skip_null, skip_default,
                                skip_unset.

        cfg:
          ARG:   --cfg CONFIG
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CFG
                                Path to a YAML file (or an inline {key: value} mapping) with options under
                                cfg.
          ARG:   --cfg.mm_dir MM_DIR
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CFG__MM_DIR
                                output root (required, type: path)
          ARG:   --cfg.trust_remote_code TRUST_REMOTE_CODE
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CFG__TRUST_REMOTE_CODE
                                (accepted and ignored, type: bool, default: false)

        cfg.parallel_config:
          ARG:   --cfg.parallel_config CONFIG
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG
                                Path to a YAML file (or an inline {key: value} mapping) with options under
                                cfg.parallel_config.
          ARG:   --cfg.parallel_config.llm_pp_layers LLM_PP_LAYERS
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__LLM_PP_LAYERS
                                layers per stage (required, type: [[int >= 0]])
          ARG:   --cfg.parallel_config.tp_size TP_SIZE
          ENV:   MM_CONVERT_TOYCONVERTER__HF_TO_MM__CFG__PARALLEL_CONFIG__TP_SIZE
                                tensor-parallel size (type: int > 0, default: 1)

        """)
    }

    func testOperationWithoutParametersHelp() {
        XCTAssertEqual(Self.surface.operationHelp(Self.toyBack), """
        usage: mm-convert ToyConverter mm_to_hf [-h] [--config CONFIG] [--print_config[=flags]]

        Convert back.

        options:
          -h, --help            Show this help message and exit.
          --config CONFIG       Path to a YAML config file with the options below (name: value), as
                                --print_config writes it.
          --print_config[=flags]
                                Print the configuration after applying all other arguments and exit. The
                                optional flags customize the output and are one or more keywords separated
                                by comma: comments (doc comments above each key), skip_null, skip_default,
                                skip_unset.

        """)
    }

    func testParseReturnsTheSameTexts() throws {
        XCTAssertEqual(try Self.surface.parse(["--help"]), .help(Self.surface.topLevelHelp()))
        XCTAssertEqual(try Self.surface.parse(["ToyConverter", "-h"]), .help(Self.surface.converterHelp("ToyConverter")))
        XCTAssertEqual(try Self.surface.parse(["ToyConverter", "hf_to_mm", "-h"], environment: Self.envOn),
                       .help(Self.surface.operationHelp(Self.toy, environment: Self.envOn)))
    }

    func testLayout() {
        XCTAssertEqual(HelpLayout.wrap("aa bb cc dd", width: 5), ["aa bb", "cc dd"])
        XCTAssertEqual(HelpLayout.entry(["--short X"], help: "help"), "  --short X             help")
        XCTAssertEqual(HelpLayout.entry(["--a-much-longer-option X"], help: "help"), "  --a-much-longer-option X\n                        help")
        XCTAssertEqual(HelpLayout.entry(["--no-help"], help: ""), "  --no-help")
    }
}
