import DSL
import Ops
import XCTest

final class InterpreterTests: XCTestCase {
    func testDesignCardExampleRuns() throws {
        let s = Session()
        try s.run("load hf; split qkv heads=28; shard tp=2 dim=0; save mm")
        XCTAssertEqual(s.log, ["load hf", "split qkv heads=28", "shard tp=2 dim=0", "save mm"])
    }

    func testApplyRunsInOrderAndRevertRunsInversesBackwards() throws {
        let s = Session()
        try s.run("""
        map inner { tie "e" -> "o" }
        map m {
          rename "a" -> "b" "c" -> "d"
          let g = config.num_key_value_heads
          merge qkv "q" -> "qkv" groups=g
          if config.tie_word_embeddings { drop "never" } else { apply inner }
          relocate qkv "v" heads=config.vision_config.num_heads
        }
        load hf
        apply m
        revert m
        """)
        XCTAssertEqual(s.log, [
            "load hf",
            "rename \"a\" -> \"b\" \"c\" -> \"d\"",
            "merge qkv \"q\" -> \"qkv\" groups=4",
            "tie \"e\" -> \"o\"",
            "relocate qkv \"v\" heads=16",
            "undo relocate qkv \"v\" heads=16",
            "undo tie \"e\" -> \"o\"",
            "undo merge qkv \"q\" -> \"qkv\" groups=4",
            "undo rename \"a\" -> \"b\" \"c\" -> \"d\"",
        ])
    }

    func testRevertInsideMapComposes() throws {
        let s = Session()
        try s.run("""
        map a { rename "1" -> "2"; tie "3" -> "4" }
        map b { revert a; rename "5" -> "6" }
        apply b
        revert b
        """)
        XCTAssertEqual(s.log, [
            "undo tie \"3\" -> \"4\"", "undo rename \"1\" -> \"2\"", "rename \"5\" -> \"6\"",
            "undo rename \"5\" -> \"6\"", "rename \"1\" -> \"2\"", "tie \"3\" -> \"4\"",
        ])
    }

    func testRevertingAStatementWithoutInverseFailsBeforeRunningAnything() {
        let s = Session()
        let e = recipeError { try s.run("map m {\n  rename \"a\" -> \"b\"\n  drop \"x\"\n}\nrevert m") }
        XCTAssertEqual(e?.message, "'drop' has no inverse, so map block 'm' cannot be reverted")
        XCTAssertEqual(e?.location?.line, 3)
        XCTAssertEqual(s.log, [])
    }

    func testMapThatAppliesItselfIsAnError() {
        let e = recipeError { try Session().run("map a { apply b }\nmap b { apply a }\napply a") }
        XCTAssertEqual(e?.message, "map block 'a' applies itself: a -> b -> a")
    }

    func testTablesAreEvaluatedWhereUsed() throws {
        let s = Session()
        try s.run("""
        shard tp_table {
          row "emb" "out"
          urow "vit.qkv" heads=config.vision_config.num_heads
        }
        stages pp { vit "image_encoder.encoder.blocks.layers." first=["image_encoder.encoder.patch_embed."] last=["image_encoder.projector."] }
        load hf
        shard tp_table tp=2
        stage pp vit=[[32, 0]] llm=[[1, 27]]
        """)
        XCTAssertEqual(s.log, [
            "load hf",
            "shard <shard tp_table: row \"emb\" \"out\"; urow \"vit.qkv\" heads=16> tp=2",
            "stage <stages pp: vit \"image_encoder.encoder.blocks.layers.\" first=[\"image_encoder.encoder.patch_embed.\"] last=[\"image_encoder.projector.\"]> vit=[[32, 0]] llm=[[1, 27]]",
        ])
    }

    func testStaticErrorsStopBeforeAnythingRuns() {
        let s = Session()
        let e = recipeError { try s.run("load hf\nsave mm\nrename \"a\" -> \"b\" foo=1") }
        XCTAssertEqual(e?.message, "'rename' has no argument 'foo'")
        XCTAssertEqual(e?.location?.line, 3)
        XCTAssertEqual(s.log, [], "nothing ran")
    }

    func testRuntimeErrorsInsideMapsCarryANote() {
        let e = recipeError { try Session().run("map m {\n fail\n}\napply m") }
        XCTAssertEqual(e?.location?.line, 2)
        XCTAssertEqual(e?.notes, ["while applying map block 'm'"])
    }

    func testLetCannotBindConfig() {
        XCTAssertEqual(recipeError { try Session().run("let config = 1") }?.message, "'config' is set by 'load' and cannot be bound with 'let'")
        XCTAssertEqual(recipeError { try Session().run("let weight_map = 1") }?.message, "'weight_map' is set by 'load' and cannot be bound with 'let'")
    }

    func testPrint() throws {
        let s = Session()
        try s.run("load hf\nlet l = [[1, 10], [10, 7]]\nprint \"layers\" sum(l) config.vision_config l")
        XCTAssertEqual(s.output, ["layers 28 {depth: 32, embed_dim: 1280, num_heads: 16} [[1, 10], [10, 7]]"])
    }

    /// Random recipes built from real fragments must run or fail with a RecipeError, never trap.
    func testRandomRecipesNeverTrap() {
        let fragments = [
            "load hf", "save mm", "rename \"a\" -> \"b\"", "merge qkv \"q\" -> \"k\" groups=config.num_key_value_heads",
            "map m {", "}", "apply m", "revert m", "if config.tie_word_embeddings {", "} else {", "let x = 1 // 0",
            "let y = [1, [2, 3]]", "print flatten(y) len(y) y[1][0] y[-5]", "shard t { row \"a\" }", "shard t tp=2",
            "stages p { vit \"x\" }", "stage p vit=y", "assert x == 1 \"no\"", "use \"self.recipe\"", "drop \"z\"",
            "param c.tp: int > 0 = 1", "tie \"e\" -> \"f\"", "help", "help merge", "cast bf16", "let x = range(-3, 3)",
            "let z = min(range(0)) + max(1, 2.5) * -3 % 2", "print get(config, \"v\", null)", "fail", "(", "]", "->", ";",
        ]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            let n = Int.random(in: 1...12, using: &rng)
            let text = (0..<n).map { _ in fragments.randomElement(using: &rng)! }.joined(separator: Bool.random(using: &rng) ? "\n" : "; ")
            let s = Session(files: ["self.recipe": text])
            do {
                try s.run(text, name: "self.recipe")
            } catch is RecipeError {
            } catch {
                XCTFail("\(text): \(error)")
            }
        }
    }

    func testDeepValuesAreRefused() {
        let text = "let a = 1\n" + String(repeating: "let a = [[[[a]]]]\n", count: 200)
        XCTAssertEqual(recipeError { try Session().run(text) }?.message, "value nested more than 512 levels deep")
    }

    func testHelpListsStatements() throws {
        let s = Session()
        try s.run("help\nhelp merge\nhelp shard\nhelp len\nhelp merge qkv")
        XCTAssertTrue(s.output[0].hasPrefix("Statements (end at a newline or ';'; '#' starts a comment):\n  recipe Converter.operation \"doc\""))
        XCTAssertTrue(s.output[0].contains("  rename MAPPING_FROM -> MAPPING_TO...    "), s.output[0])
        XCTAssertTrue(s.output[0].contains("Built-in functions: abs, all, any, endswith, flatten, float, get, has, int, keys, len, max, min, pick, pp_size, range, set, split, str, sum, vpp_size"))
        XCTAssertEqual(s.output[1], "merge glu MAPPING_FROM -> MAPPING_TO\nmerge qkv MAPPING_FROM -> MAPPING_TO groups=GROUPS\n  groups: key/value groups")
        XCTAssertEqual(s.output[2], "shard [TABLE] tp=TP [dim=DIM]\nshard NAME { ... }\n  tensor-parallel split strategies\n  row PATTERN...\n  col PATTERN...\n  glu PATTERN...\n  urow PATTERN... heads=HEADS")
        XCTAssertEqual(s.output[3], "len(x): items of a list, characters of a string, keys of a mapping")
        XCTAssertEqual(s.output[4], "merge qkv MAPPING_FROM -> MAPPING_TO groups=GROUPS\n  groups: key/value groups")
    }
}
