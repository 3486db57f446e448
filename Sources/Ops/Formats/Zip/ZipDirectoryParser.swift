/// Reads a zip's end records and central directory into entries, checking every offset and size
/// against the file so a corrupt archive gives a clear error.
struct ZipDirectoryParser {
    let store: ByteStore
    var path: String { store.name }
    var bytes: LittleEndianBytes { LittleEndianBytes(store.buffer) }

    static let eocdSignature: UInt32 = 0x0605_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let zip64EOCDSignature: UInt32 = 0x0606_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let localSignature: UInt32 = 0x0403_4b50

    func fail(_ message: String) -> OpsError { .format(path: path, message: message) }

    func parse() throws -> [ZipEntry] {
        let b = bytes
        guard let eocd = findEndOfCentralDirectory() else {
            if b.has(4, at: 0), b.u32(0) == Self.localSignature {
                throw fail("zip archive is truncated or corrupt: it starts like a zip but has no end of central directory record")
            }
            throw fail("not a zip archive (no end of central directory record found)")
        }
        var count = Int(b.u16(eocd + 10))
        var cdSize = Int(b.u32(eocd + 12))
        var cdOffset = Int(b.u32(eocd + 16))
        // A zip64 locator sits right before the end record.
        let locator = eocd - 20
        if locator >= 0, b.u32(locator) == Self.zip64LocatorSignature {
            let recordOffset64 = b.u64(locator + 8)
            guard recordOffset64 <= UInt64(Int.max), b.has(56, at: Int(recordOffset64)),
                  b.u32(Int(recordOffset64)) == Self.zip64EOCDSignature else {
                throw fail("zip64 end of central directory locator points to offset \(recordOffset64), where there is no zip64 end record")
            }
            let r = Int(recordOffset64)
            let count64 = b.u64(r + 32), size64 = b.u64(r + 40), offset64 = b.u64(r + 48)
            guard count64 < UInt64(Int32.max), size64 < UInt64(Int.max), offset64 < UInt64(Int.max) else {
                throw fail("zip64 end record has impossible values (entries \(count64), directory size \(size64), offset \(offset64))")
            }
            count = Int(count64)
            cdSize = Int(size64)
            cdOffset = Int(offset64)
        }
        guard b.has(cdSize, at: cdOffset) else {
            throw fail("central directory (\(cdSize) bytes at offset \(cdOffset)) lies outside the file (\(b.count) bytes): the file is truncated or corrupt")
        }
        // Each central record is at least 46 bytes: a count larger than that is a lie.
        guard count <= cdSize / 46 + 1 else {
            throw fail("zip end record declares \(count) entries, more than a \(cdSize)-byte central directory can hold")
        }
        // The central records first; then every local header at once (`readSmall(at:length:)`),
        // so a cold file's headers are read from disk in parallel.
        var records: [CentralRecord] = []
        records.reserveCapacity(count)
        var p = cdOffset
        let cdEnd = cdOffset + cdSize
        for i in 0..<count {
            guard p + 46 <= cdEnd, b.u32(p) == Self.centralSignature else {
                throw fail("central directory entry \(i) at offset \(p) is missing or corrupt (bad signature or past the directory end)")
            }
            let flags = Int(b.u16(p + 8))
            let method = Int(b.u16(p + 10))
            let crc = b.u32(p + 16)
            var compressed = UInt64(b.u32(p + 20))
            var size = UInt64(b.u32(p + 24))
            let nameLength = Int(b.u16(p + 28))
            let extraLength = Int(b.u16(p + 30))
            let commentLength = Int(b.u16(p + 32))
            var localOffset = UInt64(b.u32(p + 42))
            let next = p + 46 + nameLength + extraLength + commentLength
            guard next <= cdEnd else { throw fail("central directory entry \(i) at offset \(p) runs past the directory end") }
            let nameBytes = b.bytes(p + 46, nameLength)
            let name = String(decoding: nameBytes, as: UTF8.self)
            // zip64 extended information: only the fields whose 32-bit value is saturated, in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = b.u16(e), len = Int(b.u16(e + 2))
                guard e + 4 + len <= extraEnd else { throw fail("zip entry '\(name)' has a malformed extra field") }
                if id == 0x0001 {
                    var f = e + 4
                    func take() throws -> UInt64 {
                        guard f + 8 <= e + 4 + len else { throw fail("zip entry '\(name)' has a truncated zip64 extra field") }
                        defer { f += 8 }
                        return b.u64(f)
                    }
                    if size == 0xFFFF_FFFF { size = try take() }
                    if compressed == 0xFFFF_FFFF { compressed = try take() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try take() }
                }
                e += 4 + len
            }
            guard size <= UInt64(b.count), compressed <= UInt64(b.count), localOffset < UInt64(b.count) else {
                throw fail("zip entry '\(name)' declares size \(size) / compressed \(compressed) at offset \(localOffset), beyond the file (\(b.count) bytes)")
            }
            let lo = Int(localOffset)
            guard b.has(30, at: lo) else {
                throw fail("zip entry '\(name)': no local header at offset \(lo) (bad central directory offset)")
            }
            records.append(CentralRecord(name: name, method: method, flags: flags, crc32: crc, compressedSize: Int(compressed),
                                         size: Int(size), localHeaderOffset: lo))
            p = next
        }
        // Local headers lie all over the file: read them, do not touch the mapping.
        let heads = try store.readSmall(at: records.map(\.localHeaderOffset), length: 30)
        return try records.enumerated().map { i, r in try locateData(r, header: heads[(i * 30)..<(i * 30 + 30)]) }
    }

    /// An entry as the central directory gives it: where its data starts is in its local header.
    struct CentralRecord {
        let name: String
        let method: Int, flags: Int
        let crc32: UInt32
        let compressedSize: Int, size: Int
        let localHeaderOffset: Int
    }

    /// The entry, with its data offset from its 30-byte local header.
    func locateData(_ r: CentralRecord, header h: ArraySlice<UInt8>) throws -> ZipEntry {
        let lo = r.localHeaderOffset, at = h.startIndex
        let signature = UInt32(h[at]) | UInt32(h[at + 1]) << 8 | UInt32(h[at + 2]) << 16 | UInt32(h[at + 3]) << 24
        guard signature == Self.localSignature else {
            throw fail("zip entry '\(r.name)': no local header at offset \(lo) (bad central directory offset)")
        }
        let dataOffset = lo + 30 + (Int(h[at + 26]) | Int(h[at + 27]) << 8) + (Int(h[at + 28]) | Int(h[at + 29]) << 8)
        let extent = r.method == 0 ? r.size : r.compressedSize
        guard bytes.has(extent, at: dataOffset) else {
            throw fail("zip entry '\(r.name)' (\(extent) bytes at offset \(dataOffset)) extends past the end of the file (\(bytes.count) bytes): the file is truncated")
        }
        return ZipEntry(name: r.name, method: r.method, flags: r.flags, crc32: r.crc32, compressedSize: r.compressedSize,
                        size: r.size, localHeaderOffset: lo, dataOffset: dataOffset)
    }

    /// The end record is the last 22+ bytes; a comment of up to 64 KiB may follow it.
    func findEndOfCentralDirectory() -> Int? {
        let b = bytes
        guard b.count >= 22 else { return nil }
        let lowest = max(0, b.count - 22 - 0xFFFF)
        var p = b.count - 22
        while p >= lowest {
            if b.u32(p) == Self.eocdSignature, p + 22 + Int(b.u16(p + 20)) <= b.count { return p }
            p -= 1
        }
        return nil
    }
}
