import Foundation
import XCTest
@testable import Ops

/// AtomicOutput in process: complete or nothing, refusal and replacement of existing targets, and
/// the signal cleanup's registrations (the signal path itself is exercised by the CLI's
/// SafetyOutputTests on a child process).
final class AtomicOutputTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    func testWriteAppearsOnlyWhenComplete() throws {
        let target = tmp.appendingPathComponent("deep/er/out").path
        let result: String = try AtomicOutput.write(to: target, force: false) { t in
            XCTAssertTrue(t.hasSuffix("/.out.mm-convert-tmp-\(getpid())"), t)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target))
            XCTAssertTrue(CleanupOnSignal.shared.locked { CleanupOnSignal.shared.paths.contains(t) })
            try CheckpointFiles.writeFile([1, 2, 3], to: t + "/a.bin")
            return t
        }
        XCTAssertEqual(entries(target), ["a.bin"])
        XCTAssertEqual(entries(tmp.appendingPathComponent("deep/er").path), ["out"])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int, 0o750)
        XCTAssertFalse(CleanupOnSignal.shared.locked { CleanupOnSignal.shared.paths.contains(result) })
    }

    /// Inside an atomic write, closed files are synced at the commit, not one by one; at most
    /// `DeferredSync.limit` wait (the oldest is synced first); outside, `close` syncs at once.
    func testFileSyncsWaitForTheCommit() throws {
        let target = tmp.appendingPathComponent("out").path
        let n = DeferredSync.limit + 2
        try AtomicOutput.write(to: target, force: false) { t in
            for k in 0..<n {
                let f = try OutputFile(creating: t + "/f\(k).bin")
                try f.write([UInt8(k), 1, 2])
                try f.close()
            }
            XCTAssertEqual(DeferredSync.pendingPaths, (2..<n).map { t + "/f\($0).bin" })
        }
        XCTAssertEqual(DeferredSync.pendingPaths, [])
        XCTAssertEqual(entries(target).count, n)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target + "/f5.bin")), Data([5, 1, 2]))
        let outside = try OutputFile(creating: tmp.appendingPathComponent("plain.bin").path)
        try outside.close()
        XCTAssertEqual(DeferredSync.pendingPaths, [])
    }

    func testFailureDropsTheWaitingFiles() throws {
        let target = tmp.appendingPathComponent("out").path
        XCTAssertThrowsError(try AtomicOutput.write(to: target, force: false) { t -> Void in
            let f = try OutputFile(creating: t + "/a.bin")
            try f.close()
            XCTAssertEqual(DeferredSync.pendingPaths.count, 1)
            throw OpsError.invalid("boom")
        })
        XCTAssertEqual(DeferredSync.pendingPaths, [])
        XCTAssertEqual(entries(tmp.path), [])
    }

    func testFailureLeavesNothing() throws {
        let target = tmp.appendingPathComponent("out").path
        XCTAssertThrowsError(try AtomicOutput.write(to: target, force: false) { t -> Void in
            try CheckpointFiles.writeFile([1], to: t + "/half.bin")
            throw OpsError.invalid("boom")
        }) { XCTAssertEqual($0 as? OpsError, .invalid("boom")) }
        XCTAssertEqual(entries(tmp.path), [])
        XCTAssertTrue(CleanupOnSignal.shared.locked { CleanupOnSignal.shared.paths.isEmpty })
    }

    func testExistingTargets() throws {
        let target = tmp.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try CheckpointFiles.writeFile([9], to: target + "/old.bin")
        XCTAssertThrowsError(try AtomicOutput.write(to: target, force: false) { _ in }) { e in
            XCTAssertEqual("\(e)", "\(target): exists and is not empty; choose a new output directory or pass --force to replace it")
        }
        XCTAssertEqual(entries(target), ["old.bin"])
        XCTAssertEqual(entries(tmp.path), ["out"], "a refused run creates no temporary directory")
        try AtomicOutput.write(to: target, force: true) { t in try CheckpointFiles.writeFile([1], to: t + "/new.bin") }
        XCTAssertEqual(entries(target), ["new.bin"])
        XCTAssertEqual(entries(tmp.path), ["out"], "the old directory is removed")
        XCTAssertTrue(CleanupOnSignal.shared.locked { CleanupOnSignal.shared.paths.isEmpty })
        // A failed forced run keeps the old target.
        XCTAssertThrowsError(try AtomicOutput.write(to: target, force: true) { _ in throw OpsError.invalid("no") })
        XCTAssertEqual(entries(target), ["new.bin"])
        XCTAssertEqual(entries(tmp.path), ["out"])

        let file = tmp.appendingPathComponent("file").path
        try CheckpointFiles.writeFile([1], to: file)
        XCTAssertThrowsError(try AtomicOutput.write(to: file, force: true) { _ in }) { e in
            XCTAssertTrue("\(e)".contains("exists and is not a directory"), "\(e)")
        }
    }

    func testCleanupRemovesADirectoryAndItsRecreation() throws {
        let dir = tmp.appendingPathComponent(".x.mm-convert-tmp-1").path
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try CheckpointFiles.writeFile([1, 2], to: dir + "/sub/f")
        XCTAssertTrue(CleanupOnSignal.remove(dir))
        XCTAssertEqual(entries(tmp.path), [])
        XCTAssertFalse(CleanupOnSignal.remove(dir), "nothing to remove")
    }
}
