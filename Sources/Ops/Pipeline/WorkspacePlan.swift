extension Workspace {
    /// Lines describing the planned outputs (dry run) or, with none, the current layout.
    public func planDescription() -> [String] {
        if plannedOutputs.isEmpty {
            var lines = ["phase: \(phase.rawValue)"]
            if phase != .model {
                lines.append("ranks: ep \(grid.count) x tp \(grid[0].count)" + (phase == .staged ? " x pp \(ppSize)" + (vppSize > 1 ? " (vpp \(vppSize))" : "") : ""))
            }
            for (label, m) in allMaps { lines.append("\(label): \(m.count) tensors, \(m.totalBytes) bytes") }
            return lines
        }
        var lines: [String] = []
        var total = 0
        for o in plannedOutputs {
            lines.append("\(o.path)  (\(o.entries.count) tensors, \(o.bytes) bytes)")
            for e in o.entries { lines.append("  \(e.name)  \(e.dtype.rawValue) \(e.shape)  \(e.bytes)") }
            total += o.bytes
        }
        lines.append("total: \(plannedOutputs.count) files, \(total) bytes")
        return lines
    }
}
