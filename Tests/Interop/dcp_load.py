"""Load a DCP checkpoint directory with torch in the three ways a user would, as JSON on stdout.

Usage: dcp_load.py CHECKPOINT_DIR SCRATCH_DIR [--fsdp2]
  empty      -> torch's empty-dict loader (_EmptyStateDictLoadPlanner, as dcp_to_torch_save and the
                reference's dcp_to_hf use it): the nesting comes from planner_data
  prealloc   -> dcp.load into preallocated zero tensors of the saved dtype and size, nested by
                planner_data (only tensors are asked for)
  torch_save -> format_utils.dcp_to_torch_save, then torch.load(weights_only=False)
  fsdp2      -> (with --fsdp2) what MindSpeed-MM's FSDP2 trainer does: 2 processes (gloo on
                127.0.0.1) load every tensor of rank >= 1 into Shard(0) DTensors of a 2-device
                mesh, rank 0 reports the gathered full tensors
Each is {"tensors": {path: {"dtype", "shape", "sha256"}}, "leaves": {path: [type, repr]}} with paths
joined by "/" as describe.py does; "properties_state" lists the lengths of the TensorProperties
states torch unpickled (5 for the form torch 2.7 reads).
"""
import json, os, runpy, socket, sys, warnings

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
from torch.distributed.checkpoint.metadata import TensorProperties, TensorStorageMetadata
from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

warnings.filterwarnings("ignore")
describe = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "describe.py"))


def view(obj):
    out = {"tensors": {}, "leaves": {}}
    describe["walk"](obj, "", out)
    return out


def nested_zeros(metadata, keep, make):
    """Zero tensors of the saved dtype and size, nested by planner_data, for the FQNs `keep` accepts."""
    root = {}
    for fqn, md in metadata.state_dict_metadata.items():
        if not isinstance(md, TensorStorageMetadata) or not keep(md):
            continue
        node = root
        path = metadata.planner_data[fqn]
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = make(torch.zeros(md.size, dtype=md.properties.dtype))
    return root


def fsdp2_rank(rank, ckpt, port, out):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    mesh = init_device_mesh("cpu", (2,))
    metadata = dcp.FileSystemReader(ckpt).read_metadata()
    state = nested_zeros(metadata, lambda md: len(md.size) > 0, lambda t: distribute_tensor(t, mesh, [Shard(0)]))
    dcp.load(state, checkpoint_id=ckpt)

    def full(obj):
        return {k: full(v) for k, v in obj.items()} if isinstance(obj, dict) else obj.full_tensor()

    gathered = full(state)
    if rank == 0:
        with open(out, "w") as f:
            json.dump(view(gathered), f)
    # Both ranks leave together: a rank that tears gloo down while the other is still busy can
    # abort it ("terminate called without an active exception", seen once in CI).
    dist.barrier()
    dist.destroy_process_group()


def fsdp2(ckpt, scratch):
    import torch.multiprocessing as mp

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out = os.path.join(scratch, "fsdp2.json")
    mp.spawn(fsdp2_rank, args=(ckpt, port, out), nprocs=2)
    with open(out) as f:
        return json.load(f)


def main():
    ckpt, scratch = sys.argv[1], sys.argv[2]
    states = []
    original = TensorProperties.__setstate__

    def record(self, state):
        states.append(len(state))
        return original(self, state)

    TensorProperties.__setstate__ = record
    metadata = dcp.FileSystemReader(ckpt).read_metadata()
    TensorProperties.__setstate__ = original

    empty = {}
    _load_state_dict(empty, storage_reader=dcp.FileSystemReader(ckpt), planner=_EmptyStateDictLoadPlanner(), no_dist=True)

    prealloc = nested_zeros(metadata, lambda md: True, lambda t: t)
    dcp.load(prealloc, checkpoint_id=ckpt, no_dist=True)

    target = os.path.join(scratch, "dcp_to_torch_save.pt")
    dcp_to_torch_save(ckpt, target)
    saved = torch.load(target, weights_only=False)

    result = {"torch": torch.__version__, "properties_state": sorted(set(states)),
              "empty": view(empty), "prealloc": view(prealloc), "torch_save": view(saved)}
    if "--fsdp2" in sys.argv:
        result["fsdp2"] = fsdp2(ckpt, scratch)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
