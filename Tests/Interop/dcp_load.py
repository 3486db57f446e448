"""Load a DCP checkpoint directory with torch in the three ways a user would, as JSON on stdout.

Usage: dcp_load.py CHECKPOINT_DIR SCRATCH_DIR
  empty      -> torch's empty-dict loader (_EmptyStateDictLoadPlanner, as dcp_to_torch_save and the
                reference's dcp_to_hf use it): the nesting comes from planner_data
  prealloc   -> dcp.load into preallocated zero tensors of the saved dtype and size, nested by
                planner_data (only tensors are asked for)
  torch_save -> format_utils.dcp_to_torch_save, then torch.load(weights_only=False)
Each is {"tensors": {path: {"dtype", "shape", "sha256"}}, "leaves": {path: [type, repr]}} with paths
joined by "/" as describe.py does; "properties_state" lists the lengths of the TensorProperties
states torch unpickled (5 for the form torch 2.7 reads).
"""
import json, os, runpy, sys, warnings

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

    prealloc = {}
    for fqn, md in metadata.state_dict_metadata.items():
        if not isinstance(md, TensorStorageMetadata):
            continue
        node = prealloc
        path = metadata.planner_data[fqn]
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = torch.zeros(md.size, dtype=md.properties.dtype)
    dcp.load(prealloc, checkpoint_id=ckpt, no_dist=True)

    target = os.path.join(scratch, "dcp_to_torch_save.pt")
    dcp_to_torch_save(ckpt, target)
    saved = torch.load(target, weights_only=False)

    print(json.dumps({"torch": torch.__version__, "properties_state": sorted(set(states)),
                      "empty": view(empty), "prealloc": view(prealloc), "torch_save": view(saved)}))


if __name__ == "__main__":
    main()
