/// The callables the interpreter understands: each "call" builds data, nothing is executed.
enum PickleCalls {
    /// GLOBAL: dtypes become values; everything else stays a reference.
    static func global(module: String, name: String) -> PickleItem {
        if module == "torch", let t = DType(torchName: name) { return .value(.dtype(t)) }
        return .value(.global(module: module, name: name))
    }

    /// REDUCE of a known callable, or nil to keep the call as an inert object.
    static func reduce(module: String, name: String, args argsThunk: () throws -> PickleValue,
                       fail: (String) -> OpsError) throws -> PickleItem? {
        let qualified = "\(module).\(name)"
        switch qualified {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v3":
            let a = try tupleArgs(argsThunk(), qualified, min: 4, fail)
            guard case let .storage(storage) = a[0] else { throw fail("\(qualified): first argument is not a storage (\(a[0].typeName))") }
            guard let offset = a[1].intValue, let shape = intTuple(a[2]), let stride = intTuple(a[3]) else {
                throw fail("\(qualified): offset/size/stride are not integers")
            }
            var requiresGrad = false
            if a.count > 4, case let .bool(b) = a[4] { requiresGrad = b }
            var dtype: DType?
            if qualified == "torch._utils._rebuild_tensor_v3" {
                // (storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata]):
                // the storage is raw bytes, viewed as `dtype`.
                guard a.count >= 7 else { throw fail("\(qualified): expected at least 7 arguments, got \(a.count)") }
                switch a[6] {
                case let .dtype(t): dtype = t
                case let .global(m, n) where m == "torch":
                    let known = DType.allCases.map { "torch." + $0.torchName }.joined(separator: ", ")
                    throw OpsError.unsupported("\(fail("").description)tensor dtype torch.\(n) is not supported (supported: \(known))")
                default: throw fail("\(qualified): the dtype argument is not a torch dtype (\(a[6].typeName))")
                }
            }
            do {
                return .value(.tensor(try TorchTensor(storage: storage, offset: offset, shape: shape, stride: stride, dtype: dtype, requiresGrad: requiresGrad)))
            } catch let OpsError.format(_, message) {
                throw fail(message)
            }
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            let a = try tupleArgs(argsThunk(), qualified, min: 2, fail)
            guard case var .tensor(t) = a[0] else { throw fail("\(qualified): first argument is not a tensor") }
            if case let .bool(b) = a[1] { t.requiresGrad = b }
            t.isParameter = true
            return .value(.tensor(t))
        case "torch._tensor._rebuild_from_type_v2", "torch._tensor._rebuild_from_type":
            // A tensor subclass: rebuild the plain tensor with the inner function, drop the type.
            let a = try tupleArgs(argsThunk(), qualified, min: 3, fail)
            guard case let .global(m, n) = a[0], case .tuple = a[2],
                  let inner = try reduce(module: m, name: n, args: { a[2] }, fail: fail) else {
                return nil
            }
            return inner
        case "collections.OrderedDict":
            let a = try tupleArgs(argsThunk(), qualified, min: 0, fail)
            var items: [(PickleItem, PickleItem)] = []
            if let first = a.first {
                let pairs: [PickleValue]
                switch first {
                case let .list(l), let .tuple(l): pairs = l
                case let .dict(d): pairs = d.items.map { .tuple([$0.key, $0.value]) }
                default: throw fail("OrderedDict argument is not a list of pairs")
                }
                for p in pairs {
                    switch p {
                    case let .list(kv) where kv.count == 2, let .tuple(kv) where kv.count == 2: items.append((.value(kv[0]), .value(kv[1])))
                    default: throw fail("OrderedDict argument is not a list of pairs")
                    }
                }
            }
            return .box(PickleBox(.orderedDict(items, state: nil)))
        case "_codecs.encode":
            let a = try tupleArgs(argsThunk(), qualified, min: 1, fail)
            guard case let .string(s) = a[0] else { throw fail("_codecs.encode of a non-string") }
            let encoding = (a.count > 1 ? a[1].stringValue : nil)?.lowercased() ?? "utf-8"
            switch encoding {
            case "latin1", "latin-1", "iso-8859-1", "l1":
                var out: [UInt8] = []
                out.reserveCapacity(s.unicodeScalars.count)
                for u in s.unicodeScalars {
                    guard u.value < 256 else { throw fail("_codecs.encode: character U+\(String(u.value, radix: 16)) is not latin-1") }
                    out.append(UInt8(u.value))
                }
                return .value(.bytes(out))
            case "utf-8", "utf8", "ascii":
                return .value(.bytes(Array(s.utf8)))
            default:
                throw fail("_codecs.encode with unsupported encoding '\(encoding)'")
            }
        case "builtins.bytes", "__builtin__.bytes":
            let a = try tupleArgs(argsThunk(), qualified, min: 0, fail)
            if a.isEmpty { return .value(.bytes([])) }
            if case let .list(l) = a[0], let ints = l.map(\.intValue) as [Int?]?, ints.allSatisfy({ $0 != nil && $0! >= 0 && $0! < 256 }) {
                return .value(.bytes(ints.map { UInt8($0!) }))
            }
            return nil
        case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset":
            let a = try tupleArgs(argsThunk(), qualified, min: 0, fail)
            var items: [PickleItem] = []
            if let first = a.first {
                switch first {
                case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): items = l.map { .value($0) }
                default: return nil
                }
            }
            return .box(PickleBox(.set(items, frozen: name == "frozenset")))
        case "torch.device":
            let a = try tupleArgs(argsThunk(), qualified, min: 1, fail)
            guard case let .string(type) = a[0] else { return nil }
            if a.count > 1, let i = a[1].intValue { return .value(.device("\(type):\(i)")) }
            return .value(.device(type))
        case "torch.Size":
            let a = try tupleArgs(argsThunk(), qualified, min: 0, fail)
            guard let first = a.first else { return .value(.size([])) }
            guard let dims = intTuple(first) else { return nil }
            return .value(.size(dims))
        default:
            return nil
        }
    }

    static func tupleArgs(_ v: PickleValue, _ what: String, min: Int, _ fail: (String) -> OpsError) throws -> [PickleValue] {
        guard case let .tuple(a) = v else { throw fail("\(what): arguments are not a tuple") }
        guard a.count >= min else { throw fail("\(what): expected at least \(min) arguments, got \(a.count)") }
        return a
    }

    static func intTuple(_ v: PickleValue) -> [Int]? {
        switch v {
        case let .tuple(l), let .list(l):
            var out: [Int] = []
            for x in l { guard let i = x.intValue else { return nil }; out.append(i) }
            return out
        case let .size(s): return s
        default: return nil
        }
    }
}
