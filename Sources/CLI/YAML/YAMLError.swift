/// A YAML syntax error, pointing at the file and line where it was found.
///
/// `description` is the user-facing message: `hf_to_mm.yaml:4: tab character in indentation ...`.
public struct YAMLError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file name (or `<command line>` style label) the text came from.
    public var file: String
    /// 1-based line number.
    public var line: Int
    /// What is wrong and, where possible, what to do instead.
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// Limits that keep a hostile or broken file from exhausting the stack.
public enum YAMLLimits {
    /// Maximum nesting of mappings and lists (block and flow together).
    public static let maxDepth = 64
}
