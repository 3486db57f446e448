import DSL
import Foundation
import XCTest

/// Every file in Tests/Corpus/recipes is a malformed recipe whose first line states the
/// diagnostic it must produce: `# expect: LINE:COL: MESSAGE`.
final class CorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Corpus/recipes")

    func corpusFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "recipe" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testCorpusIsThere() throws {
        XCTAssertGreaterThanOrEqual(try corpusFiles().count, 25)
    }

    func testEveryMalformedRecipeGivesItsDiagnostic() throws {
        for url in try corpusFiles() {
            let name = url.lastPathComponent
            let text = try String(contentsOf: url, encoding: .utf8)
            let firstLine = text.split(separator: "\n", omittingEmptySubsequences: false)[0]
            guard firstLine.hasPrefix("# expect: ") else {
                XCTFail("\(name): first line must be '# expect: LINE:COL: MESSAGE'")
                continue
            }
            let expected = "\(name):" + firstLine.dropFirst("# expect: ".count)
            let session = Session()
            let error = recipeError({ try session.run(text, name: name) })
            guard let error, let loc = error.location else {
                XCTFail("\(name): expected a positioned error")
                continue
            }
            XCTAssertEqual("\(loc): \(error.message)", expected, name)
            // The rendering quotes the line and puts a caret under the column.
            let rendered = error.description.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(rendered[0], "\(loc): error: \(error.message)")
            XCTAssertEqual(String(rendered[1]), loc.file.line(loc.line), name)
            XCTAssertEqual(rendered[2].count, loc.column, name)
            XCTAssertTrue(rendered[2].hasSuffix("^"), name)
        }
    }
}
