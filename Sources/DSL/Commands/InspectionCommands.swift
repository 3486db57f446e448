import Ops

extension ConversionCommands {
    static func registerInspection(_ r: CommandRegistry<Workspace>) {
        r.register(TensorCommand("ls", signature: CommandSignature(positional: [slot("pattern", .string, required: false)]),
                                 doc: "list tensors (name, dtype, shape), per rank once sharded; a pattern filters (trailing * = prefix)") { call, ctx in
            let pattern = try call.attempt { try NamePattern(call.arguments.string("pattern") ?? "*") }
            var shown = 0
            for (label, m) in ctx.state.allMaps {
                let names = m.names.filter { pattern.matches($0) }
                if names.isEmpty { continue }
                if ctx.state.phase != .model { ctx.output("[\(label)]") }
                for n in names {
                    let t = m[n]!
                    ctx.output("\(n)  \(t.dtype.rawValue) \(t.shape)")
                }
                shown += names.count
            }
            if shown == 0 { ctx.output("no tensor matches '\(pattern)'") }
        })
        r.register(TensorCommand("show", signature: CommandSignature(positional: [slot("name", .string)]),
                                 doc: "one tensor: dtype, shape, bytes, min/max/mean and its first values") { call, ctx in
            let name = call.arguments.string("name")!
            guard let (label, t) = ctx.state.allMaps.lazy.compactMap({ m in m.tensors[name].map { (m.label, $0) } }).first else {
                let all = ctx.state.allMaps.flatMap(\.tensors.names)
                throw call.error(Suggestions.message("no tensor '\(name)'", for: name, in: all), at: "name")
            }
            let s = try call.attempt { try TensorStatistics(t) }
            ctx.output("\(name)\(ctx.state.phase == .model ? "" : " [\(label)]"): \(t.dtype.rawValue) \(t.shape), \(t.byteCount) bytes")
            ctx.output("min \(s.min)  max \(s.max)  mean \(s.mean)")
            ctx.output("first: " + s.first.map { "\($0)" }.joined(separator: " "))
        })
        r.register(TensorCommand("plan", signature: CommandSignature(), doc: "what the saves so far would write (dry run), or the current layout") { _, ctx in
            for line in ctx.state.planDescription() { ctx.output(line) }
        })
    }
}
