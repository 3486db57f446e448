import DSL
import Ops
import XCTest

final class ParamTests: XCTestCase {
    let recipe = """
    recipe Qwen2VLConverter.hf_to_mm "Hugging Face -> MindSpeed-MM"
    param cfg.mm_dir: path "where to write the MindSpeed-MM checkpoint"
    param cfg.hf_config.hf_dir: dir "the downloaded Hugging Face checkpoint"
    param cfg.parallel_config.llm_pp_layers: [[int >= 0]] "LLM layers per pipeline stage"
    param cfg.parallel_config.tp_size: int > 0 = 1 "tensor-parallel size"
    param cfg.parallel_config.vit_tp_size: int >= 0 = 0 "ViT TP size (0 = tp_size)"
    param cfg.common_model_config.lora: str? "unused"
    param cfg.trust_remote_code: bool = false ignored "accepted for compatibility"
    param cfg.scale: float = 1 "a float default given as int"
    load hf cfg.hf_config.hf_dir
    assert sum(cfg.parallel_config.llm_pp_layers) == config.num_hidden_layers "llm_pp_layers add up to " + str(sum(cfg.parallel_config.llm_pp_layers)) + ", the model has " + str(config.num_hidden_layers)
    shard tp=cfg.parallel_config.tp_size
    save mm cfg.mm_dir
    """

    let required: [String: Value] = [
        "cfg.mm_dir": .string("/out"), "cfg.hf_config.hf_dir": .string("/in"),
        "cfg.parallel_config.llm_pp_layers": .list([.list([.int(1), .int(27)])]),
    ]

    func testRecipeInfoWithoutRunning() throws {
        let info = try Recipe.parse(recipe, name: "qwen2vl/hf_to_mm.recipe").info(loader: .memory([:]))
        XCTAssertEqual(info.converter, "Qwen2VLConverter")
        XCTAssertEqual(info.operation, "hf_to_mm")
        XCTAssertEqual(info.doc, "Hugging Face -> MindSpeed-MM")
        XCTAssertEqual(info.params, [
            ParamSpec(name: "cfg.mm_dir", type: .path, doc: "where to write the MindSpeed-MM checkpoint"),
            ParamSpec(name: "cfg.hf_config.hf_dir", type: .dir, doc: "the downloaded Hugging Face checkpoint"),
            ParamSpec(name: "cfg.parallel_config.llm_pp_layers", type: .list(.list(.int)), bounds: [ParamBound(.ge, 0)], doc: "LLM layers per pipeline stage"),
            ParamSpec(name: "cfg.parallel_config.tp_size", type: .int, bounds: [ParamBound(.gt, 0)], defaultValue: .int(1), doc: "tensor-parallel size"),
            ParamSpec(name: "cfg.parallel_config.vit_tp_size", type: .int, bounds: [ParamBound(.ge, 0)], defaultValue: .int(0), doc: "ViT TP size (0 = tp_size)"),
            ParamSpec(name: "cfg.common_model_config.lora", type: .optional(.str), defaultValue: .null, doc: "unused"),
            ParamSpec(name: "cfg.trust_remote_code", type: .bool, defaultValue: .bool(false), doc: "accepted for compatibility", ignored: true),
            ParamSpec(name: "cfg.scale", type: .float, defaultValue: .float(1), doc: "a float default given as int"),
        ])
    }

    func testRunWithParamsAndDefaults() throws {
        let s = Session()
        s.interpreter.context.state.configToLoad = .dict([("num_hidden_layers", .int(28))])
        var values = required
        values["cfg.parallel_config.tp_size"] = .int(2)
        try s.run(recipe, params: values)
        XCTAssertEqual(s.log, ["load hf \"/in\"", "shard tp=2", "save mm \"/out\""])
        XCTAssertEqual(s.interpreter.variables["cfg"]?["parallel_config"]?["vit_tp_size"], .int(0))
        XCTAssertEqual(s.interpreter.variables["cfg"]?["scale"], .float(1))
    }

    func testAssertMessageFromRecipe() {
        let s = Session()
        s.interpreter.context.state.configToLoad = .dict([("num_hidden_layers", .int(30))])
        let e = recipeError { try s.run(recipe, params: required) }
        XCTAssertEqual(e?.message, "llm_pp_layers add up to 28, the model has 30")
        XCTAssertEqual(e?.location?.line, 11)
        XCTAssertEqual(s.log, ["load hf \"/in\""])
    }

    func testParameterErrorsComeBeforeAnythingRuns() {
        func message(_ change: (inout [String: Value]) -> Void) -> String? {
            var values = required
            change(&values)
            let s = Session()
            let e = recipeError { try s.run(recipe, params: values) }
            XCTAssertEqual(s.log, [])
            return e?.message
        }
        XCTAssertEqual(message { $0["cfg.parallel_config.tp_size"] = .int(0) }, "parameter 'cfg.parallel_config.tp_size' expects int > 0, got 0")
        XCTAssertEqual(message { $0["cfg.parallel_config.tp_size"] = .string("2") }, "parameter 'cfg.parallel_config.tp_size' expects int > 0, got a string (\"2\")")
        XCTAssertEqual(message { $0["cfg.parallel_config.llm_pp_layers"] = .list([.list([.int(1), .int(-1)])]) }, "parameter 'cfg.parallel_config.llm_pp_layers' expects [[int]] >= 0, got -1")
        XCTAssertEqual(message { $0["cfg.parallel_config.llm_pp_layers"] = .list([.int(1)]) }, "parameter 'cfg.parallel_config.llm_pp_layers' expects [[int]] >= 0, got a list")
        XCTAssertEqual(message { $0["cfg.parallel_config.tp_szie"] = .int(2) }, "unknown parameter 'cfg.parallel_config.tp_szie'; did you mean 'cfg.parallel_config.tp_size'?")
        XCTAssertEqual(message { $0["cfg.mm_dir"] = nil; $0["cfg.hf_config.hf_dir"] = nil }, "missing required parameters 'cfg.mm_dir', 'cfg.hf_config.hf_dir'")
        XCTAssertEqual(message { $0["cfg.common_model_config.lora"] = .int(1) }, "parameter 'cfg.common_model_config.lora' expects str?, got an int (1)")
    }

    func testDirectoriesMustExistWhenChecked() throws {
        let s = Session()
        s.interpreter.checkDirectories = true
        var values = required
        values["cfg.hf_config.hf_dir"] = .string("/nonexistent/dir/for/test")
        XCTAssertEqual(recipeError { try s.run(recipe, params: values) }?.message,
                       "parameter 'cfg.hf_config.hf_dir' expects dir, but directory '/nonexistent/dir/for/test' does not exist")
    }

    /// A parameter a shared file declares `ignored` may be declared again, not ignored, by a
    /// converter that uses it (in either order); that declaration is the parameter, in the place
    /// of the first. Two ignored or two used declarations stay an error.
    func testIgnoredParameterDeclaredAgain() throws {
        for text in ["recipe A.b\nparam a: int = 1\nparam x: str? \"used\"\nparam x: str? ignored \"shared\"\nprint x",
                     "recipe A.b\nparam x: str? ignored \"shared\"\nparam a: int = 1\nparam x: str? \"used\"\nprint x"] {
            let info = try Recipe.parse(text, name: "p.recipe").info(loader: .memory([:]))
            XCTAssertEqual(info.params.map(\.name), text.hasPrefix("recipe A.b\nparam a") ? ["a", "x"] : ["x", "a"])
            XCTAssertEqual(info.params.first { $0.name == "x" }, ParamSpec(name: "x", type: .optional(.str), defaultValue: .null, doc: "used"))
            let s = Session()
            try s.run(text, params: ["x": .string("v")])
            XCTAssertEqual(s.interpreter.variables["x"], .string("v"))
        }
        let e = recipeError { _ = try Recipe.parse("recipe A.b\nparam x: int ignored\nparam x: int ignored", name: "p.recipe").info(loader: .memory([:])) }
        XCTAssertEqual(e?.message, "parameter 'x' is already declared at p.recipe:2:1")
    }

    func testDeclarationErrors() {
        let cases: [(String, String, Int, Int)] = [
            ("recipe A.b\nparam x: int = \"a\"", "the default of parameter 'x' expects int, got a string (\"a\")", 2, 16),
            ("recipe A.b\nparam x: int > 0 = 0", "the default of parameter 'x' expects int > 0, got 0", 2, 20),
            ("recipe A.b\nparam x: int = y", "the default of parameter 'x' must be a constant, not a name", 2, 16),
            ("recipe A.b\nparam x: int\nparam x: int", "parameter 'x' is already declared at p.recipe:2:1", 3, 1),
            ("recipe A.b\nparam a.b: int\nparam a: int", "parameter 'a' overlaps parameter 'a.b' declared at p.recipe:2:1: one name cannot be both a value and a group", 3, 1),
        ]
        for (text, message, line, column) in cases {
            let e = recipeError { _ = try Recipe.parse(text, name: "p.recipe").info(loader: .memory([:])) }
            XCTAssertEqual(e?.message, message, text)
            XCTAssertEqual(e?.location?.line, line, text)
            XCTAssertEqual(e?.location?.column, column, text)
        }
        XCTAssertEqual(recipeError { _ = try Recipe.parse("load hf", name: "layout.recipe").info(loader: .memory([:])) }?.message,
                       "layout.recipe has no 'recipe Converter.operation \"doc\"' statement, so it cannot be run as a command")
    }
}
