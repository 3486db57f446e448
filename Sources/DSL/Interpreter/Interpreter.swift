import Foundation
import Ops

/// Runs recipes: binds parameters, checks every statement, then executes them in order,
/// dispatching tensor statements through the registry onto the caller's state.
///
/// One interpreter is one session: names, maps and tables persist across `run` / `execute`
/// calls, which is what the REPL relies on.
public final class Interpreter<State> {
    public let registry: CommandRegistry<State>
    public let context: RecipeContext<State>
    public var loader: RecipeLoader
    /// Check that `dir` parameters name existing directories.
    public var checkDirectories = true
    /// Values for `param` declarations by dotted name (set by `run`; the REPL may preset them).
    public var parameterValues: [String: Value] = [:]

    /// Top-level names: `let` names and parameter roots (`cfg` holds `cfg.a.b` as a mapping).
    public private(set) var variables: [String: Value] = [:]
    var maps: [String: [Stmt]] = [:]
    var tables: [String: (kind: String, base: String?, entries: [TableEntrySyntax], location: SourceLocation)] = [:]
    var families = Families()
    /// Files already run by `use` (each runs once), and the chain being run (cycles).
    var usedFiles: Set<String> = []
    var activeFiles: [String] = []
    var activeMaps: [String] = []
    /// Files loaded up front by `run`, served to `use` without reading them again.
    var loadedFiles: [String: Recipe] = [:]

    public init(registry: CommandRegistry<State>, state: State, loader: RecipeLoader = .fileSystem,
                output: @escaping (String) -> Void = { print($0) }) {
        self.registry = registry
        self.context = RecipeContext(state: state, output: output)
        self.loader = loader
    }

    // MARK: entry points

    /// Loads every used file, validates the parameters and checks all statements, running no
    /// statement; the validated values are kept in `parameterValues` for `run`. Returns the
    /// parameters' specs. Throws the first problem found.
    @discardableResult
    public func check(_ recipe: Recipe, params: [String: Value] = [:]) throws -> [ParamSpec] {
        let program = try RecipeProgram(main: recipe, loader: loader)
        let specs = try ParamBinding.specs(program.paramDeclarations)
        let values = try ParamBinding.bind(specs, values: params, checkDirectories: checkDirectories)
        let check = try StaticCheck(registry: registry, statements: program.statements, names: Set(variables.keys),
                                    maps: Set(maps.keys), tables: tables.mapValues(\.kind), families: families.declarations)
        try check.check(program.statements)
        parameterValues = values
        loadedFiles = program.files
        return specs
    }

    /// Checks the recipe (see `check`), then runs it.
    public func run(_ recipe: Recipe, params: [String: Value] = [:]) throws {
        try check(recipe, params: params)
        usedFiles.insert(recipe.file.name)
        activeFiles = [recipe.file.name]
        defer { activeFiles = [] }
        try execute(recipe.statements)
    }

    /// Checks and runs statements in this session (the REPL's entry point).
    public func execute(checking statements: [Stmt]) throws {
        // Session maps and tables may be redefined, so they join after the duplicate check.
        var check = try StaticCheck(registry: registry, statements: statements, names: Set(variables.keys),
                                    maps: [], tables: [:])
        check.maps.formUnion(maps.keys)
        for (n, t) in tables where check.tables[n] == nil { check.tables[n] = t.kind }
        for (n, f) in families.declarations where check.families[n] == nil { check.families[n] = f }
        try check.addRoles()
        try check.check(statements)
        try execute(statements)
    }

    /// Parses, checks and runs text in this session (`name` is what diagnostics call it).
    public func execute(_ text: String, name: String) throws {
        try execute(checking: try Parser.parse(text, name: name))
    }

    /// Evaluates an expression in this session.
    public func evaluate(_ e: Expr) throws -> Value { try evaluator.evaluate(e) }

    // MARK: statements

    var evaluator: Evaluator {
        Evaluator(lookup: { [unowned self] name in
            if name == "config" {
                guard let c = self.context.config else {
                    throw Evaluator.NameUnavailable("'config' is not set yet: it is the config.json of the checkpoint 'load' reads; run 'load' first")
                }
                return c
            }
            if name == "weight_map" {
                guard let m = self.context.weightMap else {
                    throw Evaluator.NameUnavailable("'weight_map' is not set yet: it lists the tensors of the HF directory 'load hf' or 'load config' reads; run one first")
                }
                return m
            }
            if name == "shapes" {
                guard let m = self.context.shapes else {
                    throw Evaluator.NameUnavailable("'shapes' is not set yet: it gives the shape of every tensor a 'load' read; run one first")
                }
                return m
            }
            if name == "state_key" {
                guard let k = self.context.stateKey else {
                    throw Evaluator.NameUnavailable("'state_key' is not set yet: it is the dict of the torch file 'load pt' reads; run it first")
                }
                return k
            }
            return self.variables[name]
        }, knownNames: { [unowned self] in Array(self.variables.keys) + RecipeContext<State>.loadedNames })
    }

    func eval(_ e: Expr) throws -> Value { try evaluator.evaluate(e) }

    func condition(_ e: Expr, _ what: String) throws -> Bool {
        let v = try eval(e)
        guard case let .bool(b) = v else { throw RecipeError("\(what) must be true or false, found \(article(v))", at: e.location) }
        return b
    }

    func execute(_ statements: [Stmt]) throws {
        for s in statements { try execute(s) }
    }

    func execute(_ s: Stmt) throws {
        switch s.kind {
        case .recipe:
            break
        case let .param(decl):
            let value: Value
            if let v = parameterValues[decl.name] {
                value = v
            } else if let d = try ParamBinding.spec(decl).defaultValue {
                value = d
            } else {
                throw RecipeError("parameter '\(decl.name)' has no value and no default", at: s.location)
            }
            try bind(dotted: decl.name, value, at: s.location)
        case let .let(name, e):
            if RecipeContext<State>.loadedNames.contains(name) { throw RecipeError("'\(name)' is set by 'load' and cannot be bound with 'let'", at: s.location) }
            let value = try eval(e)
            // `let a = [a]` repeated could build a value deep enough to overflow the stack.
            if Self.depth(of: value, limit: Self.maxValueDepth) > Self.maxValueDepth {
                throw RecipeError("value nested more than \(Self.maxValueDepth) levels deep", at: e.location)
            }
            variables[name] = value
        case let .if(c, then, otherwise):
            try execute(try condition(c, "the condition of 'if'") ? then : otherwise ?? [])
        case let .assert(c, message):
            if try !condition(c, "the condition of 'assert'") {
                let text = try message.map { try eval($0).description } ?? "assertion failed: \(c)"
                throw RecipeError(text, at: s.location)
            }
        case let .use(path):
            try use(path, at: s)
        case let .map(name, body):
            maps[name] = body
        case let .apply(name):
            try runSteps(try steps(ofMap: name, at: s.location), map: name, reverting: false)
        case let .revert(name):
            try runSteps(try steps(ofMap: name, at: s.location).reversed().map { $0.flipped }, map: name, reverting: true)
        case let .table(kind, name, base, entries):
            guard registry.tableKinds[kind] != nil else { throw RecipeError("unknown table kind '\(kind)'", at: s.location) }
            tables[name] = (kind, base, entries, s.location)
        case let .for(name, list, body):
            // The loop variable is the loop's own: a name bound before comes back after it.
            let outer = variables[name]
            defer { variables[name] = outer }
            for item in try loopItems(name, list) {
                variables[name] = item
                try execute(body)
            }
        case let .family(name, base, body):
            families.declarations[name] = Families.Declaration(base: base, body: body, location: s.location)
        case let .selectFamily(name):
            _ = try families.chain(name, at: s.location)
            families.active = name
        case .role:
            throw RecipeError("a role (ROLE = NAME) belongs in a family block", at: s.location)
        case let .print(items):
            context.output(try items.map { try eval($0).description }.joined(separator: " "))
        case let .help(topic):
            context.output(try topic.map { try Help.text(for: $0, registry: registry, at: s.location) } ?? Help.overview(registry: registry))
        case let .command(keyword, args):
            let step = try bindCommand(keyword, args, at: s.location)
            try run(step, note: nil)
        }
    }

    /// Deepest list/mapping nesting a name may hold.
    static var maxValueDepth: Int { 512 }

    /// Nesting depth of a value, counting no further than just past `limit`.
    static func depth(of value: Value, limit: Int) -> Int {
        guard limit >= 0 else { return 1 }
        switch value {
        case let .list(items): return 1 + (items.map { depth(of: $0, limit: limit - 1) }.max() ?? 0)
        case let .dict(pairs): return 1 + (pairs.map { depth(of: $0.1, limit: limit - 1) }.max() ?? 0)
        default: return 0
        }
    }

    /// Binds a dotted parameter name into nested mappings under its root variable.
    func bind(dotted name: String, _ value: Value, at location: SourceLocation) throws {
        let parts = name.split(separator: ".").map(String.init)
        func insert(_ base: Value?, _ rest: ArraySlice<String>) throws -> Value {
            guard let key = rest.first else { return value }
            var pairs: [(String, Value)]
            switch base {
            case nil: pairs = []
            case let .dict(p)?: pairs = p
            case let other?:
                throw RecipeError("cannot bind parameter '\(name)': '\(key)' would be a key of \(article(other))", at: location)
            }
            if let i = pairs.firstIndex(where: { $0.0 == key }) {
                pairs[i].1 = try insert(pairs[i].1, rest.dropFirst())
            } else {
                pairs.append((key, try insert(nil, rest.dropFirst())))
            }
            return .dict(pairs)
        }
        guard let root = parts.first else { return }
        variables[root] = parts.count == 1 ? value : try insert(variables[root], parts.dropFirst())
    }

    func use(_ path: String, at s: Stmt) throws {
        let resolved = loader.locate(path, relativeTo: s.location.file.name)
        if let i = activeFiles.firstIndex(of: resolved) {
            throw RecipeError("'use' cycle: " + (activeFiles[i...] + [resolved]).joined(separator: " -> "), at: s.location)
        }
        if usedFiles.contains(resolved) { return }
        if activeFiles.count >= RecipeProgram.maxUseDepth {
            throw RecipeError("'use' nested more than \(RecipeProgram.maxUseDepth) files deep", at: s.location)
        }
        let recipe: Recipe
        if let loaded = loadedFiles[resolved] {
            recipe = loaded
        } else {
            // Not loaded up front (the REPL): load and check it now, with its own uses.
            recipe = try RecipeProgram.load(resolved, loader: loader, at: s)
            let nested = try RecipeProgram(main: recipe, loader: loader)
            let check = try StaticCheck(registry: registry, statements: nested.statements, names: Set(variables.keys),
                                        maps: Set(maps.keys), tables: tables.mapValues(\.kind), families: families.declarations)
            try check.check(nested.statements)
            for (k, v) in nested.files { loadedFiles[k] = v }
        }
        usedFiles.insert(resolved)
        activeFiles.append(resolved)
        defer { activeFiles.removeLast() }
        try execute(recipe.statements)
    }

    // MARK: tensor statements and maps

    /// A tensor statement bound to its evaluated arguments, run forwards or as its inverse.
    struct Step {
        var command: TensorCommand<State>
        var call: CommandCall
        var inverse: Bool
        var flipped: Step { Step(command: command, call: call, inverse: !inverse) }
    }

    func bindCommand(_ keyword: String, _ args: [ArgumentSyntax], at location: SourceLocation) throws -> Step {
        let (command, rest) = try registry.resolve(keyword, args, at: location)
        let binding = ArgumentBinding(name: command.name, signature: command.signature, location: location)
        let arguments = try bindArguments(rest, binding)
        return Step(command: command, call: CommandCall(name: command.name, arguments: arguments), inverse: false)
    }

    func bindArguments(_ args: [ArgumentSyntax], _ binding: ArgumentBinding) throws -> CommandArguments {
        var result = CommandArguments(positional: [], keywords: [], location: binding.location)
        for (slot, arg) in try binding.match(args, tables: try knownTables(at: binding.location)) {
            let value: ArgumentValue
            switch (slot.kind, arg.kind) {
            case let (.arrow, .arrow(a, b)):
                value = .arrow(try eval(a), try eval(b))
            case let (.word, .positional(e)), let (.word, .keyword(_, e)):
                value = .word(ArgumentBinding.word(e) ?? "")
            case let (.table, .positional(e)), let (.table, .keyword(_, e)):
                value = .table(try tableData(e.dottedName ?? "", at: arg.location))
            case let (.value(kind), .positional(e)), let (.value(kind), .keyword(_, e)):
                let v = try eval(e)
                guard kind.admits(v) else {
                    throw RecipeError("'\(binding.name)' expects \(kind) as its \(slot.name) argument, got \(article(v))", at: arg.location)
                }
                value = .value(v)
            default:
                throw RecipeError("'\(binding.name)': argument does not fit its \(slot.name) slot", at: arg.location)
            }
            let bound = CommandArgument(slot: slot.name, value: value, location: arg.location)
            if case .keyword = arg.kind { result.keywords.append(bound) } else { result.positional.append(bound) }
        }
        return result
    }

    /// Declared tables by kind, with the roles of the selected family that name tables.
    func knownTables(at location: SourceLocation) throws -> [String: String] {
        var known = tables.mapValues(\.kind)
        if families.active != nil {
            let roles = try RoleKinds(families: families.declarations, maps: Set(maps.keys), tables: known)
            for (n, k) in roles.tables { known[n] = k }
        }
        return known
    }

    /// A map or table name as written, or what the selected family's role of that name binds.
    func resolveRole(_ name: String, declared: Bool, at location: SourceLocation) throws -> String {
        if declared { return name }
        return try families.resolve(name, condition: { try self.condition($0, "the condition of 'if' in a family") }, at: location) ?? name
    }

    /// The items a `for` loop runs over: a list (or a mapping's keys).
    func loopItems(_ name: String, _ list: Expr) throws -> [Value] {
        switch try eval(list) {
        case let .list(items): return items
        case let .dict(pairs): return pairs.map { .string($0.0) }
        case let other: throw RecipeError("'for \(name) in' needs a list, found \(article(other))", at: list.location)
        }
    }

    /// A declared table with its entries evaluated now (they may read `config`); an extending
    /// table's entries first, then its base's.
    func tableData(_ written: String, at location: SourceLocation) throws -> TableData {
        let name = try resolveRole(written, declared: tables[written] != nil, at: location)
        guard let t = tables[name], let kind = registry.tableKinds[t.kind] else {
            throw RecipeError(Suggestions.message("unknown table '\(written)'" + (families.active.map { " (nor a role of family '\($0)')" } ?? ""),
                                                  for: written, in: tables.keys.sorted()), at: location)
        }
        var chain = [name]
        var written = t.entries
        var next = t.base
        while let b = next {
            guard let base = tables[b] else { throw RecipeError("table '\(chain.last!)' extends unknown table '\(b)'", at: t.location) }
            if chain.contains(b) { throw RecipeError("table '\(b)' extends itself: " + (chain + [b]).joined(separator: " -> "), at: t.location) }
            guard base.kind == t.kind else { throw RecipeError("table '\(chain.last!)' is a \(t.kind) table but extends '\(b)', a \(base.kind) table", at: t.location) }
            chain.append(b)
            written += base.entries
            next = base.base
        }
        var entries: [TableEntry] = []
        for e in written {
            guard let sig = kind.signature(of: e.word) else {
                throw RecipeError("unknown \(t.kind) entry '\(e.word)'", at: e.location)
            }
            let binding = ArgumentBinding(name: "\(t.kind) entry '\(e.word)'", signature: sig, location: e.location)
            entries.append(TableEntry(word: e.word, arguments: try bindArguments(e.arguments, binding)))
        }
        return TableData(kind: t.kind, name: name, entries: entries, location: t.location)
    }

    /// The statements of a map block, bound in order; `let`, `assert` and `if` conditions are
    /// evaluated while collecting, nested `apply`/`revert` are expanded.
    func steps(ofMap written: String, at location: SourceLocation) throws -> [Step] {
        let name = try resolveRole(written, declared: maps[written] != nil, at: location)
        guard let body = maps[name] else {
            let role = families.active.map { " (nor a role of family '\($0)')" } ?? " ('family NAME' selects the family whose roles it may name)"
            throw RecipeError(Suggestions.message("unknown map block '\(written)'" + role, for: written, in: maps.keys.sorted()), at: location)
        }
        if activeMaps.contains(name) {
            throw RecipeError("map block '\(name)' applies itself: " + (activeMaps + [name]).joined(separator: " -> "), at: location)
        }
        activeMaps.append(name)
        defer { activeMaps.removeLast() }
        var out: [Step] = []
        try collect(body, into: &out)
        return out
    }

    func collect(_ body: [Stmt], into out: inout [Step]) throws {
        for s in body {
            switch s.kind {
            case .let, .assert, .help, .print:
                try execute(s)
            case let .if(c, then, otherwise):
                try collect(try condition(c, "the condition of 'if'") ? then : otherwise ?? [], into: &out)
            case let .for(name, list, body):
                let outer = variables[name]
                defer { variables[name] = outer }
                for item in try loopItems(name, list) {
                    variables[name] = item
                    try collect(body, into: &out)
                }
            case let .apply(n):
                out += try steps(ofMap: n, at: s.location)
            case let .revert(n):
                out += try steps(ofMap: n, at: s.location).reversed().map { $0.flipped }
            case let .command(k, args):
                out.append(try bindCommand(k, args, at: s.location))
            default:
                throw RecipeError("'\(s.keyword)' is not allowed inside a map block", at: s.location)
            }
        }
    }

    /// Runs the steps of an `apply` / `revert`; every inverse must exist before the first runs.
    func runSteps(_ steps: [Step], map: String, reverting: Bool) throws {
        for step in steps where step.inverse && step.command.revert == nil {
            throw RecipeError("'\(step.call.name)' has no inverse, so map block '\(map)' cannot be reverted", at: step.call.location)
        }
        for step in steps {
            try run(step, note: "while \(reverting ? "reverting" : "applying") map block '\(map)'")
        }
    }

    func run(_ step: Step, note: String?) throws {
        let started = statementTimings ? DispatchTime.now().uptimeNanoseconds : 0
        defer {
            if statementTimings {
                let s = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                FileHandle.standardError.write(Data(String(format: "timing: %7.3f s  %@ (%@)\n", s, step.call.name, step.call.location.description).utf8))
            }
        }
        do {
            if step.inverse, let revert = step.command.revert {
                try revert(step.call, context)
            } else {
                try step.command.run(step.call, context)
            }
        } catch var e as RecipeError {
            if let note, !e.notes.contains(note) { e.notes.append(note) }
            throw e
        } catch {
            throw RecipeError("\(step.call.name)\(step.inverse ? " (inverse)" : ""): \(error)", at: step.call.location, notes: note.map { [$0] } ?? [])
        }
    }
}

/// `MM_CONVERT_TIMINGS=1`: each statement's wall time on standard error (where a conversion's time
/// goes, statement by statement; for benchmarking, not for scripts to parse).
let statementTimings = ProcessInfo.processInfo.environment["MM_CONVERT_TIMINGS"] == "1"
