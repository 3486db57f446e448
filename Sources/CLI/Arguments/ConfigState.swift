import DSL
import Ops

/// A problem found while applying one source; the caller adds the usage line.
struct SourceProblem: Error {
    var message: String
}

/// Where a value came from, so a message can point at the option, the variable or the file line.
struct ValueSource {
    enum Kind {
        case option(String)
        case environment(String)
        case file(String)
    }

    var kind: Kind
    /// Key lines of the YAML document (file sources and inline mappings).
    var keyLines: [String: Int] = [:]

    /// `argument --cfg.x: msg`, `environment variable MM_...: msg`, `f.yaml:4: cfg.x: msg`.
    func problem(fileKey: String?, name: String?, _ message: String) -> SourceProblem {
        switch kind {
        case let .option(o):
            let what = name.map { $0 == OptionSuggestions.strip(o) ? "" : "\($0): " } ?? ""
            return SourceProblem(message: "argument \(o): \(what)\(message)")
        case let .environment(v):
            let what = name.map { "\($0): " } ?? ""
            return SourceProblem(message: "environment variable \(v): \(what)\(message)")
        case let .file(path):
            let line = fileKey.flatMap { keyLines[$0] }.map { ":\($0)" } ?? ""
            let what = name.map { "\($0): " } ?? ""
            return SourceProblem(message: "\(path)\(line): \(what)\(message)")
        }
    }

    /// Short origin shown when a final check (directory exists) fails.
    func origin(fileKey: String?) -> String {
        switch kind {
        case let .option(o): return "argument " + o
        case let .environment(v): return "environment variable " + v
        case let .file(path): return path + (fileKey.flatMap { keyLines[$0] }.map { ":\($0)" } ?? "")
        }
    }
}

/// The effective configuration of one operation as sources are applied in precedence order:
/// defaults, then environment variables, then command-line options and `--config` files in the
/// order given. Each value is checked against its declaration when it is set.
struct ConfigState {
    let table: OptionTable
    private(set) var values: [String: Value] = [:]
    /// Where each explicitly set value came from (absent = default).
    private(set) var origins: [String: String] = [:]

    init(table: OptionTable) {
        self.table = table
        for p in table.recipe.params {
            // Defaults are declared by recipes; normalise them the way user values are (1 -> 1.0 for a float).
            if let d = p.defaultValue { values[p.name] = p.ignored ? d : (try? ParamCoercion.coerce(d, to: p.type, bounds: [])) ?? d }
        }
    }

    var explicitlySet: Set<String> { Set(origins.keys) }

    mutating func set(_ name: String, _ value: Value, from source: ValueSource, fileKey: String? = nil) throws {
        if table.isInsideIgnored(name) { return }
        guard let spec = table.param(name) else {
            throw source.problem(fileKey: fileKey, name: nil, "unknown option \(name)")
        }
        if case .file = source.kind, value == .null, !ParamCoercion.isOptional(spec.type) {
            // A template written by --print_config has `null` for what is still unset.
            values[name] = spec.defaultValue
            origins[name] = nil
            return
        }
        if spec.ignored {
            values[name] = value
        } else {
            do {
                values[name] = try ParamCoercion.coerce(value, to: spec.type, bounds: spec.bounds)
            } catch let m as ParamCoercion.Mismatch {
                throw source.problem(fileKey: fileKey, name: name, m.message)
            }
        }
        origins[name] = source.origin(fileKey: fileKey)
    }

    /// `--cfg.x+ VALUE`: appends one element (or, when the value is a list of elements, all of them).
    mutating func append(_ name: String, _ value: Value, from source: ValueSource) throws {
        guard let spec = table.param(name), case let .list(element) = ParamCoercion.base(spec.type) else {
            throw source.problem(fileKey: nil, name: name, "'+' appends to a list, and \(name) is not a list")
        }
        var current: [Value] = []
        if case let .list(items)? = values[name] { current = items }
        if (try? ParamCoercion.coerce(value, to: element, bounds: spec.bounds)) != nil {
            current.append(value)
        } else if case let .list(items) = value {
            current += items
        } else {
            current.append(value)
        }
        try set(name, .list(current), from: source)
    }

    /// Applies a YAML mapping at a prefix (`""` for the operation root, `cfg`, `cfg.parallel_config`).
    /// `fileKey` is the mapping's key path inside its document, for line numbers.
    mutating func applyMapping(_ value: Value, at prefix: String, from source: ValueSource, fileKey: String) throws {
        guard case let .dict(pairs) = value else {
            if value == .null { return }
            let what = prefix.isEmpty ? "the document" : prefix
            throw source.problem(fileKey: fileKey.isEmpty ? nil : fileKey, name: nil,
                                 "expected a mapping of options for \(what), got \(ParamCoercion.shown(value))")
        }
        for (key, v) in pairs {
            let name = prefix.isEmpty ? key : prefix + "." + key
            let keyPath = fileKey.isEmpty ? key : fileKey + "." + key
            if table.param(name) != nil || table.isInsideIgnored(name) {
                try set(name, v, from: source, fileKey: keyPath)
            } else if table.isGroup(name) {
                if v == .null { continue }
                guard case .dict = v else {
                    throw source.problem(fileKey: keyPath, name: name, "expected a mapping of options, got \(ParamCoercion.shown(v))")
                }
                try applyMapping(v, at: name, from: source, fileKey: keyPath)
            } else {
                let candidates = table.recipe.params.map(\.name) + table.groups
                throw source.problem(fileKey: keyPath, name: nil, "unknown key '\(name)'" + OptionSuggestions.note(for: name, among: candidates))
            }
        }
    }
}
