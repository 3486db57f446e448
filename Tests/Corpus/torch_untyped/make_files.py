"""Regenerates the torch-written files with untyped storages that TorchUntypedTests reads.

torch 2.x pickles the dtypes that have no legacy storage class (float8, uint16/32/64) as
`torch._utils._rebuild_tensor_v3(<('storage', torch.storage.UntypedStorage, key, location,
numel in bytes)>, offset, size, stride, requires_grad, OrderedDict(), torch.<dtype>)`.
Run from this directory with a python that has torch (>= 2.3): python make_files.py
Writes <name>.pt and expected.json: for every file and tensor path, dtype, shape, stride,
storage offset, storage key and the tensor's bytes (row-major) in hex.
"""
import json, warnings

import torch

warnings.filterwarnings("ignore", message="TypedStorage is deprecated")

x = torch.linspace(-4, 4, 12).reshape(3, 4)
u = (torch.arange(20, dtype=torch.int64) * 3001).to(torch.uint16).reshape(4, 5)
e5 = x.to(torch.float8_e5m2)
u16_small = torch.tensor([1, 2, 65535], dtype=torch.uint16)
files = {
    # Every view shares its storage, so a faithful re-save is byte-identical to this file.
    "untyped.pt": {
        "e4m3": x.to(torch.float8_e4m3fn),
        "e5m2_t": e5.t(),
        "e5m2": e5,
        "u16": u,
        "u16_rows": u[1:3],
        "u16_col": u[:, 2],
        "u32": torch.tensor([0, 1, 2**32 - 1], dtype=torch.uint32),
        "u64": torch.tensor([0, 2**63 + 5, 2**64 - 1], dtype=torch.uint64),
        "bf16": x.to(torch.bfloat16),
        "param": torch.nn.Parameter(x[:2].to(torch.float8_e4m3fn), requires_grad=False),
        "empty_u16": torch.zeros(0, 3, dtype=torch.uint16),
        "scalar_u32": torch.tensor(7, dtype=torch.uint32),
    },
    # Contiguous tensors of known bytes (0, 1, 2, ...) our writer must reproduce byte for byte.
    "contiguous.pt": {
        "e4m3": torch.arange(12, dtype=torch.uint8).view(torch.float8_e4m3fn).reshape(3, 4),
        "bf16": torch.arange(8, dtype=torch.uint8).view(torch.bfloat16).reshape(2, 2),
        "e5m2": torch.arange(5, dtype=torch.uint8).view(torch.float8_e5m2),
        "u16": torch.arange(12, dtype=torch.uint8).view(torch.uint16).reshape(2, 3),
        "u32": torch.arange(8, dtype=torch.uint8).view(torch.uint32),
        "u64": torch.arange(16, dtype=torch.uint8).view(torch.uint64).reshape(2, 1),
        "e4m3_again": torch.arange(12, 14, dtype=torch.uint8).view(torch.float8_e4m3fn),
    },
    # Bare storages next to a tensor on one of them: an UntypedStorage, and a typed one.
    "bare.pt": {"s": u16_small.untyped_storage(), "t": u16_small, "ts": torch.arange(3.0).storage()},
    # A dtype we do not support: reading must fail with a clear error.
    "fnuz.pt": {"w": x.to(torch.float8_e4m3fnuz)},
}

expected = {}
for name, obj in files.items():
    torch.save(obj, name)
    entry = {}
    for k, t in obj.items():
        if not isinstance(t, torch.Tensor):
            continue
        entry[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "stride": list(t.stride()),
                    "storage_offset": t.storage_offset(),
                    "storage_bytes": t.untyped_storage().nbytes(),
                    "hex": t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()}
    expected[name] = entry
with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
