/// CRC-32 (ISO-HDLC, the zip checksum), slice-by-8.
public struct CRC32 {
    public private(set) var value: UInt32 = 0

    public init() {}

    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    /// Flat copy of the tables for the hot loop (no nested array bounds checks).
    static let flat: [UInt32] = tables.flatMap { $0 }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress else { return }
        var n = bytes.count
        var c = ~value
        CRC32.flat.withUnsafeBufferPointer { t in
            let t = t.baseAddress!
            while n >= 8 {
                let lo = p.loadUnaligned(as: UInt32.self) ^ c
                let hi = (p + 4).loadUnaligned(as: UInt32.self)
                c = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                  ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                  ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                  ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        value = ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        bytes.withUnsafeBytes { c.update($0) }
        return c.value
    }
}
