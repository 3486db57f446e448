/// The dict of tensors chosen inside a `torch.save` object, as `convert` writes it out.
///
/// `key` is a dotted path (`model`, `model0`, `optimizer.state.0`); a key that itself contains
/// dots is found too (the longest matching key wins at each level).
public struct StateDictSelection {
    /// The chosen path; empty for the root object.
    public let key: String
    /// The tensors, in the dict's order, as lazy views (shared storages are separate tensors).
    public let tensors: TensorMap
    /// The dict's entries that are not tensors, with their Python types.
    public let skipped: [SkippedEntry]

    /// Chooses the dict: `key` when given; otherwise the root when it directly holds tensors,
    /// else `model`; otherwise throws an error listing the dicts of tensors found (`candidates`).
    public static func select(_ root: PickleValue, key: String?, path: String) throws -> StateDictSelection {
        let chosen: (key: String, value: PickleValue)
        if let key, !key.isEmpty {
            guard let v = resolve(root, key) else {
                throw OpsError.invalid("\(path): no entry '\(key)'; \(candidateText(root))")
            }
            chosen = (key, v)
        } else if let d = root.dictValue, d.items.contains(where: { $0.value.tensorValue != nil }) {
            chosen = ("", root)
        } else if let m = root["model"], m.dictValue != nil {
            chosen = ("model", m)
        } else {
            throw OpsError.invalid("\(path): the saved object (\(root.typeName)) is not a dict of tensors and has no 'model' dict; choose one with --key: \(candidateText(root))")
        }
        let label = chosen.key.isEmpty ? "the saved object" : "'\(chosen.key)'"
        guard let dict = chosen.value.dictValue else {
            throw OpsError.invalid("\(path): \(label) is a \(chosen.value.typeName), not a dict of tensors; \(candidateText(root))")
        }
        var map = TensorMap()
        var skipped: [SkippedEntry] = []
        for (k, v) in dict.items {
            let name = PickleValue.keyText(k)
            if case let .tensor(t) = v {
                guard !map.contains(name) else {
                    throw OpsError.format(path: path, message: "\(label) holds '\(name)' twice")
                }
                map[name] = t.tensor
            } else {
                let inside = v.tensors(maxNodes: 100_000).count
                skipped.append(SkippedEntry(name: name, type: inside > 0 ? "\(v.typeName) holding \(inside) tensors" : v.typeName))
            }
        }
        guard !map.isEmpty else {
            throw OpsError.invalid("\(path): \(label) holds no tensors; \(candidateText(root))")
        }
        return StateDictSelection(key: chosen.key, tensors: map, skipped: skipped)
    }

    /// The first of `keys` (dotted paths; "" is the saved object itself) that names a dict
    /// holding tensors, selected as by `select`: a checkpoint saved in one of several forms
    /// (Open-Sora-Plan's `{"ema_state_dict": ...}` or a bare state dict).
    public static func selectFirst(_ root: PickleValue, keys: [String], path: String) throws -> StateDictSelection {
        for k in keys {
            guard let v = k.isEmpty ? root : resolve(root, k), let d = v.dictValue,
                  d.items.contains(where: { $0.value.tensorValue != nil }) else { continue }
            return try select(root, key: k.isEmpty ? nil : k, path: path)
        }
        let tried = keys.map { $0.isEmpty ? "the saved object" : "'\($0)'" }.joined(separator: ", ")
        throw OpsError.invalid("\(path): none of \(tried) is a dict of tensors; \(candidateText(root))")
    }

    /// Follows a dotted path through dicts, object attributes and list indices.
    public static func resolve(_ value: PickleValue, _ key: String) -> PickleValue? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func child(_ v: PickleValue, _ k: String) -> PickleValue? {
            switch v {
            case let .list(l), let .tuple(l):
                guard let i = Int(k), i >= 0, i < l.count else { return nil }
                return l[i]
            case let .object(o):
                return o.attributes?.items.last(where: { PickleValue.keyText($0.key) == k })?.value
            default:
                return v.dictValue?.items.last(where: { PickleValue.keyText($0.key) == k })?.value
            }
        }
        func walk(_ v: PickleValue, _ rest: ArraySlice<String>) -> PickleValue? {
            if rest.isEmpty { return v }
            for n in stride(from: rest.count, through: 1, by: -1) {
                let k = rest.prefix(n).joined(separator: ".")
                if let c = child(v, k), let found = walk(c, rest.dropFirst(n)) { return found }
            }
            return nil
        }
        return walk(value, parts[...])
    }

    /// Dotted paths of every dict (to depth 4) that directly holds tensors, with their counts.
    public static func candidates(_ root: PickleValue) -> [(key: String, tensors: Int)] {
        var out: [(String, Int)] = []
        var budget = 10_000
        func walk(_ v: PickleValue, _ path: String, _ depth: Int) {
            budget -= 1
            guard budget > 0, depth <= 4 else { return }
            var pairs: [(String, PickleValue)] = []
            switch v {
            case let .list(l), let .tuple(l): pairs = l.enumerated().map { (String($0.offset), $0.element) }
            case let .object(o): pairs = (o.attributes?.items ?? []).map { (PickleValue.keyText($0.key), $0.value) }
            default: pairs = (v.dictValue?.items ?? []).map { (PickleValue.keyText($0.key), $0.value) }
            }
            let direct = pairs.filter { $0.1.tensorValue != nil }.count
            if direct > 0, v.dictValue != nil { out.append((path, direct)) }
            for (k, c) in pairs where c.tensorValue == nil { walk(c, path.isEmpty ? k : path + "." + k, depth + 1) }
        }
        walk(root, "", 0)
        return out
    }

    static func candidateText(_ root: PickleValue) -> String {
        let c = candidates(root)
        guard !c.isEmpty else { return "it holds no dict of tensors" }
        return "dicts of tensors in it: " + c.prefix(20).map { "\($0.key.isEmpty ? "(root)" : $0.key) (\($0.tensors) tensors)" }.joined(separator: ", ")
            + (c.count > 20 ? ", ..." : "")
    }
}
