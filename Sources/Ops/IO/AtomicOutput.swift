import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a checkpoint directory so that it appears complete or not at all.
///
/// Everything is written into a hidden temporary sibling of the target (same file system, so the
/// final `rename` is atomic); only a fully written and synced tree is renamed into place. A failure,
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
        guard mkdir(temporary, 0o750) == 0 else {
            throw OpsError.io(path: temporary, message: "cannot create the temporary output directory: \(String(cString: strerror(errno)))")
        }
        CleanupOnSignal.shared.register(temporary)
    }

    /// Runs `write` into the temporary directory, then moves it into place; on any error removes it.
    public static func write<T>(to target: String, force: Bool, _ write: (String) throws -> T) throws -> T {
        let out = try AtomicOutput(target: target, force: force)
        do {
            let result = try write(out.temporary)
            try out.commit()
            return result
        } catch {
            out.abandon()
            throw error
        }
    }

    /// Renames the finished temporary directory to the target (replacing an old one when forced).
    public func commit() throws {
        let fm = FileManager.default
        chmod(temporary, 0o750)
        if fm.fileExists(atPath: target) {
            let old = temporary + ".old"
            guard rename(target, old) == 0 else {
                throw OpsError.io(path: target, message: "cannot move the old directory aside: \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, target) == 0 else {
                let e = errno
                _ = rename(old, target)
                throw OpsError.io(path: target, message: "cannot move the output into place: \(String(cString: strerror(e)))")
            }
            try? fm.removeItem(atPath: old)
        } else {
            guard rename(temporary, target) == 0 else {
                throw OpsError.io(path: target, message: "cannot move the output into place: \(String(cString: strerror(errno)))")
            }
        }
        CleanupOnSignal.shared.unregister(temporary)
    }

    /// Removes the temporary directory (after a failure).
    public func abandon() {
        try? FileManager.default.removeItem(atPath: temporary)
        CleanupOnSignal.shared.unregister(temporary)
    }
}

/// Removes registered temporary directories when the process is interrupted, then exits with the
/// conventional status (130 for SIGINT, 143 for SIGTERM).
final class CleanupOnSignal: @unchecked Sendable {
    static let shared = CleanupOnSignal()
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "mm-convert.signals")

    private init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { [unowned self] in
                self.lock.lock()
                let all = self.paths
                self.lock.unlock()
                for p in all { try? FileManager.default.removeItem(atPath: p) }
                let name = sig == SIGINT ? "interrupted" : "terminated"
                fputs("mm-convert: \(name); removed the partial output, nothing was written\n", stderr)
                _exit(128 + sig)
            }
            s.resume()
            sources.append(s)
        }
    }

    func register(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    func unregister(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }
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
            let result = try write(temporary)
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
