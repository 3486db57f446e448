import Foundation

/// A value of the recipe language, of a command-line option, of a YAML file or of config.json.
///
/// One type for all of them so a parameter travels from the command line, a YAML file or an
/// environment variable into the interpreter without conversions.
public indirect enum Value: Equatable, CustomStringConvertible, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    /// A mapping; keys keep their order (config.json, YAML).
    case dict([(String, Value)])

    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Looks up a key of a dict value.
    public subscript(key: String) -> Value? {
        if case let .dict(pairs) = self { return pairs.first(where: { $0.0 == key })?.1 }
        return nil
    }

    /// The flow-style text of the value (JSON-compatible for lists and scalars): what `-h`,
    /// `--print_config` and error messages show.
    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .float(d): return d == d.rounded() && abs(d) < 1e15 ? String(format1: d) : "\(d)"
        case let .string(s): return s
        case let .list(l): return "[" + l.map { $0.quotedDescription }.joined(separator: ", ") + "]"
        case let .dict(p): return "{" + p.map { "\($0.0): \($0.1.quotedDescription)" }.joined(separator: ", ") + "}"
        }
    }

    /// Like `description`, but strings are quoted (inside lists and dicts).
    public var quotedDescription: String {
        if case let .string(s) = self { return "\"" + s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"") + "\"" }
        return description
    }

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .list: return "list"
        case .dict: return "mapping"
        }
    }
}

extension String {
    init(format1 d: Double) { self = String(Int(d)) + ".0" }

    func replacingAll(_ a: String, _ b: String) -> String { replacingOccurrences(of: a, with: b) }
}
