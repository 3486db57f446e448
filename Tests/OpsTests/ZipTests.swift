import Foundation
import XCTest
@testable import Ops

/// The zip writer's torch layout and zip64 paths (with a lowered threshold, so no 4 GiB file is
/// needed), read back by our reader.
final class ZipTests: XCTestCase {
    func path(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)-\(name)").path
    }

    func testZip64FieldsRoundTrip() throws {
        let keep = ProcessInfo.processInfo.environment["ZIP_TEST_KEEP"]
        let p = keep ?? path("z64.zip")
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: p) } }
        let out = try OutputFile(creating: p)
        let zip = ZipWriter(out, zip64Threshold: 100)
        let payloads: [(String, [UInt8])] = [("a/small", Array(repeating: 1, count: 10)), ("a/big", (0..<300).map { UInt8($0 & 0xFF) }),
                                             ("a/far", Array(repeating: 7, count: 5)), ("a/empty", [])]
        for (n, b) in payloads { try zip.addEntry(name: n, bytes: b) }
        try zip.finish()
        try out.close()
        let archive = try ZipArchive(path: p)
        XCTAssertEqual(archive.entries.map(\.name), payloads.map(\.0))
        for (n, b) in payloads {
            let e = archive.entry(named: n)!
            XCTAssertEqual(e.dataOffset % 64, 0, n)
            XCTAssertEqual(Array(try archive.data(e)), b, n)
            try archive.verifyCRC(e)
        }
        // The "far" entry's local header offset is past the threshold, so it lives in the zip64 extra.
        let far = archive.entry(named: "a/far")!
        XCTAssertGreaterThan(far.localHeaderOffset, 100)
        let raw = try ByteStore(mapping: p)
        let cd = try raw.bytes(at: 0, count: raw.count)
        XCTAssertEqual(Array(cd[far.localHeaderOffset..<(far.localHeaderOffset + 4)]), [0x50, 0x4B, 0x03, 0x04])
    }

    func testManyEntriesUseZip64Counts() throws {
        let p = path("many.zip")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let out = try OutputFile(creating: p)
        let zip = ZipWriter(out)
        for i in 0..<70_000 { try zip.addEntry(name: "e/\(i)", bytes: []) }
        try zip.finish()
        try out.close()
        let archive = try ZipArchive(path: p)
        XCTAssertEqual(archive.entries.count, 70_000)
        XCTAssertEqual(archive.entries.last?.name, "e/69999")
    }

    /// Local headers are read in one batch after the central directory: a bad one is still
    /// reported with its entry and offset, and data past the end with its extent.
    func testBadLocalHeaderNamesTheEntry() throws {
        let p = path("bad-local.zip")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let out = try OutputFile(creating: p)
        let zip = ZipWriter(out)
        for (n, b) in [("a/one", [UInt8](repeating: 1, count: 100)), ("a/two", [UInt8](repeating: 2, count: 100))] { try zip.addEntry(name: n, bytes: b) }
        try zip.finish()
        try out.close()
        let two = try ZipArchive(path: p).entry(named: "a/two")!
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: p)))
        let good = bytes
        bytes[two.localHeaderOffset] = 0x51
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try ZipArchive(path: p)) { error in
            XCTAssertEqual("\(error)", "\(p): zip entry 'a/two': no local header at offset \(two.localHeaderOffset) (bad central directory offset)")
        }
        // An extra field length that pushes the data past the end of the file.
        bytes = good
        bytes[two.localHeaderOffset + 28] = 0xFF
        bytes[two.localHeaderOffset + 29] = 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let moved = two.localHeaderOffset + 30 + 5 + 0xFFFF
        XCTAssertThrowsError(try ZipArchive(path: p)) { error in
            XCTAssertEqual("\(error)", "\(p): zip entry 'a/two' (100 bytes at offset \(moved)) extends past the end of the file (\(bytes.count) bytes): the file is truncated")
        }
    }
}
