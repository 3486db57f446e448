import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads ahead of a writer, across tensors, on a helper thread: the input ranges the writer will
/// copy in the kernel (`sendfile`), in the order it will copy them, at most `window` bytes ahead
/// of it.
///
/// A training checkpoint's model items lie scattered among its optimizer state, so the kernel's
/// own read-ahead starts over at every item, and a writer copying one item after another from a
/// cold disk waits for each item's first read in turn (one request in flight). Asking for the next
/// items from another thread keeps several requests in flight while the writer copies, as a
/// sequential `cp` gets from the kernel's read-ahead. Advice only: it never changes what is written.
/// Cold ranges are read straight from disk instead where the file system allows it
/// (`DirectSourceReader`); this helper takes the rest: ranges mostly in the cache, and files that
/// refuse direct reads.
final class SourceReadAhead {
    /// One kernel-copied input range and where its bytes go in the output file.
    struct Span {
        let store: ByteStore   // keeps the descriptor open while the helper may use it
        let fd: Int32
        let offset: Int
        let count: Int
        let outputOffset: Int
    }

    private let spans: [Span]
    private let window: Int
    private let condition = NSCondition()
    private var consumed: Int
    private var stopped = false
    private var finished = false

    /// Starts the helper for `spans` (in output order); `start` is the output offset the writer
    /// begins at. Nil when there is nothing to read ahead.
    init?(spans: [Span], start: Int, window: Int = 256 << 20) {
        guard !spans.isEmpty else { return nil }
        self.spans = spans
        self.window = window
        self.consumed = start
        let thread = Thread { [self] in run() }
        thread.name = "mm-convert.read-ahead"
        thread.start()
    }

    /// The spans of the kernel copies `OutputFile.write(_:)` makes for `tensors`, written in order
    /// from output offset `start`.
    static func spans(of tensors: [Tensor], from start: Int) -> [Span] {
        var spans: [Span] = []
        var at = start
        for t in tensors {
            for p in OutputFile.writtenParts(t) {
                if let (store, offset) = OutputFile.kernelCopySource(p), let fd = store.fileDescriptor {
                    spans.append(Span(store: store, fd: fd, offset: offset, count: p.byteCount, outputOffset: at))
                }
                at += p.byteCount
            }
        }
        return spans
    }

    /// The writer has written the output up to `offset`: the helper may read further.
    func written(upTo offset: Int) {
        condition.lock()
        if offset > consumed {
            consumed = offset
            condition.signal()
        }
        condition.unlock()
    }

    /// Stops the helper and waits for it (its advice on descriptors is then done).
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private static let piece = 8 << 20

    private func run() {
        defer {
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        for s in spans {
            var done = 0
            while done < s.count {
                let n = min(SourceReadAhead.piece, s.count - done)
                condition.lock()
                while !stopped && s.outputOffset + done + n > consumed + window { condition.wait() }
                let stop = stopped
                condition.unlock()
                if stop { return }
                _ = posix_fadvise(s.fd, off_t(s.offset + done), off_t(n), Int32(POSIX_FADV_WILLNEED))
                done += n
            }
        }
    }
}
