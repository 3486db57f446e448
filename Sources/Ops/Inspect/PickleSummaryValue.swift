extension PickleValue {
    /// A bounded, display-only `Value` for a non-tensor entry: scalars as themselves, dtypes as
    /// `torch.bfloat16`, short sequences and string-keyed dicts element-wise, anything else (long
    /// lists, opaque objects, tensors) as a short description. Never reads tensor bytes.
    public func summaryValue(depth: Int = 3, maxItems: Int = 32) -> Value {
        switch self {
        case .none: return .null
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case .bigInt: return .string(description)
        case let .float(d): return d.isFinite ? .float(d) : .string("\(d)")
        case let .string(s): return .string(s.count > 200 ? String(s.prefix(200)) + "..." : s)
        case let .bytes(b): return .string("<bytes, \(b.count) bytes>")
        case let .dtype(t): return .string("torch." + t.torchName)
        case let .device(d): return .string(d)
        case let .size(s): return .list(s.map { .int($0) })
        case let .tensor(t): return .string("<tensor \(t.dtype.torchName) \(t.shape)>")
        case let .list(l), let .tuple(l):
            guard depth > 0, l.count <= maxItems else { return .string("<\(typeName), \(l.count) items>") }
            return .list(l.map { $0.summaryValue(depth: depth - 1, maxItems: maxItems) })
        case .dict, .orderedDict:
            let d = dictValue ?? PickleDict()
            guard depth > 0, d.count <= maxItems, d.items.allSatisfy({ $0.key.stringValue != nil || $0.key.intValue != nil }) else {
                return .string("<\(typeName), \(d.count) items>")
            }
            return .dict(d.items.map { (PickleValue.keyText($0.key), $0.value.summaryValue(depth: depth - 1, maxItems: maxItems)) })
        case let .object(o):
            if let a = o.attributes, depth > 0 {
                return .dict(a.items.map { (PickleValue.keyText($0.key), $0.value.summaryValue(depth: depth - 1, maxItems: maxItems)) })
            }
            return .string("<\(o.className)>")
        case .set, .frozenset, .global, .storage: return .string("<\(typeName)>")
        }
    }

    /// A dict key as text (`'name'` -> `name`, `0` -> `0`).
    public static func keyText(_ k: PickleValue) -> String {
        switch k {
        case let .string(s): return s
        case let .int(i): return String(i)
        default: return k.description
        }
    }

    /// Whether any tensor lies inside (bounded walk, as `tensors(maxNodes:)`).
    public var containsTensor: Bool {
        if case .tensor = self { return true }
        return !tensors(maxNodes: 100_000).isEmpty
    }
}
