import DSL
import Ops

/// The options of one recipe operation, derived from its parameter declarations: which dotted
/// names are parameters, which are sub-trees (`cfg`, `cfg.parallel_config`) that accept a YAML
/// file, and which belong to ignored parameters.
struct OptionTable {
    let recipe: RecipeInfo
    /// Parameters by dotted name.
    let params: [String: ParamSpec]
    /// Sub-tree prefixes in order of first appearance (`cfg`, `cfg.hf_config`, ...).
    let groups: [String]
    let groupSet: Set<String>

    init(recipe: RecipeInfo) {
        self.recipe = recipe
        var params: [String: ParamSpec] = [:]
        var groups: [String] = []
        var seen = Set<String>()
        for p in recipe.params {
            params[p.name] = p
            let parts = p.name.split(separator: ".").map(String.init)
            for n in 1..<max(parts.count, 1) {
                let g = parts[0..<n].joined(separator: ".")
                if !seen.contains(g) { seen.insert(g); groups.append(g) }
            }
        }
        self.params = params
        self.groups = groups
        self.groupSet = seen
    }

    func param(_ name: String) -> ParamSpec? { params[name] }

    func isGroup(_ name: String) -> Bool { groupSet.contains(name) && params[name] == nil }

    /// A name inside an ignored parameter (`cfg.llm_hf_config.hf_dir` when `cfg.llm_hf_config`
    /// is ignored): accepted and dropped, whatever its value.
    func isInsideIgnored(_ name: String) -> Bool {
        var prefix = name
        while let dot = prefix.lastIndex(of: ".") {
            prefix = String(prefix[..<dot])
            if let p = params[prefix], p.ignored { return true }
        }
        return false
    }

    /// The parameters directly in a group (or at top level for ""), in declaration order.
    func params(in group: String) -> [ParamSpec] {
        recipe.params.filter { parent(of: $0.name) == group }
    }

    func parent(of name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[..<dot])
    }

    /// Every option spelling a user may mean, for "did you mean".
    var optionNames: [String] {
        recipe.params.map { "--" + $0.name } + groups.map { "--" + $0 } + ["--config", "--print_config", "--help"]
    }

    /// `MM_DIR` for `cfg.mm_dir`.
    static func metavar(_ name: String) -> String {
        String(name.split(separator: ".").last ?? Substring(name)).uppercased()
    }
}
