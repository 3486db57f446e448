import DSL
import Ops

/// The `mm-convert` command line, derived from the recipes' declarations the way jsonargparse's
/// `auto_cli` derives it from type hints: `mm-convert <Converter> <operation> --cfg.a.b VALUE`,
/// `--config FILE` at each level, `--print_config[=flags]`, `-h` at each level, and environment
/// variables when `JSONARGPARSE_DEFAULT_ENV=true`.
public struct ArgumentSurface {
    public let program: String
    /// One paragraph shown under the usage of `mm-convert -h`.
    public let summary: String
    public let recipes: [RecipeInfo]
    /// Commands that are not recipe operations (`inspect`, `verify`, ...), handled by the caller.
    public let extraCommands: [(name: String, summary: String)]

    public init(program: String = "mm-convert", summary: String = "", recipes: [RecipeInfo],
                extraCommands: [(name: String, summary: String)] = []) {
        self.program = program
        self.summary = summary
        self.recipes = recipes
        self.extraCommands = extraCommands
    }

    /// Converter names in the order their first recipe appears.
    public var converters: [String] {
        var seen = Set<String>()
        return recipes.map(\.converter).filter { seen.insert($0).inserted }
    }

    /// The recipes of one converter, in the given order.
    public func operations(of converter: String) -> [RecipeInfo] {
        recipes.filter { $0.converter == converter }
    }

    /// Decides what the command line asks for. Reads `--config` files and, when
    /// `JSONARGPARSE_DEFAULT_ENV` is true, `MM_CONVERT_...` variables from `environment`.
    /// Throws `ArgumentError` for any mistake (unknown option, missing or invalid value, ...).
    public func parse(_ argv: [String], environment: [String: String] = [:]) throws -> ParsedCommand {
        var level = LevelOptions()
        var i = 0
        let topUsage = topLevelUsage
        while i < argv.count, argv[i].hasPrefix("-") {
            if argv[i] == "-h" || argv[i] == "--help" { return .help(topLevelHelp(environment: environment)) }
            i = try level.consume(argv, at: i, usage: topUsage, candidates: ["--config", "--print_config", "--help"])
        }
        guard i < argv.count else {
            if let (converter, operation) = try commandFromConfig(level, environment: environment, usage: topUsage) {
                return try parseConverter(converter, operation.isEmpty ? [] : [operation], top: level, environment: environment)
            }
            throw ArgumentError(usage: topUsage, message: "a command is required: one of \(commandNames.joined(separator: ", "))")
        }
        let command = argv[i]
        if extraCommands.contains(where: { $0.name == command }) {
            if !level.configs.isEmpty || level.printConfig != nil {
                throw ArgumentError(usage: topUsage, message: "--config and --print_config apply to converter operations, not to '\(command)'")
            }
            return .other(command: command, args: Array(argv[(i + 1)...]))
        }
        guard converters.contains(command) else {
            throw ArgumentError(usage: topUsage, message: "invalid command '\(command)'" + OptionSuggestions.note(for: command, among: commandNames)
                                + "; choose from \(commandNames.joined(separator: ", "))")
        }
        return try parseConverter(command, Array(argv[(i + 1)...]), top: level, environment: environment)
    }

    var commandNames: [String] { converters + extraCommands.map(\.name) }

    /// jsonargparse lets a top-level config file choose the command when the command line does
    /// not: `subcommand: Converter` (and `subcommand: operation` inside it), or a file holding
    /// exactly one converter with exactly one operation.
    private func commandFromConfig(_ level: LevelOptions, environment: [String: String], usage: String) throws -> (String, String)? {
        var sources = level.configs.map { ($0, "--config", false) }
        if EnvironmentNames.isEnabled(environment) {
            let name = EnvironmentNames.variable(program: program, commands: [], option: "config")
            if let v = environment[name] { sources.insert((v, name, true), at: 0) }
        }
        guard let (path, option, fromEnvironment) = sources.last else { return nil }
        let doc: YAMLDocument
        do {
            doc = try ConfigFiles.load(path, option: option, fromEnvironment: fromEnvironment).0
        } catch let p as SourceProblem {
            throw ArgumentError(usage: usage, message: p.message)
        }
        func choose(_ node: Value, among names: [String]) -> String? {
            guard case let .dict(pairs) = node else { return nil }
            if case let .string(s)? = node["subcommand"], names.contains(s) { return s }
            let present = pairs.map(\.0).filter { names.contains($0) }
            return present.count == 1 ? present[0] : nil
        }
        guard let converter = choose(doc.value, among: converters) else { return nil }
        if let function = self.function(converter) { return (converter, function.operation) }
        guard let section = doc.value[converter],
              let operation = choose(section, among: operations(of: converter).map(\.operation)) else { return nil }
        return (converter, operation)
    }

    /// The recipe of a command declared without an operation (`moe_expert`), if `converter` is one.
    func function(_ converter: String) -> RecipeInfo? {
        let ops = operations(of: converter)
        return ops.count == 1 && ops[0].operation.isEmpty ? ops[0] : nil
    }

    private func parseConverter(_ converter: String, _ argv: [String], top: LevelOptions, environment: [String: String]) throws -> ParsedCommand {
        if let recipe = function(converter) {
            // Options follow the name directly (a jsonargparse function, no operation level).
            if argv.contains("-h") || argv.contains("--help") { return .help(operationHelp(recipe, environment: environment)) }
            var run = OperationRun(surface: self, recipe: recipe, environment: environment)
            return try run.parse(argv, top: top, converterLevel: LevelOptions())
        }
        var level = LevelOptions()
        var i = 0
        let usage = converterUsage(converter)
        let ops = operations(of: converter).map(\.operation)
        // Init options (jsonargparse: the converter class's constructor parameters, e.g.
        // `HunyuanVideoConverter --version i2v source_to_mm`): undotted parameters every operation
        // of the converter declares, given before the operation; handed to it as its own options.
        var initNames: Set<String> = []
        for (k, r) in operations(of: converter).enumerated() {
            let names = Set(r.params.map(\.name).filter { !$0.contains(".") })
            initNames = k == 0 ? names : initNames.intersection(names)
        }
        var initArgs: [String] = []
        while i < argv.count, argv[i].hasPrefix("-") {
            if argv[i] == "-h" || argv[i] == "--help" { return .help(converterHelp(converter, environment: environment)) }
            if let (name, inline) = splitOption(argv[i]), name.hasPrefix("--"), initNames.contains(String(name.dropFirst(2))) {
                if inline != nil { initArgs.append(argv[i]); i += 1; continue }
                guard i + 1 < argv.count else { throw ArgumentError(usage: usage, message: "argument \(name): expected one argument") }
                initArgs += [argv[i], argv[i + 1]]
                i += 2
                continue
            }
            i = try level.consume(argv, at: i, usage: usage, candidates: ["--config", "--print_config", "--help"] + initNames.map { "--" + $0 })
        }
        guard i < argv.count else {
            throw ArgumentError(usage: usage, message: "an operation is required: one of \(ops.joined(separator: ", "))")
        }
        guard let recipe = operations(of: converter).first(where: { $0.operation == argv[i] }) else {
            throw ArgumentError(usage: usage, message: "invalid operation '\(argv[i])' for \(converter)" + OptionSuggestions.note(for: argv[i], among: ops)
                                + "; choose from \(ops.joined(separator: ", "))")
        }
        let rest = Array(argv[(i + 1)...])
        if rest.contains("-h") || rest.contains("--help") {
            return .help(operationHelp(recipe, environment: environment))
        }
        var run = OperationRun(surface: self, recipe: recipe, environment: environment)
        return try run.parse(initArgs + rest, top: top, converterLevel: level)
    }
}
