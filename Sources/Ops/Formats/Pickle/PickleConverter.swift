/// Turns the interpreter's boxes into plain `PickleValue`s, detecting self-containing structures
/// and bounding the nesting depth. A box shared by several parents is converted once.
struct PickleConverter {
    let maxDepth: Int
    let path: String
    let offset: Int
    private var done: [ObjectIdentifier: PickleValue] = [:]
    private var inProgress: Set<ObjectIdentifier> = []

    init(maxDepth: Int, path: String, offset: Int) {
        self.maxDepth = maxDepth
        self.path = path
        self.offset = offset
    }

    func fail(_ message: String) -> OpsError { .format(path: path, message: "pickle byte offset \(offset): \(message)") }

    mutating func convert(_ item: PickleItem) throws -> PickleValue { try convert(item, depth: 0) }

    mutating func convert(_ item: PickleItem, depth: Int) throws -> PickleValue {
        switch item {
        case let .value(v):
            if depth > maxDepth { throw depthError() }
            return v
        case let .box(box):
            let id = ObjectIdentifier(box)
            if let v = done[id] { return v }
            guard depth <= maxDepth else { throw depthError() }
            guard !inProgress.contains(id) else {
                throw fail("recursive structure: a container contains itself, which a checkpoint cannot hold")
            }
            inProgress.insert(id)
            defer { inProgress.remove(id) }
            let v = try convertBox(box, depth: depth + 1)
            done[id] = v
            return v
        }
    }

    func depthError() -> OpsError {
        fail("containers nested deeper than \(maxDepth) levels")
    }

    mutating func convertBox(_ box: PickleBox, depth: Int) throws -> PickleValue {
        switch box.kind {
        case let .list(items): return .list(try items.map { try convert($0, depth: depth) })
        case let .tuple(items): return .tuple(try items.map { try convert($0, depth: depth) })
        case let .set(items, frozen):
            let values = try items.map { try convert($0, depth: depth) }
            return frozen ? .frozenset(values) : .set(values)
        case let .dict(items): return .dict(try pairs(items, depth: depth))
        case let .orderedDict(items, state):
            let d = try pairs(items, depth: depth)
            var attributes = PickleDict()
            if let state {
                let s = try convert(state, depth: depth)
                switch s {
                case let .dict(a): attributes = a
                case let .tuple(t) where t.count == 2:
                    if let a = t[0].dictValue { attributes = a }
                    if let b = t[1].dictValue { attributes.items += b.items }
                case .none: break
                default: throw fail("OrderedDict state is not a dict")
                }
            }
            return .orderedDict(d, attributes: attributes)
        case let .object(module, name, construction, args, state, listItems, dictItems):
            var o = PickleObject(module: module, name: name, construction: construction,
                                 args: try args.map { try convert($0, depth: depth) },
                                 state: try state.map { try convert($0, depth: depth) })
            o.listItems = try listItems.map { try convert($0, depth: depth) }
            o.dictItems = try pairs(dictItems, depth: depth).items
            return .object(o)
        }
    }

    mutating func pairs(_ items: [(PickleItem, PickleItem)], depth: Int) throws -> PickleDict {
        var d = PickleDict()
        d.items.reserveCapacity(items.count)
        for (k, v) in items { d.items.append((try convert(k, depth: depth), try convert(v, depth: depth))) }
        return d
    }
}
