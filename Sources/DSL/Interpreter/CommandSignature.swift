import Ops

/// What a value argument must be; checked after evaluation, before the command runs.
public indirect enum ValueKind: Equatable, Sendable, CustomStringConvertible {
    case any
    case int
    /// An int or a float.
    case number
    case bool
    case string
    /// A string or a list of strings (patterns given one by one or as a list bound by `let`).
    case strings
    case list(ValueKind)
    /// The kind, or null.
    case optional(ValueKind)

    public func admits(_ v: Value) -> Bool {
        switch (self, v) {
        case (.any, _): return true
        case (.int, .int), (.bool, .bool), (.string, .string), (.strings, .string): return true
        case let (.strings, .list(items)): return items.allSatisfy { ValueKind.string.admits($0) }
        case (.number, .int), (.number, .float): return true
        case let (.list(e), .list(items)): return items.allSatisfy { e.admits($0) }
        case (.optional, .null): return true
        case let (.optional(k), _): return k.admits(v)
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .any: return "a value"
        case .int: return "int"
        case .number: return "number"
        case .bool: return "bool"
        case .string: return "string"
        case .strings: return "a string or a list of strings"
        case let .list(e): return "[\(e)]"
        case let .optional(k): return "\(k)?"
        }
    }
}

/// How one argument of a statement is written and what it turns into.
public enum ArgumentKind: Equatable, Sendable {
    /// An expression, evaluated and checked against the kind.
    case value(ValueKind)
    /// `source -> target`, both sides evaluated (patterns, names).
    case arrow
    /// A bare word taken literally (`hf`, `glu`, `bf16`); empty = any word.
    case word([String])
    /// The name of a declared table of that kind (`shard`, `stages`), handed over as `TableData`.
    case table(String)
}

/// One named argument slot of a statement or table entry.
public struct ArgumentSlot: Equatable, Sendable {
    public var name: String
    public var kind: ArgumentKind
    public var required: Bool
    public var doc: String

    public init(_ name: String, _ kind: ArgumentKind, required: Bool = true, doc: String = "") {
        self.name = name
        self.kind = kind
        self.required = required
        self.doc = doc
    }
}

/// The arguments a statement accepts: checked before anything runs, and the source of
/// "did you mean" for misspelt keyword arguments and of `help`'s usage lines.
public struct CommandSignature: Equatable, Sendable {
    /// Positional slots in order; required ones come first.
    public var positional: [ArgumentSlot]
    /// Any number of further positional arguments of this slot's kind (e.g. patterns to drop).
    public var variadic: ArgumentSlot?
    /// `key=value` arguments.
    public var keywords: [ArgumentSlot]

    public init(positional: [ArgumentSlot] = [], variadic: ArgumentSlot? = nil, keywords: [ArgumentSlot] = []) {
        self.positional = positional
        self.variadic = variadic
        self.keywords = keywords
    }

    /// `NAME [OPTIONAL] REST... key=VALUE [key=VALUE]`
    public func usage(_ name: String) -> String {
        func slot(_ s: ArgumentSlot) -> String {
            switch s.kind {
            case .arrow: return "\(s.name.uppercased())_FROM -> \(s.name.uppercased())_TO"
            case let .word(words) where !words.isEmpty: return words.joined(separator: "|")
            default: return s.name.uppercased()
            }
        }
        var parts = [name]
        for s in positional { parts.append(s.required ? slot(s) : "[\(slot(s))]") }
        if let v = variadic { parts.append(slot(v) + "...") }
        for k in keywords {
            let text = "\(k.name)=\(k.name.uppercased())"
            parts.append(k.required ? text : "[\(text)]")
        }
        return parts.joined(separator: " ")
    }
}

/// A table kind the registry accepts (`shard`, `stages`): its entry words and their arguments.
public struct TableKind: Sendable {
    public var name: String
    public var doc: String
    /// Entry word -> its arguments, e.g. `row` -> variadic patterns.
    public var entries: [(word: String, signature: CommandSignature)]

    public init(name: String, doc: String = "", entries: [(word: String, signature: CommandSignature)]) {
        self.name = name
        self.doc = doc
        self.entries = entries
    }

    func signature(of word: String) -> CommandSignature? { entries.first(where: { $0.word == word })?.signature }
}
