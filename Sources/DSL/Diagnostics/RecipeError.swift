/// An error in a recipe or in running it: a syntax error, a bad parameter, a failed assertion,
/// or a failure of a tensor statement (wrapped with the statement's position).
///
/// Rendered once, at the edge (command line or REPL), as
/// ```
/// file:line:col: error: message
/// <the source line>
///       ^
/// ```
public struct RecipeError: Error, CustomStringConvertible, Equatable {
    /// Where the error is; nil for errors outside any source (e.g. a command-line value).
    public var location: SourceLocation?
    public var message: String
    /// Extra lines printed after the caret (`note: ...`).
    public var notes: [String]
    /// True when the parser ran out of input inside an open construct: a REPL reads more lines.
    public var isIncomplete: Bool

    public init(_ message: String, at location: SourceLocation?, notes: [String] = [], isIncomplete: Bool = false) {
        self.location = location
        self.message = message
        self.notes = notes
        self.isIncomplete = isIncomplete
    }

    /// The full rendering: position, message, source line and caret, then notes.
    public var description: String {
        var out: String
        if let loc = location {
            out = "\(loc): error: \(message)"
            let line = loc.file.line(loc.line)
            out += "\n" + line + "\n" + Self.caretLine(for: line, column: loc.column)
        } else {
            out = "error: \(message)"
        }
        for note in notes { out += "\nnote: \(note)" }
        return out
    }

    /// Spaces (tabs kept as tabs so the caret lines up) up to the column, then `^`.
    static func caretLine(for line: String, column: Int) -> String {
        var pad = ""
        for (i, c) in line.enumerated() where i < column - 1 { pad.append(c == "\t" ? "\t" : " ") }
        let missing = max(0, column - 1 - line.count)
        return pad + String(repeating: " ", count: missing) + "^"
    }
}
