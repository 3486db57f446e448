import Foundation
import XCTest
@testable import CLI
import Ops

/// Fixture paths, a captured CLI run and temporary directories for the inspect / convert /
/// interop tests.
enum InspectFixtures {
    /// `<repo root>/../shared` (CI); a git worktree one level deeper finds it at `../../shared`.
    static var shared: URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let beside = root.deletingLastPathComponent().appendingPathComponent("shared")
        if FileManager.default.fileExists(atPath: beside.path) { return beside }
        return root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }
    static func fixture(_ relative: String) -> String { shared.appendingPathComponent("fixtures/" + relative).path }
    /// `Tests/Interop/<name>`.
    static func interopScript(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/" + name).path
    }
}

/// What one `mm-convert` invocation printed and returned.
struct CLIRun {
    var status: Int32
    var out: [String]
    var err: [String]
    var outText: String { out.joined(separator: "\n") }
    var errText: String { err.joined(separator: "\n") }

    init(_ args: [String]) {
        var out: [String] = [], err: [String] = []
        status = CommandLineTool.run(args, environment: [:], output: Output(out: { out.append($0) }, err: { err.append($0) }))
        self.out = out.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        self.err = err
    }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL
    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Small deterministic tensors for tests.
enum InspectTensors {
    /// `n` bytes of a simple deterministic pattern (valid for every dtype except bool).
    static func pattern(_ n: Int, seed: Int = 1) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ seed &* 11 &+ 5) } }

    static func tensor(_ dtype: DType, _ shape: [Int], seed: Int = 1) throws -> Tensor {
        let n = shape.reduce(1, *) * dtype.size
        let bytes = dtype == .bool ? (0..<n).map { UInt8(($0 + seed) % 3 == 0 ? 1 : 0) } : pattern(n, seed: seed)
        return try Tensor.fromBytes(bytes, dtype: dtype, shape: shape)
    }
}
