import Ops

/// Checks statements without running them: keywords, argument shapes and keyword names, table
/// entries, map and table references, names and built-in calls. Names are checked against every
/// name the program binds anywhere (flow-insensitive); order is checked when running.
struct StaticCheck<State> {
    let registry: CommandRegistry<State>
    /// Names bound anywhere (lets, parameter roots, `config`, and the session's variables).
    var names: Set<String>
    var maps: Set<String>
    /// Table name -> kind.
    var tables: [String: String]

    /// Families declared in the checked statements and in the session.
    var families: [String: Families.Declaration]

    init(registry: CommandRegistry<State>, statements: [Stmt], names: Set<String>, maps: Set<String>, tables: [String: String],
         families: [String: Families.Declaration] = [:]) throws {
        self.registry = registry
        self.names = names.union(RecipeContext<State>.loadedNames)
        self.maps = maps
        self.tables = tables
        self.families = families
        var declaredAt: [String: SourceLocation] = [:]
        try collect(statements, &declaredAt)
        try addRoles()
    }

    /// Role names become map and table names (resolved through the selected family when run).
    mutating func addRoles() throws {
        let roles = try RoleKinds(families: families, maps: maps, tables: tables)
        maps.formUnion(roles.maps)
        for (n, k) in roles.tables { tables[n] = k }
    }

    /// Gathers declarations; a map or table declared twice in the checked statements is an error.
    mutating func collect(_ statements: [Stmt], _ declaredAt: inout [String: SourceLocation]) throws {
        for s in statements {
            switch s.kind {
            case let .let(n, _): names.insert(n)
            case let .param(p): names.insert(String(p.name.split(separator: ".").first ?? ""))
            case let .map(n, body):
                if let first = declaredAt[n] { throw RecipeError("'\(n)' is already declared at \(first)", at: s.location) }
                declaredAt[n] = s.location
                maps.insert(n)
                try collect(body, &declaredAt)
            case let .table(kind, n, _, _):
                if let first = declaredAt[n] { throw RecipeError("'\(n)' is already declared at \(first)", at: s.location) }
                declaredAt[n] = s.location
                tables[n] = kind
            case let .family(n, base, body):
                if let first = declaredAt["family " + n] { throw RecipeError("family '\(n)' is already declared at \(first)", at: s.location) }
                declaredAt["family " + n] = s.location
                families[n] = Families.Declaration(base: base, body: body, location: s.location)
            case let .for(v, _, body):
                names.insert(v)
                try collect(body, &declaredAt)
            case let .if(_, a, b):
                try collect(a, &declaredAt)
                try collect(b ?? [], &declaredAt)
            default: break
            }
        }
    }

    func check(_ statements: [Stmt]) throws {
        for s in statements { try check(s) }
    }

    func check(_ s: Stmt) throws {
        switch s.kind {
        case .recipe, .use:
            break
        case let .param(p):
            if let d = p.defaultValue { try checkExpr(d) }
        case let .let(n, e):
            if RecipeContext<State>.loadedNames.contains(n) { throw RecipeError("'\(n)' is set by 'load' and cannot be bound with 'let'", at: s.location) }
            try checkExpr(e)
        case let .if(c, a, b):
            try checkExpr(c)
            try check(a)
            try check(b ?? [])
        case let .assert(c, m):
            try checkExpr(c)
            if let m { try checkExpr(m) }
        case let .map(_, body):
            try check(body)
        case let .apply(n), let .revert(n):
            if !maps.contains(n) {
                throw RecipeError(Suggestions.message("unknown map block '\(n)'", for: n, in: maps.sorted()), at: s.location)
            }
        case let .for(_, e, body):
            try checkExpr(e)
            try check(body)
        case let .family(_, _, body):
            func conditions(_ body: [Stmt]) throws {
                for s in body {
                    if case let .if(c, a, b) = s.kind { try checkExpr(c); try conditions(a); try conditions(b ?? []) }
                }
            }
            try conditions(body)
        case .role:
            break
        case let .selectFamily(n):
            if families[n] == nil {
                throw RecipeError(Suggestions.message("unknown family '\(n)'", for: n, in: families.keys.sorted()), at: s.location)
            }
        case let .table(kind, name, base, entries):
            if let base {
                guard let bk = tables[base] else {
                    throw RecipeError(Suggestions.message("table '\(name)' extends unknown table '\(base)'", for: base, in: tables.filter { $0.value == kind }.map(\.key).sorted()), at: s.location)
                }
                if bk != kind { throw RecipeError("table '\(name)' is a \(kind) table but extends '\(base)', a \(bk) table", at: s.location) }
            }
            guard let tk = registry.tableKinds[kind] else {
                let known = registry.tableKinds.keys.sorted()
                throw RecipeError(Suggestions.message("unknown table kind '\(kind)'" + (known.isEmpty ? "" : " (one of \(known.joined(separator: ", ")))"), for: kind, in: known), at: s.location)
            }
            for entry in entries {
                guard let sig = tk.signature(of: entry.word) else {
                    let words = tk.entries.map(\.word)
                    throw RecipeError(Suggestions.message("unknown \(kind) entry '\(entry.word)' (one of \(words.joined(separator: ", ")))", for: entry.word, in: words), at: entry.location)
                }
                try checkArguments(entry.arguments, ArgumentBinding(name: "\(kind) entry '\(entry.word)'", signature: sig, location: entry.location))
            }
        case let .print(items):
            for e in items { try checkExpr(e) }
        case let .help(topic):
            if let t = topic { _ = try Help.text(for: t, registry: registry, at: s.location) }
        case let .command(k, args):
            let (command, rest) = try registry.resolve(k, args, at: s.location)
            try checkArguments(rest, ArgumentBinding(name: command.name, signature: command.signature, location: s.location))
        }
    }

    func checkArguments(_ args: [ArgumentSyntax], _ binding: ArgumentBinding) throws {
        for (slot, arg) in try binding.match(args, tables: tables) {
            do {
                switch (slot.kind, arg.kind) {
                case (.word, _), (.table, _): continue
                case let (_, .positional(e)), let (_, .keyword(_, e)): try checkExpr(e)
                case let (_, .arrow(a, b)): try checkExpr(a); try checkExpr(b)
                }
            } catch var e as RecipeError where e.message.hasPrefix("unknown name") {
                // `load hf data/model` reads as names divided; say how text is written.
                e.notes.append(Self.unquotedNote)
                throw e
            }
        }
    }

    /// What to do about an unquoted word that is no name.
    static var unquotedNote: String {
        "an unquoted word is a name (a parameter, 'let' or config); write text in double quotes (\"model.*\"); a path may be written bare when it starts with /, ./, ../ or ~/"
    }

    func checkExpr(_ e: Expr) throws {
        switch e.kind {
        case .literal: break
        case let .name(n):
            if !names.contains(n) {
                throw RecipeError(Suggestions.message("unknown name '\(n)'", for: n, in: names.sorted()), at: e.location)
            }
        case let .member(b, _): try checkExpr(b)
        case let .index(b, i): try checkExpr(b); try checkExpr(i)
        case let .list(items): for i in items { try checkExpr(i) }
        case let .unary(_, x): try checkExpr(x)
        case let .binary(_, a, b): try checkExpr(a); try checkExpr(b)
        case let .call(f, args):
            guard let builtin = Builtins.all[f] else {
                throw RecipeError(Suggestions.message("unknown function '\(f)'", for: f, in: Builtins.names), at: e.location)
            }
            guard builtin.arity.contains(args.count) else {
                throw RecipeError("\(f)() takes \(Builtins.describe(builtin.arity)), got \(args.count)", at: e.location)
            }
            for a in args { try checkExpr(a) }
        }
    }
}
