import DSL
import Ops
import XCTest

final class REPLTests: XCTestCase {
    func session(_ text: String) -> (output: [String], log: [String], prompts: [String], errors: Int) {
        let s = Session()
        let repl = REPL(interpreter: s.interpreter)
        var input = ScriptedInput(text: text)
        repl.run(&input)
        return (s.output, s.log, input.prompts, repl.errorCount)
    }

    func testStatementsRunOneAtATimeAndStateIsKept() {
        let r = session("""
        load hf
        let heads = config.num_attention_heads
        split qkv heads=heads
        ls "text_decoder.*"
        """)
        XCTAssertEqual(r.log, ["load hf", "split qkv heads=28", "ls \"text_decoder.*\""])
        XCTAssertEqual(r.output, ["listing text_decoder.*"])
        XCTAssertEqual(r.errors, 0)
    }

    func testErrorsAreReportedAndTheSessionGoesOn() {
        let r = session("""
        lod hf
        load hf
        let x = config.vision_config.detph
        save mm
        """)
        XCTAssertEqual(r.output, [
            "<repl>:1:1: error: unknown statement 'lod'; did you mean 'load'?\nlod hf\n^\nnote: 'help' lists the statements",
            "<repl>:3:30: error: no key 'detph' in config.vision_config; did you mean 'depth'?\nlet x = config.vision_config.detph\n                             ^",
        ])
        XCTAssertEqual(r.log, ["load hf", "save mm"])
        XCTAssertEqual(r.errors, 2)
    }

    func testOpenBlocksAndBracketsContinueAndLineNumbersFollowTheSession() {
        let r = session("""
        map m {
          rename "a" -> "b"
          tie "c" ->
            "d"
        }
        let layers = [1,
           27]
        apply m
        revert m
        let bad = [1,
           2 3]
        drop "x" \\
          "y"
        quit
        save mm
        """)
        XCTAssertEqual(r.log, ["rename \"a\" -> \"b\"", "tie \"c\" -> \"d\"", "undo tie \"c\" -> \"d\"", "undo rename \"a\" -> \"b\"", "drop \"x\" \"y\""])
        XCTAssertEqual(r.prompts, ["mm> ", "... ", "... ", "... ", "... ", "mm> ", "... ", "mm> ", "mm> ", "mm> ", "... ", "mm> ", "... ", "mm> "])
        XCTAssertEqual(r.output, ["<repl>:11:6: error: expected ',' or ']' in the list, found '3'\n   2 3]\n     ^"])
    }

    func testHelpAndRedefinition() {
        let r = session("""
        help rename
        map m { tie "a" -> "b" }
        map m { tie "x" -> "y" }
        apply m
        """)
        XCTAssertEqual(r.output, ["rename MAPPING_FROM -> MAPPING_TO...\n  rename tensors by pattern"])
        XCTAssertEqual(r.log, ["tie \"x\" -> \"y\""])
    }

    func testParamsInTheREPLTakeDefaultsOrPresetValues() {
        let s = Session()
        s.interpreter.parameterValues = ["cfg.tp": .int(4)]
        let repl = REPL(interpreter: s.interpreter)
        var input = ScriptedInput(["param cfg.tp: int > 0 = 1", "param cfg.pp: int = 2", "shard tp=cfg.tp * cfg.pp", "param cfg.x: int"])
        repl.run(&input)
        XCTAssertEqual(s.log, ["shard tp=8"])
        XCTAssertEqual(s.output, ["<repl>:4:1: error: parameter 'cfg.x' has no value and no default\nparam cfg.x: int\n^"])
    }

    func testUseInTheREPL() {
        let s = Session(files: ["layout.recipe": "map m { tie \"a\" -> \"b\" }"])
        let repl = REPL(interpreter: s.interpreter)
        var input = ScriptedInput(["use \"layout.recipe\"", "apply m", "use \"layout.recipe\"", "use \"other.recipe\""])
        repl.run(&input)
        XCTAssertEqual(s.log, ["tie \"a\" -> \"b\""])
        XCTAssertEqual(s.output, ["<repl>:4:1: error: cannot read recipe 'other.recipe': no such recipe\nuse \"other.recipe\"\n^"])
    }

    func testUnterminatedInputAtEndIsReported() {
        let r = session("map m {\n  rename \"a\" -> \"b\"")
        XCTAssertEqual(r.errors, 1)
        XCTAssertTrue(r.output[0].hasPrefix("<repl>:2:20: error: expected '}' to close the map block opened at line 1, column 7"), r.output[0])
    }
}
