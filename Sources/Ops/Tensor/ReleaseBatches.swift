/// Small released ranges of one mapped file, gathered into batches by where they lie.
///
/// A batch holds ranges within `batchSpan` bytes of each other and is released (its ranges merged)
/// once it spans `batchSpan` or holds `batchRanges` ranges. Several batches are kept, one per
/// region being read: two workers walking the two EP halves of the same fused expert tensor
/// release ranges 16 MB apart, and a single batch bounded by span would have been released on
/// every call (25,000 `madvise` calls for a 26,000-tensor MoE conversion). The batch is bounded
/// by the span of file it covers, not by its bytes: touching a small tensor maps the whole large
/// page-cache folio around it, so a few small tensors scattered among large ones (a Wan block's
/// norms and biases) would otherwise hold hundreds of MB mapped before adding up to a batch. At
/// most `maxBatches` are open; a new region releases the oldest. A released batch is one call per
/// run of ranges less than `joinGap` apart: the gaps (another TP rank's rows between one rank's
/// expert slices) are released too, which costs a reader of them at most a minor fault, while a
/// call per 64 KB slice cost 7,800 calls, each an IPI to the other core.
struct ReleaseBatches {
    static let batchSpan = 8 << 20
    static let batchRanges = 256
    static let maxBatches = 4
    /// Ranges at least this long are released at once, not batched.
    static let batchedMaximum = 1 << 20
    /// Released ranges closer than this are released as one.
    static let joinGap = 1 << 20

    private var batches: [(ranges: [Range<Int>], span: Range<Int>)] = []

    /// Adds `range`; returns the merged ranges to release now.
    mutating func add(_ range: Range<Int>) -> [Range<Int>] {
        let reach = ReleaseBatches.batchSpan
        if let i = batches.firstIndex(where: { range.lowerBound >= $0.span.lowerBound - reach && range.upperBound <= $0.span.upperBound + reach }) {
            batches[i].ranges.append(range)
            let span = batches[i].span
            batches[i].span = min(span.lowerBound, range.lowerBound)..<max(span.upperBound, range.upperBound)
            if batches[i].span.count >= reach || batches[i].ranges.count >= ReleaseBatches.batchRanges {
                return ReleaseBatches.merged(batches.remove(at: i).ranges, joiningGapsBelow: ReleaseBatches.joinGap)
            }
            return []
        }
        batches.append(([range], range))
        if batches.count > ReleaseBatches.maxBatches {
            return ReleaseBatches.merged(batches.removeFirst().ranges, joiningGapsBelow: ReleaseBatches.joinGap)
        }
        return []
    }

    /// Ranges still waiting, merged (what `add` has not returned yet).
    var waiting: [Range<Int>] { ReleaseBatches.merged(batches.flatMap(\.ranges)) }

    /// `ranges` sorted, with overlapping and touching ones (and those less than `gap` apart) joined.
    static func merged(_ ranges: [Range<Int>], joiningGapsBelow gap: Int = 1) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound < last.upperBound + gap {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }
}
