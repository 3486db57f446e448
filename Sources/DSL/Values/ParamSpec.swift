import Ops

/// The type of a recipe parameter: what the command line, YAML and environment accept for it.
public indirect enum ParamType: Equatable, CustomStringConvertible, Sendable {
    case int
    case float
    case bool
    case str
    /// A file system path that need not exist (an output).
    case path
    /// A directory that must exist (an input).
    case dir
    case list(ParamType)
    /// A mapping from names to values of the type (`{str}`: jsonargparse's `dict[str, str]`).
    case dict(ParamType)
    /// The type, or null.
    case optional(ParamType)
    /// The first of these types the value fits (e.g. flat or nested layer lists).
    case union([ParamType])

    /// `layers`: per-stage layer counts, flat (`[1,10,10,7]`) or nested by VPP chunk (`[[1,10,10,7]]`).
    public static let layers = ParamType.union([.list(.int), .list(.list(.int))])

    public var description: String {
        switch self {
        case .int: return "int"
        case .float: return "float"
        case .bool: return "bool"
        case .str: return "str"
        case .path: return "path"
        case .dir: return "dir"
        case let .list(t): return "[\(t)]"
        case let .dict(t): return "{\(t)}"
        case let .optional(t): return "\(t)?"
        case let .union(ts): return ts.map(\.description).joined(separator: " or ")
        }
    }
}

/// A numeric bound on a parameter (`int > 0`, `int >= 0`), applied to every number in a list.
public struct ParamBound: Equatable, Sendable, CustomStringConvertible {
    public enum Op: String, Sendable { case gt = ">", ge = ">=", lt = "<", le = "<=" }
    public var op: Op
    public var value: Double

    public init(_ op: Op, _ value: Double) { self.op = op; self.value = value }

    public func admits(_ x: Double) -> Bool {
        switch op {
        case .gt: return x > value
        case .ge: return x >= value
        case .lt: return x < value
        case .le: return x <= value
        }
    }

    public var description: String {
        "\(op.rawValue) \(value == value.rounded() ? String(Int(value)) : String(value))"
    }
}

/// One declared parameter of a recipe (`param cfg.parallel_config.tp_size: int > 0 = 1 "doc"`).
///
/// The single source of the command-line surface: option names, help text, YAML keys,
/// environment variable names and validation all derive from these.
public struct ParamSpec: Equatable, Sendable {
    /// Dotted name, e.g. `cfg.parallel_config.tp_size`.
    public var name: String
    public var type: ParamType
    public var bounds: [ParamBound]
    /// nil = required.
    public var defaultValue: Value?
    public var doc: String
    /// Accepted for compatibility with the reference's scripts, and ignored.
    public var ignored: Bool

    public init(name: String, type: ParamType, bounds: [ParamBound] = [], defaultValue: Value? = nil, doc: String = "", ignored: Bool = false) {
        self.name = name
        self.type = type
        self.bounds = bounds
        self.defaultValue = defaultValue
        self.doc = doc
        self.ignored = ignored
    }

    public var isRequired: Bool { defaultValue == nil }
}

/// What a bundled recipe declares about itself: the converter and operation it implements on the
/// command line (`Qwen2VLConverter hf_to_mm`), its description and its parameters.
public struct RecipeInfo: Equatable, Sendable {
    public var converter: String
    public var operation: String
    public var doc: String
    public var params: [ParamSpec]

    public init(converter: String, operation: String, doc: String, params: [ParamSpec]) {
        self.converter = converter
        self.operation = operation
        self.doc = doc
        self.params = params
    }

    /// The command words: `[Converter, operation]`, or `[name]` for a recipe declared without an
    /// operation (`recipe moe_expert "doc"`: a command whose options follow its name directly,
    /// like the reference's jsonargparse functions).
    public var commands: [String] { operation.isEmpty ? [converter] : [converter, operation] }
    /// `Converter operation`, or the function's name.
    public var commandLine: String { commands.joined(separator: " ") }
}
