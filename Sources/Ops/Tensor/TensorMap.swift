/// An ordered name -> tensor map: the state a conversion transforms.
///
/// Order is kept (it decides file and entry order on save, so output is deterministic), lookups
/// are by name.
public struct TensorMap: Sequence, CustomStringConvertible {
    public private(set) var names: [String] = []
    private var table: [String: Tensor] = [:]

    public init() {}
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, Tensor) {
        for (n, t) in pairs { self[n] = t }
    }

    public var count: Int { table.count }
    public var isEmpty: Bool { table.isEmpty }

    /// Setting a new name appends it; setting an existing one keeps its position; nil removes it.
    public subscript(name: String) -> Tensor? {
        get { table[name] }
        set {
            if let t = newValue {
                // One hash per insertion: a MoE layout builds maps of 26,000 names several times.
                if table.updateValue(t, forKey: name) == nil { names.append(name) }
            } else if table.removeValue(forKey: name) != nil {
                compactNames()
            }
        }
    }

    public func contains(_ name: String) -> Bool { table[name] != nil }

    @discardableResult
    public mutating func remove(_ name: String) -> Tensor? {
        let t = table[name]
        self[name] = nil
        return t
    }

    /// Removes several names at once (O(n) once instead of per name).
    public mutating func remove(names toRemove: Set<String>) {
        for n in toRemove { table.removeValue(forKey: n) }
        compactNames()
    }

    private mutating func compactNames() {
        names = names.filter { table[$0] != nil }
    }

    public func makeIterator() -> AnyIterator<(name: String, tensor: Tensor)> {
        var i = 0
        let names = self.names, table = self.table
        return AnyIterator {
            guard i < names.count else { return nil }
            defer { i += 1 }
            return (names[i], table[names[i]]!)
        }
    }

    public var totalBytes: Int { table.values.reduce(0) { $0 + $1.byteCount } }

    public var description: String { "TensorMap(\(count) tensors, \(totalBytes) bytes)" }
}
