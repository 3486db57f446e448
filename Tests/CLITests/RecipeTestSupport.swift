import CLI
import DSL
import Foundation
import Ops
import XCTest

/// Paths of the repository and of the shared fixtures, computed from this file (the clone sits
/// beside a copy of shared/, so never an absolute path).
enum RecipePaths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let examples = repoRoot.appendingPathComponent("examples").path
    static let recipesReadme = repoRoot.appendingPathComponent("Recipes/README.md").path
    /// `<repo root>/../shared/fixtures`; a git worktree nested one level deeper finds it at `../../shared`.
    static let fixtures: String = {
        let candidates = ["../shared/fixtures", "../../shared/fixtures"].map { repoRoot.appendingPathComponent($0).standardized.path }
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }()
    static let qwen2vlHF = fixtures + "/hf/qwen2vl"

    /// The built `mm-convert` next to the test bundle (`.build/debug/mm-convert`).
    static var binary: String? {
        var candidates: [URL] = []
        // On Linux the test bundle is an executable: the binary is its sibling.
        let runner = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).standardizedFileURL
        candidates.append(runner.deletingLastPathComponent().appendingPathComponent("mm-convert"))
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            candidates.append(b.bundleURL.deletingLastPathComponent().appendingPathComponent("mm-convert"))
        }
        candidates.append(repoRoot.appendingPathComponent(".build/debug/mm-convert"))
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A scratch directory removed at the end of the test.
final class Scratch {
    let root: String

    init(_ label: String) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { root + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

/// One command line run through the library entry point, with its output lines.
struct CLIResult {
    var status: Int32
    var out: [String]
    var err: [String]
    var errText: String { err.joined(separator: "\n") }
    var outText: String { out.joined(separator: "\n") }
}

func runCLI(_ args: [String]) -> CLIResult {
    var out: [String] = [], err: [String] = []
    let status = CommandLineTool.run(args, environment: [:], output: Output(out: { out.append($0) }, err: { err.append($0) }))
    // Lines may hold several lines (rendered diagnostics): split them for line-wise checks.
    func lines(_ l: [String]) -> [String] { l.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
    return CLIResult(status: status, out: lines(out), err: lines(err))
}

/// The real binary as a child process, `stdin` piped in.
func runBinary(_ args: [String], stdin: String) throws -> CLIResult {
    guard let exe = RecipePaths.binary else { throw XCTSkip("mm-convert binary not built next to the tests") }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    p.standardError = errPipe
    try p.run()
    inPipe.fileHandleForWriting.write(Data(stdin.utf8))
    try inPipe.fileHandleForWriting.close()
    // Read both pipes before waiting, so a full pipe cannot block the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let errData = errBox.data
    p.waitUntilExit()
    func lines(_ d: Data) -> [String] {
        var l = String(decoding: d, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }
    return CLIResult(status: p.terminationStatus, out: lines(outData), err: lines(errData))
}

/// Small tensors with exactly known elements.
enum TestTensors {
    /// f32 tensor whose element at flat index i is `value(i)` (exact for integers below 2^24).
    static func f32(_ shape: [Int], _ value: (Int) -> Float) throws -> Tensor {
        let n = shape.reduce(1, *)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n * 4)
        for i in 0..<n { withUnsafeBytes(of: value(i).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return try Tensor.fromBytes(bytes, dtype: .f32, shape: shape)
    }

    /// The elements of an f32 tensor.
    static func floats(_ t: Tensor) throws -> [Float] {
        XCTAssertEqual(t.dtype, .f32)
        let b = try t.materialize()
        return stride(from: 0, to: b.count, by: 4).map { i in
            Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
    }

    static func json(_ v: Value) -> [UInt8] { JSONWriter(layout: .indented(2)).encode(v) + [0x0a] }
}
