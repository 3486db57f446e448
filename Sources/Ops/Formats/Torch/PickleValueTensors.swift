extension PickleValue {
    /// Every tensor inside the value with its path: dict keys, list/tuple indices and object
    /// attributes joined with `/`, OrderedDict instance attributes as `@name` (the convention of
    /// the fixtures' `.expected.json`, e.g. `model/decoder.layers.0.mlp.linear_fc1.weight`).
    /// Used by `inspect` and by anything that needs tensors outside `model`. Shared sub-values
    /// are visited once per reference; the walk stops after `maxNodes` nodes or once the paths
    /// built reach `maxPathBytes` in total (a hostile pickle can describe an exponentially large
    /// tree in a few bytes, and each visit builds a path as long as the tree is deep).
    public func tensors(prefix: String = "", maxNodes: Int = 10_000_000, maxPathBytes: Int = 1 << 27) -> [(path: String, tensor: TorchTensor)] {
        var out: [(String, TorchTensor)] = []
        var visited = 0
        var pathBytes = 0
        func join(_ p: String, _ k: String) -> String { p.isEmpty ? k : p + "/" + k }
        func key(_ k: PickleValue) -> String {
            switch k {
            case let .string(s): return s
            case let .int(i): return String(i)
            default: return k.description
            }
        }
        func walk(_ v: PickleValue, _ path: String, _ depth: Int) {
            visited += 1
            pathBytes += path.utf8.count
            guard depth < 1000, visited <= maxNodes, pathBytes <= maxPathBytes else { return }
            switch v {
            case let .tensor(t): out.append((path, t))
            case let .dict(d):
                for (k, x) in d.items { walk(x, join(path, key(k)), depth + 1) }
            case let .orderedDict(d, attributes):
                for (k, x) in d.items { walk(x, join(path, key(k)), depth + 1) }
                for (k, x) in attributes.items { walk(x, join(path, "@" + key(k)), depth + 1) }
            case let .list(l), let .tuple(l), let .set(l), let .frozenset(l):
                for (i, x) in l.enumerated() { walk(x, join(path, String(i)), depth + 1) }
            case let .object(o):
                for (i, x) in o.args.enumerated() { walk(x, join(path, "#\(i)"), depth + 1) }
                if let attributes = o.attributes {
                    for (k, x) in attributes.items { walk(x, join(path, key(k)), depth + 1) }
                } else if let state = o.state {
                    walk(state, join(path, "@state"), depth + 1)
                }
                for (i, x) in o.listItems.enumerated() { walk(x, join(path, String(i)), depth + 1) }
                for (k, x) in o.dictItems { walk(x, join(path, key(k)), depth + 1) }
            default: break
            }
        }
        walk(self, prefix, 0)
        return out
    }
}
