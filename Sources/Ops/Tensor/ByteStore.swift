import Foundation
import PageCache
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes a tensor can point into: a memory-mapped file (no copy on load) or an owned heap
/// buffer (for generated data and tests).
///
/// A reference type on purpose: many tensors share one mapping, and the mapping must live exactly as
/// long as the last tensor that uses it.
public final class ByteStore: @unchecked Sendable {
    /// Where the bytes came from, for error messages (a file path or a description).
    public let name: String
    public let base: UnsafeRawPointer
    public let count: Int
    private let isMapped: Bool
    /// The mapped file, kept open so writers can copy ranges in the kernel (`sendfile`) instead
    /// of faulting the pages into this process. nil for heap buffers.
    public let fileDescriptor: Int32?
    /// Where `base` lies in the file of `fileDescriptor` (0 unless this store is a slice).
    public let fileOffset: Int
    /// The store this one is a window of (kept alive by it); nil for a store that owns its bytes.
    private let parent: ByteStore?
    /// Offset of this window in `parent`.
    private let parentOffset: Int
    /// Released ranges not yet handed to the kernel (see `release`).
    private var pendingRelease = ReleaseBatches()
    private let releaseLock = NSLock()

    /// Maps `path` read-only. An empty file gives an empty store.
    public init(mapping path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpsError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OpsError.io(path: path, message: "cannot stat: \(String(cString: strerror(errno)))") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw OpsError.io(path: path, message: "is a directory, expected a file") }
        let size = Int(st.st_size)
        self.name = path
        self.count = size
        self.fileOffset = 0
        self.parent = nil
        self.parentOffset = 0
        if size == 0 {
            self.base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            self.isMapped = false
            self.fileDescriptor = nil
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw OpsError.io(path: path, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(p)
        self.isMapped = true
        self.fileDescriptor = fd
        keepOpen = true
    }

    /// Copies `bytes` into an owned, 64-byte aligned buffer.
    public init<C: Collection>(bytes: C, name: String = "<memory>") where C.Element == UInt8 {
        let n = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 64)
        var i = 0
        for b in bytes { p.storeBytes(of: b, toByteOffset: i, as: UInt8.self); i += 1 }
        self.base = UnsafeRawPointer(p)
        self.count = n
        self.name = name
        self.isMapped = false
        self.fileDescriptor = nil
        self.fileOffset = 0
        self.parent = nil
        self.parentOffset = 0
    }

    /// Fills an owned buffer of `count` bytes through `fill`.
    public init(count: Int, name: String = "<memory>", fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        try fill(UnsafeMutableRawBufferPointer(start: p, count: count))
        self.base = UnsafeRawPointer(p)
        self.count = count
        self.name = name
        self.isMapped = false
        self.fileDescriptor = nil
        self.fileOffset = 0
        self.parent = nil
        self.parentOffset = 0
    }

    /// A window `[offset, offset + count)` of `parent`, without copying: a file that holds several
    /// archives back to back (a DCP `.distcp` file) is parsed one archive at a time, each seeing
    /// offsets relative to its own start. The window keeps `parent` (and its mapping) alive.
    public init(slice parent: ByteStore, offset: Int, count: Int, name: String) throws {
        guard offset >= 0, count >= 0, offset <= parent.count - count else {
            throw OpsError.format(path: parent.name, message: "range of \(count) bytes at offset \(offset) lies outside the file (\(parent.count) bytes)")
        }
        self.base = parent.base + offset
        self.count = count
        self.name = name
        self.isMapped = false
        self.fileDescriptor = parent.fileDescriptor
        self.fileOffset = parent.fileOffset + offset
        self.parent = parent
        self.parentOffset = offset
    }

    deinit {
        guard parent == nil else { return }
        if isMapped { munmap(UnsafeMutableRawPointer(mutating: base), count) } else { UnsafeMutableRawPointer(mutating: base).deallocate() }
        if let fileDescriptor {
            BackgroundAdvice.drain()  // advice on copied ranges may still be queued for it
            close(fileDescriptor)
        }
    }

    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Tells the kernel a range of a mapped file will not be needed again, so the page cache it
    /// occupies does not count against the process. A no-op for heap buffers.
    ///
    /// Small ranges (one expert's matrix) are collected and released together (`ReleaseBatches`):
    /// every `MADV_DONTNEED` stops both cores to flush their TLBs (an IPI, costly on a virtual
    /// machine), splits the large page-cache folios it cuts through, and makes a worker still
    /// reading a neighbour (the other TP rank's columns of the same rows) fault the pages back in.
    public func release(offset: Int, count: Int) {
        if let parent {
            let start = max(0, offset), end = min(self.count, offset + count)
            if end > start { parent.release(offset: parentOffset + start, count: end - start) }
            return
        }
        guard isMapped, count > 0 else { return }
        if count >= ReleaseBatches.batchedMaximum { advise(MADV_DONTNEED, offset: offset, count: count); return }
        releaseLock.lock()
        let due = pendingRelease.add(offset..<(offset + count))
        releaseLock.unlock()
        for r in due { advise(MADV_DONTNEED, offset: r.lowerBound, count: r.count) }
    }

    /// Unmaps every page of a mapped file this process touched (its zip records, parsed through
    /// the mapping), leaving them in the page cache. A page-cache folio that is mapped cannot be
    /// dropped, so every later `POSIX_FADV_DONTNEED` of a copied range around one fails and
    /// makes the kernel drain every CPU's page batches and try again. A no-op for heap buffers.
    public func unmapTouchedPages() { advise(MADV_DONTNEED, offset: 0, count: count) }

    /// Starts reading a range of a mapped file into the page cache (`MADV_WILLNEED`), so the copy
    /// that follows finds it there. A no-op for heap buffers.
    public func prefetch(offset: Int, count: Int) { advise(MADV_WILLNEED, offset: offset, count: count) }

    /// The share (0 to 1) of a range of a mapped file that the page cache holds (`mincore`): a
    /// writer reads a cold range straight from disk (`DirectSourceReader`) and copies a warm one
    /// from the cache. 1 for heap buffers, and where the kernel cannot tell.
    public func cachedFraction(offset: Int, count: Int) -> Double {
        #if os(Linux)
        guard let (start, length) = mappedPages(offset: offset, count: count) else { return 1 }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var resident = [UInt8](repeating: 0, count: (length + page - 1) / page)
        let ok = resident.withUnsafeMutableBufferPointer { mincore(start, length, $0.baseAddress!) == 0 }
        guard ok else { return 1 }
        return Double(resident.reduce(0) { $0 + Int($1 & 1) }) / Double(resident.count)
        #else
        return 1
        #endif
    }

    /// `madvise` on a range of this store (see `mappedPages`).
    private func advise(_ advice: Int32, offset: Int, count: Int) {
        guard let (start, length) = mappedPages(offset: offset, count: count) else { return }
        madvise(start, length, advice)
    }

    /// A range of this store in the mapping it shares (a window's parent's), clipped to the store
    /// and widened down to a page boundary; nil for heap buffers and empty ranges.
    private func mappedPages(offset: Int, count: Int) -> (start: UnsafeMutableRawPointer, length: Int)? {
        if let parent {
            let start = max(0, offset), end = min(self.count, offset + count)
            return end > start ? parent.mappedPages(offset: parentOffset + start, count: end - start) : nil
        }
        guard isMapped, count > 0 else { return nil }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (max(0, offset) / page) * page
        let end = min(self.count, offset + count)
        guard end > start else { return nil }
        return (UnsafeMutableRawPointer(mutating: base + start), end - start)
    }

    /// How the kernel should read ahead in a mapped file: `random` while scattered headers are
    /// parsed (no read-ahead), `normal` for streaming tensors. A no-op for heap buffers.
    public enum AccessPattern { case normal, random }

    public func advise(_ pattern: AccessPattern) {
        // A window shares its parent's mapping: advising the whole file for one window would
        // change how every other window of it is read.
        guard isMapped, count > 0 else { return }
        madvise(UnsafeMutableRawPointer(mutating: base), count, pattern == .random ? MADV_RANDOM : MADV_NORMAL)
    }

    /// Reads `length` bytes at each of `offsets` (the local headers of a zip's entries, scattered
    /// through a large file), one after the other in the result. What the page cache holds is read
    /// first without waiting; each miss has the kernel start reading it in, and the misses are read
    /// after, so a cold file costs one round of disk reads in parallel, not one wait per header.
    /// They are read with `pread`, not through the mapping, so the pages around them (a large
    /// page-cache folio each) are not mapped into this process.
    public func readSmall(at offsets: [Int], length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: offsets.count * length)
        try out.withUnsafeMutableBytes { raw in
            let dst = raw.baseAddress!
            for offset in offsets { try checkRange(offset, length) }
            guard let fd = fileDescriptor else {
                for (i, offset) in offsets.enumerated() { (dst + i * length).copyMemory(from: base + offset, byteCount: length) }
                return
            }
            var missed: [Int] = []
            var canAsk = true
            for (i, offset) in offsets.enumerated() {
                if canAsk {
                    let r = cached_pread(fd, dst + i * length, length, off_t(fileOffset + offset))
                    if r == length { continue }
                    if r < 0 && errno != EAGAIN && errno != EINTR { canAsk = false }
                }
                missed.append(i)
            }
            for i in missed { try readFully(fd, into: dst + i * length, count: length, at: offsets[i]) }
        }
        return out
    }

    private func readFully(_ fd: Int32, into dst: UnsafeMutableRawPointer, count n: Int, at offset: Int) throws {
        var done = 0
        while done < n {
            let r = pread(fd, dst + done, n - done, off_t(fileOffset + offset + done))
            if r < 0 { if errno == EINTR { continue }; throw OpsError.io(path: name, message: "cannot read: \(String(cString: strerror(errno)))") }
            if r == 0 { throw OpsError.format(path: name, message: "file ended at \(offset + done) while reading \(n) bytes at \(offset)") }
            done += r
        }
    }

    /// Reads `n` bytes at `offset` as an array, after checking bounds.
    public func bytes(at offset: Int, count n: Int) throws -> [UInt8] {
        try checkRange(offset, n)
        return Array(UnsafeRawBufferPointer(start: base + offset, count: n))
    }

    private func checkRange(_ offset: Int, _ n: Int) throws {
        guard offset >= 0, n >= 0, offset <= count - n else {
            throw OpsError.format(path: name, message: "read of \(n) bytes at offset \(offset) is past the end of the file (\(count) bytes)")
        }
    }
}
