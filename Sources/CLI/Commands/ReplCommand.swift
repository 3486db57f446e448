import DSL
import Ops

/// `mm-convert repl`: the recipe interpreter one statement at a time, with inspection statements
/// (`ls`, `show`, `plan`, `help`); reads a terminal or piped standard input.
enum ReplCommand {
    static let usage = "usage: mm-convert repl [--dry-run] [--force] [--workers N] [--quiet]\n" + ConversionOptions.help

    static func run(_ args: [String], output: Output) throws -> Int32 {
        var (options, rest) = try ConversionOptions.extract(args)
        let a = try CommandLineArguments(rest, flags: ["-h", "--help"], options: [], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return 0 }
        guard a.positionals.isEmpty else { throw UsageError("repl takes no arguments", usage: usage) }
        let catalog = try RecipeCatalog.bundled()
        var input = StandardInput()
        if !input.interactive { options.quiet = true }
        let workspace = options.workspace(output: output)
        // Bundled files (`use "qwen2vl/layout.recipe"`) are available, then the file system.
        let loader = RecipeLoader.memory(BundledRecipes.files, fallback: .fileSystem)
        let interpreter = Interpreter(registry: ConversionCommands.registry(), state: workspace, loader: catalog.loader, output: { output.out($0) })
        interpreter.loader = loader
        interpreter.checkDirectories = true
        if input.interactive { output.out("mm-convert repl: statements run as you type them; `help` lists them, `exit` ends.") }
        let repl = REPL(interpreter: interpreter, errorOutput: { output.err($0) })
        repl.run(&input)
        return repl.errorCount > 0 && !input.interactive ? 1 : 0
    }
}
