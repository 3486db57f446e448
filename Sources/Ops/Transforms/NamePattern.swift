import Foundation

/// A tensor-name pattern: the one way every transform, TP table and query names tensors.
///
/// Syntax (written in recipes as strings):
/// * literal text matches itself (a `.` is a dot, nothing is a wildcard);
/// * `{L}`, `{E}` — any placeholder whose content is upper-case letters/digits (`{K}`, `{N2}`) —
///   captures a non-empty run of decimal digits under that name (a layer, an expert index);
/// * `{a,b,c}` (or `{weight}`: any content that is not an upper-case placeholder) is an
///   *alternative group*: the pattern stands for several concrete patterns, one per choice
///   (`expanded()`); transforms pair the groups of their input and output positionally;
/// * a trailing `*` makes the pattern a *prefix* pattern: it matches every name that starts with
///   the text before it, and the rest of the name is captured under `*` and carried into an output
///   template that also ends in `*`. Without it a pattern is anchored at both ends. A `*` inside a
///   pattern captures any non-empty text (longest first) under `*` the same way
///   (`base_model.*.weight` -> `base_model.model.*.default.weight`); one `*` per pattern;
/// * `re:` followed by a regular expression (NSRegularExpression syntax) for what the forms above
///   cannot say. It is matched against the whole name (anchored at both ends; end it with `.*` for
///   a prefix). Numbered groups are captured as `1`, `2`, ...; named groups `(?<L>\d+)` under their
///   name. Regex patterns select tensors (drop, keep, cast, TP tables); they cannot be used as
///   output templates, and a transform that needs to invert its name mapping refuses them.
///
/// Digit captures are greedy: `{L}` takes every digit it can.
public struct NamePattern: Sendable, CustomStringConvertible, Hashable {
    /// One piece of a non-regex pattern.
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case capture(String)
        case alternatives([String])
    }

    /// The text the pattern was written as (used in error messages).
    public let source: String
    public let segments: [Segment]
    /// True for the trailing-`*` prefix form.
    public let isPrefix: Bool
    let regex: RegexBox?

    public var isRegex: Bool { regex != nil }
    public var description: String { source }

    /// Parses `text`; throws `.invalid` naming the pattern on unbalanced braces, empty groups or a
    /// `*` that is not at the end.
    public init(_ text: String) throws {
        source = text
        if text.hasPrefix("re:") {
            let body = String(text.dropFirst(3))
            do {
                regex = RegexBox(try NSRegularExpression(pattern: "^(?:" + body + ")$"), names: NamePattern.groupNames(body))
            } catch {
                throw OpsError.invalid("pattern '\(text)': not a valid regular expression")
            }
            segments = []
            isPrefix = false
            return
        }
        regex = nil
        var segs: [Segment] = []
        var literal = ""
        var prefix = false
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "*" {
                guard !segs.contains(.capture("*")) else {
                    throw OpsError.invalid("pattern '\(text)': one '*' per pattern; use 're:' for anything else")
                }
                if text.index(after: i) == text.endIndex {
                    prefix = true
                } else {
                    // Inside a pattern, `*` captures any non-empty text (`base_model.*.weight`).
                    if !literal.isEmpty { segs.append(.literal(literal)); literal = "" }
                    if case .capture = segs.last {
                        throw OpsError.invalid("pattern '\(text)': two captures in a row cannot be told apart")
                    }
                    segs.append(.capture("*"))
                }
                i = text.index(after: i)
                continue
            }
            if c == "}" { throw OpsError.invalid("pattern '\(text)': unbalanced '}'") }
            if c == "{" {
                guard let close = text[i...].firstIndex(of: "}") else {
                    throw OpsError.invalid("pattern '\(text)': unbalanced '{'")
                }
                let inner = String(text[text.index(after: i)..<close])
                if inner.contains("{") { throw OpsError.invalid("pattern '\(text)': nested braces") }
                if !literal.isEmpty { segs.append(.literal(literal)); literal = "" }
                if NamePattern.isPlaceholder(inner) {
                    if case .capture = segs.last {
                        throw OpsError.invalid("pattern '\(text)': two captures in a row cannot be told apart")
                    }
                    segs.append(.capture(inner))
                } else {
                    let alts = inner.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
                    guard !inner.isEmpty, alts.allSatisfy({ !$0.isEmpty }) else {
                        throw OpsError.invalid("pattern '\(text)': empty alternative in '{\(inner)}'")
                    }
                    segs.append(.alternatives(alts))
                }
                i = text.index(after: close)
                continue
            }
            literal.append(c)
            i = text.index(after: i)
        }
        if !literal.isEmpty { segs.append(.literal(literal)) }
        segments = segs
        isPrefix = prefix
    }

    init(source: String, segments: [Segment], isPrefix: Bool) {
        self.source = source
        self.segments = segments
        self.isPrefix = isPrefix
        self.regex = nil
    }

    /// Upper-case letters and digits, starting with a letter: `L`, `E`, `K2`.
    static func isPlaceholder(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, ("A"..."Z").contains(f) else { return false }
        return s.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }

    static func groupNames(_ regex: String) -> [String] {
        var names: [String] = []
        var rest = Substring(regex)
        while let r = rest.range(of: "(?<") {
            let after = rest[r.upperBound...]
            if let end = after.firstIndex(of: ">"), !after.hasPrefix("="), !after.hasPrefix("!") {
                names.append(String(after[..<end]))
            }
            rest = after
        }
        return names
    }

    // MARK: - Structure

    /// The alternative groups in order of appearance (each the list of its choices).
    public var alternativeGroups: [[String]] {
        segments.compactMap { if case let .alternatives(a) = $0 { return a } else { return nil } }
    }

    /// Names of the digit captures, in order (plus `*` for a prefix pattern).
    public var captureNames: [String] {
        var names = segments.compactMap { if case let .capture(n) = $0 { return n } else { return nil } }
        if isPrefix { names.append("*") }
        if let r = regex { names += r.names }
        return names
    }

    /// The pattern with its alternative groups fixed to `choices` (one index per group).
    public func choosing(_ choices: [Int]) -> NamePattern {
        if regex != nil { return self }
        var k = 0
        var segs: [Segment] = []
        for s in segments {
            if case let .alternatives(a) = s {
                segs.append(.literal(a[choices[k]]))
                k += 1
            } else {
                segs.append(s)
            }
        }
        // Merge adjacent literals so matching stays simple.
        var merged: [Segment] = []
        for s in segs {
            if case let .literal(b) = s, case let .literal(a)? = merged.last {
                merged[merged.count - 1] = .literal(a + b)
            } else {
                merged.append(s)
            }
        }
        return NamePattern(source: render(segments: merged, prefix: isPrefix), segments: merged, isPrefix: isPrefix)
    }

    private func render(segments: [Segment], prefix: Bool) -> String {
        var s = ""
        for seg in segments {
            switch seg {
            case let .literal(t): s += t
            case let .capture(n): s += n == "*" ? "*" : "{\(n)}"
            case let .alternatives(a): s += "{" + a.joined(separator: ",") + "}"
            }
        }
        return prefix ? s + "*" : s
    }

    /// Every concrete pattern this one stands for, in order (last group varying fastest).
    public func expanded() -> [NamePattern] {
        if regex != nil { return [self] }
        return NamePattern.combinations(alternativeGroups.map(\.count)).map { choosing($0) }
    }

    /// All index tuples over groups of the given sizes, last varying fastest.
    static func combinations(_ sizes: [Int]) -> [[Int]] {
        var out: [[Int]] = [[]]
        for n in sizes {
            out = out.flatMap { prefix in (0..<n).map { prefix + [$0] } }
        }
        return out
    }

    // MARK: - Matching

    /// The captures of `name` if it matches (empty dictionary for a match without captures), nil
    /// otherwise. A pattern with alternative groups matches if any of its expansions does.
    public func match(_ name: String) -> [String: String]? {
        if let r = regex { return r.match(name) }
        var caps: [String: String] = [:]
        return name.utf8.withContiguousStorageIfAvailable { bytes in
            NamePattern.match(segments[...], bytes, 0, prefix: isPrefix, &caps) ? caps : nil
        } ?? {
            let bytes = Array(name.utf8)
            return bytes.withUnsafeBufferPointer { NamePattern.match(segments[...], $0, 0, prefix: isPrefix, &caps) } ? caps : nil
        }()
    }

    /// Matches `segs` against `bytes[pos...]`; alternatives are tried in order (backtracking),
    /// digit captures are greedy.
    private static func match(_ segs: ArraySlice<Segment>, _ bytes: UnsafeBufferPointer<UInt8>, _ pos: Int, prefix: Bool,
                              _ caps: inout [String: String]) -> Bool {
        guard let seg = segs.first else {
            if prefix {
                caps["*"] = String(decoding: UnsafeBufferPointer(rebasing: bytes[pos...]), as: UTF8.self)
                return true
            }
            return pos == bytes.count
        }
        let rest = segs.dropFirst()
        switch seg {
        case let .literal(t):
            guard hasLiteral(t, bytes, pos) else { return false }
            return match(rest, bytes, pos + t.utf8.count, prefix: prefix, &caps)
        case .capture("*"):
            // Any non-empty text, longest first.
            var end = bytes.count
            while end > pos {
                caps["*"] = String(decoding: UnsafeBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
                if match(rest, bytes, end, prefix: prefix, &caps) { return true }
                end -= 1
            }
            caps["*"] = nil
            return false
        case let .capture(n):
            var end = pos
            while end < bytes.count, bytes[end] >= 48, bytes[end] <= 57 { end += 1 }
            guard end > pos else { return false }
            let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
            let previous = caps[n]
            if let previous, previous != value { return false }
            caps[n] = value
            if match(rest, bytes, end, prefix: prefix, &caps) { return true }
            caps[n] = previous
            return false
        case let .alternatives(alts):
            for a in alts where hasLiteral(a, bytes, pos) {
                let saved = caps
                if match(rest, bytes, pos + a.utf8.count, prefix: prefix, &caps) { return true }
                caps = saved
            }
            return false
        }
    }

    private static func hasLiteral(_ t: String, _ bytes: UnsafeBufferPointer<UInt8>, _ pos: Int) -> Bool {
        var i = pos
        for b in t.utf8 {
            guard i < bytes.count, bytes[i] == b else { return false }
            i += 1
        }
        return true
    }

    public func matches(_ name: String) -> Bool { match(name) != nil }

    /// Names of `names` this pattern matches, in their order.
    public func matching<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        names.filter { matches($0) }
    }

    // MARK: - Templates

    /// Fills the captures into this pattern used as an output template. The pattern must have no
    /// alternative groups left (expand first) and must not be a regex; every capture it names must
    /// be in `captures`.
    public func render(_ captures: [String: String]) throws -> String {
        guard regex == nil else { throw OpsError.invalid("pattern '\(source)': a regular expression cannot be an output name") }
        var s = ""
        for seg in segments {
            switch seg {
            case let .literal(t): s += t
            case let .capture(n):
                guard let v = captures[n] else {
                    throw OpsError.invalid("pattern '\(source)': no value for {\(n)} (the input pattern does not capture it)")
                }
                s += v
            case .alternatives:
                throw OpsError.invalid("pattern '\(source)': alternatives must be expanded before filling in a name")
            }
        }
        if isPrefix {
            guard let rest = captures["*"] else {
                throw OpsError.invalid("pattern '\(source)': ends in '*' but the input pattern is not a prefix pattern")
            }
            s += rest
        }
        return s
    }

    /// Checks that `template` can be filled from this pattern's matches (same capture names) and
    /// that the two can be swapped (both non-regex), as an invertible name mapping needs.
    /// `extra` names captures only the template has (filled by the transform, e.g. `{E}`).
    /// `inputOnly` names captures only this pattern has (consumed by the transform).
    public func checkInvertible(with template: NamePattern, extra: Set<String> = [], inputOnly: Set<String> = []) throws {
        guard !isRegex, !template.isRegex else {
            throw OpsError.unsupported("'\(source)' -> '\(template.source)': a regular expression cannot be inverted; use {L}/{E}/'*' forms")
        }
        let mine = Set(captureNames).subtracting(inputOnly)
        guard mine.union(extra) == Set(template.captureNames), mine.isDisjoint(with: extra) else {
            throw OpsError.invalid("'\(source)' -> '\(template.source)': both sides must capture the same placeholders (\(captureNames.sorted()) vs \(template.captureNames.sorted()))")
        }
    }
}

/// Holds the compiled regex (NSRegularExpression is a class; Hashable by pattern text).
struct RegexBox: @unchecked Sendable, Hashable {
    let regex: NSRegularExpression
    let names: [String]

    init(_ regex: NSRegularExpression, names: [String]) {
        self.regex = regex
        self.names = names
    }

    static func == (a: RegexBox, b: RegexBox) -> Bool { a.regex.pattern == b.regex.pattern }
    func hash(into h: inout Hasher) { h.combine(regex.pattern) }

    func match(_ name: String) -> [String: String]? {
        let ns = name as NSString
        guard let m = regex.firstMatch(in: name, range: NSRange(location: 0, length: ns.length)) else { return nil }
        var caps: [String: String] = [:]
        if m.numberOfRanges > 1 {
            for g in 1..<m.numberOfRanges {
                let r = m.range(at: g)
                if r.location != NSNotFound { caps[String(g)] = ns.substring(with: r) }
            }
        }
        for n in names {
            let r = m.range(withName: n)
            if r.location != NSNotFound { caps[n] = ns.substring(with: r) }
        }
        return caps
    }
}

/// An input pattern paired with an output template, expanded into concrete pairs.
///
/// Pairing rule used by every transform that maps names: the alternative groups of the two sides
/// are matched positionally **from the end** (so `...{q,k,v}_proj.{weight,bias}` -> `...linear_qkv.{weight,bias}`
/// pairs `{weight,bias}` with `{weight,bias}`); groups must have the same number of choices. Input
/// groups left over at the front are the *parts* of a merge (`{q,k,v}`: 3 parts, `{gate,up}`: 2).
public struct PatternPairing: Sendable {
    /// One concrete output and, for each part, the concrete input pattern.
    public struct Pair: Sendable {
        public let parts: [NamePattern]
        public let output: NamePattern
    }

    public let pairs: [Pair]

    /// `parts` is the number of inputs each output is made of (1 for a rename, 3 for qkv, ...).
    /// With `parts > 1` the input needs exactly one extra leading group of `parts` choices.
    public init(input: NamePattern, output: NamePattern, parts: Int, extraOutputCaptures: Set<String> = [],
                inputOnlyCaptures: Set<String> = []) throws {
        try input.checkInvertible(with: output, extra: extraOutputCaptures, inputOnly: inputOnlyCaptures)
        let ig = input.alternativeGroups, og = output.alternativeGroups
        let extra = parts > 1 ? 1 : 0
        guard ig.count == og.count + extra else {
            let what = parts > 1
                ? "the input needs one leading group of \(parts) alternatives (the parts) plus one group per output group"
                : "both sides need the same alternative groups"
            throw OpsError.invalid("'\(input.source)' -> '\(output.source)': \(what) (input has \(ig.count), output has \(og.count))")
        }
        if extra == 1, ig[0].count != parts {
            throw OpsError.invalid("'\(input.source)': the parts group {\(ig[0].joined(separator: ","))} must have \(parts) alternatives")
        }
        for (a, b) in zip(ig.dropFirst(extra), og) where a.count != b.count {
            throw OpsError.invalid("'\(input.source)' -> '\(output.source)': groups {\(a.joined(separator: ","))} and {\(b.joined(separator: ","))} differ in size")
        }
        var result: [Pair] = []
        for combo in NamePattern.combinations(og.map(\.count)) {
            let out = output.choosing(combo)
            let ins = (0..<parts).map { p in input.choosing(extra == 1 ? [p] + combo : combo) }
            for i in ins { try i.checkInvertible(with: out, extra: extraOutputCaptures, inputOnly: inputOnlyCaptures) }
            result.append(Pair(parts: ins, output: out))
        }
        pairs = result
    }

    /// Explicit parts, each with the same groups as the output (for merges whose parts do not
    /// differ in one spot, e.g. `q_a_proj` + `kv_a_proj_with_mqa`).
    public init(parts: [NamePattern], output: NamePattern) throws {
        guard !parts.isEmpty else { throw OpsError.invalid("'\(output.source)': a merge needs at least one input") }
        var perPart: [[Pair]] = []
        for p in parts { perPart.append(try PatternPairing(input: p, output: output, parts: 1).pairs) }
        pairs = (0..<perPart[0].count).map { k in Pair(parts: perPart.map { $0[k].parts[0] }, output: perPart[0][k].output) }
    }
}
