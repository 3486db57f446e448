/// Writes a `PickleValue` as a protocol 2 pickle the way Python's pickler (driven by torch.save)
/// does: same opcodes, same memo numbering, same batching, so a plain state dict of tensors gives
/// the bytes torch writes.
///
/// Tensors are written as torch 2.x writes them: dtypes with a legacy storage class as
/// `torch._utils._rebuild_tensor_v2(<persistent id of torch.XStorage>, offset, size, stride,
/// requires_grad, OrderedDict())`; the others (float8, uint16/32/64) as
/// `torch._utils._rebuild_tensor_v3(<persistent id of torch.storage.UntypedStorage, numel in
/// bytes>, offset, size, stride, requires_grad, OrderedDict(), torch.<dtype>)`. The storages they
/// need are collected in `storages`, in key order, for the caller to write as `data/<key>`.
public struct PickleWriter {
    /// A storage the pickle refers to: `data/<key>` must hold `data`'s bytes
    /// (`numel * dtype.size` of them).
    public struct Storage {
        public let key: String
        public let dtype: DType
        /// Elements of `dtype` (not the pickled numel, which counts bytes for an untyped storage).
        public let numel: Int
        /// The bytes to store (row-major, streamed when written).
        public let data: Tensor
    }

    public private(set) var storages: [Storage] = []
    private var out: [UInt8] = []
    private var memoCount = 0
    private var globalMemo: [String: Int] = [:]
    /// Strings Python would pass as the same object (torch's constants and storage keys).
    private var stringMemo: [String: Int] = [:]
    private var sharedStorageKeys: [ObjectIdentifier: String] = [:]
    private var sharedStorages: Set<ObjectIdentifier> = []
    private var tensorMemo: [TensorIdentity: Int] = [:]
    private var depth = 0
    private let maxDepth = 1000
    static let maxPickleBytes = 1 << 31

    public init() {}

    /// The pickle of `value` (PROTO 2 ... STOP).
    public static func pickle(_ value: PickleValue) throws -> (bytes: [UInt8], storages: [Storage]) {
        var w = PickleWriter()
        w.sharedStorages = PickleWriter.storagesViewedTwice(value)
        w.out = [PickleOpcode.proto, 2]
        try w.save(value)
        w.out.append(PickleOpcode.stop)
        return (w.out, w.storages)
    }

    // MARK: - Sharing analysis

    /// Storages that more than one tensor views: they are written whole, once, and their tensors
    /// keep their offsets and strides. Every other tensor gets a compact storage of its own.
    static func storagesViewedTwice(_ root: PickleValue) -> Set<ObjectIdentifier> {
        var counts: [ObjectIdentifier: Int] = [:]
        func visit(_ v: PickleValue) {
            switch v {
            case let .tensor(t): if let s = t.storage { counts[ObjectIdentifier(s), default: 0] += 1 }
            case let .storage(s): counts[ObjectIdentifier(s), default: 0] += 2
            case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): l.forEach(visit)
            case let .dict(d): d.items.forEach { visit($0.key); visit($0.value) }
            case let .orderedDict(d, a): d.items.forEach { visit($0.key); visit($0.value) }; a.items.forEach { visit($0.value) }
            case let .object(o):
                o.args.forEach(visit); o.state.map(visit); o.listItems.forEach(visit)
                o.dictItems.forEach { visit($0.key); visit($0.value) }
            default: break
            }
        }
        visit(root)
        return Set(counts.filter { $0.value > 1 }.keys)
    }

    // MARK: - Primitives

    private mutating func memoize() {
        if memoCount < 256 {
            out += [PickleOpcode.binPut, UInt8(memoCount)]
        } else {
            out.append(PickleOpcode.longBinPut)
            out.appendLE32(memoCount)
        }
        memoCount += 1
    }

    private mutating func get(_ index: Int) {
        if index < 256 {
            out += [PickleOpcode.binGet, UInt8(index)]
        } else {
            out.append(PickleOpcode.longBinGet)
            out.appendLE32(index)
        }
    }

    private mutating func writeInt(_ v: Int) {
        if v >= 0 && v <= 0xFF {
            out += [PickleOpcode.binInt1, UInt8(v)]
        } else if v >= 0 && v <= 0xFFFF {
            out += [PickleOpcode.binInt2, UInt8(v & 0xFF), UInt8(v >> 8)]
        } else if v >= -0x8000_0000 && v <= 0x7FFF_FFFF {
            out.append(PickleOpcode.binInt)
            out.appendLE32(v)
        } else {
            writeLong(PickleWriter.encodeLong(v))
        }
    }

    /// Python's `encode_long`: minimal two's-complement little-endian bytes.
    static func encodeLong(_ v: Int) -> [UInt8] {
        if v == 0 { return [] }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: Int64(v).littleEndian) { bytes = Array($0) }
        let bitLength = v >= 0 ? 64 - v.leadingZeroBitCount : 64 - (~v).leadingZeroBitCount
        var n = (bitLength >> 3) + 1
        n = min(n, 8)
        var result = Array(bytes[0..<n])
        if v < 0, result.count > 1, result[result.count - 1] == 0xFF, result[result.count - 2] & 0x80 != 0 { result.removeLast() }
        return result
    }

    private mutating func writeLong(_ b: [UInt8]) {
        if b.count < 256 {
            out += [PickleOpcode.long1, UInt8(b.count)]
        } else {
            out.append(PickleOpcode.long4)
            out.appendLE32(b.count)
        }
        out += b
    }

    private mutating func writeFloat(_ d: Double) {
        out.append(PickleOpcode.binFloat)
        let bits = d.bitPattern
        for i in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(i))) }
    }

    /// A new string object (memoized, never looked up again).
    private mutating func writeString(_ s: String) {
        let u = Array(s.utf8)
        out.append(PickleOpcode.binUnicode)
        out.appendLE32(u.count)
        out += u
        memoize()
    }

    /// A string Python passes as one shared object (torch's 'storage', 'cpu', storage keys).
    private mutating func writeSharedString(_ s: String) {
        if let i = stringMemo[s] { get(i); return }
        stringMemo[s] = memoCount
        writeString(s)
    }

    private mutating func writeGlobal(_ module: String, _ name: String) {
        let key = module + "\n" + name
        if let i = globalMemo[key] { get(i); return }
        out.append(PickleOpcode.global)
        out += Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
        globalMemo[key] = memoCount
        memoize()
    }

    /// A tuple whose elements are written by `body` (`count` of them).
    private mutating func writeTuple(count: Int, _ body: (inout PickleWriter) throws -> Void) rethrows {
        if count == 0 { out.append(PickleOpcode.emptyTuple); return }
        if count <= 3 {
            try body(&self)
            out.append([PickleOpcode.tuple1, PickleOpcode.tuple2, PickleOpcode.tuple3][count - 1])
        } else {
            out.append(PickleOpcode.mark)
            try body(&self)
            out.append(PickleOpcode.tuple)
        }
        memoize()
    }

    private mutating func writeAppends(_ items: [PickleValue]) throws {
        var i = 0
        while i < items.count {
            let n = min(1000, items.count - i)
            if n == 1 {
                try save(items[i])
                out.append(PickleOpcode.append)
            } else {
                out.append(PickleOpcode.mark)
                for k in i..<(i + n) { try save(items[k]) }
                out.append(PickleOpcode.appends)
            }
            i += n
        }
    }

    private mutating func writeSetItems(_ items: [(key: PickleValue, value: PickleValue)]) throws {
        var i = 0
        while i < items.count {
            let n = min(1000, items.count - i)
            if n == 1 {
                try save(items[i].key)
                try save(items[i].value)
                out.append(PickleOpcode.setItem)
            } else {
                out.append(PickleOpcode.mark)
                for k in i..<(i + n) { try save(items[k].key); try save(items[k].value) }
                out.append(PickleOpcode.setItems)
            }
            i += n
        }
    }

    // MARK: - Values

    mutating func save(_ value: PickleValue) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= maxDepth else { throw OpsError.invalid("value nested deeper than \(maxDepth) levels cannot be pickled") }
        // Shared sub-values are written once per reference; refuse a tree that explodes.
        guard out.count <= PickleWriter.maxPickleBytes else {
            throw OpsError.invalid("the pickled object exceeds \(PickleWriter.maxPickleBytes >> 20) MiB (tensor data excluded): refusing to write it")
        }
        switch value {
        case .none: out.append(PickleOpcode.none)
        case let .bool(b): out.append(b ? PickleOpcode.newTrue : PickleOpcode.newFalse)
        case let .int(i): writeInt(i)
        case let .bigInt(b): writeLong(b)
        case let .float(d): writeFloat(d)
        case let .string(s): writeString(s)
        case let .bytes(b):
            if b.isEmpty {
                writeGlobal("__builtin__", "bytes")
                out.append(PickleOpcode.emptyTuple)
            } else {
                writeGlobal("_codecs", "encode")
                writeTuple(count: 2) { w in
                    w.writeString(String(String.UnicodeScalarView(b.map { UnicodeScalar($0) })))
                    w.writeSharedString("latin1")
                }
            }
            out.append(PickleOpcode.reduce)
            memoize()
        case let .list(l):
            out.append(PickleOpcode.emptyList)
            memoize()
            try writeAppends(l)
        case let .tuple(l):
            try writeTuple(count: l.count) { w in for x in l { try w.save(x) } }
        case let .dict(d):
            out.append(PickleOpcode.emptyDict)
            memoize()
            try writeSetItems(d.items)
        case let .set(l), let .frozenset(l):
            if case .set = value { writeGlobal("__builtin__", "set") } else { writeGlobal("__builtin__", "frozenset") }
            try writeTuple(count: 1) { w in try w.save(.list(l)) }
            out.append(PickleOpcode.reduce)
            memoize()
        case let .global(m, n): writeGlobal(m, n)
        case let .object(o): try saveObject(o)
        case let .orderedDict(d, attributes):
            writeGlobal("collections", "OrderedDict")
            out.append(PickleOpcode.emptyTuple)
            out.append(PickleOpcode.reduce)
            memoize()
            try writeSetItems(d.items)
            if attributes.count > 0 {
                try save(.dict(attributes))
                out.append(PickleOpcode.build)
            }
        case let .tensor(t): try saveTensor(t)
        case let .storage(s):
            savePersistentID(key: sharedKey(s), dtype: s.dtype, numel: s.numel, untyped: s.picklesUntyped, location: s.location)
        case let .dtype(t): writeGlobal("torch", t.torchName)
        case let .device(d):
            writeGlobal("torch", "device")
            let parts = d.split(separator: ":", maxSplits: 1).map(String.init)
            if parts.count == 2, let index = Int(parts[1]) {
                writeTuple(count: 2) { w in w.writeString(parts[0]); w.writeInt(index) }
            } else {
                writeTuple(count: 1) { w in w.writeString(d) }
            }
            out.append(PickleOpcode.reduce)
            memoize()
        case let .size(s):
            writeGlobal("torch", "Size")
            writeTuple(count: 1) { w in w.writeTuple(count: s.count) { w in for x in s { w.writeInt(x) } } }
            out.append(PickleOpcode.reduce)
            memoize()
        }
    }

    private mutating func saveObject(_ o: PickleObject) throws {
        writeGlobal(o.module, o.name)
        try writeTuple(count: o.args.count) { w in for a in o.args { try w.save(a) } }
        switch o.construction {
        case .reduce: out.append(PickleOpcode.reduce)
        case .newobj: out.append(PickleOpcode.newObj)
        case let .newobjEx(kwargs):
            try save(kwargs)
            out.append(PickleOpcode.newObjEx)
        }
        memoize()
        if !o.listItems.isEmpty { try writeAppends(o.listItems) }
        if !o.dictItems.isEmpty { try writeSetItems(o.dictItems) }
        if let state = o.state {
            try save(state)
            out.append(PickleOpcode.build)
        }
    }

    // MARK: - Tensors

    /// What makes two tensors "the same object" for the memo: the same view of the same bytes.
    struct TensorIdentity: Hashable {
        let store: ObjectIdentifier
        let byteOffset: Int
        let shape: [Int]
        let strides: [Int]
        let dtype: DType
        let requiresGrad: Bool
        let isParameter: Bool
    }

    private func identity(_ t: TorchTensor) -> TensorIdentity? {
        guard case let .view(store, off, strides) = t.tensor.node else { return nil }
        return TensorIdentity(store: ObjectIdentifier(store), byteOffset: off, shape: t.shape, strides: strides,
                              dtype: t.dtype, requiresGrad: t.requiresGrad, isParameter: t.isParameter)
    }

    private mutating func sharedKey(_ s: TorchStorage) -> String {
        let id = ObjectIdentifier(s)
        if let k = sharedStorageKeys[id] { return k }
        let k = String(storages.count)
        sharedStorageKeys[id] = k
        storages.append(Storage(key: k, dtype: s.dtype, numel: s.numel, data: s.data))
        return k
    }

    private mutating func saveTensor(_ t: TorchTensor) throws {
        let id = identity(t)
        if let id, let i = tensorMemo[id] { get(i); return }
        if t.isParameter {
            writeGlobal("torch._utils", "_rebuild_parameter")
            var data = t
            data.isParameter = false
            data.requiresGrad = false
            try writeTuple(count: 3) { w in
                try w.saveTensor(data)
                w.out.append(t.requiresGrad ? PickleOpcode.newTrue : PickleOpcode.newFalse)
                w.writeEmptyOrderedDict()
            }
        } else {
            // The storage: a shared one whole (the tensor keeps its offset and strides), else a
            // compact one of its own. torch pickles it typed (v2) when the tensor's dtype has a
            // legacy storage class, else untyped (v3, which names the dtype).
            let key: String, storageDType: DType, storageNumel: Int, untyped: Bool, location: String
            let offset: Int, stride: [Int]
            if let s = t.storage, sharedStorages.contains(ObjectIdentifier(s)) {
                (key, storageDType, storageNumel, untyped, location) = (sharedKey(s), s.dtype, s.numel, s.picklesUntyped, s.location)
                (offset, stride) = (t.storageOffset, t.stride)
            } else {
                key = String(storages.count)
                storages.append(Storage(key: key, dtype: t.dtype, numel: t.tensor.numel, data: t.tensor))
                (storageDType, storageNumel, untyped, location) = (t.dtype, t.tensor.numel, t.dtype.storageName == nil, t.storage?.location ?? "cpu")
                (offset, stride) = (0, TorchTensor.contiguousStrides(t.shape))
            }
            // A typed storage of another dtype (only from a foreign writer) is also viewed by v3.
            let v3 = untyped || storageDType != t.dtype
            writeGlobal("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2")
            writeTuple(count: v3 ? 7 : 6) { w in
                w.savePersistentID(key: key, dtype: storageDType, numel: storageNumel, untyped: untyped, location: location)
                w.writeInt(offset)
                w.writeTuple(count: t.shape.count) { w in for x in t.shape { w.writeInt(x) } }
                w.writeTuple(count: stride.count) { w in for x in stride { w.writeInt(x) } }
                w.out.append(t.requiresGrad ? PickleOpcode.newTrue : PickleOpcode.newFalse)
                w.writeEmptyOrderedDict()
                if v3 { w.writeGlobal("torch", t.dtype.torchName) }
            }
        }
        out.append(PickleOpcode.reduce)
        if let id { tensorMemo[id] = memoCount }
        memoize()
    }

    private mutating func writeEmptyOrderedDict() {
        writeGlobal("collections", "OrderedDict")
        out.append(PickleOpcode.emptyTuple)
        out.append(PickleOpcode.reduce)
        memoize()
    }

    /// `('storage', torch.XStorage, key, location, numel)`, or for an untyped storage
    /// `('storage', torch.storage.UntypedStorage, key, location, bytes)`.
    private mutating func savePersistentID(key: String, dtype: DType, numel: Int, untyped: Bool, location: String) {
        writeTuple(count: 5) { w in
            w.writeSharedString("storage")
            if untyped || dtype.storageName == nil {
                w.writeGlobal("torch.storage", "UntypedStorage")
            } else {
                w.writeGlobal("torch", dtype.storageName ?? "")
            }
            w.writeSharedString(key)
            w.writeSharedString(location)
            w.writeInt(untyped || dtype.storageName == nil ? numel * dtype.size : numel)
        }
        out.append(PickleOpcode.binPersID)
    }
}
