#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-for-byte comparison of files (side files, indexes), through read-only mappings.
public enum FileComparison {
    /// nil when both files hold the same bytes, else what differs (sizes, first differing byte).
    public static func difference(_ a: String, _ b: String) throws -> String? {
        let x = try ByteStore(mapping: a)
        let y = try ByteStore(mapping: b)
        let common = min(x.count, y.count)
        var offset = 0
        let step = 1 << 20
        while offset < common {
            let n = min(step, common - offset)
            if memcmp(x.base + offset, y.base + offset, n) != 0 {
                var i = offset
                while x.base.load(fromByteOffset: i, as: UInt8.self) == y.base.load(fromByteOffset: i, as: UInt8.self) { i += 1 }
                let sizes = x.count == y.count ? "\(x.count) bytes each" : "\(x.count) vs \(y.count) bytes"
                return "contents differ (\(sizes)), first at byte \(i)"
            }
            offset += n
        }
        if x.count != y.count {
            return "\(x.count) vs \(y.count) bytes (one is a prefix of the other)"
        }
        return nil
    }

    /// Compares two sets of relative paths under two roots: files on one side only, and files
    /// whose bytes differ. Adds to `report` under `category`; returns the number of files compared.
    @discardableResult
    public static func compare(_ files: [String], in rootA: String, _ otherFiles: [String], in rootB: String,
                               category: VerifyCategory = .files, into report: inout VerifyReport) throws -> Int {
        let other = Set(otherFiles)
        let mine = Set(files)
        var compared = 0
        for f in files {
            guard other.contains(f) else { report.add(category, f, "only in A"); continue }
            if let d = try difference(rootA + "/" + f, rootB + "/" + f) { report.add(category, f, d) }
            compared += 1
        }
        for f in otherFiles where !mine.contains(f) { report.add(category, f, "only in B") }
        report.filesCompared += compared
        return compared
    }
}
