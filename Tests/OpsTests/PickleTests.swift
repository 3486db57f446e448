import Foundation
import XCTest
@testable import Ops

/// The pickle interpreter and writer against bytes produced by CPython 3.11's pickle module.
final class PickleTests: XCTestCase {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// `pickle.dumps(val, protocol=p)` for p = 0...5 of
    /// {"s": {1, 2}, "f": frozenset({3}), "od": OrderedDict([("k", 1)]), "ns": argparse.Namespace(x=1),
    ///  "l": [2**64, -2**63], "fl": -0.5, "str": "it's", "by": b"\x00\x01"}
    static let protocols: [String] = [
        "286470300a56730a70310a635f5f6275696c74696e5f5f0a7365740a70320a28286c70330a49310a6149320a617470340a5270350a7356660a70360a635f5f6275696c74696e5f5f0a66726f7a656e7365740a70370a28286c70380a49330a617470390a527031300a73566f640a7031310a63636f6c6c656374696f6e730a4f726465726564446963740a7031320a2874527031330a566b0a7031340a49310a7373566e730a7031350a63636f70795f7265670a5f7265636f6e7374727563746f720a7031360a286361726770617273650a4e616d6573706163650a7031370a635f5f6275696c74696e5f5f0a6f626a6563740a7031380a4e747031390a527032300a28647032310a56780a7032320a49310a736273566c0a7032330a286c7032340a4c31383434363734343037333730393535313631364c0a614c2d393232333337323033363835343737353830384c0a617356666c0a7032350a462d302e350a73567374720a7032360a56697427730a7032370a735662790a7032380a635f636f646563730a656e636f64650a7032390a28565c7530303030010a7033300a566c6174696e310a7033310a747033320a527033330a732e",
        "7d7100285801000000737101635f5f6275696c74696e5f5f0a7365740a7102285d7103284b014b02657471045271055801000000667106635f5f6275696c74696e5f5f0a66726f7a656e7365740a7107285d71084b036174710952710a58020000006f64710b63636f6c6c656374696f6e730a4f726465726564446963740a710c2952710d58010000006b710e4b017358020000006e73710f63636f70795f7265670a5f7265636f6e7374727563746f720a7110286361726770617273650a4e616d6573706163650a7111635f5f6275696c74696e5f5f0a6f626a6563740a71124e7471135271147d711558010000007871164b01736258010000006c71175d7118284c31383434363734343037333730393535313631364c0a4c2d393232333337323033363835343737353830384c0a655802000000666c711947bfe00000000000005803000000737472711a580400000069742773711b58020000006279711c635f636f646563730a656e636f64650a711d2858020000000001711e58060000006c6174696e31711f747120527121752e",
        "80027d7100285801000000737101635f5f6275696c74696e5f5f0a7365740a71025d7103284b014b02658571045271055801000000667106635f5f6275696c74696e5f5f0a66726f7a656e7365740a71075d71084b036185710952710a58020000006f64710b63636f6c6c656374696f6e730a4f726465726564446963740a710c2952710d58010000006b710e4b017358020000006e73710f6361726770617273650a4e616d6573706163650a7110298171117d711258010000007871134b01736258010000006c71145d7115288a090000000000000000018a080000000000000080655802000000666c711647bfe0000000000000580300000073747271175804000000697427737118580200000062797119635f636f646563730a656e636f64650a711a58020000000001711b58060000006c6174696e31711c86711d52711e752e",
        "80037d7100285801000000737101636275696c74696e730a7365740a71025d7103284b014b02658571045271055801000000667106636275696c74696e730a66726f7a656e7365740a71075d71084b036185710952710a58020000006f64710b63636f6c6c656374696f6e730a4f726465726564446963740a710c2952710d58010000006b710e4b017358020000006e73710f6361726770617273650a4e616d6573706163650a7110298171117d711258010000007871134b01736258010000006c71145d7115288a090000000000000000018a080000000000000080655802000000666c711647bfe000000000000058030000007374727117580400000069742773711858020000006279711943020001711a752e",
        "800495b4000000000000007d94288c0173948f94284b014b02908c016694284b0391948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01738c026e73948c086172677061727365948c094e616d6573706163659493942981947d948c0178944b0173628c016c945d94288a090000000000000000018a080000000000000080658c02666c9447bfe00000000000008c03737472948c0469742773948c026279944302000194752e",
        "800595b4000000000000007d94288c0173948f94284b014b02908c016694284b0391948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01738c026e73948c086172677061727365948c094e616d6573706163659493942981947d948c0178944b0173628c016c945d94288a090000000000000000018a080000000000000080658c02666c9447bfe00000000000008c03737472948c0469742773948c026279944302000194752e",
    ]

    func testEveryProtocolDecodesTheSameValue() throws {
        for (p, hex) in PickleTests.protocols.enumerated() {
            let v = try PickleReader.read(PickleTests.bytes(hex), path: "protocol\(p)")
            XCTAssertEqual(v["s"]?.description, "{1, 2}", "protocol \(p)")
            XCTAssertEqual(v["f"]?.description, "frozenset({3})", "protocol \(p)")
            guard case let .orderedDict(od, _)? = v["od"] else { XCTFail("protocol \(p): od"); continue }
            XCTAssertEqual(od["k"]?.intValue, 1)
            guard case let .object(ns)? = v["ns"] else { XCTFail("protocol \(p): ns"); continue }
            if p >= 2 {
                XCTAssertEqual(ns.className, "argparse.Namespace")
            } else {
                XCTAssertEqual(ns.className, "copy_reg._reconstructor")
                XCTAssertEqual(ns.args.first?.description, "argparse.Namespace")
            }
            XCTAssertEqual(ns.attributes?["x"]?.intValue, 1, "protocol \(p)")
            guard case let .list(l)? = v["l"], case let .bigInt(big) = l[0] else { XCTFail("protocol \(p): l"); continue }
            XCTAssertEqual(big, [0, 0, 0, 0, 0, 0, 0, 0, 1], "protocol \(p)")
            XCTAssertEqual(l[1].intValue, Int.min, "protocol \(p)")
            XCTAssertEqual(v["fl"]?.description, "-0.5")
            XCTAssertEqual(v["str"]?.stringValue, "it's")
            guard case let .bytes(by)? = v["by"] else { XCTFail("protocol \(p): by"); continue }
            XCTAssertEqual(by, [0, 1], "protocol \(p)")
        }
    }

    /// `pickle.dumps(obj, protocol=2)` of a dict of Python scalars and containers: our writer
    /// produces exactly CPython's bytes.
    func testWriterMatchesCPythonProtocol2() throws {
        let expected = "80027d71002858010000006171014b0158010000006271025d7103284b014740040000000000004e88895801000000787104655801000000637105284b014b024b034b047471065802000000743171074b07857108580300000062696771098a0900000000000000004058030000006e6567710a4ad4feffff58010000006e710b8a05000efad5fe58010000006d710c4dffff58010000006b710d4a7011010058050000006279746573710e635f636f646563730a656e636f64650a710f58040000006162c3bf711058060000006c6174696e3171118671125271135805000000656d7074797114635f5f6275696c74696e5f5f0a62797465730a71152952711658060000006e657374656471177d71182858010000007171195d711a285d711b7d711c65580100000075711d5805000000c3a9e4b8ad711e75580100000065711f29752e"
        let value = PickleValue.dict(PickleDict(strings: [
            ("a", .int(1)), ("b", .list([.int(1), .float(2.5), .none, .bool(true), .bool(false), .string("x")])),
            ("c", .tuple([.int(1), .int(2), .int(3), .int(4)])), ("t1", .tuple([.int(7)])),
            ("big", .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0x40])), ("neg", .int(-300)), ("n", .int(-5_000_000_000)),
            ("m", .int(65535)), ("k", .int(70000)), ("bytes", .bytes([0x61, 0x62, 0xFF])), ("empty", .bytes([])),
            ("nested", .dict(PickleDict(strings: [("q", .list([.list([]), .dict(PickleDict())])), ("u", .string("\u{e9}\u{4e2d}"))]))),
            ("e", .tuple([])),
        ]))
        let (bytes, storages) = try PickleWriter.pickle(value)
        XCTAssertTrue(storages.isEmpty)
        XCTAssertEqual(bytes.map { String(format: "%02x", $0) }.joined(), expected)
        // And it reads back to the same description.
        XCTAssertEqual(try PickleReader.read(bytes).description, value.description)
    }

    /// Objects the reader does not interpret are written back so they decode identically.
    func testInertObjectsRoundTrip() throws {
        for hex in PickleTests.protocols {
            let v = try PickleReader.read(PickleTests.bytes(hex))
            let again = try PickleReader.read(PickleWriter.pickle(v).bytes)
            XCTAssertEqual(again.description, v.description)
            guard case let .object(a)? = v["ns"], case let .object(b)? = again["ns"] else { return XCTFail("ns") }
            XCTAssertEqual(a.className, b.className)
            XCTAssertEqual(a.attributes?["x"]?.intValue, b.attributes?["x"]?.intValue)
        }
    }

    func testEncodeLongMatchesPython() {
        XCTAssertEqual(PickleWriter.encodeLong(-5_000_000_000), [0x00, 0x0E, 0xFA, 0xD5, 0xFE])
        XCTAssertEqual(PickleWriter.encodeLong(Int.min), [0, 0, 0, 0, 0, 0, 0, 0x80])
        XCTAssertEqual(PickleWriter.encodeLong(Int.max), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        XCTAssertEqual(PickleWriter.encodeLong(-128), [0x80])
        XCTAssertEqual(PickleWriter.encodeLong(255), [0xFF, 0x00])
    }

    func testStackOpcodesAndLimits() throws {
        // MARK 1 2 POP_MARK, 3 DUP TUPLE2 -> (3, 3); POP of an extra None.
        let v = try PickleReader.read([0x80, 0x02, 0x28, 0x4B, 1, 0x4B, 2, 0x31, 0x4B, 3, 0x32, 0x86, 0x4E, 0x30, 0x2E])
        XCTAssertEqual(v.description, "(3, 3)")
        // Protocol 0 text: INT 01 is True, negative LONG beyond Int.
        XCTAssertEqual(try PickleReader.read(Array("I01\n.".utf8)).description, "True")
        guard case let .bigInt(b) = try PickleReader.read(Array("L-18446744073709551616L\n.".utf8)) else { return XCTFail() }
        XCTAssertEqual(b, [0, 0, 0, 0, 0, 0, 0, 0, 0xFF])
        // No STOP.
        XCTAssertThrowsError(try PickleReader.read([0x80, 0x02, 0x4E])) { XCTAssertTrue("\($0)".contains("without a STOP"), "\($0)") }
        // Stack underflow.
        XCTAssertThrowsError(try PickleReader.read([0x80, 0x02, 0x61, 0x2E])) { XCTAssertTrue("\($0)".contains("stack underflow"), "\($0)") }
        // Too many marks.
        var limits = PickleReader.Limits()
        limits.maxMarks = 10
        XCTAssertThrowsError(try PickleReader.read([0x80, 0x02] + [UInt8](repeating: 0x28, count: 11), limits: limits)) {
            XCTAssertTrue("\($0)".contains("more than 10 nested MARKs"), "\($0)")
        }
        // Memo growth is bounded.
        limits = PickleReader.Limits()
        limits.maxMemo = 4
        var memoAbuse: [UInt8] = [0x80, 0x02, 0x4E]
        for i in 0..<5 { memoAbuse += [0x71, UInt8(i)] }
        XCTAssertThrowsError(try PickleReader.read(memoAbuse + [0x2E], limits: limits)) { XCTAssertTrue("\($0)".contains("memo exceeds 4"), "\($0)") }
        // A global is never executed: os.system stays an inert object.
        let call = try PickleReader.read(Array("cos\nsystem\n(S'echo hi'\ntR.".utf8))
        guard case let .object(o) = call else { return XCTFail() }
        XCTAssertEqual(o.className, "os.system")
        XCTAssertEqual(o.args.first?.stringValue, "echo hi")
    }

    /// Nesting up to the limit reads and writes back (no recursion trouble); one more level fails.
    func testNestingAtTheLimit() throws {
        func nested(_ n: Int) -> [UInt8] { [0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E] }
        let v = try PickleReader.read(nested(500))
        let again = try PickleReader.read(PickleWriter.pickle(v).bytes)
        var depth = 0
        var cur = again
        while case let .list(l) = cur, let first = l.first { depth += 1; cur = first }
        XCTAssertEqual(depth, 499)
        XCTAssertThrowsError(try PickleReader.read(nested(502))) { XCTAssertTrue("\($0)".contains("nested deeper than 500"), "\($0)") }
    }

    /// A few bytes can describe a tree of 2^60 nodes through the memo; reading stays linear and
    /// describing or walking it stays bounded.
    func testExponentialSharingStaysBounded() throws {
        var b: [UInt8] = [0x80, 0x02, 0x4E, 0x71, 0]
        for i in 0..<60 { b += [0x68, UInt8(i), 0x68, UInt8(i), 0x86, 0x71, UInt8(i + 1)] }
        b.append(0x2E)
        let v = try PickleReader.read(b)
        XCTAssertLessThan(v.description.count, 5000)
        XCTAssertEqual(v.tensors(maxNodes: 1000).count, 0)
    }
}
