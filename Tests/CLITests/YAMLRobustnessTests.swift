import XCTest
import Ops
@testable import CLI

/// Random mixtures of YAML fragments must give a value or a YAMLError, never a trap; values that
/// parse must survive a write/read round trip.
final class YAMLRobustnessTests: XCTestCase {
    static let fragments = ["a", "b:", ": ", "- ", "-", "[", "]", "{", "}", ",", "#", " #c", "\"", "'", "\\", "\n", "\n  ", "\n    ",
                            "  ", "\t", "1", "-2", "0.5", "true", "null", "~", "---", "...", "&x", "*x", "!t", "|", ">", "?", "%",
                            "\r\n", "é", "x: [1, 2]", "k: {a: 1}", "\n- - 1", ":", "''", "\"\\u00e9\"", "\"\\q\""]

    func testRandomInputsNeverTrap() {
        var rng = SplitMix(seed: 42)
        var parsed = 0
        for _ in 0..<4000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 12) { text += Self.fragments[Int(rng.next() % UInt64(Self.fragments.count))] }
            do {
                let v = try YAMLReader.read(text, file: "fuzz.yaml")
                parsed += 1
                if !containsNaN(v) {
                    XCTAssertEqual(try? YAMLReader.read(YAMLWriter.write(v), file: "rt.yaml"), v, "input: \(text.debugDescription)")
                }
            } catch is YAMLError {
            } catch {
                XCTFail("unexpected error type \(error) for \(text.debugDescription)")
            }
            _ = try? YAMLReader.readFlowValue(text, label: "--x")
        }
        XCTAssertGreaterThan(parsed, 100)
    }

    func containsNaN(_ v: Value) -> Bool {
        switch v {
        case let .float(d): return d.isNaN
        case let .list(l): return l.contains(where: containsNaN)
        case let .dict(p): return p.contains { containsNaN($0.1) }
        default: return false
        }
    }
}

typealias SplitMix = SplitMix64
