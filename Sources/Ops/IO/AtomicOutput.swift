import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a checkpoint directory so that it appears complete or not at all.
///
/// Everything is written into a hidden temporary sibling of the target (same file system, so the
/// final `rename` is atomic); only a fully written and synced tree is renamed into place (the
/// files' syncs are deferred to just before the rename: `DeferredSync`). A failure,
/// a thrown error or SIGINT/SIGTERM removes the temporary directory and leaves no target behind.
public struct AtomicOutput {
    public let target: String
    public let temporary: String

    /// Refuses an existing non-empty target unless `force`, and creates the temporary directory.
    public init(target: String, force: Bool) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: target).standardizedFileURL
        self.target = url.path
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: self.target, isDirectory: &isDir) {
            if !isDir.boolValue {
                throw OpsError.io(path: self.target, message: "exists and is not a directory; choose another output path")
            }
            let contents = (try? fm.contentsOfDirectory(atPath: self.target)) ?? []
            if !contents.isEmpty && !force {
                throw OpsError.io(path: self.target, message: "exists and is not empty; choose a new output directory or pass --force to replace it")
            }
        }
        let parent = url.deletingLastPathComponent().path
        if !fm.fileExists(atPath: parent) {
            do { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750]) }
            catch { throw OpsError.io(path: parent, message: "cannot create the parent directory: \(error.localizedDescription)") }
        }
        self.temporary = parent + "/." + url.lastPathComponent + ".mm-convert-tmp-\(getpid())"
        try? fm.removeItem(atPath: temporary)
        // Registered first: a signal right after mkdir must find it.
        CleanupOnSignal.shared.register(temporary)
        guard mkdir(temporary, 0o750) == 0 else {
            let e = errno
            CleanupOnSignal.shared.unregister(temporary)
            throw OpsError.io(path: temporary, message: "cannot create the temporary output directory: \(String(cString: strerror(e)))")
        }
    }

    /// Runs `write` into the temporary directory, then moves it into place; on any error removes it.
    public static func write<T>(to target: String, force: Bool, _ write: (String) throws -> T) throws -> T {
        let out = try AtomicOutput(target: target, force: force)
        do {
            let result = try DeferredSync.scope { try write(out.temporary) }
            try out.commit()
            return result
        } catch {
            out.abandon()
            throw error
        }
    }

    /// Renames the finished temporary directory to the target (replacing an old one when forced).
    ///
    /// Runs under the signal cleanup's lock, so an interruption either happens before (and the
    /// temporary directory is removed, the target untouched) or after the rename (and the target is
    /// complete): never while a half-removed temporary directory is being renamed into place.
    public func commit() throws {
        let signals = CleanupOnSignal.shared
        let old = temporary + ".old"
        let replaced: Bool = try signals.locked {
            chmod(temporary, 0o750)
            guard FileManager.default.fileExists(atPath: target) else {
                guard rename(temporary, target) == 0 else {
                    throw OpsError.io(path: target, message: "cannot move the output into place: \(String(cString: strerror(errno)))")
                }
                signals.paths.remove(temporary)
                return false
            }
            guard rename(target, old) == 0 else {
                throw OpsError.io(path: target, message: "cannot move the old directory aside: \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, target) == 0 else {
                let e = errno
                _ = rename(old, target)
                throw OpsError.io(path: target, message: "cannot move the output into place: \(String(cString: strerror(e)))")
            }
            signals.paths.remove(temporary)
            // The replaced directory is removed after the lock is released; an interruption
            // meanwhile removes the rest.
            signals.paths.insert(old)
            return true
        }
        if replaced {
            try? FileManager.default.removeItem(atPath: old)
            signals.unregister(old)
        }
    }

    /// Removes the temporary directory (after a failure).
    public func abandon() {
        try? FileManager.default.removeItem(atPath: temporary)
        CleanupOnSignal.shared.unregister(temporary)
    }
}

/// Removes registered temporary directories when the process is interrupted, then exits with the
/// conventional status (130 for SIGINT, 143 for SIGTERM).
///
/// The handler runs on its own thread while the writers keep running, so it takes the lock for
/// good (a `commit` waits for the exit instead of renaming a half-removed directory into place),
/// and moves each directory out of the way before removing it (writers' later opens by path fail
/// instead of filling it again).
final class CleanupOnSignal: @unchecked Sendable {
    static let shared = CleanupOnSignal()
    private let lock = NSLock()
    /// Guarded by `lock`; use `locked` to change several things at once.
    var paths: Set<String> = []
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "mm-convert.signals")

    private init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { [unowned self] in
                self.lock.lock()  // never released: the process ends here
                var removed = false
                for p in self.paths where CleanupOnSignal.remove(p) { removed = true }
                let name = sig == SIGINT ? "interrupted" : "terminated"
                fputs(removed ? "mm-convert: \(name); removed the partial output, nothing was written\n" : "mm-convert: \(name)\n", stderr)
                _exit(128 + sig)
            }
            s.resume()
            sources.append(s)
        }
    }

    func register(_ path: String) { locked { _ = paths.insert(path) } }
    func unregister(_ path: String) { locked { _ = paths.remove(path) } }

    /// Runs `body` while no signal cleanup can run.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Renames `path` aside and removes it; removes it again if a writer recreated it meanwhile.
    /// True when there was something to remove.
    static func remove(_ path: String) -> Bool {
        let fm = FileManager.default
        let trash = path + ".removing"
        var existed = false
        for _ in 0..<3 {
            if rename(path, trash) == 0 {
                existed = true
                try? fm.removeItem(atPath: trash)
            } else if fm.fileExists(atPath: path) {
                existed = true
                try? fm.removeItem(atPath: path)
            }
            if !fm.fileExists(atPath: path) && !fm.fileExists(atPath: trash) { break }
        }
        return existed
    }
}

/// The single-file counterpart of `AtomicOutput`: the file is written under a hidden temporary
/// sibling name and renamed into place only when complete, so an interrupted `convert` never
/// leaves a truncated `.pt` or `.safetensors` behind.
public enum AtomicFileOutput {
    /// Refuses an existing `target` unless `force` (and a directory always), runs `write` with the
    /// temporary path, then renames it to `target`; any error or SIGINT/SIGTERM removes it.
    public static func write<T>(to target: String, force: Bool, _ write: (String) throws -> T) throws -> T {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: target).standardizedFileURL
        let path = url.path
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue {
                throw OpsError.io(path: path, message: "is a directory; give the output file's path")
            }
            if !force {
                throw OpsError.io(path: path, message: "exists; choose another output path or pass --force to replace it")
            }
        }
        let parent = url.deletingLastPathComponent().path
        if !fm.fileExists(atPath: parent) {
            do { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750]) }
            catch { throw OpsError.io(path: parent, message: "cannot create the parent directory: \(error.localizedDescription)") }
        }
        let temporary = parent + "/." + url.lastPathComponent + ".mm-convert-tmp-\(getpid())"
        try? fm.removeItem(atPath: temporary)
        CleanupOnSignal.shared.register(temporary)
        defer { CleanupOnSignal.shared.unregister(temporary) }
        do {
            let result = try DeferredSync.scope { try write(temporary) }
            guard rename(temporary, path) == 0 else {
                throw OpsError.io(path: path, message: "cannot move the output into place: \(String(cString: strerror(errno)))")
            }
            return result
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
    }
}
