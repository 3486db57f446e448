/// What kind of difference `verify` found; the order of the cases is the order of the report.
public enum VerifyCategory: String, CaseIterable, Sendable {
    /// Parallel sizes, tracker, rank files, shard files and tensor placement.
    case layout
    /// Tensors present in the first checkpoint only.
    case onlyInFirst = "only_in_first"
    /// Tensors present in the second checkpoint only.
    case onlyInSecond = "only_in_second"
    case dtype
    case shape
    /// Same name, dtype and shape, different element bytes.
    case bytes
    /// Non-tensor values of torch files: `iteration`, `checkpoint_version`, `args` fields ...
    case entries
    /// Side files and the index of Hugging Face directories.
    case files

    /// The heading of the category in the text report.
    public var title: String {
        switch self {
        case .layout: return "layout differs"
        case .onlyInFirst: return "tensors only in A"
        case .onlyInSecond: return "tensors only in B"
        case .dtype: return "dtypes differ"
        case .shape: return "shapes differ"
        case .bytes: return "bytes differ"
        case .entries: return "non-tensor entries differ"
        case .files: return "files differ"
        }
    }
}

/// One difference: what it concerns (a tensor name, a file, an entry path) and how it differs.
public struct VerifyDifference: Equatable, Sendable, CustomStringConvertible {
    public let category: VerifyCategory
    public let subject: String
    public let detail: String

    public init(_ category: VerifyCategory, _ subject: String, _ detail: String) {
        self.category = category
        self.subject = subject
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? subject : "\(subject): \(detail)" }
}

/// The outcome of comparing two checkpoints: every difference found, plus what was compared (so
/// "identical" can be told apart from "nothing was compared").
public struct VerifyReport: Sendable {
    /// A one-line description of each side (kind, path, tensor count).
    public var first: String
    public var second: String
    public var differences: [VerifyDifference] = []
    public var tensorsCompared = 0
    public var bytesCompared = 0
    public var filesCompared = 0

    public init(first: String, second: String) {
        self.first = first
        self.second = second
    }

    public var isIdentical: Bool { differences.isEmpty }

    public func differences(in category: VerifyCategory) -> [VerifyDifference] {
        differences.filter { $0.category == category }
    }

    mutating func add(_ category: VerifyCategory, _ subject: String, _ detail: String) {
        differences.append(VerifyDifference(category, subject, detail))
    }

    /// The human-readable report: both sides, then per category its count and its first `limit`
    /// differences, then a summary line.
    public func text(limit: Int = 20) -> [String] {
        var lines = ["A: \(first)", "B: \(second)"]
        let compared = "\(tensorsCompared) tensors (\(Progress.size(bytesCompared)))" + (filesCompared > 0 ? " and \(filesCompared) files" : "")
        if isIdentical {
            lines.append("identical: \(compared) compared")
            return lines
        }
        for c in VerifyCategory.allCases {
            let items = differences(in: c)
            if items.isEmpty { continue }
            lines.append("\(c.title) (\(items.count)):")
            for d in items.prefix(limit) { lines.append("  \(d)") }
            if items.count > limit { lines.append("  ... and \(items.count - limit) more") }
        }
        let counts = VerifyCategory.allCases.compactMap { c -> String? in
            let n = differences(in: c).count
            return n == 0 ? nil : "\(n) \(c.rawValue)"
        }
        lines.append("different: \(differences.count) difference(s) (\(counts.joined(separator: ", "))); \(compared) compared")
        return lines
    }

    /// The machine-readable report: `identical`, both sides, what was compared, and per category
    /// `count` and the first `limit` items (`subject`, `detail`).
    public func json(limit: Int = 100) -> Value {
        var categories: [(String, Value)] = []
        for c in VerifyCategory.allCases {
            let items = differences(in: c)
            if items.isEmpty { continue }
            categories.append((c.rawValue, .dict([
                ("count", .int(items.count)),
                ("items", .list(items.prefix(limit).map { .dict([("subject", .string($0.subject)), ("detail", .string($0.detail))]) })),
            ])))
        }
        return .dict([
            ("identical", .bool(isIdentical)),
            ("a", .string(first)),
            ("b", .string(second)),
            ("tensors_compared", .int(tensorsCompared)),
            ("bytes_compared", .int(bytesCompared)),
            ("files_compared", .int(filesCompared)),
            ("difference_count", .int(differences.count)),
            ("differences", .dict(categories)),
        ])
    }
}
