/// One lexical token of the recipe language.
public struct Token: Equatable, CustomStringConvertible {
    public enum Kind: Equatable {
        case identifier(String)
        case int(Int)
        case float(Double)
        case string(String)
        case punct(Punct)
        /// A newline that ends a statement.
        case newline
        /// `;`
        case semicolon
        case eof
    }

    public enum Punct: String, Equatable, CaseIterable {
        case lparen = "(", rparen = ")", lbracket = "[", rbracket = "]", lbrace = "{", rbrace = "}"
        case comma = ",", dot = ".", colon = ":", question = "?", assign = "="
        case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
        case plus = "+", minus = "-", star = "*", slash = "/", slashSlash = "//", percent = "%"
        case arrow = "->"
    }

    public var kind: Kind
    public var location: SourceLocation
    /// Whitespace (or a line start) precedes the token. `f(x)` and `x[0]` are a call and an
    /// index only without it, so `drop "a" ["b"]` passes two arguments.
    public var spaceBefore: Bool

    public var description: String {
        switch kind {
        case let .identifier(s): return "'\(s)'"
        case let .int(i): return "'\(i)'"
        case let .float(d): return "'\(d)'"
        case .string: return "string"
        case let .punct(p): return "'\(p.rawValue)'"
        case .newline: return "end of line"
        case .semicolon: return "';'"
        case .eof: return "end of input"
        }
    }

    /// A newline or `;`: the end of a statement.
    var isSeparator: Bool { kind == .newline || kind == .semicolon }

    func isPunct(_ p: Punct) -> Bool { kind == .punct(p) }

    var identifier: String? {
        if case let .identifier(s) = kind { return s }
        return nil
    }
}
