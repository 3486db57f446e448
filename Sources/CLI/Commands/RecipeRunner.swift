import DSL
import Ops

/// Runs a recipe over a fresh workspace with the conversion statements, then prints the plan of a
/// dry run. Shared by the converter commands (`Qwen2VLConverter hf_to_mm ...`) and `run`.
enum RecipeRunner {
    static func run(_ recipe: Recipe, loader: RecipeLoader, params: [String: Value], settings: [String: Value] = [:],
                    options: ConversionOptions, output: Output) throws {
        let workspace = options.workspace(output: output)
        workspace.settings = settings
        let interpreter = Interpreter(registry: ConversionCommands.registry(), state: workspace, loader: loader,
                                      output: { output.out($0) })
        try interpreter.run(recipe, params: params)
        if options.dryRun {
            output.out("dry run: nothing was written")
            for line in workspace.planDescription() { output.out(line) }
        }
    }
}
