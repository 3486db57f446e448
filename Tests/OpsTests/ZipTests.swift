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
}
