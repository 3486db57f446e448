import DSL
import Ops

/// The bundled recipes the binary carries, as command-line converters and operations.
public struct RecipeCatalog {
    /// Recipes that declare `recipe Converter.operation`, by their path under Recipes/.
    public let entries: [(path: String, recipe: Recipe, info: RecipeInfo)]
    public let loader: RecipeLoader

    /// Parses every bundled recipe file; shared files (layouts, parameter sets) are not commands.
    public static func bundled() throws -> RecipeCatalog {
        try bundled(paths: BundledRecipes.files.keys.sorted())
    }

    /// The catalog a command line needs: when it starts with `Converter operation` and exactly one
    /// bundled file declares `recipe Converter.operation`, that file alone (parsing all of them
    /// costs about 0.2 s, a tenth of converting a small model); otherwise every file.
    public static func bundled(for args: [String]) throws -> RecipeCatalog {
        guard args.count >= 2, !args[0].hasPrefix("-"), !args[1].hasPrefix("-") else { return try bundled() }
        let declaration = "recipe \(args[0]).\(args[1])"
        let matches = BundledRecipes.files.filter { _, text in
            text.split(separator: "\n", omittingEmptySubsequences: false).contains { line in
                line.hasPrefix(declaration) && (line.count == declaration.count || line.dropFirst(declaration.count).first == " ")
            }
        }
        guard matches.count == 1 else { return try bundled() }
        return try bundled(paths: Array(matches.keys))
    }

    static func bundled(paths: [String]) throws -> RecipeCatalog {
        let loader = RecipeLoader.memory(BundledRecipes.files)
        var entries: [(String, Recipe, RecipeInfo)] = []
        for path in paths {
            let recipe = try loader.load(path)
            guard recipe.statements.contains(where: { if case .recipe = $0.kind { return true } else { return false } }) else { continue }
            entries.append((path, recipe, try recipe.info(loader: loader)))
        }
        // Converters in a stable order: the bundled families as users know them, then operations.
        let order = ["hf_to_mm", "mm_to_hf", "resplit"]
        entries.sort { a, b in
            if a.2.converter != b.2.converter { return a.2.converter < b.2.converter }
            return (order.firstIndex(of: a.2.operation) ?? 99, a.2.operation) < (order.firstIndex(of: b.2.operation) ?? 99, b.2.operation)
        }
        return RecipeCatalog(entries: entries, loader: loader)
    }

    public var infos: [RecipeInfo] { entries.map(\.info) }

    public func recipe(for info: RecipeInfo) -> Recipe? {
        entries.first { $0.info.converter == info.converter && $0.info.operation == info.operation }?.recipe
    }
}
