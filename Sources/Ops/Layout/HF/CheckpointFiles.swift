import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system steps of writing a checkpoint directory: directories 0750, files 0640 (set
/// explicitly, whatever the umask), contents streamed, never read whole into memory.
public enum CheckpointFiles {
    public static let fileMode: mode_t = 0o640
    public static let directoryMode: mode_t = 0o750
    /// Deeper trees than this are refused while listing (a symlink loop would never end).
    static let maxDepth = 32

    /// Creates `path` and any missing parents with mode 0750. Existing directories are kept as they are.
    public static func makeDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw OpsError.io(path: path, message: "exists and is not a directory") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectory(parent) }
        guard mkdir(path, directoryMode) == 0 || errno == EEXIST else {
            throw OpsError.io(path: path, message: "cannot create directory: \(String(cString: strerror(errno)))")
        }
        try setMode(path, directoryMode)
    }

    /// Every regular file under `directory` (following symbolic links, as Hugging Face cache
    /// snapshots are made of links), as relative paths sorted bytewise.
    public static func listFiles(in directory: String) throws -> [String] {
        var out: [String] = []
        try collect(directory, prefix: "", depth: 0, into: &out)
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func collect(_ dir: String, prefix: String, depth: Int, into out: inout [String]) throws {
        guard depth <= maxDepth else {
            throw OpsError.io(path: dir, message: "directory tree deeper than \(maxDepth) levels (a symbolic link loop?)")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw OpsError.io(path: dir, message: "cannot list the directory: it does not exist or is not readable")
        }
        for name in names {
            let path = dir + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else {
                throw OpsError.io(path: path, message: "cannot stat: \(String(cString: strerror(errno))) (a dangling symbolic link?)")
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: try collect(path, prefix: prefix + name + "/", depth: depth + 1, into: &out)
            case S_IFREG: out.append(prefix + name)
            default: continue
            }
        }
    }

    /// Copies a file's bytes (through a read-only mapping) to a new file with mode 0640.
    public static func copyFile(from source: String, to destination: String) throws {
        let store = try ByteStore(mapping: source)
        let out = try OutputFile(creating: destination)
        try out.write(store.buffer)
        try out.close()
        try setMode(destination, fileMode)
    }

    /// Writes `bytes` to a new file with mode 0640.
    public static func writeFile(_ bytes: [UInt8], to destination: String) throws {
        let out = try OutputFile(creating: destination)
        try out.write(bytes)
        try out.close()
        try setMode(destination, fileMode)
    }

    static func setMode(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else {
            throw OpsError.io(path: path, message: "cannot set mode \(String(mode, radix: 8)): \(String(cString: strerror(errno)))")
        }
    }

    /// True for a relative path that stays inside its directory (no absolute path, no `..`).
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\0") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
