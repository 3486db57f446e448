import DSL
import Ops
import XCTest

final class EvaluationTests: XCTestCase {
    /// Evaluates an expression in a session where `config` is the fake registry's config.
    func eval(_ text: String, _ setup: String = "") throws -> Value {
        let s = Session()
        s.interpreter.context.config = Recorder().configToLoad
        try s.interpreter.execute(checking: try Parser.parse(setup + "\nlet r = " + text, name: "e"))
        return s.interpreter.variables["r"] ?? .null
    }

    func testArithmeticFollowsPython() throws {
        XCTAssertEqual(try eval("1 + 2 * 3"), .int(7))
        XCTAssertEqual(try eval("(1 + 2) * 3"), .int(9))
        XCTAssertEqual(try eval("7 / 2"), .float(3.5))
        XCTAssertEqual(try eval("7 // 2"), .int(3))
        XCTAssertEqual(try eval("-7 // 2"), .int(-4))
        XCTAssertEqual(try eval("-7 % 3"), .int(2))
        XCTAssertEqual(try eval("7 % -3"), .int(-2))
        XCTAssertEqual(try eval("7.5 // 2"), .float(3))
        XCTAssertEqual(try eval("1 + 0.5"), .float(1.5))
        XCTAssertEqual(try eval("-(2 - 5)"), .int(3))
        XCTAssertEqual(try eval("\"a\" + \"b\""), .string("ab"))
        XCTAssertEqual(try eval("[1] + [2, 3]"), .list([.int(1), .int(2), .int(3)]))
        XCTAssertEqual(try eval("3584 / 28 == 128"), .bool(true))
    }

    func testComparisonAndLogic() throws {
        XCTAssertEqual(try eval("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 != 2"), .bool(true))
        XCTAssertEqual(try eval("1 == 1.0"), .bool(true))
        XCTAssertEqual(try eval("\"a\" < \"b\""), .bool(true))
        XCTAssertEqual(try eval("[1, 2] == [1, 2]"), .bool(true))
        XCTAssertEqual(try eval("not true or false"), .bool(false))
        XCTAssertEqual(try eval("true or 1"), .bool(true), "short-circuit skips the right side")
        XCTAssertEqual(try eval("false and undefined_thing_is_not_evaluated", "let undefined_thing_is_not_evaluated = 1"), .bool(false))
    }

    func testIndexingAndConfig() throws {
        XCTAssertEqual(try eval("[10, 20, 30][1]"), .int(20))
        XCTAssertEqual(try eval("[10, 20, 30][-1]"), .int(30))
        XCTAssertEqual(try eval("[[1, 2], [3]][0][1]"), .int(2))
        XCTAssertEqual(try eval("config.vision_config.depth"), .int(32))
        XCTAssertEqual(try eval("config[\"hidden_size\"] / config.num_attention_heads"), .float(128))
        XCTAssertEqual(try eval("config.hidden_size // config.num_attention_heads * config.num_attention_heads // config.num_key_value_heads"), .int(896))
    }

    func testBuiltins() throws {
        XCTAssertEqual(try eval("len([1, 2, 3])"), .int(3))
        XCTAssertEqual(try eval("len(\"abc\")"), .int(3))
        XCTAssertEqual(try eval("len(config)"), .int(5))
        XCTAssertEqual(try eval("sum([[1, 10], [10, 7]])"), .int(28))
        XCTAssertEqual(try eval("sum([1, 0.5])"), .float(1.5))
        XCTAssertEqual(try eval("flatten([[1, 10], [10, 7]])"), .list([.int(1), .int(10), .int(10), .int(7)]))
        XCTAssertEqual(try eval("min([3, 1, 2])"), .int(1))
        XCTAssertEqual(try eval("max(3, 1, 2)"), .int(3))
        XCTAssertEqual(try eval("range(3)"), .list([.int(0), .int(1), .int(2)]))
        XCTAssertEqual(try eval("range(4, 0, -2)"), .list([.int(4), .int(2)]))
        XCTAssertEqual(try eval("int(3.9) + int(\"4\") + int(true)"), .int(8))
        XCTAssertEqual(try eval("float(2)"), .float(2))
        XCTAssertEqual(try eval("str(28) + str([1, \"a\"])"), .string("28[1, \"a\"]"))
        XCTAssertEqual(try eval("abs(-3)"), .int(3))
        XCTAssertEqual(try eval("any([false, true]) and not all([false, true])"), .bool(true))
        XCTAssertEqual(try eval("get(config, \"rope\", 7)"), .int(7))
        XCTAssertEqual(try eval("has(config.vision_config, \"depth\")"), .bool(true))
    }

    func testEvaluationErrors() {
        let cases: [(String, String, Int)] = [
            ("1 / 0", "division by zero", 11),
            ("5 // 0", "division by zero", 11),
            ("5 % 0", "modulo by zero", 11),
            ("9223372036854775807 + 1", "integer overflow in 9223372036854775807 + 1", 29),
            ("-9223372036854775807 - 2 // 1", "integer overflow in -9223372036854775807 - 2", 30),
            ("1 + \"a\"", "'+' cannot combine an int (1) and a string (\"a\")", 11),
            ("1 < \"a\"", "'<' cannot compare an int (1) and a string (\"a\")", 11),
            ("not 1", "'not' cannot apply to an int (1)", 9),
            ("1 and true", "'and' needs true or false, found an int (1)", 9),
            ("[1, 2][2]", "index 2 is out of range for a list of 2 items", 16),
            ("[1][\"a\"]", "a list index must be an int, not a string (\"a\")", 13),
            ("config.vision_config.detph", "no key 'detph' in config.vision_config; did you mean 'depth'?", 30),
            ("config.hidden_size.x", "config.hidden_size is an int (3584), not a mapping, so it has no key 'x'", 28),
            ("len(1)", "len(): needs a list, string or mapping, not an int (1)", 9),
            ("len(1, 2)", "len() takes 1 argument, got 2", 9),
            ("sum([\"a\"])", "sum(): needs numbers, found a string (\"a\")", 9),
            ("range(10000000)", "range(): more than 1048576 items", 9),
            ("range(1, 2, 0)", "range(): step must not be zero", 9),
            ("min([])", "min(): needs at least one value", 9),
            ("int(\"x\")", "int(): \"x\" is not an integer", 9),
            ("int(1e300)", "int(): 1e+300 does not fit an int", 9),
        ]
        for (text, message, column) in cases {
            let e = recipeError { _ = try eval(text) }
            XCTAssertEqual(e?.message, message, text)
            XCTAssertEqual(e?.location?.line, 2, text)
            XCTAssertEqual(e?.location?.column, column, text)
        }
    }

    func testConfigBeforeLoadIsAClearError() {
        let e = recipeError { try Session().run("let d = config.vision_config.depth") }
        XCTAssertEqual(e?.message, "'config' is not set yet: it is the config.json of the checkpoint 'load' reads; run 'load' first")
        XCTAssertEqual(e?.location?.column, 9)
    }

    func testWeightMapBeforeLoadIsAClearError() {
        let e = recipeError { try Session().run("let v = has(weight_map, \"visual.merger.ln_q.weight\")") }
        XCTAssertEqual(e?.message, "'weight_map' is not set yet: it lists the tensors of the HF directory 'load hf' or 'load config' reads; run one first")
        XCTAssertEqual(e?.location?.column, 13)
    }

    func testConditionsMustBeBooleans() {
        XCTAssertEqual(recipeError { try Session().run("if 1 { }") }?.message, "the condition of 'if' must be true or false, found an int (1)")
        XCTAssertEqual(recipeError { try Session().run("assert 1 == 2 \"layers must add up\"") }?.message, "layers must add up")
        XCTAssertEqual(recipeError { try Session().run("assert 1 == 2") }?.message, "assertion failed: (== 1 2)")
        XCTAssertEqual(recipeError { try Session().run("let n = 3\nassert n % 2 == 0 \"n=\" + str(n) + \" is odd\"") }?.message, "n=3 is odd")
    }
}
