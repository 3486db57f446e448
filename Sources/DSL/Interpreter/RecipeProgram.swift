/// A recipe together with every file it `use`s (transitively), loaded before anything runs so a
/// missing file or a `use` cycle is reported up front.
public struct RecipeProgram {
    /// Deepest chain of `use` accepted.
    public static let maxUseDepth = 32

    public let main: Recipe
    /// Every loaded file by resolved path, the main file included.
    public private(set) var files: [String: Recipe] = [:]
    /// All statements in execution order, each used file's statements inlined at its first `use`.
    public private(set) var statements: [Stmt] = []

    public init(main: Recipe, loader: RecipeLoader) throws {
        self.main = main
        files[main.file.name] = main
        var stack = [main.file.name]
        try inline(main, loader: loader, stack: &stack)
    }

    mutating func inline(_ recipe: Recipe, loader: RecipeLoader, stack: inout [String]) throws {
        for stmt in recipe.statements {
            statements.append(stmt)
            guard case let .use(path) = stmt.kind else { continue }
            let resolved = loader.locate(path, relativeTo: recipe.file.name)
            if let i = stack.firstIndex(of: resolved) {
                let cycle = (stack[i...] + [resolved]).joined(separator: " -> ")
                throw RecipeError("'use' cycle: \(cycle)", at: stmt.location)
            }
            if files[resolved] != nil { continue }  // already used: each file runs once
            if stack.count >= Self.maxUseDepth {
                throw RecipeError("'use' nested more than \(Self.maxUseDepth) files deep", at: stmt.location)
            }
            let used = try Self.load(resolved, loader: loader, at: stmt)
            files[resolved] = used
            stack.append(resolved)
            try inline(used, loader: loader, stack: &stack)
            stack.removeLast()
        }
    }

    /// Loads a used file; read failures point at the `use` statement.
    static func load(_ resolved: String, loader: RecipeLoader, at stmt: Stmt) throws -> Recipe {
        do {
            return try loader.load(resolved)
        } catch var e as RecipeError where e.location == nil {
            e.location = stmt.location
            throw e
        }
    }

    /// The `param` declarations of the recipe and its used files, in order.
    public var paramDeclarations: [ParamDecl] {
        statements.compactMap { if case let .param(p) = $0.kind { return p } else { return nil } }
    }
}
