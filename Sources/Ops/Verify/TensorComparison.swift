import Foundation

/// Two tensors that should be equal, and the name they are reported under.
public struct TensorPair {
    public let subject: String
    public let a: Tensor
    public let b: Tensor

    public init(subject: String, a: Tensor, b: Tensor) {
        self.subject = subject
        self.a = a
        self.b = b
    }
}

/// Compares tensors by name, dtype, shape and bytes, adding what differs to a report.
public struct TensorComparison {
    public var workers: Int
    public var blockBytes: Int

    public init(workers: Int = ParallelJobs.defaultWorkers, blockBytes: Int = 4 << 20) {
        self.workers = workers
        self.blockBytes = blockBytes
    }

    /// Pairs the tensors of two maps by name; names on one side only are reported. Pairs keep
    /// the first map's order; subjects are `prefix + name`.
    public static func pair(_ a: TensorMap, _ b: TensorMap, prefix: String = "", into report: inout VerifyReport) -> [TensorPair] {
        var pairs: [TensorPair] = []
        for (name, t) in a {
            if let u = b[name] { pairs.append(TensorPair(subject: prefix + name, a: t, b: u)) }
            else { report.add(.onlyInFirst, prefix + name, "\(t.dtype.rawValue)\(t.shape)") }
        }
        for (name, u) in b where !a.contains(name) {
            report.add(.onlyInSecond, prefix + name, "\(u.dtype.rawValue)\(u.shape)")
        }
        return pairs
    }

    /// Checks dtype and shape of every pair, then the bytes of those that agree (several tensors
    /// at once, largest first). Differences are added in the pairs' order.
    public func compare(_ pairs: [TensorPair], into report: inout VerifyReport) throws {
        var byteJobs: [Int] = []
        for (i, p) in pairs.enumerated() {
            if p.a.dtype != p.b.dtype {
                report.add(.dtype, p.subject, "\(p.a.dtype.rawValue) vs \(p.b.dtype.rawValue)" + (p.a.shape == p.b.shape ? "" : " (shapes \(p.a.shape) vs \(p.b.shape))"))
            } else if p.a.shape != p.b.shape {
                report.add(.shape, p.subject, "\(p.a.shape) vs \(p.b.shape)")
            } else {
                byteJobs.append(i)
            }
        }
        let results = Results(count: pairs.count)
        let comparer = TensorBytesComparison(blockBytes: blockBytes)
        try ParallelJobs.run(byteJobs.map { i in
            (cost: pairs[i].a.byteCount, work: {
                let m = try comparer.compare(pairs[i].a, pairs[i].b)
                results.set(i, m)
            })
        }, workers: workers)
        for i in byteJobs {
            report.tensorsCompared += 1
            report.bytesCompared += pairs[i].a.byteCount
            if let m = results.get(i) { report.add(.bytes, pairs[i].subject, m.description) }
        }
        report.tensorsCompared += pairs.count - byteJobs.count
    }

    /// Pairs two maps by name and compares every pair.
    public func compare(_ a: TensorMap, _ b: TensorMap, prefix: String = "", into report: inout VerifyReport) throws {
        try compare(Self.pair(a, b, prefix: prefix, into: &report), into: &report)
    }

    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [ByteMismatch?]
        init(count: Int) { items = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ m: ByteMismatch?) { lock.lock(); items[i] = m; lock.unlock() }
        func get(_ i: Int) -> ByteMismatch? { lock.lock(); defer { lock.unlock() }; return items[i] }
    }
}
