import Ops

/// What tensor statements act on: the caller's state (tensors, plan, output options), the loaded
/// `config` the language reads as `config.a.b`, and where inspection statements print.
public final class RecipeContext<State> {
    public var state: State
    /// Set by `load` (the checkpoint's config.json); read by expressions as `config`.
    public var config: Value?
    /// Set by `load hf` / `load config` (tensor name -> shard file of that HF directory, like its
    /// index's weight map); read as `weight_map`, e.g. to tell one key layout from another.
    public var weightMap: Value?
    /// Set by every `load` (tensor name -> its shape, a list of ints, of the model as loaded; for a
    /// MindSpeed-MM checkpoint, of tensor-parallel rank 0); read as `shapes`, e.g. to size a
    /// split by a width the checkpoint has no config.json for.
    public var shapes: Value?
    /// Set by `load pt`: the dotted path of the dict it read ("" for the saved dict itself); read
    /// as `state_key`, e.g. to tell which of the forms `key=[...]` allows a file has.
    public var stateKey: Value?

    /// The names `load` sets, which the language reads but `let` may not bind.
    public static var loadedNames: [String] { ["config", "weight_map", "shapes", "state_key"] }
    /// Output of `help`, `ls`, `show`, `plan`.
    public var output: (String) -> Void

    public init(state: State, config: Value? = nil, output: @escaping (String) -> Void = { print($0) }) {
        self.state = state
        self.config = config
        self.output = output
    }
}

/// A statement the registry provides (`load hf`, `rename`, `merge qkv`, `shard`, `ls` ...).
///
/// `name` is the keyword, or keyword and sub-word (`merge qkv`): `merge qkv a -> b` finds
/// `merge qkv` and passes the remaining arguments. `revert` is the exact inverse, used by
/// `revert MAP`; statements without one cannot appear in a reverted map.
public struct TensorCommand<State> {
    public var name: String
    public var signature: CommandSignature
    public var doc: String
    public var run: (CommandCall, RecipeContext<State>) throws -> Void
    public var revert: ((CommandCall, RecipeContext<State>) throws -> Void)?

    public init(_ name: String, signature: CommandSignature = CommandSignature(), doc: String = "",
                run: @escaping (CommandCall, RecipeContext<State>) throws -> Void,
                revert: ((CommandCall, RecipeContext<State>) throws -> Void)? = nil) {
        self.name = name
        self.signature = signature
        self.doc = doc
        self.run = run
        self.revert = revert
    }

    var keyword: String { String(name.split(separator: " ").first ?? Substring(name)) }
}

/// The statements and table kinds an interpreter knows beyond the language core.
public final class CommandRegistry<State> {
    public private(set) var commands: [String: TensorCommand<State>] = [:]
    public private(set) var tableKinds: [String: TableKind] = [:]
    /// Registration order, for `help`.
    public private(set) var order: [String] = []

    public init() {}

    /// Adds or replaces a statement.
    public func register(_ command: TensorCommand<State>) {
        if commands[command.name] == nil { order.append(command.name) }
        commands[command.name] = command
    }

    /// Adds or replaces a table kind.
    public func register(table kind: TableKind) {
        tableKinds[kind.name] = kind
    }

    /// The keywords statements start with (`merge` for `merge qkv`).
    public var keywords: [String] {
        var seen = Set<String>()
        return order.compactMap { name in
            let k = commands[name]!.keyword
            return seen.insert(k).inserted ? k : nil
        }
    }

    /// The sub-words registered under a keyword (`glu`, `qkv` under `merge`).
    public func subcommands(of keyword: String) -> [String] {
        order.compactMap { name in
            let parts = name.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && parts[0] == keyword ? String(parts[1]) : nil
        }
    }
}
