extension CheckpointSummary {
    /// Summarizes a loaded `torch.save` object.
    ///
    /// A dict whose direct values are tensors (a state dict) is one untitled group. Otherwise each
    /// top-level entry holding tensors is a group titled by its key (`model`, `optimizer`,
    /// `rng_state`), with names relative to it; direct non-tensor children of such a dict (None,
    /// `_extra_state` blobs, `param_groups`) are listed as skipped. Top-level entries without
    /// tensors are non-tensor entries (`iteration`, `checkpoint_version`, the fields of `args`).
    public static func torch(_ root: PickleValue, path: String) -> CheckpointSummary {
        var s = CheckpointSummary(kind: .torch, path: path)
        s.facts = [("object", .string(root.typeName))]
        guard let top = root.dictValue else {
            let ts = root.tensors()
            if !ts.isEmpty { s.groups = [TensorGroup(title: "", tensors: ts.map { TensorEntry(name: $0.path.isEmpty ? "<root>" : $0.path, $0.tensor.tensor) })] }
            else { s.entries = [("value", root.summaryValue())] }
            return s
        }
        s.facts.append(("keys", .int(top.count)))
        if top.items.contains(where: { $0.value.tensorValue != nil }) {
            s.groups = [group(title: "", top)]
            return s
        }
        for (k, v) in top.items {
            let key = PickleValue.keyText(k)
            if v.containsTensor {
                if let d = v.dictValue {
                    s.groups.append(group(title: key, d))
                } else {
                    s.groups.append(TensorGroup(title: key, tensors: v.tensors().map { TensorEntry(name: $0.path, $0.tensor.tensor) }))
                }
            } else {
                s.entries.append((key, v.summaryValue()))
            }
        }
        return s
    }

    /// One group from a dict: its tensors (walked, relative paths) and its direct non-tensor values.
    static func group(title: String, _ d: PickleDict) -> TensorGroup {
        var g = TensorGroup(title: title)
        for (k, v) in d.items {
            let name = PickleValue.keyText(k)
            if case let .tensor(t) = v {
                g.tensors.append(TensorEntry(name: name, t.tensor))
            } else if v.containsTensor {
                g.tensors += v.tensors(prefix: name).map { TensorEntry(name: $0.path, $0.tensor.tensor) }
            } else {
                g.skipped.append(SkippedEntry(name: name, type: v.typeName))
            }
        }
        return g
    }
}
