"""Describe a checkpoint file as the real libraries read it, as JSON on stdout.

Usage: describe.py FILE [--weights-only] [--mmap]
  .pt          -> torch.load (weights_only / mmap as asked)
  .safetensors -> safetensors.torch.load_file
Output: {"tensors": {path: {"dtype", "shape", "sha256"}}, "leaves": {path: [type, repr]}}
Paths join dict keys / list indices / attributes with "/" (as in shared/fixtures).
"""
import hashlib, json, sys

import torch


def sha(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return hashlib.sha256(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"").hexdigest()


def walk(obj, path, out):
    if isinstance(obj, torch.Tensor):
        out["tensors"][path] = {"dtype": str(obj.dtype).replace("torch.", ""), "shape": list(obj.shape), "sha256": sha(obj)}
    elif isinstance(obj, dict):
        for k, v in obj.items():
            walk(v, f"{path}/{k}" if path else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            walk(v, f"{path}/{i}" if path else str(i), out)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        for k, v in vars(obj).items():
            walk(v, f"{path}/{k}", out)
    else:
        out["leaves"][path] = [type(obj).__name__, repr(obj)]


def main():
    path = sys.argv[1]
    out = {"tensors": {}, "leaves": {}}
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        walk(load_file(path), "", out)
    else:
        obj = torch.load(path, weights_only="--weights-only" in sys.argv, mmap="--mmap" in sys.argv)
        walk(obj, "", out)
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
