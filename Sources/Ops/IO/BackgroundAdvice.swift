import Foundation
import PageCache
#if canImport(Glibc)
import Glibc
#endif

/// Page-cache advice given on a helper thread instead of the writing one.
///
/// Starting the writeback of a range just written (ext4 allocates blocks and builds the requests
/// in the caller) and dropping written and copied ranges from the cache take a fifth of a
/// single-writer copy's CPU. A plain `cp` leaves both to kernel threads that run on
/// the other core; this does the same for us. Advice never changes a file's bytes, only when
/// they reach the disk or leave the cache.
enum BackgroundAdvice {
    private static let queue = DispatchQueue(label: "mm-convert.background-advice")

    /// Queues `posix_fadvise(fd, offset, count, advice)`. The caller keeps `fd` open until `drain`.
    static func advise(_ fd: Int32, offset: off_t, count: off_t, _ advice: Int32) {
        queue.async { _ = posix_fadvise(fd, offset, count, advice) }
    }

    /// Queues the start of writeback of `[offset, offset + count)` of `fd` (`sync_file_range`),
    /// which does not wait for the disk. The caller keeps `fd` open until `drain`.
    static func startWriteback(_ fd: Int32, offset: off_t, count: off_t) {
        queue.async { _ = start_writeback(fd, offset, count) }
    }

    /// Waits until all advice queued so far was given: call before closing a descriptor that
    /// advice was queued for (its number could otherwise be reused by another file).
    static func drain() {
        queue.sync {}
    }
}
