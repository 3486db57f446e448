import Foundation
import XCTest
@testable import CLI
import Ops

/// Shared by the DCP converter tests: a command that must succeed, and a file-by-file comparison
/// of two directories.
extension XCTestCase {
    @discardableResult
    func runOK(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> CLIRun {
        let r = CLIRun(args + ["--quiet"])
        XCTAssertEqual(r.status, 0, r.errText, file: file, line: line)
        return r
    }

    /// Every file of `a` is in `b` with the same bytes, and `b` has no other file.
    func assertSameFileBytes(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fm = FileManager.default
        let left = try fm.contentsOfDirectory(atPath: a).sorted(), right = try fm.contentsOfDirectory(atPath: b).sorted()
        XCTAssertEqual(left, right, "files of \(b)", file: file, line: line)
        for name in left where right.contains(name) {
            XCTAssertEqual(fm.contents(atPath: a + "/" + name), fm.contents(atPath: b + "/" + name), name, file: file, line: line)
        }
    }
}
