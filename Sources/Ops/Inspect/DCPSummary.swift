extension CheckpointSummary {
    /// Bytes values larger than this are described, not unpickled, by `inspect`.
    static let dcpValueLimit = 1 << 20

    /// A DCP checkpoint: facts from `.metadata` (where it is, version, data files, how tensors are
    /// chunked), the bytes entries' values, and the tensors by FQN, one group per top-level key of
    /// the nested state dict when there are several (`model`, `optimizer`, ...). Only `.metadata`
    /// and the small bytes items are read.
    public static func dcp(_ c: DCPCheckpoint) throws -> CheckpointSummary {
        var s = CheckpointSummary(kind: .dcp, path: c.location.root ?? c.directory)
        if let it = c.location.iteration { s.facts.append(("iteration", .string(it.directoryName))) }
        let m = c.metadata
        s.facts.append(("version", m.version.map { .string($0) } ?? .null))
        let files = Set(m.storage.map(\.file))
        s.facts.append(("data files", .int(files.count)))
        s.facts.append(("items", .int(m.storage.count)))
        let tensors = m.entries.compactMap { e in e.tensor.map { (e.fqn, $0) } }
        let chunked = tensors.filter { $0.1.chunks.count > 1 }
        s.facts.append(("entries", .dict([("tensors", .int(tensors.count)), ("bytes", .int(m.entries.count - tensors.count))])))
        s.facts.append(("chunked tensors", .int(chunked.count)))
        if let most = chunked.map({ $0.1.chunks.count }).max() { s.facts.append(("most chunks", .int(most))) }
        if let meta = m.storageMeta, let id = meta.checkpointID { s.facts.append(("saved as", .string(id))) }

        for fqn in c.valueNames {
            if let item = c.storageItem(fqn), item.length > dcpValueLimit {
                s.entries.append((fqn, .string("<pickled value, \(item.length) bytes>")))
            } else {
                s.entries.append((fqn, try c.value(fqn).summaryValue()))
            }
        }

        var groups: [(String, TensorGroup)] = []
        for (fqn, t) in tensors {
            let root = c.plannerPath(fqn).count > 1 ? c.plannerPath(fqn)[0].description : ""
            var entry = TensorEntry(name: fqn, dtype: t.properties.dtype ?? .u8, shape: t.size)
            if t.properties.dtype == nil {
                // A dtype this tool does not read: listed, never counted as bytes it cannot size.
                s.entries.append((fqn, .string("<tensor torch.\(t.properties.dtypeName) \(t.size), unsupported dtype>")))
                continue
            }
            if t.chunks.count > 1 { entry.chunks = t.chunks }
            if let i = groups.firstIndex(where: { $0.0 == root }) { groups[i].1.tensors.append(entry) }
            else { groups.append((root, TensorGroup(title: root, tensors: [entry]))) }
        }
        if groups.count == 1 { groups[0].1.title = "" }
        s.groups = groups.map(\.1)
        return s
    }

    /// `2 chunks: dim 0 3+2` for a split along one dimension, `4 chunks` otherwise.
    public static func chunksText(_ chunks: [DCPChunk]) -> String {
        let rank = chunks.first?.sizes.count ?? 0
        let varying = (0..<rank).filter { d in Set(chunks.map { $0.offsets[d] }).count > 1 }
        if varying.count == 1, let d = varying.first {
            let sizes = chunks.sorted { $0.offsets[d] < $1.offsets[d] }.map { String($0.sizes[d]) }
            return "\(chunks.count) chunks: dim \(d) \(sizes.joined(separator: "+"))"
        }
        return "\(chunks.count) chunks"
    }
}
