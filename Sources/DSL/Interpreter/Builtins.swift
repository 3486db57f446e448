import Foundation
import Ops

/// The built-in functions of the recipe language: few, pure, and bounded in the work they do.
public enum Builtins {
    struct Failure: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    struct Function {
        let arity: ClosedRange<Int>
        let doc: String
        let body: ([Value]) throws -> Value
    }

    /// The names of the built-ins, for `help` and for "did you mean".
    public static var names: [String] { all.keys.sorted() }

    /// One line per built-in: `name(args): what it does`.
    public static var summary: [String] { names.map { "\($0): \(all[$0]!.doc)" } }

    static func describe(_ arity: ClosedRange<Int>) -> String {
        let n = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : arity.upperBound == Int.max ? "at least \(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
        return n + (arity == 1...1 ? " argument" : " arguments")
    }

    static let all: [String: Function] = [
        "len": Function(arity: 1...1, doc: "len(x): items of a list, characters of a string, keys of a mapping") { a in
            switch a[0] {
            case let .list(l): return .int(l.count)
            case let .string(s): return .int(s.count)
            case let .dict(d): return .int(d.count)
            default: throw Failure("needs a list, string or mapping, not \(article(a[0]))")
            }
        },
        "sum": Function(arity: 1...1, doc: "sum(list): the sum of a list of numbers (nested lists are flattened)") { a in
            var total: Value = .int(0)
            for v in try flat(a[0], "sum") {
                guard Arithmetic.number(v) != nil, !Arithmetic.isBool(v) else { throw Failure("needs numbers, found \(article(v))") }
                total = try Arithmetic.apply(.add, total, v)
            }
            return total
        },
        "flatten": Function(arity: 1...1, doc: "flatten(list): the items of nested lists, in order ([[1,2],[3]] -> [1,2,3])") { a in
            .list(try flat(a[0], "flatten"))
        },
        "min": Function(arity: 1...Int.max, doc: "min(list) or min(a, b, ...): the smallest") { a in try extreme(a, .lt) },
        "max": Function(arity: 1...Int.max, doc: "max(list) or max(a, b, ...): the largest") { a in try extreme(a, .gt) },
        "range": Function(arity: 1...3, doc: "range(n), range(a, b), range(a, b, step): a list of ints") { a in
            let ints = try a.map { v -> Int in
                guard case let .int(i) = v else { throw Failure("needs ints, not \(article(v))") }
                return i
            }
            let (start, end, step) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
            guard step != 0 else { throw Failure("step must not be zero") }
            var out: [Value] = []
            var i = start
            while step > 0 ? i < end : i > end {
                if out.count >= Evaluator.maxListLength { throw Failure("more than \(Evaluator.maxListLength) items") }
                out.append(.int(i))
                let (next, overflow) = i.addingReportingOverflow(step)
                if overflow { break }
                i = next
            }
            return .list(out)
        },
        "int": Function(arity: 1...1, doc: "int(x): a float truncated, a numeric string parsed, a bool as 0/1") { a in
            switch a[0] {
            case .int: return a[0]
            case let .float(d):
                guard d.isFinite, d > -9.2e18, d < 9.2e18 else { throw Failure("\(d) does not fit an int") }
                return .int(Int(d))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .string(s):
                guard let i = Int(s.trimmingCharacters(in: .whitespaces)) else { throw Failure("\"\(s)\" is not an integer") }
                return .int(i)
            default: throw Failure("cannot convert \(article(a[0])) to int")
            }
        },
        "float": Function(arity: 1...1, doc: "float(x): a number or numeric string as a float") { a in
            switch a[0] {
            case let .int(i): return .float(Double(i))
            case .float: return a[0]
            case let .string(s):
                guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else { throw Failure("\"\(s)\" is not a number") }
                return .float(d)
            default: throw Failure("cannot convert \(article(a[0])) to float")
            }
        },
        "str": Function(arity: 1...1, doc: "str(x): the text of a value") { a in .string(a[0].description) },
        "abs": Function(arity: 1...1, doc: "abs(x): the absolute value of a number") { a in
            switch a[0] {
            case let .int(i):
                guard i != Int.min else { throw Failure("integer overflow") }
                return .int(abs(i))
            case let .float(d): return .float(abs(d))
            default: throw Failure("needs a number, not \(article(a[0]))")
            }
        },
        "any": Function(arity: 1...1, doc: "any(list): true if some item is true") { a in
            .bool(try bools(a[0], "any").contains(true))
        },
        "all": Function(arity: 1...1, doc: "all(list): true if every item is true") { a in
            .bool(!(try bools(a[0], "all").contains(false)))
        },
        "pp_size": Function(arity: 1...1, doc: "pp_size(layers): pipeline ranks of a layer list: len(l[0]) when nested by VPP chunk, len(l) when flat") { a in
            guard case let .list(l) = a[0] else { throw Failure("needs a layer list, not \(article(a[0]))") }
            if case let .list(inner)? = l.first { return .int(inner.count) }
            return .int(l.count)
        },
        "vpp_size": Function(arity: 1...1, doc: "vpp_size(layers): virtual pipeline chunks of a layer list: len(l) when nested, 1 when flat") { a in
            guard case let .list(l) = a[0] else { throw Failure("needs a layer list, not \(article(a[0]))") }
            if case .list? = l.first { return .int(l.count) }
            return .int(1)
        },
        "get": Function(arity: 3...3, doc: "get(mapping, \"key\", default): the key's value, or the default when absent") { a in
            guard case .dict = a[0] else { throw Failure("needs a mapping first, not \(article(a[0]))") }
            guard case let .string(k) = a[1] else { throw Failure("needs a string key, not \(article(a[1]))") }
            return a[0][k] ?? a[2]
        },
        "split": Function(arity: 2...2, doc: "split(text, \",\"): the parts of a string between separators, spaces around each trimmed, empty ones left out (\"q_proj, v_proj\" -> [\"q_proj\", \"v_proj\"])") { a in
            guard case let .string(text) = a[0], case let .string(sep) = a[1], !sep.isEmpty else {
                throw Failure("needs a string and a non-empty separator string")
            }
            return .list(text.components(separatedBy: sep).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { .string($0) })
        },
        "keys": Function(arity: 1...1, doc: "keys(mapping): its keys, in order") { a in
            guard case let .dict(pairs) = a[0] else { throw Failure("needs a mapping, not \(article(a[0]))") }
            return .list(pairs.map { .string($0.0) })
        },
        "endswith": Function(arity: 2...2, doc: "endswith(text, suffix): whether the text ends with the suffix (a file's extension)") { a in
            guard case let .string(t) = a[0], case let .string(x) = a[1] else { throw Failure("needs two strings") }
            return .bool(t.hasSuffix(x))
        },
        "set": Function(arity: 3...3, doc: "set(mapping, \"key\", value): the mapping with the key set to the value (replaced in place, or added at the end)") { a in
            guard case var .dict(pairs) = a[0] else { throw Failure("needs a mapping first, not \(article(a[0]))") }
            guard case let .string(k) = a[1] else { throw Failure("needs a string key, not \(article(a[1]))") }
            if let i = pairs.firstIndex(where: { $0.0 == k }) { pairs[i].1 = a[2] } else { pairs.append((k, a[2])) }
            return .dict(pairs)
        },
        "pick": Function(arity: 2...2, doc: "pick(mapping, [\"a\", \"b\"]): the mapping with only those keys (those it has), in its order") { a in
            guard case let .dict(pairs) = a[0] else { throw Failure("needs a mapping first, not \(article(a[0]))") }
            guard case let .list(items) = a[1] else { throw Failure("needs a list of keys, not \(article(a[1]))") }
            let keys = Set(items.compactMap { if case let .string(s) = $0 { return s } else { return nil } })
            return .dict(pairs.filter { keys.contains($0.0) })
        },
        "has": Function(arity: 2...2, doc: "has(mapping, \"key\"): whether the mapping has the key") { a in
            guard case .dict = a[0] else { throw Failure("needs a mapping first, not \(article(a[0]))") }
            guard case let .string(k) = a[1] else { throw Failure("needs a string key, not \(article(a[1]))") }
            return .bool(a[0][k] != nil)
        },
    ]

    static func flat(_ v: Value, _ name: String) throws -> [Value] {
        guard case .list = v else { throw Failure("needs a list, not \(article(v))") }
        var out: [Value] = []
        func walk(_ v: Value, _ depth: Int) throws {
            guard depth < 64 else { throw Failure("lists nested too deeply") }
            if case let .list(items) = v {
                for item in items { try walk(item, depth + 1) }
            } else {
                if out.count >= Evaluator.maxListLength { throw Failure("more than \(Evaluator.maxListLength) items") }
                out.append(v)
            }
        }
        try walk(v, 0)
        return out
    }

    static func bools(_ v: Value, _ name: String) throws -> [Bool] {
        guard case let .list(items) = v else { throw Failure("needs a list, not \(article(v))") }
        return try items.map {
            guard case let .bool(b) = $0 else { throw Failure("needs a list of true/false, found \(article($0))") }
            return b
        }
    }

    static func extreme(_ args: [Value], _ op: Expr.BinaryOp) throws -> Value {
        let items: [Value]
        if args.count == 1 {
            guard case let .list(l) = args[0] else { throw Failure("needs a list or several values, not \(article(args[0]))") }
            items = l
        } else {
            items = args
        }
        guard var best = items.first else { throw Failure("needs at least one value") }
        for v in items.dropFirst() where try Arithmetic.compare(op, v, best) { best = v }
        return best
    }
}
