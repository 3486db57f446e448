/// `verify HF_DIR --roundtrip CONVERTER -- OPTIONS`: hf_to_mm then mm_to_hf with a bundled
/// converter, inside a scratch directory. OPTIONS are hf_to_mm's (`--cfg.parallel_config.*`); the
/// tensor-parallel sizes, and the other options mm_to_hf also uses (`enable_canonical_hf_struct`,
/// VideoAlign's `model_prefix` and `resize_vocab_size`, ...), are passed on to mm_to_hf, which
/// reads the layer lists from the files.
enum RoundTrip {
    static func run(converter: String, hfDir: String, scratch: String, extra: [String]) throws -> String {
        let mm = scratch + "/mm", back = scratch + "/hf"
        let sink = Output(out: { _ in }, err: { _ in })
        var errors: [String] = []
        let collect = Output(out: { _ in }, err: { errors.append($0) })
        func call(_ args: [String], _ what: String) throws {
            let status = CommandLineTool.run(args + ["--quiet"], environment: [:], output: errors.isEmpty ? collect : sink)
            guard status == 0 else {
                throw UsageError("the round trip's \(what) failed:\n" + errors.joined(separator: "\n"))
            }
        }
        try call([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", hfDir, "--cfg.mm_dir", mm] + extra, "hf_to_mm")
        let reverse = try RecipeCatalog.bundled().infos.first { $0.converter == converter && $0.operation == "mm_to_hf" }
        let used = Set((reverse?.params ?? []).filter { !$0.ignored }.map { "--" + $0.name })
            .subtracting(["--cfg.mm_dir", "--cfg.hf_config.hf_dir", "--cfg.save_hf_dir"])
            .filter { !$0.hasSuffix("_pp_layers") }
        var passed: [String] = []
        var i = 0
        while i + 1 < extra.count {
            if used.contains(extra[i]) { passed += [extra[i], extra[i + 1]] }
            i += 1
        }
        try call([converter, "mm_to_hf", "--cfg.mm_dir", mm, "--cfg.hf_config.hf_dir", hfDir, "--cfg.save_hf_dir", back] + passed, "mm_to_hf")
        return back
    }
}
