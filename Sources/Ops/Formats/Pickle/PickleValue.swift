/// A value decoded from (or to be encoded as) a Python pickle, without executing any code.
///
/// Python builtins map to their own cases; the few torch types a checkpoint needs (tensors, storages,
/// dtypes, devices, sizes, OrderedDict) are understood; every other class is kept as an inert
/// `object` (its class, constructor arguments and state) so it survives a load/save round trip.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside Int's range: two's-complement little-endian bytes, as LONG1/LONG4 store them.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    case dict(PickleDict)
    case set([PickleValue])
    case frozenset([PickleValue])
    /// A reference to a module attribute that is not called (a class or function object).
    case global(module: String, name: String)
    /// An instance of a class this reader does not interpret.
    case object(PickleObject)
    /// `collections.OrderedDict`, with instance attributes set by BUILD (`_metadata` of a state dict).
    case orderedDict(PickleDict, attributes: PickleDict)
    case tensor(TorchTensor)
    /// A bare storage (a persistent id not wrapped in a tensor).
    case storage(TorchStorage)
    case dtype(DType)
    /// `torch.device`, as torch prints it (`cpu`, `cuda:0`).
    case device(String)
    /// `torch.Size`.
    case size([Int])

    /// The Python type name (`dict`, `collections.OrderedDict`, `argparse.Namespace`, ...).
    public var typeName: String {
        switch self {
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .set: return "set"
        case .frozenset: return "frozenset"
        case .global: return "global"
        case let .object(o): return o.className
        case .orderedDict: return "collections.OrderedDict"
        case let .tensor(t): return t.isParameter ? "torch.nn.parameter.Parameter" : "torch.Tensor"
        case .storage: return "torch.storage.TypedStorage"
        case .dtype: return "torch.dtype"
        case .device: return "torch.device"
        case .size: return "torch.Size"
        }
    }

    /// The entries of a dict or OrderedDict.
    public var dictValue: PickleDict? {
        switch self {
        case let .dict(d): return d
        case let .orderedDict(d, _): return d
        default: return nil
        }
    }

    /// Looks up a string key of a dict or OrderedDict.
    public subscript(key: String) -> PickleValue? { dictValue?[key] }

    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var intValue: Int? { if case let .int(i) = self { return i }; return nil }
    public var tensorValue: TorchTensor? { if case let .tensor(t) = self { return t }; return nil }

    public var description: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .bigInt(b): return "int(\(b.count) bytes)"
        case let .float(d): return "\(d)"
        case let .string(s): return "'\(s)'"
        case let .bytes(b): return "b<\(b.count) bytes>"
        case let .list(l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case let .tuple(l): return "(" + l.map(\.description).joined(separator: ", ") + (l.count == 1 ? ",)" : ")")
        case let .dict(d): return "{" + d.items.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case let .set(l): return "{" + l.map(\.description).joined(separator: ", ") + "}"
        case let .frozenset(l): return "frozenset({" + l.map(\.description).joined(separator: ", ") + "})"
        case let .global(m, n): return "\(m).\(n)"
        case let .object(o): return "<\(o.className)>"
        case let .orderedDict(d, _): return "OrderedDict(\(d.count) items)"
        case let .tensor(t): return "tensor(\(t.tensor))"
        case let .storage(s): return "storage(\(s.key), \(s.dtype.rawValue)[\(s.numel)])"
        case let .dtype(t): return "torch.\(t.torchName)"
        case let .device(d): return "device('\(d)')"
        case let .size(s): return "torch.Size(\(s))"
        }
    }
}

/// An ordered dict with keys of any pickle value (ints for optimizer state, strings for names).
public struct PickleDict {
    public var items: [(key: PickleValue, value: PickleValue)] = []

    public init() {}
    public init(_ items: [(key: PickleValue, value: PickleValue)]) { self.items = items }
    /// A dict with string keys, in the given order.
    public init(strings: [(String, PickleValue)]) { items = strings.map { (.string($0.0), $0.1) } }

    public var count: Int { items.count }

    /// Looks up a string key (the last assignment wins, as in Python).
    public subscript(key: String) -> PickleValue? {
        get {
            for item in items.reversed() { if case let .string(k) = item.key, k == key { return item.value } }
            return nil
        }
        set {
            if let i = items.firstIndex(where: { if case let .string(k) = $0.key { return k == key }; return false }) {
                if let v = newValue { items[i].value = v } else { items.remove(at: i) }
            } else if let v = newValue {
                items.append((.string(key), v))
            }
        }
    }

    /// The string keys, in order (non-string keys are skipped).
    public var stringKeys: [String] { items.compactMap { $0.key.stringValue } }
}

/// An instance of a class kept without interpreting it: enough to write it back unchanged.
public struct PickleObject {
    /// How the instance was created.
    public enum Construction {
        /// `callable(*args)` (REDUCE).
        case reduce
        /// `cls.__new__(cls, *args)` (NEWOBJ).
        case newobj
        /// `cls.__new__(cls, *args, **kwargs)` (NEWOBJ_EX).
        case newobjEx(kwargs: PickleValue)
    }
    public var module: String
    public var name: String
    public var construction: Construction
    public var args: [PickleValue]
    /// The argument of BUILD (`__setstate__` or `__dict__` update), if any.
    public var state: PickleValue?
    /// Items added with APPEND(S) after creation.
    public var listItems: [PickleValue] = []
    /// Items added with SETITEM(S) after creation.
    public var dictItems: [(key: PickleValue, value: PickleValue)] = []

    public init(module: String, name: String, construction: Construction = .reduce, args: [PickleValue], state: PickleValue? = nil) {
        self.module = module
        self.name = name
        self.construction = construction
        self.args = args
        self.state = state
    }

    public var className: String { "\(module).\(name)" }

    /// The attributes set by BUILD when the state is a dict (or the dict of a (dict, slots) pair).
    public var attributes: PickleDict? {
        switch state {
        case let .dict(d)?: return d
        case let .tuple(t)? where t.count == 2: return t[0].dictValue
        default: return nil
        }
    }
}
