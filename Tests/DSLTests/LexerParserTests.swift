import DSL
import Ops
import XCTest

final class LexerParserTests: XCTestCase {
    func testDesignCardExampleIsFourStatements() throws {
        XCTAssertEqual(try parsed("load hf; split qkv heads=28; shard tp=2 dim=0; save mm"), [
            "(load hf)", "(split qkv heads=28)", "(shard tp=2 dim=0)", "(save mm)",
        ])
    }

    func testTokens() throws {
        let tokens = try Lexer.tokenize(SourceFile(name: "t", text: "a.b_1 = 12 1.5 2e3 \"x\\n\\\"\" r\"\\d+\" -> // == != <= >= ; # c\n"))
        let kinds = tokens.map(\.kind)
        XCTAssertEqual(kinds, [
            .identifier("a"), .punct(.dot), .identifier("b_1"), .punct(.assign), .int(12), .float(1.5), .float(2000),
            .string("x\n\""), .string("\\d+"), .punct(.arrow), .punct(.slashSlash), .punct(.eq), .punct(.ne), .punct(.le), .punct(.ge),
            .semicolon, .newline, .eof,
        ])
        XCTAssertEqual(tokens[4].location.column, 9)
        XCTAssertTrue(tokens[4].spaceBefore)
        XCTAssertFalse(tokens[1].spaceBefore)
    }

    func testNewlinesInsideBracketsAndAroundArrowsContinue() throws {
        XCTAssertEqual(try parsed("let x = [1,\n  2,\n  3]\nlet y = (1 +\n 2)"), ["(let x [1, 2, 3])", "(let y (+ 1 2))"])
        XCTAssertEqual(try parsed("rename \"a\"\n    -> \"b\"\nrename \"c\" ->\n  \"d\""), ["(rename \"a\" -> \"b\")", "(rename \"c\" -> \"d\")"])
        XCTAssertEqual(try parsed("drop \"a\" \\\n  \"b\""), ["(drop \"a\" \"b\")"])
    }

    func testWindowsLineEndingsAndByteOrderMark() throws {
        XCTAssertEqual(try parsed("\u{FEFF}load hf\r\nrename \"a\"\r\n  -> \"b\"\r\nsave mm\r\n"), ["(load hf)", "(rename \"a\" -> \"b\")", "(save mm)"])
        let e = recipeError { _ = try Parser.parse("load hf\r\nlet = 1\r\n", name: "t") }
        XCTAssertEqual(e?.description, "t:2:5: error: expected a name after 'let', found '='\nlet = 1\n    ^")
    }

    func testCommentsAndBlankLines() throws {
        XCTAssertEqual(try parsed("# header\n\n  load hf # trailing\n;;\n\nsave mm\n# end"), ["(load hf)", "(save mm)"])
    }

    func testRecipeAndParams() throws {
        XCTAssertEqual(try parsed("""
        recipe Qwen2VLConverter.hf_to_mm "Hugging Face -> MindSpeed-MM"
        param cfg.mm_dir: path "where to write"
        param cfg.parallel_config.llm_pp_layers: [[int >= 0]] "LLM layers per stage"
        param cfg.parallel_config.tp_size: int > 0 = 1 "tensor-parallel size"
        param cfg.x: float? "optional"
        param cfg.y: str = null
        param cfg.z: int >= -1 <= 8 = 0 ignored "kept for compatibility"
        """), [
            "(recipe Qwen2VLConverter.hf_to_mm \"Hugging Face -> MindSpeed-MM\")",
            "(param cfg.mm_dir: path \"where to write\")",
            "(param cfg.parallel_config.llm_pp_layers: [[int]] >= 0 \"LLM layers per stage\")",
            "(param cfg.parallel_config.tp_size: int > 0 = 1 \"tensor-parallel size\")",
            "(param cfg.x: float? = null \"optional\")",
            "(param cfg.y: str? = null)",
            "(param cfg.z: int >= -1 <= 8 = 0 \"kept for compatibility\" ignored)",
        ])
    }

    func testParamDeclarationFields() throws {
        let stmts = try Parser.parse("param a.b: [int] > 0 = [1, 2] \"doc\" ignored", name: "t")
        guard case let .param(p) = stmts[0].kind else { return XCTFail() }
        XCTAssertEqual(p.name, "a.b")
        XCTAssertEqual(p.type, .list(.int))
        XCTAssertEqual(p.bounds, [ParamBound(.gt, 0)])
        XCTAssertEqual(p.defaultValue?.description, "[1, 2]")
        XCTAssertEqual(p.doc, "doc")
        XCTAssertTrue(p.ignored)
    }

    func testExpressionsPrecedence() throws {
        XCTAssertEqual(try parsed("let a = 1 + 2 * 3 - 4 // 2 % 3"), ["(let a (- (+ 1 (* 2 3)) (% (// 4 2) 3)))"])
        XCTAssertEqual(try parsed("let a = not x and y or z == 1"), ["(let a (or (and (not x) y) (== z 1)))"])
        XCTAssertEqual(try parsed("let a = -x.y[0] * (1 + 2)"), ["(let a (* (- x.y[0]) (+ 1 2)))"])
        XCTAssertEqual(try parsed("let a = len(flatten([[1], [2, 3]])) + sum([])"), ["(let a (+ len(flatten([[1], [2, 3]])) sum([])))"])
        XCTAssertEqual(try parsed("let a = config.vision_config.depth >= 2"), ["(let a (>= config.vision_config.depth 2))"])
        XCTAssertEqual(try parsed("let a = [1, [2, 3],]"), ["(let a [1, [2, 3]])"])
        XCTAssertEqual(try parsed("let a = true and false or null == null"), ["(let a (or (and true false) (== null null)))"])
    }

    func testArgumentsSpacingRules() throws {
        // A bracket after a space starts a new argument; touching it indexes or calls.
        XCTAssertEqual(try parsed("drop \"a\" [\"b\"] x[0] len(y)"), ["(drop \"a\" [\"b\"] x[0] len(y))"])
        XCTAssertEqual(try parsed("load hf cfg.hf_config.hf_dir"), ["(load hf cfg.hf_config.hf_dir)"])
        XCTAssertEqual(try parsed("stage pp vit=[[32, 0]] llm=cfg.layers"), ["(stage pp vit=[[32, 0]] llm=cfg.layers)"])
    }

    func testArrowsAndKeywordArguments() throws {
        XCTAssertEqual(try parsed("""
        merge qkv "model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}"
               -> "text_decoder.decoder.layers.{L}.self_attention.linear_qkv.{weight,bias}" groups=config.num_key_value_heads
        """), ["(merge qkv \"model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}\" -> \"text_decoder.decoder.layers.{L}.self_attention.linear_qkv.{weight,bias}\" groups=config.num_key_value_heads)"])
        XCTAssertEqual(try parsed("rename \"a\" -> \"b\" \"c\" -> \"d\""), ["(rename \"a\" -> \"b\" \"c\" -> \"d\")"])
    }

    func testBlocks() throws {
        XCTAssertEqual(try parsed("""
        map qwen { rename "a" -> "b"
          if x { tie "c" -> "d" } else if y { let z = 1 } else { assert false "no" }
        }
        apply qwen; revert qwen
        """), [
            "(map qwen {(rename \"a\" -> \"b\"); (if x {(tie \"c\" -> \"d\")} else {(if y {(let z 1)} else {(assert false \"no\")})})})",
            "(apply qwen)", "(revert qwen)",
        ])
    }

    func testTables() throws {
        XCTAssertEqual(try parsed("""
        shard qwen2vl_tp {
          row "text_decoder.embedding.word_embeddings.weight" "text_decoder.output_layer.weight"
          glu "text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight"; col "x"
          urow "image_encoder.qkv" heads=config.vision_config.num_heads
        }
        stages qwen2vl_pp { vit "image_encoder.encoder.blocks.layers." first=["image_encoder.encoder.patch_embed."] last=["image_encoder.projector."] }
        """), [
            "(shard qwen2vl_tp {row \"text_decoder.embedding.word_embeddings.weight\" \"text_decoder.output_layer.weight\"; glu \"text_decoder.decoder.layers.{L}.mlp.linear_fc1.weight\"; col \"x\"; urow \"image_encoder.qkv\" heads=config.vision_config.num_heads})",
            "(stages qwen2vl_pp {vit \"image_encoder.encoder.blocks.layers.\" first=[\"image_encoder.encoder.patch_embed.\"] last=[\"image_encoder.projector.\"]})",
        ])
    }

    func testUseHelpAndMisc() throws {
        XCTAssertEqual(try parsed("use \"layout.recipe\"\nhelp\nhelp merge\nplan\nls \"text_decoder.*\""), [
            "(use \"layout.recipe\")", "(help)", "(help merge)", "(plan)", "(ls \"text_decoder.*\")",
        ])
    }

    func testPositionsOnNodes() throws {
        let stmts = try Parser.parse("load hf\n  merge qkv \"a\" -> \"b\" groups=1 + 2", name: "t")
        XCTAssertEqual(stmts[1].location.line, 2)
        XCTAssertEqual(stmts[1].location.column, 3)
        guard case let .command(_, args) = stmts[1].kind else { return XCTFail() }
        XCTAssertEqual(args.map(\.location.column), [9, 13, 24])
        guard case let .keyword(_, e) = args[2].kind, case let .binary(_, l, r) = e.kind else { return XCTFail() }
        XCTAssertEqual([e.location.column, l.location.column, r.location.column], [33, 31, 35])
    }

    func testDeepNestingIsAnErrorNotACrash() {
        let deep = "let x = " + String(repeating: "(", count: 10000) + "1" + String(repeating: ")", count: 10000)
        let e = recipeError { _ = try Parser.parse(deep, name: "t") }
        XCTAssertTrue(e?.message.contains("nesting too deep") == true, e?.message ?? "")
        let deepList = "let x = " + String(repeating: "[", count: 5000)
        XCTAssertNotNil(recipeError { _ = try Parser.parse(deepList, name: "t") })
        let deepNot = "let x = " + String(repeating: "not ", count: 5000) + "true"
        XCTAssertNotNil(recipeError { _ = try Parser.parse(deepNot, name: "t") })
        let deepIf = String(repeating: "if x { ", count: 2000)
        XCTAssertNotNil(recipeError { _ = try Parser.parse(deepIf, name: "t") })
        let deepType = "param a: " + String(repeating: "[", count: 2000) + "int"
        XCTAssertNotNil(recipeError { _ = try Parser.parse(deepType, name: "t") })
        let longChain = "let x = 1" + String(repeating: " + 1", count: 3_000)
        XCTAssertEqual(recipeError { _ = try Parser.parse(longChain, name: "t") }?.message, "expression too deeply nested (more than 256 levels of operators)")
        let longMember = "let x = a" + String(repeating: ".b", count: 3_000)
        XCTAssertNotNil(recipeError { _ = try Parser.parse(longMember, name: "t") })
        let longIndex = "let x = a" + String(repeating: "[0]", count: 3_000)
        XCTAssertNotNil(recipeError { _ = try Parser.parse(longIndex, name: "t") })
        XCTAssertEqual(recipeError { _ = try Parser.parse("param a: int > 1e300", name: "t") }?.message, "bound 1e+300 is too large")
    }

    func testArbitraryBytesNeverTrap() {
        // A cheap fuzz: every prefix of a real recipe plus some noise must parse or throw.
        let text = """
        recipe A.b "d"
        param cfg.x: [[int >= 0]] = [[1]] "x"
        map m { rename "a" -> "b"; merge qkv "q" -> "k" groups=config.n }
        shard t { row "a" "b" }
        if cfg.x[0][0] > 1 and not (len(cfg.x) == 2) { apply m } else { revert m }
        let y = -(1 // 0.5) % 3 + "s\\"; ?! @ r"\\d" ' 
        """
        let chars = Array(text)
        for n in 0...chars.count {
            _ = try? Parser.parse(String(chars[0..<n]), name: "t")
            _ = try? Parser.parse(String(chars[n...]), name: "t")
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let s = String((0..<40).map { _ in chars[Int.random(in: 0..<chars.count, using: &rng)] })
            _ = try? Parser.parse(s, name: "t")
        }
    }
}
