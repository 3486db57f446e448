/// Inserts zero tensors (§3.9), one per index of `{L}` (or one, if the template has no
/// placeholder), e.g. a bias a model lacks. The inverse deletes them (checking dtype and shape).
public struct ZeroTensors: Transform {
    public let template: NamePattern
    public let indices: [Int]
    public let shape: [Int]
    public let dtype: DType

    /// `template` may use one placeholder (any name, usually `{L}`), filled with each of `indices`.
    public init(_ template: NamePattern, indices: [Int], shape: [Int], dtype: DType) throws {
        guard !template.isRegex, template.alternativeGroups.isEmpty, !template.isPrefix else {
            throw OpsError.invalid("zeros '\(template)': needs a plain name template (no regex, alternatives or '*')")
        }
        guard template.captureNames.count <= 1, shape.allSatisfy({ $0 >= 0 }) else {
            throw OpsError.invalid("zeros '\(template)': at most one placeholder and a non-negative shape")
        }
        self.template = template
        self.indices = template.captureNames.isEmpty ? [0] : indices
        self.shape = shape
        self.dtype = dtype
    }

    public init(_ template: String, indices: [Int], shape: [Int], dtype: DType) throws {
        try self.init(try NamePattern(template), indices: indices, shape: shape, dtype: dtype)
    }

    public var names: [String] {
        get throws {
            guard let p = template.captureNames.first else { return [try template.render([:])] }
            return try indices.map { try template.render([p: String($0)]) }
        }
    }

    public var description: String { "zeros '\(template)' \(dtype.rawValue)\(shape) x \(indices.count)" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        let z = Tensor.zeros(dtype, shape)
        return try tensors.rebuilt(replace: [:], append: try names.map { ($0, z) }, step: "zeros")
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        var remove = Set<String>()
        for n in try names {
            guard let t = tensors[n] else { throw OpsError.tensor(name: n, message: "missing: zeros (inverse) expects to remove it") }
            guard t.shape == shape, t.dtype == dtype else {
                throw OpsError.tensor(name: n, message: "is \(t), not the inserted zeros \(dtype.rawValue)\(shape)")
            }
            remove.insert(n)
        }
        return try tensors.rebuilt(replace: [:], remove: remove, step: "zeros (inverse)")
    }
}
