#!/usr/bin/env python3
"""Checks WanConverter layerzero_to_mm on rank files written by torch.save the way MindSpeed's
LayerZeRO saves them (state/mga_checkpoint.py): a ShardFlattenInfo dataclass per parameter (from
a stand-in module of the same import path), torch.Size shapes, an argparse.Namespace, flat
ZeRO-3 pieces over tp 2 x dp 2 ranks (a TP split along dim 0 and one along dim 1).

    ~/.cache/mm-convert-venv/bin/python tools/tests/check_layerzero.py .build/debug/mm-convert
"""
import argparse, dataclasses, os, subprocess, sys, tempfile, types
import torch

# The dataclass MindSpeed pickles, under its module path (MindSpeed itself is not needed).
mod = types.ModuleType("mindspeed.core.distributed.layerzero.state.fqn")
@dataclasses.dataclass
class ShardFlattenInfo:
    in_shard: bool
    numel: int
    intra_param_start_idx: int
    intra_param_end_idx: int
    shape: torch.Size
    tensor_model_parallel: bool
    partition_dim: int
    partition_stride: int
ShardFlattenInfo.__module__ = mod.__name__
mod.ShardFlattenInfo = ShardFlattenInfo
for name in ["mindspeed", "mindspeed.core", "mindspeed.core.distributed", "mindspeed.core.distributed.layerzero",
             "mindspeed.core.distributed.layerzero.state"]:
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules[mod.__name__] = mod

binary = os.path.abspath(sys.argv[1])
root = tempfile.mkdtemp()
torch.manual_seed(0)
model = {  # MindSpeed-MM WanDiT names, tiny
    "patch_embedding.weight": torch.randn(16, 4, 1, 2, 2), "patch_embedding.bias": torch.randn(16),
    "blocks.0.self_attn.proj_q.weight": torch.randn(16, 16), "blocks.0.self_attn.proj_out.weight": torch.randn(16, 16),
    "blocks.0.modulation": torch.randn(1, 6, 16), "blocks.0.ffn.0.weight": torch.randn(32, 16),
    "head.head.weight": torch.randn(16, 16), "head.modulation": torch.randn(1, 2, 16),
}
model = {k: v.to(torch.bfloat16) for k, v in model.items()}
tp_dims = {"blocks.0.self_attn.proj_q.weight": 0, "blocks.0.self_attn.proj_out.weight": 1}
tp, dp = 2, 2
it = os.path.join(root, "lz", "iter_0000010")
os.makedirs(it)
for t in range(tp):
    for d in range(dp):
        sd, infos = {}, {}
        for name, x in model.items():
            local = x.chunk(tp, dim=tp_dims[name])[t].contiguous() if name in tp_dims else x
            flat = local.reshape(-1)
            cut = flat.numel() * 2 // 5
            sd["predictor." + name] = (flat[:cut] if d == 0 else flat[cut:]).clone()
            infos["predictor." + name] = ShardFlattenInfo(True, 0, 0, 0, local.shape, name in tp_dims,
                                                          tp_dims.get(name, -1), 1)
        ckpt = {"args": argparse.Namespace(num_layers=1, pipeline_model_parallel_size=1), "checkpoint_version": 3.0,
                "iteration": 10, "model": sd, "shard_state_dict": infos,
                "parallel_state": {"tp_rank": t, "pp_rank": 0, "dp_rank": d, "tp_degree": tp, "pp_degree": 1, "dp_degree": dp,
                                   "global_rank": t * dp + d}}
        torch.save(ckpt, os.path.join(it, f"model_{t * dp + d}.pt"))
out = os.path.join(root, "mm")
subprocess.run([binary, "WanConverter", "layerzero_to_mm", "--cfg.source_path", os.path.join(root, "lz"), "--cfg.target_path", out], check=True)
got = torch.load(os.path.join(out, "release", "mp_rank_00", "model_optim_rng.pt"), weights_only=True)["model"]
ok = sorted(got) == sorted(model) and all(got[k].dtype == model[k].dtype and torch.equal(got[k], model[k]) for k in model)
print("tensors:", len(got), "RESULT:", "SAME" if ok else "DIFFERENT")
sys.exit(0 if ok else 1)
