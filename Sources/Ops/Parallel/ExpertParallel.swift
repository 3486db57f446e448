/// Expert parallelism (§6): EP rank `e` keeps experts `e*per ..< (e+1)*per` (renumbered from 0)
/// of every name containing `.local_experts.{E}` (followed by `.` or the end); all other tensors
/// go to every rank. Requires `numExperts % ep == 0` (§9 Q19). Applied before TP and PP.
public struct ExpertParallel: Sendable {
    public let numExperts: Int
    public let ep: Int
    /// The path segment before the expert number.
    public let marker: String
    /// `.marker.` as bytes, looked for in every name.
    private let key: [UInt8]

    public init(numExperts: Int, ep: Int, marker: String = "local_experts") throws {
        guard ep > 0, numExperts > 0 else { throw OpsError.invalid("expert parallel: ep_size (\(ep)) and num_experts (\(numExperts)) must be > 0") }
        guard numExperts % ep == 0 else {
            throw OpsError.invalid("\(numExperts) experts do not split over ep_size=\(ep)")
        }
        self.numExperts = numExperts
        self.ep = ep
        self.marker = marker
        self.key = Array(("." + marker + ".").utf8)
    }

    public var expertsPerRank: Int { numExperts / ep }

    /// The expert number in `name` and where it sits, or nil for a non-expert name.
    public func expertIndex(in name: String) -> (Int, Range<String.Index>)? {
        // A byte scan: called for every name of a MoE layout (26,000 at the bench shape), where
        // Foundation's `range(of:)` was half the cost of the EP split.
        let u = name.utf8
        let found: (Int, Int, Int)? = u.withContiguousStorageIfAvailable { b in
            ExpertParallel.scan(b, for: key)
        } ?? Array(u).withUnsafeBufferPointer { ExpertParallel.scan($0, for: key) }
        guard let (n, start, end) = found else { return nil }
        return (n, u.index(u.startIndex, offsetBy: start)..<u.index(u.startIndex, offsetBy: end))
    }

    /// The first `key` followed by decimal digits and then `.` or the end of `b`: the number and
    /// the byte range of its digits.
    private static func scan(_ b: UnsafeBufferPointer<UInt8>, for key: [UInt8]) -> (Int, Int, Int)? {
        guard b.count > key.count else { return nil }
        var i = 0
        while i + key.count < b.count {
            var k = 0
            while k < key.count && b[i + k] == key[k] { k += 1 }
            if k == key.count {
                let start = i + k
                var end = start, n = 0
                while end < b.count, b[end] >= 0x30, b[end] <= 0x39, end - start < 18 {
                    n = n * 10 + Int(b[end] - 0x30)
                    end += 1
                }
                if end > start, end == b.count || b[end] == UInt8(ascii: ".") { return (n, start, end) }
            }
            i += 1
        }
        return nil
    }

    private func renumber(_ name: String, _ digits: Range<String.Index>, _ n: Int) -> String {
        var s = name
        s.replaceSubrange(digits, with: String(n))
        return s
    }

    /// The number of experts one EP rank's map holds (largest local expert number + 1; 0 when it
    /// has none), for mm_to_hf when the configuration does not say: `numExperts = ep * that`.
    public static func localExpertCount(in tensors: TensorMap, marker: String = "local_experts") throws -> Int {
        let probe = try ExpertParallel(numExperts: 1, ep: 1, marker: marker)
        return tensors.names.compactMap { probe.expertIndex(in: $0)?.0 }.max().map { $0 + 1 } ?? 0
    }

    /// One map per EP rank.
    public func split(_ tensors: TensorMap) throws -> [TensorMap] {
        var out = (0..<ep).map { _ in TensorMap(capacity: tensors.count / ep + 64) }
        let per = expertsPerRank
        for (name, t) in tensors {
            guard let (e, digits) = expertIndex(in: name) else {
                for r in 0..<ep { out[r][name] = t }
                continue
            }
            guard e < numExperts else {
                throw OpsError.tensor(name: name, message: "expert \(e) is outside 0..<\(numExperts)")
            }
            out[e / per][renumber(name, digits, e % per)] = t
        }
        return out
    }

    /// The inverse of `split`. Non-expert tensors must be in every rank with the same dtype and
    /// shape (rank 0's copy is kept); local expert numbers must be below `numExperts / ep`.
    public func merge(_ ranks: [TensorMap]) throws -> TensorMap {
        guard ranks.count == ep else { throw OpsError.invalid("expected \(ep) expert-parallel ranks, got \(ranks.count)") }
        let per = expertsPerRank
        var out = TensorMap(capacity: ranks.reduce(0) { $0 + $1.count })
        var shared: [String: Int] = [:]
        for (r, m) in ranks.enumerated() {
            for (name, t) in m {
                if let (e, digits) = expertIndex(in: name) {
                    guard e < per else {
                        throw OpsError.tensor(name: name, message: "EP rank \(r) holds local expert \(e), but each rank has \(per) experts")
                    }
                    out[renumber(name, digits, r * per + e)] = t
                } else if let prev = out[name] {
                    guard prev.shape == t.shape, prev.dtype == t.dtype else {
                        throw OpsError.tensor(name: name, message: "EP rank \(r) holds \(t), rank 0 holds \(prev)")
                    }
                    shared[name, default: 0] += 1
                } else {
                    guard r == 0 else { throw OpsError.tensor(name: name, message: "is in EP rank \(r) but not in EP rank 0") }
                    out[name] = t
                    shared[name] = 1
                }
            }
        }
        if let (name, _) = shared.first(where: { $0.value != ep }) {
            throw OpsError.tensor(name: name, message: "is missing from some expert-parallel ranks")
        }
        return out
    }
}
