#if canImport(Glibc)
import Glibc
#endif
import DSL
import Foundation
import Ops

/// Entry point of the `mm-convert` binary: dispatches, runs, and renders every error once.
public enum CommandLineTool {
    public static func main(_ args: [String]) -> Never {
        installRoundTrip()
        exit(run(args, environment: ProcessInfo.processInfo.environment, output: .standard))
    }

    static let extraCommands: [(name: String, summary: String)] = [
        ("sample", "write a small (or real-shape) HF checkpoint with random weights: sample FAMILY DIR"),
        ("inspect", "list the tensors and entries of a checkpoint file or directory"),
        ("convert", "convert one file: .pt state dict <-> .safetensors"),
        ("verify", "compare two checkpoints tensor by tensor"),
        ("run", "run a recipe file: run FILE.recipe --set NAME=VALUE ..."),
        ("repl", "run recipe statements interactively"),
        ("recipes", "list the bundled converters, or print one recipe"),
    ]

    /// Lets `verify --roundtrip` use the bundled converters (tests install their own hooks).
    public static func installRoundTrip() {
        VerifyCommand.roundtrip = { try RoundTrip.run(converter: $0, hfDir: $1, scratch: $2, extra: $3) }
    }

    /// Runs one command line; returns the exit status (0 ok, 1 failure, 2 usage error).
    public static func run(_ args: [String], environment: [String: String], output: Output) -> Int32 {
        do {
            return try dispatch(args, environment: environment, output: output)
        } catch let e as UsageError {
            output.err("mm-convert: error: \(e.description)")
            return 2
        } catch let e as RecipeError {
            // Already rendered with its position and caret: `file:line:col: error: ...`.
            output.err(e.description)
            return 1
        } catch let e as ArgumentError {
            output.err(e.rendered().trimmingCharacters(in: .newlines))
            return 2
        } catch {
            output.err("mm-convert: error: \(error)")
            return 1
        }
    }

    static func dispatch(_ args: [String], environment: [String: String], output: Output) throws -> Int32 {
        let (options, rest) = try ConversionOptions.extract(args)
        let catalog = try RecipeCatalog.bundled(for: rest)
        let surface = ArgumentSurface(program: "mm-convert",
                                      summary: "Convert multimodal checkpoints between Hugging Face and MindSpeed-MM (Megatron) layouts.",
                                      recipes: catalog.infos, extraCommands: extraCommands)
        switch try surface.parse(rest, environment: environment) {
        case let .help(text):
            output.out(text)
            if rest.count >= 2 { output.out(ConversionOptions.help) }
        case let .printConfig(yaml):
            output.out(yaml.hasSuffix("\n") ? String(yaml.dropLast()) : yaml)
        case let .run(info, values):
            guard let recipe = catalog.recipe(for: info) else { throw UsageError("no recipe for \(info.converter) \(info.operation)") }
            try RecipeRunner.run(recipe, loader: catalog.loader, params: values, options: options, output: output)
        case let .other(command, commandArgs):
            // These commands read the run options themselves.
            let original = Array(args.drop { $0 != command }.dropFirst())
            return try runOther(command, original.isEmpty ? commandArgs : original, output: output)
        }
        return 0
    }

    static func runOther(_ command: String, _ args: [String], output: Output) throws -> Int32 {
        switch command {
        case "sample": try SampleCommand.run(args, output: output)
        case "run": try RunCommand.run(args, output: output)
        case "repl": return try ReplCommand.run(args, output: output)
        case "recipes": try RecipesCommand.run(args, output: output)
        case "inspect": try InspectCommand.run(args, output: output)
        case "convert": try ConvertCommand.run(args, output: output)
        case "verify": try VerifyCommand.run(args, output: output)
        default:
            throw UsageError("unknown command '\(command)'", usage: "usage: mm-convert -h")
        }
        return 0
    }
}
