import Foundation
import XCTest
@testable import Ops

/// `readSmall(at:length:)` reads many small ranges (zip local headers) from a mapped file,
/// cached ones without waiting and the rest after: the bytes must be the file's whether its
/// pages are cached or not, and a range past the end is refused naming the file.
final class ByteStoreScatteredReadTests: XCTestCase {
    let size = 4 << 20
    func byte(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 11) }

    func withFile(_ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scatter-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let out = try OutputFile(creating: path)
        try out.write((0..<size).map(byte))
        try out.close()
        try body(path)
    }

    /// Offsets at the start, across a page boundary, in the middle and at the very end.
    var offsets: [Int] { [0, 4096 - 7, 1 << 20, (3 << 20) + 123, size - 30] }
    func expected(_ length: Int) -> [UInt8] { offsets.flatMap { o in (o..<(o + length)).map(byte) } }

    func testReadsTheFileBytesCachedAndUncached() throws {
        try withFile { path in
            let store = try ByteStore(mapping: path)
            XCTAssertEqual(try store.readSmall(at: offsets, length: 30), expected(30))
            // Drop the file's pages (they are clean after close's sync): every read now misses
            // the cache first, where the kernel supports asking.
            let fd = open(path, O_RDONLY)
            XCTAssertEqual(posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED)), 0)
            close(fd)
            XCTAssertEqual(try store.readSmall(at: offsets, length: 30), expected(30))
            XCTAssertEqual(try store.readSmall(at: [], length: 30), [])
        }
    }

    func testWindowReadsAreRelativeToTheWindow() throws {
        try withFile { path in
            let window = try ByteStore(slice: try ByteStore(mapping: path), offset: 1000, count: 2 << 20, name: "window")
            XCTAssertEqual(try window.readSmall(at: [0, 5000], length: 8), [0, 5000].flatMap { o in ((o + 1000)..<(o + 1008)).map(byte) })
        }
    }

    func testHeapStoreReadsItsBuffer() throws {
        let store = ByteStore(bytes: (0..<100).map(byte), name: "heap")
        XCTAssertEqual(try store.readSmall(at: [70, 3], length: 30), (70..<100).map(byte) + (3..<33).map(byte))
    }

    func testRangePastTheEndIsRefusedNamingTheFile() throws {
        try withFile { path in
            let store = try ByteStore(mapping: path)
            XCTAssertThrowsError(try store.readSmall(at: [0, size - 10], length: 30)) { error in
                XCTAssertEqual("\(error)", "\(path): read of 30 bytes at offset \(size - 10) is past the end of the file (\(size) bytes)")
            }
        }
    }
}
