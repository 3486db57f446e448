/// A conversion step between the Hugging Face layout (forward) and the MindSpeed-MM layout
/// (inverse), on a whole name -> tensor map.
///
/// Each kind of mapping is one type carrying everything it needs in its parameters, so both
/// directions are pure functions: no state is remembered between `forward` and `inverse`, and
/// `inverse(forward(x)) == x` (bit for bit, names and order of the touched tensors included) for
/// every map `forward` accepts. Steps only build lazy tensor expressions; no bytes are read.
public protocol Transform: Sendable, CustomStringConvertible {
    /// HF -> MM.
    func forward(_ tensors: TensorMap) throws -> TensorMap
    /// MM -> HF: the exact inverse of `forward`.
    func inverse(_ tensors: TensorMap) throws -> TensorMap
}

/// An ordered list of steps: forward runs them in order, inverse runs their inverses in reverse
/// order (so a model is described once, and mm_to_hf needs no hand-ordered revert list).
public struct TransformChain: Transform {
    public let steps: [any Transform]

    public init(_ steps: [any Transform]) { self.steps = steps }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try steps.reduce(tensors) { try $1.forward($0) }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try steps.reversed().reduce(tensors) { try $1.inverse($0) }
    }

    public var description: String { steps.map(\.description).joined(separator: "; ") }
}

/// A transform run the other way round: `experts split` is `experts merge` inverted, so one type
/// holds the rule and each statement's revert is the other's run.
public struct Inverted: Transform {
    public let base: any Transform

    public init(_ base: any Transform) { self.base = base }

    public func forward(_ tensors: TensorMap) throws -> TensorMap { try base.inverse(tensors) }
    public func inverse(_ tensors: TensorMap) throws -> TensorMap { try base.forward(tensors) }
    public var description: String { "inverse of \(base)" }
}

/// Whether a pattern that selects nothing is an error.
public enum Presence: Sendable {
    /// Every concrete pattern (each expansion of its alternatives) must select at least one
    /// tensor; otherwise the step fails naming the pattern. The default: a mistyped name is caught.
    case required
    /// Selecting nothing is fine (e.g. `lm_head.weight` of a tied model).
    case optional
}

extension TensorMap {
    /// A copy where the tensors named in `replace` are swapped, at their position, for the given
    /// (possibly several, possibly zero) entries; names in `remove` are left out; `append` comes
    /// last. Throws if the result would hold a name twice.
    func rebuilt(replace: [String: [(String, Tensor)]], remove: Set<String> = [], append: [(String, Tensor)] = [],
                 step: String) throws -> TensorMap {
        var out = TensorMap()
        out.reserveCapacity(count + append.count + replace.values.reduce(0) { $0 + $1.count })
        func add(_ n: String, _ t: Tensor) throws {
            guard out.insertNew(n, t) else {
                throw OpsError.invalid("\(step): would produce tensor '\(n)' twice (it already exists)")
            }
        }
        for (name, tensor) in self {
            if remove.contains(name) { continue }
            if let r = replace[name] {
                for (n, t) in r { try add(n, t) }
            } else {
                try add(name, tensor)
            }
        }
        for (n, t) in append { try add(n, t) }
        return out
    }
}

/// Shared error text for a pattern that selected nothing.
func nothingMatched(_ pattern: NamePattern, step: String) -> OpsError {
    .invalid("\(step): pattern '\(pattern.source)' matched no tensor (check the name, or mark the statement optional)")
}
