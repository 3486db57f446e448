import Foundation
import XCTest
@testable import Ops

final class JSONTests: XCTestCase {
    func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONError? {
        do {
            _ = try JSONReader.parse(text)
            XCTFail("expected an error for \(text)", file: file, line: line)
            return nil
        } catch let e as JSONError {
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testParsesValuesKeepingOrderAndIntegers() throws {
        let v = try JSONReader.parse(#" { "b": [1, -2, 3.0, 1e-06, 2E3, true, false, null], "a": {"x": "y\n\u00e9\ud83d\ude00\/"} } "#)
        XCTAssertEqual(v, .dict([
            ("b", .list([.int(1), .int(-2), .float(3.0), .float(1e-06), .float(2000), .bool(true), .bool(false), .null])),
            ("a", .dict([("x", .string("y\né😀/"))])),
        ]))
        guard case let .dict(pairs) = v else { return XCTFail() }
        XCTAssertEqual(pairs.map(\.0), ["b", "a"])
        XCTAssertEqual(try JSONReader.parse("9223372036854775807"), .int(Int.max))
        XCTAssertEqual(try JSONReader.parse("92233720368547758070"), .float(92233720368547758070.0))
        XCTAssertEqual(try JSONReader.parse("[]"), .list([]))
        XCTAssertEqual(try JSONReader.parse("-0"), .int(0))
        XCTAssertEqual(try JSONReader.parse("\"é\""), .string("é"))
        guard case let .float(nan) = try JSONReader.parse("NaN") else { return XCTFail() }
        XCTAssertTrue(nan.isNaN)
        XCTAssertEqual(try JSONReader.parse("[Infinity,-Infinity]"), .list([.float(.infinity), .float(-.infinity)]))
    }

    func testErrorsCarryLineColumnAndExpectation() {
        XCTAssertEqual(parseError("{\n  \"a\": 1,\n  \"b\" 2\n}")?.description,
                       "line 3, column 7: expected ':' after the key \"b\", found '2'")
        XCTAssertEqual(parseError("[1, 2,]")?.description, "line 1, column 7: expected a value, found ']'")
        XCTAssertEqual(parseError("{\"a\": 1,}")?.description, "line 1, column 9: expected a string key in double quotes, found '}'")
        XCTAssertEqual(parseError("{\"é\": 1 2}")?.description, "line 1, column 9: expected ',' or '}' in an object, found '2'")
        XCTAssertEqual(parseError("[1 2]")?.description, "line 1, column 4: expected ',' or ']' in a list, found '2'")
        XCTAssertEqual(parseError("{\"a\": 1, \"a\": 2}")?.description, "line 1, column 10: duplicate key \"a\"")
        XCTAssertEqual(parseError("{\"a\": 1, \"a\": 2}")?.duplicateKey, "a")
        XCTAssertEqual(parseError("\"abc")?.description, "line 1, column 1: unterminated string")
        XCTAssertEqual(parseError("\"a\tb\"")?.description, "line 1, column 3: control character 0x09 inside a string; write it as an escape")
        XCTAssertEqual(parseError("\"\\x\"")?.description, "line 1, column 2: invalid escape '\\x' in a string")
        XCTAssertEqual(parseError("\"\\ud83d\"")?.description, "line 1, column 2: unpaired UTF-16 surrogate \\ud83d")
        XCTAssertEqual(parseError("01")?.description, "line 1, column 1: numbers must not have leading zeros")
        XCTAssertEqual(parseError("1.")?.description, "line 1, column 3: expected a digit after '.', found the end of the input")
        XCTAssertEqual(parseError("-")?.description, "line 1, column 1: expected a digit after '-', found the end of the input")
        XCTAssertEqual(parseError("tru")?.description, "line 1, column 1: expected a value, found 't'")
        XCTAssertEqual(parseError("")?.description, "line 1, column 1: expected a value, found the end of the input")
        XCTAssertEqual(parseError("{} x")?.description, "line 1, column 4: expected the end of the document after the value, found 'x'")
        XCTAssertEqual(parseError("// c\n{}")?.description, "line 1, column 1: expected a value, found '/'")
        XCTAssertEqual(parseError("\u{FEFF}{}")?.description, "line 1, column 1: unexpected UTF-8 byte order mark; save the file without a BOM")
    }

    func testRejectsInvalidUTF8AndDeepNesting() {
        XCTAssertThrowsError(try JSONReader.parse([0x22, 0x61, 0xC3, 0x28, 0x22])) { e in
            XCTAssertEqual((e as? JSONError)?.description, "line 1, column 3: invalid UTF-8 byte 0xc3")
        }
        XCTAssertThrowsError(try JSONReader.parse([0x22, 0xED, 0xA0, 0x80, 0x22])) // encoded surrogate
        XCTAssertThrowsError(try JSONReader.parse([0x22, 0xC0, 0xAF, 0x22])) // overlong
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        XCTAssertEqual(parseError(deep)?.description, "line 1, column 129: nesting deeper than 128 levels")
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        XCTAssertNoThrow(try JSONReader.parse(ok))
        // Deep enough to overflow the stack without the limit.
        let veryDeep = String(repeating: "{\"a\":", count: 100_000)
        XCTAssertEqual(parseError(veryDeep)?.message, "nesting deeper than 128 levels")
    }

    /// Expected strings are Python 3.11's `json.dumps` output for the same values.
    func testWriterMatchesPython() {
        let floats: [Double] = [0.0, -0.0, 1.0, 0.1, 1e-06, 1e-05, 0.0001, 1.5e-05, 1e16, 1e15, 123456789.125, 1e22,
                                Double.leastNonzeroMagnitude, 1.7976931348623157e308, 0.01, 1000000.0, 2.5e-07, 3.14159, 1e100, 12345678901234567.0]
        XCTAssertEqual(JSONWriter().string(.list(floats.map { .float($0) })),
            "[0.0, -0.0, 1.0, 0.1, 1e-06, 1e-05, 0.0001, 1.5e-05, 1e+16, 1000000000000000.0, 123456789.125, 1e+22, 5e-324, 1.7976931348623157e+308, 0.01, 1000000.0, 2.5e-07, 3.14159, 1e+100, 1.2345678901234568e+16]")
        XCTAssertEqual(JSONWriter().string(.list([.float(.nan), .float(.infinity), .float(-.infinity)])), "[NaN, Infinity, -Infinity]")
        let doc = Value.dict([
            ("b", .list([.int(1), .dict([("x", .list([]))]), .dict([])])),
            ("a", .string("é\u{e9}😀\u{7f}\u{01}\t\"\\/")),
            ("c", .null), ("d", .bool(true)),
        ])
        XCTAssertEqual(JSONWriter(layout: .indented(2), sortKeys: true).string(doc), """
            {
              "a": "\\u00e9\\u00e9\\ud83d\\ude00\\u007f\\u0001\\t\\"\\\\/",
              "b": [
                1,
                {
                  "x": []
                },
                {}
              ],
              "c": null,
              "d": true
            }
            """)
        XCTAssertEqual(JSONWriter().string(.dict([("b", .list([.int(1), .int(2)])), ("a", .string("é"))])), #"{"b": [1, 2], "a": "\u00e9"}"#)
        // serde_json style: compact, UTF-8 kept, DEL kept, control characters escaped.
        XCTAssertEqual(JSONWriter(layout: .compact, ensureASCII: false).string(.dict([("é", .list([.int(1), .string("\u{7f}\u{1f}\n")]))])),
                       "{\"é\":[1,\"\u{7f}\\u001f\\n\"]}")
    }

    func testSortKeysUsesCodePoints() {
        // "é" (U+00E9) sorts after "z"; "😀" after "\u{FFFD}" by code point.
        let v = Value.dict([("😀", .int(1)), ("é", .int(2)), ("z", .int(3)), ("\u{FFFD}", .int(4)), ("Z", .int(5))])
        XCTAssertEqual(JSONWriter(layout: .compact, ensureASCII: false, sortKeys: true).string(v), "{\"Z\":5,\"z\":3,\"é\":2,\"\u{FFFD}\":4,\"😀\":1}")
    }

    func testRoundTripsFixtureConfigsByteForByte() throws {
        for name in ["qwen2vl/config.json", "qwen2vl/generation_config.json", "qwen2vl/tokenizer_config.json", "qwen2vl/model.safetensors.index.json",
                     "internvl_qwen2/config.json", "internvl_qwen2/model.safetensors.index.json"] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: STFixtures.hf + "/" + name)))
            let v = try JSONReader.parse(bytes)
            let sorted = name.hasSuffix("index.json")
            XCTAssertEqual(JSONWriter(layout: .indented(2), sortKeys: sorted).encode(v) + [0x0A], bytes, name)
        }
    }
}
