import Foundation
import Ops

/// `mm-convert sample FAMILY DIR [--size tiny|2b|7b|...] [--seed N]`: writes a valid HF checkpoint
/// with deterministic random weights, so a newcomer (or a benchmark) has something real to convert.
enum SampleCommand {
    /// The sizes beyond `tiny`, per family, from the presets themselves so the text cannot go stale.
    static let usage = """
        usage: mm-convert sample FAMILY DIR [--size SIZE] [--seed N] [--force] [--quiet]
          FAMILY: \(SampleFamily.allCases.map(\.rawValue).joined(separator: ", "))
          SIZE:   tiny (default; the test fixtures' shapes), \(SampleFamily.allCases.compactMap { f in
                      let more = SampleModel.sizes(f).dropFirst()
                      return more.isEmpty ? nil : "\(f.rawValue): " + more.joined(separator: ", ")
                  }.joined(separator: "; "))
                  (qwen3vl_moe bench: the 30B-A3B's 48 layers x 128 experts at small widths, about 2.5 GB;
                   qwen2_5omni 7b: the full thinker, the talker and token2wav as a few representative tensors;
                   videoalign: Qwen2-VL in the model.visual / model.language_model layout plus rm_head [1, hidden];
                   wan, wan_i2v: a diffusers Wan transformer/ folder; 1.3b / 14b = Wan2.1-T2V-1.3B / -14B, wan 5b = Wan2.2-TI2V-5B, wan_i2v 14b = Wan2.1-I2V-14B-480P;
                   cogvideox: a diffusers CogVideoX 1.5 transformer/ folder, 5b = CogVideoX1.5-5B;
                   vace: an original Wan-VACE folder, 1.3b = Wan2.1-VACE-1.3B;
                   hunyuanvideo: DIR/transformers/mp_rank_00_model_states.pt of the original t2v DiT, 720p = hunyuan-video-t2v-720p)
        """

    static func run(_ args: [String], output: Output) throws {
        let a = try CommandLineArguments(args, flags: ["--force", "--quiet", "-h", "--help"], options: ["--size", "--seed"], usage: usage)
        if a.has("-h") || a.has("--help") { output.out(usage); return }
        guard a.positionals.count == 2 else { throw UsageError("sample needs a model family and an output directory", usage: usage) }
        guard let family = SampleFamily(rawValue: a.positionals[0]) else {
            let hint = closest(a.positionals[0], in: SampleFamily.allCases.map(\.rawValue)).map { " (did you mean \($0)?)" } ?? ""
            throw UsageError("unknown sample family '\(a.positionals[0])'\(hint)", usage: usage)
        }
        guard let seed = UInt64(a.option("--seed") ?? "0") else { throw UsageError("--seed takes a non-negative integer", usage: usage) }
        let model = try SampleModel.preset(family, size: a.option("--size") ?? "tiny")
        let gen = SampleGenerator(model: model, seed: seed)
        let tensors = try gen.tensors()
        let dir = a.positionals[1]
        if let file = family.torchFile {
            // Released as one torch file of DeepSpeed model states: {"module": state dict}.
            _ = try AtomicOutput.write(to: dir, force: a.has("--force")) { tmp in
                try CheckpointFiles.makeDirectory((tmp + "/" + file as NSString).deletingLastPathComponent)
                try TorchCheckpoint.saveStateDict(tensors, key: "module", to: tmp + "/" + file)
            }
            if !a.has("--quiet") {
                output.out("wrote \(dir)/\(file): \(family.rawValue) sample, \(tensors.count) tensors, \(Progress.size(tensors.totalBytes))")
            }
            return
        }
        var side: [String: [UInt8]] = ["config.json": JSONWriter(layout: .indented(2)).encode(gen.config()) + [0x0a]]
        for (name, text) in gen.sideFiles() { side[name] = Array(text.utf8) }
        let result = try AtomicOutput.write(to: dir, force: a.has("--force")) { tmp in
            try HFCheckpoint.save(tensors, to: tmp, maxShardBytes: model.maxShardBytes, sideFiles: side, diffusers: family.isDiffusers)
        }
        if !a.has("--quiet") {
            output.out("wrote \(dir): \(family.rawValue) sample, \(tensors.count) tensors, \(Progress.size(result.totalSize)) in \(result.files.filter { $0.hasSuffix(".safetensors") }.count) shard(s)")
        }
    }
}
