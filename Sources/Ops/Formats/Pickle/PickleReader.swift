/// A pickle interpreter that never executes code.
///
/// It runs the pickle virtual machine over a byte buffer, but a "call" only ever builds data: the
/// torch rebuild functions become `TorchTensor`s, a few builtins become Python values, and any other
/// class becomes an inert `PickleObject`. Limits (stack, memo, nesting, declared lengths) keep a
/// hostile file from exhausting memory or recursion; every error names the byte offset.
public struct PickleReader {
    /// Resource limits against hostile input.
    public struct Limits {
        /// Maximum nesting of containers in the result (Python's own recursion limit is 1000).
        public var maxDepth = 500
        public var maxStack = 1 << 22
        public var maxMemo = 1 << 22
        public var maxMarks = 1 << 16
        public init() {}
    }

    /// Resolves a persistent id (torch: `('storage', torch.XStorage, key, location, numel)`).
    public typealias PersistentLoad = (PickleValue) throws -> PickleValue

    let data: UnsafeRawBufferPointer
    let path: String
    let limits: Limits
    let persistentLoad: PersistentLoad?

    /// - Parameters:
    ///   - path: used in error messages (`file.pt:data.pkl`).
    public init(_ data: UnsafeRawBufferPointer, path: String, limits: Limits = Limits(), persistentLoad: PersistentLoad? = nil) {
        self.data = data
        self.path = path
        self.limits = limits
        self.persistentLoad = persistentLoad
    }

    /// Decodes one pickle (up to its STOP opcode).
    public func read() throws -> PickleValue {
        var machine = PickleMachine(reader: self)
        return try machine.run()
    }

    /// Decodes a pickle held in an array (tests, small side files).
    public static func read(_ bytes: [UInt8], path: String = "<pickle>", limits: Limits = Limits(), persistentLoad: PersistentLoad? = nil) throws -> PickleValue {
        try bytes.withUnsafeBytes { try PickleReader($0, path: path, limits: limits, persistentLoad: persistentLoad).read() }
    }
}

/// A container still being built: pickle mutates lists, dicts and objects after creating them
/// (and the memo may hold them), so they live in reference boxes until the final conversion.
final class PickleBox {
    enum Kind {
        case list([PickleItem])
        case tuple([PickleItem])
        case dict([(PickleItem, PickleItem)])
        case set([PickleItem], frozen: Bool)
        case orderedDict([(PickleItem, PickleItem)], state: PickleItem?)
        case object(module: String, name: String, construction: PickleObject.Construction, args: [PickleItem],
                    state: PickleItem?, listItems: [PickleItem], dictItems: [(PickleItem, PickleItem)])
    }
    var kind: Kind
    /// Recorded in `PickleMachine.mutated` (so each box is recorded once).
    var isTracked = false
    init(_ kind: Kind) { self.kind = kind }
}

enum PickleItem {
    case value(PickleValue)
    case box(PickleBox)
}

struct PickleMachine {
    let reader: PickleReader
    var pos = 0
    var stack: [PickleItem] = []
    var marks: [Int] = []
    var memo: [Int: PickleItem] = [:]
    /// Offset of the opcode being executed (for messages).
    var opStart = 0
    /// Boxes filled after creation (APPEND, SETITEM, BUILD, ADDITEMS): the only way a box can come
    /// to contain itself. Emptied when the run ends so a hostile cyclic pickle leaks no memory.
    var mutated: [PickleBox] = []

    init(reader: PickleReader) { self.reader = reader }

    var bytes: UnsafeRawBufferPointer { reader.data }

    func fail(_ message: String) -> OpsError {
        .format(path: reader.path, message: "pickle byte offset \(opStart): \(message)")
    }

    // MARK: - Reading operands

    mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else {
            throw fail("\(what) declares \(n) bytes but only \(bytes.count - pos) remain (truncated or corrupt pickle)")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    mutating func u8() throws -> Int { Int(try take(1, "operand")[0]) }
    mutating func u16() throws -> Int { let b = try take(2, "operand"); return Int(b[0]) | Int(b[1]) << 8 }
    mutating func u32() throws -> UInt32 {
        let b = try take(4, "operand")
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
    mutating func u64(_ what: String) throws -> Int {
        let b = try take(8, "operand")
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(b[i]) << (8 * UInt64(i)) }
        guard v <= UInt64(Int.max) else { throw fail("\(what) length \(v) is impossible") }
        return Int(v)
    }
    mutating func line() throws -> String {
        guard let nl = bytes[pos...].firstIndex(of: 0x0A) else { throw fail("unterminated text operand (no newline)") }
        defer { pos = nl + 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<nl]), as: UTF8.self)
    }
    mutating func utf8(_ n: Int, _ what: String) throws -> String {
        let b = try take(n, what)
        guard let s = String(validating: b, as: UTF8.self) else {
            // Python writes lone surrogates with 'surrogatepass'; keep the text readable anyway.
            return String(decoding: b, as: UTF8.self)
        }
        return s
    }

    // MARK: - Stack

    mutating func push(_ item: PickleItem) throws {
        guard stack.count < reader.limits.maxStack else { throw fail("stack exceeds \(reader.limits.maxStack) items") }
        stack.append(item)
    }
    mutating func push(_ v: PickleValue) throws { try push(.value(v)) }
    mutating func pop() throws -> PickleItem {
        guard let top = stack.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, stack.count < m { throw fail("stack underflow below a MARK") }
        return top
    }
    mutating func top() throws -> PickleItem {
        guard let t = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return t
    }
    mutating func popMark() throws -> [PickleItem] {
        guard let m = marks.popLast() else { throw fail("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }
    mutating func memoPut(_ key: Int, _ item: PickleItem) throws {
        guard key >= 0 else { throw fail("negative memo key \(key)") }
        if memo[key] == nil, memo.count >= reader.limits.maxMemo { throw fail("memo exceeds \(reader.limits.maxMemo) entries") }
        memo[key] = item
    }
    mutating func memoGet(_ key: Int) throws -> PickleItem {
        guard let item = memo[key] else { throw fail("memo key \(key) is not defined (GET before PUT)") }
        return item
    }

    // MARK: - Run

    mutating func run() throws -> PickleValue {
        typealias Op = PickleOpcode
        defer { breakCycles() }
        while true {
            opStart = pos
            guard pos < bytes.count else { throw fail("pickle ends without a STOP opcode (truncated)") }
            let op = bytes[pos]
            pos += 1
            switch op {
            case Op.proto:
                let v = try u8()
                guard v <= 5 else { throw fail("unsupported pickle protocol \(v)") }
            case Op.frame: _ = try u64("FRAME")
            case Op.stop:
                let result = try pop()
                var converter = converter()
                return try converter.convert(result)
            case Op.mark:
                guard marks.count < reader.limits.maxMarks else { throw fail("more than \(reader.limits.maxMarks) nested MARKs") }
                marks.append(stack.count)
            case Op.pop:
                if stack.count == (marks.last ?? -1) { _ = try popMark() } else { _ = try pop() }
            case Op.popMark: _ = try popMark()
            case Op.dup: try push(try top())

            // Scalars
            case Op.none: try push(.none)
            case Op.newTrue: try push(.bool(true))
            case Op.newFalse: try push(.bool(false))
            case Op.binInt: try push(.int(Int(Int32(bitPattern: try u32()))))
            case Op.binInt1: try push(.int(try u8()))
            case Op.binInt2: try push(.int(try u16()))
            case Op.long1: try push(try long(try u8()))
            case Op.long4:
                let n = Int(Int32(bitPattern: try u32()))
                guard n >= 0 else { throw fail("negative LONG4 length") }
                try push(try long(n))
            case Op.int:
                let s = try line()
                if s == "01" { try push(.bool(true)) } else if s == "00" { try push(.bool(false)) } else {
                    try push(try decimal(s, "INT"))
                }
            case Op.long:
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                try push(try decimal(s, "LONG"))
            case Op.binFloat:
                let b = try take(8, "BINFLOAT")
                var bits: UInt64 = 0
                for i in 0..<8 { bits = bits << 8 | UInt64(b[i]) }
                try push(.float(Double(bitPattern: bits)))
            case Op.float:
                let s = try line()
                guard let d = Double(s) else { throw fail("bad FLOAT operand '\(s.prefix(40))'") }
                try push(.float(d))

            // Strings and bytes
            case Op.binUnicode: try push(.string(try utf8(Int(try u32()), "BINUNICODE")))
            case Op.shortBinUnicode: try push(.string(try utf8(try u8(), "SHORT_BINUNICODE")))
            case Op.binUnicode8: try push(.string(try utf8(try u64("BINUNICODE8"), "BINUNICODE8")))
            case Op.unicode: try push(.string(PickleText.rawUnicodeEscape(try line())))
            case Op.binString: try push(.string(try legacyString(Int(Int32(bitPattern: try u32())))))
            case Op.shortBinString: try push(.string(try legacyString(try u8())))
            case Op.string:
                guard let s = PickleText.quotedString(try line()) else { throw fail("bad STRING operand") }
                try push(.string(s))
            case Op.binBytes: try push(.bytes(Array(try take(Int(try u32()), "BINBYTES"))))
            case Op.shortBinBytes: try push(.bytes(Array(try take(try u8(), "SHORT_BINBYTES"))))
            case Op.binBytes8: try push(.bytes(Array(try take(try u64("BINBYTES8"), "BINBYTES8"))))
            case Op.byteArray8:
                let b = Array(try take(try u64("BYTEARRAY8"), "BYTEARRAY8"))
                try push(.box(PickleBox(.object(module: "builtins", name: "bytearray", construction: .reduce, args: [.value(.bytes(b))], state: nil, listItems: [], dictItems: []))))

            // Containers
            case Op.emptyList: try push(.box(PickleBox(.list([]))))
            case Op.emptyDict: try push(.box(PickleBox(.dict([]))))
            case Op.emptySet: try push(.box(PickleBox(.set([], frozen: false))))
            case Op.emptyTuple: try push(.tuple([]))
            // The marked items are popped into a local first: `push(f(try popMark()))` keeps the
            // machine borrowed while popMark mutates it, so Swift copies the whole stack (thousands
            // of items in a rank file's SETITEMS batches) on every TUPLE.
            case Op.list:
                let items = try popMark()
                try push(.box(PickleBox(.list(items))))
            case Op.tuple:
                let items = try popMark()
                try push(makeTuple(items))
            case Op.tuple1:
                let a = try pop()
                try push(makeTuple([a]))
            case Op.tuple2:
                let b = try pop(), a = try pop()
                try push(makeTuple([a, b]))
            case Op.tuple3:
                let c = try pop(), b = try pop(), a = try pop()
                try push(makeTuple([a, b, c]))
            case Op.dict:
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
                try push(.box(PickleBox(.dict(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }))))
            case Op.frozenSet:
                let items = try popMark()
                try push(.box(PickleBox(.set(items, frozen: true))))
            case Op.append:
                let v = try pop()
                // `mutable` first, on its own: inside the call's arguments it would mutate the
                // machine while the call holds a copy of it, copying `mutated` every time.
                let target = mutable(try top())
                try append(to: target, [v])
            case Op.appends:
                let items = try popMark()
                let target = mutable(try top())
                try append(to: target, items)
            case Op.setItem:
                let v = try pop(), k = try pop()
                let target = mutable(try top())
                try setItems(on: target, [(k, v)])
            case Op.setItems:
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                let target = mutable(try top())
                try setItems(on: target, stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) })
            case Op.addItems:
                let items = try popMark()
                guard case let .box(box) = mutable(try top()), case .set(var s, let frozen) = box.kind else { throw fail("ADDITEMS on a non-set") }
                s += items
                box.kind = .set(s, frozen: frozen)

            // Memo
            case Op.put:
                guard let k = Int(try line()) else { throw fail("bad PUT operand") }
                try memoPut(k, try top())
            case Op.binPut: try memoPut(try u8(), try top())
            case Op.longBinPut: try memoPut(Int(try u32()), try top())
            case Op.memoize: try memoPut(memo.count, try top())
            case Op.get:
                guard let k = Int(try line()) else { throw fail("bad GET operand") }
                try push(try memoGet(k))
            case Op.binGet: try push(try memoGet(try u8()))
            case Op.longBinGet: try push(try memoGet(Int(try u32())))

            // Globals, calls, state
            case Op.global:
                let module = try line(), name = try line()
                try push(PickleCalls.global(module: module, name: name))
            case Op.stackGlobal:
                let n = try pop(), m = try pop()
                guard case let .value(.string(name)) = n, case let .value(.string(module)) = m else {
                    throw fail("STACK_GLOBAL needs two strings")
                }
                try push(PickleCalls.global(module: module, name: name))
            case Op.reduce:
                let args = try pop(), callable = try pop()
                try push(try call(callable, args: args))
            case Op.newObj:
                let args = try pop(), cls = try pop()
                try push(try newObject(cls, args: args, kwargs: nil))
            case Op.newObjEx:
                let kwargs = try pop(), args = try pop(), cls = try pop()
                try push(try newObject(cls, args: args, kwargs: kwargs))
            case Op.inst:
                let module = try line(), name = try line()
                let args = try popMark()
                try push(.box(PickleBox(.object(module: module, name: name, construction: .reduce, args: args, state: nil, listItems: [], dictItems: []))))
            case Op.obj:
                let items = try popMark()
                guard let cls = items.first else { throw fail("OBJ without a class") }
                try push(try newObject(cls, args: makeTuple(Array(items.dropFirst())), kwargs: nil))
            case Op.build:
                let state = try pop()
                let target = mutable(try top())
                try build(target, state: state)
            case Op.binPersID:
                let pid = try pop()
                try push(try persistent(pid))
            case Op.persID:
                try push(try persistent(.value(.string(try line()))))
            case Op.ext1, Op.ext2, Op.ext4:
                throw fail("extension registry opcodes (EXT1/2/4) are not supported")
            case Op.nextBuffer, Op.readOnlyBuffer:
                throw fail("out-of-band buffers (pickle protocol 5 NEXT_BUFFER/READONLY_BUFFER) are not supported")
            default:
                throw fail("unknown pickle opcode 0x\(String(op, radix: 16)) ('\(op >= 0x20 && op < 0x7F ? String(UnicodeScalar(op)) : "?")')")
            }
        }
    }

    // MARK: - Helpers

    mutating func long(_ n: Int) throws -> PickleValue {
        let b = Array(try take(n, "LONG"))
        if b.isEmpty { return .int(0) }
        if b.count <= 8 {
            var v: UInt64 = 0
            for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
            if b.count < 8, b.last! & 0x80 != 0 { v |= ~0 << (8 * UInt64(b.count)) }
            return .int(Int(Int64(bitPattern: v)))
        }
        return .bigInt(b)
    }

    /// A decimal integer of any size (protocol 0 INT/LONG).
    func decimal(_ text: String, _ what: String) throws -> PickleValue {
        if let v = Int(text) { return .int(v) }
        var digits = Array(text.utf8)
        let negative = digits.first == UInt8(ascii: "-")
        if negative || digits.first == UInt8(ascii: "+") { digits.removeFirst() }
        guard !digits.isEmpty, digits.count < 100_000, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw fail("bad \(what) operand '\(text.prefix(40))'")
        }
        // Magnitude as little-endian bytes, by schoolbook multiply-add.
        var mag: [UInt8] = []
        for d in digits {
            var carry = Int(d - 48)
            for i in mag.indices {
                let v = Int(mag[i]) * 10 + carry
                mag[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
            while carry > 0 { mag.append(UInt8(carry & 0xFF)); carry >>= 8 }
        }
        mag.append(0)  // room for the sign bit
        if negative {  // two's complement
            var carry = 1
            for i in mag.indices {
                let v = Int(~mag[i]) + carry
                mag[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        while mag.count > 1, (mag[mag.count - 1] == 0 && mag[mag.count - 2] & 0x80 == 0) || (mag[mag.count - 1] == 0xFF && mag[mag.count - 2] & 0x80 != 0) {
            mag.removeLast()
        }
        return .bigInt(mag)
    }

    mutating func legacyString(_ n: Int) throws -> String {
        let b = try take(n, "BINSTRING")
        return String(validating: b, as: UTF8.self) ?? String(b.map { Character(UnicodeScalar($0)) })
    }

    /// Records `target` as mutated (see `mutated`) and returns it.
    mutating func mutable(_ target: PickleItem) -> PickleItem {
        if case let .box(box) = target, !box.isTracked {
            box.isTracked = true
            mutated.append(box)
        }
        return target
    }

    /// Empties every mutated box, breaking any reference cycle among boxes (the result is already
    /// converted to values, which hold no boxes).
    mutating func breakCycles() {
        for box in mutated { box.kind = .list([]) }
        mutated = []
    }

    func makeTuple(_ items: [PickleItem]) -> PickleItem {
        var values: [PickleValue] = []
        values.reserveCapacity(items.count)
        for i in items {
            guard case let .value(v) = i else { return .box(PickleBox(.tuple(items))) }
            values.append(v)
        }
        return .value(.tuple(values))
    }

    func append(to target: PickleItem, _ items: [PickleItem]) throws {
        guard case let .box(box) = target else { throw fail("APPEND to a non-list") }
        switch box.kind {
        case var .list(l):
            box.kind = .list([])
            l += items
            box.kind = .list(l)
        case .object(let m, let n, let c, let a, let s, var li, let di):
            box.kind = .list([])
            li += items
            box.kind = .object(module: m, name: n, construction: c, args: a, state: s, listItems: li, dictItems: di)
        default: throw fail("APPEND to a non-list")
        }
    }

    func setItems(on target: PickleItem, _ items: [(PickleItem, PickleItem)]) throws {
        guard case let .box(box) = target else { throw fail("SETITEM on a non-dict") }
        switch box.kind {
        case var .dict(d):
            box.kind = .dict([])
            d += items
            box.kind = .dict(d)
        case .orderedDict(var d, let s):
            box.kind = .dict([])
            d += items
            box.kind = .orderedDict(d, state: s)
        case .object(let m, let n, let c, let a, let s, let li, var di):
            box.kind = .list([])
            di += items
            box.kind = .object(module: m, name: n, construction: c, args: a, state: s, listItems: li, dictItems: di)
        default: throw fail("SETITEM on a non-dict")
        }
    }

    func build(_ target: PickleItem, state: PickleItem) throws {
        switch target {
        case let .box(box):
            switch box.kind {
            case let .orderedDict(d, _): box.kind = .orderedDict(d, state: state)
            case let .object(m, n, c, a, _, li, di):
                box.kind = .object(module: m, name: n, construction: c, args: a, state: state, listItems: li, dictItems: di)
            default: throw fail("BUILD on a built-in container")
            }
        case .value(.tensor):
            // Tensor subclasses may carry extra state; the elements are already known.
            break
        default: throw fail("BUILD on a value that takes no state")
        }
    }

    mutating func persistent(_ pid: PickleItem) throws -> PickleItem {
        guard let load = reader.persistentLoad else { throw fail("persistent id without a persistent loader (not a torch checkpoint?)") }
        var converter = converter()
        let value = try converter.convert(pid)
        do { return .value(try load(value)) } catch let e as OpsError {
            if case let .format(_, message) = e { throw fail(message) }
            throw e
        }
    }

    mutating func call(_ callable: PickleItem, args: PickleItem) throws -> PickleItem {
        guard case let .value(.global(module, name)) = callable else {
            throw fail("REDUCE of something that is not a global (\(describe(callable)))")
        }
        var converter = converter()
        if let known = try PickleCalls.reduce(module: module, name: name, args: { try converter.convert(args) }, fail: fail) {
            return known
        }
        guard case let .value(.tuple(a)) = args else {
            if case let .box(b) = args, case let .tuple(items) = b.kind {
                return .box(PickleBox(.object(module: module, name: name, construction: .reduce, args: items, state: nil, listItems: [], dictItems: [])))
            }
            throw fail("REDUCE arguments are not a tuple")
        }
        return .box(PickleBox(.object(module: module, name: name, construction: .reduce, args: a.map { .value($0) }, state: nil, listItems: [], dictItems: [])))
    }

    mutating func newObject(_ cls: PickleItem, args: PickleItem, kwargs: PickleItem?) throws -> PickleItem {
        guard case let .value(.global(module, name)) = cls else { throw fail("NEWOBJ of something that is not a class") }
        var items: [PickleItem] = []
        if case let .value(.tuple(a)) = args {
            items = a.map { .value($0) }
        } else if case let .box(b) = args, case let .tuple(t) = b.kind {
            items = t
        } else {
            throw fail("NEWOBJ arguments are not a tuple")
        }
        if module == "collections", name == "OrderedDict", items.isEmpty, kwargs == nil {
            return .box(PickleBox(.orderedDict([], state: nil)))
        }
        let construction: PickleObject.Construction
        var converter = converter()
        if let kwargs { construction = .newobjEx(kwargs: try converter.convert(kwargs)) } else { construction = .newobj }
        return .box(PickleBox(.object(module: module, name: name, construction: construction, args: items, state: nil, listItems: [], dictItems: [])))
    }

    func converter() -> PickleConverter {
        PickleConverter(maxDepth: reader.limits.maxDepth, path: reader.path, offset: opStart)
    }

    func describe(_ item: PickleItem) -> String {
        switch item {
        case let .value(v): return v.typeName
        case .box: return "container"
        }
    }
}
