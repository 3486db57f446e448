/// Writes a zip archive sequentially, laid out as torch.save (PyTorchStreamWriter over miniz) does.
///
/// Every entry is stored, its data starts on a 64-byte boundary (padded with an `FB` extra field in
/// the local header), its CRC-32 and sizes follow in a data descriptor, and the archive always ends
/// with zip64 end records. Sizes or offsets of 4 GiB and more get zip64 extra fields. Data is
/// streamed, so an entry is never held in memory.
public final class ZipWriter {
    public let out: OutputFile
    /// Data alignment of every entry (torch's `kFieldAlignment`).
    public static let alignment = 64

    struct Record {
        let name: [UInt8]
        let crc: UInt32
        let size: Int
        let localOffset: Int
        let flags: Int
    }
    private var records: [Record] = []
    private var finished = false

    /// CRC-32 of every entry, in writing order.
    public var entryCRCs: [UInt32] { records.map(\.crc) }
    /// CRC-32 of the entries written with a data descriptor (the non-empty ones): torch derives
    /// its serialization id from the CRCs it sees in data descriptors.
    public var descriptorCRCs: [UInt32] { records.filter { $0.size > 0 }.map(\.crc) }
    public var entryNames: [String] { records.map { String(decoding: $0.name, as: UTF8.self) } }

    /// Sizes and offsets from this value on need zip64 fields (0xFFFFFFFF; lowered only by tests).
    let zip64Threshold: Int
    /// The file offset where the archive starts. Every offset the archive records, and the
    /// 64-byte alignment of entry data, are relative to it: an archive written in the middle of a
    /// file (a DCP item) reads correctly from its own byte range, as torch.save to a stream does.
    public let base: Int

    /// An archive starting at the file's current offset.
    public init(_ out: OutputFile) {
        self.out = out
        self.zip64Threshold = 0xFFFF_FFFF
        self.base = out.offset
    }

    init(_ out: OutputFile, zip64Threshold: Int) {
        self.out = out
        self.zip64Threshold = zip64Threshold
        self.base = out.offset
    }

    /// The archive's offset of the next byte written.
    var position: Int { out.offset - base }

    /// Adds a stored entry of `size` bytes; `body` must write exactly that many bytes to the file.
    public func addEntry(name: String, size: Int, _ body: (OutputFile) throws -> Void) throws {
        precondition(!finished, "entry added after the central directory")
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 0xFFFF else { throw OpsError.invalid("zip entry name too long: \(name.prefix(80))...") }
        let localOffset = position
        let big = size >= zip64Threshold
        let farOffset = localOffset >= zip64Threshold
        var zip64: [UInt8] = []
        if big || farOffset {
            zip64.appendLE16(0x0001)
            zip64.appendLE16((big ? 16 : 0) + (farOffset ? 8 : 0))
            // miniz writes the local copy before the data, when the compressed size is still 0.
            if big { zip64.appendLE64(size); zip64.appendLE64(0) }
            if farOffset { zip64.appendLE64(localOffset) }
        }
        // miniz writes an empty entry without a data descriptor (flag bit 3 clear).
        let flags = size == 0 ? 0x0800 : 0x0808
        let start = localOffset + 30 + nameBytes.count + zip64.count + 4
        let padding = (ZipWriter.alignment - start % ZipWriter.alignment) % ZipWriter.alignment
        var header: [UInt8] = []
        header.reserveCapacity(30 + nameBytes.count + zip64.count + 4 + padding)
        header.appendLE32(0x0403_4b50)
        header.appendLE16(0)        // version needed (miniz: 0 for stored)
        header.appendLE16(flags)    // bit 3: data descriptor follows; bit 11: UTF-8 name
        header.appendLE16(0)        // stored
        header.appendLE16(0)        // time
        header.appendLE16(0)        // date
        header.appendLE32(0)        // crc, sizes: in the data descriptor
        header.appendLE32(0)
        header.appendLE32(0)
        header.appendLE16(nameBytes.count)
        header.appendLE16(zip64.count + 4 + padding)
        header += nameBytes
        header += zip64
        header += [0x46, 0x42]      // "FB"
        header.appendLE16(padding)
        header += [UInt8](repeating: 0x5A, count: padding)  // "Z"
        try out.write(header)
        let dataStart = out.offset
        out.startChecksum()
        try body(out)
        let crc = out.finishChecksum()
        let written = out.offset - dataStart
        guard written == size else {
            throw OpsError.io(path: out.path, message: "zip entry '\(name)' declared \(size) bytes but \(written) were written")
        }
        records.append(Record(name: nameBytes, crc: crc, size: size, localOffset: localOffset, flags: flags))
        if size == 0 { return }
        var descriptor: [UInt8] = []
        descriptor.appendLE32(0x0807_4b50)
        descriptor.appendLE32(crc)
        if zip64.isEmpty {
            descriptor.appendLE32(size)
            descriptor.appendLE32(size)
        } else {
            descriptor.appendLE64(size)
            descriptor.appendLE64(size)
        }
        try out.write(descriptor)
    }

    /// Adds a small entry from memory.
    public func addEntry(name: String, bytes: [UInt8]) throws {
        try addEntry(name: name, size: bytes.count) { try $0.write(bytes) }
    }

    /// Writes the central directory and the end records. The caller closes the file.
    public func finish() throws {
        precondition(!finished, "zip finished twice")
        finished = true
        let cdOffset = position
        for r in records {
            let big = r.size >= zip64Threshold
            let far = r.localOffset >= zip64Threshold
            var zip64: [UInt8] = []
            if big || far {
                zip64.appendLE16(0x0001)
                zip64.appendLE16((big ? 16 : 0) + (far ? 8 : 0))
                if big { zip64.appendLE64(r.size); zip64.appendLE64(r.size) }
                if far { zip64.appendLE64(r.localOffset) }
            }
            var h: [UInt8] = []
            h.appendLE32(0x0201_4b50)
            h.appendLE16(0)         // made by
            h.appendLE16(0)         // needed
            h.appendLE16(r.flags)
            h.appendLE16(0)         // stored
            h.appendLE16(0)
            h.appendLE16(0)
            h.appendLE32(r.crc)
            h.appendLE32(big ? 0xFFFF_FFFF : r.size)
            h.appendLE32(big ? 0xFFFF_FFFF : r.size)
            h.appendLE16(r.name.count)
            h.appendLE16(zip64.count)
            h.appendLE16(0)         // comment
            h.appendLE16(0)         // disk
            h.appendLE16(0)         // internal attributes
            h.appendLE32(0)         // external attributes
            h.appendLE32(far ? 0xFFFF_FFFF : r.localOffset)
            h += r.name
            h += zip64
            try out.write(h)
        }
        let cdSize = position - cdOffset
        let zip64RecordOffset = position
        var e: [UInt8] = []
        e.appendLE32(0x0606_4b50)
        e.appendLE64(44)
        e.appendLE16(0x031E)        // made by: unix, 3.0
        e.appendLE16(0x002D)        // needed: 4.5 (zip64)
        e.appendLE32(0)
        e.appendLE32(0)
        e.appendLE64(records.count)
        e.appendLE64(records.count)
        e.appendLE64(cdSize)
        e.appendLE64(cdOffset)
        e.appendLE32(0x0706_4b50)
        e.appendLE32(0)
        e.appendLE64(zip64RecordOffset)
        e.appendLE32(1)
        e.appendLE32(0x0605_4b50)
        e.appendLE16(0)
        e.appendLE16(0)
        e.appendLE16(min(records.count, 0xFFFF))
        e.appendLE16(min(records.count, 0xFFFF))
        e.appendLE32(min(cdSize, 0xFFFF_FFFF))
        e.appendLE32(min(cdOffset, 0xFFFF_FFFF))
        e.appendLE16(0)
        try out.write(e)
    }
}
