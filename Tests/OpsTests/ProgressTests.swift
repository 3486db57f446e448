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
}
