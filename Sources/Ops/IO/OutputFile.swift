#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file being written sequentially through a bounded buffer.
///
/// Small writes are gathered in a buffer of fixed size; large runs (straight from a mapped input)
/// bypass it. Optionally keeps a CRC-32 of everything written since `startChecksum()` (zip entries).
public final class OutputFile {
    public let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var filled = 0
    /// Bytes written so far (the current file offset).
    public private(set) var offset: Int = 0
    private var crc: CRC32?

    /// Where every output file reports the bytes it writes while a save runs (nil: nowhere).
    nonisolated(unsafe) public static var progress: Progress?

    /// Creates (or truncates) `path` with mode 0640.
    public init(creating path: String, bufferSize: Int = 4 << 20) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw OpsError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
        self.capacity = bufferSize
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit {
        buffer.deallocate()
        if !closedFD { Glibc.close(fd) }
    }

    public func startChecksum() { crc = CRC32() }
    /// The CRC-32 of the bytes written since `startChecksum()`, and stops tracking.
    public func finishChecksum() -> UInt32 {
        defer { crc = nil }
        return crc?.value ?? 0
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        crc?.update(bytes)
        if bytes.count >= capacity / 2 {
            try flush()
            try writeAll(bytes)
        } else {
            if filled + bytes.count > capacity { try flush() }
            (buffer + filled).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            filled += bytes.count
        }
        offset += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func writeZeros(_ n: Int) throws {
        var left = n
        while left > 0 {
            if filled == capacity { try flush() }
            let k = min(left, capacity - filled)
            (buffer + filled).initializeMemory(as: UInt8.self, repeating: 0, count: k)
            crc?.update(UnsafeRawBufferPointer(start: buffer + filled, count: k))
            filled += k
            offset += k
            left -= k
        }
    }

    /// Streams a tensor's row-major bytes into the file.
    public func write(_ tensor: Tensor) throws {
        try tensor.forEachRun { run in
            switch run {
            case let .bytes(b): try write(b)
            case let .zeros(n): try writeZeros(n)
            }
        }
    }

    /// Overwrites bytes already written at `at` (e.g. a header patched once sizes are known).
    public func patch(_ bytes: [UInt8], at position: Int) throws {
        try flush()
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let r = pwrite(fd, b.baseAddress! + done, b.count - done, off_t(position + done))
                if r < 0 { if errno == EINTR { continue }; throw ioError("write") }
                done += r
            }
        }
    }

    public func flush() throws {
        guard filled > 0 else { return }
        let n = filled
        filled = 0
        try writeAll(UnsafeRawBufferPointer(start: buffer, count: n))
    }

    /// Flushes, syncs to disk and closes. The file is complete only after this returns.
    public func close() throws {
        try flush()
        guard fsync(fd) == 0 else { throw ioError("sync") }
        // The written pages are clean now; drop them from the page cache so a long conversion
        // does not fill memory with output it will never read.
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        guard Glibc.close(fd) == 0 else { throw ioError("close") }
        closedFD = true
    }
    private var closedFD = false

    private func writeAll(_ b: UnsafeRawBufferPointer) throws {
        OutputFile.progress?.add(bytes: b.count)
        var done = 0
        while done < b.count {
            let r = Glibc.write(fd, b.baseAddress! + done, b.count - done)
            if r < 0 { if errno == EINTR { continue }; throw ioError("write") }
            done += r
        }
    }

    private func ioError(_ what: String) -> OpsError {
        let e = errno
        let hint = e == ENOSPC ? " (the disk is full: free space or choose another output directory)" : ""
        return .io(path: path, message: "cannot \(what): \(String(cString: strerror(e)))\(hint)")
    }
}
