import Foundation
import PageCache
#if canImport(Glibc)
import Glibc
#endif

/// Reads the cold inputs of a writer's large copies straight from disk, ahead of the writer, on
/// helper threads, into buffers of huge pages.
///
/// A training checkpoint's model items lie scattered among its optimizer state. The page cache
/// reads a range that is not part of a long sequential stream into 4 KiB pages, and the disk takes
/// at most so many segments per request (254 on virtio), so those reads reach the disk as 1 MB
/// requests: about 4,000 for the 2B checkpoint, where a sequential copy of the same bytes makes
/// about 1,100 of 3.8 MB. A direct read (`O_DIRECT`) into a buffer of 2 MiB pages is one segment
/// per huge page, so its requests are as large as the disk takes, and several readers keep the
/// disk's queue full while the writer writes. Ranges the page cache already holds are left to the
/// kernel copy (`sendfile`), which reads them from memory; see `split`.
final class DirectSourceReader {
    typealias Span = SourceReadAhead.Span

    /// Every read is at most this long and never crosses a multiple of it in the file, so its
    /// block-aligned window fits one buffer.
    static let chunkSize = 8 << 20
    /// Buffers per writer: reads in flight plus the one being written out.
    static let slotCount = 6
    /// Reads in flight per writer (two writers at once keep six requests queued).
    static let readerCount = 3
    /// A range counts as cold, and is read directly, when less than this share of it is cached.
    static let coldBelow = 0.5
    /// Direct reads start and end on this boundary (the largest logical block size in use).
    static let blockSize = 4096

    /// Bytes read with `O_DIRECT` by every reader so far (for tests and the bench's curiosity).
    static var totalBytesRead: Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        return counter
    }
    private static let counterLock = NSLock()
    nonisolated(unsafe) private static var counter = 0

    private struct Chunk {
        let span: Int
        let fileOffset: Int
        let count: Int
    }

    private let spans: [Span]
    private let chunks: [Chunk]
    /// The first chunk of each span, and one past the last chunk at the end.
    private let firstChunk: [Int]
    /// The direct descriptor for each span (shared by the spans of one file).
    private let directFDs: [Int32]
    private let ownedFDs: [Int32]
    private let slots: [UnsafeMutableRawPointer]
    private let condition = NSCondition()
    /// Chunks handed to readers, and chunks the writer is done with (their buffers are free).
    private var claimed = 0
    private var consumed = 0
    /// Read chunks waiting for the writer: where their bytes start in their buffer, or the error.
    private var ready: [Int: Result<Int, OpsError>] = [:]
    private var nextSpan = 0
    private var stopped = false
    private var running = 0

    /// Splits `spans` (a writer's kernel copies, in output order) into those to read directly
    /// (mostly absent from the page cache, in a file that takes direct reads) and the rest, and
    /// starts the readers for the first; nil reader when there is none (or no buffer memory).
    static func split(_ spans: [Span]) -> (reader: DirectSourceReader?, rest: [Span]) {
        #if os(Linux)
        var cold: [Span] = [], coldFDs: [Int32] = [], rest: [Span] = []
        var opened: [Int32: Int32] = [:]
        for s in spans {
            guard s.store.cachedFraction(offset: s.offset - s.store.fileOffset, count: s.count) < DirectSourceReader.coldBelow else {
                rest.append(s)
                continue
            }
            let direct = opened[s.fd] ?? open_direct_read(s.fd)
            opened[s.fd] = direct
            if direct >= 0 {
                cold.append(s)
                coldFDs.append(direct)
            } else {
                rest.append(s)
            }
        }
        let owned = Array(opened.values.filter { $0 >= 0 })
        guard !cold.isEmpty, let reader = DirectSourceReader(spans: cold, fds: coldFDs, owned: owned) else {
            for fd in owned { close(fd) }
            return (nil, spans)
        }
        return (reader, rest)
        #else
        return (nil, spans)
        #endif
    }

    private init?(spans: [Span], fds: [Int32], owned: [Int32]) {
        var chunks: [Chunk] = [], first: [Int] = []
        for (i, s) in spans.enumerated() {
            first.append(chunks.count)
            var at = s.offset
            let end = s.offset + s.count
            while at < end {
                let next = min(end, (at / DirectSourceReader.chunkSize + 1) * DirectSourceReader.chunkSize)
                chunks.append(Chunk(span: i, fileOffset: at, count: next - at))
                at = next
            }
        }
        first.append(chunks.count)
        var slots: [UnsafeMutableRawPointer] = []
        for _ in 0..<DirectSourceReader.slotCount {
            guard let p = huge_buffer_map(DirectSourceReader.chunkSize) else {
                for q in slots { huge_buffer_unmap(q, DirectSourceReader.chunkSize) }
                return nil
            }
            slots.append(p)
        }
        self.spans = spans
        self.chunks = chunks
        self.firstChunk = first
        self.directFDs = fds
        self.ownedFDs = owned
        self.slots = slots
        running = DirectSourceReader.readerCount
        for n in 0..<DirectSourceReader.readerCount {
            let thread = Thread { [self] in readLoop() }
            thread.name = "mm-convert.direct-read.\(n)"
            thread.start()
        }
    }

    deinit {
        for p in slots { huge_buffer_unmap(p, DirectSourceReader.chunkSize) }
        for fd in ownedFDs { close(fd) }
    }

    /// Hands the bytes of the span that starts at output offset `outputOffset` to `write`, in
    /// pieces, in order, if this reader reads that span; false if it does not (the caller copies
    /// it itself). Spans must be asked for in output order.
    func copy(outputOffset: Int, _ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard nextSpan < spans.count, spans[nextSpan].outputOffset == outputOffset else { return false }
        let span = nextSpan
        nextSpan += 1
        for k in firstChunk[span]..<firstChunk[span + 1] {
            condition.lock()
            while ready[k] == nil { condition.wait() }
            let result = ready[k]!
            condition.unlock()
            let start = try result.get()
            try write(UnsafeRawBufferPointer(start: slots[k % DirectSourceReader.slotCount] + start, count: chunks[k].count))
            condition.lock()
            ready[k] = nil
            consumed = k + 1
            condition.broadcast()
            condition.unlock()
        }
        return true
    }

    /// Stops the readers and waits for them; call before dropping the reader.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func readLoop() {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            while !stopped && claimed < chunks.count && claimed - consumed >= DirectSourceReader.slotCount { condition.wait() }
            if stopped || claimed == chunks.count {
                condition.unlock()
                return
            }
            let k = claimed
            claimed += 1
            condition.unlock()
            let result = read(chunks[k], into: slots[k % DirectSourceReader.slotCount])
            condition.lock()
            ready[k] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Reads a chunk's block-aligned window into `buffer`; the chunk's bytes start at the result.
    private func read(_ chunk: Chunk, into buffer: UnsafeMutableRawPointer) -> Result<Int, OpsError> {
        let span = spans[chunk.span]
        let block = DirectSourceReader.blockSize
        let start = chunk.fileOffset / block * block
        let end = min(start + DirectSourceReader.chunkSize, (chunk.fileOffset + chunk.count + block - 1) / block * block)
        var failure = DirectSourceReader.fill(buffer, from: directFDs[chunk.span], range: start..<end, needed: chunk.fileOffset + chunk.count)
        var at = start
        if failure == EINVAL {
            // The file system took the descriptor but not this read: read it through the cache.
            at = chunk.fileOffset
            failure = DirectSourceReader.fill(buffer, from: span.fd, range: at..<(at + chunk.count), needed: at + chunk.count)
        }
        switch failure {
        case nil:
            if at == start {
                DirectSourceReader.counterLock.lock()
                DirectSourceReader.counter += chunk.count
                DirectSourceReader.counterLock.unlock()
            }
            return .success(chunk.fileOffset - at)
        case 0:
            return .failure(.io(path: span.store.name, message: "ended early while reading \(chunk.count) bytes at \(chunk.fileOffset) (the file shrank?)"))
        case let e?:
            return .failure(.io(path: span.store.name, message: "cannot read \(chunk.count) bytes at \(chunk.fileOffset): \(String(cString: strerror(e)))"))
        }
    }

    /// Reads `range` of `fd` into `buffer`, or at least up to file offset `needed` where the file
    /// ends sooner. nil when done; otherwise the errno, or 0 when the file ends before `needed`.
    private static func fill(_ buffer: UnsafeMutableRawPointer, from fd: Int32, range: Range<Int>, needed: Int) -> Int32? {
        var done = 0
        while range.lowerBound + done < needed {
            let r = pread(fd, buffer + done, range.count - done, off_t(range.lowerBound + done))
            if r < 0 && errno == EINTR { continue }
            if r < 0 { return errno }
            if r == 0 { return 0 }
            done += r
        }
        return nil
    }
}
