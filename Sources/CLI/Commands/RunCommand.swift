import CoreFoundation
import DSL
import Ops

/// `mm-convert run FILE.recipe [--set name=value ...] [--dry-run]`: runs a recipe file (or `-` for
/// standard input), e.g. one written for a model nobody has bundled yet.
enum RunCommand {
    /// Recipe files from disk; a `use` of a path no file has finds the bundled recipe of that path
    /// (`use "common/hf_to_mm.recipe"`), so a user's converter can bind its family to the shared
    /// directions.
    static let loader = RecipeLoader.fileSystem(then: .memory(BundledRecipes.files))

    static let usage = """
        usage: mm-convert run FILE.recipe|- [--set NAME=VALUE ...] [--dry-run] [--force] [--workers N] [--quiet]
          --set NAME=VALUE   a parameter of the recipe (VALUE as on the command line: 1, true, [[1,2]], a path);
                             names no parameter declares are settings: `input` and `output` are the default
                             directories of load and save statements written without one
        """ + "\n" + ConversionOptions.help

    static func run(_ args: [String], output: Output) throws {
        let (options, rest) = try ConversionOptions.extract(args)
        let a = try CommandLineArguments(rest, flags: ["-h", "--help"], options: ["--set"], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return }
        guard a.positionals.count == 1 else { throw UsageError("run needs one recipe file (or - for standard input)", usage: usage) }
        let path = a.positionals[0]
        let recipe: Recipe
        if path == "-" {
            var text = ""
            while let line = readLine(strippingNewline: false) { text += line }
            recipe = try Recipe.parse(text, name: "<stdin>")
        } else {
            recipe = try Recipe.load(path, loader: RunCommand.loader)
        }
        let declared = Set(try recipe.parameters(loader: RunCommand.loader).map(\.name))
        var params: [String: Value] = [:]
        var settings: [String: Value] = [:]
        for s in a.options["--set"] ?? [] {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw UsageError("--set takes NAME=VALUE, got '\(s)'", usage: usage) }
            let name = String(s[..<eq]), text = String(s[s.index(after: eq)...])
            let value = (try? YAMLReader.readFlowValue(text, label: "--set \(name)")) ?? .string(text)
            if declared.contains(name) {
                params[name] = value
            } else if !["input", "output"].contains(name), let near = closest(name, in: Array(declared)) {
                throw UsageError("--set \(name): the recipe declares no parameter '\(name)'; did you mean '\(near)'?", usage: usage)
            } else {
                settings[name] = value
            }
        }
        try RecipeRunner.run(recipe, loader: RunCommand.loader, params: params, settings: settings, options: options, output: output)
    }
}
