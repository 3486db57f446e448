import Foundation

/// A MindSpeed LayerZeRO (ZeRO-3) training checkpoint, as `mindspeed.core.distributed.layerzero`
/// saves it (`state/mga_checkpoint.py`): `<root>/iter_NNNNNNN/model_<global rank>.pt`, one
/// `torch.save` dict per rank with
///
/// * `model` (and `ema_model` with the fused EMA optimizer): the module's state dict, each
///   ZeRO-managed parameter as this rank's flat 1-D piece of it (possibly empty), other entries whole;
/// * `shard_state_dict`: FQN -> `ShardFlattenInfo` (its `shape`, per TP rank, and
///   `tensor_model_parallel` / `partition_dim` / `partition_stride`);
/// * `parallel_state`: `tp_rank`, `pp_rank`, `dp_rank`, `global_rank`, `tp_degree`, `pp_degree`, `dp_degree`;
/// * `iteration`, `args`, optimizer and RNG state (not read).
///
/// Reassembled as MindSpeed's own converter (`state/scripts/layerzero_checkpointer.py`) does, for
/// one pipeline stage: a parameter's pieces in global-rank order, concatenated and viewed in its
/// shape; a tensor-parallel one per TP rank, then joined along its partition dim. Lazily: the
/// pieces are views into the rank files, nothing is copied until a save. Unlike that script, a
/// TP-split parameter is joined along its partition dim (it concatenates the ranks' flat pieces,
/// right only for dim 0), and a replicated one is read from TP rank 0's data-parallel group
/// (it concatenates every TP rank's copy).
public enum LayerZeroCheckpoint {
    /// `root/iter_NNNNNNN` for `iteration`, or the highest one.
    public static func iterationDirectory(_ root: String, iteration: Int?) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw OpsError.io(path: root, message: "is not a directory (give the LayerZeRO save directory holding iter_NNNNNNN folders)")
        }
        if let iteration {
            let dir = root + "/" + String(format: "iter_%07d", iteration)
            guard FileManager.default.fileExists(atPath: dir) else { throw OpsError.io(path: dir, message: "does not exist (no checkpoint of iteration \(iteration))") }
            return dir
        }
        let iters = try FileManager.default.contentsOfDirectory(atPath: root).compactMap { name -> Int? in
            guard name.hasPrefix("iter_") else { return nil }
            return Int(name.dropFirst(5))
        }
        guard let last = iters.max() else { throw OpsError.io(path: root, message: "holds no iter_NNNNNNN folder of a LayerZeRO checkpoint") }
        return root + "/" + String(format: "iter_%07d", last)
    }

    struct Rank {
        var file: String
        var tp, pp, global, tpDegree, ppDegree: Int
        var model: PickleDict
        var shards: PickleDict
    }

    /// The whole model (TP 1, one stage) of the checkpoint in `directory` (an iter_ folder): the
    /// entries of `key` (`model` or `ema_model`), wrapper prefixes cleaned, and, when `prefix` is
    /// not empty, only the names under it, with it taken off (MindSpeed-MM's `predictor.`).
    public static func load(_ directory: String, key: String = "model", prefix: String = "") throws -> TensorMap {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("model_") && $0.hasSuffix(".pt") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard !files.isEmpty else { throw OpsError.io(path: directory, message: "holds no model_<rank>.pt file of a LayerZeRO checkpoint") }
        var ranks: [Rank] = []
        for f in files {
            let path = directory + "/" + f
            let root = try TorchCheckpoint.load(path)
            func int(_ d: PickleValue?, _ k: String) throws -> Int {
                guard let v = d?[k]?.intValue else { throw OpsError.format(path: path, message: "parallel_state has no integer '\(k)': not a LayerZeRO rank file") }
                return v
            }
            let ps = root["parallel_state"]
            guard let model = root[key]?.dictValue else {
                throw OpsError.format(path: path, message: "has no '\(key)' dict" + (key == "ema_model" ? " (the run saved no EMA weights; convert without --ema_model)" : ": not a LayerZeRO rank file"))
            }
            guard let shards = root["shard_state_dict"]?.dictValue else { throw OpsError.format(path: path, message: "has no 'shard_state_dict': not a LayerZeRO rank file") }
            ranks.append(Rank(file: path, tp: try int(ps, "tp_rank"), pp: try int(ps, "pp_rank"), global: try int(ps, "global_rank"),
                              tpDegree: try int(ps, "tp_degree"), ppDegree: try int(ps, "pp_degree"), model: model, shards: shards))
        }
        ranks.sort { $0.global < $1.global }
        let first = ranks[0]
        guard ranks.allSatisfy({ $0.tpDegree == first.tpDegree && $0.ppDegree == first.ppDegree }) else {
            throw OpsError.format(path: directory, message: "the rank files disagree on tp_degree / pp_degree")
        }
        guard first.ppDegree == 1 else {
            throw OpsError.unsupported("\(directory): a LayerZeRO checkpoint with pp_degree \(first.ppDegree) is not read (MindSpeed's converter renumbers only `layers.N` names across stages, which the video DiTs do not have); save it without pipeline parallelism")
        }
        let tpGroups = (0..<first.tpDegree).map { t in ranks.filter { $0.tp == t } }
        guard tpGroups.allSatisfy({ $0.count == tpGroups[0].count && !$0.isEmpty }) else {
            throw OpsError.format(path: directory, message: "has \(ranks.count) rank files, which do not form \(first.tpDegree) tensor-parallel groups of equal size")
        }
        var out = TensorMap()
        for (rawKey, value) in first.model.items {
            let raw = PickleValue.keyText(rawKey)
            let fqn = raw.replacingOccurrences(of: "_zero3_wrapped_module.", with: "").replacingOccurrences(of: "_checkpoint_wrapped_module.", with: "")
            guard case let .tensor(whole) = value else {
                if fqn.contains("_extra_state") { continue }  // Transformer Engine's extra state: no weights
                throw OpsError.format(path: first.file, message: "'\(raw)' in '\(key)' is a \(value.typeName), not a tensor")
            }
            var name = fqn
            if !prefix.isEmpty {
                guard name.hasPrefix(prefix) else { continue }  // not the model (e.g. a frozen VAE or text encoder)
                name = String(name.dropFirst(prefix.count))
            }
            guard let info = first.shards[fqn], case let .object(o) = info, let attrs = o.attributes else {
                out[name] = whole.tensor  // not managed by ZeRO-3: saved whole
                continue
            }
            func piece(_ r: Rank) throws -> Tensor {
                guard case let .tensor(t)? = r.model[raw] else { throw OpsError.tensor(name: raw, message: "is missing from \(r.file)") }
                return t.tensor
            }
            guard case let .size(shape)? = attrs["shape"] else { throw OpsError.format(path: first.file, message: "shard info of '\(fqn)' has no shape") }
            let parallel: Bool
            if case let .bool(b)? = attrs["tensor_model_parallel"] { parallel = b } else { parallel = false }
            do {
                if parallel && first.tpDegree > 1 {
                    guard let dim = attrs["partition_dim"]?.intValue, dim >= 0, dim < shape.count else {
                        throw OpsError.format(path: first.file, message: "shard info of '\(fqn)' has no valid partition_dim")
                    }
                    if let stride = attrs["partition_stride"]?.intValue, stride != 1 {
                        throw OpsError.unsupported("partition_stride \(stride) (only 1 is read)")
                    }
                    out[name] = try Tensor.concat(tpGroups.map { try assemble($0.map(piece), shape: shape) }, dim: dim)
                } else {
                    out[name] = try assemble(tpGroups[0].map(piece), shape: shape)
                }
            } catch let e as OpsError {
                throw OpsError.tensor(name: fqn, message: "cannot be reassembled from \(directory): \(e)")
            }
        }
        guard !out.isEmpty else {
            throw OpsError.format(path: directory, message: "no tensor of '\(key)' is under the prefix '\(prefix)'" +
                                  (first.model.items.first.map { " (the first is '\(PickleValue.keyText($0.key))'; give --prefix)" } ?? ""))
        }
        return out
    }

    /// A tensor of `shape` from flat pieces that follow each other in row-major order (each a
    /// 1-D view, cut anywhere), as lazy views: whole slabs of dim 0 are views of one piece,
    /// a slab cut across pieces is assembled one dimension down.
    static func assemble(_ pieces: [Tensor], shape: [Int]) throws -> Tensor {
        let numel = shape.reduce(1, *)
        let flat = try pieces.filter { $0.numel > 0 }.map { p -> Tensor in
            guard p.rank == 1 else { throw OpsError.invalid("a ZeRO-3 piece is \(p), not 1-D") }
            return p
        }
        guard flat.reduce(0, { $0 + $1.numel }) == numel else {
            throw OpsError.invalid("its pieces hold \(flat.reduce(0) { $0 + $1.numel }) elements, but its shape \(shape) has \(numel)")
        }
        if shape.count <= 1 {
            guard !flat.isEmpty else { return try Tensor.zeros(pieces[0].dtype, [0]).reshaped(shape) }
            return try Tensor.concat(flat, dim: 0).reshaped(shape)
        }
        let inner = Array(shape.dropFirst()), slab = inner.reduce(1, *)
        if slab == 0 { return .zeros(pieces[0].dtype, shape) }
        var parts: [Tensor] = []
        var pending: [Tensor] = [], filled = 0
        for p in flat {
            var i = 0
            while i < p.numel {
                if filled > 0 || (p.numel - i) < slab {
                    let take = min(slab - filled, p.numel - i)
                    pending.append(try p.slice(dim: 0, start: i, count: take))
                    filled += take
                    i += take
                    if filled == slab {
                        parts.append(try assemble(pending, shape: inner).reshaped([1] + inner))
                        pending = []
                        filled = 0
                    }
                } else {
                    let whole = (p.numel - i) / slab
                    parts.append(try p.slice(dim: 0, start: i, count: whole * slab).reshaped([whole] + inner))
                    i += whole * slab
                }
            }
        }
        return try Tensor.concat(parts, dim: 0)
    }
}
