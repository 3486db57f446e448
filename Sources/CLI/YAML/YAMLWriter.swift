import Ops

/// Writes values as the YAML that `--config` reads back: block mappings indented by two spaces,
/// lists and scalars in flow style (`[[1, 10, 10, 7]]`), strings quoted only when a plain string
/// would read back as something else.
public enum YAMLWriter {
    /// - Parameters:
    ///   - comments: doc text by dotted key path (`cfg.parallel_config.tp_size`), written as
    ///     `# ...` lines above the key (multi-line docs give several comment lines).
    ///   - header: optional comment lines at the top of the document.
    public static func write(_ value: Value, comments: [String: String] = [:], header: String? = nil) -> String {
        var out = ""
        if let header, !header.isEmpty { appendComment(header, indent: "", to: &out) }
        if case let .dict(pairs) = value, !pairs.isEmpty {
            writeMapping(pairs, indent: "", path: "", comments: comments, to: &out)
        } else {
            out += flow(value, inFlow: false) + "\n"
        }
        return out
    }

    /// The flow-style text of one value, as it appears after `key: `.
    public static func flow(_ value: Value, inFlow: Bool = true) -> String {
        switch value {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .float(d): return float(d)
        case let .string(s): return YAMLScalar.needsQuotes(s, inFlow: inFlow) ? YAMLScalar.doubleQuoted(s) : s
        case let .list(items): return "[" + items.map { flow($0, inFlow: true) }.joined(separator: ", ") + "]"
        case let .dict(pairs):
            return "{" + pairs.map { key($0.0, inFlow: true) + ": " + flow($0.1, inFlow: true) }.joined(separator: ", ") + "}"
        }
    }

    static func float(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        return d.description
    }

    static func key(_ k: String, inFlow: Bool) -> String {
        YAMLScalar.needsQuotes(k, inFlow: inFlow) || k.contains(":") ? YAMLScalar.doubleQuoted(k) : k
    }

    static func writeMapping(_ pairs: [(String, Value)], indent: String, path: String, comments: [String: String], to out: inout String) {
        for (k, v) in pairs {
            let keyPath = path.isEmpty ? k : path + "." + k
            if let doc = comments[keyPath], !doc.isEmpty { appendComment(doc, indent: indent, to: &out) }
            let head = indent + key(k, inFlow: false) + ":"
            if case let .dict(sub) = v, !sub.isEmpty {
                out += head + "\n"
                writeMapping(sub, indent: indent + "  ", path: keyPath, comments: comments, to: &out)
            } else if case .dict = v {
                out += head + " {}\n"
            } else {
                out += head + " " + flow(v, inFlow: false) + "\n"
            }
        }
    }

    static func appendComment(_ doc: String, indent: String, to out: inout String) {
        for line in doc.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = String(line).trimmingSpaces()
            out += indent + (trimmed.isEmpty ? "#" : "# " + trimmed) + "\n"
        }
    }
}
