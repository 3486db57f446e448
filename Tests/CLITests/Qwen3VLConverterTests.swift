import XCTest
@testable import Ops

/// Qwen3VLMegatronConverter (dense and MoE): the reference's goldens, exact round trips through
/// mm_to_hf and through resplit over TP, PP, VPP and EP, and the cases where the reference is
/// wrong (dropped experts, ep_size on a dense model, save_vit_only, expert storage).
final class Qwen3VLConverterTests: XCTestCase {
    let converter = "Qwen3VLMegatronConverter"

    func testDenseGolden() throws {
        let s = Converters.Scratch()
        let out = s.path("dense")
        try Converters.hfToMM(converter, hf: Converters.hf("qwen3vl"), to: out, tp: 2, llm: [[2, 2]], vit: [[2, 1]])
        Converters.assertEqual(try Converters.summary(ofMM: out), try Converters.summary(ofManifest: Converters.golden("qwen3vl_tp2_pp2") + ".manifest.json"), "qwen3vl_tp2_pp2")
        // The deepstack merger fed by ViT layer 2 moves with it to stage 1, as that stage's layer 0.
        let stage1 = try TorchCheckpoint.load(out + "/release/mp_rank_00_001/model_optim_rng.pt")["model"]!.dictValue!
        let names = stage1.items.compactMap { $0.key.stringValue }
        XCTAssertTrue(names.contains("image_encoder.encoder.blocks.layers.0.deepstack_layer.encoder.linear_fc1.weight"))
        XCTAssertTrue(names.contains("image_encoder.projector.encoder.linear_fc2.weight"))
        XCTAssertFalse(names.contains { $0.hasPrefix("image_encoder.encoder.blocks.layers.1.") })

        let back = s.path("back")
        try Converters.mmToHF(converter, mm: out, hf: Converters.hf("qwen3vl"), to: back, tp: 2)
        try Converters.assertSameFiles(back, Converters.hf("qwen3vl"), "dense mm_to_hf")
    }

    /// EP 2: rank e holds experts 2e, 2e+1 as local_experts.0/1; each expert written compact (the
    /// reference writes transposed views that carry the layer's whole fused storage, §9 Q11).
    func testMoEGoldenWithCompactExperts() throws {
        let s = Converters.Scratch()
        let out = s.path("moe")
        try Converters.hfToMM(converter, hf: Converters.hf("qwen3vl_moe"), to: out, tp: 1, llm: [[1, 1]], vit: [[2, 0]],
                              extra: ["--cfg.parallel_config.ep_size", "2"])
        Converters.assertEqual(try Converters.summary(ofMM: out), try Converters.summary(ofManifest: Converters.golden("qwen3vl_moe_tp1_ep2_pp2") + ".manifest.json"), "qwen3vl_moe_tp1_ep2_pp2")
        XCTAssertEqual(try Converters.files(out + "/release"), ["mp_rank_00_000_000/model_optim_rng.pt", "mp_rank_00_000_001/model_optim_rng.pt",
                                                               "mp_rank_00_001_000/model_optim_rng.pt", "mp_rank_00_001_001/model_optim_rng.pt"])
        for rank in try Converters.files(out + "/release") {
            let model = try TorchCheckpoint.load(out + "/release/" + rank)["model"]!.dictValue!
            for (key, value) in model.items {
                guard let t = value.tensorValue, let storage = t.storage else { continue }
                XCTAssertEqual(storage.byteCount, t.tensor.byteCount, "\(rank) \(key.stringValue ?? ""): storage holds more than the tensor")
                XCTAssertEqual(t.stride, TorchTensor.contiguousStrides(t.tensor.shape), "\(rank) \(key.stringValue ?? "")")
            }
        }
        let back = s.path("back")
        try Converters.mmToHF(converter, mm: out, hf: Converters.hf("qwen3vl_moe"), to: back, tp: 1)
        try Converters.assertSameFiles(back, Converters.hf("qwen3vl_moe"), "moe mm_to_hf")
    }

    /// EP 1 -> 2 -> 1 with TP, PP and VPP changes on the way; every layout converts back to the
    /// original checkpoint byte for byte, and the EP 1 layouts equal a direct hf_to_mm.
    func testMoEResplitOverEPTPPPAndVPP() throws {
        let s = Converters.Scratch()
        let hf = Converters.hf("qwen3vl_moe")
        let ep1 = s.path("ep1")
        try Converters.hfToMM(converter, hf: hf, to: ep1, tp: 2, llm: [[2]], vit: [[2]])
        let ep2 = s.path("ep2")
        try Converters.resplit(converter, from: ep1, .init(tp: 2, llm: [[2]], vit: [[2]]), to: ep2, .init(tp: 1, llm: [[1], [1]], vit: [[2], [0]]),
                               extra: ["--cfg.target_parallel_config.ep_size", "2"])
        XCTAssertEqual(try Converters.files(ep2 + "/release"), ["mp_rank_00_000/model_optim_rng.pt", "mp_rank_00_001/model_optim_rng.pt"])
        let ep4 = s.path("ep4")
        try Converters.resplit(converter, from: ep2, .init(tp: 1, llm: [[1], [1]], vit: [[2], [0]]), to: ep4, .init(tp: 2, llm: [[1, 1]], vit: [[1, 1]]),
                               inferSource: true, extra: ["--cfg.target_parallel_config.ep_size", "4"])
        XCTAssertEqual(try Converters.files(ep4 + "/release").count, 2 * 2 * 4)
        let back1 = s.path("ep1-again")
        try Converters.resplit(converter, from: ep4, .init(tp: 2, llm: [[1, 1]], vit: [[1, 1]]), to: back1, .init(tp: 2, llm: [[2]], vit: [[2]]))
        Converters.assertEqual(try Converters.summary(ofMM: back1, bytes: true), try Converters.summary(ofMM: ep1, bytes: true), "EP 1 -> 2 -> 4 -> 1")
        for (dir, tp) in [(ep2, 1), (ep4, 2)] {
            let hfBack = s.path("hf")
            try Converters.mmToHF(converter, mm: dir, hf: hf, to: hfBack, tp: tp)
            try Converters.assertSameFiles(hfBack, hf, "mm_to_hf of \(dir)")
        }
    }

    func testDenseResplitWithVPPAndBack() throws {
        let s = Converters.Scratch()
        let hf = Converters.hf("qwen3vl")
        let a = s.path("a"), b = s.path("b"), back = s.path("back")
        try Converters.hfToMM(converter, hf: hf, to: a, tp: 2, llm: [[2, 2]], vit: [[2, 1]])
        try Converters.resplit(converter, from: a, .init(tp: 2, llm: [[2, 2]], vit: [[2, 1]]), to: b, .init(tp: 1, llm: [[1, 1], [1, 1]], vit: [[2, 1], [0, 0]]))
        try Converters.mmToHF(converter, mm: b, hf: hf, to: back, tp: 1)
        try Converters.assertSameFiles(back, hf, "dense tp2/pp2 -> tp1/vpp2 -> HF")
    }

    /// The reference silently loses the last expert at EP 3 of 4 and gives a dense model EP
    /// directories; both are refused before anything is written.
    func testRefusals() throws {
        let s = Converters.Scratch()
        let out = s.path("out")
        var r = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", Converters.hf("qwen3vl_moe"), "--cfg.mm_dir", out,
                                       "--cfg.parallel_config.llm_pp_layers", "[[2]]", "--cfg.parallel_config.vit_pp_layers", "[[2]]",
                                       "--cfg.parallel_config.ep_size", "3"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("error: the 4 experts do not split over ep_size=3: give an ep_size that divides 4"), r.text)
        r = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", Converters.hf("qwen3vl"), "--cfg.mm_dir", out,
                                   "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[3]]",
                                   "--cfg.parallel_config.ep_size", "2"])
        XCTAssertTrue(r.text.contains("error: this model has no experts (a dense model): ep_size must be 1, not 2"), r.text)
        // A ViT list longer than the LLM's is refused, not cut (§9 Q26).
        r = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", Converters.hf("qwen3vl"), "--cfg.mm_dir", out,
                                   "--cfg.parallel_config.llm_pp_layers", "[[4]]", "--cfg.parallel_config.vit_pp_layers", "[[2,1]]"])
        XCTAssertTrue(r.text.contains("vit has 2 pipeline stages but llm has 1"), r.text)
        // resplit of a dense model to EP 2.
        let dense = s.path("dense")
        try Converters.hfToMM(converter, hf: Converters.hf("qwen3vl"), to: dense, tp: 1, llm: [[4]], vit: [[3]])
        r = Converters.runFailing([converter, "resplit", "--cfg.source_dir", dense, "--cfg.target_dir", out,
                                   "--cfg.target_parallel_config.llm_pp_layers", "[4]", "--cfg.target_parallel_config.vit_pp_layers", "[3]",
                                   "--cfg.target_parallel_config.ep_size", "2"])
        XCTAssertTrue(r.text.contains("the model has no experts (no local_experts.{E} tensors), so it cannot be split over ep_size=2"), r.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// save_vit_only keeps the ViT (the reference keeps `visual*` keys, none of Qwen3-VL's, §9 Q27).
    func testSaveViTOnly() throws {
        let s = Converters.Scratch()
        let out = s.path("vit")
        try Converters.hfToMM(converter, hf: Converters.hf("qwen3vl"), to: out, tp: 1, llm: [[4]], vit: [[3]], extra: ["--cfg.save_vit_only", "true"])
        let model = try TorchCheckpoint.load(out + "/release/mp_rank_00/model_optim_rng.pt")["model"]!.dictValue!
        let names = model.items.compactMap { $0.key.stringValue }
        // 3 blocks x 12 + patch embed 2 + pos embed 1 + merger 6 + 2 deepstack mergers x 6.
        XCTAssertEqual(names.count, 57)
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("image_encoder.") })
        XCTAssertTrue(names.contains("image_encoder.encoder.blocks.layers.2.deepstack_layer.layernorm.weight"))
    }
}
