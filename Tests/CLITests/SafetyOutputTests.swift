import Foundation
import XCTest
import Ops

/// Output safety of a real conversion run as a child process of the built `mm-convert` binary
/// (`sample` writes an HF checkpoint through AtomicOutput): an interrupted or failed run leaves
/// neither the target nor its temporary sibling; an existing target is refused unless --force;
/// the same input gives the same bytes.
final class SafetyOutputTests: XCTestCase {
    var tmp: URL!
    var mounted: String?

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let m = mounted { _ = try? Self.run("/usr/bin/env", ["umount", m]) }
        try? FileManager.default.removeItem(at: tmp)
    }

    // MARK: - Child processes

    /// The `mm-convert` binary built next to this test bundle (`swift test` builds every product).
    static func binary() throws -> String {
        var dirs = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            dirs.append(b.bundleURL.deletingLastPathComponent())
            dirs.append(b.bundleURL.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent())  // Contents/MacOS on Darwin
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        dirs.append(root.appendingPathComponent(".build/debug"))
        for d in dirs {
            let p = d.appendingPathComponent("mm-convert").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw XCTSkip("the mm-convert binary was not found next to the tests (looked in \(dirs.map(\.path)))")
    }

    /// Starts a process with stderr captured in a file (so a chatty child never blocks on a pipe).
    static func start(_ exe: String, _ args: [String], stderr: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: stderr)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs to completion: (exit status, stderr text).
    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, err: String) {
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("safety-err-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: errFile) }
        let p = try start(exe, args, stderr: errFile)
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }

    func sample(_ args: [String]) throws -> (status: Int32, err: String) {
        try Self.run(Self.binary(), ["sample"] + args)
    }

    /// Every entry of `dir`, hidden ones included.
    func entries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// Waits until `parent` holds the temporary sibling of `name` with at least one non-empty file.
    func waitForPartialOutput(in parent: String, name: String, process: Process) throws -> String {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            if let t = entries(parent).first(where: { $0.hasPrefix(".\(name).mm-convert-tmp-") }) {
                let dir = parent + "/" + t
                let sizes = entries(dir).map { (try? FileManager.default.attributesOfItem(atPath: dir + "/" + $0)[.size] as? Int) ?? 0 }
                if sizes.contains(where: { $0 > 0 }) { return t }
            }
            usleep(20_000)
        }
        throw XCTSkip("the sample run \(process.isRunning ? "did not start writing in 60 s" : "finished before it could be interrupted")")
    }

    // MARK: - (a) Interrupted runs

    func interrupt(with signal: Int32, expect status: Int32, word: String) throws {
        let parent = tmp.path
        let target = parent + "/out"
        let errFile = tmp.appendingPathComponent("stderr.txt")
        let p = try Self.start(Self.binary(), ["sample", "qwen2vl", target, "--size", "2b"], stderr: errFile)
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        let temporary = try waitForPartialOutput(in: parent, name: "out", process: p)
        usleep(300_000)  // well inside the write of the first multi-GB shard
        XCTAssertTrue(p.isRunning, "the run ended before the signal")
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, status)
        XCTAssertEqual(entries(parent), ["stderr.txt"], "no target and no temporary sibling (\(temporary)) left")
        let err = try String(contentsOf: errFile, encoding: .utf8)
        XCTAssertEqual(err, "mm-convert: \(word); removed the partial output, nothing was written\n")
    }

    func testSIGINTRemovesThePartialOutput() throws {
        try interrupt(with: SIGINT, expect: 130, word: "interrupted")
    }

    func testSIGTERMRemovesThePartialOutput() throws {
        try interrupt(with: SIGTERM, expect: 143, word: "terminated")
    }

    /// Signals at spread moments of short runs (before, during and around the final rename, with
    /// and without --force over an existing checkpoint): the target is always either untouched or
    /// complete, and nothing else is left beside it.
    func testInterruptAtAnyMomentLeavesAllOrNothing() throws {
        let exe = try Self.binary()
        let out = tmp.appendingPathComponent("out").path
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("safety-logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        // One full run sets the time scale (and the checkpoint the --force runs replace).
        let began = Date()
        XCTAssertEqual(try Self.run(exe, ["sample", "qwen2vl", out, "--quiet"]).status, 0)
        let duration = Date().timeIntervalSince(began)
        var interrupted = 0
        for i in 0..<20 {
            let force = i >= 10
            if !force { try? FileManager.default.removeItem(atPath: out) }
            if i == 10 { XCTAssertEqual(try Self.run(exe, ["sample", "qwen2vl", out, "--quiet", "--force"]).status, 0) }
            let args = ["sample", "qwen2vl", out, "--quiet", "--seed", String(i)] + (force ? ["--force"] : [])
            let p = try Self.start(exe, args, stderr: logs.appendingPathComponent("\(i)"))
            usleep(UInt32(duration * 2e6 * Double(i % 10) / 9))
            kill(p.processIdentifier, SIGINT)
            p.waitUntilExit()
            let ok = p.terminationReason == .exit && p.terminationStatus == 0
            if !ok { interrupted += 1 }
            XCTAssertTrue(ok || p.terminationStatus == 130 || p.terminationReason == .uncaughtSignal,
                          "run \(i): status \(p.terminationStatus)")
            let left = entries(tmp.path)
            XCTAssertTrue(left == [] || left == ["out"], "run \(i): \(left)")
            if left == ["out"] {
                let c = try HFCheckpoint.load(out)
                XCTAssertEqual(c.tensors.count, 82, "run \(i)")
                XCTAssertEqual(c.tensors.totalBytes, 669_440, "run \(i)")
            } else {
                XCTAssertFalse(ok, "run \(i) succeeded without output")
                XCTAssertFalse(force, "run \(i): --force lost the existing checkpoint")
            }
        }
        print("interrupt sweep: \(interrupted) of 20 runs interrupted (a full run takes \(Int(duration * 1000)) ms)")
    }

    // MARK: - (b) Disk full

    func testFullDiskFailsCleanly() throws {
        let mount = tmp.appendingPathComponent("small").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        // 256 KiB: the tiny sample (two shards of ~340 KB) runs out of space in its first shard.
        let m = try Self.run("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount])
        guard m.status == 0 else { throw XCTSkip("cannot mount a small tmpfs (needs root / CAP_SYS_ADMIN): \(m.err)") }
        mounted = mount
        let r = try sample(["qwen2vl", mount + "/out"])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("No space left on device"), r.err)
        XCTAssertTrue(r.err.contains("the disk is full: free space or choose another output directory"), r.err)
        XCTAssertTrue(r.err.contains(".out.mm-convert-tmp-"), "names the file being written: \(r.err)")
        XCTAssertFalse(r.err.contains("Fatal error"), r.err)
        XCTAssertEqual(entries(mount), [], "nothing left behind")
        var fs = statvfs()
        XCTAssertEqual(statvfs(mount, &fs), 0)
        XCTAssertEqual(fs.f_bfree, fs.f_blocks, "every block is free again")
    }

    // MARK: - (c) Existing targets

    func testExistingTargetIsRefusedWithoutForceAndReplacedWithIt() throws {
        let target = tmp.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: target + "/sub", withIntermediateDirectories: true)
        try "old".write(toFile: target + "/old.txt", atomically: false, encoding: .utf8)
        try "old".write(toFile: target + "/sub/model.safetensors", atomically: false, encoding: .utf8)

        let refused = try sample(["qwen2vl", target, "--quiet"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.err.contains("exists and is not empty; choose a new output directory or pass --force to replace it"), refused.err)
        XCTAssertEqual(entries(target), ["old.txt", "sub"])
        XCTAssertEqual(entries(tmp.path), ["out"])

        let forced = try sample(["qwen2vl", target, "--force", "--quiet"])
        XCTAssertEqual(forced.status, 0, forced.err)
        XCTAssertEqual(entries(target), ["README.md", "config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                                         "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        XCTAssertFalse(entries(target).contains("old.txt"))
        XCTAssertFalse(entries(target).contains("sub"))
        XCTAssertEqual(entries(tmp.path), ["out"], "no temporary or old directory left beside the target")
        let loaded = try HFCheckpoint.load(target)
        XCTAssertEqual(loaded.tensors.count, 82)
        XCTAssertEqual(loaded.tensors.totalBytes, 669_440)
        // Modes as the reference leaves them.
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int, 0o750)
        for f in entries(target) {
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target + "/" + f)[.posixPermissions] as? Int, 0o640, f)
        }

        // An empty existing directory needs no --force; a file in the way is refused.
        let empty = tmp.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertEqual(try sample(["qwen2vl", empty, "--quiet"]).status, 0)
        let file = tmp.appendingPathComponent("file").path
        try "x".write(toFile: file, atomically: false, encoding: .utf8)
        let notDir = try sample(["qwen2vl", file, "--force", "--quiet"])
        XCTAssertEqual(notDir.status, 1)
        XCTAssertTrue(notDir.err.contains("exists and is not a directory"), notDir.err)
    }

    // MARK: - (d) Determinism

    func testTwoRunsWriteByteIdenticalTrees() throws {
        let a = tmp.appendingPathComponent("a").path, b = tmp.appendingPathComponent("b").path
        let c = tmp.appendingPathComponent("c").path
        for (dir, seed) in [(a, "0"), (b, "0"), (c, "1")] {
            let r = try sample(["qwen2vl", dir, "--seed", seed, "--quiet"])
            XCTAssertEqual(r.status, 0, r.err)
        }
        let files = try CheckpointFiles.listFiles(in: a)
        XCTAssertEqual(files, try CheckpointFiles.listFiles(in: b))
        XCTAssertEqual(files.count, 6, "\(files)")
        var report = VerifyReport(first: a, second: b)
        XCTAssertEqual(try FileComparison.compare(files, in: a, files, in: b, into: &report), files.count)
        XCTAssertEqual(report.differences, [])
        // The verify command agrees, and tells a different seed apart.
        XCTAssertEqual(try Self.run(Self.binary(), ["verify", a, b, "--quiet"]).status, 0)
        XCTAssertEqual(try Self.run(Self.binary(), ["verify", a, c, "--quiet"]).status, 1)
    }
}
