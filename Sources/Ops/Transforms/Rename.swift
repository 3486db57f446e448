/// Renames tensors by an ordered list of rules (§3.1), e.g.
/// `visual.blocks.{L}.attn.proj.*` -> `image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj.*`.
///
/// Each name is renamed by the **first** rule (in list order) whose pattern matches it; names no
/// rule matches are kept. Patterns are anchored (use a trailing `*` to carry the rest of a name),
/// unlike the reference's unanchored regexes (§9 Q4). The inverse swaps each rule's sides and uses
/// the same first-match order. Forward checks, for every name it renames, that the inverse maps
/// the new name back to the old one, so a rule set that could not be inverted exactly (an earlier
/// rule's output shadowing a later rule) fails up front instead of corrupting mm_to_hf.
public struct Rename: Transform {
    public struct Rule: Sendable, CustomStringConvertible {
        public let from: NamePattern
        public let to: NamePattern
        public let presence: Presence

        /// Alternative groups on the two sides pair positionally (`{norm1,norm2}` -> `{input_layernorm,pre_mlp_layernorm}`).
        public init(_ from: NamePattern, _ to: NamePattern, presence: Presence = .required) throws {
            _ = try PatternPairing(input: from, output: to, parts: 1)
            self.from = from
            self.to = to
            self.presence = presence
        }

        public init(_ from: String, _ to: String, presence: Presence = .required) throws {
            try self.init(try NamePattern(from), try NamePattern(to), presence: presence)
        }

        public var description: String { "\(from) -> \(to)" }
    }

    public let rules: [Rule]
    /// Concrete (expanded) rules in order: (rule index, from, to).
    private let concrete: [(Int, NamePattern, NamePattern)]

    public init(_ rules: [Rule]) throws {
        self.rules = rules
        var c: [(Int, NamePattern, NamePattern)] = []
        for (i, r) in rules.enumerated() {
            for p in try PatternPairing(input: r.from, output: r.to, parts: 1).pairs {
                c.append((i, p.parts[0], p.output))
            }
        }
        concrete = c
    }

    /// Convenience for one rule.
    public init(_ from: String, _ to: String, presence: Presence = .required) throws {
        try self.init([try Rule(from, to, presence: presence)])
    }

    public var description: String { "rename " + rules.map(\.description).joined(separator: ", ") }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try apply(tensors, forward: true)
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try apply(tensors, forward: false)
    }

    /// The new name of `name` (nil when no rule matches).
    public func renamed(_ name: String, forward: Bool = true) throws -> String? {
        for (_, a, b) in concrete {
            let (from, to) = forward ? (a, b) : (b, a)
            if let caps = from.match(name) { return try to.render(caps) }
        }
        return nil
    }

    private func apply(_ tensors: TensorMap, forward: Bool) throws -> TensorMap {
        let step = forward ? "rename" : "rename (inverse)"
        var used = [Bool](repeating: false, count: concrete.count)
        var replace: [String: [(String, Tensor)]] = [:]
        for (name, tensor) in tensors {
            for (k, (_, a, b)) in concrete.enumerated() {
                let (from, to) = forward ? (a, b) : (b, a)
                guard let caps = from.match(name) else { continue }
                let new = try to.render(caps)
                used[k] = true
                if let back = try renamed(new, forward: !forward), back != name {
                    throw OpsError.invalid("\(step): '\(name)' -> '\(new)' by '\(from)' cannot be undone: '\(new)' maps back to '\(back)' (reorder or narrow the rules)")
                }
                if new != name { replace[name] = [(new, tensor)] }
                break
            }
        }
        // Presence is checked per concrete rule in the direction that produced the names.
        for (k, (i, a, b)) in concrete.enumerated() where !used[k] && rules[i].presence == .required {
            throw nothingMatched(forward ? a : b, step: step)
        }
        return try tensors.rebuilt(replace: replace, step: step)
    }
}
