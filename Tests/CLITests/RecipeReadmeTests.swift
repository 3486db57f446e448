import CLI
import DSL
import Foundation
import Ops
import XCTest

/// Recipes/README.md stays accurate: every ```recipe block parses, every statement of the
/// registry is documented, and the walk-through's blocks, assembled into recipe files, convert a
/// Llama checkpoint to MindSpeed-MM and back byte for byte.
final class RecipeReadmeTests: XCTestCase {
    /// The fenced blocks of `language` (e.g. ```recipe), each with the README line its text starts on;
    /// indented blocks (inside list items) lose their fence's indentation.
    static func readmeBlocks(_ language: String) throws -> [(line: Int, text: String)] {
        let lines = try String(contentsOfFile: RecipePaths.recipesReadme, encoding: .utf8).components(separatedBy: "\n")
        var out: [(line: Int, text: String)] = []
        var open: (lang: String, start: Int, indent: Int, lines: [String])?
        for (i, raw) in lines.enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("```") else {
                if open != nil { open!.lines.append(String(raw.dropFirst(min(open!.indent, raw.prefix { $0 == " " }.count)))) }
                continue
            }
            if let o = open {
                XCTAssertEqual(trimmed, "```", "README.md:\(i + 1): a fence opens inside the block of line \(o.start)")
                if o.lang == language { out.append((o.start, o.lines.joined(separator: "\n") + "\n")) }
                open = nil
            } else {
                open = (String(trimmed.dropFirst(3)), i + 2, raw.prefix { $0 == " " }.count, [])
            }
        }
        XCTAssertNil(open, "README.md: an unclosed fence")
        return out
    }

    func testEveryRecipeBlockParses() throws {
        let blocks = try Self.readmeBlocks("recipe")
        XCTAssertGreaterThanOrEqual(blocks.count, 30)
        for b in blocks {
            do {
                _ = try Recipe.parse(b.text, name: "README.md:\(b.line)")
            } catch {
                XCTFail("README.md block at line \(b.line) does not parse:\n\(error)")
            }
        }
    }

    /// Every block also passes the interpreter's static checks (statement keywords, argument
    /// names and kinds) when the maps and tables it names are declared around it.
    func testEveryRecipeBlockChecks() throws {
        let prelude = """
            map vision_tower { }
            map llama { }
            shard llama_tp { }
            shard qwen2vl_tp { }
            shard vit_tp { }
            stages llama_pp { }
            stages qwen2vl_pp { }
            param cfg.placeholder: int = 0
            let layers = [4]

            """
        let llamaLayout = try String(contentsOfFile: RecipePaths.examples + "/llama/layout.recipe", encoding: .utf8)
        for b in try Self.readmeBlocks("recipe") {
            // A block quoted from a bundled recipe (a family, a converter file) is checked with
            // that recipe; here it must still be what the recipe says.
            if b.text.contains("family ") && !b.text.contains("family llama") {
                XCTAssertTrue(BundledRecipes.files.values.contains { $0.contains(b.text) }, "README.md block at line \(b.line) is not in a bundled recipe")
                continue
            }
            let declares = (b.text.hasPrefix("recipe ") && b.text.contains("family llama")) || b.text.contains("map llama {") || b.text.contains("shard llama_tp {") || b.text.contains("stages qwen2vl_pp {") || b.text.contains("map vision {")
            let text = (declares ? "" : prelude) + b.text
            var files = BundledRecipes.files
            files["layout.recipe"] = b.text.hasPrefix("recipe ") && b.text.contains("family llama") ? llamaLayout : ""
            files["../common/hf_to_mm_params.recipe"] = ""
            let interpreter = Interpreter(registry: ConversionCommands.registry(), state: Workspace(), loader: .memory(files))
            interpreter.checkDirectories = false
            do {
                let recipe = try Recipe.parse(text, name: "README.md:\(b.line)")
                let required = try recipe.parameters(loader: interpreter.loader).filter { $0.defaultValue == nil }
                try interpreter.check(recipe, params: Dictionary(uniqueKeysWithValues: required.map { ($0.name, sample($0.type)) }))
            } catch {
                XCTFail("README.md block at line \(b.line) fails the checks:\n\(error)")
            }
        }
    }

    func sample(_ t: ParamType) -> Value {
        switch t {
        case .int: return .int(1)
        case .float: return .float(1)
        case .bool: return .bool(false)
        case .str, .path, .dir: return .string("/tmp")
        case let .list(inner): return .list([sample(inner)])
        case let .dict(inner): return .dict([("key", sample(inner))])
        case .optional: return .null
        case let .union(ts): return sample(ts[0])
        }
    }

    /// Each statement the registry provides has a `### ` heading that names it.
    func testEveryStatementIsDocumented() throws {
        let text = try String(contentsOfFile: RecipePaths.recipesReadme, encoding: .utf8)
        let headings = text.components(separatedBy: "\n").filter { $0.hasPrefix("### ") }.joined(separator: "\n")
        for name in ConversionCommands.registry().order {
            XCTAssertTrue(headings.contains("`\(name)"), "no heading for '\(name)'")
        }
        for table in ["shard NAME {", "stages NAME {"] { XCTAssertTrue(headings.contains(table), table) }
    }

    /// The walk-through's blocks as files: the map and tables (layout.recipe), hf_to_mm and mm_to_hf.
    func testWalkThroughRecipesRoundTrip() throws {
        let blocks = try Self.readmeBlocks("recipe").map(\.text)
        func block(_ prefix: String) throws -> String {
            // The last such block: the walk-through comes at the end of the README.
            try XCTUnwrap(blocks.last { $0.hasPrefix(prefix) }, "no block starting with \(prefix)")
        }
        let s = try Scratch("readme")
        try s.write("recipes/layout.recipe", try block("map llama {") + (try block("shard llama_tp {")) + (try block("map llama_config {")))
        let converter = try block("recipe LlamaConverter.hf_to_mm")
        let to = try s.write("recipes/hf_to_mm.recipe", converter)
        // "mm_to_hf.recipe ... are the same four lines with mm_to_hf".
        let back = try s.write("recipes/mm_to_hf.recipe", converter.replacingOccurrences(of: "hf_to_mm", with: "mm_to_hf"))
        let hf = s.path("hf"), mm = s.path("mm"), out = s.path("back")
        try TinyLlama.write(hf)
        var r = runCLI(["run", to, "--set", "cfg.hf_config.hf_dir=\(hf)", "--set", "cfg.mm_dir=\(mm)", "--set", "cfg.parallel_config.tp_size=2",
                        "--set", "cfg.parallel_config.llm_pp_layers=[[1,3]]", "--quiet"])
        XCTAssertEqual(r.status, 0, r.errText)
        r = runCLI(["run", back, "--set", "cfg.mm_dir=\(mm)", "--set", "cfg.hf_config.hf_dir=\(hf)", "--set", "cfg.save_hf_dir=\(out)",
                    "--set", "cfg.parallel_config.tp_size=2", "--quiet"])
        XCTAssertEqual(r.status, 0, r.errText)
        XCTAssertEqual(filesUnder(hf), filesUnder(out))
        for f in filesUnder(hf) {
            XCTAssertEqual(FileManager.default.contents(atPath: hf + "/" + f), FileManager.default.contents(atPath: out + "/" + f), f)
        }
    }
}
