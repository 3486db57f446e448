import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files whose `fsync` waits until their whole output is about to be renamed into place.
///
/// An output is durable only once every file is synced, and nothing looks complete before the
/// rename, so a file finished inside `AtomicOutput.write` need not be synced when it is closed:
/// its writeback is started and the worker goes on to the next file while the disk writes the
/// tail, instead of idling in `fsync` (20-40 ms per file of a MoE conversion). The commit syncs
/// every file left, in the order they were closed, before the rename. Outside such a scope (or
/// beyond `limit` open files) `OutputFile.close` syncs at once as before.
enum DeferredSync {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var scopes = 0
    nonisolated(unsafe) private static var pending: [(fd: Int32, path: String)] = []
    /// A sync that failed when the oldest file made room; thrown by the commit's `syncAll`.
    nonisolated(unsafe) private static var evictionError: Error?
    /// File descriptors kept open at most; the oldest is synced when another would exceed it.
    static let limit = 64

    /// Runs `body` with deferred syncs; syncs (and closes) what is left before returning, or,
    /// when `body` throws, closes it without syncing (the output is being abandoned).
    static func scope<T>(_ body: () throws -> T) throws -> T {
        lock.lock(); scopes += 1; lock.unlock()
        defer { lock.lock(); scopes -= 1; lock.unlock() }
        let result: T
        do { result = try body() } catch { discardAll(); throw error }
        try syncAll()
        return result
    }

    /// Takes over `fd` (already flushed) if a scope is active: its writeback is started and it is
    /// synced and closed later. Returns false (the caller syncs and closes) outside a scope. Never
    /// throws, so the descriptor has exactly one owner: a failed sync of an older file surfaces
    /// at the commit, before anything is renamed into place.
    static func adopt(_ fd: Int32, path: String) -> Bool {
        lock.lock()
        guard scopes > 0 else { lock.unlock(); return false }
        var oldest: (fd: Int32, path: String)?
        if pending.count >= limit { oldest = pending.removeFirst() }
        pending.append((fd, path))
        lock.unlock()
        // On Linux, DONTNEED starts asynchronous writeback of the dirty pages (and drops clean ones).
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        if let oldest {
            do { try finish(oldest) } catch {
                lock.lock()
                if evictionError == nil { evictionError = error }
                lock.unlock()
            }
        }
        return true
    }

    /// The files adopted and not yet synced (for tests).
    static var pendingPaths: [String] {
        lock.lock()
        defer { lock.unlock() }
        return pending.map(\.path)
    }

    /// Syncs and closes every adopted file; the first failure is thrown after all are closed.
    static func syncAll() throws {
        let (files, evicted) = takeAll()
        var firstError = evicted
        for f in files {
            do { try finish(f) } catch { if firstError == nil { firstError = error } }
        }
        if let firstError { throw firstError }
    }

    private static func discardAll() {
        for f in takeAll().files { Glibc.close(f.fd) }
    }

    /// Empties the list (and the eviction error) under the lock.
    private static func takeAll() -> (files: [(fd: Int32, path: String)], error: Error?) {
        lock.lock()
        defer { pending.removeAll(); evictionError = nil; lock.unlock() }
        return (pending, evictionError)
    }

    private static func finish(_ f: (fd: Int32, path: String)) throws {
        defer { Glibc.close(f.fd) }
        guard fsync(f.fd) == 0 else { throw OutputFile.ioError("sync", path: f.path) }
        // The pages are clean now; drop them (output this conversion does not read back).
        _ = posix_fadvise(f.fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
    }
}
