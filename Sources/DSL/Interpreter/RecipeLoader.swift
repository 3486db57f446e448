import Foundation

/// Reads recipe text by path, so bundled recipes can be served from memory and `use` works the
/// same for files on disk and in the binary.
public struct RecipeLoader: Sendable {
    /// Returns the text at a resolved path, or throws (any error; its description is shown).
    public var read: @Sendable (String) throws -> String

    public init(read: @escaping @Sendable (String) throws -> String) { self.read = read }

    /// Reads files from disk.
    public static let fileSystem = RecipeLoader { path in
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoaderFailure(message: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw LoaderFailure(message: "the file is not UTF-8 text") }
        return text
    }

    /// Serves the given path -> text map (paths as `resolve` produces them), then `fallback`.
    public static func memory(_ files: [String: String], fallback: RecipeLoader? = nil) -> RecipeLoader {
        RecipeLoader { path in
            if let text = files[path] { return text }
            if let fallback { return try fallback.read(path) }
            throw LoaderFailure(message: "no such recipe")
        }
    }

    /// `path` relative to the directory of `file` (unless absolute), with `.` and `..` folded.
    public static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        let slash = file.lastIndex(of: "/")
        let dir = slash.map { String(file[..<$0]) } ?? ""
        return normalize(dir.isEmpty ? path : dir + "/" + path)
    }

    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == "..", absolute { continue }
            parts.append(part)
        }
        return (absolute ? "/" : "") + parts.joined(separator: "/")
    }

    /// Reads and parses a recipe.
    public func load(_ path: String) throws -> Recipe {
        let text: String
        do {
            text = try read(path)
        } catch let e as LoaderFailure {
            throw RecipeError("cannot read recipe '\(path)': \(e.message)", at: nil)
        } catch {
            throw RecipeError("cannot read recipe '\(path)': \(error)", at: nil)
        }
        return try Recipe.parse(text, name: path)
    }
}

struct LoaderFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A parsed recipe file.
public struct Recipe {
    public let file: SourceFile
    public let statements: [Stmt]

    /// Parses recipe text; `name` appears in diagnostics and anchors relative `use` paths.
    public static func parse(_ text: String, name: String) throws -> Recipe {
        let file = SourceFile(name: name, text: text)
        return Recipe(file: file, statements: try Parser.parse(file))
    }

    /// Loads and parses the recipe at `path` through the loader.
    public static func load(_ path: String, loader: RecipeLoader = .fileSystem) throws -> Recipe {
        try loader.load(path)
    }
}
