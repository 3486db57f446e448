import Ops

/// How plain (unquoted) YAML scalars become values, and when a string must be quoted to read
/// back as the same string. One place, so the reader, the writer and command-line values agree.
public enum YAMLScalar {
    /// Resolves a plain scalar (already trimmed) per the YAML 1.2 core schema, plus `True`/`False`
    /// as Python writes them: null, bool, int, float, else string.
    public static func resolve(_ text: String) -> Value {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        if let i = integer(text) { return .int(i) }
        if isFloatSyntax(text), let d = Double(text) { return .float(d) }
        return .string(text)
    }

    /// `[-+]?[0-9]+`, `0x..`, `0o..`; nil when out of range or not an integer.
    static func integer(_ text: String) -> Int? {
        var body = Substring(text)
        var negative = false
        if let first = body.first, first == "-" || first == "+" {
            negative = first == "-"
            body = body.dropFirst()
        }
        guard !body.isEmpty else { return nil }
        var radix = 10
        if body.hasPrefix("0x") { radix = 16; body = body.dropFirst(2) } else if body.hasPrefix("0o") { radix = 8; body = body.dropFirst(2) }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        if radix == 10 && !body.allSatisfy({ $0.isASCII && $0.isNumber }) { return nil }
        guard let magnitude = Int(negative ? "-" + body : String(body), radix: radix) else { return nil }
        return magnitude
    }

    /// Whether the text looks like an integer that does not fit 64 bits (reported, not turned into a string).
    static func isOutOfRangeInteger(_ text: String) -> Bool {
        var body = Substring(text)
        if let first = body.first, first == "-" || first == "+" { body = body.dropFirst() }
        return !body.isEmpty && body.allSatisfy({ $0.isASCII && $0.isNumber }) && integer(text) == nil
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    static func isFloatSyntax(_ text: String) -> Bool {
        var chars = Array(text)[...]
        if let f = chars.first, f == "-" || f == "+" { chars = chars.dropFirst() }
        var mantissaDigits = 0
        while let c = chars.first, c.isASCII, c.isNumber { mantissaDigits += 1; chars = chars.dropFirst() }
        if chars.first == "." {
            chars = chars.dropFirst()
            while let c = chars.first, c.isASCII, c.isNumber { mantissaDigits += 1; chars = chars.dropFirst() }
        }
        guard mantissaDigits > 0 else { return false }
        if let e = chars.first, e == "e" || e == "E" {
            chars = chars.dropFirst()
            if let s = chars.first, s == "-" || s == "+" { chars = chars.dropFirst() }
            var expDigits = 0
            while let c = chars.first, c.isASCII, c.isNumber { expDigits += 1; chars = chars.dropFirst() }
            guard expDigits > 0 else { return false }
        }
        return chars.isEmpty
    }

    /// Characters that may not start a plain scalar.
    static let indicators: Set<Character> = ["[", "]", "{", "}", ",", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`"]

    /// Whether `text` must be quoted to read back as this string (in block or flow context).
    public static func needsQuotes(_ text: String, inFlow: Bool = false) -> Bool {
        if text.isEmpty { return true }
        if resolve(text) != .string(text) || isOutOfRangeInteger(text) { return true }
        guard let first = text.first, let last = text.last else { return true }
        if indicators.contains(first) || first == " " || last == " " { return true }
        if first == "-" || first == "?" || first == ":" {
            if text.count == 1 || text.dropFirst().first == " " { return true }
        }
        if text.contains(": ") || text.contains(" #") || last == ":" { return true }
        if text.hasPrefix("---") || text.hasPrefix("...") { return true }
        if inFlow && text.contains(where: { ",[]{}".contains($0) }) { return true }
        if inFlow && text.contains(":") { return true }
        return text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// The string in double quotes with YAML escapes.
    public static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(format2Hex: scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    init(format2Hex v: UInt32) {
        let s = String(v, radix: 16, uppercase: true)
        self = s.count < 2 ? "0" + s : s
    }
}
