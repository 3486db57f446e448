import Foundation
import XCTest
@testable import Ops

/// DeepSeekVLConverter: the reference's golden (MLA without q LoRA, dense first layer, routed and
/// shared experts over EP 2, PP 2), exact round trips through mm_to_hf and resplit over TP, PP and
/// EP (the reference has neither, §9 Q8 / Q10), the q-LoRA form at TP 2, and the refusals.
final class DeepSeekVL2ConverterTests: XCTestCase {
    let converter = "DeepSeekVLConverter"
    var hf: String { Converters.hf("deepseekvl2") }

    /// The golden's command; experts are written compact, image_newline / view_seperator are on
    /// every stage (also the one without ViT layers), and mm_to_hf gives the input back.
    func testGoldenAndBack() throws {
        let s = Converters.Scratch()
        let out = s.path("mm")
        try Converters.hfToMM(converter, hf: hf, to: out, tp: 1, llm: [[2, 1]], vit: [[2, 0]], extra: ["--cfg.parallel_config.ep_size", "2"])
        Converters.assertEqual(try Converters.summary(ofMM: out), try Converters.summary(ofManifest: Converters.golden("deepseekvl2_tp1_ep2_pp2") + ".manifest.json"),
                               "deepseekvl2_tp1_ep2_pp2")
        XCTAssertEqual(try Converters.files(out + "/release"), ["mp_rank_00_000_000/model_optim_rng.pt", "mp_rank_00_000_001/model_optim_rng.pt",
                                                               "mp_rank_00_001_000/model_optim_rng.pt", "mp_rank_00_001_001/model_optim_rng.pt"])
        for rank in try Converters.files(out + "/release") {
            let model = try TorchCheckpoint.load(out + "/release/" + rank)["model"]!.dictValue!
            let names = model.items.compactMap { $0.key.stringValue }
            XCTAssertTrue(names.contains("image_newline") && names.contains("view_seperator"), rank)
            for (key, value) in model.items {
                guard let t = value.tensorValue, let storage = t.storage else { continue }
                XCTAssertEqual(storage.byteCount, t.tensor.byteCount, "\(rank) \(key.stringValue ?? ""): storage holds more than the tensor")
            }
        }
        let back = s.path("back")
        try Converters.mmToHF(converter, mm: out, hf: hf, to: back, tp: 1)
        try Converters.assertSameFiles(back, hf, "mm_to_hf of the golden layout")
    }

    /// EP 2 / PP 2 -> EP 1 / TP 1 / PP 1 (equal to a direct hf_to_mm) and -> EP 4 / PP 2 with
    /// another split; both convert back to the input byte for byte, and EP 4 re-splits back to
    /// the EP 2 checkpoint exactly.
    func testResplitOverEPAndPP() throws {
        let s = Converters.Scratch()
        let ep2 = s.path("ep2")
        try Converters.hfToMM(converter, hf: hf, to: ep2, tp: 1, llm: [[2, 1]], vit: [[2, 0]], extra: ["--cfg.parallel_config.ep_size", "2"])
        let ep1 = s.path("ep1")
        try Converters.resplit(converter, from: ep2, .init(tp: 1, llm: [[2, 1]], vit: [[2, 0]]), to: ep1, .init(tp: 1, llm: [[3]], vit: [[2]]))
        XCTAssertEqual(try Converters.files(ep1 + "/release"), ["mp_rank_00/model_optim_rng.pt"])
        let direct = s.path("direct")
        try Converters.hfToMM(converter, hf: hf, to: direct, tp: 1, llm: [[3]], vit: [[2]])
        Converters.assertEqual(try Converters.summary(ofMM: ep1, bytes: true), try Converters.summary(ofMM: direct, bytes: true), "EP 2 -> 1 vs hf_to_mm")
        let ep4 = s.path("ep4")
        try Converters.resplit(converter, from: ep2, .init(tp: 1, llm: [[2, 1]], vit: [[2, 0]]), to: ep4, .init(tp: 1, llm: [[1, 2]], vit: [[2, 0]]),
                               inferSource: true, extra: ["--cfg.target_parallel_config.ep_size", "4"])
        XCTAssertEqual(try Converters.files(ep4 + "/release").count, 2 * 4)
        // Each EP 4 rank holds one expert per MoE layer.
        let rank3 = try TorchCheckpoint.load(ep4 + "/release/mp_rank_00_001_003/model_optim_rng.pt")["model"]!.dictValue!
        let experts = rank3.items.compactMap { $0.key.stringValue }.filter { $0.contains(".local_experts.") }.sorted()
        XCTAssertEqual(experts, ["text_decoder.decoder.layers.0.mlp.experts.local_experts.0.linear_fc1.weight", "text_decoder.decoder.layers.0.mlp.experts.local_experts.0.linear_fc2.weight",
                                 "text_decoder.decoder.layers.1.mlp.experts.local_experts.0.linear_fc1.weight", "text_decoder.decoder.layers.1.mlp.experts.local_experts.0.linear_fc2.weight"])
        let again = s.path("ep2-again")
        try Converters.resplit(converter, from: ep4, .init(tp: 1, llm: [[1, 2]], vit: [[2, 0]]), to: again, .init(tp: 1, llm: [[2, 1]], vit: [[2, 0]]),
                               extra: ["--cfg.target_parallel_config.ep_size", "2"])
        Converters.assertEqual(try Converters.summary(ofMM: again, bytes: true), try Converters.summary(ofMM: ep2, bytes: true), "EP 2 -> 4 -> 2")
        for dir in [ep1, ep4] {
            let back = s.path("back")
            try Converters.mmToHF(converter, mm: dir, hf: hf, to: back, tp: 1)
            try Converters.assertSameFiles(back, hf, "mm_to_hf of \(dir)")
        }
    }

    /// The q-LoRA form (q_a_proj, q_a_layernorm, q_b_proj), here with tied embeddings: linear_qkv =
    /// [q_a_proj; kv_a_proj_with_mqa] replicated, linear_qb / linear_kvb split by heads at TP 2;
    /// back to HF from TP 2 / EP 2 / PP 2 and from a TP 1 / EP 1 re-split, byte for byte.
    func testQLoRAAtTP2AndTied() throws {
        let s = Converters.Scratch()
        let lora = try qLoRASample(in: s, rank: 8)
        let mm = s.path("tp2")
        try Converters.hfToMM(converter, hf: lora, to: mm, tp: 2, llm: [[1, 2]], vit: [[2, 0]], extra: ["--cfg.parallel_config.ep_size", "2"])
        XCTAssertEqual(try Converters.files(mm + "/release").count, 2 * 2 * 2)
        let last = try TorchCheckpoint.load(mm + "/release/mp_rank_01_001_001/model_optim_rng.pt")["model"]!.dictValue!
        func shape(_ name: String) -> [Int]? { last[name]?.tensorValue?.tensor.shape }
        let layer = "text_decoder.decoder.layers.0."
        XCTAssertEqual(shape(layer + "self_attention.linear_qkv.weight"), [8 + 20, 32])
        XCTAssertEqual(shape(layer + "self_attention.q_layernorm.weight"), [8])
        XCTAssertEqual(shape(layer + "self_attention.linear_qb.weight"), [24, 8])
        XCTAssertEqual(shape(layer + "self_attention.linear_kvb.weight"), [32, 16])
        XCTAssertEqual(shape(layer + "self_attention.linear_proj.weight"), [32, 16])
        XCTAssertEqual(shape(layer + "mlp.experts.local_experts.1.linear_fc1.weight"), [16, 32])
        XCTAssertEqual(shape(layer + "mlp.shared_experts.linear_fc2.weight"), [32, 16])
        // Tied with PP 2: the last stage has its own copy of the embedding as output layer.
        XCTAssertEqual(shape("text_decoder.output_layer.weight"), [128, 32])
        let back = s.path("back")
        try Converters.mmToHF(converter, mm: mm, hf: lora, to: back, tp: 2)
        try Converters.assertSameFiles(back, lora, "q LoRA mm_to_hf from TP 2")
        // TP 1 <-> TP 2 / EP 2 / PP 2 by resplit equal the direct conversions (the q-LoRA form is
        // not refused at TP 2: it has linear_qb).
        let direct = s.path("direct")
        try Converters.hfToMM(converter, hf: lora, to: direct, tp: 1, llm: [[3]], vit: [[2]])
        let up = s.path("tp2-resplit")
        try Converters.resplit(converter, from: direct, .init(tp: 1, llm: [[3]], vit: [[2]]), to: up, .init(tp: 2, llm: [[1, 2]], vit: [[2, 0]]),
                               extra: ["--cfg.target_parallel_config.ep_size", "2"])
        Converters.assertEqual(try Converters.summary(ofMM: up, bytes: true), try Converters.summary(ofMM: mm, bytes: true), "TP 1 -> TP 2 / EP 2 / PP 2")
        let down = s.path("tp1-resplit")
        try Converters.resplit(converter, from: mm, .init(tp: 2, llm: [[1, 2]], vit: [[2, 0]]), to: down, .init(tp: 1, llm: [[3]], vit: [[2]]))
        Converters.assertEqual(try Converters.summary(ofMM: down, bytes: true), try Converters.summary(ofMM: direct, bytes: true), "TP 2 / EP 2 / PP 2 -> TP 1")
        let back1 = s.path("back1")
        try Converters.mmToHF(converter, mm: down, hf: lora, to: back1, tp: 1)
        try Converters.assertSameFiles(back1, lora, "q LoRA mm_to_hf from TP 1")
    }

    /// `refuse ... unless=`: nothing is refused when some tensor matches an `unless` pattern.
    func testRefuseUnless() throws {
        let s = Converters.Scratch()
        try FileManager.default.createDirectory(atPath: s.root + "/r", withIntermediateDirectories: true)
        func recipe(_ name: String, _ text: String) throws -> String {
            let path = s.root + "/r/" + name
            try ("load hf \"\(hf)\"\n" + text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let refused = try recipe("refused.recipe", """
            refuse "language.model.layers.{L}.self_attn.q_proj.weight" unless="language.model.layers.{L}.self_attn.q_b_proj.weight" why="no q LoRA"
            """)
        let r = Converters.runFailing(["run", refused])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.text.contains("refuse: tensor 'language.model.layers.0.self_attn.q_proj.weight': no q LoRA"), r.text)
        let passes = try recipe("passes.recipe", """
            refuse "language.model.layers.{L}.self_attn.q_proj.weight" unless=["nothing.like.this", "image_newline"] why="never"
            """)
        try Converters.run(["run", passes])
    }

    /// Wrong input is refused before anything is written, with a message saying what to change.
    func testRefusals() throws {
        let s = Converters.Scratch()
        let out = s.path("out")
        func hfToMM(_ dir: String, llm: String = "[[3]]", vit: String = "[[2]]", _ extra: [String] = []) -> String {
            let r = Converters.runFailing([converter, "hf_to_mm", "--cfg.hf_config.hf_dir", dir, "--cfg.mm_dir", out,
                                           "--cfg.parallel_config.llm_pp_layers", llm, "--cfg.parallel_config.vit_pp_layers", vit] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            return r.text
        }
        var text = hfToMM(hf, ["--cfg.parallel_config.ep_size", "3"])
        XCTAssertTrue(text.contains("error: the 4 experts do not split over ep_size=3: give an ep_size that divides 4"), text)
        text = hfToMM(Converters.hf("qwen2vl"), llm: "[[4]]")
        XCTAssertTrue(text.contains("config.json has no language_config / vision_config: not a DeepSeek-VL2 (DeepseekVLV2ForCausalLM) checkpoint"), text)
        text = hfToMM(hf, llm: "[[2,2]]")
        XCTAssertTrue(text.contains("llm_pp_layers [[2, 2]] add up to 4, but config.json has 3 LLM layers (num_hidden_layers)"), text)
        text = hfToMM(hf, llm: "[[2,1]]", vit: "[[1,0]]")
        XCTAssertTrue(text.contains("vit_pp_layers [[1, 0]] add up to 1, but config.json has 2 ViT layers"), text)
        text = hfToMM(hf, ["--cfg.parallel_config.tp_size", "2"])
        XCTAssertTrue(text.contains("tp_size=2: this DeepSeek-VL2 LLM has no q LoRA (language_config.q_lora_rank is null)"), text)
        // mm_to_hf with another model's Hugging Face directory.
        let mm = s.path("mm")
        try Converters.hfToMM(converter, hf: hf, to: mm, tp: 1, llm: [[3]], vit: [[2]])
        var r = Converters.runFailing([converter, "mm_to_hf", "--cfg.mm_dir", mm, "--cfg.hf_config.hf_dir", Converters.hf("qwen2vl"), "--cfg.save_hf_dir", out])
        XCTAssertTrue(r.text.contains("not a DeepSeek-VL2 (DeepseekVLV2ForCausalLM) checkpoint"), r.text)
        // resplit of the form without q LoRA to TP 2, and of experts over an EP size that does not divide them.
        r = Converters.runFailing([converter, "resplit", "--cfg.source_dir", mm, "--cfg.target_dir", out, "--cfg.target_parallel_config.tp_size", "2",
                                   "--cfg.target_parallel_config.llm_pp_layers", "[3]", "--cfg.target_parallel_config.vit_pp_layers", "[2]"])
        XCTAssertTrue(r.text.contains("has no q LoRA (no linear_qb), so every head's q rows sit in the replicated linear_qkv"), r.text)
        r = Converters.runFailing([converter, "resplit", "--cfg.source_dir", mm, "--cfg.target_dir", out, "--cfg.target_parallel_config.ep_size", "3",
                                   "--cfg.target_parallel_config.llm_pp_layers", "[3]", "--cfg.target_parallel_config.vit_pp_layers", "[2]"])
        XCTAssertTrue(r.text.contains("4 experts do not split over ep_size=3"), r.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// save_vit_only keeps the ViT, the projector and the two view embeddings (the reference keeps
    /// `visual*` keys: none of DeepSeek-VL2's, §9 Q27).
    func testSaveViTOnly() throws {
        let s = Converters.Scratch()
        let out = s.path("vit")
        try Converters.hfToMM(converter, hf: hf, to: out, tp: 1, llm: [[3]], vit: [[2]], extra: ["--cfg.save_vit_only", "true"])
        let model = try TorchCheckpoint.load(out + "/release/mp_rank_00/model_optim_rng.pt")["model"]!.dictValue!
        let names = model.items.compactMap { $0.key.stringValue }
        // 2 blocks x 12 + patch embed 2 + pos embed 1 + norm 2 + attn_pool 13 + projector 4 + 2.
        XCTAssertEqual(names.count, 48)
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("image_encoder.") || $0 == "image_newline" || $0 == "view_seperator" }, "\(names)")
    }

    /// hf/deepseekvl2 with q LoRA of `rank` (q_proj -> q_a_proj, q_a_layernorm, q_b_proj) and tied
    /// embeddings (no language.lm_head.weight), written as a Hugging Face checkpoint.
    func qLoRASample(in scratch: Converters.Scratch, rank: Int) throws -> String {
        let source = try HFCheckpoint.load(hf)
        var tensors = source.tensors
        tensors.remove(names: Set(tensors.names.filter { $0.hasSuffix("self_attn.q_proj.weight") || $0 == "language.lm_head.weight" }))
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 16, seed: 11)
        for l in 0..<3 {
            let p = "language.model.layers.\(l).self_attn."
            tensors[p + "q_a_proj.weight"] = try pool.tensor(p + "q_a_proj.weight", [rank, 32])
            tensors[p + "q_a_layernorm.weight"] = try pool.tensor(p + "q_a_layernorm.weight", [rank])
            tensors[p + "q_b_proj.weight"] = try pool.tensor(p + "q_b_proj.weight", [48, rank])
        }
        var side: [String: [UInt8]] = [:]
        for file in source.sideFiles {
            var text = try String(contentsOfFile: hf + "/" + file, encoding: .utf8)
            if file == "config.json" {
                for (a, b) in [("\"q_lora_rank\": null", "\"q_lora_rank\": \(rank)"), ("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true")] {
                    XCTAssertTrue(text.contains(a))
                    text = text.replacingOccurrences(of: a, with: b)
                }
            }
            side[file] = Array(text.utf8)
        }
        let dir = scratch.path("deepseekvl2-qlora")
        _ = try HFCheckpoint.save(tensors, to: dir, maxShardBytes: 70_000, sideFiles: side)
        return dir
    }
}
