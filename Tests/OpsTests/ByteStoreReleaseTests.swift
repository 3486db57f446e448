import XCTest
@testable import Ops

/// Released ranges of a mapped input are handed to the kernel in batches; the bytes stay
/// readable (a released page is read back from the file) and batches join touching ranges.
final class ByteStoreReleaseTests: XCTestCase {
    func testMergedJoinsOverlappingAndTouchingRanges() {
        XCTAssertEqual(ByteStore.merged([10..<20, 0..<5, 5..<8, 15..<30, 40..<41]), [0..<8, 10..<30, 40..<41])
        XCTAssertEqual(ByteStore.merged([]), [])
        XCTAssertEqual(ByteStore.merged([3..<4, 3..<4]), [3..<4])
    }

    func testReleasedBytesReadBackUnchanged() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("data.bin").path
        let block = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let blocks = 3 * ByteStore.releaseBatchBytes / 2 / block.count
        var data = Data()
        for k in 0..<blocks { data.append(contentsOf: block); data[data.count - 1] = UInt8(k) }
        FileManager.default.createFile(atPath: path, contents: data)
        let store = try ByteStore(mapping: path)
        // Small ranges adding up to more than one batch, then one large range over everything.
        for k in 0..<(blocks * 16) {
            XCTAssertEqual(store.base.load(fromByteOffset: k * 65_536 + 7, as: UInt8.self), block[(k % 16) * 65_536 + 7])
            store.release(offset: k * 65_536, count: 65_536)
        }
        store.release(offset: 0, count: store.count)
        for k in 0..<blocks {
            data.withUnsafeBytes { d in
                XCTAssertEqual(memcmp(store.base + k * block.count, d.baseAddress! + k * block.count, block.count), 0, "block \(k)")
            }
        }
    }
}
