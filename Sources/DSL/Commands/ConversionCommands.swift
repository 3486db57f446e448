import Ops

/// The registry of tensor statements over a `Workspace`: what recipes and the REPL can say.
///
/// Each statement maps onto one operator of the library (one type per mapping kind, both
/// directions); this file only decides the syntax and turns arguments into operator values.
public enum ConversionCommands {
    public static func registry() -> CommandRegistry<Workspace> {
        let r = CommandRegistry<Workspace>()
        registerLoadSave(r)
        registerTransforms(r)
        registerParallel(r)
        registerInspection(r)
        return r
    }
}

/// A slot holding a value of the given kind.
func slot(_ name: String, _ kind: ValueKind, required: Bool = true, doc: String = "") -> ArgumentSlot {
    ArgumentSlot(name, .value(kind), required: required, doc: doc)
}

extension CommandCall {
    /// Runs an operator call, turning library errors into errors at this statement.
    func attempt<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as RecipeError { throw e } catch {
            // Library messages often start with the step already ("rename: ..."); say it once.
            let text = "\(error)"
            let at = arguments.location(blaming: error)
            if text.hasPrefix(name + " ") || text.hasPrefix(name + ":") {
                throw RecipeError(text, at: at)
            }
            throw RecipeError("\(name): \(text)", at: at)
        }
    }

    func required(_ s: String) throws -> Value {
        guard let v = arguments.value(s), v != .null else { throw error("missing \(s)=", at: s) }
        return v
    }

    func int(_ s: String) throws -> Int {
        guard case let .int(i) = try required(s) else { throw error("\(s) must be an int", at: s) }
        return i
    }

    func optionalInt(_ s: String) throws -> Int? {
        guard let v = arguments.value(s), v != .null else { return nil }
        guard case let .int(i) = v else { throw error("\(s) must be an int", at: s) }
        return i
    }

    func bool(_ s: String, default d: Bool) throws -> Bool {
        guard let v = arguments.value(s), v != .null else { return d }
        guard case let .bool(b) = v else { throw error("\(s) must be true or false", at: s) }
        return b
    }

    func dtype(_ s: String) throws -> DType? {
        if let w = arguments.word(s) ?? arguments.string(s) {
            guard let t = DType(anyName: w) else { throw error("unknown dtype '\(w)' (bf16, f16, f32, f64, ...)", at: s) }
            return t
        }
        return nil
    }

    /// Positional string arguments of the variadic slot (a list argument gives its items).
    func strings(_ s: String) throws -> [String] {
        try arguments.values(s).flatMap { v -> [Value] in if case let .list(items) = v { return items } else { return [v] } }.map { v in
            guard case let .string(str) = v else { throw error("expected a string pattern, got \(v.typeName)", at: s) }
            return str
        }
    }

    /// A keyword argument's strings (a string or a list of them; none when it was not given).
    func keywordStrings(_ s: String) throws -> [String] {
        guard let v = arguments.value(s), v != .null else { return [] }
        let items: [Value]
        if case let .list(l) = v { items = l } else { items = [v] }
        return try items.map { v in
            guard case let .string(str) = v else { throw error("expected a string pattern, got \(v.typeName)", at: s) }
            return str
        }
    }

    /// The single arrow argument as (from, to) strings.
    func arrow() throws -> (String, String) {
        guard let (a, b) = arguments.arrows.first else { throw error("expected \"from\" -> \"to\"") }
        guard case let .string(x) = a, case let .string(y) = b else { throw error("both sides of -> must be strings") }
        return (x, y)
    }

    /// Layer lists, nested (`[[1,10,10,7]]`: VPP chunks of PP ranks) or flat (`[1,10,10,7]`).
    func layers(_ s: String) throws -> [[Int]]? {
        guard let v = arguments.value(s), v != .null else { return nil }
        guard case let .list(items) = v else { throw error("\(s) must be a list of layer counts", at: s) }
        func ints(_ l: [Value]) throws -> [Int] {
            try l.map { x in
                guard case let .int(i) = x, i >= 0 else { throw error("\(s): layer counts must be ints >= 0, got \(x)", at: s) }
                return i
            }
        }
        if items.allSatisfy({ if case .list = $0 { return true } else { return false } }) && !items.isEmpty {
            return try items.map { item in
                guard case let .list(inner) = item else { return [] }
                return try ints(inner)
            }
        }
        return [try ints(items)]
    }
}
