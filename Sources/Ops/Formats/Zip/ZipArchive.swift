/// A read-only zip archive over a memory-mapped file.
///
/// Entries are located through the central directory (zip64 aware); a stored entry's data is a
/// range of the mapping, never a copy, so a tensor can point straight into it.
public final class ZipArchive {
    public let path: String
    public let store: ByteStore
    public let entries: [ZipEntry]
    private let index: [String: Int]

    /// Maps and indexes `path`.
    public convenience init(path: String) throws {
        try self.init(store: ByteStore(mapping: path))
    }

    /// Indexes an archive already in memory (the store's name is used in messages).
    public init(store: ByteStore) throws {
        self.store = store
        self.path = store.name
        self.entries = try ZipDirectoryParser(store: store).parse()
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() where index[e.name] == nil { index[e.name] = i }
        self.index = index
    }

    public func entry(named name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// The bytes of a stored entry, as a range of the mapping (valid while `store` lives).
    public func data(_ entry: ZipEntry) throws -> UnsafeRawBufferPointer {
        try checkReadable(entry)
        return UnsafeRawBufferPointer(rebasing: store.buffer[entry.dataOffset..<(entry.dataOffset + entry.size)])
    }

    /// Throws unless the entry is stored, unencrypted and inside the file.
    public func checkReadable(_ entry: ZipEntry) throws {
        if entry.isEncrypted {
            throw OpsError.unsupported("\(path): zip entry '\(entry.name)' is encrypted; encrypted archives are not supported")
        }
        if !entry.isStored {
            throw OpsError.unsupported("\(path): zip entry '\(entry.name)' is compressed (method \(entry.method)); only stored (uncompressed) entries are supported, as torch.save writes them: re-save the file with torch.save")
        }
        guard entry.dataOffset >= 0, entry.size >= 0, entry.dataOffset <= store.count - entry.size else {
            throw OpsError.format(path: path, message: "zip entry '\(entry.name)' (\(entry.size) bytes at offset \(entry.dataOffset)) extends past the end of the file (\(store.count) bytes): the file is truncated or corrupt")
        }
    }

    /// Recomputes an entry's CRC-32 and compares it with the central directory.
    public func verifyCRC(_ entry: ZipEntry) throws {
        var crc = CRC32()
        crc.update(try data(entry))
        guard crc.value == entry.crc32 else {
            throw OpsError.format(path: path, message: "zip entry '\(entry.name)' has CRC-32 \(hex32(crc.value)) but the directory records \(hex32(entry.crc32)): the data is corrupt")
        }
    }

    /// Verifies every entry's CRC-32 (reads all data once).
    public func verifyAllCRCs() throws { for e in entries { try verifyCRC(e) } }

    private func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}
