import Ops

/// The tensors `convert` takes from its source file, and what it leaves out.
struct ConvertSource {
    var tensors: TensorMap
    var skipped: [SkippedEntry]
    /// `__metadata__` of a safetensors source, kept when writing safetensors again.
    var metadata: [(String, String)]?

    static func read(_ path: String, kind: ConvertCommand.FileKind, key: String?) throws -> ConvertSource {
        switch kind {
        case .safetensors:
            let file = try SafetensorsFile(path: path)
            return ConvertSource(tensors: try file.tensors(), skipped: [], metadata: file.metadata)
        case .torch:
            let sel = try StateDictSelection.select(try TorchCheckpoint.load(path), key: key, path: path)
            return ConvertSource(tensors: sel.tensors, skipped: sel.skipped, metadata: nil)
        }
    }

    /// `{name: tensor}` as torch.save(state_dict) writes it, optionally nested under a dotted key
    /// (`a.b` -> `{"a": {"b": {...}}}`). Every tensor gets its own contiguous storage.
    static func stateDict(_ tensors: TensorMap, nestedUnder key: String?) -> PickleValue {
        var value = PickleValue.dict(PickleDict(strings: tensors.map { ($0.name, .tensor(TorchTensor($0.tensor))) }))
        if let key, !key.isEmpty {
            for part in key.split(separator: ".").reversed() { value = .dict(PickleDict(strings: [(String(part), value)])) }
        }
        return value
    }
}
