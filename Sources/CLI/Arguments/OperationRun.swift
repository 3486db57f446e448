import Foundation
import DSL
import Ops

/// Parses the options of one operation and merges every source in jsonargparse's precedence:
/// defaults < environment variables (when enabled) < command line, where each `--config` file
/// (top level, converter level or operation level) takes effect at its position among the options.
struct OperationRun {
    let surface: ArgumentSurface
    let recipe: RecipeInfo
    let environment: [String: String]
    let table: OptionTable
    var state: ConfigState
    let usage: String

    init(surface: ArgumentSurface, recipe: RecipeInfo, environment: [String: String]) {
        self.surface = surface
        self.recipe = recipe
        self.environment = environment
        table = OptionTable(recipe: recipe)
        state = ConfigState(table: table)
        usage = surface.operationUsage(recipe)
    }

    var commands: [String] { recipe.commands }

    mutating func parse(_ argv: [String], top: LevelOptions, converterLevel: LevelOptions) throws -> ParsedCommand {
        do {
            return try parseSources(argv, top: top, converterLevel: converterLevel)
        } catch let p as SourceProblem {
            throw ArgumentError(usage: usage, message: p.message)
        }
    }

    private mutating func parseSources(_ argv: [String], top: LevelOptions, converterLevel: LevelOptions) throws -> ParsedCommand {
        var printFlags: PrintConfigFlags?
        var printNesting: [String] = []
        if let f = top.printConfig { printFlags = f; printNesting = commands }
        if let f = converterLevel.printConfig { printFlags = f; printNesting = [recipe.operation] }

        if EnvironmentNames.isEnabled(environment) { try applyEnvironment() }
        for f in top.configs { try applyConfig(f, nesting: commands, option: "--config") }
        for f in converterLevel.configs { try applyConfig(f, nesting: [recipe.operation], option: "--config") }

        var i = 0
        while i < argv.count {
            let token = argv[i]
            if let (flags, next) = try parsePrintConfig(argv, at: i, usage: usage) {
                printFlags = flags
                printNesting = []
                i = next
                continue
            }
            guard token.hasPrefix("--"), let (name, inline) = splitOption(token) else {
                throw SourceProblem(message: "unrecognized argument '\(token)' (options are written --cfg.NAME VALUE)")
            }
            var bare = String(name.dropFirst(2))
            let append = bare.hasSuffix("+")
            if append { bare.removeLast() }
            let known = name == "--config" || table.param(bare) != nil || table.isInsideIgnored(bare) || table.isGroup(bare)
            guard known, !(append && table.param(bare) == nil) else {
                throw SourceProblem(message: "unknown option \(name)" + OptionSuggestions.note(for: name, among: table.optionNames))
            }
            let value: String
            if let inline {
                value = inline
                i += 1
            } else {
                guard i + 1 < argv.count, !argv[i + 1].hasPrefix("--"), argv[i + 1] != "-h" else {
                    throw SourceProblem(message: "argument \(name): expected one argument")
                }
                value = argv[i + 1]
                i += 2
                // A command without an operation stands for one of the reference's argparse
                // scripts: a list of strings may also be written as several words
                // (`--lora_target_modules q_proj v_proj`, argparse's nargs='+').
                if recipe.operation.isEmpty, let spec = table.param(bare), !spec.ignored,
                   case .list(.str) = ParamCoercion.base(spec.type), !value.hasPrefix("[") {
                    var words = [value]
                    while i < argv.count, !argv[i].hasPrefix("-") { words.append(argv[i]); i += 1 }
                    try setFromText(bare, YAMLWriter.flow(.list(words.map { .string($0) }), inFlow: false),
                                    source: ValueSource(kind: .option(name)), append: append)
                    continue
                }
            }
            if name == "--config" {
                try applyConfig(value, nesting: [], option: "--config")
            } else if table.isGroup(bare) {
                let (doc, source) = try ConfigFiles.load(value, option: name)
                try state.applyMapping(doc.value, at: bare, from: source, fileKey: "")
            } else {
                try setFromText(bare, value, source: ValueSource(kind: .option(name)), append: append)
            }
        }

        if let flags = printFlags {
            return .printConfig(PrintConfig.render(state, flags: flags, nesting: printNesting))
        }
        try checkRequired()
        try checkDirectories()
        return .run(recipe: recipe, values: state.values)
    }

    /// A command-line or environment text for one parameter.
    private mutating func setFromText(_ name: String, _ text: String, source: ValueSource, append: Bool = false) throws {
        let value: Value
        if let spec = table.param(name), !spec.ignored {
            do {
                value = try ParamCoercion.parseText(text, for: spec.type, label: name)
            } catch let e as YAMLError {
                var hint = ""
                if case .option = source.kind, e.message.hasPrefix("unclosed") {
                    hint = " (a value with spaces must be quoted so the shell passes it as one argument: \"[[1, 10]]\")"
                }
                throw source.problem(fileKey: nil, name: name, "invalid value '\(text)': \(e.message)\(hint)")
            }
        } else {
            value = (try? YAMLReader.readFlowValue(text, label: name)) ?? .string(text)
        }
        if append {
            try state.append(name, value, from: source)
        } else {
            try state.set(name, value, from: source)
        }
    }

    /// Applies a `--config` file whose operation root sits under `nesting` (`Converter: op:`).
    private mutating func applyConfig(_ pathOrInline: String, nesting: [String], option: String, fromEnvironment: Bool = false) throws {
        let (doc, source) = try ConfigFiles.load(pathOrInline, option: option, fromEnvironment: fromEnvironment)
        var node = doc.value
        var fileKey = ""
        for (depth, key) in nesting.enumerated() {
            guard case let .dict(pairs) = node else {
                if node == .null { return }
                throw source.problem(fileKey: fileKey.isEmpty ? nil : fileKey, name: nil,
                                     "expected a mapping with \(nesting[depth...].joined(separator: ": ")): ..., got \(ParamCoercion.shown(node))")
            }
            // `subcommand:` is how jsonargparse records the chosen command in a config file.
            let allowed = ["subcommand"] + (nesting.count - depth == commands.count ? surface.converters : surface.operations(of: recipe.converter).map(\.operation))
            for (k, _) in pairs where !allowed.contains(k) {
                let keyPath = fileKey.isEmpty ? k : fileKey + "." + k
                var hint = OptionSuggestions.note(for: k, among: allowed)
                if hint.isEmpty && (table.groupSet.contains(k) || table.param(k) != nil) {
                    hint = " (at this position --config expects \(nesting[depth...].joined(separator: ": ")): \(k): ...; a file starting with '\(k):' goes after the operation name)"
                }
                throw source.problem(fileKey: keyPath, name: nil, "unknown key '\(k)'" + hint)
            }
            guard let next = pairs.first(where: { $0.0 == key })?.1 else { return }
            node = next
            fileKey = fileKey.isEmpty ? key : fileKey + "." + key
        }
        try state.applyMapping(node, at: "", from: source, fileKey: fileKey)
    }

    /// `MM_CONVERT_CONFIG`, `..._<CONVERTER>__CONFIG`, `..._<CONVERTER>__<OP>__CONFIG`, then
    /// sub-tree files (`...__CFG`, `...__CFG__PARALLEL_CONFIG`), then single options.
    private mutating func applyEnvironment() throws {
        let program = surface.program
        let levels: [([String], [String])] = recipe.operation.isEmpty ? [([], commands), (commands, [])]
            : [([], commands), ([recipe.converter], [recipe.operation]), (commands, [])]
        for (cmds, nesting) in levels {
            let name = EnvironmentNames.variable(program: program, commands: cmds, option: "config")
            if let v = environment[name] { try applyConfig(v, nesting: nesting, option: name, fromEnvironment: true) }
        }
        let groups = table.groups.filter { table.isGroup($0) }.enumerated()
            .sorted { ($0.element.split(separator: ".").count, $0.offset) < ($1.element.split(separator: ".").count, $1.offset) }
            .map(\.element)
        for g in groups {
            let name = EnvironmentNames.variable(program: program, commands: commands, option: g)
            if let v = environment[name] {
                let (doc, source) = try ConfigFiles.load(v, option: name, fromEnvironment: true)
                try state.applyMapping(doc.value, at: g, from: source, fileKey: "")
            }
        }
        for p in recipe.params {
            let name = EnvironmentNames.variable(program: program, commands: commands, option: p.name)
            if let v = environment[name] {
                try setFromText(p.name, v, source: ValueSource(kind: .environment(name)))
            }
        }
    }

    private func checkRequired() throws {
        let set = state.explicitlySet
        let missing = recipe.params.filter { $0.isRequired && !$0.ignored && !set.contains($0.name) }
        guard let first = missing.first else { return }
        let command = "\(surface.program) \(recipe.commandLine)"
        if missing.count == 1 {
            let parts = first.name.split(separator: ".").map(String.init)
            let under = parts.dropLast().map { $0 + ":" }.joined(separator: " ")
            let key = (parts.last ?? first.name) + ": VALUE"
            var ways = "pass it as --\(first.name) \(OptionTable.metavar(first.name)) or put '\(key)'"
                + (under.isEmpty ? "" : " under '\(under)'") + " in a --config file"
            if EnvironmentNames.isEnabled(environment) {
                ways += ", or set \(EnvironmentNames.variable(program: surface.program, commands: commands, option: first.name))"
            }
            throw SourceProblem(message: "missing required option --\(first.name) (type: \(ParamCoercion.label(first.type, first.bounds))): \(ways)")
        }
        let names = missing.map { "--" + $0.name }.joined(separator: ", ")
        throw SourceProblem(message: "missing required options \(names): pass each as --OPTION VALUE or in a --config file ('\(command) --print_config' writes a template)")
    }

    private func checkDirectories() throws {
        for p in recipe.params where !p.ignored {
            guard let value = state.values[p.name] else { continue }
            try checkDirectories(value, type: p.type, name: p.name)
        }
    }

    private func checkDirectories(_ value: Value, type: ParamType, name: String) throws {
        switch (ParamCoercion.base(type), value) {
        case let (.list(element), .list(items)):
            for item in items { try checkDirectories(item, type: element, name: name) }
        case let (.dir, .string(path)):
            var isDir: ObjCBool = false
            let problem: String
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                problem = "directory '\(path)' does not exist"
            } else if !isDir.boolValue {
                problem = "'\(path)' is not a directory"
            } else {
                return
            }
            let origin = state.origins[name] ?? "default of --\(name)"
            let what = origin.hasPrefix("argument ") ? "" : name + ": "
            throw SourceProblem(message: "\(origin): \(what)\(problem)")
        default:
            return
        }
    }
}
