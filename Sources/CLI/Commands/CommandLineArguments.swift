import DSL

/// Positional arguments, flags and `--name value` options of the non-recipe commands (`inspect`,
/// `convert`, `sample`, `verify`, `run`, `repl`), parsed against what the command declares.
public struct CommandLineArguments {
    public private(set) var positionals: [String] = []
    public private(set) var flags: Set<String> = []
    public private(set) var options: [String: [String]] = [:]

    /// `flags` take no value, `options` take one (repeatable); anything else starting with `--` is
    /// an error naming the closest known name.
    public init(_ args: [String], flags known: Set<String>, options knownOptions: Set<String>, usage: String) throws {
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let a = args[i]
            i += 1
            if onlyPositionals || !a.hasPrefix("-") || a == "-" { positionals.append(a); continue }
            if a == "--" { onlyPositionals = true; continue }
            var name = a
            var inline: String?
            if let eq = a.firstIndex(of: "=") { name = String(a[..<eq]); inline = String(a[a.index(after: eq)...]) }
            if known.contains(name) {
                guard inline == nil else { throw UsageError("\(name) takes no value", usage: usage) }
                flags.insert(name)
            } else if knownOptions.contains(name) {
                let value: String
                if let inline { value = inline } else {
                    guard i < args.count else { throw UsageError("\(name) needs a value", usage: usage) }
                    value = args[i]
                    i += 1
                }
                options[name, default: []].append(value)
            } else {
                let all = Array(known) + Array(knownOptions)
                let hint = closest(name, in: all).map { " (did you mean \($0)?)" } ?? ""
                throw UsageError("unknown option \(name)\(hint)", usage: usage)
            }
        }
    }

    public func option(_ name: String) -> String? { options[name]?.last }
    public func has(_ flag: String) -> Bool { flags.contains(flag) }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
public func closest(_ word: String, in candidates: [String]) -> String? {
    Suggestions.closest(to: word, in: candidates)
}
