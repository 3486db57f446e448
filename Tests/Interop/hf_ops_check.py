"""Independent checks of mm-convert's HF -> HF operations (moe_expert, merge_lora_safetensors_to_base).

Reads and writes safetensors by hand (the format is a JSON header and raw bytes), so it needs numpy
only; with --torch the LoRA reference value is computed by torch instead (fp32 matmul, then
.to(bfloat16/float16)), as MindSpeed-MM's merge_lora_safetensors_to_base.py does.

  hf_ops_check.py make-moe KIND DIR            per-expert checkpoint of KIND (glm, internvl, omni)
  hf_ops_check.py check-moe-merge KIND IN OUT  OUT's fused experts == numpy's stack([g; u].T) / stack(d.T)
  hf_ops_check.py make-lora BASE LORA EXACT    base (bf16, f16, f32 tensors) + adapter; EXACT=1: values
                                               whose f32 products and sums are exact in any order
  hf_ops_check.py check-lora BASE LORA OUT SCALING EXACT [--torch]
Prints one line "ok ..." and exits 0, or prints what differs and exits 1.
"""
import json
import os
import struct
import sys

import numpy as np

DT = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64}
NAME = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.uint16): "BF16"}


def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", None)
    out = {}
    for k, e in h.items():
        s, t = e["data_offsets"]
        out[k] = (e["dtype"], np.frombuffer(b[8 + n + s:8 + n + t], dtype=DT[e["dtype"]]).reshape(e["shape"]))
    return out, meta


def read_dir(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            out.update(read(os.path.join(d, f))[0])
    return out


def write(path, tensors, meta=None):
    """tensors: name -> numpy array (uint16 = bf16). Laid out like the safetensors library."""
    rank = {"F32": 2, "F16": 1, "BF16": 0}
    names = sorted(tensors, key=lambda k: (-rank[NAME[tensors[k].dtype]], k))
    hdr = {"__metadata__": meta or {"format": "pt"}}
    off, blobs = 0, []
    for k in names:
        a = np.ascontiguousarray(tensors[k])
        hdr[k] = {"dtype": NAME[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def bf16_round(x):
    """float32 -> bf16 bits, round to nearest even (torch's rule; NaN kept quiet)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), r)


def bf16_value(u):
    return (u.astype(np.uint32) << 16).view(np.float32)


MOE = {
    "glm": ({"model_type": "glm4v_moe", "text_config": {"num_hidden_layers": 3, "first_k_dense_replace": 1, "n_routed_experts": 4}},
            "model.language_model.layers", 1, True),
    "internvl": ({"model_type": "internvl_chat", "llm_config": {"num_hidden_layers": 2, "num_experts": 4}},
                 "language_model.model.layers", 0, True),
    "omni": ({"model_type": "qwen3_omni_moe", "thinker_config": {"text_config": {"num_hidden_layers": 2, "num_experts": 4}}},
             "thinker.model.layers", 0, False),
}
H, I, E = 8, 6, 4


def make_moe(kind, d):
    cfg, pre, start, _ = MOE[kind]
    layers = cfg.get("text_config", cfg.get("llm_config", cfg.get("thinker_config", {}).get("text_config")))["num_hidden_layers"]
    rng = np.random.default_rng(7)
    t = {}
    bf = lambda shape: bf16_round(rng.standard_normal(shape).astype(np.float32))
    for l in range(layers):
        t[f"{pre}.{l}.input_layernorm.weight"] = bf((H,))
        if l < start:
            for p, s in (("gate", (I, H)), ("up", (I, H)), ("down", (H, I))):
                t[f"{pre}.{l}.mlp.{p}_proj.weight"] = bf(s)
            continue
        t[f"{pre}.{l}.mlp.gate.weight"] = bf((E, H))
        for e in range(E):
            for p, s in (("gate", (I, H)), ("up", (I, H)), ("down", (H, I))):
                t[f"{pre}.{l}.mlp.experts.{e}.{p}_proj.weight"] = bf(s)
    t[pre.rsplit(".", 1)[0] + ".embed_tokens.weight"] = rng.standard_normal((10, H)).astype(np.float32)
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "model.safetensors"), t)
    idx = {"metadata": {"total_size": sum(a.nbytes for a in t.values())}, "weight_map": {k: "model.safetensors" for k in t}}
    open(os.path.join(d, "model.safetensors.index.json"), "w").write(json.dumps(idx, indent=2, sort_keys=True))
    open(os.path.join(d, "config.json"), "w").write(json.dumps(cfg, indent=2) + "\n")
    os.makedirs(os.path.join(d, "tokenizer"), exist_ok=True)
    open(os.path.join(d, "tokenizer", "vocab.txt"), "w").write("a\nb\n")
    print("ok", len(t))


def check_moe_merge(kind, src, out):
    cfg, pre, start, flat = MOE[kind]
    a, b = read_dir(src), read_dir(out)
    expected = {}
    for k, (dt, v) in a.items():
        if ".mlp.experts." not in k:
            expected[k.removeprefix("thinker.") if kind == "omni" else k] = (dt, v)
    layers = sorted({int(k.split(".layers.")[1].split(".")[0]) for k in a if ".mlp.experts." in k})
    for l in layers:
        g = [a[f"{pre}.{l}.mlp.experts.{e}.gate_proj.weight"][1] for e in range(E)]
        u = [a[f"{pre}.{l}.mlp.experts.{e}.up_proj.weight"][1] for e in range(E)]
        d = [a[f"{pre}.{l}.mlp.experts.{e}.down_proj.weight"][1] for e in range(E)]
        gu = np.stack([np.concatenate([g[e], u[e]]).T for e in range(E)])
        dn = np.stack([d[e].T for e in range(E)])
        if flat:
            gu, dn = gu.reshape(-1, gu.shape[-1]), dn.reshape(-1, dn.shape[-1])
        name = f"{pre}.{l}.mlp.experts"
        if kind == "omni":
            name = name.removeprefix("thinker.")
        expected[name + ".gate_up_proj"] = ("BF16", gu)
        expected[name + ".down_proj"] = ("BF16", dn)
    bad = [k for k in sorted(set(expected) | set(b)) if k not in b or k not in expected or b[k][0] != expected[k][0]
           or b[k][1].shape != expected[k][1].shape or b[k][1].tobytes() != np.ascontiguousarray(expected[k][1]).tobytes()]
    if bad:
        print("differ:", bad[:10])
        sys.exit(1)
    print("ok", len(expected))


def make_lora(base, lora, exact):
    rng = np.random.default_rng(11)
    os.makedirs(base, exist_ok=True)
    r = 4

    def small(shape):
        # Multiples of 1/8 in [-2, 2]: every product and partial sum is exact in f32.
        return (rng.integers(-16, 17, size=shape) / 8.0).astype(np.float32)

    vals = small if exact else (lambda s: rng.standard_normal(s).astype(np.float32))
    shard1 = {"m.layers.0.q_proj.weight": bf16_round(rng.standard_normal((16, 24))),
              "m.layers.0.k_proj.weight": rng.standard_normal((8, 24)).astype(np.float16),
              "m.layers.0.norm.weight": bf16_round(np.ones(24))}
    shard2 = {"m.layers.0.v_proj.weight": rng.standard_normal((8, 24)).astype(np.float32),
              "m.layers.0.o_proj.weight": bf16_round(rng.standard_normal((24, 16)))}
    write(os.path.join(base, "model-00001-of-00002.safetensors"), shard1)
    write(os.path.join(base, "model-00002-of-00002.safetensors"), shard2)
    wm = {k: "model-00001-of-00002.safetensors" for k in shard1}
    wm.update({k: "model-00002-of-00002.safetensors" for k in shard2})
    total = sum(a.nbytes for a in list(shard1.values()) + list(shard2.values()))
    open(os.path.join(base, "model.safetensors.index.json"), "w").write(
        json.dumps({"metadata": {"total_size": total}, "weight_map": wm}, indent=2, sort_keys=True) + "\n")
    open(os.path.join(base, "config.json"), "w").write('{"model_type": "llama"}\n')
    open(os.path.join(base, "tokenizer.json"), "w").write('{"v": 1}')
    ad = {}
    for name, (o, i) in {"q_proj": (16, 24), "k_proj": (8, 24), "v_proj": (8, 24), "o_proj": (24, 16)}.items():
        ad[f"m.layers.0.{name}.lora_A.default.weight"] = vals((r, i))
        b = vals((o, r))
        ad[f"m.layers.0.{name}.lora_B.default.weight"] = bf16_round(b) if name == "o_proj" else b
    write(lora, ad)
    print("ok", len(ad))


def check_lora(base, lora, out, scaling, exact, use_torch):
    a, b = read_dir(base), read_dir(out)
    ad = read(lora)[0]
    as_f32 = lambda dt, v: bf16_value(v) if dt == "BF16" else v.astype(np.float32)
    ulp_off = differ = total = 0
    for k, (dt, w) in a.items():
        layer = k.removesuffix(".weight")
        ka, kb = layer + ".lora_A.default.weight", layer + ".lora_B.default.weight"
        if ka not in ad:
            if b[k][1].tobytes() != w.tobytes():
                print("changed without LoRA:", k)
                sys.exit(1)
            continue
        A, B, W = as_f32(*ad[ka]), as_f32(*ad[kb]), as_f32(dt, w)
        if use_torch:
            import torch
            tw, tb, ta = (torch.from_numpy(np.array(x, dtype=np.float32)) for x in (W, B, A))
            # The script's formula; in EXACT mode also the DCP merges' addmm_(B, A, alpha=scaling).
            sums = [tw + scaling * (tb @ ta)] + ([torch.addmm(tw, tb, ta, alpha=scaling)] if exact else [])
            rounded = []
            for m in sums:
                rounded.append({"BF16": lambda: m.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16),
                                "F16": lambda: m.to(torch.float16).numpy(), "F32": lambda: m.numpy()}[dt]())
            if any(r.tobytes() != rounded[0].tobytes() for r in rounded):
                print("torch's two formulas differ on exact values:", k)
                sys.exit(1)
            exp = rounded[0]
        else:
            prod = (B.astype(np.float64) @ A.astype(np.float64)).astype(np.float32)  # exact when EXACT
            m = W + np.float32(scaling) * prod
            exp = {"BF16": lambda: bf16_round(m), "F16": lambda: m.astype(np.float16), "F32": lambda: m}[dt]()
        got = b[k][1]
        total += got.size
        if got.dtype != exp.dtype or got.shape != exp.shape:
            print("dtype/shape differ:", k, got.dtype, got.shape, exp.dtype, exp.shape)
            sys.exit(1)
        if exact:
            if got.tobytes() != np.ascontiguousarray(exp).tobytes():
                print("differ:", k, int((got != exp).sum()), "of", got.size)
                sys.exit(1)
        elif got.dtype == np.float32:
            # f32 keeps the matmul's own rounding: only the summation order differs.
            if not np.allclose(got, exp, rtol=1e-5, atol=1e-5):
                print("f32 result differs beyond rounding:", k)
                sys.exit(1)
        else:
            gi = got.view(np.int16 if got.itemsize == 2 else np.int32).astype(np.int64)
            ei = np.ascontiguousarray(exp).view(np.int16 if got.itemsize == 2 else np.int32).astype(np.int64)
            d = np.abs(gi - ei)
            if d.max() > 1:
                print("more than one ulp off:", k, int(d.max()))
                sys.exit(1)
            differ += int((d != 0).sum())
    print("ok", total, "elements", differ, "one ulp off")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make-moe":
        make_moe(args[0], args[1])
    elif cmd == "check-moe-merge":
        check_moe_merge(args[0], args[1], args[2])
    elif cmd == "make-lora":
        make_lora(args[0], args[1], args[2] == "1")
    elif cmd == "check-lora":
        check_lora(args[0], args[1], args[2], float(args[3]), args[4] == "1", "--torch" in args)
    else:
        sys.exit("unknown command " + cmd)
