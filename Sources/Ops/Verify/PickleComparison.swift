/// Compares two decoded pickles (torch files) structurally: dict keys as sets, lists item by item,
/// objects by class and attributes, scalars by value. Tensors are not compared here but collected
/// as pairs, so their bytes are compared in bounded memory with every other tensor.
///
/// Paths join dict keys, list indices and attributes with `/` (as `PickleValue.tensors()` does),
/// e.g. `args/tensor_model_parallel_size` or `model/decoder.final_layernorm.weight`.
public struct PickleComparison {
    /// The tensors found at the same path on both sides.
    public private(set) var pairs: [TensorPair] = []
    /// Stop after this many visited nodes (a hostile pickle can describe a huge shared tree).
    public let maxNodes: Int
    private var visited = 0

    public init(maxNodes: Int = 10_000_000) {
        self.maxNodes = maxNodes
    }

    /// Walks both values; non-tensor differences and tensors on one side only go to `report`.
    public mutating func compare(_ a: PickleValue, _ b: PickleValue, path: String, into report: inout VerifyReport) {
        walk(a, b, path: path, depth: 0, into: &report)
    }

    private mutating func walk(_ a: PickleValue, _ b: PickleValue, path: String, depth: Int, into report: inout VerifyReport) {
        visited += 1
        guard visited <= maxNodes else {
            if visited == maxNodes + 1 { report.add(.entries, path, "comparison stopped after \(maxNodes) values (structure too large)") }
            return
        }
        guard depth < 1000 else { report.add(.entries, path, "nested too deeply to compare"); return }
        switch (a, b) {
        case let (.tensor(x), .tensor(y)):
            pairs.append(TensorPair(subject: path, a: x.tensor, b: y.tensor))
        case let (.storage(x), .storage(y)):
            pairs.append(TensorPair(subject: path, a: x.data, b: y.data))
        case let (.dict(x), .dict(y)):
            compareDicts(x, y, path: path, depth: depth, into: &report)
        case let (.orderedDict(x, xa), .orderedDict(y, ya)):
            compareDicts(x, y, path: path, depth: depth, into: &report)
            compareDicts(xa, ya, path: path, keyPrefix: "@", depth: depth, into: &report)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)), let (.set(x), .set(y)), let (.frozenset(x), .frozenset(y)):
            compareSequences(x, y, path: path, depth: depth, into: &report)
        case let (.object(x), .object(y)):
            guard x.className == y.className else {
                report.add(.entries, path, "\(x.className) vs \(y.className)")
                return
            }
            compareSequences(x.args, y.args, path: path, indexPrefix: "#", depth: depth, into: &report)
            if let xs = x.attributes, let ys = y.attributes {
                compareDicts(xs, ys, path: path, depth: depth, into: &report)
            } else {
                switch (x.state, y.state) {
                case (nil, nil): break
                case let (xs?, ys?): walk(xs, ys, path: join(path, "@state"), depth: depth + 1, into: &report)
                default: report.add(.entries, join(path, "@state"), x.state == nil ? "missing in A" : "missing in B")
                }
            }
            compareSequences(x.listItems, y.listItems, path: path, depth: depth, into: &report)
            compareDicts(PickleDict(x.dictItems), PickleDict(y.dictItems), path: path, depth: depth, into: &report)
        default:
            if !Self.equalLeaves(a, b) {
                report.add(.entries, path, "\(Self.show(a)) vs \(Self.show(b))")
            }
        }
    }

    private mutating func compareDicts(_ x: PickleDict, _ y: PickleDict, path: String, keyPrefix: String = "", depth: Int, into report: inout VerifyReport) {
        let yKeys = Dictionary(y.items.map { (Self.key($0.key), $0.value) }, uniquingKeysWith: { _, last in last })
        let xKeys = Dictionary(x.items.map { (Self.key($0.key), $0.value) }, uniquingKeysWith: { _, last in last })
        var seen = Set<String>()
        for (k, v) in x.items {
            let name = Self.key(k)
            guard seen.insert(name).inserted else { continue }
            let sub = join(path, keyPrefix + name)
            if let w = yKeys[name] { walk(xKeys[name] ?? v, w, path: sub, depth: depth + 1, into: &report) }
            else { missing(v, sub, inFirst: true, into: &report) }
        }
        for (k, w) in y.items where xKeys[Self.key(k)] == nil && seen.insert(Self.key(k)).inserted {
            missing(w, join(path, keyPrefix + Self.key(k)), inFirst: false, into: &report)
        }
    }

    private mutating func compareSequences(_ x: [PickleValue], _ y: [PickleValue], path: String, indexPrefix: String = "", depth: Int, into report: inout VerifyReport) {
        if x.count != y.count {
            report.add(.entries, path, "\(x.count) vs \(y.count) items")
        }
        for i in 0..<min(x.count, y.count) { walk(x[i], y[i], path: join(path, indexPrefix + String(i)), depth: depth + 1, into: &report) }
    }

    /// A value on one side only: a tensor counts as a missing tensor, anything else as an entry.
    private func missing(_ v: PickleValue, _ path: String, inFirst: Bool, into report: inout VerifyReport) {
        if case let .tensor(t) = v {
            report.add(inFirst ? .onlyInFirst : .onlyInSecond, path, "\(t.tensor.dtype.rawValue)\(t.tensor.shape)")
        } else {
            report.add(.entries, path, inFirst ? "only in A (\(Self.show(v)))" : "only in B (\(Self.show(v)))")
        }
    }

    private func join(_ p: String, _ k: String) -> String { p.isEmpty ? k : p + "/" + k }

    static func key(_ k: PickleValue) -> String {
        switch k {
        case let .string(s): return s
        case let .int(i): return String(i)
        default: return k.description
        }
    }

    /// Scalars and other leaves: equal when of the same kind with the same value (floats bitwise,
    /// so 3.0 and 3 differ, as do 0.0 and -0.0).
    static func equalLeaves(_ a: PickleValue, _ b: PickleValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bigInt(x), .bigInt(y)): return x == y
        case let (.float(x), .float(y)): return x.bitPattern == y.bitPattern
        case let (.string(x), .string(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.global(m1, n1), .global(m2, n2)): return m1 == m2 && n1 == n2
        case let (.dtype(x), .dtype(y)): return x == y
        case let (.device(x), .device(y)): return x == y
        case let (.size(x), .size(y)): return x == y
        default: return false
        }
    }

    /// A short text of a value for a report line, with its type when that is what differs.
    static func show(_ v: PickleValue) -> String {
        let text = v.description
        let cut = text.count > 80 ? String(text.prefix(77)) + "..." : text
        switch v {
        case .dict, .orderedDict, .list, .tuple, .object, .set, .frozenset, .tensor, .storage:
            return "\(v.typeName) \(cut)"
        case .bytes(let x):
            return "bytes(\(x.count), sha256 \(String(SHA256.hex(x).prefix(12))))"
        default:
            return cut
        }
    }
}
