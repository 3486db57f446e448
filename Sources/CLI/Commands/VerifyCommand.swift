import Foundation
import Ops

/// `mm-convert verify A B [--json] [--quiet] [--limit N]`: compares two checkpoints tensor by
/// tensor (and their layout, index and side files), exit 0 when identical, 1 with a report of the
/// differences, 2 for usage errors.
///
/// `mm-convert verify HF_DIR --roundtrip CONVERTER [-- ARGS...]` converts a Hugging Face checkpoint
/// to MindSpeed-MM and back in a temporary directory and checks that the result is bit-exact.
public enum VerifyCommand {
    /// Runs a round trip for `--roundtrip`: given the converter name, the Hugging Face directory,
    /// a scratch directory (empty, removed afterwards and on SIGINT/SIGTERM) and the extra
    /// arguments given after `--`, converts hf -> mm -> hf inside the scratch directory and returns
    /// the path of the Hugging Face checkpoint it wrote there. Set by whoever bundles the
    /// converters; nil means `--roundtrip` is unavailable.
    public static var roundtrip: ((_ converter: String, _ hfDir: String, _ scratchDir: String, _ extraArgs: [String]) throws -> String)?

    static let usage = """
        usage: mm-convert verify A B [--json] [--quiet] [--limit N]
               mm-convert verify HF_DIR --roundtrip CONVERTER [--tmp DIR] [--json] [--quiet] [-- CONVERTER ARGS...]
          A, B: Hugging Face directories or .safetensors files, MindSpeed-MM directories, DCP checkpoints
                (.metadata + *.distcp, or a root with latest_checkpointed_iteration.txt), or torch (.pt) files
          --json        print the report as JSON
          --quiet       print nothing; the exit status tells (0 identical, 1 different)
          --limit N     differences shown per category (default 20)
          --roundtrip   convert HF_DIR to MindSpeed-MM and back with CONVERTER, then compare
          --tmp DIR     where the round trip's scratch directory goes (default: the system's)
        """

    /// The two checkpoints differ (exit status 1, after the report was printed).
    struct Mismatch: Error, CustomStringConvertible {
        let count: Int
        var description: String { "the checkpoints differ: \(count) difference(s)" }
    }

    static func run(_ args: [String], output: Output) throws {
        // Arguments after `--` belong to the round trip's converter.
        let split = args.firstIndex(of: "--")
        let own = split.map { Array(args[..<$0]) } ?? args
        let extra = split.map { Array(args[($0 + 1)...]) } ?? []
        let a = try CommandLineArguments(own, flags: ["--json", "--quiet", "-h", "--help"],
                                     options: ["--limit", "--roundtrip", "--tmp"], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return }
        guard let limit = Int(a.option("--limit") ?? "20"), limit >= 0 else {
            throw UsageError("--limit takes a non-negative integer", usage: usage)
        }
        let comparison = CheckpointComparison()
        let report: VerifyReport
        if let converter = a.option("--roundtrip") {
            guard a.positionals.count == 1 else {
                throw UsageError("verify --roundtrip needs exactly one Hugging Face checkpoint directory", usage: usage)
            }
            report = try roundtrip(converter, a.positionals[0], tmp: a.option("--tmp"), extra: extra, comparison)
        } else {
            guard extra.isEmpty else { throw UsageError("arguments after -- are for --roundtrip only", usage: usage) }
            guard a.positionals.count == 2 else { throw UsageError("verify needs two checkpoints to compare", usage: usage) }
            let (pa, pb) = (a.positionals[0], a.positionals[1])
            if let why = VerifyInput.incompatibility(try VerifyInput.kind(of: pa), try VerifyInput.kind(of: pb)) {
                throw UsageError(why)
            }
            report = try comparison.compare(pa, pb)
        }
        if a.has("--json") && !a.has("--quiet") {
            output.out(JSONWriter(layout: .indented(2)).string(report.json(limit: limit)))
        } else if !a.has("--quiet") {
            for line in report.text(limit: limit) { output.out(line) }
        }
        if !report.isIdentical { throw Mismatch(count: report.differences.count) }
    }

    static func roundtrip(_ converter: String, _ hfDir: String, tmp: String?, extra: [String],
                          _ comparison: CheckpointComparison) throws -> VerifyReport {
        guard try VerifyInput.kind(of: hfDir) == .hf else {
            throw UsageError("--roundtrip needs a Hugging Face checkpoint directory; \(hfDir) is not one", usage: usage)
        }
        guard let hook = roundtrip else {
            throw OpsError.unsupported("--roundtrip is not available: this build registers no converters")
        }
        let base = tmp ?? FileManager.default.temporaryDirectory.path
        // Never committed: only its signal-safe temporary directory is used, then removed.
        let scratch = try AtomicOutput(target: base + "/mm-convert-verify-roundtrip", force: true)
        defer { scratch.abandon() }
        let back = try hook(converter, hfDir, scratch.temporary, extra)
        var report = try comparison.compare(VerifyInput.open(hfDir), VerifyInput.open(back))
        report.second = "round trip through \(converter): " + report.second
        return report
    }
}
