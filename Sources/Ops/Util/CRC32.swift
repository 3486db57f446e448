import CarryLessCRC

/// CRC-32 (ISO-HDLC, the zip checksum): carry-less multiply folding where the CPU has it, else
/// slice-by-16.
///
/// Every byte of a .pt output goes through it, so it is the hot loop of `hf_to_mm` and `resplit`:
/// folding (CarryLessCRC, x86-64 with PCLMULQDQ) sums about 8x faster than the tables, and about
/// 4x more on 512-bit registers; the tables are the portable path and the tests' reference.
/// Sixteen tables (16 KiB, stays in L1) let one step consume 16 bytes with independent lookups,
/// and large inputs run three steps at a time on independent thirds.
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
        if CRC32.folding != .none && n >= 64 {
            let whole = n & ~15
            let bytes = p.assumingMemoryBound(to: UInt8.self)
            value = ~(CRC32.folding == .wide && whole >= 256
                ? carryless_crc32_fold_wide(~value, bytes, whole) : carryless_crc32_fold(~value, bytes, whole))
            p += whole
            n -= whole
        }
        // One chain of table lookups waits on the previous step's result; three independent
        // chains over three thirds of the input keep the CPU busy (2.4x here), and the thirds'
        // CRCs are then combined (a few hundred ns, so only for large inputs).
        if n >= CRC32.threeWayMinimum {
            let third = (n / 3) & ~15
            var a = ~value, b: UInt32 = 0xFFFF_FFFF, c: UInt32 = 0xFFFF_FFFF
            var k = 0
            while k < third {
                a = CRC32.step16(p + k, a)
                b = CRC32.step16(p + third + k, b)
                c = CRC32.step16(p + 2 * third + k, c)
                k += 16
            }
            value = CRC32.combine(CRC32.combine(~a, ~b, length: third), ~c, length: third)
            p += 3 * third
            n -= 3 * third
        }
        var c = ~value
        while n >= 16 {
            c = CRC32.step16(p, c)
            p += 16
            n -= 16
        }
        let t = CRC32.tables
        while n > 0 {
            c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (c >> 8)
            p += 1
            n -= 1
        }
        value = ~c
    }

    /// How `update` sums runs of 64 bytes and more.
    /// Ordered: a CPU that has one path has every path before it.
    enum Folding: Int, CaseIterable {
        /// The tables only (a CPU without carry-less multiplies).
        case none
        /// Carry-less multiplies on 128-bit registers (PCLMULQDQ).
        case sse
        /// On 512-bit registers (VPCLMULQDQ): about 4x the SSE fold, for runs of 256 bytes and more.
        case wide

        /// The fastest this CPU has.
        static let best: Folding = carryless_crc32_wide_available() != 0 ? .wide : carryless_crc32_available() != 0 ? .sse : .none

        /// Every path this CPU can run (tests compare them all).
        static var available: [Folding] { allCases.filter { $0.rawValue <= best.rawValue } }
    }

    /// The path `update` takes (tests switch it to compare every available one).
    nonisolated(unsafe) static var folding = Folding.best

    /// Inputs at least this long are summed as three interleaved streams.
    static let threeWayMinimum = 3 * 4096

    /// The running (inverted) CRC after 16 more bytes at `p`.
    @inline(__always)
    static func step16(_ p: UnsafeRawPointer, _ c: UInt32) -> UInt32 {
        let t = tables
        @inline(__always) func lookup(_ word: UInt32, _ table: Int) -> UInt32 {
            t[table * 256 + Int(word >> 24)] ^ t[(table + 1) * 256 + Int((word >> 16) & 0xff)]
                ^ t[(table + 2) * 256 + Int((word >> 8) & 0xff)] ^ t[(table + 3) * 256 + Int(word & 0xff)]
        }
        let a = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
        let b = (p + 4).loadUnaligned(as: UInt32.self).littleEndian
        let d = (p + 8).loadUnaligned(as: UInt32.self).littleEndian
        let e = (p + 12).loadUnaligned(as: UInt32.self).littleEndian
        return lookup(a, 12) ^ lookup(b, 8) ^ lookup(d, 4) ^ lookup(e, 0)
    }

    // MARK: Combining (polynomial arithmetic modulo the CRC polynomial, bit-reflected)

    /// The CRC of A followed by B, from the CRCs of A and B and the length of B (below 2^60).
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, length: Int) -> UInt32 {
        multiply(xPower8n(length), crcA) ^ crcB
    }

    /// a(x) * b(x) mod P(x); bit 31 is the coefficient of x^0.
    static func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31, product: UInt32 = 0, b = b
        while m != 0 {
            if a & m != 0 { product ^= b }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ 0xEDB8_8320 : b >> 1
        }
        return product
    }

    /// x^(2^k) mod P(x) for k = 0...63.
    static let powers: [UInt32] = {
        var out: [UInt32] = [1 << 30]  // x^1
        for _ in 1..<64 { out.append(multiply(out.last!, out.last!)) }
        return out
    }()

    /// x^(8n) mod P(x): appending n zero bytes multiplies a CRC by it.
    static func xPower8n(_ n: Int) -> UInt32 {
        var result: UInt32 = 1 << 31  // x^0
        var n = UInt64(n), k = 3      // 8n = n * 2^3
        while n != 0 {
            if n & 1 != 0 { result = multiply(powers[k], result) }
            n >>= 1
            k += 1
        }
        return result
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        bytes.withUnsafeBytes { c.update($0) }
        return c.value
    }
}
