import XCTest
import DSL
import Ops
@testable import CLI

final class ArgumentsCoercionTests: XCTestCase {
    func coerce(_ v: Value, _ t: ParamType, _ b: [ParamBound] = []) throws -> Value { try ParamCoercion.coerce(v, to: t, bounds: b) }

    func message(_ v: Value, _ t: ParamType, _ b: [ParamBound] = []) -> String? {
        do { _ = try coerce(v, t, b); return nil } catch let m as ParamCoercion.Mismatch { return m.message } catch { return "\(error)" }
    }

    func testConversions() throws {
        XCTAssertEqual(try coerce(.int(2), .float), .float(2))
        XCTAssertEqual(try coerce(.int(123), .path), .string("123"))
        XCTAssertEqual(try coerce(.float(1.5), .str), .string("1.5"))
        XCTAssertEqual(try coerce(.null, .optional(.list(.int))), .null)
        XCTAssertEqual(try coerce(.list([.int(1), .null]), .list(.optional(.int))), .list([.int(1), .null]))
        XCTAssertEqual(try coerce(.list([.list([])]), .list(.list(.int))), .list([.list([])]))
        XCTAssertEqual(try coerce(.string(""), .str), .string(""))
    }

    func testMessages() {
        XCTAssertEqual(message(.string("x"), .float, [ParamBound(.gt, 0)]), "expected a float > 0, got 'x'")
        XCTAssertEqual(message(.float(-0.5), .float, [ParamBound(.ge, 0), ParamBound(.le, 1)]), "expected a float >= 0 and <= 1, got -0.5")
        XCTAssertEqual(message(.bool(true), .int), "expected an int, got true")
        XCTAssertEqual(message(.string(""), .dir), "expected a directory, got ''")
        XCTAssertEqual(message(.dict([("a", .int(1))]), .path), "expected a path, got {a: 1}")
        XCTAssertEqual(message(.list([.int(1), .string("a")]), .list(.optional(.int))),
                       "expected a list of ints or null, got [1, a] (item [1]: expected an int or null, got 'a')")
        XCTAssertEqual(message(.int(1), .optional(.list(.list(.int)))), "expected a list of lists of ints or null, got 1")
    }

    func testLabels() {
        XCTAssertEqual(ParamCoercion.label(.list(.list(.int)), [ParamBound(.ge, 0)]), "[[int >= 0]]")
        XCTAssertEqual(ParamCoercion.label(.optional(.int), [ParamBound(.gt, 0)]), "int > 0 or null")
        XCTAssertEqual(ParamCoercion.label(.optional(.path), []), "path or null")
        XCTAssertEqual(ParamCoercion.label(.float, [ParamBound(.gt, 0.5)]), "float > 0.5")
    }

    func testCommandLineTextForStringTypes() throws {
        XCTAssertEqual(try ParamCoercion.parseText("a: b", for: .path, label: "--x"), .string("a: b"))
        XCTAssertEqual(try ParamCoercion.parseText("'quoted'", for: .str, label: "--x"), .string("quoted"))
        XCTAssertEqual(try ParamCoercion.parseText("null", for: .optional(.path), label: "--x"), .null)
        XCTAssertEqual(try ParamCoercion.parseText("null", for: .path, label: "--x"), .string("null"))
        XCTAssertEqual(try ParamCoercion.parseText("1e-5", for: .float, label: "--x"), .float(1e-5))
    }

    func testFloatDefaultIsNormalised() throws {
        let recipe = RecipeInfo(converter: "C", operation: "op", doc: "", params: [ParamSpec(name: "cfg.lr", type: .float, defaultValue: .int(1))])
        let surface = ArgumentSurface(recipes: [recipe])
        XCTAssertEqual(try surface.parse(["C", "op"]), .run(recipe: recipe, values: ["cfg.lr": .float(1)]))
        XCTAssertEqual(try surface.parse(["C", "op", "--cfg.lr", "2"]), .run(recipe: recipe, values: ["cfg.lr": .float(2)]))
    }

    func testSuggestions() {
        let names = ["--cfg.parallel_config.tp_size", "--cfg.parallel_config.vit_tp_size", "--cfg.mm_dir", "--config"]
        XCTAssertEqual(OptionSuggestions.best(for: "--cfg.parallel_config.tpsize", among: names), "--cfg.parallel_config.tp_size")
        XCTAssertEqual(OptionSuggestions.best(for: "--vit_tp_size", among: names), "--cfg.parallel_config.vit_tp_size")
        XCTAssertEqual(OptionSuggestions.best(for: "--mm_dir", among: names), "--cfg.mm_dir")
        XCTAssertNil(OptionSuggestions.best(for: "--something_else", among: names))
        XCTAssertEqual(DSL.Suggestions.distance("kitten", "sitting"), 3)
    }
}
