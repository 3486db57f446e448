import XCTest
@testable import Ops

/// Helpers for the transform / parallel / pattern tests: small i32 tensors whose element orders
/// read back as numbers, and a seeded generator for property tests.
enum TF {
    static func tensor(_ values: [Int32], _ shape: [Int]) throws -> Tensor {
        precondition(values.count == shape.reduce(1, *))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        return try Tensor.fromBytes(bytes, dtype: .i32, shape: shape)
    }

    /// `start, start+1, ...` in the given shape.
    static func iota(_ shape: [Int], from start: Int32 = 0) throws -> Tensor {
        let n = shape.reduce(1, *)
        return try tensor((0..<n).map { start + Int32($0) }, shape)
    }

    static func values(_ t: Tensor) throws -> [Int32] {
        precondition(t.dtype == .i32)
        let b = try t.materialize()
        return stride(from: 0, to: b.count, by: 4).map { i in
            Int32(littleEndian: b[i..<i + 4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
        }
    }

    static func map(_ pairs: [(String, Tensor)]) -> TensorMap { TensorMap(pairs) }

    /// Same names in the same order, same dtypes, shapes and bytes.
    static func assertIdentical(_ a: TensorMap, _ b: TensorMap, ordered: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        if ordered {
            XCTAssertEqual(a.names, b.names, "names / order differ", file: file, line: line)
        } else {
            XCTAssertEqual(Set(a.names), Set(b.names), "names differ", file: file, line: line)
        }
        for n in a.names {
            guard let x = a[n], let y = b[n] else { continue }
            XCTAssertEqual(x.dtype, y.dtype, "\(n) dtype", file: file, line: line)
            XCTAssertEqual(x.shape, y.shape, "\(n) shape", file: file, line: line)
            let same = try x.materialize() == y.materialize()
            XCTAssertTrue(same, "\(n) bytes differ", file: file, line: line)
        }
    }

    /// The error text of a throwing call (fails the test if it does not throw).
    static func errorText(file: StaticString = #filePath, line: UInt = #line, _ f: () throws -> Void) -> String {
        do { try f() } catch { return "\(error)" }
        XCTFail("expected an error", file: file, line: line)
        return ""
    }
}

typealias SeededRNG = SplitMix64
