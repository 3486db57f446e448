import Ops

/// The block structure of a YAML document (indentation-based mappings and lists), parsed line by
/// line over the document's Unicode scalars; flow collections and scalars are in YAMLFlowParser.swift.
struct YAMLBlockParser {
    let s: [Unicode.Scalar]
    let file: String
    /// Start offset of every line; a line ends at the next "\n" or the end of the text.
    let lineStarts: [Int]
    /// Next line to look at in block context.
    var line = 0
    /// When a list item holds a node on the same line (`- a: 1`), that node starts at this column.
    var override: (line: Int, column: Int)?
    var sawContent = false
    var keyLines: [String: Int] = [:]
    /// Character cursor of flow collections and quoted strings (YAMLFlowParser.swift).
    var pos = 0

    init(text: String, file: String) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.unicodeScalars.count)
        let raw = Array(text.unicodeScalars)
        for (i, c) in raw.enumerated() where !(c == "\r" && i + 1 < raw.count && raw[i + 1] == "\n") {
            scalars.append(c)
        }
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        s = scalars
        self.file = file
        var starts = [0]
        for (i, c) in scalars.enumerated() where c == "\n" { starts.append(i + 1) }
        lineStarts = starts
    }

    // MARK: Positions and errors

    func lineEnd(_ idx: Int) -> Int { idx + 1 < lineStarts.count ? lineStarts[idx + 1] - 1 : s.count }

    /// 0-based line index of an offset.
    func lineOf(_ pos: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= pos { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    func error(line idx: Int, _ message: String) -> YAMLError {
        YAMLError(file: file, line: idx + 1, message: message)
    }

    func error(at pos: Int, _ message: String) -> YAMLError {
        error(line: lineOf(min(pos, max(0, s.count))), message)
    }

    func text(_ from: Int, _ to: Int) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[from..<to])
        return String(out)
    }

    static let tabMessage = "tab character; YAML indentation and separation must use spaces"

    // MARK: Lines

    /// The next line with content (skipping blank and comment-only lines) and its indentation.
    mutating func peekLine() throws -> (idx: Int, indent: Int)? {
        var idx = line
        while idx < lineStarts.count {
            if let o = override, o.line == idx { return (idx, o.column) }
            let start = lineStarts[idx], end = lineEnd(idx)
            var p = start
            while p < end && s[p] == " " { p += 1 }
            if p < end && s[p] == "\t" {
                var q = p
                while q < end && (s[q] == " " || s[q] == "\t") { q += 1 }
                if q < end && s[q] != "#" {
                    throw error(line: idx, "tab character in indentation; YAML indentation must use spaces")
                }
                p = q
            }
            if p == end || s[p] == "#" { idx += 1; continue }
            if p == start && isMarker(at: p, end: end, "---") {
                if sawContent { throw error(line: idx, "multiple documents ('---') are not supported; use one document per file") }
                guard restIsBlank(from: p + 3, end: end) else {
                    throw error(line: idx, "content after '---' on the same line is not supported")
                }
                sawContent = true
                idx += 1
                line = idx
                continue
            }
            if p == start && isMarker(at: p, end: end, "...") {
                throw error(line: idx, "document end marker '...' is not supported")
            }
            if p == start && s[p] == "%" {
                throw error(line: idx, "YAML directives ('%...') are not supported")
            }
            sawContent = true
            line = idx
            return (idx, p - start)
        }
        line = idx
        return nil
    }

    func isMarker(at p: Int, end: Int, _ marker: String) -> Bool {
        let m = Array(marker.unicodeScalars)
        guard p + m.count <= end, Array(s[p..<(p + m.count)]) == m else { return false }
        return p + m.count == end || s[p + m.count] == " "
    }

    func restIsBlank(from p: Int, end: Int) -> Bool {
        var q = p
        while q < end && s[q] == " " { q += 1 }
        return q == end || s[q] == "#"
    }

    func isSequenceEntry(at p: Int, end: Int) -> Bool {
        p < end && s[p] == "-" && (p + 1 == end || s[p + 1] == " " || s[p + 1] == "\t")
    }

    /// The offset of the `:` that makes this line a `key: value` entry, or nil.
    func mappingColon(from c: Int, end: Int) throws -> Int? {
        guard c < end else { return nil }
        var i = c
        if s[c] == "\"" || s[c] == "'" {
            var probe = self
            probe.pos = c
            guard (try? probe.parseQuoted()) != nil else { return nil }
            i = probe.pos
            while i < end && s[i] == " " { i += 1 }
            if i < end && s[i] == ":" && (i + 1 == end || s[i + 1] == " " || s[i + 1] == "\t") { return i }
            return nil
        }
        if s[c] == "[" || s[c] == "{" { return nil }
        while i < end {
            if s[i] == ":" && (i + 1 == end || s[i + 1] == " " || s[i + 1] == "\t") { return i }
            if s[i] == "#" && i > c && s[i - 1] == " " { return nil }
            i += 1
        }
        return nil
    }

    // MARK: Block nodes

    mutating func parseDocument() throws -> Value {
        guard try peekLine() != nil else { return .null }
        let value = try parseBlockNode(parentIndent: -1, path: [], depth: 0)
        if let (idx, _) = try peekLine() {
            throw error(line: idx, "unexpected content after the end of the document (check the indentation)")
        }
        return value
    }

    /// The node starting at the next content line, which is indented more than its parent.
    mutating func parseBlockNode(parentIndent: Int, path: [String], depth: Int) throws -> Value {
        guard let (idx, indent) = try peekLine() else { return .null }
        guard depth <= YAMLLimits.maxDepth else {
            throw error(line: idx, "nesting deeper than \(YAMLLimits.maxDepth) levels")
        }
        let c = lineStarts[idx] + indent, end = lineEnd(idx)
        if isSequenceEntry(at: c, end: end) {
            return try parseBlockSequence(indent: indent, path: path, depth: depth)
        }
        if try mappingColon(from: c, end: end) != nil {
            return try parseBlockMapping(indent: indent, path: path, depth: depth)
        }
        override = nil
        return try parseInlineValue(at: c, lineIndex: idx, path: path, depth: depth)
    }

    mutating func parseBlockMapping(indent: Int, path: [String], depth: Int) throws -> Value {
        var pairs: [(String, Value)] = []
        var firstLine: [String: Int] = [:]
        while let (idx, ind) = try peekLine() {
            if ind < indent { break }
            if ind > indent {
                throw error(line: idx, "unexpected indentation (a value on a line of its own must follow a key ending in ':'; multi-line plain values are not supported)")
            }
            let c = lineStarts[idx] + ind, end = lineEnd(idx)
            if isSequenceEntry(at: c, end: end) {
                throw error(line: idx, "expected 'key: value' but found a list item '- ...' (a list must be the value of a key)")
            }
            guard let colon = try mappingColon(from: c, end: end) else {
                let shown = text(c, end).trimmingSpaces()
                throw error(line: idx, "expected 'key: value' but found '\(shown)'")
            }
            let key = try parseKey(from: c, colon: colon, lineIndex: idx)
            if let first = firstLine[key] {
                throw error(line: idx, "duplicate key '\(key)' (first defined at line \(first))")
            }
            firstLine[key] = idx + 1
            let keyPath = path + [key]
            keyLines[keyPath.joined(separator: ".")] = idx + 1
            override = nil
            var r = colon + 1
            while r < end && s[r] == " " { r += 1 }
            if r < end && s[r] == "\t" { throw error(line: idx, Self.tabMessage) }
            let value: Value
            if r == end || s[r] == "#" {
                line = idx + 1
                if let (_, ind2) = try peekLine(), ind2 > indent {
                    value = try parseBlockNode(parentIndent: indent, path: keyPath, depth: depth + 1)
                } else if let (j, ind2) = try peekLine(), ind2 == indent, isSequenceEntry(at: lineStarts[j] + ind2, end: lineEnd(j)) {
                    value = try parseBlockSequence(indent: indent, path: keyPath, depth: depth + 1, endsAtKey: true)
                } else {
                    value = .null
                }
            } else {
                value = try parseInlineValue(at: r, lineIndex: idx, path: keyPath, depth: depth + 1, afterKey: true)
            }
            pairs.append((key, value))
        }
        return .dict(pairs)
    }

    mutating func parseKey(from c: Int, colon: Int, lineIndex idx: Int) throws -> String {
        if s[c] == "\"" || s[c] == "'" {
            pos = c
            return try parseQuoted()
        }
        let key = text(c, colon).trimmingSpaces()
        if key.unicodeScalars.contains("\t") { throw error(line: idx, Self.tabMessage) }
        if let f = key.first, "?&*!|>%@`".contains(f) {
            throw error(line: idx, "key '\(key)': complex keys, anchors, aliases and tags are not supported")
        }
        return key
    }

    /// `endsAtKey`: the list sits at its key's indentation (`key:\n- a`), so a following `other:`
    /// line at that indentation ends it instead of being an error.
    mutating func parseBlockSequence(indent: Int, path: [String], depth: Int, endsAtKey: Bool = false) throws -> Value {
        guard depth <= YAMLLimits.maxDepth else {
            throw error(line: line, "nesting deeper than \(YAMLLimits.maxDepth) levels")
        }
        var items: [Value] = []
        while let (idx, ind) = try peekLine() {
            if ind < indent { break }
            if ind > indent {
                throw error(line: idx, "unexpected indentation (list items must line up under the first '-')")
            }
            let c = lineStarts[idx] + ind, end = lineEnd(idx)
            guard isSequenceEntry(at: c, end: end) else {
                if endsAtKey { break }
                throw error(line: idx, "expected a list item '- ...' but found '\(text(c, end).trimmingSpaces())' (a list and a mapping cannot share one indentation level)")
            }
            let itemPath = path + [String(items.count)]
            var r = c + 1
            while r < end && s[r] == " " { r += 1 }
            if r < end && s[r] == "\t" { throw error(line: idx, Self.tabMessage) }
            override = nil
            if r == end || s[r] == "#" {
                line = idx + 1
                if let (_, ind2) = try peekLine(), ind2 > indent {
                    items.append(try parseBlockNode(parentIndent: indent, path: itemPath, depth: depth + 1))
                } else {
                    items.append(.null)
                }
            } else {
                override = (idx, r - lineStarts[idx])
                items.append(try parseBlockNode(parentIndent: indent, path: itemPath, depth: depth + 1))
            }
        }
        return .list(items)
    }

    /// A value written on the same line as its key or list dash (or alone on a line): a flow
    /// collection (which may continue on the following lines), a quoted string or a plain scalar.
    mutating func parseInlineValue(at p: Int, lineIndex idx: Int, path: [String], depth: Int, afterKey: Bool = false) throws -> Value {
        let end = lineEnd(idx)
        let c = s[p]
        switch c {
        case "[", "{":
            pos = p
            let value = try parseFlowNode(path: path, depth: depth)
            try expectLineEnd(after: pos, what: c == "[" ? "']'" : "'}'")
            return value
        case "\"", "'":
            pos = p
            let string = try parseQuoted()
            try expectLineEnd(after: pos, what: "the closing quote")
            return .string(string)
        case "|", ">":
            throw error(line: idx, "block scalars ('|' and '>') are not supported; write the value on one line, quoted if needed")
        case "&", "*", "!":
            throw error(line: idx, "anchors, aliases and tags ('&', '*', '!') are not supported")
        case "%", "@", "`":
            throw error(line: idx, "a plain value cannot start with '\(c)'; quote it")
        default:
            break
        }
        if afterKey && isSequenceEntry(at: p, end: end) {
            throw error(line: idx, "a list item cannot follow a key on the same line; put '- ...' on the next lines or use a flow list [a, b]")
        }
        if c == "?" && (p + 1 == end || s[p + 1] == " ") {
            throw error(line: idx, "complex keys ('? ') are not supported")
        }
        var q = p
        while q < end && !(s[q] == "#" && s[q - 1] == " ") {
            if s[q] == "\t" { throw error(line: idx, Self.tabMessage) }
            q += 1
        }
        let plain = text(p, q).trimmingSpaces()
        if plain.contains(": ") || plain.hasSuffix(":") {
            throw error(line: idx, "a mapping is not allowed here: '\(plain)' (quote the value if the colon is part of it)")
        }
        if YAMLScalar.isOutOfRangeInteger(plain) {
            throw error(line: idx, "integer \(plain) does not fit in 64 bits")
        }
        line = idx + 1
        return YAMLScalar.resolve(plain)
    }

    /// After a flow collection or quoted string only spaces and a comment may follow on its line;
    /// block parsing resumes on the next line.
    mutating func expectLineEnd(after p: Int, what: String) throws {
        let idx = lineOf(p)
        let end = lineEnd(idx)
        var q = p
        while q < end && s[q] == " " { q += 1 }
        if q < end && s[q] == "\t" { throw error(line: idx, Self.tabMessage) }
        if q < end && s[q] != "#" {
            throw error(line: idx, "unexpected text '\(text(q, end).trimmingSpaces())' after \(what)")
        }
        line = idx + 1
    }
}
