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

    /// Python-like text of the value, cut after about 4000 characters (so a hostile or huge value
    /// cannot blow up an error message).
    public var description: String {
        var budget = 4000
        var out = ""
        describe(into: &out, budget: &budget)
        return out
    }

    private func describe(into out: inout String, budget: inout Int) {
        guard budget > 0 else { return }
        func emit(_ s: String) {
            out += s
            budget -= s.count
        }
        func seq(_ open: String, _ items: [PickleValue], _ close: String) {
            emit(open)
            for (i, x) in items.enumerated() {
                if budget <= 0 { emit("..."); break }
                if i > 0 { emit(", ") }
                x.describe(into: &out, budget: &budget)
            }
            emit(close)
        }
        switch self {
        case .none: emit("None")
        case let .bool(b): emit(b ? "True" : "False")
        case let .int(i): emit(String(i))
        case let .bigInt(b): emit("int(\(b.count) bytes)")
        case let .float(d): emit("\(d)")
        case let .string(s): emit("'\(s.count > 200 ? String(s.prefix(200)) + "..." : s)'")
        case let .bytes(b): emit("b<\(b.count) bytes>")
        case let .list(l): seq("[", l, "]")
        case let .tuple(l): seq("(", l, l.count == 1 ? ",)" : ")")
        case let .dict(d):
            emit("{")
            for (i, item) in d.items.enumerated() {
                if budget <= 0 { emit("..."); break }
                if i > 0 { emit(", ") }
                item.key.describe(into: &out, budget: &budget)
                emit(": ")
                item.value.describe(into: &out, budget: &budget)
            }
            emit("}")
        case let .set(l): seq("{", l, "}")
        case let .frozenset(l): seq("frozenset({", l, "})")
        case let .global(m, n): emit("\(m).\(n)")
        case let .object(o): emit("<\(o.className)>")
        case let .orderedDict(d, _): emit("OrderedDict(\(d.count) items)")
        case let .tensor(t): emit("tensor(\(t.tensor))")
        case let .storage(s): emit("storage(\(s.key), \(s.dtype.rawValue)[\(s.numel)])")
        case let .dtype(t): emit("torch.\(t.torchName)")
        case let .device(d): emit("device('\(d)')")
        case let .size(s): emit("torch.Size(\(s))")
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
