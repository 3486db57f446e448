import Foundation

/// A JSON syntax error, located by line and column (1-based; columns count characters).
public struct JSONError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let column: Int
    public let message: String
    /// Set when the error is a key repeated in one object (callers may word it their own way).
    public var duplicateKey: String? = nil

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict JSON reader (RFC 8259) producing `Value`.
///
/// Strict because config and header files must mean exactly one thing: no comments, no trailing
/// commas, no duplicate keys, no control characters in strings, valid UTF-8 only. Integers (no
/// fraction, no exponent) stay `.int` (falling back to `.float` beyond 64 bits); other numbers are
/// `.float`. As Python's `json` module does, `NaN`, `Infinity` and `-Infinity` are accepted, since
/// Python writes them into config files. Nesting deeper than `maxDepth` is refused instead of
/// exhausting the stack.
public struct JSONReader {
    public static let defaultMaxDepth = 128

    /// Parses a whole document.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws -> Value {
        try bytes.withUnsafeBytes { try parse(buffer: $0, maxDepth: maxDepth) }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws -> Value {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// Parses bytes in place (e.g. a header inside a mapped file), without copying them first.
    public static func parse(buffer: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws -> Value {
        var r = JSONReader(buffer: buffer, maxDepth: maxDepth)
        if let bad = firstInvalidUTF8(buffer) { throw r.error(at: bad, "invalid UTF-8 byte 0x\(hex2(buffer[bad]))") }
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF {
            throw r.error(at: 0, "unexpected UTF-8 byte order mark; save the file without a BOM")
        }
        r.skipSpace()
        let v = try r.value(depth: 0)
        r.skipSpace()
        if r.pos < buffer.count { throw r.error(at: r.pos, "expected the end of the document after the value, found \(r.describe(r.pos))") }
        return v
    }

    /// Reads and parses a file; errors name the file.
    public static func parse(contentsOf path: String, maxDepth: Int = defaultMaxDepth) throws -> Value {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OpsError.io(path: path, message: "cannot read the file (missing or not readable)")
        }
        do {
            return try parse([UInt8](data), maxDepth: maxDepth)
        } catch let e as JSONError {
            throw OpsError.format(path: path, message: "invalid JSON: \(e)")
        }
    }

    // MARK: - Implementation

    private let buf: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var pos = 0

    private init(buffer: UnsafeRawBufferPointer, maxDepth: Int) {
        self.buf = buffer
        self.maxDepth = maxDepth
    }

    private mutating func skipSpace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws -> Value {
        guard pos < buf.count else { throw error(at: pos, "expected a value, found the end of the input") }
        switch buf[pos] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .float(.nan)
        case UInt8(ascii: "I"): try literal("Infinity"); return .float(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error(at: pos, "expected a value, found \(describe(pos))")
        }
    }

    private mutating func literal(_ word: String) throws {
        let start = pos
        for c in word.utf8 {
            guard pos < buf.count, buf[pos] == c else { throw error(at: start, "expected a value, found \(describe(start))") }
            pos += 1
        }
    }

    private mutating func object(depth: Int) throws -> Value {
        guard depth <= maxDepth else { throw error(at: pos, "nesting deeper than \(maxDepth) levels") }
        pos += 1
        var pairs: [(String, Value)] = []
        var seen = Set<String>()
        skipSpace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "}") { pos += 1; return .dict(pairs) }
        while true {
            guard pos < buf.count, buf[pos] == UInt8(ascii: "\"") else {
                throw error(at: pos, "expected a string key in double quotes, found \(describe(pos))")
            }
            let keyPos = pos
            let key = try string()
            guard seen.insert(key).inserted else {
                var e = error(at: keyPos, "duplicate key \"\(key)\"")
                e.duplicateKey = key
                throw e
            }
            skipSpace()
            guard pos < buf.count, buf[pos] == UInt8(ascii: ":") else {
                throw error(at: pos, "expected ':' after the key \"\(key)\", found \(describe(pos))")
            }
            pos += 1
            skipSpace()
            pairs.append((key, try value(depth: depth)))
            skipSpace()
            guard pos < buf.count else { throw error(at: pos, "expected ',' or '}' in an object, found the end of the input") }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; skipSpace(); continue }
            if buf[pos] == UInt8(ascii: "}") { pos += 1; return .dict(pairs) }
            throw error(at: pos, "expected ',' or '}' in an object, found \(describe(pos))")
        }
    }

    private mutating func array(depth: Int) throws -> Value {
        guard depth <= maxDepth else { throw error(at: pos, "nesting deeper than \(maxDepth) levels") }
        pos += 1
        var items: [Value] = []
        skipSpace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "]") { pos += 1; return .list(items) }
        while true {
            items.append(try value(depth: depth))
            skipSpace()
            guard pos < buf.count else { throw error(at: pos, "expected ',' or ']' in a list, found the end of the input") }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; skipSpace(); continue }
            if buf[pos] == UInt8(ascii: "]") { pos += 1; return .list(items) }
            throw error(at: pos, "expected ',' or ']' in a list, found \(describe(pos))")
        }
    }

    private mutating func string() throws -> String {
        let open = pos
        pos += 1
        var out: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < buf.count else { throw error(at: open, "unterminated string") }
            let c = buf[pos]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[runStart..<pos]))
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw error(at: pos, "control character 0x\(hex2(c)) inside a string; write it as an escape") }
            if c != UInt8(ascii: "\\") { pos += 1; continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[runStart..<pos]))
            let esc = pos
            pos += 1
            guard pos < buf.count else { throw error(at: open, "unterminated string") }
            switch buf[pos] {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: pos + 1, escape: esc)
                pos += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard pos + 2 < buf.count, buf[pos + 1] == UInt8(ascii: "\\"), buf[pos + 2] == UInt8(ascii: "u") else {
                        throw error(at: esc, "unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16))")
                    }
                    let low = try hex4(at: pos + 3, escape: esc)
                    guard (0xDC00...0xDFFF).contains(low) else { throw error(at: esc, "unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16))") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    pos += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error(at: esc, "unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16))")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error(at: esc, "invalid \\u escape") }
                out.append(contentsOf: Array(String(u).utf8))
            default:
                throw error(at: esc, "invalid escape '\\\(describeChar(pos))' in a string")
            }
            pos += 1
            runStart = pos
        }
    }

    private func hex4(at p: Int, escape: Int) throws -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 {
            guard p + i < buf.count, let d = hexDigit(buf[p + i]) else {
                throw error(at: escape, "\\u must be followed by four hexadecimal digits")
            }
            v = v << 4 | d
        }
        return v
    }

    private func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private mutating func number() throws -> Value {
        let start = pos
        if buf[pos] == UInt8(ascii: "-") {
            pos += 1
            if pos < buf.count, buf[pos] == UInt8(ascii: "I") { try literal("Infinity"); return .float(-.infinity) }
        }
        func digits() -> Int {
            let s = pos
            while pos < buf.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buf[pos]) { pos += 1 }
            return pos - s
        }
        let intStart = pos
        let n = digits()
        guard n > 0 else { throw error(at: start, "expected a digit after '-', found \(describe(pos))") }
        if n > 1, buf[intStart] == UInt8(ascii: "0") { throw error(at: intStart, "numbers must not have leading zeros") }
        var isFloat = false
        if pos < buf.count, buf[pos] == UInt8(ascii: ".") {
            pos += 1
            isFloat = true
            guard digits() > 0 else { throw error(at: pos, "expected a digit after '.', found \(describe(pos))") }
        }
        if pos < buf.count, buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E") {
            pos += 1
            isFloat = true
            if pos < buf.count, buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits() > 0 else { throw error(at: pos, "expected a digit in the exponent, found \(describe(pos))") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        if !isFloat, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw error(at: start, "invalid number \(text)") }
        return .float(d)
    }

    // MARK: - Errors

    fileprivate func error(at offset: Int, _ message: String) -> JSONError {
        var line = 1, column = 1
        var i = 0
        let end = min(offset, buf.count)
        while i < end {
            let c = buf[i]
            if c == 0x0A { line += 1; column = 1 } else if c & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return JSONError(line: line, column: column, message: message)
    }

    private func describe(_ p: Int) -> String {
        guard p < buf.count else { return "the end of the input" }
        return "'\(describeChar(p))'"
    }

    private func describeChar(_ p: Int) -> String {
        guard p < buf.count else { return "" }
        let c = buf[p]
        if c >= 0x20 && c < 0x7F { return String(UnicodeScalar(c)) }
        if c < 0x80 { return "\\u00\(hex2(c))" }
        // Show the whole UTF-8 character.
        var e = p + 1
        while e < buf.count, buf[e] & 0xC0 == 0x80 { e += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buf[p..<e]), as: UTF8.self)
    }
}

/// Offset of the first byte that is not part of well-formed UTF-8 (no overlongs, no surrogates,
/// nothing above U+10FFFF), or nil.
func firstInvalidUTF8(_ b: UnsafeRawBufferPointer) -> Int? {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        var need = 0
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return i
        }
        guard i + need < n else { return i }
        guard b[i + 1] >= lo, b[i + 1] <= hi else { return i }
        for k in 2..<(need + 1) where b[i + k] & 0xC0 != 0x80 { return i }
        i += need + 1
    }
    return nil
}
