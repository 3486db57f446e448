"""Re-save a DCP checkpoint's `model` entries as a 2-process FSDP2 training checkpoint, as
MindSpeed-MM's FSDP2 trainer writes one: every tensor a Shard(0) DTensor over a 2-device mesh
(uneven and empty chunks where the rows do not split evenly), AdamW-like optimizer state
(`optimizer.state.<fqn>.{step,exp_avg,exp_avg_sq}` and `param_groups`), `checkpoint_version`, a
root with the tracker naming `iter_0000010`, and torch's FileSystemWriter with 3 threads.

Usage: dcp_train_like.py SOURCE_DCP_DIR OUT_ROOT [--cast float32]
Prints the written checkpoint directory.
"""
import os, socket, sys, warnings

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

warnings.filterwarnings("ignore")


def rank_main(rank, source, root, cast, port):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    mesh = init_device_mesh("cpu", (2,))
    loaded = {}
    _load_state_dict(loaded, storage_reader=dcp.FileSystemReader(source), planner=_EmptyStateDictLoadPlanner(), no_dist=True)
    model, state = {}, {}
    for name, t in loaded["model"].items():
        if cast:
            t = t.to(getattr(torch, cast))
        model[name] = distribute_tensor(t.contiguous(), mesh, [Shard(0)]) if t.dim() > 0 else t
        g = torch.Generator().manual_seed(len(name))
        moment = torch.randn(t.shape, generator=g, dtype=torch.float32)
        state[name] = {"step": torch.tensor(10.0),
                       "exp_avg": distribute_tensor(moment, mesh, [Shard(0)]) if t.dim() > 0 else moment,
                       "exp_avg_sq": distribute_tensor(moment.abs(), mesh, [Shard(0)]) if t.dim() > 0 else moment.abs()}
    groups = [{"lr": 1e-5, "betas": (0.9, 0.999), "weight_decay": 0.0, "params": list(model)}]
    checkpoint = os.path.join(root, "iter_0000010")
    dcp.save({"model": model, "optimizer": {"state": state, "param_groups": groups}, "checkpoint_version": 3.0},
             storage_writer=dcp.FileSystemWriter(checkpoint, thread_count=3))
    if rank == 0:
        with open(os.path.join(root, "latest_checkpointed_iteration.txt"), "w") as f:
            f.write("10")
    dist.barrier()
    dist.destroy_process_group()


def main():
    import torch.multiprocessing as mp

    source, root = sys.argv[1], sys.argv[2]
    cast = sys.argv[sys.argv.index("--cast") + 1] if "--cast" in sys.argv else None
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    os.makedirs(root, exist_ok=True)
    mp.spawn(rank_main, args=(source, root, cast, port), nprocs=2)
    print(os.path.join(root, "iter_0000010"))


if __name__ == "__main__":
    main()
