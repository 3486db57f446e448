/// Removes the tensors any of `patterns` selects (e.g. Omni's `talker.*`, `token2wav.*`).
///
/// Not invertible: the dropped bytes are gone. The inverse is the identity on purpose, so a chain
/// containing a drop still reverts; a conversion that needs the dropped tensors back must take
/// them from the original checkpoint (e.g. the reference's `merge_source`).
public struct Drop: Transform {
    public let patterns: [NamePattern]
    public let presence: Presence

    public init(_ patterns: [NamePattern], presence: Presence = .required) {
        self.patterns = patterns
        self.presence = presence
    }

    public init(_ patterns: [String], presence: Presence = .required) throws {
        self.init(try patterns.map { try NamePattern($0) }, presence: presence)
    }

    public var description: String { "drop " + patterns.map { "'\($0)'" }.joined(separator: " ") }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        let hit = try selected(tensors, patterns, presence: presence, step: "drop")
        return try tensors.rebuilt(replace: [:], remove: hit, step: "drop")
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap { tensors }
}

/// Keeps only the tensors one of `patterns` selects (e.g. `save_vit_only`: `visual.*`).
/// Like `Drop`, the inverse is the identity.
public struct Keep: Transform {
    public let patterns: [NamePattern]
    public let presence: Presence

    public init(_ patterns: [NamePattern], presence: Presence = .required) {
        self.patterns = patterns
        self.presence = presence
    }

    public init(_ patterns: [String], presence: Presence = .required) throws {
        self.init(try patterns.map { try NamePattern($0) }, presence: presence)
    }

    public var description: String { "keep " + patterns.map { "'\($0)'" }.joined(separator: " ") }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        let hit = try selected(tensors, patterns, presence: presence, step: "keep")
        return try tensors.rebuilt(replace: [:], remove: Set(tensors.names).subtracting(hit), step: "keep")
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap { tensors }
}

/// Names selected by any pattern; with `.required`, every expansion of every pattern must select one.
func selected(_ tensors: TensorMap, _ patterns: [NamePattern], presence: Presence, step: String) throws -> Set<String> {
    var hit = Set<String>()
    for p in patterns {
        for c in p.isRegex ? [p] : p.expanded() {
            let names = c.matching(tensors.names)
            if names.isEmpty && presence == .required { throw nothingMatched(c, step: step) }
            hit.formUnion(names)
        }
    }
    return hit
}

/// Converts the selected tensors of dtype `from` to `to` (e.g. bf16 -> f32); other dtypes (int
/// buffers) are left alone. The inverse converts the selected tensors of dtype `to` back to `from`.
/// To keep that exact, forward refuses a selected tensor that already has dtype `to` (the inverse
/// could not tell it apart). Round trips are bit-exact when `to` is wider than `from`.
public struct CastDType: Transform {
    public let pattern: NamePattern
    public let from: DType
    public let to: DType
    /// Leave tensors that already have the target dtype as they are (a one-way conversion such
    /// as `--to_bf16`: the inverse cannot tell them apart, so there is none).
    public let keepTarget: Bool

    public init(_ pattern: NamePattern, from: DType, to: DType, keepTarget: Bool = false) throws {
        guard Cast.isSupported(from: from, to: to), Cast.isSupported(from: to, to: from) else {
            throw OpsError.unsupported("cast \(from.rawValue) -> \(to.rawValue) is not supported (f64/f32/f16/bf16 only)")
        }
        self.pattern = pattern
        self.from = from
        self.to = to
        self.keepTarget = keepTarget
    }

    public init(_ pattern: String = "*", from: DType, to: DType, keepTarget: Bool = false) throws {
        try self.init(try NamePattern(pattern), from: from, to: to, keepTarget: keepTarget)
    }

    public var description: String { "cast '\(pattern)' \(from.rawValue) -> \(to.rawValue)" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try convert(tensors, from: from, to: to, step: "cast")
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        if keepTarget { throw OpsError.invalid("a cast with revertible=false has no inverse (tensors that already had the target dtype were kept)") }
        return try convert(tensors, from: to, to: from, step: "cast (inverse)")
    }

    private func convert(_ tensors: TensorMap, from a: DType, to b: DType, step: String) throws -> TensorMap {
        var out = TensorMap(capacity: tensors.count)
        for (name, t) in tensors {
            guard a != b, pattern.matches(name) else { out[name] = t; continue }
            if t.dtype == b && !keepTarget {
                throw OpsError.tensor(name: name, message: "is already \(b.rawValue); \(step) from \(a.rawValue) could not be undone exactly (narrow the pattern)")
            }
            out[name] = t.dtype == a ? try t.cast(to: b) : t
        }
        return out
    }
}
