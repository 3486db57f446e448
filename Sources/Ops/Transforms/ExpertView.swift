/// Fused expert tensors `[E, a, b]` <-> the 2-D view `[E·a, b]` MindSpeed-MM's FSDP2 trainers
/// keep (`fused_linear_names` of the reference's DCP converters). The bytes are the same, only
/// the shape changes.
///
/// Only 3-D tensors are viewed, and only those the pattern names: the reference picks by
/// substring, so a shared expert's 2-D `down_proj.weight` came back 3-D and a 1-D `down_proj.bias`
/// went out as `[1, n]` (dcp.md §3 D2, D4). Here a selected tensor of another rank is an error,
/// and the inverse checks that the rows split into `experts` equal parts.
public struct ExpertView: Transform {
    public let patterns: [NamePattern]
    public let experts: Int
    public let presence: Presence

    /// `experts` 0: unknown (the forward view takes it from each tensor; the inverse refuses).
    public init(_ patterns: [String], experts: Int, presence: Presence = .required) throws {
        guard experts >= 0 else { throw OpsError.invalid("flatten: experts must be >= 0, got \(experts)") }
        self.patterns = try patterns.map { try NamePattern($0) }
        self.experts = experts
        self.presence = presence
    }

    public var description: String { "flatten " + patterns.map { "'\($0)'" }.joined(separator: " ") + " experts=\(experts)" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try reshape(tensors, step: "flatten", { name, t in
            guard t.rank == 3, experts == 0 || t.shape[0] == experts else {
                throw OpsError.tensor(name: name, message: "is \(t), expected [\(experts) experts, rows, cols] (only 3-D fused expert tensors are viewed 2-D)")
            }
            return [t.shape[0] * t.shape[1], t.shape[2]]
        }, experts: { t in t.shape[0] })
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try reshape(tensors, step: "flatten (inverse)", { name, t in
            guard experts > 0 else {
                throw OpsError.tensor(name: name, message: "is a 2-D view of fused experts, but the expert count is unknown (config.json names none): give experts=")
            }
            guard t.rank == 2, t.shape[0] % experts == 0 else {
                throw OpsError.tensor(name: name, message: "is \(t), expected [\(experts) experts x rows, cols] (a 2-D view of fused experts whose rows divide by the expert count)")
            }
            return [experts, t.shape[0] / experts, t.shape[1]]
        }, experts: { _ in experts })
    }

    private func reshape(_ tensors: TensorMap, step: String, _ shape: (String, Tensor) throws -> [Int], experts count: (Tensor) -> Int) throws -> TensorMap {
        let hit = try selected(tensors, patterns, presence: presence, step: step)
        var replace: [String: [(String, Tensor)]] = [:]
        for (name, t) in tensors where hit.contains(name) {
            let s = try shape(name, t)
            replace[name] = [(name, try ExpertView.regrouped(t, to: s, experts: count(t)))]
        }
        return try tensors.rebuilt(replace: replace, step: step)
    }

    /// `t` reshaped; when its pieces do not line up with the experts (an FSDP2 checkpoint's row
    /// chunks of the 2-D view cut through an expert), rebuilt expert by expert from slices, still
    /// without reading a byte.
    static func regrouped(_ t: Tensor, to shape: [Int], experts: Int) throws -> Tensor {
        if let direct = try? t.reshaped(shape) { return direct }
        let rowsPerExpert = t.shape[0] / experts
        return try .concat((0..<experts).map { e in
            let part = t.rank == 3 ? try t.slice(dim: 0, start: e, count: 1) : try t.slice(dim: 0, start: e * rowsPerExpert, count: rowsPerExpert)
            var s = shape
            s[0] = t.rank == 3 ? shape[0] / experts : 1
            return try part.reshaped(s)
        }, dim: 0)
    }
}

/// Swaps the last two dimensions of the selected 3-D tensors, written contiguous: Qwen3.5's fused
/// experts are `[E, 2I, H]` / `[E, H, I]` on the Hub and `[E, H, 2I]` / `[E, I, H]` in its trainer.
/// Its own inverse.
public struct SwapLastDims: Transform {
    public let patterns: [NamePattern]
    public let presence: Presence

    public init(_ patterns: [String], presence: Presence = .required) throws {
        self.patterns = try patterns.map { try NamePattern($0) }
        self.presence = presence
    }

    public var description: String { "transpose " + patterns.map { "'\($0)'" }.joined(separator: " ") }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        let hit = try selected(tensors, patterns, presence: presence, step: "transpose")
        var replace: [String: [(String, Tensor)]] = [:]
        for (name, t) in tensors where hit.contains(name) {
            guard t.rank == 3 else { throw OpsError.tensor(name: name, message: "is \(t); transpose swaps the last two dimensions of 3-D (fused expert) tensors") }
            replace[name] = [(name, try t.transposed(1, 2))]
        }
        return try tensors.rebuilt(replace: replace, step: "transpose")
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap { try forward(tensors) }
}
