@testable import DSL
import Ops
import Foundation
import XCTest

/// Families (roles bound to a model's maps and tables), tables that extend another, `for` loops,
/// bare paths, and errors that point at the argument at fault.
final class FamilyTests: XCTestCase {
    let layout = """
        let canonical = false
        map base_model { rename "a.{L}" -> "b.{L}" }
        map canon_model { rename "a.{L}" -> "c.{L}" }
        map none { }
        shard base_tp { row "b.{L}" }
        shard wide_tp extends base_tp { col "b.0"; glu "b.{L}" }
        family base { checks = none }
        family third extends base {
          model = base_model
          tp = base_tp
        }
        family second extends third {
          if canonical { model = canon_model } else { tp = wide_tp }
        }

        """

    /// A direction written once in roles runs each family's maps and tables; an extending family
    /// overrides its base's roles, an `if` in a family is decided when the role is used.
    func testRolesResolveThroughTheSelectedFamilyAndItsBases() throws {
        let direction = "load hf\napply checks\napply model\nshard tp tp=2\nsave mm \"/o\"\n"
        var s = Session()
        try s.run(layout + "family third\n" + direction)
        XCTAssertEqual(s.log, ["load hf", "rename \"a.{L}\" -> \"b.{L}\"", "shard <shard base_tp: row \"b.{L}\"> tp=2", "save mm \"/o\""])

        s = Session()
        try s.run(layout + "let canonical = false\nfamily second\n" + direction)
        // The extension's entries first, then the base's.
        XCTAssertEqual(s.log[2], "shard <shard wide_tp: col \"b.0\"; glu \"b.{L}\"; row \"b.{L}\"> tp=2")
        XCTAssertEqual(s.log[1], "rename \"a.{L}\" -> \"b.{L}\"")

        s = Session()
        try s.run(layout + "let canonical = true\nfamily second\n" + direction + "revert model\n")
        XCTAssertEqual(s.log[1], "rename \"a.{L}\" -> \"c.{L}\"")
        XCTAssertEqual(s.log[2], "shard <shard base_tp: row \"b.{L}\"> tp=2")
        XCTAssertEqual(s.log.last, "undo rename \"a.{L}\" -> \"c.{L}\"")
    }

    func testFamilyErrors() throws {
        var e = recipeError { try Session().run(self.layout + "family thrid\n") }
        XCTAssertEqual(e?.message, "unknown family 'thrid'; did you mean 'third'?")
        e = recipeError { try Session().run("map m { }\nfamily f { model = nothing }\n") }
        XCTAssertEqual(e?.message, "role 'model' names 'nothing', which is no declared map or table")
        XCTAssertEqual(e?.location?.line, 2)
        e = recipeError { try Session().run("map model { }\nfamily f { model = model }\n") }
        XCTAssertEqual(e?.message, "role 'model' has the name of a declared map; give the role or the declaration another name")
        e = recipeError { try Session().run("map m { }\nshard t { row \"x\" }\nfamily f { x = m }\nfamily g { x = t }\n") }
        XCTAssertEqual(e?.message, "role 'x' names a map elsewhere, but 't' is a shard table")
        e = recipeError { try Session().run("map m { }\nfamily f extends nobody { x = m }\n") }
        XCTAssertEqual(e?.message, "family 'f' extends unknown family 'nobody'")
        // A role no selected family binds is an error when it runs, naming the family.
        e = recipeError { try Session().run("map m { }\nfamily f { x = m }\nfamily g { y = m }\nfamily g\napply x\n") }
        XCTAssertEqual(e?.message, "unknown map block 'x' (nor a role of family 'g'); did you mean 'm'?")
        XCTAssertEqual(e?.location?.line, 5)
        // Roles live only in family blocks.
        e = recipeError { _ = try Parser.parse("family f { apply m }", name: "x") }
        XCTAssertEqual(e?.message, "expected '=' after the role 'apply' (apply = NAME), found 'm'")
    }

    func testTableExtendsChecks() throws {
        var e = recipeError { try Session().run("shard a extends nothere { row \"x\" }\n") }
        XCTAssertEqual(e?.message, "table 'a' extends unknown table 'nothere'")
        e = recipeError { try Session().run("stages s { llm \"x.\" }\nshard a extends s { row \"x\" }\n") }
        XCTAssertEqual(e?.message, "table 'a' is a shard table but extends 's', a stages table")
    }

    /// A loop in a map is unrolled when the map is applied, with names computed from values, and
    /// reverted statement by statement in reverse order.
    func testForLoopsComputeNamesAndRevert() throws {
        let s = Session()
        try s.run("""
            let idx = [8, 16]
            map mergers {
              for k in range(len(idx)) {
                rename "merger." + str(k) + ".*" -> "layers." + str(idx[k]) + ".deepstack.*"
              }
            }
            apply mergers
            revert mergers
            for name in ["a", "b"] { drop name }

            """)
        XCTAssertEqual(s.log, [
            "rename \"merger.0.*\" -> \"layers.8.deepstack.*\"", "rename \"merger.1.*\" -> \"layers.16.deepstack.*\"",
            "undo rename \"merger.1.*\" -> \"layers.16.deepstack.*\"", "undo rename \"merger.0.*\" -> \"layers.8.deepstack.*\"",
            "drop \"a\"", "drop \"b\"",
        ])
        // The loop variable is the loop's own: a variable of that name is back after the loop,
        // in a map as at the top level (a recipe's `target` survives `for target in ...`).
        let scoped = Session()
        try scoped.run("""
            let target = "out"
            map m { for target in ["x"] { drop target } }
            apply m
            for target in ["y"] { drop target }
            drop target

            """)
        XCTAssertEqual(Array(scoped.log.suffix(3)), ["drop \"x\"", "drop \"y\"", "drop \"out\""])
        let e = recipeError { try Session().run("for k in 3 { print k }\n") }
        XCTAssertEqual(e?.message, "'for k in' needs a list, found an int (3)")
        XCTAssertEqual(e?.location?.column, 10)
    }

    /// Paths may be written bare, as in a shell; division keeps its meaning.
    func testBarePaths() throws {
        let s = Session()
        try s.run("let a = 6 / 2\nlet b = 6/2\nlet c = [/data/x, ./y, ../z]\nload hf /data/Qwen2-VL-7B\nsave hf ~/out like=/data/x-1\nprint a b c\n")
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "~"
        XCTAssertEqual(s.log, ["load hf \"/data/Qwen2-VL-7B\"", "save hf \"\(home)/out\" like=\"/data/x-1\""])
        XCTAssertEqual(s.output, ["3.0 3.0 [\"/data/x\", \"./y\", \"../z\"]"])
        // An unquoted word is a name: the error says how text is written.
        let e = recipeError { try Session().run("load hf data/qwen\n") }
        XCTAssertEqual(e?.message, "unknown name 'data'")
        XCTAssertEqual(e?.notes, ["an unquoted word is a name (a parameter, 'let' or config); write text in double quotes (\"model.*\"); a path may be written bare when it starts with /, ./, ../ or ~/"])
    }

    /// A library error points at the argument it is about.
    func testRuntimeErrorsPointAtTheArgument() throws {
        let args = CommandArguments(positional: [
            CommandArgument(slot: "mapping", value: .arrow(.string("model.layers.{L}.q"), .string("x.{L}")), location: loc(1, 8)),
            CommandArgument(slot: "pattern", value: .value(.string("text_decoder.decoder.layers.{L}.self_attention.*")), location: loc(1, 30)),
        ], keywords: [CommandArgument(slot: "tp", value: .value(.int(4)), location: loc(1, 60))], location: loc(1, 1))
        XCTAssertEqual(args.location(blaming: OpsError.invalid("rename: pattern 'model.layers.{L}.q' matched no tensor")), loc(1, 8))
        XCTAssertEqual(args.location(blaming: OpsError.tensor(name: "text_decoder.decoder.layers.3.self_attention.linear_qkv.weight", message: "rows")), loc(1, 30))
        XCTAssertEqual(args.location(blaming: OpsError.invalid("14 heads do not split over tp=4")), loc(1, 60))
        XCTAssertEqual(args.location(blaming: OpsError.invalid("the model is already sharded")), loc(1, 1))
    }

    let file = SourceFile(name: "x.recipe", text: "")
    func loc(_ line: Int, _ column: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: column) }
}
