/// The name bookkeeping shared by every "several tensors <-> one tensor" transform (GLU, QKV,
/// concat, zero-k): finding the parts of each merge instance, strictly, and placing the result.
///
/// Forward groups the names matched by the part patterns by their captures (`{L}`, `{E}`, `*`):
/// one group = one merge instance. Every instance must have all its parts (§9 Q20): a layer with
/// `q_proj` but no `v_proj` is an error naming the missing tensor. The merged tensor takes the
/// position of the instance's first part in the map; the parts are removed. Inverse matches the
/// output pattern, splits, and puts the parts (in part order) where the merged tensor was.
struct MergeEngine: Sendable {
    let pairing: PatternPairing
    let presence: Presence
    let step: String

    /// `combine` gets the parts in part order (and their names, for errors) and the output name.
    func merge(_ tensors: TensorMap, combine: ([Tensor], [String], String) throws -> Tensor) throws -> TensorMap {
        var replace: [String: [(String, Tensor)]] = [:]
        var remove = Set<String>()
        for pair in pairing.pairs {
            // capture key -> names per part; order of first appearance.
            var groups: [String: [String?]] = [:]
            var captures: [String: [String: String]] = [:]
            var firstName: [String: String] = [:]
            var order: [String] = []
            for name in tensors.names {
                for (i, p) in pair.parts.enumerated() {
                    guard let caps = p.match(name) else { continue }
                    let key = caps.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1}")
                    if groups[key] == nil {
                        groups[key] = [String?](repeating: nil, count: pair.parts.count)
                        captures[key] = caps
                        firstName[key] = name
                        order.append(key)
                    }
                    groups[key]![i] = name
                    break
                }
            }
            if order.isEmpty {
                if presence == .required { throw nothingMatched(pair.parts[0], step: step) }
                continue
            }
            for key in order {
                let caps = captures[key]!
                let names = groups[key]!
                if let missing = names.firstIndex(where: { $0 == nil }) {
                    let present = names.compactMap { $0 }.joined(separator: "', '")
                    let want = try pair.parts[missing].render(caps)
                    throw OpsError.tensor(name: want, message: "missing: \(step) needs it together with '\(present)'")
                }
                let partNames = names.map { $0! }
                let parts = partNames.map { tensors[$0]! }
                let outName = try pair.output.render(caps)
                let merged = try combine(parts, partNames, outName)
                let first = firstName[key]!
                replace[first] = [(outName, merged)]
                for n in partNames where n != first { remove.insert(n) }
            }
        }
        try rejectLookalikes(tensors, consumed: remove.union(replace.keys), outputs: pairing.pairs.map(\.output), step: step)
        return try tensors.rebuilt(replace: replace, remove: remove, step: step)
    }

    /// `divide` gets the merged tensor and its name and returns one tensor per part.
    func split(_ tensors: TensorMap, divide: (Tensor, String) throws -> [Tensor]) throws -> TensorMap {
        var replace: [String: [(String, Tensor)]] = [:]
        for pair in pairing.pairs {
            var found = false
            for (name, tensor) in tensors {
                guard replace[name] == nil, let caps = pair.output.match(name) else { continue }
                found = true
                let parts = try divide(tensor, name)
                precondition(parts.count == pair.parts.count, "divide must return one tensor per part")
                replace[name] = try zip(pair.parts, parts).map { (try $0.render(caps), $1) }
            }
            if !found && presence == .required { throw nothingMatched(pair.output, step: step + " (inverse)") }
        }
        return try tensors.rebuilt(replace: replace, step: step + " (inverse)")
    }
}

/// Checks that `value` divides evenly, with a message that names the tensor.
func requireDivisible(_ value: Int, by n: Int, _ what: String, tensor: String) throws {
    guard n > 0, value % n == 0 else {
        throw OpsError.tensor(name: tensor, message: "\(what) (\(value)) does not divide by \(n)")
    }
}

/// Checks rank >= 1 and returns the row count.
func rows(of t: Tensor, _ name: String) throws -> Int {
    guard t.rank >= 1 else { throw OpsError.tensor(name: name, message: "is a scalar; expected at least one dimension") }
    return t.shape[0]
}

/// Checks the parts agree on dtype and on every dimension after the first.
func requireSameTrailing(_ parts: [Tensor], _ names: [String]) throws {
    for (t, n) in zip(parts, names) {
        guard t.rank >= 1 else { throw OpsError.tensor(name: n, message: "is a scalar; expected at least one dimension") }
        guard t.dtype == parts[0].dtype, Array(t.shape.dropFirst()) == Array(parts[0].shape.dropFirst()) else {
            throw OpsError.tensor(name: n, message: "\(t) does not fit '\(names[0])' \(parts[0]) (dtype and all but the first dimension must agree)")
        }
    }
}

/// Forward may not leave a tensor that already looks like one of its outputs: the inverse would
/// take it apart too, so inverse(forward(x)) would not be x.
func rejectLookalikes(_ tensors: TensorMap, consumed: Set<String>, outputs: [NamePattern], step: String) throws {
    for name in tensors.names where !consumed.contains(name) {
        if let p = outputs.first(where: { $0.matches(name) }) {
            throw OpsError.tensor(name: name, message: "already matches the output pattern '\(p)' of \(step), whose inverse would take it apart too; rename it first or narrow the pattern")
        }
    }
}
