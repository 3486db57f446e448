import Foundation
import Ops

/// `mm-convert convert SRC DST [--key KEY] [--force]`: one state dict between a torch `.pt` file,
/// a `.safetensors` file and a torch Distributed Checkpoint (any direction), streamed tensor by
/// tensor and written atomically.
enum ConvertCommand {
    static let usage = """
        usage: mm-convert convert SRC DST [--key KEY] [--force] [--quiet]
          SRC, DST: .pt (.pth, .bin) or .safetensors files, by extension, or a DCP checkpoint
                    directory (torch Distributed Checkpoint: .metadata + *.distcp, or a
                    MindSpeed-MM root with latest_checkpointed_iteration.txt); a DST without
                    an extension is a DCP directory, written as a MindSpeed-MM root
                    (tracker 'release', release/.metadata, release/__0_0.distcp)
          --key KEY  from a .pt: the dict of tensors to take (dotted path: model, model0, ...;
                     default: the saved dict itself if it holds tensors, else 'model');
                     from a DCP: the entries under this key (default 'model' when there is one);
                     to a .pt from .safetensors: nest the tensors under this key;
                     to a DCP: the FQNs' prefix (default 'model': FQN model.<name>)
          --force    replace an existing DST
        """

    enum FileKind { case torch, safetensors, dcp }

    static func kind(ofOutput path: String) throws -> FileKind {
        // A trailing slash names a directory: only a DCP output can be one.
        let directory = path.hasSuffix("/")
        let name = (path as NSString).lastPathComponent
        let ext = name.contains(".") ? (name as NSString).pathExtension.lowercased() : ""
        if !directory && ext == "safetensors" { return .safetensors }
        if !directory && ["pt", "pth", "bin"].contains(ext) { return .torch }
        if ext.isEmpty { return .dcp }
        throw UsageError("cannot tell the output format of '\(path)': DST must end in .safetensors or .pt, or be a directory name without an extension (a DCP checkpoint)", usage: usage)
    }

    static func run(_ args: [String], output: Output) throws {
        let a = try CommandLineArguments(args, flags: ["--force", "--quiet", "-h", "--help"], options: ["--key"], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return }
        guard a.positionals.count == 2 else { throw UsageError("convert needs a source file and a destination file", usage: usage) }
        let (src, dst) = (a.positionals[0], a.positionals[1])
        let dstKind = try kind(ofOutput: dst)
        let srcKind: FileKind
        switch try CheckpointSummary.detectKind(src) {
        case .safetensors: srcKind = .safetensors
        case .torch: srcKind = .torch
        case .dcp: srcKind = .dcp
        case .hf, .mm: throw UsageError("convert works on single files and DCP checkpoints; '\(src)' is a checkpoint directory", usage: usage)
        }
        let key = a.option("--key")
        if key != nil && srcKind == .safetensors && dstKind == .safetensors {
            throw UsageError("--key selects a dict inside a .pt file or a DCP; neither SRC nor DST is one", usage: usage)
        }
        let source = try ConvertSource.read(src, kind: srcKind, key: key)
        if !source.skipped.isEmpty {
            output.err("mm-convert: note: skipped \(source.skipped.count) entr\(source.skipped.count == 1 ? "y" : "ies") that \(source.skipped.count == 1 ? "is" : "are") not tensors: "
                + source.skipped.map { "\($0.name) (\($0.type))" }.joined(separator: ", "))
        }
        let size: Int
        let what: String
        switch dstKind {
        case .dcp:
            // From safetensors, --key names the FQNs' prefix; from a .pt or a DCP it chose the dict.
            let prefix = srcKind == .safetensors ? (key ?? "model") : "model"
            size = try ConvertSource.writeDCP(source.tensors, prefix: prefix, to: dst, force: a.has("--force"))
            what = "in data files"
        case .safetensors, .torch:
            size = try AtomicFileOutput.write(to: dst, force: a.has("--force")) { tmp -> Int in
                if dstKind == .safetensors {
                    return try SafetensorsWriter.write(source.tensors, metadata: source.metadata ?? [("format", "pt")], to: tmp)
                }
                let nestUnder = srcKind == .safetensors ? key : nil
                try TorchCheckpoint.save(ConvertSource.stateDict(source.tensors, nestedUnder: nestUnder), to: tmp,
                                         archiveName: TorchCheckpoint.defaultArchiveName(dst))
                return (try? FileManager.default.attributesOfItem(atPath: tmp)[.size] as? Int) ?? 0
            }
            what = "file"
        }
        if !a.has("--quiet") {
            output.out("wrote \(dst): \(source.tensors.count) tensors, \(Progress.size(source.tensors.totalBytes)) of tensor data, \(Progress.size(size)) \(what)")
        }
    }
}
