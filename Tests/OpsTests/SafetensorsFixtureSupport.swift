import Foundation
import XCTest
@testable import Ops

/// Paths of the shared fixtures and of this repository's test corpus, computed from this file's
/// location (never absolute): the repository root is 3 levels up, `shared/` sits beside it.
enum STFixtures {
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: "\(#filePath)")
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `<repo root>/../shared`; a git worktree nested one level deeper finds it at `../../shared`.
    static let shared: String = {
        let candidates = [repoRoot + "/../shared", repoRoot + "/../../shared"]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/fixtures") } ?? candidates[0]
    }()

    static let hf = shared + "/fixtures/hf"
    static let corpus = repoRoot + "/Tests/Corpus/safetensors"

    /// A fixture manifest: files (size, sha256) and, per shard, tensors (dtype, shape, sha256) in file order.
    struct Manifest {
        struct TensorInfo { let name: String; let dtype: String; let shape: [Int]; let sha256: String }
        struct FileInfo { let name: String; let size: Int; let sha256: String; let tensors: [TensorInfo] }
        let files: [FileInfo]
    }

    static func manifest(_ name: String) throws -> Manifest {
        let v = try JSONReader.parse(contentsOf: hf + "/\(name).manifest.json")
        guard case let .dict(files)? = v["files"] else { throw OpsError.invalid("bad manifest") }
        return Manifest(files: try files.map { fname, f in
            guard case let .int(size)? = f["size"], case let .string(sha)? = f["sha256"] else { throw OpsError.invalid("bad manifest file \(fname)") }
            var tensors: [Manifest.TensorInfo] = []
            if case let .dict(ts)? = f["tensors"] {
                tensors = try ts.map { tname, t in
                    guard case let .string(dtype)? = t["dtype"], case let .list(shape)? = t["shape"], case let .string(tsha)? = t["sha256"] else {
                        throw OpsError.invalid("bad manifest tensor \(tname)")
                    }
                    return Manifest.TensorInfo(name: tname, dtype: dtype, shape: shape.compactMap { if case let .int(i) = $0 { return i } else { return nil } }, sha256: tsha)
                }
            }
            return Manifest.FileInfo(name: fname, size: size, sha256: sha, tensors: tensors)
        })
    }

    static func sha256(ofFile path: String) throws -> String {
        let store = try ByteStore(mapping: path)
        var h = SHA256()
        h.update(store.buffer)
        return h.hexDigest()
    }

    /// A fresh empty directory under the system's temporary directory, removed by the test's teardown.
    static func temporaryDirectory(_ test: XCTestCase) throws -> String {
        let dir = NSTemporaryDirectory() + "mmconvert-st-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}
