/// The text `help` prints, built from the core statements, the registry and the built-ins.
enum Help {
    static func overview<State>(registry: CommandRegistry<State>) -> String {
        var lines = ["Statements (end at a newline or ';'; '#' starts a comment):"]
        let width = 44
        func row(_ usage: String, _ doc: String) -> String {
            "  " + usage + String(repeating: " ", count: max(1, width - usage.count)) + doc
        }
        for c in CoreStatements.all { lines.append(row(c.usage, c.doc)) }
        if !registry.order.isEmpty {
            lines.append("Tensor statements:")
            for name in registry.order {
                let c = registry.commands[name]!
                lines.append(row(c.signature.usage(name), c.doc))
            }
        }
        if !registry.tableKinds.isEmpty {
            lines.append("Tables (KIND NAME { ENTRY ARGS; ... }):")
            for kind in registry.tableKinds.keys.sorted() {
                let k = registry.tableKinds[kind]!
                lines.append(row("\(kind) NAME { \(k.entries.map(\.word).joined(separator: "|")) ... }", k.doc))
            }
        }
        lines.append("Built-in functions: " + Builtins.names.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// `help TOPIC`: a statement's usage and doc, a table kind's entries, or a built-in.
    static func text<State>(for topic: String, registry: CommandRegistry<State>, at location: SourceLocation) throws -> String {
        if let c = CoreStatements.all.first(where: { $0.keyword == topic }) { return "\(c.usage)\n  \(c.doc)" }
        var parts: [String] = []
        let matching = registry.order.filter { $0 == topic || $0.hasPrefix(topic + " ") }
        if !matching.isEmpty {
            parts.append(matching.map { name -> String in
                let c = registry.commands[name]!
                var lines = [c.signature.usage(name)]
                if !c.doc.isEmpty { lines.append("  " + c.doc) }
                for slot in c.signature.positional + (c.signature.variadic.map { [$0] } ?? []) + c.signature.keywords where !slot.doc.isEmpty {
                    lines.append("  \(slot.name): \(slot.doc)")
                }
                if c.revert == nil { lines.append("  (has no inverse: cannot be reverted)") }
                return lines.joined(separator: "\n")
            }.joined(separator: "\n"))
        }
        if let k = registry.tableKinds[topic] {
            var lines = ["\(topic) NAME { ... }" + (k.doc.isEmpty ? "" : "\n  " + k.doc)]
            for e in k.entries { lines.append("  " + e.signature.usage(e.word)) }
            parts.append(lines.joined(separator: "\n"))
        }
        if !parts.isEmpty { return parts.joined(separator: "\n") }
        if let b = Builtins.all[topic] { return b.doc }
        let known = CoreStatements.keywords + registry.keywords + registry.order.filter { $0.contains(" ") }
            + registry.tableKinds.keys.sorted() + Builtins.names
        throw RecipeError(Suggestions.message("no help for '\(topic)'", for: topic, in: known), at: location)
    }
}
