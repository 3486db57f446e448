/// "Did you mean ...?" for a mistyped option, command or config key.
enum Suggestions {
    /// The candidate the user most likely meant, or nil when nothing is close.
    ///
    /// Tries, in order: the same dotted tail (`--tp_size` -> `--cfg.parallel_config.tp_size`),
    /// the same last component under another group, then the nearest by edit distance.
    static func best(for given: String, among candidates: [String]) -> String? {
        let bare = strip(given)
        guard !bare.isEmpty else { return nil }
        let tails = candidates.filter { strip($0).hasSuffix("." + bare) }
        if tails.count == 1 { return tails[0] }
        let last = bare.split(separator: ".").last.map(String.init) ?? bare
        let sameLast = candidates.filter { strip($0).split(separator: ".").last.map(String.init) == last }
        if sameLast.count == 1 { return sameLast[0] }
        var best: (String, Int)?
        for c in candidates {
            let d = distance(bare, strip(c))
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (c, d) = best else { return nil }
        return d <= max(2, bare.count / 4) ? c : nil
    }

    static func strip(_ s: String) -> String {
        var t = Substring(s)
        while t.first == "-" { t = t.dropFirst() }
        if t.last == "+" { t = t.dropLast() }
        return String(t)
    }

    /// Levenshtein distance over characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }

    /// ` (did you mean X?)` or "".
    static func note(for given: String, among candidates: [String]) -> String {
        best(for: given, among: candidates).map { " (did you mean \($0)?)" } ?? ""
    }
}
