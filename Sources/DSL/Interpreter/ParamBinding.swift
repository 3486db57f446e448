import Foundation
import Ops

/// Turns `param` declarations into `ParamSpec`s and checks the caller's values against them,
/// before any statement runs.
public enum ParamBinding {
    /// The spec of a declaration: the default is evaluated (it must be a constant) and checked
    /// against the type and bounds.
    public static func spec(_ decl: ParamDecl) throws -> ParamSpec {
        var defaultValue: Value?
        if let expr = decl.defaultValue {
            let value: Value
            do {
                value = try Evaluator.constant.evaluate(expr)
            } catch var e as RecipeError {
                if case .name = expr.kind { e.message = "the default of parameter '\(decl.name)' must be a constant, not a name" }
                throw e
            }
            let checked = check(value, type: decl.type, bounds: decl.bounds, checkDirectories: false)
            if let problem = checked.problem {
                throw RecipeError("the default of parameter '\(decl.name)' \(problem)", at: expr.location)
            }
            defaultValue = checked.value
        }
        return ParamSpec(name: decl.name, type: decl.type, bounds: decl.bounds, defaultValue: defaultValue, doc: decl.doc, ignored: decl.ignored)
    }

    /// Specs of all declarations, rejecting a name declared twice or one that is the prefix of another
    /// (`cfg.a` and `cfg.a.b` cannot both hold values). One exception: a parameter declared
    /// `ignored` (by a shared file, for the converters that accept the option without using it)
    /// may be declared once more without `ignored` (by a converter that uses it); that declaration
    /// is the parameter, in the place of the first one.
    public static func specs(_ decls: [ParamDecl]) throws -> [ParamSpec] {
        var seen: [String: Int] = [:]
        var chosen: [ParamDecl] = []
        for d in decls {
            if let i = seen[d.name] {
                let first = chosen[i]
                guard first.ignored != d.ignored else {
                    throw RecipeError("parameter '\(d.name)' is already declared at \(first.location)", at: d.location)
                }
                if first.ignored { chosen[i] = d }
                continue
            }
            for o in chosen where o.name.hasPrefix(d.name + ".") || d.name.hasPrefix(o.name + ".") {
                throw RecipeError("parameter '\(d.name)' overlaps parameter '\(o.name)' declared at \(o.location): one name cannot be both a value and a group", at: d.location)
            }
            seen[d.name] = chosen.count
            chosen.append(d)
        }
        return try chosen.map(spec)
    }

    /// Checks the caller's values: unknown names, types, bounds, missing required values.
    /// Returns the value of every declared parameter (given, or the default).
    public static func bind(_ specs: [ParamSpec], values: [String: Value], checkDirectories: Bool = true) throws -> [String: Value] {
        let names = specs.map(\.name)
        for name in values.keys.sorted() where !names.contains(name) {
            throw RecipeError(Suggestions.message("unknown parameter '\(name)'", for: name, in: names), at: nil,
                              notes: names.isEmpty ? ["this recipe declares no parameters"] : ["parameters: " + names.joined(separator: ", ")])
        }
        var bound: [String: Value] = [:]
        var missing: [String] = []
        for spec in specs {
            if let v = values[spec.name] {
                let (value, problem) = check(v, type: spec.type, bounds: spec.bounds, checkDirectories: checkDirectories)
                if let problem { throw RecipeError("parameter '\(spec.name)' \(problem)", at: nil) }
                bound[spec.name] = value
            } else if let d = spec.defaultValue {
                bound[spec.name] = d
            } else {
                missing.append(spec.name)
            }
        }
        if !missing.isEmpty {
            let list = missing.map { "'\($0)'" }.joined(separator: ", ")
            throw RecipeError("missing required parameter\(missing.count > 1 ? "s" : "") \(list)", at: nil)
        }
        return bound
    }

    /// The value converted to the type (ints widen to floats), or what is wrong with it
    /// ("expects int > 0, got 0").
    public static func check(_ value: Value, type: ParamType, bounds: [ParamBound], checkDirectories: Bool) -> (value: Value, problem: String?) {
        let expectation = "expects \(type)" + bounds.map { " \($0)" }.joined()
        func fail(_ detail: String? = nil) -> (Value, String?) {
            (value, detail.map { "\(expectation), \($0)" } ?? "\(expectation), got \(article(value))")
        }
        func convert(_ v: Value, _ t: ParamType, depth: Int) -> Value? {
            guard depth < 32 else { return nil }
            switch (t, v) {
            case (.optional, .null): return .null
            case let (.optional(inner), _): return convert(v, inner, depth: depth + 1)
            case (.int, .int), (.bool, .bool), (.str, .string), (.path, .string), (.dir, .string), (.float, .float): return v
            case let (.float, .int(i)): return .float(Double(i))
            case let (.union(types), _): return types.lazy.compactMap { convert(v, $0, depth: depth + 1) }.first
            case let (.list(e), .list(items)):
                var out: [Value] = []
                for item in items {
                    guard let c = convert(item, e, depth: depth + 1) else { return nil }
                    out.append(c)
                }
                return .list(out)
            case let (.dict(e), .dict(pairs)):
                var out: [(String, Value)] = []
                for (k, item) in pairs {
                    guard let c = convert(item, e, depth: depth + 1) else { return nil }
                    out.append((k, c))
                }
                return .dict(out)
            default: return nil
            }
        }
        guard let converted = convert(value, type, depth: 0) else { return fail() }
        for n in numbers(converted) {
            for b in bounds where !b.admits(n.0) { return fail("got \(n.1)") }
        }
        if checkDirectories {
            for dir in directories(converted, type) {
                var isDir: ObjCBool = false
                if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) { return fail("but directory '\(dir)' does not exist") }
                if !isDir.boolValue { return fail("but '\(dir)' is not a directory") }
            }
        }
        return (converted, nil)
    }

    static func numbers(_ v: Value) -> [(Double, Value)] {
        switch v {
        case let .int(i): return [(Double(i), v)]
        case let .float(d): return [(d, v)]
        case let .list(items): return items.flatMap(numbers)
        default: return []
        }
    }

    static func directories(_ v: Value, _ t: ParamType) -> [String] {
        switch (t, v) {
        case let (.dir, .string(s)): return [s]
        case let (.optional(inner), _): return directories(v, inner)
        case let (.union(types), _): return types.flatMap { directories(v, $0) }
        case let (.list(e), .list(items)): return items.flatMap { directories($0, e) }
        default: return []
        }
    }
}
