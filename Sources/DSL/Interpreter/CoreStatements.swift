/// The statements of the language itself, with their syntax for `help` and "did you mean".
public enum CoreStatements {
    public static let all: [(keyword: String, usage: String, doc: String)] = [
        ("recipe", "recipe Converter.operation \"doc\"", "declare the command-line converter and operation this recipe implements"),
        ("param", "param NAME: TYPE [BOUNDS] [= DEFAULT] [\"doc\"] [ignored]", "declare a parameter (types int float bool str path dir [T] T?; bounds > >= < <= NUMBER)"),
        ("let", "let NAME = EXPR", "bind a name to a value"),
        ("if", "if COND { ... } [else { ... }]", "run a block when a condition holds"),
        ("assert", "assert COND [\"message\"]", "stop with the message unless the condition holds"),
        ("use", "use \"file.recipe\"", "run another recipe file (relative to this one) once: its maps, tables and params"),
        ("map", "map NAME { ... }", "declare a named block of tensor statements with an exact inverse"),
        ("apply", "apply NAME", "run a map block"),
        ("revert", "revert NAME", "run the inverses of a map block's statements, in reverse order"),
        ("for", "for NAME in LIST { ... }", "run a block once per item of a list, NAME bound to the item (for k in range(len(idx)) { ... })"),
        ("family", "family NAME [extends BASE] { ROLE = NAME ... } | family NAME", "declare which maps and tables a model family's roles (model, tp, pp, ...) mean, or select the family the shared directions resolve roles from"),
        ("print", "print EXPR...", "show values (config, parameters, names)"),
        ("help", "help [STATEMENT]", "list statements, or show one statement's usage"),
    ]

    public static var keywords: [String] { all.map(\.keyword) }
}

extension CommandRegistry {
    /// The command a statement names and the arguments left for it (`merge qkv a -> b` ->
    /// `merge qkv`, [a -> b]); unknown keywords and sub-words get "did you mean".
    func resolve(_ keyword: String, _ args: [ArgumentSyntax], at location: SourceLocation) throws -> (TensorCommand<State>, [ArgumentSyntax]) {
        let subs = subcommands(of: keyword)
        if !subs.isEmpty, let first = args.first, case let .positional(e) = first.kind, case let .name(w) = e.kind,
           let command = commands["\(keyword) \(w)"] {
            return (command, Array(args.dropFirst()))
        }
        if let command = commands[keyword] { return (command, args) }
        if !subs.isEmpty {
            let list = subs.joined(separator: ", ")
            if let first = args.first, case let .positional(e) = first.kind, let w = ArgumentBinding.word(e) {
                throw RecipeError(Suggestions.message("unknown '\(keyword)' kind '\(w)' (one of \(list))", for: w, in: subs), at: first.location)
            }
            throw RecipeError("'\(keyword)' needs a kind first: one of \(list)", at: args.first?.location ?? location)
        }
        let known = CoreStatements.keywords + keywords + tableKinds.keys.sorted()
        throw RecipeError(Suggestions.message("unknown statement '\(keyword)'", for: keyword, in: known), at: location,
                          notes: ["'help' lists the statements"])
    }
}
