import Foundation
import XCTest
@testable import Ops

/// layerzero_to_mm (WanConverter, HunyuanVideoConverter, CogVideoConverter): a MindSpeed LayerZeRO
/// checkpoint (iter_NNNNNNN/model_<rank>.pt, each rank's flat ZeRO-3 pieces, shard infos, parallel
/// state), written here from a converted Wan model the way mga_checkpoint.py saves one, reassembled
/// into exactly that model: pieces cut mid-row, TP-split parameters (dims 0 and 1), tensors saved
/// whole, the EMA dict, the iteration, names outside the `predictor.` prefix left out.
final class LayerZeroConverterTests: XCTestCase {
    static let fqnModule = "mindspeed.core.distributed.layerzero.state.fqn"

    static func shardInfo(_ shape: [Int], tp: Int?) -> PickleValue {
        let state: [(String, PickleValue)] = [
            ("in_shard", .bool(true)), ("numel", .int(0)), ("intra_param_start_idx", .int(0)), ("intra_param_end_idx", .int(0)),
            ("shape", .size(shape)), ("tensor_model_parallel", .bool(tp != nil)),
            // MindSpeed stores (-1,) and (1,) for parameters that are not TP-split (a stray comma).
            ("partition_dim", tp.map { .int($0) } ?? .tuple([.int(-1)])), ("partition_stride", tp == nil ? .tuple([.int(1)]) : .int(1)),
        ]
        return .object(PickleObject(module: fqnModule, name: "ShardFlattenInfo", construction: .newobj,
                                    args: [.object(PickleObject(module: fqnModule, name: "ShardFlattenInfo", args: []))], state: .dict(PickleDict(strings: state))))
    }

    /// Writes `model` (and `ema`) as a LayerZeRO checkpoint of `tp` x `dp` ranks at `iteration`:
    /// every tensor ZeRO-managed except `whole` ones; `tpDims` name the TP-split ones (and their dim).
    static func write(_ model: TensorMap, ema: TensorMap? = nil, to root: String, iteration: Int, tp: Int, dp: Int,
                      tpDims: [String: Int], whole: Set<String>) throws {
        let dir = root + "/" + String(format: "iter_%07d", iteration)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func pieces(_ t: Tensor, _ name: String, tpRank: Int, dpRank: Int) throws -> (Tensor, [Int]) {
            var local = t
            if let dim = tpDims[name] { local = try t.chunk(tp, dim: dim)[tpRank] }
            // The rank's parameter as its own compact tensor (a TP chunk along dim 1 is not contiguous).
            let flat = try Tensor.contiguous(ByteStore(bytes: Converters.content(local)), dtype: local.dtype, shape: [local.numel])
            // Cut unevenly (2/5 : 3/5), so pieces end mid-row.
            let cut = local.numel * 2 / 5
            let piece = dp == 1 ? flat : (dpRank == 0 ? try flat.slice(dim: 0, start: 0, count: cut) : try flat.slice(dim: 0, start: cut, count: local.numel - cut))
            return (piece, local.shape)
        }
        for t in 0..<tp {
            for d in 0..<dp {
                let global = t * dp + d  // TP ranks adjacent in Megatron's order are dp-major here; only (tp_rank, global_rank) order matters
                var sd: [(String, PickleValue)] = [], emaSD: [(String, PickleValue)] = [], infos: [(String, PickleValue)] = []
                for (name, x) in model {
                    let key = "predictor." + name
                    if whole.contains(name) {
                        sd.append((key, .tensor(TorchTensor(x))))
                        if let ema { emaSD.append((key, .tensor(TorchTensor(ema[name]!)))) }
                        continue
                    }
                    let (p, shape) = try pieces(x, name, tpRank: t, dpRank: d)
                    sd.append((key, .tensor(TorchTensor(p))))
                    if let ema { emaSD.append((key, .tensor(TorchTensor(try pieces(ema[name]!, name, tpRank: t, dpRank: d).0)))) }
                    infos.append((key, shardInfo(shape, tp: tpDims[name])))
                }
                sd.append(("predictor.blocks.0.self_attn._extra_state", .none))
                sd.append(("ae.decoder.conv_out.weight", .tensor(TorchTensor(model["head.modulation"]!))))
                var root: [(String, PickleValue)] = [
                    ("args", .object(PickleObject(module: "argparse", name: "Namespace", args: [], state: .dict(PickleDict(strings: [("num_layers", .int(4)), ("pipeline_model_parallel_size", .int(1))]))))),
                    ("checkpoint_version", .float(3.0)), ("iteration", .int(iteration)), ("model", .dict(PickleDict(strings: sd))),
                    ("shard_state_dict", .dict(PickleDict(strings: infos))),
                    ("parallel_state", .dict(PickleDict(strings: [("tp_rank", .int(t)), ("pp_rank", .int(0)), ("dp_rank", .int(d)), ("tp_degree", .int(tp)),
                                                                  ("pp_degree", .int(1)), ("dp_degree", .int(dp)), ("global_rank", .int(global))]))),
                ]
                if ema != nil { root.append(("ema_model", .dict(PickleDict(strings: emaSD)))) }
                try TorchCheckpoint.save(.dict(PickleDict(strings: root)), to: dir + "/model_\(global).pt")
            }
        }
    }

    func testWanLayerZeroToMM() throws {
        let s = Converters.Scratch()
        let mm = s.path("mm")
        try WanConverterTests.run("hf_to_mm", WanConverterTests.sora("wan_t2v_vpp2/input"), mm)
        let model = try MMCheckpointReader.load(mm).ranks[0].chunks[0]
        // An "EMA": the same tensors in another order of values (each tensor's bytes reversed by rows).
        var ema = TensorMap()
        for (n, t) in model { ema[n] = t.rank > 0 && t.shape[0] > 1 ? try Tensor.concat(try t.chunk(t.shape[0], dim: 0).reversed(), dim: 0) : t }
        let lz = s.path("lz")
        let tpDims = ["blocks.0.self_attn.proj_q.weight": 0, "blocks.1.self_attn.proj_out.weight": 1, "blocks.2.ffn.0.bias": 0]
        try Self.write(model, ema: ema, to: lz, iteration: 200, tp: 2, dp: 2, tpDims: tpDims, whole: ["head.modulation"])
        try Self.write(model, to: lz, iteration: 100, tp: 1, dp: 1, tpDims: [:], whole: [])
        let out = s.path("out"), out100 = s.path("out100"), outEMA = s.path("ema"), pp = s.path("pp")
        try WanConverterTests.run("layerzero_to_mm", lz, out)
        Converters.assertEqual(try Converters.summary(ofMM: out, bytes: true), try Converters.summary(ofMM: mm, bytes: true), "iteration 200 (tp 2 x dp 2)")
        try WanConverterTests.run("layerzero_to_mm", lz, out100, ["--iteration", "100"])
        Converters.assertEqual(try Converters.summary(ofMM: out100, bytes: true), try Converters.summary(ofMM: mm, bytes: true), "iteration 100 (one rank)")
        try WanConverterTests.run("layerzero_to_mm", lz, outEMA, ["--ema_model", "true"])
        let got = try MMCheckpointReader.load(outEMA).ranks[0].chunks[0]
        XCTAssertEqual(Set(got.names), Set(model.names))
        for (n, t) in ema { XCTAssertEqual(try got[n]?.sha256(), try t.sha256(), n) }
        XCTAssertNotEqual(try got["blocks.1.self_attn.proj_out.weight"]?.sha256(), try model["blocks.1.self_attn.proj_out.weight"]!.sha256())
        try WanConverterTests.run("layerzero_to_mm", lz, pp, WanConverterTests.pp("[2,2]"))
        XCTAssertEqual(try Converters.files(pp + "/release"), ["mp_rank_00_000/model_optim_rng.pt", "mp_rank_00_001/model_optim_rng.pt"])
        // Refused: a missing iteration, a wrong prefix, no EMA, a checkpoint with PP; nothing written.
        let noEMA = s.path("lz1")
        try Self.write(model, to: noEMA, iteration: 5, tp: 1, dp: 2, tpDims: [:], whole: [])
        for (source, extra, message) in [(lz, ["--iteration", "300"], "iter_0000300: does not exist"),
                                         (lz, ["--prefix", "dit"], "no tensor of 'model' is under the prefix 'dit.'"),
                                         (noEMA, ["--ema_model", "true"], "has no 'ema_model' dict (the run saved no EMA weights")] {
            let target = s.path("bad")
            let r = Converters.runFailing(["WanConverter", "layerzero_to_mm", "--cfg.source_path", source, "--cfg.target_path", target] + extra)
            XCTAssertEqual(r.status, 1, r.text)
            XCTAssertTrue(r.text.contains(message), r.text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        }
    }

    /// The pieces of a tensor cut anywhere are its row-major bytes in order (one dimension down
    /// where a slab is cut), as views.
    func testAssembleFromCutPieces() throws {
        let pool = RandomPool(dtype: .bf16, bytes: 1 << 12, seed: 43)
        let t = try pool.tensor("x", [3, 4, 5])
        let flat = try t.reshaped([60])
        for cuts in [[0, 60], [0, 7, 60], [0, 20, 21, 39, 60], [0, 1, 2, 3, 59, 60], [0, 0, 33, 33, 60]] {
            let pieces = try zip(cuts, cuts.dropFirst()).map { try flat.slice(dim: 0, start: $0, count: $1 - $0) }
            let back = try LayerZeroCheckpoint.assemble(pieces, shape: [3, 4, 5])
            XCTAssertEqual(back.shape, [3, 4, 5])
            XCTAssertEqual(try back.sha256(), try t.sha256(), "\(cuts)")
        }
        XCTAssertThrowsError(try LayerZeroCheckpoint.assemble([try flat.slice(dim: 0, start: 0, count: 59)], shape: [3, 4, 5]))
    }
}
