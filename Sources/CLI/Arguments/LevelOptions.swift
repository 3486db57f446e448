/// `--config` and `--print_config` as given at the top or converter level.
struct LevelOptions {
    var configs: [String] = []
    var printConfig: PrintConfigFlags?

    /// Consumes one option at `i`; returns the index after it.
    mutating func consume(_ argv: [String], at i: Int, usage: String, candidates: [String]) throws -> Int {
        let token = argv[i]
        if let (name, inline) = splitOption(token), name == "--config" {
            if let inline { configs.append(inline); return i + 1 }
            guard i + 1 < argv.count, !argv[i + 1].hasPrefix("--") else {
                throw ArgumentError(usage: usage, message: "argument --config: expected one argument")
            }
            configs.append(argv[i + 1])
            return i + 2
        }
        if let (flags, next) = try parsePrintConfig(argv, at: i, usage: usage) {
            printConfig = flags
            return next
        }
        throw ArgumentError(usage: usage, message: "unknown option \(token)" + OptionSuggestions.note(for: token, among: candidates))
    }
}

/// `--name=value` -> (`--name`, `value`); `--name` -> (`--name`, nil).
func splitOption(_ token: String) -> (String, String?)? {
    guard token.hasPrefix("-") else { return nil }
    if let eq = token.firstIndex(of: "=") {
        return (String(token[..<eq]), String(token[token.index(after: eq)...]))
    }
    return (token, nil)
}

/// `--print_config`, `--print_config=flags`, or `--print_config flags` when the next word is made
/// only of flag names (so `--print_config Qwen2VLConverter` does not swallow the command).
func parsePrintConfig(_ argv: [String], at i: Int, usage: String) throws -> (PrintConfigFlags, Int)? {
    guard let (name, inline) = splitOption(argv[i]), name == "--print_config" else { return nil }
    if let inline {
        guard let flags = PrintConfigFlags.parse(inline) else {
            throw ArgumentError(usage: usage, message: "argument --print_config: invalid flags '\(inline)' (use one or more of \(PrintConfigFlags.names.joined(separator: ", ")), separated by commas)")
        }
        return (flags, i + 1)
    }
    if i + 1 < argv.count, let flags = PrintConfigFlags.parse(argv[i + 1]) { return (flags, i + 2) }
    return (PrintConfigFlags(), i + 1)
}
