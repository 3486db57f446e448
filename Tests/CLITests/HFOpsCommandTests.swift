import CLI
import Foundation
import Ops
import XCTest

/// A Python with numpy for the independent checks of Tests/Interop/hf_ops_check.py:
/// `$MM_CONVERT_PYTHON` if set, else `python3` on PATH; the tests skip without one.
enum NumpyPython {
    static let checked: Result<String, Error> = {
        var candidates: [String] = []
        if let p = ProcessInfo.processInfo.environment[InteropPython.variable], !p.isEmpty { candidates.append(p) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(String(dir) + "/python3")
        }
        for p in candidates where FileManager.default.isExecutableFile(atPath: p) {
            if let r = try? InteropPython.run(p, ["-c", "import numpy"], timeout: 60), r.status == 0 { return .success(p) }
        }
        return .failure(XCTSkip("no python with numpy (set \(InteropPython.variable) or put python3 with numpy on PATH)"))
    }()

    static func script(_ args: [String], python: String? = nil) throws -> String {
        let py = try python ?? checked.get()
        let r = try InteropPython.run(py, [InspectFixtures.interopScript("hf_ops_check.py")] + args, timeout: 300)
        guard r.status == 0 else { throw ConverterTestError("hf_ops_check.py \(args.joined(separator: " ")): \(r.stdout)\(r.stderr.suffix(2000))") }
        return r.stdout
    }
}

/// `mm-convert moe_expert` and `mm-convert merge_lora_safetensors_to_base` end to end.
final class HFOpsCommandTests: XCTestCase {
    // MARK: - moe_expert

    /// Merged tensors equal numpy's stack([gate; up].T) / stack(down.T) (2-D views for GLM and
    /// InternVL, `thinker.` dropped for Qwen3-Omni); split gives back every input file byte for byte.
    func testMoeExpertMergeMatchesNumpyAndSplitRoundTrips() throws {
        _ = try NumpyPython.checked.get()
        let s = Converters.Scratch()
        for kind in ["glm", "internvl", "omni"] {
            let src = s.path(kind), merged = s.path(kind + "-merged"), back = s.path(kind + "-split")
            _ = try NumpyPython.script(["make-moe", kind, src])
            try Converters.run(["moe_expert", "--style", "merge", "--hf_dir", src, "--save_dir", merged])
            XCTAssertTrue(try NumpyPython.script(["check-moe-merge", kind, src, merged]).hasPrefix("ok"))
            try Converters.run(["moe_expert", "--style", "split", "--hf_dir", merged, "--save_dir", back])
            try Converters.assertSameFiles(src, back, "\(kind) merge -> split")
        }
    }

    /// A per-expert GLM-style checkpoint written by us: 3 layers (layer 0 dense), 4 experts.
    /// `mtp`: a fourth layer (index num_hidden_layers, GLM's MTP layer) with experts too.
    static func perExpertGLM(_ dir: String, h: Int = 16, i: Int = 8, mtp: Bool = false) throws -> TensorMap {
        var m = TensorMap()
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func bf(_ shape: [Int]) throws -> Tensor {
            var b: [UInt8] = []
            for _ in 0..<shape.reduce(1, *) {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let v = UInt16(truncatingIfNeeded: seed >> 48) & 0xBFFF   // finite values
                b += [UInt8(v & 0xFF), UInt8(v >> 8)]
            }
            return try Tensor.fromBytes(b, dtype: .bf16, shape: shape)
        }
        let p = "model.language_model.layers"
        m["model.language_model.embed_tokens.weight"] = try bf([32, h])
        m["\(p).0.mlp.gate_proj.weight"] = try bf([i, h])
        for l in 1..<(mtp ? 4 : 3) {
            m["\(p).\(l).mlp.gate.weight"] = try bf([4, h])
            for e in 0..<4 {
                m["\(p).\(l).mlp.experts.\(e).gate_proj.weight"] = try bf([i, h])
                m["\(p).\(l).mlp.experts.\(e).up_proj.weight"] = try bf([i, h])
                m["\(p).\(l).mlp.experts.\(e).down_proj.weight"] = try bf([h, i])
            }
        }
        let config = #"{"model_type": "glm4v_moe", "text_config": {"num_hidden_layers": 3, "first_k_dense_replace": 1, "n_routed_experts": 4}}"#
        try HFCheckpoint.save(m, to: dir, maxShardBytes: 3000, sideFiles: ["config.json": Array(config.utf8), "chat_template.jinja": Array("{{ x }}".utf8)])
        return m
    }

    /// Shards cut by --max_shard_size in the model's order, named model-0000k-of-0000n; the
    /// index as the reference writes it (indent 2, sorted keys, no trailing newline, always);
    /// {"format":"pt"} in every shard; side files copied; split gives every tensor back.
    func testMoeExpertShardsIndexAndSideFiles() throws {
        let s = Converters.Scratch()
        let src = s.path("glm"), merged = s.path("merged"), back = s.path("back"), one = s.path("one")
        let original = try Self.perExpertGLM(src)
        try Converters.run(["moe_expert", "--style", "merge", "--hf_dir", src, "--save_dir", merged, "--max_shard_size", "1KB"])
        let files = try Converters.files(merged)
        let shards = files.filter { $0.hasSuffix(".safetensors") }
        XCTAssertGreaterThan(shards.count, 2)
        XCTAssertEqual(shards, (1...shards.count).map { String(format: "model-%05d-of-%05d.safetensors", $0, shards.count) })
        XCTAssertEqual(Set(files).subtracting(shards), ["config.json", "chat_template.jinja", "model.safetensors.index.json"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: merged + "/config.json")), try Data(contentsOf: URL(fileURLWithPath: src + "/config.json")))
        let ckpt = try HFCheckpoint.load(merged)
        var total = 0
        for (name, t) in ckpt.tensors {
            total += t.byteCount
            XCTAssertEqual(ckpt.metadata[ckpt.shardOf[name]!]?.map { "\($0.0)=\($0.1)" }, ["format=pt"])
        }
        // Cut at 1000 bytes: a shard holds more only when it is one tensor larger than that.
        for f in shards {
            let inShard = ckpt.tensors.filter { ckpt.shardOf[$0.name] == f }
            let bytes = inShard.reduce(0) { $0 + $1.tensor.byteCount }
            XCTAssertTrue(bytes <= 1000 || inShard.count == 1, "\(f): \(bytes) bytes in \(inShard.count) tensors")
        }
        let indexBytes = try Data(contentsOf: URL(fileURLWithPath: merged + "/model.safetensors.index.json"))
        XCTAssertNotEqual(indexBytes.last, 0x0A, "no trailing newline")
        let expectedIndex = "{\n  \"metadata\": {\n    \"total_size\": \(total)\n  },\n  \"weight_map\": {\n"
            + ckpt.weightMap.sorted { $0.tensor < $1.tensor }.map { "    \"\($0.tensor)\": \"\($0.file)\"" }.joined(separator: ",\n") + "\n  }\n}"
        XCTAssertEqual(String(decoding: indexBytes, as: UTF8.self), expectedIndex)
        XCTAssertEqual(ckpt.tensors["model.language_model.layers.1.mlp.experts.gate_up_proj"]?.shape, [4 * 16, 16])
        XCTAssertEqual(ckpt.tensors["model.language_model.layers.2.mlp.experts.down_proj"]?.shape, [4 * 8, 16])
        XCTAssertNotNil(ckpt.tensors["model.language_model.layers.0.mlp.gate_proj.weight"], "dense layer 0 left alone")

        try Converters.run(["moe_expert", "--style", "split", "--hf_dir", merged, "--save_dir", back, "--max_shard_size", "1KB"])
        let split = try HFCheckpoint.load(back)
        XCTAssertEqual(Set(split.tensors.names), Set(original.names))
        for (name, t) in original { XCTAssertEqual(try split.tensors[name]!.materialize(), try t.materialize(), name) }
        // One shard: model.safetensors, and still an index.
        try Converters.run(["moe_expert", "--style", "merge", "--hf_dir", src, "--save_dir", one])
        XCTAssertEqual(try Converters.files(one).filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".json") },
                       ["config.json", "model.safetensors", "model.safetensors.index.json"])
        let oneIndex = try SafetensorsIndex(contentsOf: one + "/model.safetensors.index.json")
        XCTAssertEqual(Set(oneIndex.weightMap.map(\.file)), ["model.safetensors"])
    }

    /// GLM-4.5V's MTP layer (after num_hidden_layers) keeps its per-expert weights, as in the
    /// reference; split gives the checkpoint back.
    func testMoeExpertLeavesTheMTPLayer() throws {
        let s = Converters.Scratch()
        let src = s.path("glm"), merged = s.path("merged"), back = s.path("back")
        let original = try Self.perExpertGLM(src, mtp: true)
        try Converters.run(["moe_expert", "--style", "merge", "--hf_dir", src, "--save_dir", merged])
        let names = try HFCheckpoint.load(merged).tensors.names
        XCTAssertTrue(names.contains("model.language_model.layers.3.mlp.experts.3.down_proj.weight"))
        XCTAssertFalse(names.contains("model.language_model.layers.3.mlp.experts.gate_up_proj"))
        XCTAssertTrue(names.contains("model.language_model.layers.2.mlp.experts.gate_up_proj"))
        try Converters.run(["moe_expert", "--style", "split", "--hf_dir", merged, "--save_dir", back])
        let split = try HFCheckpoint.load(back).tensors
        XCTAssertEqual(Set(split.names), Set(original.names))
        for (name, t) in original { XCTAssertEqual(try split[name]!.materialize(), try t.materialize(), name) }
    }

    func testMoeExpertRefusesWhatItCannotConvert() throws {
        let s = Converters.Scratch()
        let src = s.path("glm")
        _ = try Self.perExpertGLM(src)
        func fails(_ args: [String], _ text: String, status: Int32 = 1, line: UInt = #line) {
            let out = s.path("out")
            let r = Converters.runFailing(["moe_expert"] + args + ["--save_dir", out])
            XCTAssertEqual(r.status, status, r.text, line: line)
            XCTAssertTrue(r.text.contains(text), r.text, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written", line: line)
        }
        fails(["--style", "fuse", "--hf_dir", src], "--style must be merge or split")
        fails(["--style", "split", "--hf_dir", src], "layer 1 has no fused gate_up_proj")
        fails(["--style", "merge", "--hf_dir", src, "--max_shard_size", "4 GiB"], "is not a size")
        fails(["--style", "merge", "--hf_dir", s.path("missing")], "does not exist", status: 2)
        // Another model: a clear error naming model_type and the supported ones.
        let other = s.path("llama")
        try HFCheckpoint.save(TensorMap([("x.weight", Tensor.zeros(.f32, [2]))]), to: other, maxShardBytes: 1000,
                              sideFiles: ["config.json": Array(#"{"model_type": "llama"}"#.utf8)])
        fails(["--style", "merge", "--hf_dir", other], "model_type 'llama'; supported are InternVL-Chat (internvl_chat), Qwen3-Omni-MoE (qwen3_omni_moe) and GLM-4V-MoE (glm4v_moe)")
        // A merge of a merged checkpoint.
        let merged = s.path("merged")
        try Converters.run(["moe_expert", "--style", "merge", "--hf_dir", src, "--save_dir", merged])
        fails(["--style", "merge", "--hf_dir", merged], "layer 1 has no per-expert gate_proj weights")
    }

    /// Flat options, -h, --print_config, a YAML --config and environment variables as for the
    /// other commands (no operation level: the reference's moe_expert is a function).
    func testMoeExpertCommandLine() throws {
        let s = Converters.Scratch()
        let src = s.path("glm")
        _ = try Self.perExpertGLM(src)
        func run(_ args: [String], env: [String: String] = [:]) -> (Int32, String) {
            var lines: [String] = []
            let status = CommandLineTool.run(args + ["--quiet"], environment: env, output: Output(out: { lines.append($0) }, err: { lines.append($0) }))
            return (status, lines.joined(separator: "\n"))
        }
        let (hs, help) = run(["moe_expert", "-h"])
        XCTAssertEqual(hs, 0)
        XCTAssertTrue(help.contains("usage: mm-convert moe_expert [-h]") && help.contains("--style STYLE") && help.contains("default: 4GB"), help)
        let (ps, yaml) = run(["moe_expert", "--style", "merge", "--hf_dir", src, "--save_dir", "x", "--print_config"])
        XCTAssertEqual(ps, 0)
        XCTAssertEqual(yaml, "style: merge\nhf_dir: \(src)\nsave_dir: x\nmax_shard_size: 4GB")
        let config = s.path("cfg.yaml")
        let out1 = s.path("out1")
        try "style: merge\nhf_dir: \(src)\nsave_dir: \(out1)\n".write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(run(["moe_expert", "--config", config]).0, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out1 + "/model.safetensors.index.json"))
        let out2 = s.path("out2")
        let env = ["JSONARGPARSE_DEFAULT_ENV": "true", "MM_CONVERT_MOE_EXPERT__STYLE": "merge",
                   "MM_CONVERT_MOE_EXPERT__HF_DIR": src, "MM_CONVERT_MOE_EXPERT__SAVE_DIR": out2]
        XCTAssertEqual(run(["moe_expert"], env: env).0, 0)
        try Converters.assertSameFiles(out1, out2, "--config vs environment")
        let (ms, missing) = run(["moe_expert", "--hf_dir", src])
        XCTAssertEqual(ms, 2)
        XCTAssertTrue(missing.contains("missing required options --style, --save_dir"), missing)
        let (us, unknown) = run(["moe_expert", "merge", "--hf_dir", src])
        XCTAssertEqual(us, 2)
        XCTAssertTrue(unknown.contains("unrecognized argument 'merge'"), unknown)
    }

    // MARK: - merge_lora_safetensors_to_base

    /// Merged tensors equal numpy's f32 W + s·(B @ A) rounded once (bit for bit on values that are
    /// exact in any summation order; within one bf16/f16 step otherwise), other tensors, the
    /// base's shards, index and side files unchanged.
    func testLoRAMergeMatchesNumpy() throws {
        _ = try NumpyPython.checked.get()
        let s = Converters.Scratch()
        for exact in ["1", "0"] {
            let base = s.path("base"), lora = s.path("lora.safetensors"), out = s.path("merged")
            _ = try NumpyPython.script(["make-lora", base, lora, exact])
            try Converters.run(["merge_lora_safetensors_to_base", "--base_hf_dir", base, "--lora_safetensors", lora,
                                "--save_merged_hf_dir", out, "--lora_alpha", "16", "--lora_r", "8"])
            XCTAssertTrue(try NumpyPython.script(["check-lora", base, lora, out, "2.0", exact]).hasPrefix("ok"))
            XCTAssertEqual(try Converters.files(out), try Converters.files(base))
            for f in ["config.json", "tokenizer.json", "model.safetensors.index.json"] {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/" + f)), try Data(contentsOf: URL(fileURLWithPath: base + "/" + f)), f)
            }
        }
    }

    /// The same against torch (fp32 `W + scaling * (B @ A)`, then `.to(bfloat16)`), as the
    /// reference script computes it. Skipped without `$MM_CONVERT_PYTHON` (torch).
    func testLoRAMergeMatchesTorch() throws {
        let python = try InteropPython.python()
        let s = Converters.Scratch()
        for exact in ["1", "0"] {
            let base = s.path("base"), lora = s.path("lora.safetensors"), out = s.path("merged")
            _ = try NumpyPython.script(["make-lora", base, lora, exact], python: python)
            try Converters.run(["merge_lora_safetensors_to_base", "--base_hf_dir", base, "--lora_safetensors", lora,
                                "--save_merged_hf_dir", out, "--lora_alpha", "12", "--lora_r", "8"])
            XCTAssertTrue(try NumpyPython.script(["check-lora", base, lora, out, "1.5", exact, "--torch"], python: python).hasPrefix("ok"))
        }
    }

    /// The adapter as a torch file gives the same merge; targets as several words (argparse's
    /// nargs='+') or a JSON list; only the targeted layer changes, to W + s·B@A.
    func testLoRAAdapterFormsAndTargets() throws {
        let s = Converters.Scratch()
        let base = s.path("base"), lora = s.path("lora.safetensors"), pt = s.path("lora.pt")
        func f32(_ v: [Float], _ shape: [Int]) throws -> Tensor {
            try Tensor.fromBytes(v.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian, Array.init) }, dtype: .f32, shape: shape)
        }
        let w = try f32((0..<32).map { Float($0) / 4 }, [4, 8]).cast(to: .bf16)
        try HFCheckpoint.save(TensorMap([("m.q_proj.weight", w), ("m.k_proj.weight", w), ("m.v_proj.weight", w)]), to: base,
                              maxShardBytes: 100, sideFiles: ["config.json": Array("{}".utf8)])
        let a = try f32((0..<16).map { Float($0 % 3) }, [2, 8]), b = try f32((0..<8).map { Float($0 % 2) / 2 }, [4, 2])
        var adapter = TensorMap()
        for m in ["q_proj", "k_proj", "v_proj"] { adapter["m.\(m).lora_A.default.weight"] = a; adapter["m.\(m).lora_B.default.weight"] = b }
        _ = try SafetensorsWriter.write(adapter, metadata: nil, to: lora)
        try Converters.run(["convert", lora, pt])
        let outs = [s.path("st"), s.path("pt"), s.path("json")]
        let common = ["merge_lora_safetensors_to_base", "--base_hf_dir", base, "--lora_alpha", "32", "--lora_r", "16"]
        try Converters.run(common + ["--lora_safetensors", lora, "--save_merged_hf_dir", outs[0], "--lora_target_modules", "q_proj", "v_proj"])
        try Converters.run(common + ["--lora_safetensors", pt, "--save_merged_hf_dir", outs[1], "--lora_target_modules", "q_proj", "v_proj"])
        try Converters.run(common + ["--lora_safetensors", lora, "--save_merged_hf_dir", outs[2], "--lora_target_modules", #"["q_proj","v_proj"]"#])
        try Converters.assertSameFiles(outs[0], outs[1], ".safetensors vs .pt adapter")
        try Converters.assertSameFiles(outs[0], outs[2], "nargs vs JSON targets")
        let merged = try HFCheckpoint.load(outs[0]).tensors
        XCTAssertEqual(try merged["m.k_proj.weight"]!.materialize(), try w.materialize(), "not targeted")
        let expected = try LoRAMerge.merged(w, a: a, b: b, scaling: 2, name: "q")
        for n in ["m.q_proj.weight", "m.v_proj.weight"] {
            XCTAssertEqual(try merged[n]!.materialize(), try expected.materialize(), n)
            XCTAssertNotEqual(try merged[n]!.materialize(), try w.materialize(), n)
        }
        XCTAssertEqual(try HFCheckpoint.load(outs[0]).shardOf, try HFCheckpoint.load(base).shardOf, "the base's shards")
    }

    /// Targets limit the merge; a pair without a base tensor is an error naming it, and nothing
    /// is written.
    func testLoRATargetsAndErrors() throws {
        let s = Converters.Scratch()
        let base = s.path("base"), lora = s.path("lora.safetensors")
        let w = try Tensor.fromBytes([UInt8](repeating: 0x3F, count: 32), dtype: .bf16, shape: [4, 4])
        try HFCheckpoint.save(TensorMap([("m.q_proj.weight", w), ("m.v_proj.weight", w)]), to: base, maxShardBytes: 1000,
                              sideFiles: ["config.json": Array("{}".utf8)])
        let a = try Tensor.fromBytes([UInt8](repeating: 0, count: 16), dtype: .f32, shape: [1, 4])
        func adapter(_ prefix: String) throws {
            try? FileManager.default.removeItem(atPath: lora)
            _ = try SafetensorsWriter.write(TensorMap([("\(prefix).q_proj.lora_A.default.weight", a), ("\(prefix).q_proj.lora_B.default.weight", try a.reshaped([4, 1])),
                                                       ("\(prefix).v_proj.lora_A.default.weight", a), ("\(prefix).v_proj.lora_B.default.weight", try a.reshaped([4, 1]))]),
                                            metadata: nil, to: lora)
        }
        try adapter("m")
        let out = s.path("out")
        try Converters.run(["merge_lora_safetensors_to_base", "--base_hf_dir", base, "--lora_safetensors", lora, "--save_merged_hf_dir", out,
                            "--lora_target_modules", #"["q_proj"]"#, "--device", "npu"])
        try Converters.assertSameFiles(base, out, "zero LoRA")
        try adapter("base_model.model.m")
        let bad = s.path("bad")
        let r = Converters.runFailing(["merge_lora_safetensors_to_base", "--base_hf_dir", base, "--lora_safetensors", lora, "--save_merged_hf_dir", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("'base_model.model.m.q_proj.weight': is not in the base checkpoint"), r.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: bad))
    }
}
