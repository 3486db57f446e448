import XCTest
import Foundation
@testable import CLI

/// Each file in Tests/Corpus/yaml is malformed; its first line says the message expected,
/// `# expect: LINE: MESSAGE`, and the reader must report exactly `<file name>:LINE: MESSAGE`.
final class YAMLCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Corpus/yaml")

    static let expectedFiles: Set<String> = [
        "alias.yaml", "anchor.yaml", "bad-escape.yaml", "block-scalar.yaml", "complex-key.yaml", "directive.yaml",
        "document-end.yaml", "duplicate-key.yaml", "empty-flow-item.yaml", "flow-list-pair.yaml",
        "flow-mapping-missing-colon.yaml", "integer-overflow.yaml", "key-without-value.yaml", "list-after-key.yaml",
        "list-in-mapping.yaml", "mapping-in-list.yaml", "mapping-in-plain-value.yaml", "multiple-documents.yaml",
        "over-indented.yaml", "tab-after-colon.yaml", "tab-indentation.yaml", "tag.yaml", "text-after-flow.yaml",
        "text-after-string.yaml", "too-deep.yaml", "unclosed-flow-list-next-key.yaml", "unclosed-flow-list.yaml",
        "unclosed-flow-mapping.yaml", "unterminated-string.yaml",
    ]

    func testEveryCorpusFileIsListed() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertEqual(Set(names), Self.expectedFiles)
    }

    func testEachFileFailsWithItsMessage() throws {
        for name in Self.expectedFiles.sorted() {
            let text = try String(contentsOf: Self.corpus.appendingPathComponent(name), encoding: .utf8)
            guard let first = text.split(separator: "\n").first, first.hasPrefix("# expect: ") else {
                XCTFail("\(name): first line must be '# expect: LINE: MESSAGE'")
                continue
            }
            let expected = name + ":" + first.dropFirst("# expect: ".count)
            XCTAssertThrowsError(try YAMLReader.read(text, file: name), name) { error in
                XCTAssertEqual("\(error)", expected, name)
            }
        }
    }
}
