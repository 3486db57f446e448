extension CheckpointSummary {
    /// The human-readable report: a header with the layout facts, the non-tensor entries, then one
    /// aligned table (name, dtype, shape, bytes) per group with subtotals, then the totals.
    /// Columns are aligned across all groups so a multi-rank listing reads as one table.
    public func tableLines() -> [String] {
        var lines = ["\(kind.label): \(path)"]
        for (k, v) in facts { lines.append("  \(k): \(CheckpointSummary.inline(v))") }
        if !entries.isEmpty {
            lines.append("non-tensor entries:")
            for (k, v) in entries { lines += CheckpointSummary.flatten(k, v).map { "  \($0.0): \($0.1)" } }
        }
        let rows = groups.flatMap { g in g.tensors.map(CheckpointSummary.row) }
        let names = groups.flatMap { g in g.tensors.map(\.name) + g.skipped.map(\.name) }
        let w = (name: max(4, names.map(\.count).max() ?? 0),
                 dtype: max(5, rows.map(\.dtype.count).max() ?? 0),
                 shape: max(5, rows.map(\.shape.count).max() ?? 0),
                 bytes: max(5, rows.map(\.bytes.count).max() ?? 0))
        func line(_ name: String, _ dtype: String, _ shape: String, _ bytes: String) -> String {
            "  " + pad(name, w.name) + "  " + pad(dtype, w.dtype) + "  " + pad(shape, w.shape) + "  " + padLeft(bytes, w.bytes)
        }
        for g in groups {
            lines.append("")
            if !g.title.isEmpty { lines.append(g.title + (g.file.map { "  [\($0)]" } ?? "")) }
            lines.append(line("name", "dtype", "shape", "bytes"))
            for t in g.tensors {
                let r = CheckpointSummary.row(t)
                lines.append(line(t.name, r.dtype, r.shape, r.bytes) + (t.chunks.map { "  " + CheckpointSummary.chunksText($0) } ?? ""))
            }
            for s in g.skipped { lines.append("  " + pad(s.name, w.name) + "  skipped (\(s.type))") }
            if groups.count > 1 { lines.append("  subtotal: " + CheckpointSummary.totalsText(g.totals)) }
        }
        lines.append("")
        var total = "total: " + CheckpointSummary.totalsText(totals)
        if let before = unfilteredTotals, let filter {
            total += " (matching '\(filter)': \(totals.tensors) of \(before.tensors) tensors)"
        }
        lines.append(total)
        return lines
    }

    static func row(_ t: TensorEntry) -> (dtype: String, shape: String, bytes: String) {
        (t.dtype.torchName, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", String(t.bytes))
    }

    /// `12 tensors, 669440 bytes (653.8 KiB), 334720 parameters`.
    public static func totalsText(_ t: TensorTotals) -> String {
        let size = t.bytes >= 1024 ? " (\(Progress.size(t.bytes)))" : ""
        return "\(t.tensors) tensor\(t.tensors == 1 ? "" : "s"), \(t.bytes) bytes\(size), \(t.parameters) parameters"
    }

    /// Dicts as `key.field` lines, everything else as its flow text.
    public static func flatten(_ key: String, _ v: Value) -> [(String, String)] {
        if case let .dict(pairs) = v, !pairs.isEmpty {
            return pairs.flatMap { flatten(key + "." + $0.0, $0.1) }
        }
        return [(key, inline(v))]
    }

    /// A fact or entry on one line (`tp 2, pp 3` for a dict).
    public static func inline(_ v: Value) -> String {
        if case let .dict(pairs) = v { return pairs.map { "\($0.0) \(inline($0.1))" }.joined(separator: ", ") }
        return v.description
    }
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
private func padLeft(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
