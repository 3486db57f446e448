import Foundation
import XCTest
@testable import Ops

/// Paths of the shared fixtures and a flattener that describes a loaded value the way the
/// fixtures' `.expected.json` files do (paths joined with `/`, OrderedDict attributes as `@name`).
enum TorchFixtures {
    /// `<repo root>/../shared` (CI); a git worktree one level deeper finds it at `../../shared`.
    static var shared: URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let beside = root.deletingLastPathComponent().appendingPathComponent("shared")
        if FileManager.default.fileExists(atPath: beside.path) { return beside }
        return root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }
    static func torch(_ name: String) -> String { shared.appendingPathComponent("fixtures/torch/\(name)").path }
    static func golden(_ name: String) -> String { shared.appendingPathComponent("fixtures/golden/\(name)").path }
    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpus/torch")
    }

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        var h = SHA256()
        h.update(bytes)
        return h.hexDigest()
    }
}

/// One node of a loaded value, as the expected files list it.
struct FlatNode {
    var type: String
    var value: PickleValue
}

struct Flattened {
    var tensors: [String: TorchTensor] = [:]
    var tensorOrder: [String] = []
    var nodes: [String: FlatNode] = [:]

    init(_ root: PickleValue) { walk(root, "") }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "/" + key }

    static func keyString(_ k: PickleValue) -> String {
        switch k {
        case let .string(s): return s
        case let .int(i): return String(i)
        default: return k.description
        }
    }

    static func typeName(_ v: PickleValue) -> String {
        if case let .object(o) = v {
            if o.className.hasSuffix("multiarray._reconstruct") { return "numpy.ndarray" }
            return o.className
        }
        return v.typeName
    }

    mutating func walk(_ v: PickleValue, _ path: String) {
        if case let .tensor(t) = v {
            tensors[path] = t
            tensorOrder.append(path)
            return
        }
        nodes[path] = FlatNode(type: Flattened.typeName(v), value: v)
        switch v {
        case let .dict(d):
            for (k, x) in d.items { walk(x, Flattened.join(path, Flattened.keyString(k))) }
        case let .orderedDict(d, attributes):
            for (k, x) in d.items { walk(x, Flattened.join(path, Flattened.keyString(k))) }
            for (k, x) in attributes.items { walk(x, Flattened.join(path, "@" + Flattened.keyString(k))) }
        case let .list(l), let .tuple(l):
            let scalars = l.allSatisfy { if case .int = $0 { return true }; if case .float = $0 { return true }; return false }
            if l.count > 32 && scalars { return }
            for (i, x) in l.enumerated() { walk(x, Flattened.join(path, String(i))) }
        case let .object(o) where o.className == "argparse.Namespace":
            for (k, x) in (o.attributes?.items ?? []) { walk(x, Flattened.join(path, Flattened.keyString(k))) }
        default: break
        }
    }
}
