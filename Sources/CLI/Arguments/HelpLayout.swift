/// argparse-style text layout: options in a two-column list (help at column 24), text wrapped
/// at 100 columns, usage lines continued under the first option.
enum HelpLayout {
    static let width = 100
    static let helpColumn = 24

    /// Greedy word wrap; words longer than the width stay whole on their own line.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if line.isEmpty {
                line = String(word)
            } else if line.count + 1 + word.count <= width {
                line += " " + word
            } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// Paragraphs (separated by blank lines) wrapped at the full width.
    static func paragraphs(_ text: String) -> String {
        var blocks: [String] = []
        var current: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).trimmingSpaces()
            if line.isEmpty {
                if !current.isEmpty { blocks.append(wrap(current.joined(separator: " "), width: width).joined(separator: "\n")) }
                current = []
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { blocks.append(wrap(current.joined(separator: " "), width: width).joined(separator: "\n")) }
        return blocks.joined(separator: "\n\n")
    }

    /// One option entry. `invocation` has one line (`--cfg.mm_dir MM_DIR`) or several
    /// (`ARG:   ...`, `ENV:   ...`); short single lines share their line with the help.
    static func entry(_ invocation: [String], help: String) -> String {
        let helpLines = wrap(help, width: width - helpColumn)
        let pad = String(repeating: " ", count: helpColumn)
        var out: [String] = []
        if invocation.count == 1, invocation[0].count <= helpColumn - 4, let first = helpLines.first {
            out.append("  " + invocation[0].padding(toLength: helpColumn - 2) + first)
            out += helpLines.dropFirst().map { pad + $0 }
        } else {
            out += invocation.map { "  " + $0 }
            out += helpLines.map { pad + $0 }
        }
        return out.joined(separator: "\n")
    }

    /// `usage: <prog> part part ...`, continued lines aligned after the program words.
    static func usage(program: String, parts: [String]) -> String {
        let head = "usage: " + program
        var indent = String(repeating: " ", count: head.count + 1)
        if indent.count > width / 2 { indent = String(repeating: " ", count: 7) }
        var lines: [String] = []
        var line = head
        for part in parts {
            if line.count + 1 + part.count <= width || line == head {
                line += " " + part
            } else {
                lines.append(line)
                line = indent + part
            }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(toLength n: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
