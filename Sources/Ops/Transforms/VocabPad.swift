/// Pads the first dimension (vocabulary rows) with zero rows, e.g. to a multiple of TP x 128, and
/// slices them off again in the inverse. `vocabSize` is the unpadded row count (from the HF
/// config), so the inverse needs no remembered state (§9 Q21).
public struct VocabPad: Transform {
    public enum Target: Sendable, Equatable {
        /// Round the row count up to a multiple of this.
        case multiple(Int)
        /// Exactly this many rows (>= vocabSize).
        case rows(Int)
    }

    public let pattern: NamePattern
    public let vocabSize: Int
    public let target: Target
    public let presence: Presence

    public init(_ pattern: NamePattern, vocabSize: Int, to target: Target, presence: Presence = .required) throws {
        switch target {
        case let .multiple(m) where m <= 0: throw OpsError.invalid("pad '\(pattern)': multiple must be > 0")
        case let .rows(n) where n < vocabSize: throw OpsError.invalid("pad '\(pattern)': \(n) rows is less than the vocabulary size \(vocabSize)")
        default: break
        }
        guard vocabSize > 0 else { throw OpsError.invalid("pad '\(pattern)': vocabulary size must be > 0") }
        self.pattern = pattern
        self.vocabSize = vocabSize
        self.target = target
        self.presence = presence
    }

    public init(_ pattern: String, vocabSize: Int, to target: Target, presence: Presence = .required) throws {
        try self.init(try NamePattern(pattern), vocabSize: vocabSize, to: target, presence: presence)
    }

    /// The padded row count.
    public var paddedRows: Int {
        switch target {
        case let .multiple(m): return (vocabSize + m - 1) / m * m
        case let .rows(n): return n
        }
    }

    public var description: String { "pad '\(pattern)' \(vocabSize) -> \(paddedRows) rows" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        try mapMatching(tensors, pattern, presence: presence, step: "pad") { t, name in
            guard try rows(of: t, name) == vocabSize else {
                throw OpsError.tensor(name: name, message: "has \(t.shape[0]) rows, expected the vocabulary size \(vocabSize)")
            }
            if paddedRows == vocabSize { return t }
            var shape = t.shape
            shape[0] = paddedRows - vocabSize
            return try Tensor.concat([t, .zeros(t.dtype, shape)], dim: 0)
        }
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        try mapMatching(tensors, pattern, presence: presence, step: "pad (inverse)") { t, name in
            guard try rows(of: t, name) == paddedRows else {
                throw OpsError.tensor(name: name, message: "has \(t.shape[0]) rows, expected the padded size \(paddedRows)")
            }
            return try t.slice(dim: 0, start: 0, count: vocabSize)
        }
    }
}
