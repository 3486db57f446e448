import DSL
import Ops
import XCTest

final class DiagnosticTests: XCTestCase {
    func testRenderingHasPositionLineAndCaret() {
        let e = recipeError { try Session().run("load hf\n  lod hf\n", name: "q.recipe") }
        XCTAssertEqual(e?.description, """
        q.recipe:2:3: error: unknown statement 'lod'; did you mean 'load'?
          lod hf
          ^
        note: 'help' lists the statements
        """)
    }

    func testCaretKeepsTabs() {
        let e = recipeError { _ = try Parser.parse("\tlet x = = 1", name: "t") }
        XCTAssertEqual(e?.description, "t:1:10: error: expected a value, found '='\n\tlet x = = 1\n\t        ^")
    }

    func testSyntaxErrors() {
        let cases: [(String, String, Int, Int)] = [
            ("let = 3", "expected a name after 'let', found '='", 1, 5),
            ("let x 3", "expected '=' after 'let x', found '3'", 1, 7),
            ("let and = 3", "'and' is a reserved word and cannot be used as a name after 'let'", 1, 5),
            ("let x = 1 +", "expected a value, found end of input", 1, 12),
            ("let s = \"abc", "unterminated string: missing closing '\"'", 1, 9),
            ("let s = \"a\\qb\"", "unknown escape '\\q' in string; known escapes are \\n \\t \\r \\\\ \\\" \\0 (use r\"...\" for regular expressions)", 1, 11),
            ("let x = 1 < 2 < 3", "comparisons cannot be chained; combine them with 'and'", 1, 15),
            ("let x = 99999999999999999999", "integer '99999999999999999999' is too large", 1, 9),
            ("let x = 12abc", "unexpected 'a' after number", 1, 11),
            ("let x = 'a'", "strings use double quotes: \"...\"", 1, 9),
            ("let x = 1 ! 2", "unexpected character '!'; write 'not' for negation or '!=' for inequality", 1, 11),
            ("map m { param a: int }", "'param' is only allowed at the top level of a recipe, not inside a block", 1, 9),
            ("map m {\n rename \"a\" -> \"b\"\n", "expected '}' to close the map block opened at line 1, column 7", 3, 1),
            ("}", "unexpected '}' without a matching '{'", 1, 1),
            ("if x { } \nelse { }", "'else' without 'if' ('else' goes on the line of the closing '}')", 2, 1),
            ("param a int", "expected ':' and a type after the parameter name (param a: int), found 'int'", 1, 9),
            ("param a: integer", "unknown type 'integer' (types are int, float, bool, str, path, dir, [T], {T} and T?)", 1, 10),
            ("param a: flaot", "unknown type 'flaot' (types are int, float, bool, str, path, dir, [T], {T} and T?); did you mean 'float'?", 1, 10),
            ("param a: int > x", "expected a number after '>' in the bound, found 'x'", 1, 16),
            ("param a: int = 1 = 2", "expected '= default', a \"doc string\" or 'ignored' in the parameter declaration, found '='", 1, 18),
            ("recipe Foo hf_to_mm \"doc\"", "expected '.' between converter and operation (recipe Converter.operation \"doc\", or recipe name \"doc\"), found 'hf_to_mm'", 1, 12),
            ("use layout", "expected a file name in quotes after 'use', found 'layout'", 1, 5),
            ("rename \"a\" -> { }", "expected a value, found '{'", 1, 15),
            ("drop \"a\" { }", "unexpected '{': only 'if', 'map' and table declarations ('KIND NAME {') take a block", 1, 10),
            ("let x = (1 + 2", "expected ')' to close the parenthesis, found end of input", 1, 15),
            ("let x = [1 2]", "expected ',' or ']' in the list, found '2'", 1, 12),
            ("let x = (1)(2)", "only built-in functions can be called, as name(arguments)", 1, 12),
            ("42", "expected a statement keyword, found '42'", 1, 1),
            ("load hf save mm", "", 0, 0),
        ]
        for (text, message, line, column) in cases where !message.isEmpty {
            guard let e = recipeError({ _ = try Parser.parse(text, name: "t") }) else { continue }
            XCTAssertEqual(e.message, message, text)
            XCTAssertEqual(e.location?.line, line, text)
            XCTAssertEqual(e.location?.column, column, text)
        }
    }

    func testIncompleteInputIsFlaggedForTheREPL() {
        for text in ["map m {", "let x = [1,", "rename \"a\" ->", "if x { rename \"a\" -> \"b\"", "let x = (1 +"] {
            XCTAssertEqual(recipeError { _ = try Parser.parse(text, name: "t") }?.isIncomplete, true, text)
        }
        for text in ["let x = ", "let = 3", "map m { } }", "let x = 1 +"] {
            XCTAssertEqual(recipeError { _ = try Parser.parse(text, name: "t") }?.isIncomplete, false, text)
        }
    }

    func testDidYouMeanForArgumentsNamesAndBlocks() {
        let cases: [(String, String)] = [
            ("merge qkv \"a\" -> \"b\" grups=4", "'merge qkv' has no argument 'grups'; did you mean 'groups'?"),
            ("merge qvk \"a\" -> \"b\"", "unknown 'merge' kind 'qvk' (one of glu, qkv); did you mean 'qkv'?"),
            ("let depth = 1\nlet y = detph + 1", "unknown name 'detph'; did you mean 'depth'?"),
            ("map qwen2vl { }\napply qwen2lv", "unknown map block 'qwen2lv'; did you mean 'qwen2vl'?"),
            ("let x = lne([1])", "unknown function 'lne'; did you mean 'len'?"),
            ("cast bf61", "'cast' does not know 'bf61' as its dtype (one of bf16, fp16, fp32); did you mean 'bf16'?"),
            ("shard qwen_tp { row \"a\" }\nshard qwen_pt tp=2", "unknown shard table 'qwen_pt'; did you mean 'qwen_tp'?"),
            ("shard t { rwo \"a\" }", "unknown shard entry 'rwo' (one of row, col, glu, urow); did you mean 'row'?"),
            ("shrad tp=2", "unknown statement 'shrad'; did you mean 'shard'?"),
            ("parma x: int", "unknown statement 'parma'; did you mean 'param'?"),
            ("stages s { vit \"a\" frist=[\"b\"] }", "'stages entry 'vit'' has no argument 'frist'; did you mean 'first'?"),
            ("tabel t { }", "unknown table kind 'tabel' (one of shard, stages)"),
            ("help rnme", "no help for 'rnme'; did you mean 'rename'?"),
            ("help merge qvk", "no help for 'merge qvk'; did you mean 'merge qkv'?"),
        ]
        for (text, message) in cases {
            XCTAssertEqual(recipeError { try Session().run(text) }?.message, message, text)
        }
    }

    func testArgumentShapeErrors() {
        let cases: [(String, String, Int)] = [
            ("rename \"a\"", "'rename' expects SOURCE -> TARGET as its mapping argument", 8),
            ("merge qkv \"a\" -> \"b\"", "'merge qkv' needs groups=...", 1),
            ("merge", "'merge' needs a kind first: one of glu, qkv", 1),
            ("tie \"a\" -> \"b\" \"c\" -> \"d\"", "too many arguments: 'tie' takes at most 1 positional argument", 16),
            ("drop \"a\" -> \"b\"", "'drop' does not take an arrow as its pattern argument", 6),
            ("cast 1", "'cast' expects a word as its dtype argument (one of bf16, fp16, fp32)", 6),
            ("shard tp=1 tp=2", "argument 'tp' is given twice", 12),
            ("stages s { vit \"a\" }\nshard s tp=2", "'s' is a stages table, but 'shard' needs a shard table", 7),
            ("map m { }\nmap m { }", "'m' is already declared at main.recipe:1:1", 1),
            ("split qkv heads=\"x\"", "'split qkv' expects int as its heads argument, got a string (\"x\")", 11),
        ]
        for (text, message, column) in cases {
            let e = recipeError { try Session().run(text) }
            XCTAssertEqual(e?.message, message, text)
            XCTAssertEqual(e?.location?.column, column, text)
        }
    }

    func testRuntimeFailureNamesStatementAndTensor() {
        let e = recipeError { try Session().run("load hf\nfail") }
        XCTAssertEqual(e?.description, """
        main.recipe:2:1: error: fail: tensor 'text_decoder.decoder.layers.0.self_attention.linear_qkv.weight': 14 heads do not split over tp=4
        fail
        ^
        """)
    }

    func testSuggestionDistance() {
        XCTAssertEqual(Suggestions.distance("shrad", "shard"), 1)
        XCTAssertEqual(Suggestions.distance("kitten", "sitting"), 3)
        XCTAssertNil(Suggestions.closest(to: "hf", in: ["mm"]))
        XCTAssertEqual(Suggestions.closest(to: "tp_szie", in: ["tp_size", "pp_size"]), "tp_size")
    }
}
