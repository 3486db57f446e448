import DSL
import Ops

/// What the command line asks for, decided before anything runs.
public enum ParsedCommand: Equatable {
    /// `-h` / `--help` at some level: the text to print to stdout (exit 0).
    case help(String)
    /// `--print_config[=flags]`: the YAML to print to stdout (exit 0); `--config` reads it back.
    case printConfig(String)
    /// A recipe operation with every declared parameter's effective value (defaults filled,
    /// validated against its type and bounds; `dir` values exist). Keys are the dotted
    /// parameter names (`cfg.parallel_config.tp_size`); ignored parameters are included.
    case run(recipe: RecipeInfo, values: [String: Value])
    /// A command that is not a recipe (`inspect`, `convert`, ...): the rest of argv, unparsed.
    case other(command: String, args: [String])
}

/// A command-line mistake, found before anything runs.
///
/// `description` is the message alone (`unknown option --cfg.tp_sise (did you mean ...?)`); the
/// caller prints `usage` and then `mm-convert: error: <description>` to stderr and exits 2, as
/// argparse does — `rendered` is exactly that text.
public struct ArgumentError: Error, Equatable, CustomStringConvertible {
    /// The usage line(s) of the level where the mistake was found (`usage: mm-convert ...`).
    public var usage: String
    public var message: String

    public init(usage: String, message: String) {
        self.usage = usage
        self.message = message
    }

    public var description: String { message }

    /// argparse's error output: usage, then `program: error: message`, newline-terminated.
    public func rendered(program: String = "mm-convert") -> String {
        usage + "\n" + program + ": error: " + message + "\n"
    }
}
