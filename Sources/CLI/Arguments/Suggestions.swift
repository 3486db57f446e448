import DSL

/// "Did you mean ...?" for a mistyped option, command or config key (the recipe language's
/// distance, with option-specific preferences first).
enum OptionSuggestions {
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
            let d = Suggestions.distance(bare, strip(c))
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

    /// ` (did you mean X?)` or "".
    static func note(for given: String, among candidates: [String]) -> String {
        best(for: given, among: candidates).map { " (did you mean \($0)?)" } ?? ""
    }
}
