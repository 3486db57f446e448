import Foundation
import XCTest
@testable import Ops

/// WanConverter: the reference's goldens (shared/fixtures/sora), exact round trips through
/// mm_to_hf from every layout (also the reference's own outputs, and plain PP, which the reference
/// cannot read back, §9 Q1), resplit, LoRA, DCP, and the cases where the reference is wrong.
final class WanConverterTests: XCTestCase {
    static let converter = "WanConverter"
    static func sora(_ path: String) -> String { Converters.fixtures + "/sora/" + path }

    /// `mm-convert WanConverter OP --cfg.source_path S --cfg.target_path T [extra]`.
    @discardableResult
    static func run(_ op: String, _ source: String, _ target: String, _ extra: [String] = []) throws -> [String] {
        try Converters.run([converter, op, "--cfg.source_path", source, "--cfg.target_path", target] + extra)
    }

    static func pp(_ layers: String) -> [String] { ["--cfg.target_parallel_config.pp_layers", layers] }

    static func manifest(_ name: String) throws -> Converters.MMSummary {
        try Converters.summary(ofManifest: sora(name + "/ref_out.manifest.json"))
    }

    /// Wan2.1 I2V, two shards + index, no PP: every rename, incl. the image embedder and k_img/v_img/k_norm_img.
    func testI2VGolden() throws {
        let s = Converters.Scratch()
        let out = s.path("i2v")
        try Self.run("hf_to_mm", Self.sora("wan_i2v_tp1/input"), out)
        let expected = try Self.manifest("wan_i2v_tp1")
        XCTAssertEqual(expected.topLevelKeys["release/mp_rank_00/model_optim_rng.pt"], ["model"])
        XCTAssertEqual(expected.models["release/mp_rank_00/model_optim_rng.pt"]?["model"]?.count, 151)
        Converters.assertEqual(try Converters.summary(ofMM: out), expected, "wan_i2v_tp1")
        Converters.assertEqual(try Converters.summary(ofMM: Self.sora("wan_i2v_tp1/ref_out")), expected, "wan_i2v_tp1 (fixture)")
        XCTAssertEqual(try String(contentsOfFile: out + "/latest_checkpointed_iteration.txt", encoding: .utf8), "release")
    }

    /// Wan T2V with VPP [[1,1],[1,1]]: model0/model1 + checkpoint_version 3.0 per PP rank, blocks renumbered.
    func testT2VVPPGolden() throws {
        let s = Converters.Scratch()
        let out = s.path("vpp")
        try Self.run("hf_to_mm", Self.sora("wan_t2v_vpp2/input"), out, Self.pp("[[1,1],[1,1]]"))
        let expected = try Self.manifest("wan_t2v_vpp2")
        XCTAssertEqual(expected.checkpointVersions.values.sorted(), [3.0, 3.0])
        Converters.assertEqual(try Converters.summary(ofMM: out), expected, "wan_t2v_vpp2")
        Converters.assertEqual(try Converters.summary(ofMM: Self.sora("wan_t2v_vpp2/ref_out")), expected, "wan_t2v_vpp2 (fixture)")
    }

    /// mm_to_hf gives back the input folder byte for byte (shards under the names the index uses,
    /// §9 Q7; the index by its diffusers name), from our outputs and from the reference's.
    func testMMToHFRoundTripsFromEveryLayout() throws {
        let s = Converters.Scratch()
        for (fixture, layouts) in [("wan_i2v_tp1", ["[]", "[2,2]", "[[1,1],[1,1]]", "[1,3]"]), ("wan_t2v_vpp2", ["[]", "[3,1]", "[[1,1],[1,1]]", "[[2],[2]]"])] {
            let input = Self.sora(fixture + "/input")
            var sources = [Self.sora(fixture + "/ref_out")]
            for layout in layouts {
                let mm = s.path(fixture + "-mm")
                try Self.run("hf_to_mm", input, mm, Self.pp(layout))
                sources.append(mm)
            }
            for mm in sources {
                let back = s.path(fixture + "-back")
                try Self.run("mm_to_hf", mm, back, ["--cfg.hf_dir", input])
                try Converters.assertSameFiles(back, input, "\(fixture): mm_to_hf of \(mm)")
            }
        }
        XCTAssertEqual(try Converters.files(Self.sora("wan_i2v_tp1/input")).filter { $0.hasSuffix(".json") },
                       ["config.json", "diffusion_pytorch_model.safetensors.index.json", "fixture.json"])
    }

    /// Plain PP files (`model` in mp_rank_00_00P, what training with PP and no VPP writes): staged
    /// as the reference stages them, and readable (the reference fails with IndexError, §9 Q1).
    func testPPPlacementAndResplitBetweenLayouts() throws {
        let s = Converters.Scratch()
        let input = Self.sora("wan_t2v_vpp2/input")
        let pp2 = s.path("pp2")
        try Self.run("hf_to_mm", input, pp2, Self.pp("[2,2]"))
        XCTAssertEqual(try Converters.files(pp2 + "/release"), ["mp_rank_00_000/model_optim_rng.pt", "mp_rank_00_001/model_optim_rng.pt"])
        let summary = try Converters.summary(ofMM: pp2)
        XCTAssertEqual(summary.topLevelKeys["release/mp_rank_00_000/model_optim_rng.pt"], ["model"])
        let stage0 = Set(summary.models["release/mp_rank_00_000/model_optim_rng.pt"]!["model"]!.keys)
        let stage1 = Set(summary.models["release/mp_rank_00_001/model_optim_rng.pt"]!["model"]!.keys)
        XCTAssertTrue(stage0.contains("patch_embedding.weight") && stage0.contains("blocks.1.modulation") && !stage0.contains("head.head.weight"))
        XCTAssertTrue(stage1.contains("head.modulation") && stage1.contains("blocks.1.ffn.0.weight") && !stage1.contains("blocks.2.ffn.0.weight"))
        XCTAssertFalse(stage1.contains { $0.hasPrefix("time_embedding.") })
        XCTAssertEqual(stage0.count + stage1.count, 123)

        // resplit: the VPP golden -> no PP equals the direct conversion; no PP -> PP 2 equals the
        // direct conversion; PP 2 -> VPP equals the golden.
        let direct = s.path("direct")
        try Self.run("hf_to_mm", input, direct)
        let fromVPP = s.path("from-vpp")
        try Self.run("resplit", Self.sora("wan_t2v_vpp2/ref_out"), fromVPP)
        Converters.assertEqual(try Converters.summary(ofMM: fromVPP), try Converters.summary(ofMM: direct), "resplit vpp -> no PP")
        let toPP = s.path("to-pp")
        try Self.run("resplit", direct, toPP, Self.pp("[2,2]"))
        Converters.assertEqual(try Converters.summary(ofMM: toPP), summary, "resplit no PP -> pp [2,2]")
        let toVPP = s.path("to-vpp")
        try Self.run("resplit", pp2, toVPP, Self.pp("[[1,1],[1,1]]"))
        Converters.assertEqual(try Converters.summary(ofMM: toVPP), try Self.manifest("wan_t2v_vpp2"), "resplit pp [2,2] -> vpp")
    }

    /// FLF2V: the image embedder's position embedding becomes img_emb.emb_pos, first stage.
    func testFLF2VPositionEmbedding() throws {
        let s = Converters.Scratch()
        let i2v = try HFCheckpoint.load(Self.sora("wan_i2v_tp1/input"))
        var tensors = i2v.tensors
        tensors["condition_embedder.image_embedder.pos_embed"] = try RandomPool(dtype: .bf16, bytes: 1 << 12, seed: 2).tensor("pos", [1, 6, 12])
        let src = s.path("flf2v")
        _ = try HFCheckpoint.save(tensors, to: src, maxShardBytes: 1 << 30,
                                  sideFiles: ["config.json": Array(try Data(contentsOf: URL(fileURLWithPath: i2v.directory + "/config.json")))], diffusers: true)
        let mm = s.path("mm"), back = s.path("back")
        try Self.run("hf_to_mm", src, mm, Self.pp("[2,2]"))
        let stage0 = try MMCheckpointReader.load(mm).ranks[0].chunks[0]
        XCTAssertEqual(try stage0["img_emb.emb_pos"]?.sha256(), try tensors["condition_embedder.image_embedder.pos_embed"]!.sha256())
        try Self.run("mm_to_hf", mm, back, ["--cfg.hf_dir", src])
        try Converters.assertSameFiles(back, src, "flf2v")
    }

    /// A nested list with one chunk is no VPP: `model` (the reference writes `model0` +
    /// checkpoint_version, which Megatron without VPP cannot load, and cannot read back `[[4]]`, §9 Q15).
    func testOneChunkNestedListIsPlainPP() throws {
        let s = Converters.Scratch()
        let input = Self.sora("wan_t2v_vpp2/input")
        let nested = s.path("nested"), flat = s.path("flat"), one = s.path("one"), none = s.path("none")
        try Self.run("hf_to_mm", input, nested, Self.pp("[[2,2]]"))
        try Self.run("hf_to_mm", input, flat, Self.pp("[2,2]"))
        Converters.assertEqual(try Converters.summary(ofMM: nested, bytes: true), try Converters.summary(ofMM: flat, bytes: true), "[[2,2]] = [2,2]")
        XCTAssertEqual(try Converters.summary(ofMM: nested).topLevelKeys["release/mp_rank_00_001/model_optim_rng.pt"], ["model"])
        try Self.run("hf_to_mm", input, one, Self.pp("[[4]]"))
        try Self.run("hf_to_mm", input, none)
        Converters.assertEqual(try Converters.summary(ofMM: one, bytes: true), try Converters.summary(ofMM: none, bytes: true), "[[4]] = no PP")
        XCTAssertEqual(try Converters.files(one + "/release"), ["mp_rank_00/model_optim_rng.pt"])
    }

    /// I2V with PP: the image embedder's norms (img_emb.proj.0 / .4) stay, on the first stage with
    /// the rest of the image embedder (the reference drops them, §9 Q5).
    func testI2VWithPPKeepsImageEmbedderNorms() throws {
        let s = Converters.Scratch()
        let out = s.path("i2v-pp")
        try Self.run("hf_to_mm", Self.sora("wan_i2v_tp1/input"), out, Self.pp("[2,2]"))
        let summary = try Converters.summary(ofMM: out)
        let stage0 = summary.models["release/mp_rank_00_000/model_optim_rng.pt"]!["model"]!
        for n in ["img_emb.proj.0.weight", "img_emb.proj.0.bias", "img_emb.proj.4.weight", "img_emb.proj.4.bias", "img_emb.proj.1.weight", "img_emb.proj.3.bias"] {
            XCTAssertNotNil(stage0[n], n)
        }
        let all = summary.models.values.reduce(0) { $0 + $1["model"]!.count }
        XCTAssertEqual(all, 151)
        // Same tensors as the golden, only placed.
        let golden = try Self.manifest("wan_i2v_tp1").models["release/mp_rank_00/model_optim_rng.pt"]!["model"]!
        XCTAssertEqual(stage0["img_emb.proj.4.weight"], golden["img_emb.proj.4.weight"])
    }

    /// Layouts the reference accepts and gets wrong, and tp_size > 1: refused before anything is written.
    func testBadLayoutsAreRefusedAndNothingIsWritten() throws {
        let s = Converters.Scratch()
        let input = Self.sora("wan_t2v_vpp2/input")
        for (extra, message) in [(Self.pp("[1,1]"), "add up to 2, but the model has 4 blocks"),                   // §9 Q4
                                 (Self.pp("[[0,2],[2,0]]"), "has a stage with no blocks"),                           // §9 Q3
                                 (Self.pp("[0,4]"), "has a stage with no blocks"),
                                 (["--cfg.target_parallel_config.tp_size", "2"], "Wan has no tensor-parallel layers in MindSpeed-MM: tp_size must be 1")] {
            let out = s.path("bad")
            let r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", input, "--cfg.target_path", out] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(extra): wrote \(out)")
        }
        // resplit checks the target against the checkpoint's blocks.
        let mm = s.path("mm")
        try Self.run("hf_to_mm", input, mm)
        let out = s.path("bad-resplit")
        let r = Converters.runFailing([Self.converter, "resplit", "--cfg.source_path", mm, "--cfg.target_path", out] + Self.pp("[1,2]"))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("add up to 3, but the model has 4"), r.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// A tensor the converter has no name for, and a folder of another model, are refused.
    func testUnknownTensorsAndOtherModelsAreRefused() throws {
        let s = Converters.Scratch()
        let src = s.path("odd")
        let ckpt = try HFCheckpoint.load(Self.sora("wan_t2v_vpp2/input"))
        var tensors = ckpt.tensors
        tensors["blocks.1.attn1.extra.weight"] = tensors["blocks.1.attn1.to_q.weight"]
        var side: [String: [UInt8]] = ["config.json": Array(try Data(contentsOf: URL(fileURLWithPath: ckpt.directory + "/config.json")))]
        _ = try HFCheckpoint.save(tensors, to: src, maxShardBytes: 1 << 30, sideFiles: side)
        var r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", src, "--cfg.target_path", s.path("out")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("blocks.1.attn1.extra.weight") && r.text.contains("no MindSpeed-MM name"), r.text)

        let vace = s.path("vace")
        side["config.json"] = Array(#"{"_class_name": "VaceWanModel", "num_layers": 4}"#.utf8)
        _ = try HFCheckpoint.save(ckpt.tensors, to: vace, maxShardBytes: 1 << 30, sideFiles: side)
        r = Converters.runFailing([Self.converter, "hf_to_mm", "--cfg.source_path", vace, "--cfg.target_path", s.path("out")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("VaceWanModel") && r.text.contains("VACEConverter"), r.text)
    }

    /// An unsharded diffusers folder (one diffusion_pytorch_model.safetensors, no index) converts
    /// both ways (the reference's mm_to_hf needs an index, §9 Q8).
    func testSingleFileFolderRoundTrip() throws {
        let s = Converters.Scratch()
        let src = s.path("one-file")
        let ckpt = try HFCheckpoint.load(Self.sora("wan_i2v_tp1/input"))
        let config = Array(try Data(contentsOf: URL(fileURLWithPath: ckpt.directory + "/config.json")))
        _ = try HFCheckpoint.save(ckpt.tensors, to: src, maxShardBytes: 1 << 30, sideFiles: ["config.json": config], diffusers: true)
        XCTAssertEqual(try Converters.files(src), ["config.json", "diffusion_pytorch_model.safetensors"])
        let mm = s.path("mm"), back = s.path("back")
        try Self.run("hf_to_mm", src, mm, Self.pp("[3,1]"))
        try Self.run("mm_to_hf", mm, back, ["--cfg.hf_dir", src])
        try Converters.assertSameFiles(back, src, "single file")
    }

    /// A tracker with a trailing newline (as hand-written or by other tools) is read (§9 Q18).
    func testTrackerWithNewlineIsRead() throws {
        let s = Converters.Scratch()
        let mm = s.path("mm")
        try Self.run("hf_to_mm", Self.sora("wan_t2v_vpp2/input"), mm, Self.pp("[[1,1],[1,1]]"))
        try Data("release\n".utf8).write(to: URL(fileURLWithPath: mm + "/latest_checkpointed_iteration.txt"))
        let back = s.path("back")
        try Self.run("mm_to_hf", mm, back, ["--cfg.hf_dir", Self.sora("wan_t2v_vpp2/input")])
        try Converters.assertSameFiles(back, Self.sora("wan_t2v_vpp2/input"), "tracker with newline")
    }

    /// mm_to_dcp: the merged model under `model.<name>`, checkpoint_version 3.0, loadable by the DCP reader.
    func testMMToDCP() throws {
        let s = Converters.Scratch()
        let dcp = s.path("dcp")
        try Self.run("mm_to_dcp", Self.sora("wan_t2v_vpp2/ref_out"), dcp)
        XCTAssertEqual(try Converters.files(dcp), ["latest_checkpointed_iteration.txt", "release/.metadata", "release/__0_0.distcp"])
        let loaded = try DCPCheckpoint.load(dcp + "/release").stateDict(key: "model").tensors
        let direct = s.path("direct")
        try Self.run("hf_to_mm", Self.sora("wan_t2v_vpp2/input"), direct)
        let expected = try MMCheckpointReader.load(direct).ranks[0].chunks[0]
        XCTAssertEqual(Set(loaded.names), Set(expected.names))
        for (name, t) in expected {
            XCTAssertEqual(try loaded[name]?.sha256(), try t.sha256(), name)
            XCTAssertEqual(loaded[name]?.dtype, t.dtype, name)
        }
    }

    /// lora_hf_to_mm: DiffSynth names -> MindSpeed-MM (§7.1.3), placed on stages like the blocks.
    func testLoRAConversion() throws {
        let s = Converters.Scratch()
        let lora = s.path("lora")
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 14, seed: 3)
        var tensors = TensorMap()
        for l in 0..<4 {
            for m in ["self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o", "ffn.0", "ffn.2"] {
                tensors["blocks.\(l).\(m).lora_A.default.weight"] = try pool.tensor("\(l)\(m)A", [2, 16])
                tensors["blocks.\(l).\(m).lora_B.default.weight"] = try pool.tensor("\(l)\(m)B", [16, 2])
            }
        }
        try FileManager.default.createDirectory(atPath: lora, withIntermediateDirectories: true)
        _ = try SafetensorsWriter.write(tensors, metadata: nil, to: lora + "/adapter.safetensors")
        let out = s.path("out")
        try Self.run("lora_hf_to_mm", lora, out, Self.pp("[3,1]"))
        let ckpt = try MMCheckpointReader.load(out)
        XCTAssertEqual(ckpt.ppSize, 2)
        let stage0 = ckpt.ranks[0].chunks[0], stage1 = ckpt.ranks[1].chunks[0]
        XCTAssertEqual(stage0.count, 60)
        XCTAssertEqual(stage1.count, 20)
        XCTAssertEqual(try stage0["blocks.1.self_attn.proj_out.lora_A.default.weight"]?.sha256(), try tensors["blocks.1.self_attn.o.lora_A.default.weight"]!.sha256())
        XCTAssertEqual(try stage1["blocks.0.cross_attn.proj_out.lora_B.default.weight"]?.sha256(), try tensors["blocks.3.cross_attn.o.lora_B.default.weight"]!.sha256())
        XCTAssertNotNil(stage1["blocks.0.ffn.2.lora_A.default.weight"])
        XCTAssertNil(stage0["blocks.1.self_attn.q.lora_A.default.weight"])
        // No PP: one rank file, every tensor.
        let flat = s.path("flat")
        try Self.run("lora_hf_to_mm", lora, flat)
        XCTAssertEqual(try MMCheckpointReader.load(flat).ranks.map { $0.chunks[0].count }, [80])
    }

    func testCommandLine() throws {
        let help = try Converters.run([Self.converter, "hf_to_mm", "-h"]).joined(separator: "\n")
        for option in ["--cfg.source_path", "--cfg.target_path", "--cfg.target_parallel_config.pp_layers", "--cfg.target_parallel_config.tp_size",
                       "--cfg.target_parallel_config.ep_size", "--cfg.hf_dir", "--cfg.lora_path"] {
            XCTAssertTrue(help.contains(option), option)
        }
    }

    /// merge_lora_to_base: base and LoRA read from their own PP / VPP layouts, every targeted pair
    /// merged as W + alpha / rank * B @ A (f32, rounded once to bf16), others unchanged, written to
    /// the target layout. One tensor is recomputed here element by element.
    func testMergeLoRAToBase() throws {
        let s = Converters.Scratch()
        let input = Self.sora("wan_t2v_vpp2/input")
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 14, seed: 11)
        var lora = TensorMap()
        for l in 0..<4 {
            for m in ["self_attn.q", "self_attn.o", "cross_attn.v", "ffn.0", "ffn.2"] {
                let (out, inp) = m == "ffn.0" ? (32, 16) : m == "ffn.2" ? (16, 32) : (16, 16)
                lora["blocks.\(l).\(m).lora_A.default.weight"] = try pool.tensor("\(l)\(m)A", [2, inp])
                lora["blocks.\(l).\(m).lora_B.default.weight"] = try pool.tensor("\(l)\(m)B", [out, 2])
            }
        }
        let loraDir = s.path("lora")
        try FileManager.default.createDirectory(atPath: loraDir, withIntermediateDirectories: true)
        _ = try SafetensorsWriter.write(lora, metadata: nil, to: loraDir + "/adapter.safetensors")
        let loraMM = s.path("lora-mm"), base = s.path("base"), merged = s.path("merged"), direct = s.path("direct")
        try Self.run("lora_hf_to_mm", loraDir, loraMM, Self.pp("[3,1]"))
        try Self.run("hf_to_mm", input, base, Self.pp("[[1,1],[1,1]]"))
        try Self.run("hf_to_mm", input, direct)
        try Self.run("merge_lora_to_base", base, merged, ["--cfg.lora_path", loraMM, "--lora_alpha", "4", "--lora_rank", "2", "--use_npu", "false"])
        let out = try MMCheckpointReader.load(merged).ranks[0].chunks[0]
        let orig = try MMCheckpointReader.load(direct).ranks[0].chunks[0]
        XCTAssertEqual(Set(out.names), Set(orig.names))
        var changed = 0
        for (name, t) in orig where try out[name]!.sha256() != t.sha256() { changed += 1; XCTAssertTrue(name.contains("proj_q") || name.contains("proj_out") || name.contains("proj_v") || name.contains("ffn."), name) }
        XCTAssertEqual(changed, 4 * 5)
        // blocks.1.self_attn.proj_q.weight by hand: bf16(f32(W) + 2 * B @ A).
        func floats(_ t: Tensor) throws -> [Float] {
            let d = try Converters.content(t)
            return stride(from: 0, to: d.count, by: 2).map { Float(bitPattern: UInt32(UInt16(d[$0]) | UInt16(d[$0 + 1]) << 8) << 16) }
        }
        let w = try floats(orig["blocks.1.self_attn.proj_q.weight"]!), a = try floats(lora["blocks.1.self_attn.q.lora_A.default.weight"]!)
        let b = try floats(lora["blocks.1.self_attn.q.lora_B.default.weight"]!), got = try floats(out["blocks.1.self_attn.proj_q.weight"]!)
        for i in 0..<16 {
            for j in 0..<16 {
                let ba = b[i * 2] * a[j] + b[i * 2 + 1] * a[16 + j]
                let exact = w[i * 16 + j] + 2 * ba
                // Rounded once to bf16 (nearest even): within half a bf16 ulp of the f32 result.
                let ulp = Float(bitPattern: (exact.bitPattern & 0x7f80_0000)) * Float(1.0 / 128.0)
                XCTAssertLessThanOrEqual(abs(got[i * 16 + j] - exact), ulp / 2 + 1e-12, "(\(i), \(j))")
            }
        }
        // The output layout is the target's; --lora_rank 0 is refused.
        let pp2 = s.path("merged-pp2")
        try Self.run("merge_lora_to_base", base, pp2, ["--cfg.lora_path", loraMM] + Self.pp("[2,2]"))
        XCTAssertEqual(try MMCheckpointReader.load(pp2).ppSize, 2)
        let r = Converters.runFailing([Self.converter, "merge_lora_to_base", "--cfg.source_path", base, "--cfg.target_path", s.path("x"), "--cfg.lora_path", loraMM, "--lora_rank", "0"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("--lora_rank must be > 0"), r.text)
    }
}
