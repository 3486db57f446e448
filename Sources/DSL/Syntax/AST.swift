import Ops

/// An expression, with the position of its first token (of its operator for binary operations).
public struct Expr: CustomStringConvertible {
    public indirect enum Kind {
        case literal(Value)
        /// A name bound by `param`, `let` or the interpreter (`config`).
        case name(String)
        /// `base.name`: a key of a mapping (`config.vision_config.depth`).
        case member(Expr, String)
        /// `base[index]`
        case index(Expr, Expr)
        case list([Expr])
        case unary(UnaryOp, Expr)
        case binary(BinaryOp, Expr, Expr)
        /// A built-in function call `len(x)`.
        case call(String, [Expr])
    }

    public enum UnaryOp: String { case negate = "-", not = "not" }

    public enum BinaryOp: String {
        case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%"
        case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
        case and = "and", or = "or"
    }

    public var kind: Kind
    public var location: SourceLocation
    /// Levels of the tree below and including this node: the parser bounds it, so evaluating
    /// (which recurses) cannot exhaust the stack on `1+1+1+...` or `a.b.c...` chains.
    public let height: Int

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
        switch kind {
        case .literal, .name: height = 1
        case let .member(b, _): height = b.height + 1
        case let .index(b, i): height = max(b.height, i.height) + 1
        case let .list(items): height = (items.map(\.height).max() ?? 0) + 1
        case let .unary(_, e): height = e.height + 1
        case let .binary(_, a, b): height = max(a.height, b.height) + 1
        case let .call(_, args): height = (args.map(\.height).max() ?? 0) + 1
        }
    }

    /// An S-expression rendering of the tree, for tests and debugging.
    public var description: String {
        switch kind {
        case let .literal(v): return v.quotedDescription
        case let .name(n): return n
        case let .member(b, n): return "\(b).\(n)"
        case let .index(b, i): return "\(b)[\(i)]"
        case let .list(items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case let .unary(op, e): return "(\(op.rawValue) \(e))"
        case let .binary(op, a, b): return "(\(op.rawValue) \(a) \(b))"
        case let .call(f, args): return "\(f)(" + args.map(\.description).joined(separator: ", ") + ")"
        }
    }

    /// The dotted name this expression spells (`cfg.a.b`), if it is only names and dots.
    public var dottedName: String? {
        switch kind {
        case let .name(n): return n
        case let .member(b, n): return b.dottedName.map { $0 + "." + n }
        default: return nil
        }
    }
}

/// One argument of a tensor statement or table entry.
public struct ArgumentSyntax: CustomStringConvertible {
    public enum Kind {
        case positional(Expr)
        /// `source -> target`
        case arrow(Expr, Expr)
        /// `key=value`
        case keyword(String, Expr)
    }

    public var kind: Kind
    public var location: SourceLocation

    public var description: String {
        switch kind {
        case let .positional(e): return e.description
        case let .arrow(a, b): return "\(a) -> \(b)"
        case let .keyword(k, e): return "\(k)=\(e)"
        }
    }
}

/// A `param` declaration as written (the default is still an expression).
public struct ParamDecl {
    public var name: String
    public var type: ParamType
    public var bounds: [ParamBound]
    public var defaultValue: Expr?
    public var doc: String
    public var ignored: Bool
    public var location: SourceLocation
}

/// A statement, with the position of its keyword.
public struct Stmt: CustomStringConvertible {
    public indirect enum Kind {
        /// `recipe Converter.operation "doc"`
        case recipe(converter: String, operation: String, doc: String)
        case param(ParamDecl)
        /// `let name = expr`
        case `let`(String, Expr)
        /// `if cond { ... } else { ... }` (`else if` nests another `if` in the else branch).
        case `if`(Expr, [Stmt], [Stmt]?)
        /// `assert cond "message"`
        case assert(Expr, Expr?)
        /// `use "file.recipe"`
        case use(String)
        /// `map name { ... }`: a named, revertible block.
        case map(String, [Stmt])
        case apply(String)
        case revert(String)
        /// `kind name [extends base] { entry args; ... }`: a table (`shard`, `stages`) handed to the
        /// registry. An extending table's own entries come first, so they take precedence (a
        /// tensor takes the first entry that matches), then the base's.
        case table(kind: String, name: String, base: String?, entries: [TableEntrySyntax])
        /// `for name in EXPR { ... }`: the block once per item of a list.
        case `for`(String, Expr, [Stmt])
        /// `family name [extends base] { role = target ... }`: which maps and tables the shared
        /// directions (Recipes/common/) mean by their role names (`model`, `tp`, `pp`, ...).
        case family(name: String, base: String?, body: [Stmt])
        /// `role = target` inside a family block.
        case role(String, String)
        /// `family name`: the family whose roles `apply`, `revert` and table arguments resolve from now on.
        case selectFamily(String)
        /// `help [topic]`
        case help(String?)
        /// `print EXPR...`: show values (REPL, debugging recipes).
        case print([Expr])
        /// Any other statement: a keyword and arguments, dispatched through the registry.
        case command(String, [ArgumentSyntax])
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The statement's keyword as written.
    public var keyword: String {
        switch kind {
        case .recipe: return "recipe"
        case .param: return "param"
        case .let: return "let"
        case .if: return "if"
        case .assert: return "assert"
        case .use: return "use"
        case .map: return "map"
        case .apply: return "apply"
        case .revert: return "revert"
        case let .table(kind, _, _, _): return kind
        case .for: return "for"
        case .family, .selectFamily: return "family"
        case .role: return "role"
        case .help: return "help"
        case .print: return "print"
        case let .command(k, _): return k
        }
    }

    /// An S-expression rendering of the tree, for tests and debugging.
    public var description: String {
        func block(_ b: [Stmt]) -> String { "{" + b.map(\.description).joined(separator: "; ") + "}" }
        switch kind {
        case let .recipe(c, o, d): return "(recipe \(c).\(o) \(Value.string(d).quotedDescription))"
        case let .param(p):
            var s = "(param \(p.name): \(p.type)"
            for b in p.bounds { s += " \(b)" }
            if let d = p.defaultValue { s += " = \(d)" }
            if !p.doc.isEmpty { s += " \(Value.string(p.doc).quotedDescription)" }
            if p.ignored { s += " ignored" }
            return s + ")"
        case let .let(n, e): return "(let \(n) \(e))"
        case let .if(c, t, e): return "(if \(c) \(block(t))" + (e.map { " else " + block($0) } ?? "") + ")"
        case let .assert(c, m): return "(assert \(c)" + (m.map { " \($0)" } ?? "") + ")"
        case let .use(p): return "(use \(Value.string(p).quotedDescription))"
        case let .map(n, b): return "(map \(n) \(block(b)))"
        case let .apply(n): return "(apply \(n))"
        case let .revert(n): return "(revert \(n))"
        case let .table(k, n, base, entries):
            return "(\(k) \(n)" + (base.map { " extends \($0)" } ?? "") + " {" + entries.map(\.description).joined(separator: "; ") + "})"
        case let .for(v, e, body): return "(for \(v) in \(e) \(block(body)))"
        case let .family(n, base, body): return "(family \(n)" + (base.map { " extends \($0)" } ?? "") + " \(block(body)))"
        case let .role(r, t): return "(\(r) = \(t))"
        case let .selectFamily(n): return "(family \(n))"
        case let .help(t): return "(help" + (t.map { " \($0)" } ?? "") + ")"
        case let .print(items): return "(" + (["print"] + items.map(\.description)).joined(separator: " ") + ")"
        case let .command(k, args): return "(" + ([k] + args.map(\.description)).joined(separator: " ") + ")"
        }
    }
}

/// One line of a table declaration: `row "pattern" "pattern"`, `vit "prefix" first=[...]`.
public struct TableEntrySyntax: CustomStringConvertible {
    public var word: String
    public var arguments: [ArgumentSyntax]
    public var location: SourceLocation

    public var description: String { ([word] + arguments.map(\.description)).joined(separator: " ") }
}
