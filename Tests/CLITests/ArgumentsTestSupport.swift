import XCTest
import Foundation
import DSL
import Ops
import CLI

/// A scratch directory per test, with an existing `hf/Qwen2-VL-7B` input directory.
final class ArgumentsSandbox {
    let root: URL
    var hfDir: String { root.appendingPathComponent("hf/Qwen2-VL-7B").path }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cli-args-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("hf/Qwen2-VL-7B"), withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}

extension XCTestCase {
    /// The values of a `.run`, failing the test otherwise.
    func runValues(_ argv: [String], environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Value] {
        let parsed = try ArgumentsRecipes.surface.parse(argv, environment: environment)
        guard case let .run(_, values) = parsed else {
            XCTFail("expected .run, got \(parsed)", file: file, line: line)
            return [:]
        }
        return values
    }

    /// The message of the ArgumentError thrown for argv.
    func argumentError(_ argv: [String], environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> ArgumentError? {
        do {
            let parsed = try ArgumentsRecipes.surface.parse(argv, environment: environment)
            XCTFail("expected an error, got \(parsed)", file: file, line: line)
        } catch let e as ArgumentError {
            return e
        } catch {
            XCTFail("expected ArgumentError, got \(error)", file: file, line: line)
        }
        return nil
    }
}
