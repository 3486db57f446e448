import Ops

/// An evaluated argument.
public enum ArgumentValue: Equatable {
    case value(Value)
    case arrow(Value, Value)
    case word(String)
    case table(TableData)
}

/// An evaluated argument with the slot it filled and where it was written.
public struct CommandArgument: Equatable {
    public var slot: String
    public var value: ArgumentValue
    public var location: SourceLocation
}

/// The evaluated arguments of a statement or table entry, already checked against the signature.
public struct CommandArguments: Equatable {
    public var positional: [CommandArgument]
    /// In the order written.
    public var keywords: [CommandArgument]
    /// The statement or entry.
    public var location: SourceLocation

    /// The argument filling a positional or keyword slot.
    public subscript(slot: String) -> CommandArgument? {
        keywords.first(where: { $0.slot == slot }) ?? positional.first(where: { $0.slot == slot })
    }

    /// The value of a slot, if given and a plain value.
    public func value(_ slot: String) -> Value? {
        if case let .value(v)? = self[slot]?.value { return v }
        return nil
    }

    public func int(_ slot: String) -> Int? {
        if case let .int(i)? = value(slot) { return i }
        return nil
    }

    public func string(_ slot: String) -> String? {
        if case let .string(s)? = value(slot) { return s }
        return nil
    }

    public func word(_ slot: String) -> String? {
        if case let .word(w)? = self[slot]?.value { return w }
        return nil
    }

    public func table(_ slot: String) -> TableData? {
        if case let .table(t)? = self[slot]?.value { return t }
        return nil
    }

    /// All arrows, in order (`rename a -> b c -> d`).
    public var arrows: [(Value, Value)] {
        positional.compactMap { if case let .arrow(a, b) = $0.value { return (a, b) } else { return nil } }
    }

    /// The plain values of the variadic slot (or any slot) in order.
    public func values(_ slot: String) -> [Value] {
        positional.filter { $0.slot == slot }.compactMap { if case let .value(v) = $0.value { return v } else { return nil } }
    }

    /// The argument a library error is about, so a runtime error points at it rather than at the
    /// statement: one whose text the message quotes, one whose pattern matches the tensor it
    /// names, a keyword it names (`tp=4`), or a path it mentions; else the statement.
    public func location(blaming error: Error) -> SourceLocation {
        let text = "\(error)"
        let written = (positional + keywords).sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        func strings(_ a: CommandArgument) -> [String] {
            func flat(_ v: Value) -> [String] {
                switch v {
                case let .string(s): return [s]
                case let .list(items): return items.flatMap(flat)
                default: return []
                }
            }
            switch a.value {
            case let .value(v): return flat(v)
            case let .arrow(x, y): return flat(x) + flat(y)
            case let .word(w): return [w]
            case .table: return []
            }
        }
        if let a = written.first(where: { strings($0).contains { !$0.isEmpty && text.contains("'\($0)'") } }) { return a.location }
        if case let OpsError.tensor(name, _) = error,
           let a = written.first(where: { strings($0).contains { (try? NamePattern($0))?.matches(name) == true } }) {
            return a.location
        }
        if let a = keywords.first(where: { text.contains("\($0.slot)=") }) { return a.location }
        if let a = written.first(where: { strings($0).contains { $0.count >= 3 && text.contains($0) } }) { return a.location }
        return location
    }

    /// An error pointing at a slot's argument (or at the statement when it was not written).
    public func error(_ message: String, at slot: String? = nil) -> RecipeError {
        RecipeError(message, at: slot.flatMap { self[$0]?.location } ?? location)
    }
}

/// A tensor statement ready to run: `name` is the registered command (`merge qkv`, `rename`).
public struct CommandCall: Equatable {
    public var name: String
    public var arguments: CommandArguments
    public var location: SourceLocation { arguments.location }

    public func error(_ message: String, at slot: String? = nil) -> RecipeError {
        arguments.error("\(name): \(message)", at: slot)
    }
}

/// A declared table (`shard qwen2vl_tp { ... }`) with its entries evaluated where it is used.
public struct TableData: Equatable {
    public var kind: String
    public var name: String
    public var entries: [TableEntry]
    public var location: SourceLocation
}

/// One entry of a table: `col "text_decoder.decoder.layers.{L}.mlp.linear_fc2.weight"`.
public struct TableEntry: Equatable {
    public var word: String
    public var arguments: CommandArguments
}
