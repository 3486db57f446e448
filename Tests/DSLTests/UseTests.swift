import DSL
import Ops
import XCTest

final class UseTests: XCTestCase {
    let files = [
        "qwen2vl/layout.recipe": """
        use "../common/tables.recipe"
        param cfg.canonical: bool = false "keep HF structure"
        map qwen2vl { rename "visual.blocks.{L}.attn.proj" -> "image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj" }
        """,
        "common/tables.recipe": """
        shard common_tp { row "text_decoder.embedding.word_embeddings.weight" }
        """,
        "qwen2vl/hf_to_mm.recipe": """
        recipe Qwen2VLConverter.hf_to_mm "HF -> MM"
        use "layout.recipe"
        use "./layout.recipe"
        param cfg.mm_dir: path "out"
        load hf
        apply qwen2vl
        shard common_tp tp=2
        save mm cfg.mm_dir
        """,
        "cycle/a.recipe": "use \"b.recipe\"",
        "cycle/b.recipe": "map x { }\nuse \"a.recipe\"",
        "missing.recipe": "recipe A.b\n\nuse \"nothere.recipe\"",
    ]

    func testUseResolvesRelativeToTheFileAndRunsEachFileOnce() throws {
        let s = Session(files: files)
        let recipe = try Recipe.load("qwen2vl/hf_to_mm.recipe", loader: .memory(files))
        try s.interpreter.run(recipe, params: ["cfg.mm_dir": .string("/o")])
        XCTAssertEqual(s.log, [
            "load hf",
            "rename \"visual.blocks.{L}.attn.proj\" -> \"image_encoder.encoder.blocks.layers.{L}.self_attention.linear_proj\"",
            "shard <shard common_tp: row \"text_decoder.embedding.word_embeddings.weight\"> tp=2",
            "save mm \"/o\"",
        ])
    }

    func testInfoFollowsUse() throws {
        let info = try Recipe.load("qwen2vl/hf_to_mm.recipe", loader: .memory(files)).info(loader: .memory(files))
        XCTAssertEqual(info.params.map(\.name), ["cfg.canonical", "cfg.mm_dir"])
    }

    func testCycleIsDetected() {
        let e = recipeError { _ = try Recipe.load("cycle/a.recipe", loader: .memory(files)).parameters(loader: .memory(files)) }
        XCTAssertEqual(e?.message, "'use' cycle: cycle/a.recipe -> cycle/b.recipe -> cycle/a.recipe")
        XCTAssertEqual(e?.location?.description, "cycle/b.recipe:2:1")
    }

    func testMissingFilePointsAtUse() {
        let e = recipeError { try Session(files: files).interpreter.run(try Recipe.load("missing.recipe", loader: .memory(files))) }
        XCTAssertEqual(e?.message, "cannot read recipe 'nothere.recipe': no such recipe")
        XCTAssertEqual(e?.location?.line, 3)
    }

    func testResolve() {
        XCTAssertEqual(RecipeLoader.resolve("layout.recipe", relativeTo: "qwen2vl/hf_to_mm.recipe"), "qwen2vl/layout.recipe")
        XCTAssertEqual(RecipeLoader.resolve("../a/./b.recipe", relativeTo: "x/y/z.recipe"), "x/a/b.recipe")
        XCTAssertEqual(RecipeLoader.resolve("/abs/b.recipe", relativeTo: "x/z.recipe"), "/abs/b.recipe")
        XCTAssertEqual(RecipeLoader.resolve("b.recipe", relativeTo: "z.recipe"), "b.recipe")
    }

    func testFileSystemLoader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsl-use-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "map m { tie \"a\" -> \"b\" }".write(to: dir.appendingPathComponent("layout.recipe"), atomically: true, encoding: .utf8)
        try "recipe A.b\nuse \"layout.recipe\"\napply m".write(to: dir.appendingPathComponent("main.recipe"), atomically: true, encoding: .utf8)
        let interp = Interpreter(registry: makeRegistry(), state: Recorder())
        try interp.run(try Recipe.load(dir.appendingPathComponent("main.recipe").path))
        XCTAssertEqual(interp.context.state.log, ["tie \"a\" -> \"b\""])
    }
}
