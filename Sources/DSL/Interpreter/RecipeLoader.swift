import Foundation

/// Reads recipe text by path, so bundled recipes can be served from memory and `use` works the
/// same for files on disk and in the binary.
public struct RecipeLoader: Sendable {
    /// Returns the text at a resolved path, or throws (any error; its description is shown).
    public var read: @Sendable (String) throws -> String
    /// Whether a resolved path names a recipe this loader serves.
    public var exists: @Sendable (String) -> Bool

    public init(read: @escaping @Sendable (String) throws -> String, exists: @escaping @Sendable (String) -> Bool = { _ in true }) {
        self.read = read
        self.exists = exists
    }

    /// Reads files from disk.
    public static let fileSystem = RecipeLoader(read: { path in
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoaderFailure(message: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw LoaderFailure(message: "the file is not UTF-8 text") }
        return text
    }, exists: { FileManager.default.fileExists(atPath: $0) })

    /// Serves the given path -> text map (paths as `resolve` produces them), then `fallback`.
    public static func memory(_ files: [String: String], fallback: RecipeLoader? = nil) -> RecipeLoader {
        RecipeLoader(read: { path in
            if let text = files[path] { return text }
            if let fallback { return try fallback.read(path) }
            throw LoaderFailure(message: "no such recipe")
        }, exists: { files[$0] != nil || fallback?.exists($0) == true })
    }

    /// Files on disk first, then `fallback` (the bundled recipes) for paths no file has.
    public static func fileSystem(then fallback: RecipeLoader) -> RecipeLoader {
        RecipeLoader(read: { path in
            FileManager.default.fileExists(atPath: path) ? try RecipeLoader.fileSystem.read(path) : try fallback.read(path)
        }, exists: { FileManager.default.fileExists(atPath: $0) || fallback.exists($0) })
    }

    /// The file a `use "path"` in `file` means: `path` relative to the directory of `file`; when
    /// nothing is there and `path` is relative, `path` itself as the loader knows it (a recipe on
    /// disk can `use "common/hf_to_mm.recipe"`, a direction bundled in the binary).
    public func locate(_ path: String, relativeTo file: String) -> String {
        let resolved = Self.resolve(path, relativeTo: file)
        if path.hasPrefix("/") || exists(resolved) { return resolved }
        let bare = Self.normalize(path)
        return exists(bare) ? bare : resolved
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
