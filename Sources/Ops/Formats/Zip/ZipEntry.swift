/// One file of a zip archive, as its central directory describes it, with the data position
/// resolved from its local header.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 = stored; anything else is compressed and refused when read.
    public let method: Int
    /// General purpose flags (bit 0 = encrypted, bit 3 = data descriptor, bit 11 = UTF-8).
    public let flags: Int
    public let crc32: UInt32
    public let compressedSize: Int
    public let size: Int
    public let localHeaderOffset: Int
    /// Absolute file offset of the entry's first data byte.
    public let dataOffset: Int

    public var isEncrypted: Bool { flags & 1 != 0 }
    public var isStored: Bool { method == 0 }
}
