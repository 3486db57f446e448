import XCTest
@testable import Ops
import CarryLessCRC

final class TensorTests: XCTestCase {
    /// A contiguous i32 tensor holding 0, 1, 2, ... so element orders can be read back as numbers.
    func iota(_ shape: [Int]) throws -> Tensor {
        let n = shape.reduce(1, *)
        var bytes: [UInt8] = []
        for i in 0..<n { withUnsafeBytes(of: Int32(i).littleEndian) { bytes += $0 } }
        return try Tensor.fromBytes(bytes, dtype: .i32, shape: shape)
    }

    func values(_ t: Tensor) throws -> [Int32] {
        let b = try t.materialize()
        return stride(from: 0, to: b.count, by: 4).map { i in
            Int32(littleEndian: b[i..<i + 4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
        }
    }

    func testSliceTransposeConcat() throws {
        let t = try iota([3, 4])
        XCTAssertEqual(try values(t.slice(dim: 1, start: 1, count: 2)), [1, 2, 5, 6, 9, 10])
        XCTAssertEqual(try values(t.transposed()), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        let c = try Tensor.concat([t, t.slice(dim: 1, start: 0, count: 1)], dim: 1)
        XCTAssertEqual(c.shape, [3, 5])
        XCTAssertEqual(try values(c), [0, 1, 2, 3, 0, 4, 5, 6, 7, 4, 8, 9, 10, 11, 8])
        XCTAssertEqual(try values(c.slice(dim: 1, start: 3, count: 2)), [3, 0, 7, 4, 11, 8])
        XCTAssertEqual(try values(c.transposed().slice(dim: 0, start: 4, count: 1)), [0, 4, 8])
        let z = try Tensor.concat([Tensor.zeros(.i32, [1, 4]), t], dim: 0)
        XCTAssertEqual(try values(z.slice(dim: 0, start: 0, count: 2)), [0, 0, 0, 0, 0, 1, 2, 3])
    }

    func testReshapeAndCast() throws {
        let t = try iota([2, 6])
        XCTAssertEqual(try values(t.reshaped([3, 4]).slice(dim: 0, start: 2, count: 1)), [8, 9, 10, 11])
        XCTAssertThrowsError(try t.transposed().reshaped([12]))
        let f = try Tensor.fromBytes([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0], dtype: .f32, shape: [2])
        XCTAssertEqual(try f.cast(to: .bf16).materialize(), [0x80, 0x3f, 0x00, 0xc0])
        XCTAssertEqual(try f.cast(to: .bf16).cast(to: .f32).materialize(), try f.materialize())
    }

    func testCRC32() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    }

    /// CRC-32 one bit at a time: the definition the fast paths are checked against.
    func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    /// Runs `body` with the table path, and again with carry-less folding where the CPU has it.
    func forEachCRCPath(_ body: () -> Void) {
        let saved = CRC32.folding
        defer { CRC32.folding = saved }
        for folding in CRC32.Folding.available {
            CRC32.folding = folding
            body()
        }
    }

    /// A CPU that has PCLMULQDQ gets a folding path, one with VPCLMULQDQ and AVX-512 the wide
    /// one (it is the hot loop of every .pt written).
    func testCRC32FoldsWhereTheCPUCan() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        try XCTSkipUnless(cpuinfo.contains(" pclmulqdq") && cpuinfo.contains(" sse4_1"), "no PCLMULQDQ here")
        let wide = [" vpclmulqdq", " avx512f", " avx512vl"].allSatisfy(cpuinfo.contains)
        XCTAssertEqual(CRC32.folding, wide ? .wide : .sse)
        XCTAssertEqual(CRC32.Folding.available, wide ? [.none, .sse, .wide] : [.none, .sse])
    }

    /// The fast paths against a bit-at-a-time reference, at every length, alignment and
    /// split point of a pseudo-random buffer.
    func testCRC32MatchesBitwiseReference() {
        forEachCRCPath { checkAgainstReference() }
    }

    func checkAgainstReference() {
        var rng = SplitMix64(seed: 7)
        let data = (0..<600).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for start in 0..<5 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = data[start..<end]
                XCTAssertEqual(CRC32.checksum(Array(slice)), reference(slice), "bytes \(start)..<\(end)")
                let mid = (start + end) / 2
                var split = CRC32()
                Array(data[start..<mid]).withUnsafeBytes { split.update($0) }
                Array(data[mid..<end]).withUnsafeBytes { split.update($0) }
                XCTAssertEqual(split.value, reference(slice), "bytes \(start)..<\(end) split at \(mid)")
            }
        }
    }

    /// Large inputs take the three-stream path: every length around its threshold and remainder,
    /// at odd alignment, and the combination of two CRCs, against the bitwise reference.
    func testCRC32ThreeStreamsAndCombine() {
        forEachCRCPath { checkLargeInputs() }
    }

    func checkLargeInputs() {
        var rng = SplitMix64(seed: 11)
        let data = (0..<70_001).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let m = CRC32.threeWayMinimum
        for n in [m - 1, m, m + 1, m + 15, m + 16, m + 47, 3 * m + 5, 70_000] {
            let slice = data[1..<(1 + n)]
            XCTAssertEqual(CRC32.checksum(Array(slice)), reference(slice), "length \(n)")
            var running = CRC32()
            Array(data[0..<1]).withUnsafeBytes { running.update($0) }
            Array(slice).withUnsafeBytes { running.update($0) }
            XCTAssertEqual(running.value, reference(data[0..<(1 + n)]), "length \(n) after one byte")
        }
        for (a, b) in [(0, 0), (0, 5), (7, 0), (100, 3), (5000, 20_001), (1, 65_000)] {
            let first = data[0..<a], second = data[a..<(a + b)]
            XCTAssertEqual(CRC32.combine(reference(first), reference(second), length: b), reference(data[0..<(a + b)]), "\(a) + \(b)")
        }
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownDigests() throws {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = [UInt8](repeating: 0x61, count: 1000)
        var s = SHA256()
        s.update(Array(long[0..<3])); s.update(Array(long[3...]))
        XCTAssertEqual(s.hexDigest(), SHA256.hex(long))
        XCTAssertEqual(try Tensor.zeros(.u8, [1000]).sha256(), SHA256.hex([UInt8](repeating: 0, count: 1000)))
    }
}
