/// An ordered name -> tensor map: the state a conversion transforms.
///
/// Order is kept (it decides file and entry order on save, so output is deterministic), lookups
/// are by name. Names and tensors sit in parallel arrays with a name -> position index, so walking
/// a map (every transform does, over 26,000 names in a MoE layout) hashes nothing.
public struct TensorMap: Sequence, CustomStringConvertible {
    public private(set) var names: [String] = []
    private var tensors: [Tensor] = []
    private var position: [String: Int] = [:]

    public init() {}
    /// An empty map with room for `capacity` names.
    public init(capacity: Int) { reserveCapacity(capacity) }
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, Tensor) {
        for (n, t) in pairs { self[n] = t }
    }

    public var count: Int { names.count }
    public var isEmpty: Bool { names.isEmpty }

    /// Makes room for `n` names, so building a large map does not rehash as it grows.
    public mutating func reserveCapacity(_ n: Int) {
        names.reserveCapacity(n)
        tensors.reserveCapacity(n)
        position.reserveCapacity(n)
    }

    /// Setting a new name appends it; setting an existing one keeps its position; nil removes it.
    public subscript(name: String) -> Tensor? {
        get { position[name].map { tensors[$0] } }
        set {
            if let t = newValue {
                if !insertNew(name, t) { tensors[position[name]!] = t }
            } else if let i = position.removeValue(forKey: name) {
                names.remove(at: i)
                tensors.remove(at: i)
                for k in i..<names.count { position[names[k]] = k }
            }
        }
    }

    /// Appends `name` if the map does not hold it yet (one hash); returns false, changing nothing,
    /// if it does.
    @discardableResult
    public mutating func insertNew(_ name: String, _ tensor: Tensor) -> Bool {
        if let old = position.updateValue(names.count, forKey: name) {
            position[name] = old
            return false
        }
        names.append(name)
        tensors.append(tensor)
        return true
    }

    public func contains(_ name: String) -> Bool { position[name] != nil }

    @discardableResult
    public mutating func remove(_ name: String) -> Tensor? {
        let t = self[name]
        self[name] = nil
        return t
    }

    /// Removes several names at once (O(n) once instead of per name).
    public mutating func remove(names toRemove: Set<String>) {
        guard !toRemove.isEmpty else { return }
        var kept = TensorMap()
        kept.reserveCapacity(count)
        for i in names.indices where !toRemove.contains(names[i]) { kept.insertNew(names[i], tensors[i]) }
        self = kept
    }

    public struct Iterator: IteratorProtocol {
        fileprivate let names: [String]
        fileprivate let tensors: [Tensor]
        fileprivate var i = 0
        public mutating func next() -> (name: String, tensor: Tensor)? {
            guard i < names.count else { return nil }
            defer { i += 1 }
            return (names[i], tensors[i])
        }
    }

    public func makeIterator() -> Iterator { Iterator(names: names, tensors: tensors) }

    public var underestimatedCount: Int { count }

    public var totalBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    public var description: String { "TensorMap(\(count) tensors, \(totalBytes) bytes)" }
}
