import Ops

/// Matches written arguments to a signature's slots: statically (shape, keyword names, words,
/// table names) before anything runs, then by evaluating them when the statement runs.
struct ArgumentBinding {
    /// `rename`, `merge qkv`, or `shard table entry 'row'`: how messages name the statement.
    let name: String
    let signature: CommandSignature
    let location: SourceLocation

    var usage: String { "usage: " + signature.usage(name) }

    /// The slot each argument fills, in the order written; throws on any mismatch of shape.
    /// `tables` maps each declared table name to its kind.
    func match(_ args: [ArgumentSyntax], tables: [String: String]) throws -> [(ArgumentSlot, ArgumentSyntax)] {
        var matched: [(ArgumentSlot, ArgumentSyntax)] = []
        var positionalIndex = 0
        var seenKeywords: Set<String> = []
        for arg in args {
            let slot: ArgumentSlot
            switch arg.kind {
            case let .keyword(key, _):
                guard let s = signature.keywords.first(where: { $0.name == key }) else {
                    let names = signature.keywords.map(\.name)
                    throw RecipeError(Suggestions.message("'\(name)' has no argument '\(key)'", for: key, in: names), at: arg.location,
                                      notes: [names.isEmpty ? "'\(name)' takes no key=value arguments; \(usage)" : usage])
                }
                guard seenKeywords.insert(key).inserted else {
                    throw RecipeError("argument '\(key)' is given twice", at: arg.location)
                }
                slot = s
            case .positional, .arrow:
                if positionalIndex < signature.positional.count {
                    slot = signature.positional[positionalIndex]
                } else if let v = signature.variadic {
                    slot = v
                } else {
                    let count = signature.positional.count
                    throw RecipeError("too many arguments: '\(name)' takes \(count == 0 ? "no" : "at most \(count)") positional argument\(count == 1 ? "" : "s")", at: arg.location, notes: [usage])
                }
                positionalIndex += 1
            }
            try checkShape(arg, slot, tables: tables)
            matched.append((slot, arg))
        }
        let required = signature.positional.filter(\.required)
        if positionalIndex < required.count {
            let missing = required[positionalIndex]
            throw RecipeError("'\(name)' is missing its \(missing.name) argument", at: location, notes: [usage])
        }
        for k in signature.keywords where k.required && !seenKeywords.contains(k.name) {
            throw RecipeError("'\(name)' needs \(k.name)=...", at: location, notes: [usage])
        }
        return matched
    }

    func checkShape(_ arg: ArgumentSyntax, _ slot: ArgumentSlot, tables: [String: String]) throws {
        let expr: Expr
        switch (arg.kind, slot.kind) {
        case (.arrow, .arrow): return
        case (.arrow, _):
            throw RecipeError("'\(name)' does not take an arrow as its \(slot.name) argument", at: arg.location, notes: [usage])
        case (_, .arrow):
            throw RecipeError("'\(name)' expects SOURCE -> TARGET as its \(slot.name) argument", at: arg.location, notes: [usage])
        case let (.positional(e), _), let (.keyword(_, e), _):
            expr = e
        }
        switch slot.kind {
        case let .word(words):
            guard let w = Self.word(expr) else {
                throw RecipeError("'\(name)' expects a word as its \(slot.name) argument" + (words.isEmpty ? "" : " (one of \(words.joined(separator: ", ")))"), at: arg.location)
            }
            if !words.isEmpty && !words.contains(w) {
                throw RecipeError(Suggestions.message("'\(name)' does not know '\(w)' as its \(slot.name) (one of \(words.joined(separator: ", ")))", for: w, in: words), at: arg.location)
            }
        case let .table(kind):
            guard case let .name(t) = expr.kind else {
                throw RecipeError("'\(name)' expects the name of a \(kind) table as its \(slot.name) argument", at: arg.location)
            }
            guard let declared = tables[t] else {
                let candidates = tables.filter { $0.value == kind }.map(\.key).sorted()
                throw RecipeError(Suggestions.message("unknown \(kind) table '\(t)'", for: t, in: candidates), at: arg.location)
            }
            if declared != kind {
                throw RecipeError("'\(t)' is a \(declared) table, but '\(name)' needs a \(kind) table", at: arg.location)
            }
        case .value, .arrow:
            break
        }
    }

    /// A bare word (`hf`) or a string literal used as one.
    static func word(_ e: Expr) -> String? {
        switch e.kind {
        case let .name(n): return n
        case let .literal(.string(s)): return s
        default: return nil
        }
    }
}
