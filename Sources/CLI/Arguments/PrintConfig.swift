import DSL
import Ops

/// `--print_config[=comments,skip_null,skip_default,skip_unset]`.
struct PrintConfigFlags: Equatable {
    var comments = false
    var skipNull = false
    var skipDefault = false
    var skipUnset = false

    static let names = ["comments", "skip_null", "skip_default", "skip_unset"]

    /// Parses `comments,skip_null`; nil when a word is not a flag.
    static func parse(_ text: String) -> PrintConfigFlags? {
        var flags = PrintConfigFlags()
        for word in text.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingSpaces() }) {
            switch word {
            case "comments": flags.comments = true
            case "skip_null": flags.skipNull = true
            case "skip_default": flags.skipDefault = true
            case "skip_unset": flags.skipUnset = true
            default: return nil
            }
        }
        return flags
    }
}

/// Renders the effective configuration as the YAML that `--config` at the same position accepts.
enum PrintConfig {
    /// - Parameter nesting: the command path above the operation root that the file must spell
    ///   out (`[]` at operation level, `[op]` at converter level, `[converter, op]` at top level).
    static func render(_ state: ConfigState, flags: PrintConfigFlags, nesting: [String]) -> String {
        let recipe = state.table.recipe
        let set = state.explicitlySet
        var root = TreeBuilder()
        var comments: [String: String] = [:]
        let prefix = nesting.isEmpty ? "" : nesting.joined(separator: ".") + "."
        for p in recipe.params {
            let value = state.values[p.name] ?? .null
            if flags.skipNull && value == .null { continue }
            if flags.skipDefault, let d = p.defaultValue, d == value { continue }
            if flags.skipUnset && !set.contains(p.name) { continue }
            root.insert(nesting + p.name.split(separator: ".").map(String.init), value)
            if flags.comments {
                var doc = p.doc
                if p.ignored { doc += doc.isEmpty ? "accepted and ignored" : " (accepted and ignored)" }
                if p.isRequired { doc += doc.isEmpty ? "required" : " (required)" }
                comments[prefix + p.name] = doc
            }
        }
        var header: String?
        if flags.comments {
            let summary = recipe.doc.split(separator: "\n").first.map(String.init) ?? ""
            header = recipe.commandLine + (summary.isEmpty ? "" : ": " + summary)
        }
        return YAMLWriter.write(root.value, comments: comments, header: header)
    }
}

/// Builds a nested ordered mapping from dotted paths.
struct TreeBuilder {
    var value: Value = .dict([])

    mutating func insert(_ path: [String], _ leaf: Value) {
        value = Self.inserting(value, path[...], leaf)
    }

    static func inserting(_ node: Value, _ path: ArraySlice<String>, _ leaf: Value) -> Value {
        guard let key = path.first else { return leaf }
        var pairs: [(String, Value)] = []
        if case let .dict(p) = node { pairs = p }
        if let i = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[i].1 = inserting(pairs[i].1, path.dropFirst(), leaf)
        } else {
            pairs.append((key, inserting(.dict([]), path.dropFirst(), leaf)))
        }
        return .dict(pairs)
    }
}
