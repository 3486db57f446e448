// libFuzzer entry point: the recipe language's lexer and parser on untrusted text.
// Any input must parse or throw a diagnostic; a trap or stack overflow is a bug.
import DSL

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? Recipe.parse(text, name: "fuzz.recipe")
    return 0
}
