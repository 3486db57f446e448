/// CRC-32 (ISO-HDLC, the zip checksum), slice-by-16.
///
/// Every byte of a .pt output goes through it, so it is the hot loop of `hf_to_mm` and `resplit`:
/// sixteen tables (16 KiB, stays in L1) let one step consume 16 bytes with independent lookups.
public struct CRC32 {
    public private(set) var value: UInt32 = 0

    public init() {}

    /// Table k maps a byte to its CRC contribution when followed by k zero bytes.
    static let tables: UnsafePointer<UInt32> = {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 16 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<16 {
            for i in 0..<256 {
                let p = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (p >> 8) ^ t[Int(p & 0xff)]
            }
        }
        return UnsafePointer(t)
    }()

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress else { return }
        var n = bytes.count
        var c = ~value
        let t = CRC32.tables
        @inline(__always) func lookup(_ word: UInt32, _ table: Int) -> UInt32 {
            t[table * 256 + Int(word >> 24)] ^ t[(table + 1) * 256 + Int((word >> 16) & 0xff)]
                ^ t[(table + 2) * 256 + Int((word >> 8) & 0xff)] ^ t[(table + 3) * 256 + Int(word & 0xff)]
        }
        while n >= 16 {
            let a = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
            let b = (p + 4).loadUnaligned(as: UInt32.self).littleEndian
            let d = (p + 8).loadUnaligned(as: UInt32.self).littleEndian
            let e = (p + 12).loadUnaligned(as: UInt32.self).littleEndian
            c = lookup(a, 12) ^ lookup(b, 8) ^ lookup(d, 4) ^ lookup(e, 0)
            p += 16
            n -= 16
        }
        while n > 0 {
            c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (c >> 8)
            p += 1
            n -= 1
        }
        value = ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        bytes.withUnsafeBytes { c.update($0) }
        return c.value
    }
}
