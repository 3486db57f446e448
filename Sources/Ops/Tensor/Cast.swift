/// Element-wise conversion between floating point formats, bit-exact where the target can represent
/// the value, round-to-nearest-even otherwise (as torch does).
public enum Cast {
    static let floats: Set<DType> = [.f64, .f32, .f16, .bf16]

    public static func isSupported(from: DType, to: DType) -> Bool {
        from == to || (floats.contains(from) && floats.contains(to))
    }

    /// Converts `count` elements from `src` to `dst`. Only for supported pairs.
    public static func convert(_ src: UnsafeRawPointer, from: DType, to dst: UnsafeMutableRawPointer, as target: DType, count: Int) {
        if from == target { dst.copyMemory(from: src, byteCount: count * from.size); return }
        switch (from, target) {
        case (.bf16, .f32):
            for i in 0..<count {
                let b = src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
                dst.storeBytes(of: UInt32(b) << 16, toByteOffset: i * 4, as: UInt32.self)
            }
        case (.f32, .bf16):
            for i in 0..<count {
                let f = src.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                dst.storeBytes(of: bf16(fromBits: f), toByteOffset: i * 2, as: UInt16.self)
            }
        default:
            for i in 0..<count {
                let v = load(src, i, from)
                store(v, dst, i, target)
            }
        }
    }

    /// f32 bits -> bf16 bits, round to nearest even, NaN kept quiet.
    static func bf16(fromBits f: UInt32) -> UInt16 {
        if (f & 0x7fff_ffff) > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (f >> 16) | 0x40) }
        let rounding = 0x7fff + ((f >> 16) & 1)
        return UInt16(truncatingIfNeeded: (f &+ rounding) >> 16)
    }

    static func load(_ p: UnsafeRawPointer, _ i: Int, _ t: DType) -> Double {
        switch t {
        case .f64: return p.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
        case .f32: return Double(p.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
        case .f16: return Double(Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
        case .bf16: return Double(Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16))
        default: return 0
        }
    }

    static func store(_ v: Double, _ p: UnsafeMutableRawPointer, _ i: Int, _ t: DType) {
        switch t {
        case .f64: p.storeBytes(of: v, toByteOffset: i * 8, as: Double.self)
        case .f32: p.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
        case .f16: p.storeBytes(of: Float16(Float(v)).bitPattern, toByteOffset: i * 2, as: UInt16.self)
        case .bf16: p.storeBytes(of: bf16(fromBits: Float(v).bitPattern), toByteOffset: i * 2, as: UInt16.self)
        default: break
        }
    }

    /// Element `i` of a buffer as a Double, for statistics and display (any dtype).
    public static func value(_ p: UnsafeRawPointer, _ i: Int, _ t: DType) -> Double {
        switch t {
        case .f64, .f32, .f16, .bf16: return load(p, i, t)
        case .i64: return Double(p.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        case .i32: return Double(p.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        case .i16: return Double(p.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
        case .i8: return Double(p.loadUnaligned(fromByteOffset: i, as: Int8.self))
        case .u8, .bool: return Double(p.loadUnaligned(fromByteOffset: i, as: UInt8.self))
        case .f8e4m3: return f8(p.loadUnaligned(fromByteOffset: i, as: UInt8.self), expBits: 4, bias: 7, fn: true)
        case .f8e5m2: return f8(p.loadUnaligned(fromByteOffset: i, as: UInt8.self), expBits: 5, bias: 15, fn: false)
        case .u16: return Double(p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .u32: return Double(p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        case .u64: return Double(p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
        }
    }

    static func f8(_ b: UInt8, expBits: Int, bias: Int, fn: Bool) -> Double {
        let manBits = 7 - expBits
        let sign: Double = (b & 0x80) != 0 ? -1 : 1
        let e = Int((b >> manBits) & UInt8((1 << expBits) - 1))
        let m = Int(b & UInt8((1 << manBits) - 1))
        let maxE = (1 << expBits) - 1
        if fn { if e == maxE && m == (1 << manBits) - 1 { return .nan } }
        else if e == maxE { return m == 0 ? sign * .infinity : .nan }
        if e == 0 { return sign * Double(m) / Double(1 << manBits) * pow2(1 - bias) }
        return sign * (1 + Double(m) / Double(1 << manBits)) * pow2(e - bias)
    }

    static func pow2(_ e: Int) -> Double { e >= 0 ? Double(1 << e) : 1 / Double(1 << -e) }
}
