import Ops
import XCTest

/// HF -> MM -> HF through the command line gives back the original checkpoint byte for byte (every
/// shard, the index, the side files), for every bundled family, over TP, PP, VPP and hetero
/// layouts, including the cases where the reference is wrong (§9 Q1, Q5, Q9).
final class RoundTripTests: XCTestCase {
    override class func tearDown() { Converters.removeSamples() }

    /// Converts `hf` with `layout`, converts back (layer lists given, or read from the files when
    /// `inferLayers`), and compares every file with the original. Returns the MM directory.
    @discardableResult
    func roundTrip(_ converter: String, hf: String, _ layout: Converters.Layout, inferLayers: Bool = false,
                   scratch: Converters.Scratch, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let label = "tp\(layout.tp) vit_tp\(layout.vitTP ?? 0) llm\(Converters.list(layout.llm)) vit\(Converters.list(layout.vit))"
        let mm = scratch.path("mm"), back = scratch.path("hf")
        try Converters.hfToMM(converter, hf: hf, to: mm, tp: layout.tp, vitTP: layout.vitTP, llm: layout.llm, vit: layout.vit)
        try Converters.mmToHF(converter, mm: mm, hf: hf, to: back, tp: layout.tp, vitTP: layout.vitTP,
                              llm: inferLayers ? nil : layout.llm, vit: inferLayers ? nil : layout.vit)
        try Converters.assertSameFiles(back, hf, "\(converter) \(label)", file: file, line: line)
        return mm
    }

    typealias L = Converters.Layout

    // MARK: - Qwen2-VL (fixture)

    func testQwen2VL() throws {
        let s = Converters.Scratch(), hf = Converters.hf("qwen2vl")
        for layout in [L(tp: 1, llm: [[4]], vit: [[2]]),
                       L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),
                       L(tp: 2, llm: [[0, 2, 2]], vit: [[2, 0, 0]]),             // leading zero LLM stage (§9 Q1)
                       L(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]),   // VPP (§9 Q9)
                       L(tp: 1, llm: [[2, 2]], vit: [[2]]),                      // hetero PP: ViT on every stage
                       L(tp: 2, vitTP: 1, llm: [[4]], vit: [[2]]),               // hetero TP
                       L(tp: 1, vitTP: 4, llm: [[3, 1]], vit: [[1, 1]])] {       // ViT TP 4, ViT over two stages
            try roundTrip("Qwen2VLConverter", hf: hf, layout, scratch: s)
        }
        // Layer lists read from the files, VPP included.
        try roundTrip("Qwen2VLConverter", hf: hf, L(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]), inferLayers: true, scratch: s)
    }

    // MARK: - Qwen2.5-VL (sample: tied embeddings, GLU ViT MLP with biases, RMSNorm weights only)

    func testQwen2_5VL() throws {
        let s = Converters.Scratch(), hf = try Converters.sample("qwen2_5vl")
        for layout in [L(tp: 1, llm: [[4]], vit: [[2]]),
                       L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),             // tied, PP > 1: output layer copy
                       L(tp: 2, llm: [[0, 2, 2]], vit: [[2, 0, 0]]),
                       L(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]),
                       L(tp: 1, llm: [[2, 2]], vit: [[2]]),
                       L(tp: 2, vitTP: 4, llm: [[2, 2]], vit: [[1, 1]])] {       // ViT TP 4 (GLU fc1 over 4 ranks)
            try roundTrip("Qwen2_5_VLConverter", hf: hf, layout, scratch: s)
        }
        try roundTrip("Qwen2_5_VLConverter", hf: hf, L(tp: 2, llm: [[0, 0, 1], [1, 1, 1]], vit: [[2, 0, 0], [0, 0, 0]]), inferLayers: true, scratch: s)
    }

    /// The tied model's last stage carries a copy of the embedding as output layer only with PP > 1.
    func testQwen2_5VLTiedOutputLayerOnlyWithPP() throws {
        let s = Converters.Scratch(), hf = try Converters.sample("qwen2_5vl")
        let pp1 = try roundTrip("Qwen2_5_VLConverter", hf: hf, L(tp: 2, llm: [[4]], vit: [[2]]), scratch: s)
        let one = try Converters.summary(ofMM: pp1, bytes: true)
        XCTAssertNil(one.models["release/mp_rank_00/model_optim_rng.pt"]?["model"]?["text_decoder.output_layer.weight"])
        let pp2 = try roundTrip("Qwen2_5_VLConverter", hf: hf, L(tp: 2, llm: [[2, 2]], vit: [[2, 0]]), scratch: s)
        let two = try Converters.summary(ofMM: pp2, bytes: true)
        for tp in ["00", "01"] {
            let first = two.models["release/mp_rank_\(tp)_000/model_optim_rng.pt"]?["model"] ?? [:]
            let last = two.models["release/mp_rank_\(tp)_001/model_optim_rng.pt"]?["model"] ?? [:]
            XCTAssertEqual(last["text_decoder.output_layer.weight"], first["text_decoder.embedding.word_embeddings.weight"])
            XCTAssertEqual(last["text_decoder.output_layer.weight"]?.shape, [192, 64])
        }
    }

    // MARK: - InternVL

    /// Qwen2 backbone (fixture). TP 2 splits the 3 ViT heads 2 + 1: the reference's mm_to_hf
    /// concatenates the pieces and scrambles qkv (§9 Q5); ours regroups them.
    func testInternVLQwen2() throws {
        let s = Converters.Scratch(), hf = Converters.hf("internvl_qwen2")
        for layout in [L(tp: 1, llm: [[4]], vit: [[2]]),
                       L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),
                       L(tp: 2, llm: [[0, 2, 2]], vit: [[2, 0, 0]]),
                       L(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]),
                       L(tp: 1, vitTP: 3, llm: [[4]], vit: [[2]]),               // one ViT head per rank
                       L(tp: 1, vitTP: 2, llm: [[4]], vit: [[2]]),               // hetero TP, unaligned ViT
                       L(tp: 2, llm: [[2, 2]], vit: [[2]])] {
            try roundTrip("InternVLConverter", hf: hf, layout, scratch: s)
        }
        // The reference's own TP 2 output converts back exactly.
        let back = s.path("from-golden")
        try Converters.mmToHF("InternVLConverter", mm: Converters.golden("internvl_qwen2_tp2_pp3"), hf: hf, to: back, tp: 2)
        try Converters.assertSameFiles(back, hf, "mm_to_hf of the golden internvl_qwen2_tp2_pp3")
    }

    /// Tied InternVL backbones (Qwen2 and InternLM2): no output weight in HF; a copy of the
    /// embedding on the last stage with PP > 1; resplit adds or removes it when PP crosses 1.
    func testInternVLTied() throws {
        let s = Converters.Scratch()
        for family in [SampleFamily.internvl, .internvlInternLM2] {
            let hf = try Converters.tiedSample(family, in: s)
            let head = family == .internvl ? "language_model.lm_head.weight" : "language_model.output.weight"
            XCTAssertFalse(try String(contentsOfFile: hf + "/model.safetensors.index.json", encoding: .utf8).contains(head))
            let pp1 = try roundTrip("InternVLConverter", hf: hf, L(tp: 2, llm: [[4]], vit: [[2]]), scratch: s)
            let pp3 = try roundTrip("InternVLConverter", hf: hf, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), scratch: s)
            let three = try Converters.summary(ofMM: pp3, bytes: true)
            for tp in ["00", "01"] {
                let first = three.models["release/mp_rank_\(tp)_000/model_optim_rng.pt"]?["model"] ?? [:]
                let last = three.models["release/mp_rank_\(tp)_002/model_optim_rng.pt"]?["model"] ?? [:]
                XCTAssertNotNil(last["text_decoder.output_layer.weight"])
                XCTAssertEqual(last["text_decoder.output_layer.weight"], first["text_decoder.embedding.word_embeddings.weight"])
            }
            XCTAssertNil(try Converters.summary(ofMM: pp1, bytes: true).models["release/mp_rank_00/model_optim_rng.pt"]?["model"]?["text_decoder.output_layer.weight"])
            let resplit3 = s.path("resplit-pp3"), resplit1 = s.path("resplit-pp1")
            try Converters.resplit("InternVLConverter", from: pp1, L(tp: 2, llm: [[4]], vit: [[2]]), to: resplit3, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),
                                   extra: ["--cfg.hf_config.hf_dir", hf])
            try Converters.resplit("InternVLConverter", from: pp3, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), to: resplit1, L(tp: 2, llm: [[4]], vit: [[2]]),
                                   extra: ["--cfg.hf_config.hf_dir", hf])
            Converters.assertEqual(try Converters.summary(ofMM: resplit3, bytes: true), three, "\(family) tied resplit pp1 -> pp3")
            Converters.assertEqual(try Converters.summary(ofMM: resplit1, bytes: true), try Converters.summary(ofMM: pp1, bytes: true), "\(family) tied resplit pp3 -> pp1")
        }
    }

    /// InternViT-6B's variant of the ViT: q/k norms (replicated over TP), no qkv bias, RMSNorm.
    func testInternViT6BStyleViT() throws {
        let s = Converters.Scratch()
        let hf = try Converters.internViT6BSample(in: s)
        let mm = try roundTrip("InternVLConverter", hf: hf, L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]), scratch: s)
        let stage0 = try Converters.summary(ofMM: mm, bytes: true).models["release/mp_rank_01_000/model_optim_rng.pt"]?["model"] ?? [:]
        XCTAssertEqual(stage0["image_encoder.encoder.encoder.layers.1.self_attention.q_layernorm.weight"]?.shape, [48])
        XCTAssertEqual(stage0["image_encoder.encoder.encoder.layers.1.self_attention.k_layernorm.weight"]?.shape, [48])
        XCTAssertEqual(stage0["image_encoder.encoder.encoder.layers.1.self_attention.linear_qkv.weight"]?.shape, [48, 48])
        XCTAssertNil(stage0["image_encoder.encoder.encoder.layers.1.self_attention.linear_qkv.bias"])
    }

    /// LLM TP 4 (the tiny presets have 2 KV heads, so these samples have 4): Qwen2.5-VL with the
    /// ViT over 4 ranks too, InternLM2 (wqkv of 4 groups) with the 3-head ViT over 2.
    func testTP4() throws {
        let s = Converters.Scratch()
        let q = try Converters.customSample(.qwen2_5vl, in: s) { $0.llm.kvHeads = 4 }
        try roundTrip("Qwen2_5_VLConverter", hf: q, L(tp: 4, llm: [[4]], vit: [[2]]), scratch: s)
        let tp4 = try roundTrip("Qwen2_5_VLConverter", hf: q, L(tp: 4, llm: [[2, 2]], vit: [[2, 0]]), scratch: s)
        let i = try Converters.customSample(.internvlInternLM2, in: s) { $0.llm.kvHeads = 4 }
        try roundTrip("InternVLConverter", hf: i, L(tp: 4, vitTP: 2, llm: [[1, 3]], vit: [[2, 0]]), scratch: s)
        // tp 4 / pp 2 -> tp 1 / pp 1 equals a direct tp 1 conversion.
        let direct = s.path("direct"), resplit = s.path("resplit")
        try Converters.hfToMM("Qwen2_5_VLConverter", hf: q, to: direct, tp: 1, llm: [[4]], vit: [[2]])
        try Converters.resplit("Qwen2_5_VLConverter", from: tp4, L(tp: 4, llm: [[2, 2]], vit: [[2, 0]]), to: resplit, L(tp: 1, llm: [[4]], vit: [[2]]))
        Converters.assertEqual(try Converters.summary(ofMM: resplit, bytes: true), try Converters.summary(ofMM: direct, bytes: true), "tp4 -> tp1")
    }

    /// The reference's mm_to_hf takes flat layer lists (`[1,2,1]`); so does ours.
    func testFlatLayerListsAsTheReferenceWritesThem() throws {
        let s = Converters.Scratch(), hf = Converters.hf("internvl_qwen2")
        let back = s.path("hf")
        try Converters.run(["InternVLConverter", "mm_to_hf", "--cfg.mm_dir", Converters.golden("internvl_qwen2_tp2_pp3"), "--cfg.hf_config.hf_dir", hf,
                            "--cfg.save_hf_dir", back, "--cfg.parallel_config.tp_size", "2",
                            "--cfg.parallel_config.llm_pp_layers", "[1,2,1]", "--cfg.parallel_config.vit_pp_layers", "[2,0,0]"])
        try Converters.assertSameFiles(back, hf, "flat lists")
    }

    /// InternLM2 backbone (sample): wqkv renamed as is, w1/w3 fused.
    func testInternVLInternLM2() throws {
        let s = Converters.Scratch(), hf = try Converters.sample("internvl_internlm2")
        for layout in [L(tp: 1, llm: [[4]], vit: [[2]]),
                       L(tp: 2, llm: [[1, 2, 1]], vit: [[2, 0, 0]]),
                       L(tp: 2, llm: [[0, 0, 1], [1, 1, 1]], vit: [[2, 0, 0], [0, 0, 0]])] {
            try roundTrip("InternVLConverter", hf: hf, layout, scratch: s)
        }
    }

    /// Llama backbone (sample): no q/k/v biases.
    func testInternVLLlama() throws {
        let s = Converters.Scratch(), hf = try Converters.sample("internvl_llama")
        for layout in [L(tp: 2, llm: [[0, 2, 2]], vit: [[2, 0, 0]]),
                       L(tp: 2, llm: [[2, 2]], vit: [[2]])] {
            try roundTrip("InternVLConverter", hf: hf, layout, scratch: s)
        }
        try roundTrip("InternVLConverter", hf: hf, L(tp: 2, llm: [[1, 1], [1, 1]], vit: [[2, 0], [0, 0]]), inferLayers: true, scratch: s)
    }
}
