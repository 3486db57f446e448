import Foundation
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
    /// Held around each write call when several workers write regions of one file. The kernel
    /// serialises writes to one file on its inode lock, spinning the waiter; waiting here instead
    /// leaves the core to the writeback threads (and to a waiter's own gathers and transposes).
    public var sharedWriteLock: NSLock?
    /// Reads the inputs of the coming kernel copies ahead, across tensors (nil: each copy reads
    /// ahead only within its own range).
    var readAhead: SourceReadAhead?
    /// Reads the cold inputs of the coming kernel copies straight from disk instead (nil: none).
    var directReader: DirectSourceReader?
    private var crc: CRC32?

    /// Where every output file reports the tensor bytes it writes while a save runs (nil: nowhere).
    nonisolated(unsafe) public static var progress: Progress?

    /// Creates (or truncates) `path` with mode 0640.
    public init(creating path: String, bufferSize: Int = 512 << 10) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw OpsError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
        self.capacity = bufferSize
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
    }

    /// Opens an existing file to overwrite it from `position` on (one region of a file that
    /// several workers write at once).
    public init(updating path: String, at position: Int, bufferSize: Int = 512 << 10) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpsError.io(path: path, message: "cannot open for writing: \(String(cString: strerror(errno)))") }
        guard lseek(fd, off_t(position), SEEK_SET) == off_t(position) else {
            let e = errno
            Glibc.close(fd)
            throw OpsError.io(path: path, message: "cannot seek to \(position): \(String(cString: strerror(e)))")
        }
        self.fd = fd
        self.path = path
        self.capacity = bufferSize
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
        self.offset = position
        self.submittedTo = position
        self.droppedTo = position
    }

    /// Sets the file's size (the regions other workers fill are allocated up front).
    public func setSize(_ size: Int) throws {
        try flush()
        guard ftruncate(fd, off_t(size)) == 0 else { throw ioError("set the size of") }
    }

    deinit {
        buffer.deallocate()
        if !closedFD {
            BackgroundAdvice.drain()
            Glibc.close(fd)
        }
    }

    public func startChecksum() { crc = CRC32() }
    /// The CRC-32 of the bytes written since `startChecksum()`, and stops tracking.
    public func finishChecksum() -> UInt32 {
        defer { crc = nil }
        return crc?.value ?? 0
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        // With a checksum, a large run is summed and written a slice at a time: the write then
        // copies bytes the checksum just brought into the CPU cache, instead of reading the whole
        // run from memory twice.
        if crc != nil && bytes.count > OutputFile.checksumSlice && bytes.count >= capacity / 2 {
            try flush()
            var at = 0
            while at < bytes.count {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[at..<min(bytes.count, at + OutputFile.checksumSlice)])
                crc?.update(slice)
                try writeAll(slice)
                at += slice.count
            }
            offset += bytes.count
            return
        }
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
        // A concatenation along dim 0 is its parts' bytes one after the other: write them one by
        // one, so each large contiguous part (a TP piece being merged) can be copied by the kernel.
        let parts = OutputFile.writtenParts(tensor)
        if parts.count > 1 && crc == nil {
            for p in parts { try write(p) }
            return
        }
        let progress = OutputFile.progress
        // A large contiguous range of a file, with no checksum to compute: the kernel copies it
        // from the input's page cache to ours, without mapping the pages into this process.
        if crc == nil, let (store, start) = OutputFile.kernelCopySource(tensor), let source = store.fileDescriptor {
            try flush()
            if let direct = directReader {
                let copied = try direct.copy(outputOffset: offset) { bytes in
                    try writeAll(bytes)
                    offset += bytes.count
                    readAhead?.written(upTo: offset)
                    progress?.add(bytes: bytes.count)
                }
                if copied { return }
            }
            var from = off_t(start)
            var left = tensor.byteCount
            // Read ahead of the copy (unless a helper does, across tensors): a cold input
            // scattered through a large file (a training checkpoint's model items) is otherwise
            // read in the kernel's small readahead steps.
            let end = from + off_t(left)
            let chunk = off_t(OutputFile.writebackChunk)
            if readAhead == nil { _ = posix_fadvise(source, from, min(2 * chunk, end - from), Int32(POSIX_FADV_WILLNEED)) }
            while left > 0 {
                let before = from
                if readAhead == nil, before + 2 * chunk < end {
                    _ = posix_fadvise(source, before + 2 * chunk, min(chunk, end - before - 2 * chunk), Int32(POSIX_FADV_WILLNEED))
                }
                sharedWriteLock?.lock()
                let n = sendfile(fd, source, &from, min(left, OutputFile.writebackChunk))
                sharedWriteLock?.unlock()
                if n < 0 { if errno == EINTR { continue }; throw ioError("write") }
                if n == 0 { throw OpsError.io(path: store.name, message: "ended early while copying \(tensor) (the file shrank?)") }
                left -= n
                offset += n
                // The input range is consumed: the kernel may drop it from the page cache (a
                // little later, see `dropCopiedInputs`), so the cache does not fill with data
                // this conversion will not read again.
                copiedInputs.append((store, before, off_t(n), offset))
                dropCopiedInputs(upTo: offset - OutputFile.writebackChunk * 2)
                readAhead?.written(upTo: offset)
                progress?.add(bytes: n)
                startWriteback(n)
            }
            return
        }
        try tensor.forEachRun { run in
            switch run {
            case let .bytes(b): try write(b)
            case let .zeros(n): try writeZeros(n)
            }
            progress?.add(bytes: run.count)
        }
        tensor.releaseSourcePages()
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

    /// Flushes, syncs to disk and closes. The file is complete only after this returns; inside
    /// `AtomicOutput.write` the sync is left to the commit (`DeferredSync`).
    public func close() throws {
        try flush()
        dropCopiedInputs(upTo: .max)
        BackgroundAdvice.drain()
        if DeferredSync.adopt(fd, path: path) {
            closedFD = true
            return
        }
        guard fsync(fd) == 0 else { throw ioError("sync") }
        // The written pages are clean now; drop them from the page cache so a long conversion
        // does not fill memory with output it will never read.
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        guard Glibc.close(fd) == 0 else { throw ioError("close") }
        closedFD = true
    }
    private var closedFD = false

    /// Bytes handed to the kernel but not yet submitted for writeback.
    private var unsubmitted = 0
    private var submittedTo = 0
    /// Written pages before this offset were dropped from the page cache.
    private var droppedTo = 0
    /// Written pages are dropped this many bytes at a time, two of these behind the writeback
    /// start: a drop of pages still under writeback fails, and each failed drop makes the kernel
    /// drain every CPU's page batches before trying again.
    static let dropChunk = 256 << 20
    /// Writeback is started every this many bytes, so the disk works while we keep copying and
    /// the final fsync has little left to wait for (and dirty pages never pile up).
    static let writebackChunk = 32 << 20

    /// Checksummed runs are summed and written this many bytes at a time (fits in L2).
    static let checksumSlice = 256 << 10

    /// Tensors at least this large and contiguous in a mapped file are copied with `sendfile`.
    static let kernelCopyMinimum = 1 << 20

    /// The pieces a write without a checksum streams `tensor` as, in order: the parts of a
    /// concatenation along dim 0 (nested ones flattened), or the tensor itself.
    static func writtenParts(_ tensor: Tensor) -> [Tensor] {
        let parts = tensor.leadingParts
        return parts.count > 1 ? parts.flatMap(writtenParts) : parts
    }

    /// How many of `tensor`'s bytes a write without a checksum has the kernel copy, costing this
    /// process no CPU of its own: those of its written parts that are large contiguous ranges of
    /// a mapped file.
    public static func kernelCopiedBytes(_ tensor: Tensor) -> Int {
        writtenParts(tensor).reduce(0) { $0 + (kernelCopySource($1) == nil ? 0 : $1.byteCount) }
    }

    /// The mapped file and the offset in it that a kernel copy of `tensor` reads from, or nil
    /// when the tensor is not copied by the kernel.
    static func kernelCopySource(_ tensor: Tensor) -> (store: ByteStore, fileOffset: Int)? {
        guard tensor.byteCount >= kernelCopyMinimum, let (store, offset) = tensor.contiguousRange, store.fileDescriptor != nil else { return nil }
        return (store, store.fileOffset + offset)
    }

    /// Input ranges copied in the kernel and not yet dropped from the page cache, with the output
    /// offset their copy reached.
    private var copiedInputs: [(store: ByteStore, offset: off_t, count: off_t, reached: Int)] = []

    /// Drops the copied input ranges whose copy ended at or before `position`. Dropping a range
    /// right after its copy finds its pages still in the per-CPU batches the read put them in,
    /// so the kernel drains every CPU's batches (work on each core, waited for) on every call;
    /// some 64 MB later they are on the LRU lists and simply leave.
    private func dropCopiedInputs(upTo position: Int) {
        var k = 0
        while k < copiedInputs.count, copiedInputs[k].reached <= position {
            let c = copiedInputs[k]
            BackgroundAdvice.advise(c.store.fileDescriptor!, offset: c.offset, count: c.count, Int32(POSIX_FADV_DONTNEED))
            k += 1
        }
        if k > 0 { copiedInputs.removeFirst(k) }
    }

    /// Counts bytes handed to the kernel and starts their writeback every `writebackChunk`.
    private func startWriteback(_ n: Int) {
        unsubmitted += n
        if unsubmitted >= OutputFile.writebackChunk {
            // `sync_file_range` starts the writeback and nothing else; dropping the written pages
            // waits until they are clean.
            BackgroundAdvice.startWriteback(fd, offset: off_t(submittedTo), count: off_t(unsubmitted))
            submittedTo += unsubmitted
            unsubmitted = 0
            if submittedTo - droppedTo >= OutputFile.dropChunk * 3 {
                let end = submittedTo - OutputFile.dropChunk * 2
                BackgroundAdvice.advise(fd, offset: off_t(droppedTo), count: off_t(end - droppedTo), Int32(POSIX_FADV_DONTNEED))
                droppedTo = end
            }
        }
    }

    private func writeAll(_ b: UnsafeRawBufferPointer) throws {
        defer { startWriteback(b.count) }
        sharedWriteLock?.lock()
        defer { sharedWriteLock?.unlock() }
        var done = 0
        while done < b.count {
            let r = Glibc.write(fd, b.baseAddress! + done, b.count - done)
            if r < 0 { if errno == EINTR { continue }; throw ioError("write") }
            done += r
        }
    }

    private func ioError(_ what: String) -> OpsError { OutputFile.ioError(what, path: path) }

    /// The error for a failed write-side call on `path`, from `errno` (a full disk says what to do).
    static func ioError(_ what: String, path: String) -> OpsError {
        let e = errno
        let hint = e == ENOSPC ? " (the disk is full: free space or choose another output directory)" : ""
        return .io(path: path, message: "cannot \(what): \(String(cString: strerror(e)))\(hint)")
    }
}
