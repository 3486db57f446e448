extension DCPCheckpoint {
    /// The tensors under one key of the nested state dict the checkpoint was flattened from, named
    /// relative to it, as `convert` writes them out (the DCP counterpart of
    /// `StateDictSelection.select` for a torch file).
    ///
    /// `key` is a dotted path matched against the planner paths (`model`, `optimizer.state`; an
    /// element may itself contain dots). Without a key: `model` when entries come from a `model`
    /// dict (MindSpeed-MM's layout, where the names are then the Hugging Face keys), else every
    /// entry under its FQN; an empty key takes every entry too. Bytes entries under the key are
    /// listed as skipped, never read.
    public func stateDict(key: String?) throws -> StateDictSelection {
        let roots = metadata.entries.compactMap { e -> String? in
            let p = plannerPath(e.fqn)
            return p.count > 1 ? p[0].description : nil
        }
        let chosen = key ?? (roots.contains("model") ? "model" : "")
        var map = TensorMap()
        var skipped: [SkippedEntry] = []
        for e in metadata.entries {
            let p = plannerPath(e.fqn).map(\.description)
            var name: String?
            if chosen.isEmpty {
                name = e.fqn
            } else {
                for k in 1..<max(p.count, 1) where p[..<k].joined(separator: ".") == chosen {
                    name = p[k...].joined(separator: ".")
                    break
                }
            }
            guard let name else { continue }
            if e.tensor == nil {
                skipped.append(SkippedEntry(name: name, type: "pickled value"))
                continue
            }
            guard !map.contains(name) else { throw OpsError.format(path: metadataPath, message: "two entries under '\(chosen)' are named '\(name)'") }
            map[name] = try tensor(e.fqn)
        }
        if map.isEmpty && skipped.isEmpty {
            var top: [String] = []
            for r in metadata.entries.map({ plannerPath($0.fqn)[0].description }) where !top.contains(r) { top.append(r) }
            throw OpsError.invalid("\(metadataPath): no entries under '\(chosen)'; top-level keys: \(top.prefix(20).joined(separator: ", "))")
        }
        unmapParsedPages()
        return StateDictSelection(key: chosen, tensors: map, skipped: skipped)
    }
}
