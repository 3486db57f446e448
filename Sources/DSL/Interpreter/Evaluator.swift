import Ops

/// Evaluates expressions against a name lookup. Pure: no statement runs, nothing is mutated,
/// so the same evaluator serves defaults, conditions, arguments and the REPL.
public struct Evaluator {
    /// The value bound to a top-level name (`cfg`, `config`, a `let`), or nil when unbound.
    public var lookup: (String) throws -> Value?
    /// The bound names, for "did you mean" when a name is unknown.
    public var knownNames: () -> [String]

    /// Thrown by `lookup` for a name that exists but has no value yet (`config` before `load`);
    /// reported at the name.
    public struct NameUnavailable: Error {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    /// The largest list a built-in may build (`range`, `flatten`): keeps hostile input bounded.
    public static let maxListLength = 1 << 20

    public init(lookup: @escaping (String) throws -> Value?, knownNames: @escaping () -> [String]) {
        self.lookup = lookup
        self.knownNames = knownNames
    }

    /// An evaluator with no names: for defaults, which must be constants.
    public static let constant = Evaluator(lookup: { _ in nil }, knownNames: { [] })

    public func evaluate(_ e: Expr) throws -> Value {
        switch e.kind {
        case let .literal(v):
            return v
        case let .name(n):
            let found: Value?
            do {
                found = try lookup(n)
            } catch let unavailable as NameUnavailable {
                throw RecipeError(unavailable.message, at: e.location)
            }
            if let v = found { return v }
            throw RecipeError(Suggestions.message("unknown name '\(n)'", for: n, in: knownNames()), at: e.location)
        case let .member(base, key):
            let b = try evaluate(base)
            let path = base.dottedName ?? "the value"
            guard case let .dict(pairs) = b else {
                throw RecipeError("\(path) is \(article(b)), not a mapping, so it has no key '\(key)'", at: e.location)
            }
            if let v = pairs.first(where: { $0.0 == key })?.1 { return v }
            throw RecipeError(Suggestions.message("no key '\(key)' in \(path)", for: key, in: pairs.map(\.0)), at: e.location)
        case let .index(base, indexExpr):
            return try index(try evaluate(base), try evaluate(indexExpr), at: indexExpr.location)
        case let .list(items):
            return .list(try items.map { try evaluate($0) })
        case let .unary(op, operand):
            let v = try evaluate(operand)
            switch (op, v) {
            case (.not, .bool(let b)): return .bool(!b)
            case (.negate, .int(let i)):
                guard i != Int.min else { throw RecipeError("integer overflow", at: e.location) }
                return .int(-i)
            case (.negate, .float(let d)): return .float(-d)
            default: throw RecipeError("'\(op.rawValue)' cannot apply to \(article(v))", at: e.location)
            }
        case let .binary(op, left, right):
            return try binary(op, left, right, at: e.location)
        case let .call(name, args):
            guard let builtin = Builtins.all[name] else {
                let isName = (try? lookup(name)) != nil
                throw RecipeError(Suggestions.message(isName ? "'\(name)' is not a function" : "unknown function '\(name)'", for: name, in: Array(Builtins.all.keys).sorted()), at: e.location)
            }
            guard builtin.arity.contains(args.count) else {
                throw RecipeError("\(name)() takes \(Builtins.describe(builtin.arity)), got \(args.count)", at: e.location)
            }
            let values = try args.map { try evaluate($0) }
            do {
                return try builtin.body(values)
            } catch let message as Builtins.Failure {
                throw RecipeError("\(name)(): \(message.text)", at: e.location)
            }
        }
    }

    func index(_ base: Value, _ i: Value, at location: SourceLocation) throws -> Value {
        switch (base, i) {
        case let (.list(items), .int(n)):
            let k = n < 0 ? items.count + n : n
            guard k >= 0, k < items.count else {
                throw RecipeError("index \(n) is out of range for a list of \(items.count) items", at: location)
            }
            return items[k]
        case let (.dict(pairs), .string(key)):
            if let v = pairs.first(where: { $0.0 == key })?.1 { return v }
            throw RecipeError(Suggestions.message("no key \"\(key)\" in the mapping", for: key, in: pairs.map(\.0)), at: location)
        case (.list, _):
            throw RecipeError("a list index must be an int, not \(article(i))", at: location)
        case (.dict, _):
            throw RecipeError("a mapping index must be a string, not \(article(i))", at: location)
        default:
            throw RecipeError("\(article(base)) cannot be indexed", at: location)
        }
    }

    func binary(_ op: Expr.BinaryOp, _ l: Expr, _ r: Expr, at location: SourceLocation) throws -> Value {
        if op == .and || op == .or {
            let a = try evaluate(l)
            guard case let .bool(x) = a else {
                throw RecipeError("'\(op.rawValue)' needs true or false, found \(article(a))", at: l.location)
            }
            if op == .and && !x { return .bool(false) }
            if op == .or && x { return .bool(true) }
            let b = try evaluate(r)
            guard case let .bool(y) = b else {
                throw RecipeError("'\(op.rawValue)' needs true or false, found \(article(b))", at: r.location)
            }
            return .bool(y)
        }
        let a = try evaluate(l), b = try evaluate(r)
        do {
            return try Arithmetic.apply(op, a, b)
        } catch let failure as Builtins.Failure {
            throw RecipeError(failure.text, at: location)
        }
    }
}

/// "an int", "a list", ... for messages.
func article(_ v: Value) -> String {
    switch v {
    case .null: return "null"
    case .int: return "an int (\(v))"
    case .float: return "a float (\(v))"
    case .bool: return "a bool (\(v))"
    case .string: return "a string (\(v.quotedDescription))"
    case .list: return "a list"
    case .dict: return "a mapping"
    }
}

/// Arithmetic and comparison with Python's rules: `/` is true division, `//` and `%` floor,
/// ints overflow into an error rather than a trap.
enum Arithmetic {
    static func apply(_ op: Expr.BinaryOp, _ a: Value, _ b: Value) throws -> Value {
        switch op {
        case .eq: return .bool(equal(a, b))
        case .ne: return .bool(!equal(a, b))
        case .lt, .le, .gt, .ge: return .bool(try compare(op, a, b))
        default: break
        }
        switch (a, b) {
        case let (.int(x), .int(y)): return try ints(op, x, y)
        case let (.string(x), .string(y)) where op == .add: return .string(x + y)
        case let (.list(x), .list(y)) where op == .add:
            guard x.count + y.count <= Evaluator.maxListLength else { throw Builtins.Failure("list too long") }
            return .list(x + y)
        default:
            if let x = number(a), let y = number(b) { return try floats(op, x, y) }
            throw Builtins.Failure("'\(op.rawValue)' cannot combine \(article(a)) and \(article(b))")
        }
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        default: return nil
        }
    }

    static func ints(_ op: Expr.BinaryOp, _ x: Int, _ y: Int) throws -> Value {
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Value {
            if r.overflow { throw Builtins.Failure("integer overflow in \(x) \(op.rawValue) \(y)") }
            return .int(r.partialValue)
        }
        switch op {
        case .add: return try checked(x.addingReportingOverflow(y))
        case .sub: return try checked(x.subtractingReportingOverflow(y))
        case .mul: return try checked(x.multipliedReportingOverflow(by: y))
        case .div:
            guard y != 0 else { throw Builtins.Failure("division by zero") }
            return .float(Double(x) / Double(y))
        case .floorDiv, .mod:
            guard y != 0 else { throw Builtins.Failure(op == .mod ? "modulo by zero" : "division by zero") }
            if x == Int.min && y == -1 { throw Builtins.Failure("integer overflow in \(x) \(op.rawValue) \(y)") }
            var q = x / y, m = x % y
            if m != 0 && ((m < 0) != (y < 0)) { q -= 1; m += y }
            return .int(op == .mod ? m : q)
        default: throw Builtins.Failure("'\(op.rawValue)' cannot combine ints")
        }
    }

    static func floats(_ op: Expr.BinaryOp, _ x: Double, _ y: Double) throws -> Value {
        switch op {
        case .add: return .float(x + y)
        case .sub: return .float(x - y)
        case .mul: return .float(x * y)
        case .div:
            guard y != 0 else { throw Builtins.Failure("division by zero") }
            return .float(x / y)
        case .floorDiv:
            guard y != 0 else { throw Builtins.Failure("division by zero") }
            return .float((x / y).rounded(.down))
        case .mod:
            guard y != 0 else { throw Builtins.Failure("modulo by zero") }
            return .float(x - (x / y).rounded(.down) * y)
        default: throw Builtins.Failure("'\(op.rawValue)' cannot combine numbers")
        }
    }

    /// Equality where 1 == 1.0, as in the config files recipes compare against.
    static func equal(_ a: Value, _ b: Value) -> Bool {
        if let x = number(a), let y = number(b), !(isBool(a) || isBool(b)) { return x == y }
        if case let .list(x) = a, case let .list(y) = b { return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) } }
        return a == b
    }

    static func isBool(_ v: Value) -> Bool {
        if case .bool = v { return true }
        return false
    }

    static func compare(_ op: Expr.BinaryOp, _ a: Value, _ b: Value) throws -> Bool {
        func result<T: Comparable>(_ x: T, _ y: T) -> Bool {
            switch op {
            case .lt: return x < y
            case .le: return x <= y
            case .gt: return x > y
            default: return x >= y
            }
        }
        if case let .int(x) = a, case let .int(y) = b { return result(x, y) }
        if let x = number(a), let y = number(b) { return result(x, y) }
        if case let .string(x) = a, case let .string(y) = b { return result(x, y) }
        throw Builtins.Failure("'\(op.rawValue)' cannot compare \(article(a)) and \(article(b))")
    }
}
