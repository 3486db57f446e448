import Ops

extension Recipe {
    /// The recipe's `param` declarations and those of every file it uses, as specs, in order;
    /// nothing runs (defaults are constants).
    public func parameters(loader: RecipeLoader = .fileSystem) throws -> [ParamSpec] {
        try ParamBinding.specs(try RecipeProgram(main: self, loader: loader).paramDeclarations)
    }

    /// What the command line needs to offer this recipe: converter, operation, doc (from the
    /// `recipe` statement of this file) and parameters (following `use`). Runs nothing.
    public func info(loader: RecipeLoader = .fileSystem) throws -> RecipeInfo {
        var header: (String, String, String)?
        for s in statements {
            guard case let .recipe(c, o, d) = s.kind else { continue }
            if header != nil { throw RecipeError("a recipe has one 'recipe' statement; this is a second one", at: s.location) }
            header = (c, o, d)
        }
        guard let (converter, operation, doc) = header else {
            throw RecipeError("\(file.name) has no 'recipe Converter.operation \"doc\"' statement, so it cannot be run as a command", at: nil)
        }
        return RecipeInfo(converter: converter, operation: operation, doc: doc, params: try parameters(loader: loader))
    }
}
