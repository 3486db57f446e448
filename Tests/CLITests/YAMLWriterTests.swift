import XCTest
import Ops
@testable import CLI

final class YAMLWriterTests: XCTestCase {
    func testBlockMappingsFlowListsAndQuoting() {
        let v: Value = .dict([
            ("cfg", .dict([
                ("mm_dir", .string("mm/Qwen2-VL-7B")),
                ("parallel_config", .dict([
                    ("llm_pp_layers", .list([.list([.int(1), .int(10), .int(10), .int(7)])])),
                    ("tp_size", .int(1)),
                ])),
                ("empty", .dict([])),
                ("none", .null),
                ("flag", .bool(true)),
                ("ratio", .float(0.5)),
                ("whole", .float(2)),
                ("tiny", .float(1e-5)),
                ("numeric_string", .string("123")),
                ("bool_string", .string("true")),
                ("colon", .string("a: b")),
                ("hash", .string("a #b")),
                ("url", .string("http://x/y")),
                ("quote", .string("say \"hi\"\n")),
                ("blank", .string("")),
                ("names", .list([.string("a,b"), .string("plain"), .string("x: y"), .null])),
                ("map", .list([.dict([("k", .int(1))])])),
            ])),
        ])
        XCTAssertEqual(YAMLWriter.write(v), """
        cfg:
          mm_dir: mm/Qwen2-VL-7B
          parallel_config:
            llm_pp_layers: [[1, 10, 10, 7]]
            tp_size: 1
          empty: {}
          none: null
          flag: true
          ratio: 0.5
          whole: 2.0
          tiny: 1e-05
          numeric_string: "123"
          bool_string: "true"
          colon: "a: b"
          hash: "a #b"
          url: http://x/y
          quote: "say \\"hi\\"\\n"
          blank: ""
          names: ["a,b", plain, "x: y", null]
          map: [{k: 1}]

        """)
    }

    func testCommentsAndHeader() {
        let v: Value = .dict([("cfg", .dict([("tp_size", .int(2)), ("mm_dir", .string("out"))]))])
        let text = YAMLWriter.write(v, comments: ["cfg.tp_size": "LLM tensor-parallel size\nmust divide the heads"], header: "Qwen2VLConverter hf_to_mm")
        XCTAssertEqual(text, """
        # Qwen2VLConverter hf_to_mm
        cfg:
          # LLM tensor-parallel size
          # must divide the heads
          tp_size: 2
          mm_dir: out

        """)
    }

    func testScalarDocuments() {
        XCTAssertEqual(YAMLWriter.write(.list([.int(1)])), "[1]\n")
        XCTAssertEqual(YAMLWriter.write(.null), "null\n")
        XCTAssertEqual(YAMLWriter.write(.dict([])), "{}\n")
    }

    func testRoundTripOfAwkwardValues() throws {
        let strings = ["", " lead", "trail ", "-", "- x", "-x", "?", "? x", ":x", "a:", "#x", "a#b", "[x]", "{x}", "x,y",
                       "null", "Null", "~", "true", "False", "1", "-1", "0x1F", "1.5", "1e3", ".inf", "'q'", "\"q\"",
                       "tab\there", "line\nbreak", "back\\slash", "ünïcödé", "@at", "`tick", "%pct", "&amp", "*star", "!bang", "|", ">", "---", "...", "--- x",
                       "99999999999999999999"]
        let v: Value = .dict(strings.enumerated().map { ("k\($0.offset)", .string($0.element)) } + [
            ("list", .list(strings.map { .string($0) })),
            ("floats", .list([.float(0.1), .float(-2.5), .float(1e300), .float(.infinity), .float(-.infinity), .float(3)])),
            ("ints", .list([.int(Int.min), .int(Int.max), .int(0)])),
            ("nested", .list([.list([]), .dict([]), .dict([("a b", .int(1)), ("c: d", .int(2))])])),
            ("key: with colon", .int(1)), ("", .int(2)), ("true", .int(3)),
        ])
        let text = YAMLWriter.write(v)
        XCTAssertEqual(try YAMLReader.read(text, file: "rt.yaml"), v, text)
    }
}
