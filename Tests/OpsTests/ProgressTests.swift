import XCTest
@testable import Ops

final class ProgressTests: XCTestCase {
    func testSizes() {
        XCTAssertEqual(Progress.size(512), "512 B")
        XCTAssertEqual(Progress.size(1536), "1.5 KiB")
        XCTAssertEqual(Progress.size(4_400_000_000), "4.1 GiB")
    }

    /// Saves report the tensor bytes they write; the final line has files, bytes and the time.
    func testSaveReportsFilesAndBytes() throws {
        var lines: [String] = []
        let p = Progress(label: "save", totalFiles: 2, totalBytes: 4096, mode: .log, sink: { lines.append($0) })
        OutputFile.progress = p
        defer { OutputFile.progress = nil }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for i in 0..<2 {
            let f = try OutputFile(creating: dir + "/\(i)")
            try f.write([1, 2, 3])  // header bytes are not tensor bytes
            try f.write(Tensor.zeros(.f32, [512]))
            try f.close()
            p.fileDone()
        }
        p.finish()
        XCTAssertTrue(lines.last?.hasPrefix("save: 2/2 files, 4.0 KiB / 4.0 KiB, ") ?? false, "\(lines)")
        XCTAssertTrue(lines.allSatisfy { $0.hasSuffix("\n") })
    }

    /// An HF save counts a shard as done once all the regions its workers write are done.
    func testHFSaveCountsShards() throws {
        var lines: [String] = []
        let tensors = TensorMap((0..<6).map { ("w\($0)", Tensor.zeros(.f32, [1024])) })
        let plan = try HFCheckpoint.plan(tensors, maxShardBytes: 3 * 4096)
        XCTAssertEqual(plan.shards.count, 2)
        let p = Progress(label: "save hf", totalFiles: 2, totalBytes: plan.totalSize, mode: .log, sink: { lines.append($0) })
        OutputFile.progress = p
        defer { OutputFile.progress = nil }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try HFCheckpoint.write(plan, to: dir, concurrentFiles: 2)
        p.finish()
        XCTAssertTrue(lines.last?.hasPrefix("save hf: 2/2 files, 24.0 KiB / 24.0 KiB, ") ?? false, "\(lines)")
    }

    /// On a terminal the line is redrawn in place (carriage return, erase line) and the last one
    /// ends the line; quiet prints nothing.
    func testLiveLineIsRedrawnAndQuietIsSilent() {
        var live: [String] = []
        let p = Progress(label: "save mm", totalFiles: 1, totalBytes: 2048, mode: .live, sink: { live.append($0) })
        p.add(bytes: 1024)
        p.fileDone()
        p.add(bytes: 1024)
        p.finish()
        XCTAssertTrue(live.first?.hasPrefix("\r\u{1B}[2Ksave mm: 0/1 files, 1.0 KiB / 2.0 KiB, ") ?? false, "\(live)")
        XCTAssertTrue(live.first?.contains(", ETA ") ?? false, "\(live)")
        XCTAssertTrue(live.last?.hasPrefix("\r\u{1B}[2Ksave mm: 1/1 files, 2.0 KiB / 2.0 KiB, ") ?? false, "\(live)")
        XCTAssertTrue(live.last?.hasSuffix(" s\n") ?? false, "\(live)")
        XCTAssertFalse(live.dropLast().contains { $0.hasSuffix("\n") }, "only the final line ends the line")

        var quiet: [String] = []
        let q = Progress(label: "save mm", totalFiles: 1, totalBytes: 2048, mode: .quiet, sink: { quiet.append($0) })
        q.add(bytes: 2048)
        q.fileDone()
        q.finish()
        XCTAssertEqual(quiet, [])
    }
}
