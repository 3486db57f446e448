import XCTest
import Ops
@testable import CLI

final class YAMLReaderTests: XCTestCase {
    func read(_ text: String) throws -> Value { try YAMLReader.read(text, file: "t.yaml") }

    func assertError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(text), file: file, line: line) { error in
            XCTAssertEqual("\(error)", expected, file: file, line: line)
        }
    }

    func testPrintConfigShape() throws {
        let text = """
        # written by mm-convert
        cfg:
          mm_dir: mm/Qwen2-VL-7B-Instruct
          parallel_config:
            llm_pp_layers: [[1,10,10,7]]
            vit_pp_layers: [[32, 0, 0, 0]]   # ViT on stage 0
            tp_size: 1
          hf_config:
            hf_dir: hf/Qwen2-VL-7B-Instruct
          save_vit_only: false
          llm_hf_config: null
        """
        let v = try read(text)
        XCTAssertEqual(v, .dict([("cfg", .dict([
            ("mm_dir", .string("mm/Qwen2-VL-7B-Instruct")),
            ("parallel_config", .dict([
                ("llm_pp_layers", .list([.list([.int(1), .int(10), .int(10), .int(7)])])),
                ("vit_pp_layers", .list([.list([.int(32), .int(0), .int(0), .int(0)])])),
                ("tp_size", .int(1)),
            ])),
            ("hf_config", .dict([("hf_dir", .string("hf/Qwen2-VL-7B-Instruct"))])),
            ("save_vit_only", .bool(false)),
            ("llm_hf_config", .null),
        ]))]))
    }

    func testScalars() throws {
        let v = try read("""
        a: 1
        b: -12
        c: 0.5
        d: 1e-5
        e: true
        f: False
        g: ~
        h: null
        i: plain text with spaces
        j: "double \\"quoted\\" \\n"
        k: 'single ''quoted'''
        l: "123"
        m:
        n: a#b
        o: http://x/y
        p: 0x1F
        q: .inf
        r: True
        """)
        XCTAssertEqual(v, .dict([
            ("a", .int(1)), ("b", .int(-12)), ("c", .float(0.5)), ("d", .float(1e-5)),
            ("e", .bool(true)), ("f", .bool(false)), ("g", .null), ("h", .null),
            ("i", .string("plain text with spaces")), ("j", .string("double \"quoted\" \n")),
            ("k", .string("single 'quoted'")), ("l", .string("123")), ("m", .null),
            ("n", .string("a#b")), ("o", .string("http://x/y")), ("p", .int(31)),
            ("q", .float(.infinity)), ("r", .bool(true)),
        ]))
    }

    func testBlockListsAndCompactMappings() throws {
        let v = try read("""
        layers:
        - [1, 2]
        - - 3
          - 4
        items:
          - name: a
            size: 1
          - name: b
          -
          - x
        """)
        XCTAssertEqual(v, .dict([
            ("layers", .list([.list([.int(1), .int(2)]), .list([.int(3), .int(4)])])),
            ("items", .list([
                .dict([("name", .string("a")), ("size", .int(1))]),
                .dict([("name", .string("b"))]),
                .null,
                .string("x"),
            ])),
        ]))
    }

    func testFlowMappingsAndMultiLineFlow() throws {
        let v = try read("""
        a: {x: 1, "y": [true, null], z: }
        b: [
          [1, 10,   # first chunk
           10, 7],
        ]
        c: {}
        d: []
        """)
        XCTAssertEqual(v, .dict([
            ("a", .dict([("x", .int(1)), ("y", .list([.bool(true), .null])), ("z", .null)])),
            ("b", .list([.list([.int(1), .int(10), .int(10), .int(7)])])),
            ("c", .dict([])),
            ("d", .list([])),
        ]))
    }

    func testDocumentsOfOtherShapes() throws {
        XCTAssertEqual(try read(""), .null)
        XCTAssertEqual(try read("# only a comment\n\n"), .null)
        XCTAssertEqual(try read("---\na: 1\n"), .dict([("a", .int(1))]))
        XCTAssertEqual(try read("[1, 2]"), .list([.int(1), .int(2)]))
        XCTAssertEqual(try read("- 1\n- 2\n"), .list([.int(1), .int(2)]))
        XCTAssertEqual(try read("a: 1\r\nb: 2\r\n"), .dict([("a", .int(1)), ("b", .int(2))]))
        XCTAssertEqual(try read("  a: 1\n  b: 2\n"), .dict([("a", .int(1)), ("b", .int(2))]))
    }

    func testKeyLines() throws {
        let doc = try YAMLReader.readDocument("cfg:\n  parallel_config:\n\n    tp_size: 1\n  x: {y: 2}\n", file: "t.yaml")
        XCTAssertEqual(doc.keyLines, ["cfg": 1, "cfg.parallel_config": 2, "cfg.parallel_config.tp_size": 4, "cfg.x": 5, "cfg.x.y": 5])
    }

    func testErrors() {
        assertError("a:\n\tb: 1\n", "t.yaml:2: tab character in indentation; YAML indentation must use spaces")
        assertError("a: 1\nb:\tx\n", "t.yaml:2: tab character; YAML indentation and separation must use spaces")
        assertError("a: 1\na: 2\n", "t.yaml:2: duplicate key 'a' (first defined at line 1)")
        assertError("a: [1, 2\nb: 3\n", "t.yaml:2: expected ',' or ']' in a flow list but found 'b' (the '[' opened at line 1 is not closed)")
        assertError("a: [1, 2\n", "t.yaml:1: unclosed '[': expected ']' before the end of the text")
        assertError("a: 1\n  b: 2\n", "t.yaml:2: unexpected indentation (a value on a line of its own must follow a key ending in ':'; multi-line plain values are not supported)")
        assertError("a: |\n  text\n", "t.yaml:1: block scalars ('|' and '>') are not supported; write the value on one line, quoted if needed")
        assertError("a: &x 1\n", "t.yaml:1: anchors, aliases and tags ('&', '*', '!') are not supported")
        assertError("a: \"open\n", "t.yaml:1: unterminated quoted string (strings must close on the line they start)")
        assertError("a: b: c\n", "t.yaml:1: a mapping is not allowed here: 'b: c' (quote the value if the colon is part of it)")
        assertError("a: 1\njust text\n", "t.yaml:2: expected 'key: value' but found 'just text'")
        assertError("a: [1,,2]\n", "t.yaml:1: unexpected ',' in a flow list (empty item)")
        assertError("a: [1] x\n", "t.yaml:1: unexpected text 'x' after ']'")
        assertError("a: 1\n---\nb: 2\n", "t.yaml:2: multiple documents ('---') are not supported; use one document per file")
        assertError("a: 99999999999999999999\n", "t.yaml:1: integer 99999999999999999999 does not fit in 64 bits")
        assertError("a: - 1\n", "t.yaml:1: a list item cannot follow a key on the same line; put '- ...' on the next lines or use a flow list [a, b]")
        assertError("a:\n  - 1\n  b: 2\n", "t.yaml:3: expected a list item '- ...' but found 'b: 2' (a list and a mapping cannot share one indentation level)")
        XCTAssertEqual(try? read("a:\n- 1\nb: 2\n"), .dict([("a", .list([.int(1)])), ("b", .int(2))]))
    }

    func testDepthLimit() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        assertError("a: " + deep, "t.yaml:1: nesting deeper than 64 levels")
        var block = ""
        for i in 0..<80 { block += String(repeating: " ", count: i * 2) + "k\(i):\n" }
        assertError(block, "t.yaml:66: nesting deeper than 64 levels")
        XCTAssertNoThrow(try read("a: " + String(repeating: "[", count: 30) + String(repeating: "]", count: 30)))
    }

    func testCommandLineValues() throws {
        func flow(_ s: String) throws -> Value { try YAMLReader.readFlowValue(s, label: "--x") }
        XCTAssertEqual(try flow("[[1,10,10,7]]"), .list([.list([.int(1), .int(10), .int(10), .int(7)])]))
        XCTAssertEqual(try flow("[1, 10, 10, 7]"), .list([.int(1), .int(10), .int(10), .int(7)]))
        XCTAssertEqual(try flow("true"), .bool(true))
        XCTAssertEqual(try flow("True"), .bool(true))
        XCTAssertEqual(try flow("null"), .null)
        XCTAssertEqual(try flow("1"), .int(1))
        XCTAssertEqual(try flow("-1"), .int(-1))
        XCTAssertEqual(try flow("2.5"), .float(2.5))
        XCTAssertEqual(try flow("mm/Qwen2-VL-7B"), .string("mm/Qwen2-VL-7B"))
        XCTAssertEqual(try flow("My Models/a: b #c"), .string("My Models/a: b #c"))
        XCTAssertEqual(try flow("'1'"), .string("1"))
        XCTAssertEqual(try flow("{a: 1}"), .dict([("a", .int(1))]))
        XCTAssertThrowsError(try flow("[[1,2]")) { XCTAssertEqual("\($0)", "--x:1: unclosed '[': expected ']' before the end of the text") }
    }
}
