import Foundation
import XCTest
@testable import CLI
import Ops

/// Tiny Hugging Face checkpoints of the models the later DCP converters handle, written by the
/// workspace (two shards, config.json, a side file), with the key layouts of the Hub.
enum DCPModelFixtures {
    /// Writes `tensors` (name, shape) as bf16 with distinct bytes, cut into shards of
    /// `shardBytes`, with `config` as config.json and a tokenizer_config.json side file.
    static func write(_ dir: String, _ tensors: [(String, [Int])], config: Value?, shardBytes: Int = 600) throws {
        var m = TensorMap()
        for (i, (name, shape)) in tensors.enumerated() { m[name] = try InspectTensors.tensor(.bf16, shape, seed: i + 1) }
        let ws = Workspace()
        ws.setModel(m)
        ws.config = config
        try ws.saveHF(dir, like: nil, maxShardBytes: shardBytes)
        try Data("{\"model_max_length\": 128}\n".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
    }

    /// Mistral-Small-3 in the older Hub layout (`language_model.model.*`) or the newer one
    /// (`model.language_model.*`, `lm_head.weight`); `tied` leaves the LM head out.
    static func mistral3(_ dir: String, newKeys: Bool, tied: Bool = false) throws {
        let lm = newKeys ? "model.language_model." : "language_model.model."
        let vt = newKeys ? "model.vision_tower." : "vision_tower."
        let mp = newKeys ? "model.multi_modal_projector." : "multi_modal_projector."
        var t: [(String, [Int])] = [
            (lm + "embed_tokens.weight", [16, 8]),
            (lm + "layers.0.self_attn.q_proj.weight", [8, 8]),
            (lm + "layers.0.mlp.gate_proj.weight", [12, 8]),
            (lm + "layers.0.mlp.down_proj.weight", [8, 12]),
            (lm + "norm.weight", [8]),
            (vt + "patch_conv.weight", [4, 3, 2, 2]),
            (vt + "transformer.layers.0.attention.q_proj.weight", [4, 4]),
            (mp + "linear_1.weight", [8, 4]),
        ]
        if !tied { t.append(((newKeys ? "" : "language_model.") + "lm_head.weight", [16, 8])) }
        try write(dir, t, config: .dict([("model_type", .string("mistral3")),
                                         ("text_config", .dict([("hidden_size", .int(8)), ("num_hidden_layers", .int(1))])),
                                         ("vision_config", .dict([("hidden_size", .int(4))]))]))
    }

    /// A tiny Qwen3.5-MoE (dcp.md §4 vector 9): fused experts `gate_up_proj [4,12,16]` /
    /// `down_proj [4,16,6]`, a shared expert (2-D `down_proj.weight`), a ViT bias, and with `mtp`
    /// one MTP layer whose 4 experts are stored per expert.
    static func qwen35(_ dir: String, mtp: Bool) throws {
        let l = "model.language_model.layers.0."
        var t: [(String, [Int])] = [
            ("model.language_model.embed_tokens.weight", [32, 16]),
            (l + "self_attn.q_proj.weight", [16, 16]),
            (l + "mlp.gate.weight", [4, 16]),
            (l + "mlp.experts.gate_up_proj", [4, 12, 16]),
            (l + "mlp.experts.down_proj", [4, 16, 6]),
            (l + "mlp.shared_expert.gate_proj.weight", [8, 16]),
            (l + "mlp.shared_expert.down_proj.weight", [16, 8]),
            ("model.visual.blocks.0.mlp.linear_fc2.bias", [16]),
            ("lm_head.weight", [32, 16]),
        ]
        if mtp {
            t.append(("mtp.fc.weight", [16, 32]))
            for e in 0..<4 {
                t += [("mtp.layers.0.mlp.experts.\(e).gate_proj.weight", [6, 16]), ("mtp.layers.0.mlp.experts.\(e).up_proj.weight", [6, 16]),
                      ("mtp.layers.0.mlp.experts.\(e).down_proj.weight", [16, 6])]
            }
            t.append(("mtp.layers.0.mlp.shared_expert.down_proj.weight", [16, 6]))
        }
        try write(dir, t, config: .dict([("model_type", .string("qwen3_5_moe")),
                                         ("text_config", .dict([("num_experts", .int(4)), ("mtp_num_hidden_layers", .int(mtp ? 1 : 0))]))]),
                  shardBytes: 4000)
    }
}

/// Mistral3Converter, Qwen35Converter and the LoRA key layout against the rules of dcp.md §2.
final class DCPModelConverterTests: XCTestCase {
    var dir: TemporaryDirectory!

    override func setUpWithError() throws { dir = try TemporaryDirectory("dcp-models") }
    override func tearDownWithError() throws { dir.remove() }

    func out(_ name: String) -> String { dir.url.appendingPathComponent(name).path }

    func fqns(_ path: String) throws -> [String] { try DCPCheckpoint.load(path).entries.map(\.fqn).sorted() }

    // MARK: - Mistral3Converter

    /// Both Hub layouts go to the same FQNs (model.model.<newer key>), and come back in their own
    /// layout, byte for byte (the reference writes the older names for both, §3 D5).
    func testMistral3BothKeyLayoutsRoundTrip() throws {
        for newKeys in [false, true] {
            let hf = out("hf-\(newKeys)"), dcp = out("dcp-\(newKeys)"), back = out("back-\(newKeys)")
            try DCPModelFixtures.mistral3(hf, newKeys: newKeys)
            runOK(["Mistral3Converter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", dcp])
            XCTAssertEqual(try fqns(dcp), [
                "checkpoint_version", "model.lm_head.weight", "model.model.language_model.embed_tokens.weight",
                "model.model.language_model.layers.0.mlp.down_proj.weight", "model.model.language_model.layers.0.mlp.gate_proj.weight",
                "model.model.language_model.layers.0.self_attn.q_proj.weight", "model.model.language_model.norm.weight",
                "model.model.multi_modal_projector.linear_1.weight", "model.model.vision_tower.patch_conv.weight",
                "model.model.vision_tower.transformer.layers.0.attention.q_proj.weight",
            ].map { $0.hasPrefix("model.") ? "model." + $0 : $0 }.sorted())
            runOK(["Mistral3Converter", "dcp_to_hf", "--load_dir", dcp, "--save_dir", back, "--model_assets_dir", hf])
            try assertSameFileBytes(hf, back)
        }
    }

    /// D9: the tie is resolved after the rename and over the whole checkpoint: an older-layout
    /// tied model (embedding and no LM head, in another shard than where the head would go) gets
    /// lm_head.weight, a copy of the embedding, and comes back without it.
    func testMistral3TieAcrossShardsAndLayouts() throws {
        let hf = out("hf"), dcp = out("dcp"), back = out("back")
        try DCPModelFixtures.mistral3(hf, newKeys: false, tied: true)
        XCTAssertGreaterThan(try HFCheckpoint.load(hf).index?.weightMap.map(\.file).reduce(into: Set<String>()) { $0.insert($1) }.count ?? 0, 1)
        runOK(["Mistral3Converter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", dcp, "--tie_weight", "true"])
        let ckpt = try DCPCheckpoint.load(dcp)
        XCTAssertEqual(try ckpt.tensor("model.model.lm_head.weight").sha256(), try ckpt.tensor("model.model.model.language_model.embed_tokens.weight").sha256())
        runOK(["Mistral3Converter", "dcp_to_hf", "--load_dir", dcp, "--save_dir", back, "--model_assets_dir", hf])
        try assertSameFileBytes(hf, back)
    }

    // MARK: - Qwen35Converter

    /// hf_to_dcp: experts transposed ([4,12,16] -> [4,16,12], [4,16,6] -> [4,6,16]), the MTP
    /// layer's per-expert weights stacked into the same layout with the values of
    /// stack_E([gate; up]^T) and stack_E(down^T); 2-D and 1-D tensors untouched; dcp_to_hf gives the
    /// original back byte for byte, also with a dcp_prefix (D3) and the 2-D view (D2).
    func testQwen35ExpertsMTPAndRoundTrips() throws {
        let hf = out("hf")
        try DCPModelFixtures.qwen35(hf, mtp: true)
        runOK(["Qwen35Converter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("dcp")])
        let ckpt = try DCPCheckpoint.load(out("dcp"))
        let source = try HFCheckpoint.load(hf).tensors
        let l = "model.language_model.layers.0.mlp."
        XCTAssertEqual(ckpt.entry("model." + l + "experts.gate_up_proj")?.tensor?.size, [4, 16, 12])
        XCTAssertEqual(ckpt.entry("model." + l + "experts.down_proj")?.tensor?.size, [4, 6, 16])
        XCTAssertEqual(try ckpt.tensor("model." + l + "experts.gate_up_proj").sha256(), try source[l + "experts.gate_up_proj"]!.transposed(1, 2).sha256())
        XCTAssertEqual(ckpt.entry("model." + l + "shared_expert.down_proj.weight")?.tensor?.size, [16, 8])
        XCTAssertEqual(ckpt.entry("model.model.visual.blocks.0.mlp.linear_fc2.bias")?.tensor?.size, [16])
        let gateUp = try ckpt.tensor("model.mtp.layers.0.mlp.experts.gate_up_proj"), down = try ckpt.tensor("model.mtp.layers.0.mlp.experts.down_proj")
        XCTAssertEqual(gateUp.shape, [4, 16, 12])
        XCTAssertEqual(down.shape, [4, 6, 16])
        for e in 0..<4 {
            let p = "mtp.layers.0.mlp.experts.\(e)."
            let expected = try Tensor.concat([source[p + "gate_proj.weight"]!, source[p + "up_proj.weight"]!], dim: 0).transposed(0, 1)
            XCTAssertEqual(try gateUp.slice(dim: 0, start: e, count: 1).reshaped([16, 12]).sha256(), try expected.sha256(), "expert \(e)")
            XCTAssertEqual(try down.slice(dim: 0, start: e, count: 1).reshaped([6, 16]).sha256(), try source[p + "down_proj.weight"]!.transposed(0, 1).sha256())
        }
        XCTAssertNil(ckpt.entry("model.mtp.layers.0.mlp.experts.0.gate_proj.weight"))
        runOK(["Qwen35Converter", "dcp_to_hf", "--dcp_dir", out("dcp"), "--save_hf_dir", out("back"), "--origin_hf_dir", hf])
        try assertSameFileBytes(hf, out("back"))

        // D3: with a dcp_prefix the experts still come back untransposed; D2: with the 2-D view,
        // the shared expert's 2-D down_proj and the stacked MTP experts keep their shapes.
        runOK(["Qwen35Converter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("dcp2"), "--dcp_prefix", "model.",
             "--fused_linear_names", #"["gate_up_proj", "down_proj"]"#])
        let viewed = try DCPCheckpoint.load(out("dcp2"))
        XCTAssertEqual(viewed.entry("model.model." + l + "experts.gate_up_proj")?.tensor?.size, [64, 12])
        XCTAssertEqual(viewed.entry("model.model." + l + "shared_expert.down_proj.weight")?.tensor?.size, [16, 8])
        XCTAssertEqual(viewed.entry("model.model.mtp.layers.0.mlp.experts.down_proj")?.tensor?.size, [4, 6, 16])
        runOK(["Qwen35Converter", "dcp_to_hf", "--dcp_dir", out("dcp2"), "--save_hf_dir", out("back2"), "--origin_hf_dir", hf,
             "--dcp_prefix", "model.", "--fused_linear_names", #"["gate_up_proj", "down_proj"]"#])
        try assertSameFileBytes(hf, out("back2"))
    }

    /// A checkpoint trained without MTP: dcp_to_hf fails naming the missing MTP tensors, and with
    /// --keep_origin_mtp_weights takes them from the original.
    func testQwen35KeepOriginMTPWeights() throws {
        let hf = out("hf"), plain = out("plain")
        try DCPModelFixtures.qwen35(hf, mtp: true)
        try DCPModelFixtures.qwen35(plain, mtp: false)
        runOK(["Qwen35Converter", "hf_to_dcp", "--hf_dir", plain, "--dcp_dir", out("dcp")])
        let r = CLIRun(["Qwen35Converter", "dcp_to_hf", "--dcp_dir", out("dcp"), "--save_hf_dir", out("back"), "--origin_hf_dir", hf, "--quiet"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.errText.contains("'mtp.fc.weight'") || r.errText.contains("mtp."), r.errText)
        runOK(["Qwen35Converter", "dcp_to_hf", "--dcp_dir", out("dcp"), "--save_hf_dir", out("back"), "--origin_hf_dir", hf,
             "--keep_origin_mtp_weights", "true"])
        try assertSameFileBytes(hf, out("back"))
    }

    /// D2 with GenericDCPConverter: the fused names select only 3-D `...experts.<name>` tensors,
    /// so the shared expert's 2-D `down_proj.weight` and the per-expert MTP `down_proj.weight`
    /// come back 2-D (the reference returns them [4,4,8] and [4,4,6]).
    func testGenericFusedNamesTakeOnlyExperts() throws {
        let hf = out("hf")
        try DCPModelFixtures.qwen35(hf, mtp: true)
        let names = #"["gate_up_proj", "down_proj"]"#
        runOK(["GenericDCPConverter", "hf_to_dcp", "--hf_dir", hf, "--dcp_dir", out("dcp"), "--fused_linear_names", names])
        let ckpt = try DCPCheckpoint.load(out("dcp"))
        XCTAssertEqual(ckpt.entry("model.model.language_model.layers.0.mlp.experts.down_proj")?.tensor?.size, [64, 6])
        XCTAssertEqual(ckpt.entry("model.mtp.layers.0.mlp.experts.0.down_proj.weight")?.tensor?.size, [16, 6])
        runOK(["GenericDCPConverter", "dcp_to_hf", "--load_dir", out("dcp"), "--save_dir", out("back"), "--model_assets_dir", hf, "--fused_linear_names", names])
        try assertSameFileBytes(hf, out("back"))
    }

    // MARK: - LoRA adapters

    /// lora_hf_to_dcp (Qwen3VL and Mistral3): `base_model.<rest>.weight` -> FQN
    /// `model.base_model.model.<rest>.default.weight`, same bytes; an adapter has no config.json.
    func testLoRAAdapterToDCP() throws {
        let adapter = out("adapter")
        let names = ["base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight",
                     "base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_B.weight"]
        try DCPModelFixtures.write(adapter, [(names[0], [2, 16]), (names[1], [16, 2])], config: nil, shardBytes: 1 << 20)
        for converter in ["Qwen3VLConverter", "Mistral3Converter"] {
            let dcp = out("dcp-" + converter)
            runOK([converter, "lora_hf_to_dcp", "--hf_dir", adapter, "--dcp_dir", dcp])
            let ckpt = try DCPCheckpoint.load(dcp)
            XCTAssertEqual(ckpt.entries.map(\.fqn).sorted(), ["checkpoint_version",
                "model.base_model.model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.default.weight",
                "model.base_model.model.model.model.language_model.layers.0.self_attn.q_proj.lora_B.default.weight"])
            let source = try HFCheckpoint.load(adapter).tensors
            XCTAssertEqual(try ckpt.tensor("model.base_model.model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.default.weight").sha256(),
                           try source[names[0]]!.sha256())
        }
    }

    // MARK: - ExpertMergeDcpConverter

    /// hf_to_dcp fuses GLM-4.5V's per-expert weights as moe_expert does (2-D views), FQN
    /// model.model.<key>; dcp_to_hf gives back the original's shards, index and side files byte
    /// for byte (the reference re-cuts them into one model.safetensors and a new index).
    func testExpertMergeGLMRoundTrip() throws {
        let hf = out("hf")
        _ = try HFOpsCommandTests.perExpertGLM(hf)
        runOK(["ExpertMergeDcpConverter", "hf_to_dcp", "--hf_dir", hf, "--save_dir", out("dcp")])
        let ckpt = try DCPCheckpoint.load(out("dcp"))
        let merged = out("merged")
        runOK(["moe_expert", "--style", "merge", "--hf_dir", hf, "--save_dir", merged])
        let fused = try HFCheckpoint.load(merged).tensors
        XCTAssertEqual(Set(ckpt.tensorNames), Set(fused.names.map { "model.model." + $0 }))
        for (name, t) in fused {
            let ours = try ckpt.tensor("model.model." + name)
            XCTAssertEqual(ours.shape, t.shape, name)
            XCTAssertEqual(try ours.sha256(), try t.sha256(), name)
        }
        XCTAssertEqual(ckpt.entry("model.model.model.language_model.layers.1.mlp.experts.gate_up_proj")?.tensor?.size, [4 * 16, 16])
        runOK(["ExpertMergeDcpConverter", "dcp_to_hf", "--hf_dir", hf, "--dcp_dir", out("dcp"), "--save_dir", out("back")])
        try assertSameFileBytes(hf, out("back"))
    }

    /// D7: merge_mm_lora_dcp_weight_to_base_hf (the reference's Qwen3VLConverter crashes): a PEFT
    /// adapter for layer 0's q_proj and v_proj, through lora_hf_to_dcp, merged into the base gives
    /// what the LoRA merge gives on the base names (W + scaling * B @ A, f32, rounded once); only
    /// the targeted tensor changes with a target list; the base's files are otherwise kept.
    func testLoRADCPMergeIntoBase() throws {
        let base = InspectFixtures.fixture("dcp/ref_qwen3vl_moe/hf"), adapter = out("adapter")
        let layer = "model.language_model.layers.0.self_attn."
        var pairs: [(String, [Int])] = []
        for (module, outDim) in [("q_proj", 16), ("v_proj", 8)] {
            pairs += [("base_model.model." + layer + module + ".lora_A.weight", [2, 16]), ("base_model.model." + layer + module + ".lora_B.weight", [outDim, 2])]
        }
        try DCPModelFixtures.write(adapter, pairs, config: nil, shardBytes: 1 << 20)
        let baseTensors = try HFCheckpoint.load(base).tensors
        XCTAssertEqual(baseTensors[layer + "q_proj.weight"]?.shape, [16, 16])
        for converter in ["Qwen3VLConverter", "Mistral3Converter"] {
            let dcp = out("lora-dcp-" + converter)
            runOK([converter, "lora_hf_to_dcp", "--hf_dir", adapter, "--dcp_dir", dcp])
            for targets in ["", "v_proj"] {
                let merged = out("merged-\(converter)-\(targets)")
                runOK([converter, "merge_mm_lora_dcp_weight_to_base_hf", "--base_hf_dir", base, "--lora_dcp_dir", dcp,
                     "--lora_target_modules", targets, "--save_merged_hf_dir", merged, "--scaling", "2.0"])
                // The expected merge, on adapter names made the base's.
                var named = TensorMap()
                for (name, t) in try HFCheckpoint.load(adapter).tensors {
                    named[String(name.dropFirst("base_model.model.".count)).replacingOccurrences(of: ".weight", with: ".default.weight")] = t
                }
                let expected = try LoRAMerge(adapter: named, scaling: 2.0, targets: targets.isEmpty ? nil : [targets]).apply(baseTensors)
                let ours = try HFCheckpoint.load(merged).tensors
                XCTAssertEqual(ours.names.sorted(), baseTensors.names.sorted())
                for (name, t) in expected { XCTAssertEqual(try ours[name]!.sha256(), try t.sha256(), "\(converter) \(targets) \(name)") }
                XCTAssertNotEqual(try ours[layer + "v_proj.weight"]!.sha256(), try baseTensors[layer + "v_proj.weight"]!.sha256())
                XCTAssertEqual(try ours[layer + "q_proj.weight"]!.sha256() == baseTensors[layer + "q_proj.weight"]!.sha256(), !targets.isEmpty)
                for side in ["config.json", "tokenizer_config.json", "model.safetensors.index.json"] {
                    XCTAssertEqual(FileManager.default.contents(atPath: merged + "/" + side), FileManager.default.contents(atPath: base + "/" + side), side)
                }
            }
        }
    }
}
