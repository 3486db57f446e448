import Foundation
import Ops

/// Reading `--config` / `--cfg` files (or inline `{...}` mappings given in their place).
enum ConfigFiles {
    /// Config files are small; anything larger is certainly a wrong path.
    static let maxBytes = 16 << 20

    /// The parsed document and the source it is reported as.
    /// - Parameter option: the option or variable that named the file, for messages.
    static func load(_ pathOrInline: String, option: String, fromEnvironment: Bool = false) throws -> (YAMLDocument, ValueSource) {
        let trimmed = pathOrInline.trimmingSpaces()
        let optionKind: ValueSource.Kind = fromEnvironment ? .environment(option) : .option(option)
        if trimmed.hasPrefix("{") {
            do {
                var parser = YAMLBlockParser(text: trimmed, file: option)
                let value = try parser.parseWholeFlow()
                return (YAMLDocument(value: value, keyLines: [:]), ValueSource(kind: optionKind))
            } catch let e as YAMLError {
                throw ValueSource(kind: optionKind).problem(fileKey: nil, name: nil, "invalid inline mapping: \(e.message)")
            }
        }
        let path = pathOrInline
        var isDir: ObjCBool = false
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ValueSource(kind: optionKind).problem(fileKey: nil, name: nil, "config file '\(path)' does not exist")
        }
        guard !isDir.boolValue else {
            throw ValueSource(kind: optionKind).problem(fileKey: nil, name: nil, "'\(path)' is a directory, expected a YAML config file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValueSource(kind: optionKind).problem(fileKey: nil, name: nil, "cannot read config file '\(path)'")
        }
        guard data.count <= maxBytes else {
            throw ValueSource(kind: optionKind).problem(fileKey: nil, name: nil, "config file '\(path)' is larger than 16 MiB; is it really a YAML config?")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ValueSource(kind: optionKind).problem(fileKey: nil, name: nil, "config file '\(path)' is not UTF-8 text")
        }
        do {
            let doc = try YAMLReader.readDocument(text, file: path)
            return (doc, ValueSource(kind: .file(path), keyLines: doc.keyLines))
        } catch let e as YAMLError {
            throw SourceProblem(message: e.description)
        }
    }
}
