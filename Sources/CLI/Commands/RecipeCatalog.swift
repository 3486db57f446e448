import DSL
import Ops

/// The bundled recipes the binary carries, as command-line converters and operations.
public struct RecipeCatalog {
    /// Recipes that declare `recipe Converter.operation`, by their path under Recipes/.
    public let entries: [(path: String, recipe: Recipe, info: RecipeInfo)]
    public let loader: RecipeLoader

    /// Parses every bundled recipe file; shared files (layouts, parameter sets) are not commands.
    public static func bundled() throws -> RecipeCatalog {
        let loader = RecipeLoader.memory(BundledRecipes.files)
        var entries: [(String, Recipe, RecipeInfo)] = []
        for path in BundledRecipes.files.keys.sorted() {
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
