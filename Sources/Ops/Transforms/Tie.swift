/// Tied embeddings (§3.7): forward adds `target` (e.g. `text_decoder.output_layer.weight`) as the
/// same tensor as `source` (`text_decoder.embedding.word_embeddings.weight`), so that it is
/// TP-split and placed on the last pipeline stage like an untied output layer. Use it only when
/// the model ties and PP > 1 (with PP = 1 Megatron shares the embedding).
///
/// Forward requires `source` and refuses an existing `target` (drop a shipped `lm_head` first,
/// §9 Q15). The inverse removes `target` (checking it still has the source's dtype and shape); a
/// missing `target` is accepted, since a PP = 1 checkpoint of a tied model has none.
public struct Tie: Transform {
    public let source: String
    public let target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    public var description: String { "tie '\(source)' -> '\(target)'" }

    public func forward(_ tensors: TensorMap) throws -> TensorMap {
        guard let t = tensors[source] else { throw OpsError.tensor(name: source, message: "missing: tie needs it to create '\(target)'") }
        guard !tensors.contains(target) else {
            throw OpsError.tensor(name: target, message: "already exists; a tied model should not ship it (drop it before tying)")
        }
        var out = tensors
        out[target] = t
        return out
    }

    public func inverse(_ tensors: TensorMap) throws -> TensorMap {
        guard let t = tensors[target] else { return tensors }
        if let s = tensors[source], s.shape != t.shape || s.dtype != t.dtype {
            throw OpsError.tensor(name: target, message: "\(t) is not a tied copy of '\(source)' \(s)")
        }
        var out = tensors
        out.remove(target)
        return out
    }
}
