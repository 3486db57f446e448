import Foundation

/// The coordinates of one Megatron / MindSpeed-MM rank directory.
public struct MMRank: Hashable, Comparable, CustomStringConvertible, Sendable {
    public let tp: Int
    public let pp: Int
    public let ep: Int

    public init(tp: Int, pp: Int = 0, ep: Int = 0) {
        self.tp = tp
        self.pp = pp
        self.ep = ep
    }

    /// Directory order: tp, then pp, then ep.
    public static func < (a: MMRank, b: MMRank) -> Bool { (a.tp, a.pp, a.ep) < (b.tp, b.pp, b.ep) }

    public var description: String { "tp \(tp), pp \(pp), ep \(ep)" }

    /// `mp_rank_{tp:02d}`, then `_{pp:03d}` only when ppSize > 1, then `_{ep:03d}` only when epSize > 1.
    public func directoryName(ppSize: Int, epSize: Int) -> String {
        var name = "mp_rank_" + MMRank.pad(tp, 2)
        if ppSize > 1 { name += "_" + MMRank.pad(pp, 3) }
        if epSize > 1 { name += "_" + MMRank.pad(ep, 3) }
        return name
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

/// Which checkpoint of a Megatron directory the tracker file points at.
public enum MMIteration: Equatable, Sendable {
    case release
    case iteration(Int)

    /// `release` or `iter_{n:07d}`.
    public var directoryName: String {
        switch self {
        case .release: return "release"
        case let .iteration(n): return "iter_" + MMRank.pad(n, 7)
        }
    }

    /// The tracker file's content (no trailing newline).
    public var trackerText: String {
        switch self {
        case .release: return "release"
        case let .iteration(n): return String(n)
        }
    }

    /// Parses the tracker file's content (whitespace trimmed).
    public init?(trackerText: String) {
        let t = trackerText.trimmingCharacters(in: .whitespacesAndNewlines)
        if t == "release" { self = .release; return }
        guard let n = Int(t), n >= 0 else { return nil }
        self = .iteration(n)
    }
}
