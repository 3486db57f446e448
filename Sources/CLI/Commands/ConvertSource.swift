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
        case .dcp:
            let sel = try DCPCheckpoint.load(path).stateDict(key: key)
            return ConvertSource(tensors: sel.tensors, skipped: sel.skipped, metadata: nil)
        }
    }

    /// Writes `tensors` as a MindSpeed-MM DCP root (tracker `release`, `release/.metadata`,
    /// `release/__0_0.distcp`): FQN `<prefix>.<name>` from `{prefix: {name: tensor}}`, plus
    /// `checkpoint_version` 3.0, the form the FSDP2 trainer loads. Returns the data files' bytes.
    static func writeDCP(_ tensors: TensorMap, prefix: String, to dir: String, force: Bool) throws -> Int {
        let parts = prefix.split(separator: ".").map { DCPPathElement.key(String($0)) }
        var entries: [DCPWriteEntry] = [.checkpointVersion]
        for (name, t) in tensors {
            entries.append(DCPWriteEntry(fqn: parts.isEmpty ? name : prefix + "." + name, value: .tensor(t), path: parts + [.key(name)]))
        }
        let m = try DCPCheckpoint.save(entries, to: dir, layout: .root(.release), force: force)
        return m.storage.reduce(0) { $0 + $1.length }
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
