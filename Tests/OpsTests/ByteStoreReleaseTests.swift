import XCTest
@testable import Ops

/// Released ranges of a mapped input are handed to the kernel in batches; the bytes stay
/// readable (a released page is read back from the file) and batches join touching ranges.
final class ByteStoreReleaseTests: XCTestCase {
    func testMergedJoinsOverlappingAndTouchingRanges() {
        XCTAssertEqual(ReleaseBatches.merged([10..<20, 0..<5, 5..<8, 15..<30, 40..<41]), [0..<8, 10..<30, 40..<41])
        XCTAssertEqual(ReleaseBatches.merged([]), [])
        XCTAssertEqual(ReleaseBatches.merged([3..<4, 3..<4]), [3..<4])
    }

    /// Two workers walking regions 32 MB apart (the two EP halves of a fused expert tensor):
    /// each region fills its own batch, released once per 8 MB of span, not on every call.
    func testInterleavedRegionsAreBatchedSeparately() {
        var b = ReleaseBatches()
        let piece = 64 << 10, apart = 32 << 20, steps = 256   // 16 MB walked in each region
        var released: [[Range<Int>]] = []
        for k in 0..<steps {
            for base in [0, apart] {
                let due = b.add((base + k * piece)..<(base + (k + 1) * piece))
                if !due.isEmpty { released.append(due) }
            }
        }
        // 16 MB per region in batches of 8 MB span: 2 releases per region, each one merged range.
        XCTAssertEqual(released.count, 4)
        XCTAssertTrue(released.allSatisfy { $0.count == 1 && $0[0].count == ReleaseBatches.batchSpan })
        XCTAssertEqual(b.waiting, [], "the walks ended exactly on batch boundaries")
        XCTAssertEqual(ReleaseBatches.merged(released.flatMap { $0 }), [0..<(16 << 20), apart..<(apart + (16 << 20))])
    }

    /// Small ranges scattered far apart (a Wan block's norms among its large weights) never hold
    /// more than `maxBatches` regions: a new region releases the oldest.
    func testScatteredRangesKeepAtMostMaxBatchesOpen() {
        var b = ReleaseBatches()
        let gap = 64 << 20
        var released: [Range<Int>] = []
        for k in 0..<(ReleaseBatches.maxBatches + 3) {
            released += b.add((k * gap)..<(k * gap + 4096))
        }
        XCTAssertEqual(released, (0..<3).map { ($0 * gap)..<($0 * gap + 4096) })
        XCTAssertEqual(b.waiting.count, ReleaseBatches.maxBatches)
    }

    /// A batch also closes at `batchRanges` ranges, however small its span; ranges less than
    /// `joinGap` apart (one TP rank's row slices of consecutive experts) go in one call.
    func testManyRangesInOneSpanCloseTheBatchAsOneRange() {
        var b = ReleaseBatches()
        var due: [Range<Int>] = []
        for k in 0..<ReleaseBatches.batchRanges { due = b.add((k * 16 << 10)..<((k * 16 + 8) << 10)) }
        XCTAssertEqual(due, [0..<(((ReleaseBatches.batchRanges - 1) * 16 + 8) << 10)])
        XCTAssertEqual(b.waiting, [])
        XCTAssertEqual(ReleaseBatches.merged([0..<10, 20..<30, (40 + ReleaseBatches.joinGap)..<(50 + ReleaseBatches.joinGap)], joiningGapsBelow: ReleaseBatches.joinGap),
                       [0..<30, (40 + ReleaseBatches.joinGap)..<(50 + ReleaseBatches.joinGap)])
    }

    func testReleasedBytesReadBackUnchanged() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("data.bin").path
        let block = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let blocks = 3 * ReleaseBatches.batchSpan / 2 / block.count
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
