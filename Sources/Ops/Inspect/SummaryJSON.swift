extension CheckpointSummary {
    /// The machine-readable report (`inspect --json`): the same information as the table.
    ///
    /// `{"kind", "path", "facts": {...}, "entries": {...}, "groups": [{"title", "file", "rank":
    /// {"tp","pp","ep"}, "chunk", "tensors": [{"name","dtype","shape","bytes","parameters"[, "chunks":
    /// [{"offsets","sizes"}] of a DCP tensor stored in several]}],
    /// "skipped": [{"name","type"}], "totals"}], "totals": {"tensors","bytes","parameters"},
    /// "filter", "unfiltered_totals"}`; dtypes use torch names (`bfloat16`).
    public func jsonValue() -> Value {
        var out: [(String, Value)] = [("kind", .string(kind.rawValue)), ("path", .string(path)),
                                      ("facts", .dict(facts)), ("entries", .dict(entries))]
        out.append(("groups", .list(groups.map { g in
            var d: [(String, Value)] = [("title", .string(g.title))]
            if let f = g.file { d.append(("file", .string(f))) }
            if let r = g.rank { d.append(("rank", .dict([("tp", .int(r.tp)), ("pp", .int(r.pp)), ("ep", .int(r.ep))]))) }
            if let c = g.chunk { d.append(("chunk", .string(c))) }
            d.append(("tensors", .list(g.tensors.map { t in
                var fields: [(String, Value)] = [("name", .string(t.name)), ("dtype", .string(t.dtype.torchName)),
                                                 ("shape", .list(t.shape.map { .int($0) })), ("bytes", .int(t.bytes)),
                                                 ("parameters", .int(t.parameters))]
                if let chunks = t.chunks {
                    fields.append(("chunks", .list(chunks.map { c in
                        .dict([("offsets", .list(c.offsets.map { .int($0) })), ("sizes", .list(c.sizes.map { .int($0) }))])
                    })))
                }
                return .dict(fields)
            })))
            d.append(("skipped", .list(g.skipped.map { .dict([("name", .string($0.name)), ("type", .string($0.type))]) })))
            d.append(("totals", CheckpointSummary.json(g.totals)))
            return .dict(d)
        })))
        out.append(("totals", CheckpointSummary.json(totals)))
        if let filter {
            out.append(("filter", .string(filter)))
            if let u = unfilteredTotals { out.append(("unfiltered_totals", CheckpointSummary.json(u))) }
        }
        return .dict(out)
    }

    /// The JSON text (2-space indent, trailing newline not included).
    public func jsonText() -> String { JSONWriter(layout: .indented(2), ensureASCII: false).string(jsonValue()) }

    static func json(_ t: TensorTotals) -> Value {
        .dict([("tensors", .int(t.tensors)), ("bytes", .int(t.bytes)), ("parameters", .int(t.parameters))])
    }
}
