import Foundation

/// The interactive session of `mm-convert repl`: reads statements one at a time, runs them with
/// the same interpreter as recipes, keeps state between them, and reports errors without ending.
///
/// An entry continues over several lines while a bracket or block is open, after a trailing
/// `->`, `,` or `\`. `exit` or `quit` (or the end of input) ends the session.
public final class REPL<State> {
    public let interpreter: Interpreter<State>
    public var prompt = "mm> "
    public var continuationPrompt = "... "
    /// Where errors go (the output by default).
    public var errorOutput: (String) -> Void
    /// Errors reported so far (a piped session exits non-zero when there were any).
    public private(set) var errorCount = 0
    /// The session's line numbers continue across entries, so errors point at `<repl>:LINE`.
    var lineNumber = 1

    public init(interpreter: Interpreter<State>, errorOutput: ((String) -> Void)? = nil) {
        self.interpreter = interpreter
        self.errorOutput = errorOutput ?? interpreter.context.output
    }

    /// Runs until the input ends or `exit`/`quit`.
    public func run<Source: LineSource>(_ input: inout Source) {
        while let entry = readEntry(&input) {
            let trimmed = entry.text.trimmingCharacters(in: .whitespaces)
            if trimmed == "exit" || trimmed == "quit" { return }
            evaluate(entry.text, firstLine: entry.firstLine)
        }
    }

    /// Runs one entry (possibly several lines / statements) and prints any error.
    public func evaluate(_ text: String, firstLine: Int) {
        let file = SourceFile(name: "<repl>", text: text, firstLine: firstLine)
        do {
            let statements = try Parser.parse(file)
            try interpreter.execute(checking: statements)
        } catch let e as RecipeError {
            report(e.description)
        } catch {
            report("error: \(error)")
        }
    }

    func report(_ text: String) {
        errorCount += 1
        errorOutput(text)
    }

    /// Reads lines until they form complete statements (or a syntax error that more input
    /// cannot fix, which `evaluate` then reports).
    func readEntry<Source: LineSource>(_ input: inout Source) -> (text: String, firstLine: Int)? {
        let first = lineNumber
        var text = ""
        while let line = input.readLine(prompt: text.isEmpty ? prompt : continuationPrompt) {
            lineNumber += 1
            text += text.isEmpty ? line : "\n" + line
            if line.hasSuffix("\\") { continue }
            if needsMore(text, first) { continue }
            return (text, first)
        }
        return text.isEmpty ? nil : (text, first)
    }

    func needsMore(_ text: String, _ firstLine: Int) -> Bool {
        do {
            _ = try Parser.parse(SourceFile(name: "<repl>", text: text, firstLine: firstLine))
            return false
        } catch let e as RecipeError {
            return e.isIncomplete
        } catch {
            return false
        }
    }
}
