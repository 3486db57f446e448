import Foundation

/// Shard sizes as huggingface_hub's `parse_size_to_int` reads them: a number followed by `KB`,
/// `MB`, `GB` or `TB` (decimal: 1 GB = 10^9 bytes; case-insensitive; fractions allowed, the
/// product truncated), or a plain number of bytes.
public enum ShardSize {
    public static func parse(_ text: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let n = Int(t), n > 0 { return n }
        let units: [String: Double] = ["KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12]
        let unit = String(t.suffix(2)).uppercased()
        guard t.count > 2, let m = units[unit], let v = Double(t.dropLast(2).trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0,
              v * m < 9e18 else {
            throw OpsError.invalid("max_shard_size '\(text)' is not a size: write a number with KB, MB, GB or TB (\"4GB\", \"500MB\"), or a number of bytes")
        }
        let bytes = Int(v * m)
        guard bytes > 0 else { throw OpsError.invalid("max_shard_size '\(text)' is less than one byte") }
        return bytes
    }
}
