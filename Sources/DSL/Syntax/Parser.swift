import Ops

/// Builds statements from tokens (recursive descent, one token of lookahead plus a peek).
///
/// Grammar (see Recipes/README.md): a program is statements separated by newlines or `;`;
/// a statement is a keyword followed by its arguments; `{ ... }` holds blocks and tables.
public struct Parser {
    /// Deepest nesting of blocks, brackets and operators accepted: bounded so no input
    /// can exhaust the stack.
    public static let maxDepth = 64

    let tokens: [Token]
    var pos = 0
    var depth = 0
    /// Blocks entered (`if`, `map`): `param`, `use`, `map`, `recipe` and tables live at top level only.
    var blockDepth = 0
    /// Open `(`, `[`, `{`: running out of input inside one makes the error "incomplete" (REPL).
    var openDelimiters = 0
    /// In statement arguments, `f(x)` / `x[0]` need the bracket to touch the name (`drop "a" ["b"]`).
    var argumentMode = false

    static let reserved: Set<String> = ["and", "or", "not", "true", "false", "null"]
    static let typeNames = ["int", "float", "bool", "str", "path", "dir", "layers"]

    public init(tokens: [Token]) { self.tokens = tokens }

    /// Parses a whole source file.
    public static func parse(_ file: SourceFile) throws -> [Stmt] {
        var parser = Parser(tokens: try Lexer.tokenize(file))
        return try parser.program()
    }

    /// Parses text held in memory, named `name` in diagnostics.
    public static func parse(_ text: String, name: String) throws -> [Stmt] {
        try parse(SourceFile(name: name, text: text))
    }

    // MARK: token helpers

    var current: Token { tokens[min(pos, tokens.count - 1)] }
    func peekToken(_ n: Int = 1) -> Token { tokens[min(pos + n, tokens.count - 1)] }
    var previous: Token? { pos > 0 ? tokens[pos - 1] : nil }

    @discardableResult
    mutating func advance() -> Token {
        let t = current
        if pos < tokens.count - 1 { pos += 1 }
        switch t.kind {
        case .punct(.lparen), .punct(.lbracket), .punct(.lbrace): openDelimiters += 1
        case .punct(.rparen), .punct(.rbracket), .punct(.rbrace): openDelimiters -= 1
        default: break
        }
        return t
    }

    func error(_ message: String, at token: Token? = nil) -> RecipeError {
        let t = token ?? current
        let incomplete = t.kind == .eof && (openDelimiters > 0 || previous.map { $0.isPunct(.arrow) || $0.isPunct(.comma) } == true)
        return RecipeError(message, at: t.location, isIncomplete: incomplete)
    }

    func expected(_ what: String) -> RecipeError { error("expected \(what), found \(current)") }

    mutating func expect(_ p: Token.Punct, _ what: String? = nil) throws -> Token {
        guard current.isPunct(p) else { throw expected(what ?? "'\(p.rawValue)'") }
        return advance()
    }

    mutating func identifier(_ what: String) throws -> (String, SourceLocation) {
        guard let name = current.identifier else { throw expected(what) }
        if Self.reserved.contains(name) { throw error("'\(name)' is a reserved word and cannot be used as \(what)") }
        let t = advance()
        return (name, t.location)
    }

    mutating func nested<T>(_ body: (inout Parser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw error("nesting too deep (more than \(Self.maxDepth) levels)") }
        return try body(&self)
    }

    func atStatementEnd() -> Bool {
        current.isSeparator || current.kind == .eof || current.isPunct(.rbrace)
    }

    mutating func skipSeparators() { while current.isSeparator { advance() } }

    // MARK: statements

    mutating func program() throws -> [Stmt] {
        var statements: [Stmt] = []
        skipSeparators()
        while current.kind != .eof {
            if current.isPunct(.rbrace) { throw error("unexpected '}' without a matching '{'") }
            statements.append(try statement())
            try endOfStatement()
        }
        return statements
    }

    mutating func endOfStatement() throws {
        if current.isSeparator { skipSeparators(); return }
        if current.kind == .eof || current.isPunct(.rbrace) { return }
        throw expected("end of statement (newline or ';')")
    }

    mutating func block(_ owner: String) throws -> [Stmt] {
        let open = current
        guard open.isPunct(.lbrace) else { throw expected("'{' to open the \(owner) block") }
        advance()
        return try nested { p in
            p.blockDepth += 1
            defer { p.blockDepth -= 1 }
            var body: [Stmt] = []
            p.skipSeparators()
            while !p.current.isPunct(.rbrace) {
                if p.current.kind == .eof {
                    throw p.error("expected '}' to close the \(owner) block opened at line \(open.location.line), column \(open.location.column)")
                }
                body.append(try p.statement())
                try p.endOfStatement()
            }
            p.advance()
            return body
        }
    }

    mutating func topLevelOnly(_ keyword: String, _ token: Token) throws {
        if blockDepth > 0 { throw error("'\(keyword)' is only allowed at the top level of a recipe, not inside a block", at: token) }
    }

    mutating func statement() throws -> Stmt {
        let start = current
        guard let keyword = start.identifier else {
            throw error("expected a statement keyword, found \(current)")
        }
        argumentMode = false
        switch keyword {
        case "recipe":
            try topLevelOnly(keyword, start)
            advance()
            let (converter, _) = try identifier("a converter name (recipe Converter.operation \"doc\")")
            // `recipe name "doc"` without an operation: a command taking its options directly.
            var operation = ""
            if current.isPunct(.dot) {
                advance()
                operation = try identifier("an operation name").0
            } else if current.identifier != nil {
                throw expected("'.' between converter and operation (recipe Converter.operation \"doc\", or recipe name \"doc\")")
            }
            var doc = ""
            if case let .string(s) = current.kind { doc = s; advance() }
            return Stmt(.recipe(converter: converter, operation: operation, doc: doc), at: start.location)
        case "param":
            try topLevelOnly(keyword, start)
            advance()
            return Stmt(.param(try paramDecl(start.location)), at: start.location)
        case "let":
            advance()
            let (name, _) = try identifier("a name after 'let'")
            _ = try expect(.assign, "'=' after 'let \(name)'")
            return Stmt(.let(name, try expression()), at: start.location)
        case "if":
            advance()
            return try ifStatement(start)
        case "else":
            throw error("'else' without 'if' ('else' goes on the line of the closing '}')", at: start)
        case "assert":
            advance()
            let cond = try expression()
            let message = atStatementEnd() ? nil : try expression()
            return Stmt(.assert(cond, message), at: start.location)
        case "use":
            try topLevelOnly(keyword, start)
            advance()
            guard case let .string(path) = current.kind else { throw expected("a file name in quotes after 'use'") }
            advance()
            return Stmt(.use(path), at: start.location)
        case "map":
            try topLevelOnly(keyword, start)
            advance()
            let (name, _) = try identifier("a block name after 'map'")
            return Stmt(.map(name, try block("map")), at: start.location)
        case "for":
            advance()
            let (name, _) = try identifier("a loop variable after 'for' (for k in range(3) { ... })")
            guard current.identifier == "in" else { throw expected("'in' after 'for \(name)' (for \(name) in LIST { ... })") }
            advance()
            let list = try expression()
            return Stmt(.for(name, list, try block("for")), at: start.location)
        case "family":
            try topLevelOnly(keyword, start)
            advance()
            let (name, _) = try identifier("a family name after 'family'")
            var base: String?
            if current.identifier == "extends" {
                advance()
                base = try identifier("the name of the family it extends").0
            }
            if current.isPunct(.lbrace) { return Stmt(.family(name: name, base: base, body: try familyBody()), at: start.location) }
            if base != nil { throw expected("'{' to open the family block") }
            return Stmt(.selectFamily(name), at: start.location)
        case "apply", "revert":
            advance()
            let (name, _) = try identifier("a map block name after '\(keyword)'")
            return Stmt(keyword == "apply" ? .apply(name) : .revert(name), at: start.location)
        case "print":
            advance()
            var items: [Expr] = []
            while !atStatementEnd() { argumentMode = true; items.append(try expression()) }
            argumentMode = false
            return Stmt(.print(items), at: start.location)
        case "help":
            advance()
            // A topic is one word or a statement with its sub-word (`help merge qkv`).
            var words: [String] = []
            while let t = current.identifier, !atStatementEnd() { words.append(t); advance() }
            return Stmt(.help(words.isEmpty ? nil : words.joined(separator: " ")), at: start.location)
        default:
            advance()
            if let name = current.identifier, peekToken().isPunct(.lbrace) || (peekToken().identifier == "extends" && peekToken(3).isPunct(.lbrace)) {
                try topLevelOnly("\(keyword) \(name) { ... }", start)
                advance()
                var base: String?
                if current.identifier == "extends" {
                    advance()
                    base = try identifier("the name of the table it extends").0
                }
                return Stmt(.table(kind: keyword, name: name, base: base, entries: try tableEntries(keyword)), at: start.location)
            }
            do {
                return Stmt(.command(keyword, try arguments()), at: start.location)
            } catch let e as RecipeError {
                // `parma x: int` fails as arguments; the misspelt keyword is the real problem.
                if let core = Suggestions.closest(to: keyword, in: CoreStatements.keywords + ["else"]) {
                    throw RecipeError("unknown statement '\(keyword)'; did you mean '\(core)'?", at: start.location)
                }
                throw e
            }
        }
    }

    mutating func ifStatement(_ start: Token) throws -> Stmt {
        let cond = try expression()
        let then = try block("if")
        var otherwise: [Stmt]?
        if current.identifier == "else" {
            advance()
            if current.identifier == "if" {
                let inner = advance()
                otherwise = [try nested { p in try p.ifStatement(inner) }]
            } else {
                otherwise = try block("else")
            }
        }
        return Stmt(.if(cond, then, otherwise), at: start.location)
    }

    /// `{ role = target ... }` with `if` / `else` around roles: nothing else runs in a family.
    mutating func familyBody() throws -> [Stmt] {
        let open = try expect(.lbrace)
        return try nested { p in
            var body: [Stmt] = []
            p.skipSeparators()
            while !p.current.isPunct(.rbrace) {
                if p.current.kind == .eof {
                    throw p.error("expected '}' to close the family block opened at line \(open.location.line), column \(open.location.column)")
                }
                let start = p.current
                if start.identifier == "if" {
                    p.advance()
                    let cond = try p.expression()
                    let then = try p.familyBody()
                    var otherwise: [Stmt]?
                    if p.current.identifier == "else" {
                        p.advance()
                        otherwise = try p.familyBody()
                    }
                    body.append(Stmt(.if(cond, then, otherwise), at: start.location))
                } else {
                    let (role, _) = try p.identifier("a role (role = map or table name), or 'if'")
                    _ = try p.expect(.assign, "'=' after the role '\(role)' (\(role) = NAME)")
                    let (target, _) = try p.identifier("the name of a map or table after '\(role) ='")
                    body.append(Stmt(.role(role, target), at: start.location))
                }
                try p.endOfStatement()
            }
            p.advance()
            return body
        }
    }

    mutating func tableEntries(_ kind: String) throws -> [TableEntrySyntax] {
        let open = try expect(.lbrace)
        var entries: [TableEntrySyntax] = []
        skipSeparators()
        while !current.isPunct(.rbrace) {
            if current.kind == .eof {
                throw error("expected '}' to close the \(kind) table opened at line \(open.location.line), column \(open.location.column)")
            }
            let start = current
            guard let word = start.identifier else { throw expected("a \(kind) table entry (a word followed by arguments)") }
            advance()
            entries.append(TableEntrySyntax(word: word, arguments: try arguments(), location: start.location))
            try endOfStatement()
        }
        advance()
        return entries
    }

    /// Positional, `key=value` and `a -> b` arguments up to the end of the statement.
    mutating func arguments() throws -> [ArgumentSyntax] {
        var args: [ArgumentSyntax] = []
        while !atStatementEnd() {
            let start = current
            if current.isPunct(.lbrace) { throw error("unexpected '{': only 'if', 'map' and table declarations ('KIND NAME {') take a block") }
            if let key = current.identifier, !Self.reserved.contains(key), peekToken().isPunct(.assign) {
                advance(); advance()
                argumentMode = true
                let value = try expression()
                args.append(ArgumentSyntax(kind: .keyword(key, value), location: start.location))
                continue
            }
            argumentMode = true
            let value = try expression()
            if current.isPunct(.arrow) {
                advance()
                argumentMode = true
                let target = try expression()
                args.append(ArgumentSyntax(kind: .arrow(value, target), location: start.location))
            } else {
                args.append(ArgumentSyntax(kind: .positional(value), location: start.location))
            }
        }
        argumentMode = false
        return args
    }

    // MARK: param declarations

    mutating func paramDecl(_ location: SourceLocation) throws -> ParamDecl {
        var (name, _) = try identifier("a parameter name after 'param'")
        while current.isPunct(.dot) {
            advance()
            let (part, _) = try identifier("a name after '.' in the parameter name")
            name += "." + part
        }
        _ = try expect(.colon, "':' and a type after the parameter name (param \(name): int)")
        var bounds: [ParamBound] = []
        var type = try paramType(&bounds)
        var defaultExpr: Expr?
        var doc: String?
        var ignored = false
        while !atStatementEnd() {
            if current.isPunct(.assign), defaultExpr == nil {
                advance()
                defaultExpr = try expression()
            } else if case let .string(s) = current.kind, doc == nil {
                doc = s
                advance()
            } else if current.identifier == "ignored", !ignored {
                ignored = true
                advance()
            } else {
                throw expected("'= default', a \"doc string\" or 'ignored' in the parameter declaration")
            }
        }
        if let d = defaultExpr, case .literal(.null) = d.kind, !Self.isOptional(type) { type = .optional(type) }
        if defaultExpr == nil, Self.isOptional(type) { defaultExpr = Expr(.literal(.null), at: location) }
        return ParamDecl(name: name, type: type, bounds: bounds, defaultValue: defaultExpr, doc: doc ?? "", ignored: ignored, location: location)
    }

    static func isOptional(_ t: ParamType) -> Bool {
        if case .optional = t { return true }
        return false
    }

    mutating func paramType(_ bounds: inout [ParamBound]) throws -> ParamType {
        try nested { p in
            var type: ParamType
            if p.current.isPunct(.lbracket) {
                p.advance()
                let element = try p.paramType(&bounds)
                _ = try p.expect(.rbracket, "']' to close the list type")
                type = .list(element)
            } else if p.current.isPunct(.lbrace) {
                p.advance()
                let element = try p.paramType(&bounds)
                _ = try p.expect(.rbrace, "'}' to close the mapping type")
                type = .dict(element)
            } else if let name = p.current.identifier {
                switch name {
                case "int": type = .int
                case "float": type = .float
                case "bool": type = .bool
                case "str", "string": type = .str
                case "path": type = .path
                case "dir": type = .dir
                case "layers": type = .layers
                default:
                    throw p.error(Suggestions.message("unknown type '\(name)' (types are int, float, bool, str, path, dir, [T], {T} and T?)", for: name, in: Self.typeNames))
                }
                p.advance()
            } else {
                throw p.expected("a type (int, float, bool, str, path, dir, [T], {T} or T?)")
            }
            while let op = p.boundOp() {
                p.advance()
                var sign = 1.0
                if p.current.isPunct(.minus) { sign = -1; p.advance() }
                let value: Double
                switch p.current.kind {
                case let .int(i): value = sign * Double(i)
                case let .float(d): value = sign * d
                default: throw p.expected("a number after '\(op.rawValue)' in the bound")
                }
                guard abs(value) < 1e15 else { throw p.error("bound \(value) is too large") }
                bounds.append(ParamBound(op, value))
                p.advance()
            }
            if p.current.isPunct(.question) {
                p.advance()
                type = .optional(type)
            }
            return type
        }
    }

    func boundOp() -> ParamBound.Op? {
        switch current.kind {
        case .punct(.gt): return .gt
        case .punct(.ge): return .ge
        case .punct(.lt): return .lt
        case .punct(.le): return .le
        default: return nil
        }
    }

    // MARK: expressions

    /// Tallest expression tree accepted (operator chains count as nesting).
    public static let maxExpressionHeight = 256

    public mutating func expression() throws -> Expr { try nested { p in try p.orExpr() } }

    /// Builds a node, refusing trees taller than the limit as soon as they grow past it (a tall
    /// tree would overflow the stack when evaluated, and even when freed).
    func node(_ kind: Expr.Kind, at location: SourceLocation) throws -> Expr {
        let e = Expr(kind, at: location)
        if e.height > Self.maxExpressionHeight {
            throw error("expression too deeply nested (more than \(Self.maxExpressionHeight) levels of operators)")
        }
        return e
    }

    mutating func orExpr() throws -> Expr {
        var left = try andExpr()
        while current.identifier == "or" {
            let op = advance()
            left = try node(.binary(.or, left, try andExpr()), at: op.location)
        }
        return left
    }

    mutating func andExpr() throws -> Expr {
        var left = try notExpr()
        while current.identifier == "and" {
            let op = advance()
            left = try node(.binary(.and, left, try notExpr()), at: op.location)
        }
        return left
    }

    mutating func notExpr() throws -> Expr {
        if current.identifier == "not" {
            let op = advance()
            return try nested { p in try p.node(.unary(.not, try p.notExpr()), at: op.location) }
        }
        return try comparison()
    }

    mutating func comparison() throws -> Expr {
        let left = try additive()
        guard let op = comparisonOp() else { return left }
        let opToken = advance()
        let right = try additive()
        if comparisonOp() != nil { throw error("comparisons cannot be chained; combine them with 'and'") }
        return try node(.binary(op, left, right), at: opToken.location)
    }

    func comparisonOp() -> Expr.BinaryOp? {
        switch current.kind {
        case .punct(.eq): return .eq
        case .punct(.ne): return .ne
        case .punct(.lt): return .lt
        case .punct(.le): return .le
        case .punct(.gt): return .gt
        case .punct(.ge): return .ge
        default: return nil
        }
    }

    mutating func additive() throws -> Expr {
        var left = try multiplicative()
        while true {
            let op: Expr.BinaryOp
            switch current.kind {
            case .punct(.plus): op = .add
            case .punct(.minus): op = .sub
            default: return left
            }
            let t = advance()
            left = try node(.binary(op, left, try multiplicative()), at: t.location)
        }
    }

    mutating func multiplicative() throws -> Expr {
        var left = try unary()
        while true {
            let op: Expr.BinaryOp
            switch current.kind {
            case .punct(.star): op = .mul
            case .punct(.slash): op = .div
            case .punct(.slashSlash): op = .floorDiv
            case .punct(.percent): op = .mod
            default: return left
            }
            let t = advance()
            left = try node(.binary(op, left, try unary()), at: t.location)
        }
    }

    mutating func unary() throws -> Expr {
        if current.isPunct(.minus) {
            let t = advance()
            return try nested { p in try p.node(.unary(.negate, try p.unary()), at: t.location) }
        }
        if current.isPunct(.plus) {
            advance()
            return try nested { p in try p.unary() }
        }
        return try postfix()
    }

    mutating func postfix() throws -> Expr {
        var e = try primary()
        while true {
            if current.isPunct(.dot) {
                advance()
                guard let name = current.identifier else { throw expected("a key name after '.'") }
                let t = advance()
                e = try node(.member(e, name), at: t.location)
            } else if current.isPunct(.lbracket), !(argumentMode && current.spaceBefore) {
                let t = advance()
                let saved = argumentMode
                argumentMode = false
                let index = try expression()
                _ = try expect(.rbracket, "']' to close the index")
                argumentMode = saved
                e = try node(.index(e, index), at: t.location)
            } else if current.isPunct(.lparen), !(argumentMode && current.spaceBefore) {
                guard case let .name(function) = e.kind else {
                    throw error("only built-in functions can be called, as name(arguments)")
                }
                advance()
                let args = try commaList(closing: .rparen, what: "function arguments")
                e = try node(.call(function, args), at: e.location)
            } else {
                return e
            }
        }
    }

    mutating func commaList(closing: Token.Punct, what: String) throws -> [Expr] {
        let saved = argumentMode
        argumentMode = false
        defer { argumentMode = saved }
        var items: [Expr] = []
        while !current.isPunct(closing) {
            items.append(try expression())
            if current.isPunct(.comma) { advance(); continue }
            if !current.isPunct(closing) { throw expected("',' or '\(closing.rawValue)' in \(what)") }
        }
        advance()
        return items
    }

    mutating func primary() throws -> Expr {
        let t = current
        switch t.kind {
        case let .int(i): advance(); return Expr(.literal(.int(i)), at: t.location)
        case let .float(d): advance(); return Expr(.literal(.float(d)), at: t.location)
        case let .string(s): advance(); return Expr(.literal(.string(s)), at: t.location)
        case let .identifier(name):
            switch name {
            case "true": advance(); return Expr(.literal(.bool(true)), at: t.location)
            case "false": advance(); return Expr(.literal(.bool(false)), at: t.location)
            case "null": advance(); return Expr(.literal(.null), at: t.location)
            case "and", "or", "not": throw expected("a value")
            default: advance(); return Expr(.name(name), at: t.location)
            }
        case .punct(.lparen):
            advance()
            let saved = argumentMode
            argumentMode = false
            let e = try expression()
            _ = try expect(.rparen, "')' to close the parenthesis")
            argumentMode = saved
            return e
        case .punct(.lbracket):
            advance()
            let items = try nested { p in try p.commaList(closing: .rbracket, what: "the list") }
            return try node(.list(items), at: t.location)
        default:
            throw expected("a value")
        }
    }
}
