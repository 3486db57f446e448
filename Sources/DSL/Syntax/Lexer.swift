import Foundation

/// Turns recipe text into tokens.
///
/// Newlines end statements, except inside `(` `[`, after `->` or `,`, before a line that starts
/// with `->`, and after a trailing `\`. `#` starts a comment that runs to the end of the line.
public struct Lexer {
    let file: SourceFile
    let chars: [Character]
    var index = 0
    var line: Int
    var column = 1
    var spaceBefore = true

    public init(file: SourceFile) {
        self.file = file
        self.chars = file.characters
        self.line = file.firstLine
        if chars.first == "\u{FEFF}" { index = 1 }  // a byte-order mark some editors write
    }

    /// All tokens, ending with `.eof`; newlines already folded by the continuation rules.
    public static func tokenize(_ file: SourceFile) throws -> [Token] {
        var lexer = Lexer(file: file)
        var raw: [Token] = []
        while true {
            let t = try lexer.next()
            raw.append(t)
            if t.kind == .eof { break }
        }
        return foldSeparators(raw)
    }

    /// Drops the newline separators that do not end a statement (see the type's doc).
    static func foldSeparators(_ raw: [Token]) -> [Token] {
        var out: [Token] = []
        var depth = 0
        for (i, t) in raw.enumerated() {
            switch t.kind {
            case .punct(.lparen), .punct(.lbracket): depth += 1
            case .punct(.rparen), .punct(.rbracket): depth = max(0, depth - 1)
            case .punct(.lbrace), .punct(.rbrace): depth = 0
            default: break
            }
            if t.kind == .newline {
                if depth > 0 { continue }
                if let prev = out.last, prev.isPunct(.arrow) || prev.isPunct(.comma) { continue }
                var j = i + 1
                while j < raw.count, raw[j].kind == .newline { j += 1 }
                if j < raw.count, raw[j].isPunct(.arrow) { continue }
            }
            out.append(t)
        }
        return out
    }

    var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    func peek(_ offset: Int = 0) -> Character? {
        index + offset < chars.count ? chars[index + offset] : nil
    }

    mutating func advance() -> Character {
        let c = chars[index]
        index += 1
        if c == "\n" || c == "\r\n" || c == "\r" { line += 1; column = 1 } else { column += 1 }
        return c
    }

    func isNewline(_ c: Character) -> Bool { c == "\n" || c == "\r\n" || c == "\r" }

    /// The previous token was `=`, `[`, `(` or `,`: a bare path may follow without a blank
    /// (`path=/data/x`, `[/a, /b]`).
    var lastWasAssign = false

    mutating func next() throws -> Token {
        let t = try scan()
        lastWasAssign = t.isPunct(.assign) || t.isPunct(.lbracket) || t.isPunct(.lparen) || t.isPunct(.comma)
        return t
    }

    mutating func scan() throws -> Token {
        // Skip blanks, comments and escaped newlines.
        while let c = peek() {
            if c == " " || c == "\t" { _ = advance(); spaceBefore = true; continue }
            if c == "#" { while let d = peek(), !isNewline(d) { _ = advance() }; continue }
            if c == "\\", let d = peek(1), isNewline(d) { _ = advance(); _ = advance(); spaceBefore = true; continue }
            break
        }
        let start = location
        let space = spaceBefore
        spaceBefore = false
        guard let c = peek() else { return Token(kind: .eof, location: start, spaceBefore: true) }
        if isNewline(c) {
            _ = advance()
            spaceBefore = true
            return Token(kind: .newline, location: start, spaceBefore: true)
        }
        if c == ";" { _ = advance(); return Token(kind: .semicolon, location: start, spaceBefore: space) }
        if space || lastWasAssign, let path = try barePath(start: start) {
            return Token(kind: .string(path), location: start, spaceBefore: space)
        }
        if c == "r", peek(1) == "\"" {
            _ = advance()
            return Token(kind: .string(try string(raw: true, start: start)), location: start, spaceBefore: space)
        }
        if c.isLetter || c == "_" {
            var s = ""
            while let d = peek(), d.isLetter || d.isNumber || d == "_" { s.append(advance()) }
            return Token(kind: .identifier(s), location: start, spaceBefore: space)
        }
        if c.isASCII && c.isNumber { return try number(start: start, space: space) }
        if c == "\"" { return Token(kind: .string(try string(raw: false, start: start)), location: start, spaceBefore: space) }
        for p in [Token.Punct.arrow, .eq, .ne, .le, .ge, .slashSlash] where matches(p.rawValue) {
            _ = advance(); _ = advance()
            return Token(kind: .punct(p), location: start, spaceBefore: space)
        }
        if let p = Token.Punct(rawValue: String(c)) {
            _ = advance()
            return Token(kind: .punct(p), location: start, spaceBefore: space)
        }
        if c == "!" { throw RecipeError("unexpected character '!'; write 'not' for negation or '!=' for inequality", at: start) }
        if c == "'" { throw RecipeError("strings use double quotes: \"...\"", at: start) }
        let shown = c.unicodeScalars.first.map { $0.value < 32 || $0.value == 127 || $0.properties.generalCategory == .format ? "\\u{\(String($0.value, radix: 16))}" : String(c) } ?? "?"
        throw RecipeError("unexpected character '\(shown)'", at: start)
    }

    /// A path written as in a shell, unquoted: a word after a space (or `=`) that starts with
    /// `/`, `./`, `../` or `~/` and runs to the next blank, `;`, `,`, `)`, `]` or `}`; `~/` is the
    /// home directory. `a / b`, `a/b` and `a /2` stay divisions: the `/` of a path follows a blank
    /// (or `=`, `[`, `(`, `,`) and is followed by a letter, `.`, `_`, `-` or `~`.
    mutating func barePath(start: SourceLocation) throws -> String? {
        guard let c = peek() else { return nil }
        let opener: Int
        if c == "/" {
            guard let d = peek(1), d.isLetter || d == "." || d == "_" || d == "-" || d == "~" else { return nil }
            opener = 1
        } else if c == "~", peek(1) == "/" {
            opener = 2
        } else if c == ".", peek(1) == "/" {
            opener = 2
        } else if c == ".", peek(1) == ".", peek(2) == "/" {
            opener = 3
        } else {
            return nil
        }
        var s = ""
        for _ in 0..<opener { s.append(advance()) }
        while let d = peek(), !(d == " " || d == "\t" || isNewline(d) || d == ";" || d == "," || d == ")" || d == "]" || d == "}") {
            if d == "\"" { throw RecipeError("a bare path cannot contain '\"'; quote the whole path instead", at: location) }
            s.append(advance())
        }
        if s.hasPrefix("~/") {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? "~"
            s = home + s.dropFirst()
        }
        return s
    }

    func matches(_ s: String) -> Bool {
        for (i, c) in s.enumerated() where peek(i) != c { return false }
        return true
    }

    mutating func number(start: SourceLocation, space: Bool) throws -> Token {
        var s = ""
        var isFloat = false
        while let d = peek(), d.isASCII, d.isNumber || d == "_" { let x = advance(); if x != "_" { s.append(x) } }
        if peek() == ".", let d = peek(1), d.isASCII, d.isNumber {
            isFloat = true
            s.append(advance())
            while let d = peek(), d.isASCII, d.isNumber { s.append(advance()) }
        }
        if let e = peek(), e == "e" || e == "E" {
            let sign = peek(1) == "+" || peek(1) == "-"
            if let d = peek(sign ? 2 : 1), d.isASCII, d.isNumber {
                isFloat = true
                s.append(advance())
                if sign { s.append(advance()) }
                while let d = peek(), d.isASCII, d.isNumber { s.append(advance()) }
            }
        }
        if let d = peek(), d.isLetter || d == "_" {
            throw RecipeError("unexpected '\(d)' after number", at: location)
        }
        if isFloat {
            guard let v = Double(s), v.isFinite else { throw RecipeError("invalid number '\(s)'", at: start) }
            return Token(kind: .float(v), location: start, spaceBefore: space)
        }
        guard let v = Int(s) else { throw RecipeError("integer '\(s)' is too large", at: start) }
        return Token(kind: .int(v), location: start, spaceBefore: space)
    }

    mutating func string(raw: Bool, start: SourceLocation) throws -> String {
        _ = advance()  // opening quote
        var s = ""
        while true {
            guard let c = peek(), !isNewline(c) else {
                throw RecipeError("unterminated string: missing closing '\"'", at: start)
            }
            if c == "\"" { _ = advance(); return s }
            if c == "\\" && !raw {
                let escapeAt = location
                _ = advance()
                guard let e = peek(), !isNewline(e) else {
                    throw RecipeError("unterminated string: missing closing '\"'", at: start)
                }
                _ = advance()
                switch e {
                case "n": s.append("\n")
                case "t": s.append("\t")
                case "r": s.append("\r")
                case "\\": s.append("\\")
                case "\"": s.append("\"")
                case "0": s.append("\0")
                default:
                    throw RecipeError("unknown escape '\\\(e)' in string; known escapes are \\n \\t \\r \\\\ \\\" \\0 (use r\"...\" for regular expressions)", at: escapeAt)
                }
                continue
            }
            s.append(advance())
        }
    }
}
