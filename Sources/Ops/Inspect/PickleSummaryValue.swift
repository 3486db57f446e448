extension PickleValue {
    /// A bounded, display-only `Value` for a non-tensor entry: scalars as themselves, dtypes as
    /// `torch.bfloat16`, short sequences and string-keyed dicts element-wise, anything else (long
    /// lists, opaque objects, tensors) as a short description. Never reads tensor bytes.
    public func summaryValue(depth: Int = 3, maxItems: Int = 32) -> Value {
        switch self {
        case .none: return .null
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .bigInt(b): return .string(PickleValue.decimal(littleEndian: b))
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

    /// A LONG1/LONG4 integer (two's-complement little-endian bytes) in decimal, for display.
    public static func decimal(littleEndian bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "0" }
        let negative = bytes.last! & 0x80 != 0
        // Magnitude, little-endian (negate a negative value: invert and add one).
        var mag = negative ? bytes.map { ~$0 } : bytes
        if negative {
            var carry = 1
            for i in mag.indices where carry > 0 {
                let v = Int(mag[i]) + carry
                mag[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        var digits: [Character] = []
        while mag.contains(where: { $0 != 0 }) {
            var rem = 0
            for i in mag.indices.reversed() {
                let v = rem << 8 | Int(mag[i])
                mag[i] = UInt8(v / 10)
                rem = v % 10
            }
            digits.append(Character(String(rem)))
        }
        return (negative ? "-" : "") + (digits.isEmpty ? "0" : String(digits.reversed()))
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
