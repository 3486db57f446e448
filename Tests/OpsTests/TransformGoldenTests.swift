import Foundation
import XCTest
@testable import Ops

/// End to end against the reference's own output (../shared/fixtures/golden): the library's
/// transforms, TP table and PP layout, written the way a recipe would, reproduce every rank's
/// names, dtypes, shapes and SHA-256s; and the inverse gives back the HF tensors exactly.
/// (Test-only safetensors reading; the real reader lives in Formats/.)
final class TransformGoldenTests: XCTestCase {
    /// `<repo root>/../shared/fixtures` (CI); a git worktree one level deeper finds it at `../../shared`.
    static let fixtures: URL = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let beside = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        if FileManager.default.fileExists(atPath: beside.path) { return beside }
        return root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }()

    func loadHF(_ name: String) throws -> TensorMap {
        let dir = Self.fixtures.appendingPathComponent("hf/\(name)")
        var out = TensorMap()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".safetensors") }.sorted()
        for f in files {
            let store = try ByteStore(mapping: dir.appendingPathComponent(f).path)
            let n = Int(store.buffer.loadUnaligned(as: UInt64.self))
            let header = try JSONSerialization.jsonObject(with: Data(store.buffer[8..<8 + n])) as! [String: Any]
            for (key, v) in header where key != "__metadata__" {
                let e = v as! [String: Any]
                let offsets = e["data_offsets"] as! [Int]
                out[key] = try Tensor.view(store: store, byteOffset: 8 + n + offsets[0], dtype: DType(safetensorsName: e["dtype"] as! String)!,
                                           shape: e["shape"] as! [Int])
            }
        }
        return out
    }

    /// name -> "dtype shape sha256" of every tensor in a manifest section.
    func describe(_ section: [String: Any]) -> [String: String] {
        section.mapValues { v in
            let e = v as! [String: Any]
            return "\(e["dtype"]!) \(e["shape"] as! [Int]) \(e["sha256"]!)"
        }
    }

    func describe(_ m: TensorMap) throws -> [String: String] {
        var out: [String: String] = [:]
        for (n, t) in m { out[n] = "\(t.dtype.torchName) \(t.shape) \(try t.sha256())" }
        return out
    }

    func manifest(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(path))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["files"] as! [String: Any]
    }

    func assertSame(_ got: [String: String], _ want: [String: String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(want.isEmpty, "\(what): empty reference", file: file, line: line)
        XCTAssertEqual(Set(got.keys).symmetricDifference(want.keys).sorted(), [], "\(what): names differ", file: file, line: line)
        for (n, w) in want where got[n] != nil && got[n] != w {
            XCTFail("\(what): \(n) is \(got[n]!), reference \(w)", file: file, line: line)
        }
    }

    // MARK: - Qwen2-VL (§7.1), as a recipe would write it

    func qwen2vl() throws -> TransformChain {
        let v = "image_encoder.encoder.blocks.layers.{L}.", t = "text_decoder.decoder.layers.{L}."
        return TransformChain([
            try Rename([
                try .init("visual.patch_embed.proj.weight", "image_encoder.encoder.patch_embed.proj.weight"),
                try .init("visual.blocks.{L}.{norm1,norm2}.*", v + "{input_layernorm,pre_mlp_layernorm}.*"),
                try .init("visual.blocks.{L}.attn.{qkv,proj}.*", v + "self_attention.{linear_qkv,linear_proj}.*"),
                try .init("visual.blocks.{L}.mlp.{fc1,fc2}.*", v + "mlp.{linear_fc1,linear_fc2}.*"),
                try .init("visual.merger.ln_q.*", "image_encoder.projector.layernorm.*"),
                try .init("visual.merger.mlp.{0,2}.*", "image_encoder.projector.encoder.{linear_fc1,linear_fc2}.*"),
                try .init("model.embed_tokens.weight", "text_decoder.embedding.word_embeddings.weight"),
                try .init("model.layers.{L}.{input_layernorm,post_attention_layernorm}.weight", t + "{input_layernorm,pre_mlp_layernorm}.weight"),
                try .init("model.layers.{L}.self_attn.o_proj.weight", t + "self_attention.linear_proj.weight"),
                try .init("model.layers.{L}.mlp.down_proj.weight", t + "mlp.linear_fc2.weight"),
                try .init("model.norm.weight", "text_decoder.decoder.final_layernorm.weight"),
                try .init("lm_head.weight", "text_decoder.output_layer.weight", presence: .optional),
            ]),
            try QKVMerge("model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}", t + "self_attention.linear_qkv.{weight,bias}", groups: 2, heads: 4),
            try GLUMerge("model.layers.{L}.mlp.{gate,up}_proj.weight", t + "mlp.linear_fc1.weight"),
            try Relocate(v + "self_attention.linear_qkv.{weight,bias}", heads: 4),
        ])
    }

    func qwen2vlTP(_ tp: Int) throws -> TensorParallel {
        let v = "image_encoder.encoder.blocks.layers.{L}.", t = "text_decoder.decoder.layers.{L}."
        return try TensorParallel(table: TPTable([
            (v + "self_attention.linear_qkv.*", .row), (v + "self_attention.linear_proj.weight", .col),
            (v + "mlp.linear_fc1.*", .row), (v + "mlp.linear_fc2.weight", .col),
            ("image_encoder.projector.encoder.linear_fc1.*", .row), ("image_encoder.projector.encoder.linear_fc2.weight", .col),
            ("text_decoder.embedding.word_embeddings.weight", .row), ("text_decoder.output_layer.weight", .row),
            (t + "self_attention.linear_qkv.*", .row), (t + "self_attention.linear_proj.weight", .col),
            (t + "mlp.linear_fc1.weight", .glu), (t + "mlp.linear_fc2.weight", .col),
        ]), tp: tp)
    }

    /// hf_to_mm: transforms, TP split, PP stages; returns [tp][stage] maps.
    func convert(_ hf: TensorMap, _ chain: TransformChain, _ tp: TensorParallel, _ pp: PipelineLayout) throws -> [[TensorMap]] {
        try tp.split(try chain.forward(hf)).map { try pp.stage($0) }
    }

    /// mm_to_hf: unstage every TP rank, TP merge, inverse transforms.
    func revert(_ ranks: [[TensorMap]], _ chain: TransformChain, _ tp: TensorParallel, _ pp: PipelineLayout) throws -> TensorMap {
        try chain.inverse(try tp.merge(try ranks.map { try pp.unstage($0) }))
    }

    func hfDescription(_ name: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (_, v) in try manifest("hf/\(name).manifest.json") {
            if let t = (v as! [String: Any])["tensors"] as? [String: Any] { out.merge(describe(t)) { a, _ in a } }
        }
        return out
    }

    func testQwen2VLTP2PP3() throws {
        let hf = try loadHF("qwen2vl")
        let chain = try qwen2vl(), tp = try qwen2vlTP(2)
        let pp = try PipelineLayout([try PipelineModule(.vision, layers: [[2, 0, 0]]), try PipelineModule(.text, layers: [[1, 2, 1]])])
        let ranks = try convert(hf, chain, tp, pp)
        let golden = try manifest("golden/qwen2vl_tp2_pp3.manifest.json")
        for t in 0..<2 {
            for p in 0..<3 {
                let file = golden[String(format: "release/mp_rank_%02d_%03d/model_optim_rng.pt", t, p)] as! [String: Any]
                assertSame(try describe(ranks[t][p]), describe(file["model"] as! [String: Any]), "tp \(t) pp \(p)")
            }
        }
        assertSame(try describe(try revert(ranks, chain, tp, pp)), try hfDescription("qwen2vl"), "mm_to_hf")
    }

    func testQwen2VLTP1PP1AndVPP() throws {
        let hf = try loadHF("qwen2vl")
        let chain = try qwen2vl(), tp = try qwen2vlTP(1)
        let pp1 = try PipelineLayout([try PipelineModule(.vision, layers: [[2]]), try PipelineModule(.text, layers: [[4]])])
        let one = try convert(hf, chain, tp, pp1)
        let g1 = try manifest("golden/qwen2vl_tp1_pp1.manifest.json")["release/mp_rank_00/model_optim_rng.pt"] as! [String: Any]
        assertSame(try describe(one[0][0]), describe(g1["model"] as! [String: Any]), "tp1 pp1")

        let vpp = try PipelineLayout([try PipelineModule(.vision, layers: [[2, 0], [0, 0]]), try PipelineModule(.text, layers: [[1, 1], [1, 1]])])
        let stages = try convert(hf, chain, tp, vpp)[0]
        let g2 = try manifest("golden/qwen2vl_tp1_vpp2.manifest.json")
        for f in 0..<4 {
            let (rank, chunk) = PipelineLayout.rankAndChunk(ofStage: f, pp: 2)
            let file = g2[String(format: "release/mp_rank_00_%03d/model_optim_rng.pt", rank)] as! [String: Any]
            assertSame(try describe(stages[f]), describe(file["model\(chunk)"] as! [String: Any]), "vpp stage \(f)")
        }
        assertSame(try describe(try revert([stages], chain, tp, vpp)), try hfDescription("qwen2vl"), "mm_to_hf (vpp)")
    }

    // MARK: - InternVL2.5 with a Qwen2 LLM (§7.4): unaligned vocab and ViT heads

    func testInternVLTP2PP3() throws {
        let hf = try loadHF("internvl_qwen2")
        let v = "image_encoder.encoder.encoder.layers.{L}.", t = "text_decoder.decoder.layers.{L}."
        let chain = TransformChain([
            try Rename([
                try .init("vision_model.embeddings.*", "image_encoder.encoder.embeddings.*"),
                try .init("vision_model.encoder.layers.{L}.attn.{qkv,proj}.*", v + "self_attention.{linear_qkv,linear_proj}.*"),
                try .init("vision_model.encoder.layers.{L}.mlp.{fc1,fc2}.*", v + "mlp.{linear_fc1,linear_fc2}.*"),
                try .init("vision_model.encoder.layers.{L}.{norm1,norm2}.*", v + "{input_layernorm,pre_mlp_layernorm}.*"),
                try .init("vision_model.encoder.layers.{L}.{ls1,ls2}", v + "{ls1,ls2}"),
                try .init("mlp1.{0,1,3}.*", "image_encoder.projector.{norm,linear_fc1,linear_fc2}.*"),
                try .init("language_model.model.embed_tokens.weight", "text_decoder.embedding.word_embeddings.weight"),
                try .init("language_model.lm_head.weight", "text_decoder.output_layer.weight"),
                try .init("language_model.model.norm.weight", "text_decoder.decoder.final_layernorm.weight"),
                try .init("language_model.model.layers.{L}.{input_layernorm,post_attention_layernorm}.weight", t + "{input_layernorm,pre_mlp_layernorm}.weight"),
                try .init("language_model.model.layers.{L}.self_attn.o_proj.weight", t + "self_attention.linear_proj.weight"),
                try .init("language_model.model.layers.{L}.mlp.down_proj.weight", t + "mlp.linear_fc2.weight"),
            ]),
            try QKVMerge("language_model.model.layers.{L}.self_attn.{q,k,v}_proj.{weight,bias}", t + "self_attention.linear_qkv.{weight,bias}", groups: 2, heads: 4),
            try GLUMerge("language_model.model.layers.{L}.mlp.{gate,up}_proj.weight", t + "mlp.linear_fc1.weight"),
        ])
        let tp = try TensorParallel(table: TPTable([
            (v + "self_attention.linear_qkv.*", .unalignedRow(heads: 3)), (v + "self_attention.linear_proj.weight", .unalignedCol(heads: 3)),
            (v + "mlp.linear_fc1.*", .row), (v + "mlp.linear_fc2.weight", .col),
            ("text_decoder.embedding.word_embeddings.weight", .unalignedVocab), ("text_decoder.output_layer.weight", .unalignedVocab),
            (t + "self_attention.linear_qkv.*", .row), (t + "self_attention.linear_proj.weight", .col),
            (t + "mlp.linear_fc1.weight", .glu), (t + "mlp.linear_fc2.weight", .col),
        ]), tp: 2)
        let pp = try PipelineLayout([try PipelineModule(.visionInternVL, layers: [[2, 0, 0]]), try PipelineModule(.text, layers: [[1, 2, 1]])])
        let ranks = try convert(hf, chain, tp, pp)
        let golden = try manifest("golden/internvl_qwen2_tp2_pp3.manifest.json")
        for r in 0..<2 {
            for p in 0..<3 {
                let file = golden[String(format: "release/mp_rank_%02d_%03d/model_optim_rng.pt", r, p)] as! [String: Any]
                assertSame(try describe(ranks[r][p]), describe(file["model"] as! [String: Any]), "tp \(r) pp \(p)")
            }
        }
        // The correct URow merge gives back the HF checkpoint exactly (the reference does not, §9 Q5).
        assertSame(try describe(try revert(ranks, chain, tp, pp)), try hfDescription("internvl_qwen2"), "mm_to_hf")
    }
}
