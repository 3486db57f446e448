#!/usr/bin/env python3
"""Writes a training-style DCP checkpoint of a Hugging Face checkpoint, as MindSpeed-MM's FSDP2
trainer saves one, with torch (for the benchmark; needs a Python with torch: $MM_CONVERT_PYTHON).

Usage: make_train_dcp.py SOURCE OUT_ROOT [--prefix model.] [--ranks 2] [--cast float32]
SOURCE is a Hugging Face directory (its keys, after --prefix, become the model's) or a DCP
checkpoint directory (its `model` entries are taken as they are).

Two processes (gloo on 127.0.0.1) each hold row shards (Shard(0), FSDP2's layout) of every
tensor as DTensors over a 2-device mesh, plus AdamW state in f32 (exp_avg, exp_avg_sq: four times
the bf16 model bytes) and param_groups; `dcp.save` writes `{"model": {prefix + key: ...},
"optimizer": ..., "checkpoint_version": 3.0}` into OUT_ROOT/iter_0000100 with the tracker `100`.
The model's bytes are the HF shards' (memory-mapped, not copied); the moments are zeros. Memory
stays small: the shards are mapped and the moments' pages are never written before saving. With
--cast the model is saved in that dtype (a checkpoint trained in f32); the tests use that and a
DCP source (small checkpoints, loaded whole).
"""
import json, os, socket, struct, sys, warnings

import torch
import torch.distributed.checkpoint as dcp

warnings.filterwarnings("ignore")
DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}


def mapped_tensors(hf_dir):
    """Every tensor of the directory's safetensors shards, as a view of the mapped file."""
    out = {}
    for name in sorted(os.listdir(hf_dir)):
        if not name.endswith(".safetensors"):
            continue
        path = os.path.join(hf_dir, name)
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        storage = torch.UntypedStorage.from_file(path, shared=False, nbytes=os.path.getsize(path))
        for key, info in header.items():
            if key == "__metadata__":
                continue
            dtype = DTYPES[info["dtype"]]
            start = 8 + n + info["data_offsets"][0]
            size = dtype.itemsize if hasattr(dtype, "itemsize") else torch.tensor([], dtype=dtype).element_size()
            t = torch.tensor([], dtype=dtype).set_(storage, start // size, info["shape"])
            out[key] = t
    return out


def source_tensors(source, prefix, cast):
    if os.path.exists(os.path.join(source, ".metadata")):
        from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
        from torch.distributed.checkpoint.state_dict_loader import _load_state_dict
        loaded = {}
        _load_state_dict(loaded, storage_reader=dcp.FileSystemReader(source), planner=_EmptyStateDictLoadPlanner(), no_dist=True)
        tensors = loaded["model"]
    else:
        tensors = {prefix + k: t for k, t in mapped_tensors(source).items()}
    return {k: t.to(getattr(torch, cast)).contiguous() for k, t in tensors.items()} if cast else tensors


def rank_main(rank, source, root, prefix, cast, world, port):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Shard

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    mesh = init_device_mesh("cpu", (world,))
    model, state = {}, {}

    def shard(local, t):
        return DTensor.from_local(local, mesh, [Shard(0)], run_check=False, shape=t.shape, stride=t.stride())

    for fqn, t in source_tensors(source, prefix, cast).items():
        if t.dim() == 0:
            model[fqn], moments = t, {m: torch.zeros(()) for m in ("exp_avg", "exp_avg_sq")}
        else:
            per = -(-t.shape[0] // world)
            lo, hi = min(rank * per, t.shape[0]), min((rank + 1) * per, t.shape[0])
            model[fqn] = shard(t[lo:hi], t)
            # Each rank allocates only its own rows of the moments (whole f32 moments on both
            # ranks of a 2B model need 32 GB).
            local = (hi - lo,) + tuple(t.shape[1:])
            moments = {m: shard(torch.empty(local, dtype=torch.float32), t) for m in ("exp_avg", "exp_avg_sq")}
        state[fqn] = {"step": torch.tensor(100.0), **moments}
    groups = [{"lr": 1e-5, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": list(model)}]
    checkpoint = os.path.join(root, "iter_0000100")
    dcp.save({"model": model, "optimizer": {"state": state, "param_groups": groups}, "checkpoint_version": 3.0},
             storage_writer=dcp.FileSystemWriter(checkpoint, thread_count=2))
    if rank == 0:
        with open(os.path.join(root, "latest_checkpointed_iteration.txt"), "w") as f:
            f.write("100")
    dist.barrier()
    dist.destroy_process_group()


def main():
    import torch.multiprocessing as mp

    source, root = sys.argv[1], sys.argv[2]
    prefix = sys.argv[sys.argv.index("--prefix") + 1] if "--prefix" in sys.argv else "model."
    cast = sys.argv[sys.argv.index("--cast") + 1] if "--cast" in sys.argv else None
    world = int(sys.argv[sys.argv.index("--ranks") + 1]) if "--ranks" in sys.argv else 2
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    os.makedirs(root, exist_ok=True)
    mp.spawn(rank_main, args=(source, root, prefix, cast, world, port), nprocs=world)
    print(os.path.join(root, "iter_0000100"))


if __name__ == "__main__":
    main()
