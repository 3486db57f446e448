import Foundation
import XCTest
@testable import Ops

/// OpenSoraPlanConverter --version v1.5 (sora.md §7.5.2, MindSpeed-MM's SparseUMMDiT) on a tiny
/// model_ema.pt with the release's names: 3 stages of 2 blocks (the release has [2,4,6,8,6,4,2];
/// the depth is read from the file), the last block context-pre-only (no to_add_out, no ff_enc),
/// so TP works where the reference fails (§9 Q12); mm_to_source gives the state dict back.
final class OpenSoraPlan15ConverterTests: XCTestCase {
    static let converter = "OpenSoraPlanConverter"
    static let d = 8, headDim = 4, stages = [2, 2, 2]

    static func tensors() throws -> TensorMap {
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 16, seed: 23)
        var t = TensorMap()
        func add(_ n: String, _ shape: [Int]) throws { t[n] = try pool.tensor(n, shape) }
        func linear(_ n: String, _ o: Int, _ i: Int, bias: Bool = true) throws {
            try add(n + ".weight", [o, i]); if bias { try add(n + ".bias", [o]) }
        }
        try add("patch_embed.proj.weight", [d, 4, 2, 2]); try add("patch_embed.proj.bias", [d])
        try linear("time_text_embed.timestep_embedder.linear_1", d, 16); try linear("time_text_embed.timestep_embedder.linear_2", d, d)
        try linear("time_text_embed.text_embedder.linear_1", d, 6); try linear("time_text_embed.text_embedder.linear_2", d, d)
        try linear("caption_projection", d, 12)
        for (s, n) in stages.enumerated() {
            for j in 0..<n {
                let last = s == stages.count - 1 && j == n - 1
                let p = "transformer_blocks.\(s).\(j)."
                try linear(p + "norm1.linear", 6 * d, d); try linear(p + "norm2.linear", 6 * d, d)
                for x in ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0"] { try linear(p + "attn1." + x, d, d) }
                if !last { try linear(p + "attn1.to_add_out", d, d) }
                for x in ["norm_q", "norm_k", "norm_added_q", "norm_added_k"] { try add(p + "attn1." + x + ".weight", [headDim]) }
                try linear(p + "ff.net.0.proj", 4 * d, d, bias: false); try linear(p + "ff.net.2", d, 4 * d, bias: false)
                if !last { try linear(p + "ff_enc.net.0.proj", 4 * d, d, bias: false); try linear(p + "ff_enc.net.2", d, 4 * d, bias: false) }
            }
        }
        try linear("skip_norm_linear.0.1", d, 2 * d); try linear("skip_norm_linear_enc.0.1", d, 2 * d)
        try add("norm_final.weight", [d]); try linear("norm_out.linear", 2 * d, d); try linear("proj_out", 16, d)
        return t
    }

    static func dict(_ t: TensorMap) -> PickleValue { .dict(PickleDict(strings: t.map { ($0.name, .tensor(TorchTensor($0.tensor))) })) }

    @discardableResult
    static func run(_ op: String, _ source: String, _ target: String, version: String = "v1.5", _ extra: [String] = []) throws -> [String] {
        try Converters.run([converter, "--version", version, op, "--cfg.source_path", source, "--cfg.target_path", target] + extra)
    }

    func sha(_ t: Tensor) throws -> String { try t.sha256() }

    /// The MindSpeed-MM name of a released one (§7.5.2's substring table).
    static func mmName(_ n: String) -> String {
        var out = n
        for (a, b) in [("attn1.norm_q", "attn1.norm_proj_q"), ("attn1.norm_k", "attn1.norm_proj_k"), ("attn1.to_q", "attn1.proj_q"),
                       ("attn1.to_k", "attn1.proj_k"), ("attn1.to_v", "attn1.proj_v"), ("attn1.add_q_proj", "attn1.added_proj_q"),
                       ("attn1.add_k_proj", "attn1.added_proj_k"), ("attn1.add_v_proj", "attn1.added_proj_v"), ("attn1.to_out.0", "attn1.proj_out"),
                       ("attn1.to_add_out", "attn1.added_proj_out"), ("attn1.norm_added_q", "attn1.norm_added_proj_q"),
                       ("attn1.norm_added_k", "attn1.norm_added_proj_k")] {
            out = out.replacingOccurrences(of: a, with: b)
        }
        return out
    }

    func testSourceToMMTensorParallelAndBack() throws {
        let s = Converters.Scratch()
        let input = try Self.tensors()
        let wrapped = s.path("model_ema") + ".pt", flat = s.path("flat") + ".pt"
        try TorchCheckpoint.save(.dict(PickleDict(strings: [("ema_state_dict", Self.dict(input))])), to: wrapped)
        try TorchCheckpoint.save(Self.dict(input), to: flat)
        let tp1 = s.path("tp1"), tp2 = s.path("tp2"), flat1 = s.path("flat1")
        try Self.run("source_to_mm", wrapped, tp1)
        try Self.run("source_to_mm", flat, flat1)
        Converters.assertEqual(try Converters.summary(ofMM: flat1, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "flat file = ema_state_dict")
        // TP 1: every tensor under its §7.5.2 name, bytes unchanged.
        XCTAssertEqual(try Converters.files(tp1 + "/release"), ["mp_rank_00/model_optim_rng.pt"])
        let mm = try MMCheckpointReader.load(tp1).ranks[0].chunks[0]
        XCTAssertEqual(Set(mm.names), Set(input.names.map(Self.mmName)))
        for (name, t) in input { XCTAssertEqual(try mm[Self.mmName(name)].map(sha), try sha(t), name) }
        XCTAssertNotNil(mm["transformer_blocks.1.0.attn1.norm_added_proj_k.weight"])  // §11.1's example
        XCTAssertNil(mm["transformer_blocks.2.1.attn1.added_proj_out.weight"])
        // TP 2 (the reference: KeyError on the last block, §9 Q12).
        try Self.run("source_to_mm", wrapped, tp2, ["--cfg.target_parallel_config.tp_size", "2"])
        XCTAssertEqual(try Converters.files(tp2 + "/release"), ["mp_rank_00/model_optim_rng.pt", "mp_rank_01/model_optim_rng.pt"])
        let ranks = try MMCheckpointReader.load(tp2).ranks.map { $0.chunks[0] }
        for r in 0..<2 {
            let mine = ranks[r]
            XCTAssertEqual(mine.count, input.count)
            for (src, dim) in [("transformer_blocks.0.1.attn1.to_q.weight", 0), ("transformer_blocks.2.1.attn1.add_v_proj.bias", 0),
                               ("transformer_blocks.1.0.norm2.linear.weight", 0), ("transformer_blocks.2.1.ff.net.0.proj.weight", 0),
                               ("transformer_blocks.0.0.ff_enc.net.0.proj.weight", 0), ("norm_out.linear.bias", 0),
                               ("transformer_blocks.1.1.attn1.to_out.0.weight", 1), ("transformer_blocks.0.1.attn1.to_add_out.weight", 1),
                               ("transformer_blocks.2.0.ff_enc.net.2.weight", 1), ("transformer_blocks.2.1.ff.net.2.weight", 1)] {
                XCTAssertEqual(try mine[Self.mmName(src)].map(sha), try sha(try input[src]!.chunk(2, dim: dim)[r]), "\(src) rank \(r)")
            }
            XCTAssertEqual(mine["transformer_blocks.0.1.attn1.proj_q.weight"]?.shape, [4, 8])
            XCTAssertEqual(mine["transformer_blocks.0.1.attn1.proj_out.weight"]?.shape, [8, 4])
            for rep in ["transformer_blocks.1.1.attn1.to_out.0.bias", "transformer_blocks.0.0.attn1.norm_added_q.weight", "caption_projection.weight",
                        "proj_out.weight", "skip_norm_linear.0.1.weight", "time_text_embed.text_embedder.linear_2.bias"] {
                XCTAssertEqual(try mine[Self.mmName(rep)].map(sha), try sha(input[rep]!), rep)
            }
        }
        // resplit both ways equals the direct conversions.
        let re1 = s.path("re1"), re2 = s.path("re2")
        try Self.run("resplit", tp2, re1)
        Converters.assertEqual(try Converters.summary(ofMM: re1, bytes: true), try Converters.summary(ofMM: tp1, bytes: true), "resplit tp2 -> tp1")
        try Self.run("resplit", tp1, re2, ["--cfg.target_parallel_config.tp_size", "2"])
        Converters.assertEqual(try Converters.summary(ofMM: re2, bytes: true), try Converters.summary(ofMM: tp2, bytes: true), "resplit tp1 -> tp2")
        // mm_to_source: the state dict back (flat), tensor for tensor; from the flat file's own
        // order, the file byte for byte.
        let back = s.path("back") + ".pt"
        try Self.run("mm_to_source", tp2, back)
        let sel = try StateDictSelection.select(try TorchCheckpoint.load(back), key: nil, path: back)
        XCTAssertEqual(Set(sel.tensors.names), Set(input.names))
        for (name, t) in input {
            XCTAssertEqual(sel.tensors[name]?.dtype, t.dtype, name)
            XCTAssertEqual(sel.tensors[name]?.shape, t.shape, name)
            XCTAssertEqual(try sel.tensors[name].map(sha), try sha(t), name)
        }
    }

    func testRefusals() throws {
        let s = Converters.Scratch()
        var input = try Self.tensors()
        let file = s.path("model_ema") + ".pt"
        try TorchCheckpoint.save(Self.dict(input), to: file)
        for (version, op, extra, message) in [
            ("v1.5", "source_to_mm", ["--cfg.target_parallel_config.pp_layers", "[3,3]"], "Open-Sora-Plan v1.5 converts without pipeline parallelism"),
            ("v1.5", "source_to_mm", ["--cfg.target_parallel_config.tp_size", "4"], "the 2 attention heads do not split over tp_size=4"),
            ("v1.3", "source_to_mm", [], "--version v1.3: this operation converts Open-Sora-Plan v1.5's model_ema.pt"),
            ("v1.5", "hf_to_mm", [], "--version v1.5: this operation converts Open-Sora-Plan v1.2 and v1.3 folders"),
        ] {
            let out = s.path("bad")
            let r = Converters.runFailing([Self.converter, "--version", version, op, "--cfg.source_path", file, "--cfg.target_path", out] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        // The default --version is v1.5 (as the reference's); an unknown tensor is refused by name.
        input["pos_embed.proj.weight"] = input["proj_out.bias"]
        let odd = s.path("odd") + ".pt"
        try TorchCheckpoint.save(Self.dict(input), to: odd)
        let r = Converters.runFailing([Self.converter, "source_to_mm", "--cfg.source_path", odd, "--cfg.target_path", s.path("x")])
        XCTAssertEqual(r.status, 1, r.text)
        XCTAssertTrue(r.text.contains("pos_embed.proj.weight"), r.text)
        // A torch file that is neither form names what it holds.
        let other = s.path("other") + ".pt"
        try TorchCheckpoint.save(.dict(PickleDict(strings: [("state", Self.dict(try Self.tensors()))])), to: other)
        let r2 = Converters.runFailing([Self.converter, "source_to_mm", "--cfg.source_path", other, "--cfg.target_path", s.path("y")])
        XCTAssertEqual(r2.status, 1, r2.text)
        XCTAssertTrue(r2.text.contains("none of 'ema_state_dict', the saved object is a dict of tensors") && r2.text.contains("state ("), r2.text)
    }
}
