/// A tensor-name filter: a shell-style glob (`*` any run of characters, `?` one character) matched
/// against the whole name; a pattern without wildcards matches any name containing it, so
/// `--filter layers.0.` works without stars.
public struct NameFilter {
    public let pattern: String
    private let chars: [Character]
    private let isGlob: Bool

    public init(_ pattern: String) {
        self.pattern = pattern
        self.chars = Array(pattern)
        self.isGlob = pattern.contains("*") || pattern.contains("?")
    }

    public func matches(_ name: String) -> Bool {
        guard isGlob else { return name.contains(pattern) }
        return NameFilter.glob(chars, Array(name))
    }

    /// Iterative glob matching with backtracking to the last star (linear-ish, no recursion).
    static func glob(_ p: [Character], _ s: [Character]) -> Bool {
        var pi = 0, si = 0
        var star = -1, mark = 0
        while si < s.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == s[si]) {
                pi += 1
                si += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                mark = si
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                si = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
