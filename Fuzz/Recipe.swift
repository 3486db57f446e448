// libFuzzer entry point: the recipe language's lexer and parser on untrusted text, then the
// parameter extraction the command line runs on a recipe (following `use`, here of the same text
// under two names, so a file using itself is covered). Any input must parse or throw a
// diagnostic; a trap or stack overflow is a bug.
import DSL

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let recipe = try? Recipe.parse(text, name: "fuzz.recipe") else { return 0 }
    let loader = RecipeLoader.memory(["fuzz.recipe": text, "lib.recipe": text, "common.recipe": text])
    _ = try? recipe.info(loader: loader)
    return 0
}
