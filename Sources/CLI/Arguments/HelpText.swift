import DSL
import Ops

/// The `-h` screens and usage lines, generated from the recipe declarations.
extension ArgumentSurface {
    static let levelOptions = "[-h] [--config CONFIG] [--print_config[=flags]]"

    var topLevelUsage: String {
        HelpLayout.usage(program: program, parts: ["[-h]", "[--config CONFIG]", "[--print_config[=flags]]", "COMMAND", "..."])
    }

    func converterUsage(_ converter: String) -> String {
        HelpLayout.usage(program: program + " " + converter, parts: ["[-h]", "[--config CONFIG]", "[--print_config[=flags]]", "OPERATION", "..."])
    }

    /// `usage: mm-convert C op [-h] [--config CONFIG] [--print_config[=flags]] --cfg.x X ... [--cfg.OPTION VALUE ...]`
    public func operationUsage(_ recipe: RecipeInfo) -> String {
        var parts = ["[-h]", "[--config CONFIG]", "[--print_config[=flags]]"]
        for p in recipe.params where p.isRequired && !p.ignored {
            parts.append("--\(p.name) \(OptionTable.metavar(p.name))")
        }
        if recipe.params.contains(where: { !$0.isRequired || $0.ignored }) {
            parts.append("[--OPTION VALUE ...]")
        }
        return HelpLayout.usage(program: "\(program) \(recipe.commandLine)", parts: parts)
    }

    static let helpHelp = "Show this help message and exit."
    static let printConfigHelp = "Print the configuration after applying all other arguments and exit. The optional flags customize the output and are one or more keywords separated by comma: comments (doc comments above each key), skip_null, skip_default, skip_unset."

    private func optionLines(_ invocation: String, env: String?) -> [String] {
        guard let env else { return [invocation] }
        return ["ARG:   " + invocation, "ENV:   " + env]
    }

    private func commonOptions(configHelp: String, configEnv: String?) -> [String] {
        [
            HelpLayout.entry(["-h, --help"], help: Self.helpHelp),
            HelpLayout.entry(optionLines("--config CONFIG", env: configEnv), help: configHelp),
            HelpLayout.entry(["--print_config[=flags]"], help: Self.printConfigHelp),
        ]
    }

    /// `mm-convert -h`: converters with their operations, then the other commands.
    public func topLevelHelp(environment: [String: String] = [:]) -> String {
        let env = EnvironmentNames.isEnabled(environment)
        var out = topLevelUsage + "\n"
        if !summary.isEmpty { out += "\n" + HelpLayout.paragraphs(summary) + "\n" }
        out += "\noptions:\n"
        out += commonOptions(
            configHelp: "Path to a YAML config file with the options of one operation nested as CONVERTER: OPERATION: cfg: ...",
            configEnv: env ? EnvironmentNames.variable(program: program, commands: [], option: "config") : nil
        ).joined(separator: "\n") + "\n"
        out += "\nconverters (\(program) CONVERTER OPERATION [options]; add -h after either for details):\n"
        for c in converters {
            let ops = operations(of: c)
            // A command without operations (moe_expert) shows its summary instead.
            let help = ops.count == 1 && ops[0].operation.isEmpty ? Self.firstParagraph(ops[0].doc) : ops.map(\.operation).joined(separator: ", ")
            out += HelpLayout.entry([c], help: help) + "\n"
        }
        if !extraCommands.isEmpty {
            out += "\nother commands:\n"
            for (name, summary) in extraCommands {
                out += HelpLayout.entry([name], help: summary) + "\n"
            }
        }
        let envPrefix = EnvironmentNames.prefix(program: program) + "_<CONVERTER>__<OPERATION>__CFG__..."
        out += "\n" + HelpLayout.paragraphs("Options of an operation can also come from a YAML file (--config, as --print_config writes it) and, with \(EnvironmentNames.switchVariable)=true, from environment variables named \(envPrefix) (listed by the operation's -h).") + "\n"
        return out
    }

    /// `mm-convert Qwen2VLConverter -h`: the converter's operations with the first line of their docs.
    public func converterHelp(_ converter: String, environment: [String: String] = [:]) -> String {
        let env = EnvironmentNames.isEnabled(environment)
        var out = converterUsage(converter) + "\n"
        out += "\noptions:\n"
        out += commonOptions(
            configHelp: "Path to a YAML config file with the options of one operation nested as OPERATION: cfg: ...",
            configEnv: env ? EnvironmentNames.variable(program: program, commands: [converter], option: "config") : nil
        ).joined(separator: "\n") + "\n"
        out += "\noperations (\(program) \(converter) OPERATION -h for its options):\n"
        for r in operations(of: converter) {
            out += HelpLayout.entry([r.operation], help: Self.firstParagraph(r.doc)) + "\n"
        }
        return out
    }

    /// `mm-convert Qwen2VLConverter hf_to_mm -h`: every option with its doc, type, bounds and
    /// default (or "required"), grouped by sub-tree; environment variable names when enabled.
    public func operationHelp(_ recipe: RecipeInfo, environment: [String: String] = [:]) -> String {
        let env = EnvironmentNames.isEnabled(environment)
        let commands = recipe.commands
        func envName(_ option: String) -> String? {
            env ? EnvironmentNames.variable(program: program, commands: commands, option: option) : nil
        }
        let table = OptionTable(recipe: recipe)
        var out = operationUsage(recipe) + "\n"
        if !recipe.doc.isEmpty { out += "\n" + HelpLayout.paragraphs(recipe.doc) + "\n" }
        out += "\noptions:\n"
        var entries = commonOptions(
            configHelp: table.groups.isEmpty
                ? "Path to a YAML config file with the options below (name: value), as --print_config writes it."
                : "Path to a YAML config file with the options below nested by their dotted names (cfg: ...), as --print_config writes it.",
            configEnv: envName("config"))
        entries += table.params(in: "").map { paramEntry($0, env: envName($0.name)) }
        out += entries.joined(separator: "\n") + "\n"
        for group in table.groups where table.isGroup(group) {
            out += "\n\(group):\n"
            var lines = [HelpLayout.entry(optionLines("--\(group) CONFIG", env: envName(group)),
                                          help: "Path to a YAML file (or an inline {key: value} mapping) with options under \(group).")]
            lines += table.params(in: group).map { paramEntry($0, env: envName($0.name)) }
            out += lines.joined(separator: "\n") + "\n"
        }
        return out
    }

    private func paramEntry(_ p: ParamSpec, env: String?) -> String {
        var facts: [String] = []
        if p.ignored { facts.append("accepted and ignored") }
        if p.isRequired && !p.ignored { facts.append("required") }
        facts.append("type: " + ParamCoercion.label(p.type, p.bounds))
        if let d = p.defaultValue { facts.append("default: " + YAMLWriter.flow(d, inFlow: false)) }
        let help = (p.doc.isEmpty ? "" : p.doc.split(separator: "\n").map(String.init).joined(separator: " ") + " ") + "(" + facts.joined(separator: ", ") + ")"
        return HelpLayout.entry(optionLines("--\(p.name) \(OptionTable.metavar(p.name))", env: env), help: help)
    }

    static func firstParagraph(_ doc: String) -> String {
        var lines: [String] = []
        for raw in doc.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).trimmingSpaces()
            if line.isEmpty { if lines.isEmpty { continue } else { break } }
            lines.append(line)
        }
        return lines.joined(separator: " ")
    }
}
