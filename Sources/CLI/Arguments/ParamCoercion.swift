import DSL
import Ops

/// Checks a value against a parameter's declared type and bounds, converting where the meaning
/// is unambiguous (an int where a float is expected; a number where a string or path is expected,
/// as a YAML file writes `name: 123`). The message says what was expected and what was found.
enum ParamCoercion {
    struct Mismatch: Error {
        var message: String
    }

    static func coerce(_ value: Value, to type: ParamType, bounds: [ParamBound]) throws -> Value {
        do {
            return try check(value, type, bounds)
        } catch let inner as InnerMismatch {
            var message = "expected \(phrase(type, bounds, plural: false)), got \(shown(value))"
            if !inner.path.isEmpty {
                let at = inner.path.map { "[\($0)]" }.joined()
                let reason = inner.reason ?? "expected \(phrase(inner.type, bounds, plural: false)), got \(shown(inner.value))"
                message += " (item \(at): \(reason))"
            }
            throw Mismatch(message: message)
        }
    }

    /// Where inside a (nested) list the first mismatch sits.
    struct InnerMismatch: Error {
        var path: [Int]
        var type: ParamType
        var value: Value
        var reason: String?
    }

    private static func check(_ value: Value, _ type: ParamType, _ bounds: [ParamBound]) throws -> Value {
        switch type {
        case let .optional(inner):
            if value == .null { return .null }
            do { return try check(value, inner, bounds) } catch var m as InnerMismatch {
                if m.path.isEmpty && m.reason == nil { m.type = type }
                throw m
            }
        case .int:
            guard case let .int(i) = value else { throw InnerMismatch(path: [], type: type, value: value) }
            try checkBounds(Double(i), shown: String(i), bounds)
            return value
        case .float:
            let d: Double
            switch value {
            case let .int(i): d = Double(i)
            case let .float(f): d = f
            default: throw InnerMismatch(path: [], type: type, value: value)
            }
            try checkBounds(d, shown: YAMLWriter.flow(.float(d)), bounds)
            return .float(d)
        case .bool:
            guard case .bool = value else { throw InnerMismatch(path: [], type: type, value: value) }
            return value
        case .str, .path, .dir:
            switch value {
            case let .string(s):
                if type != .str && s.isEmpty { throw InnerMismatch(path: [], type: type, value: value) }
                return value
            case .int, .float: return .string(value.description)
            default: throw InnerMismatch(path: [], type: type, value: value)
            }
        case let .union(types):
            for t in types {
                if let fits = try? check(value, t, bounds) { return fits }
            }
            throw InnerMismatch(path: [], type: type, value: value)
        case let .list(element):
            guard case let .list(items) = value else { throw InnerMismatch(path: [], type: type, value: value) }
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                do { out.append(try check(item, element, bounds)) } catch var m as InnerMismatch {
                    m.path.insert(i, at: 0)
                    throw m
                }
            }
            return .list(out)
        case let .dict(element):
            guard case let .dict(pairs) = value else { throw InnerMismatch(path: [], type: type, value: value) }
            var out: [(String, Value)] = []
            for (i, (k, v)) in pairs.enumerated() {
                do { out.append((k, try check(v, element, bounds))) } catch var m as InnerMismatch {
                    m.path.insert(i, at: 0)
                    throw m
                }
            }
            return .dict(out)
        }
    }

    private static func checkBounds(_ x: Double, shown: String, _ bounds: [ParamBound]) throws {
        for b in bounds where !b.admits(x) {
            throw InnerMismatch(path: [], type: .int, value: .null, reason: "\(shown) is not \(b)")
        }
    }

    /// `an int > 0`, `a list of lists of ints >= 0`, `a path or null`.
    static func phrase(_ type: ParamType, _ bounds: [ParamBound], plural: Bool) -> String {
        let bound = bounds.isEmpty ? "" : " " + bounds.map(\.description).joined(separator: " and ")
        switch type {
        case .int: return (plural ? "ints" : "an int") + bound
        case .float: return (plural ? "floats" : "a float") + bound
        case .bool: return plural ? "bools" : "a bool (true or false)"
        case .str: return plural ? "strings" : "a string"
        case .path: return plural ? "paths" : "a path"
        case .dir: return plural ? "directories" : "a directory"
        case let .list(e): return (plural ? "lists of " : "a list of ") + phrase(e, bounds, plural: true)
        case let .dict(e): return (plural ? "mappings to " : "a mapping to ") + phrase(e, bounds, plural: true)
        case let .optional(t): return phrase(t, bounds, plural: plural) + " or null"
        case let .union(ts): return ts.map { phrase($0, bounds, plural: plural) }.joined(separator: " or ")
        }
    }

    /// The compact type shown by `-h`: `int > 0`, `[[int >= 0]]`, `path or null`.
    static func label(_ type: ParamType, _ bounds: [ParamBound]) -> String {
        let bound = bounds.isEmpty ? "" : " " + bounds.map(\.description).joined(separator: ", ")
        switch type {
        case .int: return "int" + bound
        case .float: return "float" + bound
        case .bool, .str, .path, .dir: return type.description
        case let .list(e): return "[" + label(e, bounds) + "]"
        case let .dict(e): return "{str: " + label(e, bounds) + "}"
        case let .optional(t): return label(t, bounds) + " or null"
        case let .union(ts): return ts.map { label($0, bounds) }.joined(separator: " or ")
        }
    }

    /// A value as an error message shows it: strings quoted, everything else in flow style.
    static func shown(_ value: Value) -> String {
        if case let .string(s) = value { return "'" + s + "'" }
        return YAMLWriter.flow(value)
    }

    /// The base type under any optional wrapper.
    static func base(_ type: ParamType) -> ParamType {
        if case let .optional(t) = type { return base(t) }
        return type
    }

    static func isOptional(_ type: ParamType) -> Bool {
        if case .optional = type { return true }
        return false
    }

    /// A command-line or environment value for a parameter: string-like types take the text as
    /// it is (so `a: b` or `123` stay strings), other types are read as YAML flow values.
    static func parseText(_ text: String, for type: ParamType, label: String) throws -> Value {
        switch base(type) {
        case .str, .path, .dir:
            let trimmed = text.trimmingSpaces()
            if isOptional(type) && ["null", "~", "Null", "NULL"].contains(trimmed) { return .null }
            if let f = trimmed.first, f == "\"" || f == "'",
               case let .string(s) = try YAMLReader.readFlowValue(trimmed, label: label), s != trimmed {
                return .string(s)
            }
            return .string(text)
        default:
            return try YAMLReader.readFlowValue(text, label: label)
        }
    }
}
