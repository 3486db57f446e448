import Ops

/// Flow collections (`[[1,10,10,7]]`, `{a: 1, b: [x]}`) and quoted scalars. Flow collections may
/// span lines; comments inside them run from ` #` to the end of the line.
extension YAMLBlockParser {
    /// Parses text that must be exactly one flow collection (a command-line value).
    mutating func parseWholeFlow() throws -> Value {
        pos = 0
        let value = try parseFlowNode(path: [], depth: 0)
        try skipFlowSpace()
        if pos < s.count {
            throw error(at: pos, "unexpected text '\(text(pos, s.count))' after the closing bracket")
        }
        return value
    }

    /// Parses text that must be exactly one quoted string.
    mutating func parseWholeQuoted() throws -> String {
        pos = 0
        let string = try parseQuoted()
        while pos < s.count && s[pos] == " " { pos += 1 }
        guard pos == s.count else { throw error(at: pos, "text after the closing quote") }
        return string
    }

    /// Skips spaces, line breaks and comments between flow tokens.
    mutating func skipFlowSpace() throws {
        while pos < s.count {
            let c = s[pos]
            if c == " " || c == "\n" {
                pos += 1
            } else if c == "\t" {
                throw error(at: pos, Self.tabMessage)
            } else if c == "#" && (pos == 0 || s[pos - 1] == " " || s[pos - 1] == "\n") {
                while pos < s.count && s[pos] != "\n" { pos += 1 }
            } else {
                return
            }
        }
    }

    mutating func parseFlowNode(path: [String], depth: Int) throws -> Value {
        try skipFlowSpace()
        guard depth <= YAMLLimits.maxDepth else {
            throw error(at: pos, "nesting deeper than \(YAMLLimits.maxDepth) levels")
        }
        guard pos < s.count else { throw error(at: pos, "expected a value but the text ended") }
        switch s[pos] {
        case "[": return try parseFlowSequence(path: path, depth: depth)
        case "{": return try parseFlowMapping(path: path, depth: depth)
        case "\"", "'": return .string(try parseQuoted())
        default:
            let plain = try parseFlowPlain()
            if YAMLScalar.isOutOfRangeInteger(plain) {
                throw error(at: pos, "integer \(plain) does not fit in 64 bits")
            }
            return YAMLScalar.resolve(plain)
        }
    }

    mutating func parseFlowSequence(path: [String], depth: Int) throws -> Value {
        let open = pos
        pos += 1
        var items: [Value] = []
        while true {
            try skipFlowSpace()
            guard pos < s.count else {
                throw error(at: open, "unclosed '[': expected ']' before the end of the text")
            }
            if s[pos] == "]" { pos += 1; return .list(items) }
            if s[pos] == "," { throw error(at: pos, "unexpected ',' in a flow list (empty item)") }
            let item = try parseFlowNode(path: path + [String(items.count)], depth: depth + 1)
            try skipFlowSpace()
            guard pos < s.count else {
                throw error(at: open, "unclosed '[': expected ']' before the end of the text")
            }
            switch s[pos] {
            case ",": pos += 1
            case "]": pos += 1; items.append(item); return .list(items)
            case ":": throw error(at: pos, "'key: value' pairs inside a flow list must be written as {key: value}")
            default: throw error(at: pos, "expected ',' or ']' in a flow list but found '\(s[pos])'" + unclosedNote(open))
            }
            items.append(item)
        }
    }

    mutating func parseFlowMapping(path: [String], depth: Int) throws -> Value {
        let open = pos
        pos += 1
        var pairs: [(String, Value)] = []
        var seen = Set<String>()
        while true {
            try skipFlowSpace()
            guard pos < s.count else {
                throw error(at: open, "unclosed '{': expected '}' before the end of the text")
            }
            if s[pos] == "}" { pos += 1; return .dict(pairs) }
            if s[pos] == "," { throw error(at: pos, "unexpected ',' in a flow mapping (empty entry)") }
            let keyPos = pos
            let key: String
            if s[pos] == "\"" || s[pos] == "'" {
                key = try parseQuoted()
            } else if s[pos] == "[" || s[pos] == "{" {
                throw error(at: pos, "collections as mapping keys are not supported")
            } else {
                key = try parseFlowPlain()
            }
            try skipFlowSpace()
            guard pos < s.count, s[pos] == ":" else {
                throw error(at: keyPos, "expected ':' after the key '\(key)' in a flow mapping (write {key: value})")
            }
            pos += 1
            guard !seen.contains(key) else { throw error(at: keyPos, "duplicate key '\(key)'") }
            seen.insert(key)
            let keyPath = path + [key]
            keyLines[keyPath.joined(separator: ".")] = lineOf(keyPos) + 1
            try skipFlowSpace()
            let value: Value
            if pos < s.count && (s[pos] == "," || s[pos] == "}") {
                value = .null
            } else {
                value = try parseFlowNode(path: keyPath, depth: depth + 1)
            }
            pairs.append((key, value))
            try skipFlowSpace()
            guard pos < s.count else {
                throw error(at: open, "unclosed '{': expected '}' before the end of the text")
            }
            switch s[pos] {
            case ",": pos += 1
            case "}": pos += 1; return .dict(pairs)
            default: throw error(at: pos, "expected ',' or '}' in a flow mapping but found '\(s[pos])'" + unclosedNote(open))
            }
        }
    }

    /// Points back at the opening bracket when the error is found on a later line.
    func unclosedNote(_ open: Int) -> String {
        lineOf(open) == lineOf(pos) ? "" : " (the '\(s[open])' opened at line \(lineOf(open) + 1) is not closed)"
    }

    /// A plain scalar inside a flow collection: ends at `,`, brackets, a line break, ` #`, or a
    /// `:` followed by a space or a delimiter.
    mutating func parseFlowPlain() throws -> String {
        let start = pos
        let c = s[pos]
        if YAMLScalar.indicators.contains(Character(c)) {
            throw error(at: pos, "unexpected '\(c)' (quote the value if it is part of a string)")
        }
        while pos < s.count {
            let ch = s[pos]
            if ch == "," || ch == "[" || ch == "]" || ch == "{" || ch == "}" || ch == "\n" { break }
            if ch == "\t" { throw error(at: pos, Self.tabMessage) }
            if ch == "#" && pos > start && s[pos - 1] == " " { break }
            if ch == ":" {
                let next: Unicode.Scalar? = pos + 1 < s.count ? s[pos + 1] : nil
                if next == nil || next == " " || next == "\n" || next == "," || next == "]" || next == "}" { break }
            }
            pos += 1
        }
        let plain = text(start, pos).trimmingSpaces()
        if plain.isEmpty { throw error(at: start, "expected a value") }
        return plain
    }

    /// A single- or double-quoted string on one line, with YAML escapes.
    mutating func parseQuoted() throws -> String {
        let quote = s[pos]
        let open = pos
        pos += 1
        var out = String.UnicodeScalarView()
        while true {
            guard pos < s.count, s[pos] != "\n" else {
                throw error(at: open, "unterminated quoted string (strings must close on the line they start)")
            }
            let c = s[pos]
            if quote == "'" {
                if c == "'" {
                    if pos + 1 < s.count && s[pos + 1] == "'" { out.append("'"); pos += 2; continue }
                    pos += 1
                    return String(out)
                }
                out.append(c)
                pos += 1
                continue
            }
            if c == "\"" { pos += 1; return String(out) }
            if c != "\\" { out.append(c); pos += 1; continue }
            guard pos + 1 < s.count else { throw error(at: open, "unterminated quoted string") }
            let e = s[pos + 1]
            pos += 2
            switch e {
            case "\\": out.append("\\")
            case "\"": out.append("\"")
            case "/": out.append("/")
            case " ": out.append(" ")
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "0": out.append("\0")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "e": out.append("\u{1B}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "x", "u", "U":
                let count = e == "x" ? 2 : e == "u" ? 4 : 8
                guard pos + count <= s.count,
                      let code = UInt32(text(pos, pos + count), radix: 16),
                      let scalar = Unicode.Scalar(code) else {
                    throw error(at: pos, "invalid escape '\\\(e)' in a quoted string")
                }
                out.append(scalar)
                pos += count
            default:
                throw error(at: pos - 1, "invalid escape '\\\(e)' in a double-quoted string")
            }
        }
    }
}
