/// The text of one recipe (a file, a bundled resource or a REPL entry), split into lines so
/// diagnostics can quote the line an error points at.
public final class SourceFile: Sendable {
    /// The name diagnostics print: a path as given to the loader, or `<repl>`.
    public let name: String
    public let text: String
    /// The text as characters: columns count characters, not bytes.
    let characters: [Character]
    /// The lines, without their terminators.
    public let lines: [String]
    /// The line number of the first line (REPL entries continue the session's numbering).
    public let firstLine: Int

    public init(name: String, text: String, firstLine: Int = 1) {
        self.name = name
        self.text = text
        self.characters = Array(text)
        self.firstLine = firstLine
        var lines: [String] = []
        var current = ""
        for c in self.characters {
            if c == "\n" || c == "\r\n" || c == "\r" { lines.append(current); current = "" } else { current.append(c) }
        }
        lines.append(current)
        self.lines = lines
    }

    /// The text of a line (numbered as diagnostics number them), or "" if out of range.
    public func line(_ number: Int) -> String {
        let i = number - firstLine
        return i >= 0 && i < lines.count ? lines[i] : ""
    }
}

/// A position in a source file: 1-based line and column (in characters).
public struct SourceLocation: Equatable, Sendable, CustomStringConvertible {
    public let file: SourceFile
    public let line: Int
    public let column: Int

    public init(file: SourceFile, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public static func == (a: SourceLocation, b: SourceLocation) -> Bool {
        a.file === b.file && a.line == b.line && a.column == b.column
    }

    /// `file:line:col`
    public var description: String { "\(file.name):\(line):\(column)" }
}
