import DSL
import Ops
import XCTest

/// The state a fake registry acts on: a log of every call, and a config to hand to `load`.
final class Recorder {
    var log: [String] = []
    var configToLoad: Value = .dict([
        ("hidden_size", .int(3584)),
        ("num_attention_heads", .int(28)),
        ("num_key_value_heads", .int(4)),
        ("tie_word_embeddings", .bool(false)),
        ("vision_config", .dict([("depth", .int(32)), ("embed_dim", .int(1280)), ("num_heads", .int(16))])),
    ])
}

/// Renders a call compactly for the log: `merge qkv "a" -> "b" groups=4`.
func render(_ call: CommandCall) -> String {
    func arg(_ a: CommandArgument) -> String {
        switch a.value {
        case let .value(v): return v.quotedDescription
        case let .arrow(x, y): return "\(x.quotedDescription) -> \(y.quotedDescription)"
        case let .word(w): return w
        case let .table(t): return "<\(t.kind) \(t.name): " + t.entries.map { e in ([e.word] + e.arguments.positional.map(arg) + e.arguments.keywords.map { "\($0.slot)=\(arg($0))" }).joined(separator: " ") }.joined(separator: "; ") + ">"
        }
    }
    return ([call.name] + call.arguments.positional.map(arg) + call.arguments.keywords.map { "\($0.slot)=\(arg($0))" }).joined(separator: " ")
}

/// A registry shaped like the real one, whose commands only record what they were asked to do.
func makeRegistry() -> CommandRegistry<Recorder> {
    let r = CommandRegistry<Recorder>()
    func logged(_ name: String, _ sig: CommandSignature, revertible: Bool = true, doc: String = "",
                extra: ((CommandCall, RecipeContext<Recorder>) throws -> Void)? = nil) {
        r.register(TensorCommand(name, signature: sig, doc: doc, run: { call, ctx in
            ctx.state.log.append(render(call))
            try extra?(call, ctx)
        }, revert: revertible ? { call, ctx in ctx.state.log.append("undo " + render(call)) } : nil))
    }
    let path = ArgumentSlot("path", .value(.string), required: false)
    logged("load hf", CommandSignature(positional: [path]), revertible: false, doc: "read a Hugging Face checkpoint") { _, ctx in
        ctx.config = ctx.state.configToLoad
    }
    logged("load mm", CommandSignature(positional: [path]), revertible: false) { _, ctx in ctx.config = ctx.state.configToLoad }
    logged("save mm", CommandSignature(positional: [path]), revertible: false)
    logged("save hf", CommandSignature(positional: [path], keywords: [ArgumentSlot("like", .value(.string), required: false)]), revertible: false)
    logged("rename", CommandSignature(variadic: ArgumentSlot("mapping", .arrow)), doc: "rename tensors by pattern")
    logged("merge glu", CommandSignature(positional: [ArgumentSlot("mapping", .arrow)]))
    logged("merge qkv", CommandSignature(positional: [ArgumentSlot("mapping", .arrow)], keywords: [ArgumentSlot("groups", .value(.int), doc: "key/value groups")]))
    logged("relocate qkv", CommandSignature(positional: [ArgumentSlot("pattern", .value(.string))], keywords: [ArgumentSlot("heads", .value(.int))]))
    logged("split qkv", CommandSignature(positional: [ArgumentSlot("pattern", .value(.string), required: false)], keywords: [ArgumentSlot("heads", .value(.int))]))
    logged("tie", CommandSignature(positional: [ArgumentSlot("mapping", .arrow)]))
    logged("drop", CommandSignature(variadic: ArgumentSlot("pattern", .value(.string))), revertible: false)
    logged("cast", CommandSignature(positional: [ArgumentSlot("dtype", .word(["bf16", "fp16", "fp32"]))]), revertible: false)
    logged("shard", CommandSignature(positional: [ArgumentSlot("table", .table("shard"), required: false)],
                                     keywords: [ArgumentSlot("tp", .value(.int)), ArgumentSlot("dim", .value(.int), required: false)]))
    logged("unshard", CommandSignature(positional: [ArgumentSlot("table", .table("shard"), required: false)]))
    logged("stage", CommandSignature(positional: [ArgumentSlot("table", .table("stages"))],
                                     keywords: [ArgumentSlot("vit", .value(.list(.list(.int))), required: false), ArgumentSlot("llm", .value(.list(.list(.int))), required: false)]))
    logged("unstage", CommandSignature(positional: [ArgumentSlot("table", .table("stages"))]))
    logged("ls", CommandSignature(positional: [ArgumentSlot("pattern", .value(.string), required: false)]), revertible: false) { call, ctx in
        ctx.output("listing \(call.arguments.string("pattern") ?? "*")")
    }
    logged("fail", CommandSignature(), revertible: false) { _, _ in
        throw OpsError.tensor(name: "text_decoder.decoder.layers.0.self_attention.linear_qkv.weight", message: "14 heads do not split over tp=4")
    }
    let patterns = CommandSignature(variadic: ArgumentSlot("pattern", .value(.string)))
    r.register(table: TableKind(name: "shard", doc: "tensor-parallel split strategies", entries: [
        ("row", patterns), ("col", patterns), ("glu", patterns),
        ("urow", CommandSignature(variadic: ArgumentSlot("pattern", .value(.string)), keywords: [ArgumentSlot("heads", .value(.int))])),
    ]))
    let stageEntry = CommandSignature(positional: [ArgumentSlot("layers", .value(.string))], keywords: [
        ArgumentSlot("first", .value(.list(.string)), required: false),
        ArgumentSlot("last", .value(.list(.string)), required: false),
        ArgumentSlot("all", .value(.list(.string)), required: false),
    ])
    r.register(table: TableKind(name: "stages", doc: "pipeline stage schemas", entries: [("vit", stageEntry), ("llm", stageEntry), ("audio", stageEntry)]))
    return r
}

/// An interpreter over the fake registry, collecting output.
final class Session {
    let interpreter: Interpreter<Recorder>
    var output: [String] = []

    init(files: [String: String] = [:]) {
        interpreter = Interpreter(registry: makeRegistry(), state: Recorder(), loader: .memory(files))
        interpreter.checkDirectories = false
        interpreter.context.output = { [unowned self] in self.output.append($0) }
    }

    var log: [String] { interpreter.context.state.log }

    func run(_ text: String, name: String = "main.recipe", params: [String: Value] = [:]) throws {
        try interpreter.run(try Recipe.parse(text, name: name), params: params)
    }
}

/// The error a throwing expression raises, as a RecipeError (fails the test otherwise).
func recipeError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> RecipeError? {
    do {
        try body()
        XCTFail("expected an error", file: file, line: line)
    } catch let e as RecipeError {
        return e
    } catch {
        XCTFail("expected a RecipeError, got \(error)", file: file, line: line)
    }
    return nil
}

/// Parses and renders each statement as an S-expression.
func parsed(_ text: String) throws -> [String] {
    try Parser.parse(text, name: "t.recipe").map(\.description)
}
