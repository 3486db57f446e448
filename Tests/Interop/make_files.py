"""Write files with the real libraries for our readers to check, plus their descriptions.

Usage: make_files.py OUTDIR
Writes OUTDIR/<name>.pt / .safetensors and OUTDIR/<name>.json (see describe.py for the format).
"""
import argparse, io, json, os, subprocess, sys
from collections import OrderedDict

import numpy as np
import torch
from safetensors.torch import save_file

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(0)

# float8 and uint16/32/64 are pickled by torch as UntypedStorage + _rebuild_tensor_v3.
dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool, torch.float8_e4m3fn, torch.float8_e5m2,
          torch.uint16, torch.uint32, torch.uint64]
all_dtypes = {}
for dt in dtypes:
    x = torch.randn(3, 5, generator=g) * 100
    if dt in (torch.uint16, torch.uint32, torch.uint64):
        x = x.abs()
    all_dtypes[str(dt).replace("torch.", "")] = (x > 0) if dt == torch.bool else x.to(dt)
torch.save(all_dtypes, f"{out}/dtypes.pt")
save_file({k: v.contiguous() for k, v in all_dtypes.items()}, f"{out}/dtypes.safetensors", metadata={"format": "pt"})

base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
views = {"base": base, "row": base[2:4], "col": base[:, 3:5], "t": base.t(), "same": base,
         "step": base[::2, 1::3], "expand": torch.tensor([1.0, 2.0]).expand(3, 2),
         "chunks": list(torch.arange(10, dtype=torch.bfloat16).chunk(2))}
torch.save(views, f"{out}/views.pt")

# A Megatron-style training checkpoint: args Namespace, rng state, optimizer, _extra_state.
model = OrderedDict()
model["decoder.layers.0.self_attention.linear_qkv.weight"] = torch.randn(12, 4, generator=g).to(torch.bfloat16)
model["decoder.layers.0.self_attention.linear_qkv._extra_state"] = None
buf = io.BytesIO(); torch.save(None, buf); buf.seek(0)
model["decoder.layers.0.mlp.linear_fc1._extra_state"] = buf
model["decoder.final_layernorm.weight"] = torch.ones(4, dtype=torch.bfloat16)
args = argparse.Namespace(tensor_model_parallel_size=2, lr=1e-4, name="run", params_dtype=torch.bfloat16, layers=[1, 2], flag=None)
ckpt = {"args": args, "checkpoint_version": 3.0, "iteration": 1000, "model": model,
        "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(2, 2)}},
                      "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.95), "params": [0]}]},
        "rng_state": [{"random_rng_state": (3, (1, 2, 3), None), "np_rng_state": np.random.RandomState(0).get_state(),
                       "torch_rng_state": torch.get_rng_state()[:16]}]}
torch.save(ckpt, f"{out}/megatron.pt")

for name in ["dtypes.pt", "views.pt", "dtypes.safetensors"]:
    flags = ["--weights-only"] if name.endswith(".pt") else []
    desc = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "describe.py"), f"{out}/{name}"] + flags,
                          check=True, capture_output=True, text=True).stdout
    open(f"{out}/{name}.json", "w").write(desc)
desc = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "describe.py"), f"{out}/megatron.pt"],
                      check=True, capture_output=True, text=True).stdout
open(f"{out}/megatron.pt.json", "w").write(desc)
