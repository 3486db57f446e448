import Ops

/// `mm-convert inspect PATH [--json] [--filter PATTERN]`: what a checkpoint holds (tensors with
/// dtype, shape and bytes, totals, parallel layout, non-tensor entries), read from headers and
/// pickles only, so it is instant even on a 100 GB checkpoint.
enum InspectCommand {
    static let usage = """
        usage: mm-convert inspect PATH [--json] [--filter PATTERN]
          PATH: a .safetensors file, a torch .pt file, a Hugging Face directory, a
                MindSpeed-MM directory (latest_checkpointed_iteration.txt + release/ or iter_N/),
                or a DCP checkpoint (torch Distributed Checkpoint: .metadata + *.distcp, or a
                MindSpeed-MM FSDP2 root around one)
          --json            print a JSON document instead of the table
          --filter PATTERN  only tensors whose name matches (glob with * and ?; plain text
                            matches names containing it)
        """

    static func run(_ args: [String], output: Output) throws {
        let a = try CommandLineArguments(args, flags: ["--json", "-h", "--help"], options: ["--filter"], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return }
        guard a.positionals.count == 1 else {
            throw UsageError(a.positionals.isEmpty ? "inspect needs a path" : "inspect takes one path, got \(a.positionals.count)", usage: usage)
        }
        var summary = try CheckpointSummary.load(a.positionals[0])
        if let pattern = a.option("--filter") { summary = summary.filtered(by: pattern) }
        if a.has("--json") {
            output.out(summary.jsonText())
        } else {
            for line in summary.tableLines() { output.out(line) }
        }
    }
}
