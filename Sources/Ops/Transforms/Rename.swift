/// Renames tensors by an ordered list of rules (§3.1), e.g.
/// `visual.blocks.{L}.attn.proj.*` -> `image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj.*`.
///
/// Each name is renamed by the **first** rule (in list order) whose pattern matches it; names no
/// rule matches are kept. Patterns are anchored (use a trailing `*` to carry the rest of a name),
/// unlike the reference's unanchored regexes (§9 Q4). The inverse swaps each rule's sides and uses
/// the same first-match order. Forward checks, for every name it renames, that the inverse maps
/// the new name back to the old one, and that every name it leaves alone would also be left alone
/// by the inverse. So a rule set that could not be inverted exactly on this map (an earlier rule's
/// output shadowing a later rule; a broad MM-side pattern that would also catch names other steps
/// produce) fails up front instead of corrupting mm_to_hf.
public struct Rename: Transform {
    /// Replaces one captured number by a table entry, e.g. Qwen3-VL's deepstack merger `{K}` ->
    /// the ViT layer `{L}` = `deepstack_visual_indexes[K]` (§7.3). The table entries must be
    /// distinct, so the inverse can look the index up again.
    public struct Lookup: Sendable, Equatable {
        public let from: String
        public let to: String
        public let values: [Int]

        public init(from: String, to: String, values: [Int]) throws {
            guard Set(values).count == values.count else {
                throw OpsError.invalid("lookup {\(from)} -> {\(to)}: the values \(values) must be distinct to be invertible")
            }
            self.from = from
            self.to = to
            self.values = values
        }
    }

    public struct Rule: Sendable, CustomStringConvertible {
        public let from: NamePattern
        public let to: NamePattern
        public let presence: Presence
        public let lookup: Lookup?

        /// Alternative groups on the two sides pair positionally (`{norm1,norm2}` -> `{input_layernorm,pre_mlp_layernorm}`).
        public init(_ from: NamePattern, _ to: NamePattern, presence: Presence = .required, lookup: Lookup? = nil) throws {
            _ = try Rule.pairs(from, to, lookup)
            self.from = from
            self.to = to
            self.presence = presence
            self.lookup = lookup
        }

        public init(_ from: String, _ to: String, presence: Presence = .required, lookup: Lookup? = nil) throws {
            try self.init(try NamePattern(from), try NamePattern(to), presence: presence, lookup: lookup)
        }

        static func pairs(_ from: NamePattern, _ to: NamePattern, _ lookup: Lookup?) throws -> [PatternPairing.Pair] {
            if let l = lookup {
                guard from.captureNames.contains(l.from), to.captureNames.contains(l.to) else {
                    throw OpsError.invalid("rename '\(from)' -> '\(to)': the lookup needs {\(l.from)} in the input and {\(l.to)} in the output")
                }
                return try PatternPairing(input: from, output: to, parts: 1, extraOutputCaptures: [l.to], inputOnlyCaptures: [l.from]).pairs
            }
            return try PatternPairing(input: from, output: to, parts: 1).pairs
        }

        public var description: String { "\(from) -> \(to)" + (lookup.map { " {\($0.from)} -> {\($0.to)} = \($0.values)" } ?? "") }
    }

    public let rules: [Rule]
    /// Concrete (expanded) rules in order.
    private let concrete: [(rule: Int, from: NamePattern, to: NamePattern)]

    public init(_ rules: [Rule]) throws {
        self.rules = rules
        var c: [(rule: Int, from: NamePattern, to: NamePattern)] = []
        for (i, r) in rules.enumerated() {
            for p in try Rule.pairs(r.from, r.to, r.lookup) { c.append((i, p.parts[0], p.output)) }
        }
        concrete = c
    }

    /// Convenience for one rule.
    public init(_ from: String, _ to: String, presence: Presence = .required) throws {
        try self.init([try Rule(from, to, presence: presence)])
    }

    public var description: String { "rename " + rules.map(\.description).joined(separator: ", ") }

    public func forward(_ tensors: TensorMap) throws -> TensorMap { try apply(tensors, forward: true) }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap { try apply(tensors, forward: false) }

    /// The new name of `name` (nil when no rule matches).
    public func renamed(_ name: String, forward: Bool = true) throws -> String? {
        try firstRule(name, forward: forward)?.name
    }

    private func firstRule(_ name: String, forward: Bool) throws -> (name: String, index: Int)? {
        for (k, c) in concrete.enumerated() {
            let (from, to) = forward ? (c.from, c.to) : (c.to, c.from)
            guard var caps = from.match(name) else { continue }
            if let l = rules[c.rule].lookup {
                if forward {
                    let i = Int(caps[l.from]!)!
                    guard i < l.values.count else {
                        throw OpsError.tensor(name: name, message: "{\(l.from)} = \(i) has no entry in the lookup \(l.values) of rule '\(from)'")
                    }
                    caps[l.from] = nil
                    caps[l.to] = String(l.values[i])
                } else {
                    guard let i = l.values.firstIndex(of: Int(caps[l.to]!)!) else { continue }
                    caps[l.to] = nil
                    caps[l.from] = String(i)
                }
            }
            return (try to.render(caps), k)
        }
        return nil
    }

    private func apply(_ tensors: TensorMap, forward: Bool) throws -> TensorMap {
        let step = forward ? "rename" : "rename (inverse)"
        var used = [Bool](repeating: false, count: concrete.count)
        var replace: [String: [(String, Tensor)]] = [:]
        for (name, tensor) in tensors {
            guard let (new, k) = try firstRule(name, forward: forward) else {
                // A name this step leaves alone must also be left alone by the opposite step,
                // or the inverse would rename a tensor the forward never produced.
                if let (other, j) = try firstRule(name, forward: !forward) {
                    let rule = forward ? concrete[j].to : concrete[j].from
                    throw OpsError.invalid("\(step): '\(name)' is not renamed, but the opposite direction would rename it to '\(other)' by '\(rule)', so this rename could not be undone exactly (narrow that rule, or rename before the steps that create '\(name)')")
                }
                continue
            }
            used[k] = true
            let back = try renamed(new, forward: !forward)
            if back != name {
                let rule = forward ? concrete[k].from : concrete[k].to
                throw OpsError.invalid("\(step): '\(name)' -> '\(new)' by '\(rule)' cannot be undone: '\(new)' maps back to '\(back ?? "(no rule)")' (reorder or narrow the rules)")
            }
            if new != name { replace[name] = [(new, tensor)] }
        }
        for (k, c) in concrete.enumerated() where !used[k] && rules[c.rule].presence == .required {
            throw nothingMatched(forward ? c.from : c.to, step: step)
        }
        return try tensors.rebuilt(replace: replace, step: step)
    }
}
