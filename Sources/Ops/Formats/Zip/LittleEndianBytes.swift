/// Bounds-checked little-endian reads from a byte buffer (zip records, pickle operands).
///
/// Every read checks the remaining length first, so a truncated or hostile file gives an error
/// instead of a read past the end.
struct LittleEndianBytes {
    let buffer: UnsafeRawBufferPointer

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var count: Int { buffer.count }

    func has(_ n: Int, at offset: Int) -> Bool {
        offset >= 0 && n >= 0 && offset <= buffer.count && n <= buffer.count - offset
    }

    func u8(_ o: Int) -> UInt8 { buffer[o] }
    func u16(_ o: Int) -> UInt16 { UInt16(buffer[o]) | UInt16(buffer[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 {
        UInt32(buffer[o]) | UInt32(buffer[o + 1]) << 8 | UInt32(buffer[o + 2]) << 16 | UInt32(buffer[o + 3]) << 24
    }
    func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
    func bytes(_ o: Int, _ n: Int) -> [UInt8] { Array(UnsafeRawBufferPointer(rebasing: buffer[o..<(o + n)])) }
}

/// Little-endian appends for building headers.
extension Array where Element == UInt8 {
    mutating func appendLE16(_ v: Int) { append(UInt8(truncatingIfNeeded: v)); append(UInt8(truncatingIfNeeded: v >> 8)) }
    mutating func appendLE32(_ v: Int) { for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func appendLE32(_ v: UInt32) { appendLE32(Int(v)) }
    mutating func appendLE64(_ v: Int) { for i in 0..<8 { append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}
