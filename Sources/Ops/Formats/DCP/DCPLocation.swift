import Foundation

/// Where a DCP checkpoint directory is, given either that directory (`.metadata` + `*.distcp`) or
/// a MindSpeed-MM root around it (`latest_checkpointed_iteration.txt` + `release/` or
/// `iter_NNNNNNN/`). The tracker rule is the trainer's: whitespace stripped, `release` or an
/// integer n (-> `iter_{n:07d}`), anything else is an error.
public struct DCPLocation: Equatable {
    /// The checkpoint directory (the one holding `.metadata`).
    public var directory: String
    /// The MindSpeed-MM root, when the path given was one.
    public var root: String?
    /// What the root's tracker names.
    public var iteration: MMIteration?

    public static let metadataName = ".metadata"

    /// Resolves `path`; throws a message saying what is missing.
    public static func resolve(_ path: String) throws -> DCPLocation {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw OpsError.io(path: path, message: "no such file or directory")
        }
        if !isDir.boolValue {
            // The `.metadata` file itself.
            guard (path as NSString).lastPathComponent == metadataName else {
                throw OpsError.format(path: path, message: "is a file, not a DCP checkpoint directory")
            }
            let dir = (path as NSString).deletingLastPathComponent
            return DCPLocation(directory: dir.isEmpty ? "." : dir)
        }
        if fm.fileExists(atPath: path + "/" + metadataName) { return DCPLocation(directory: path) }
        let trackerPath = path + "/" + MMCheckpointWriter.trackerName
        if let data = fm.contents(atPath: trackerPath) {
            let text = String(decoding: data, as: UTF8.self)
            guard let iteration = MMIteration(trackerText: text) else {
                throw OpsError.format(path: trackerPath, message: "expected 'release' or an iteration number, found '\(text.prefix(40))'")
            }
            let dir = path + "/" + iteration.directoryName
            guard fm.fileExists(atPath: dir + "/" + metadataName) else {
                throw OpsError.format(path: dir, message: "the tracker names '\(iteration.directoryName)', which holds no \(metadataName): not a DCP checkpoint")
            }
            return DCPLocation(directory: dir, root: path, iteration: iteration)
        }
        let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if names.contains(metadataName + ".tmp") {
            throw OpsError.format(path: path, message: "holds \(metadataName).tmp but no \(metadataName): the save was interrupted before it finished")
        }
        if names.contains(where: { $0.hasPrefix("__") && $0.hasSuffix(".metadata") }) {
            throw OpsError.unsupported("\(path): per-rank __<rank>.metadata files (a save with use_collectives=False) are not supported: load and re-save the checkpoint with torch")
        }
        throw OpsError.format(path: path, message: "is not a DCP checkpoint: no \(metadataName) and no \(MMCheckpointWriter.trackerName)")
    }

    /// Whether `path` looks like a DCP checkpoint or a root around one (for input detection: cheap,
    /// never throws).
    public static func isDCP(_ path: String) -> Bool {
        let fm = FileManager.default
        if fm.fileExists(atPath: path + "/" + metadataName) { return true }
        if let data = fm.contents(atPath: path + "/" + MMCheckpointWriter.trackerName),
           let it = MMIteration(trackerText: String(decoding: data, as: UTF8.self)) {
            return fm.fileExists(atPath: path + "/" + it.directoryName + "/" + metadataName)
        }
        return false
    }
}
