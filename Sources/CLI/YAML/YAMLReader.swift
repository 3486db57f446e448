import Ops

/// A parsed YAML file: its value and the line of every mapping key, so later checks (unknown
/// option, wrong type) can point at the line that caused them.
public struct YAMLDocument: Equatable, Sendable {
    public var value: Value
    /// Dotted key path (`cfg.parallel_config.tp_size`; list items by index) -> 1-based line.
    public var keyLines: [String: Int]

    public init(value: Value, keyLines: [String: Int] = [:]) {
        self.value = value
        self.keyLines = keyLines
    }
}

/// A small, strict YAML reader for configuration files: block mappings and lists, flow lists and
/// mappings, plain/quoted scalars and comments. Anything else (anchors, tags, block scalars,
/// multiple documents, tabs) is refused with a line number rather than guessed at.
public enum YAMLReader {
    /// Parses a whole file. `file` only labels errors (`hf_to_mm.yaml:4: ...`).
    public static func read(_ text: String, file: String) throws -> Value {
        try readDocument(text, file: file).value
    }

    /// Parses a whole file and records the line of each key.
    public static func readDocument(_ text: String, file: String) throws -> YAMLDocument {
        var parser = YAMLBlockParser(text: text, file: file)
        let value = try parser.parseDocument()
        return YAMLDocument(value: value, keyLines: parser.keyLines)
    }

    /// Parses one command-line or environment value the way jsonargparse does: a flow list or
    /// mapping (`[[1,10,10,7]]`, `{a: 1}`), a quoted string, or a plain scalar (`true`, `null`,
    /// `1`, `0.5`) — anything else, spaces and colons included, is the string itself.
    public static func readFlowValue(_ text: String, label: String) throws -> Value {
        let trimmed = text.trimmingSpaces()
        guard let first = trimmed.first else { return .string(text) }
        if first == "[" || first == "{" {
            var parser = YAMLBlockParser(text: trimmed, file: label)
            return try parser.parseWholeFlow()
        }
        if first == "\"" || first == "'" {
            var parser = YAMLBlockParser(text: trimmed, file: label)
            if let s = try? parser.parseWholeQuoted() { return .string(s) }
            return .string(text)
        }
        if YAMLScalar.isOutOfRangeInteger(trimmed) {
            throw YAMLError(file: label, line: 1, message: "integer \(trimmed) does not fit in 64 bits")
        }
        return YAMLScalar.resolve(trimmed)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\n" || f == "\r" || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\n" || l == "\r" || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
