#if canImport(Glibc)
import Glibc
#endif

/// Where the REPL reads lines from.
public protocol LineSource {
    /// The next line without its terminator, or nil at the end of input. `prompt` is shown
    /// first when the source is interactive.
    mutating func readLine(prompt: String) -> String?
}

/// Standard input: prompts only when it is a terminal, so piped scripts print no prompts.
public struct StandardInput: LineSource {
    public let interactive: Bool

    public init() { interactive = isatty(0) != 0 }

    public mutating func readLine(prompt: String) -> String? {
        if interactive {
            fputs(prompt, stdout)
            fflush(stdout)
        }
        return Swift.readLine(strippingNewline: true)
    }
}

/// Lines held in memory (tests, scripted sessions).
public struct ScriptedInput: LineSource {
    var lines: [String]
    var next = 0
    /// The prompts asked for, in order (tests check continuation prompts).
    public private(set) var prompts: [String] = []

    public init(_ lines: [String]) { self.lines = lines }

    /// Splits text into lines.
    public init(text: String) {
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
    }

    public mutating func readLine(prompt: String) -> String? {
        prompts.append(prompt)
        guard next < lines.count else { return nil }
        defer { next += 1 }
        return lines[next]
    }
}
