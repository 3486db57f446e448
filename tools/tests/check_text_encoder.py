#!/usr/bin/env python3
"""Checks HunyuanVideoConverter t2v_text_encoder against transformers itself.

Builds a tiny LLaVA (Llama text model + CLIP vision tower) with transformers, saves it (bf16) as
the source folder, runs the reference's steps (LlavaForConditionalGeneration.from_pretrained(...,
torch_dtype=float16).language_model.save_pretrained) and mm-convert, and compares the two
outputs: file names (tokenizer files aside), every tensor (name, dtype, shape, bytes), the
bytes of generation_config.json, and config.json as the LlamaConfig it loads to.

    PYTHONPATH=/tmp/tfpkgs ~/.cache/mm-convert-venv/bin/python tools/tests/check_text_encoder.py .build/debug/mm-convert
(transformers 4.4x, as HunyuanVideo's text-encoder script used; pip install --target /tmp/tfpkgs transformers==4.46.3)
"""
import json, os, subprocess, sys, tempfile
import torch
import transformers
from transformers import LlamaConfig, CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration
from safetensors.torch import load_file

binary = os.path.abspath(sys.argv[1])
root = tempfile.mkdtemp()
src, ref, ours = (os.path.join(root, n) for n in ("llava", "ref", "ours"))
torch.manual_seed(0)
text = LlamaConfig(hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                   vocab_size=40, max_position_embeddings=64, rope_theta=500000.0, bos_token_id=1, eos_token_id=2)
vision = CLIPVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=8, patch_size=4)
model = LlavaForConditionalGeneration(LlavaConfig(vision_config=vision, text_config=text, image_token_index=39)).to(torch.bfloat16)
model.save_pretrained(src, max_shard_size="20KB")
for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
    open(os.path.join(src, f), "w").write("{}")

m = LlavaForConditionalGeneration.from_pretrained(src, torch_dtype=torch.float16, local_files_only=True)  # the reference adds low_cpu_mem_usage=True (needs accelerate; same weights)
m.language_model.save_pretrained(ref)
subprocess.run([binary, "HunyuanVideoConverter", "--version", "t2v", "t2v_text_encoder", "--cfg.source_path", src, "--cfg.target_path", ours], check=True)

def files(d):
    return sorted(f for f in os.listdir(d) if not f.startswith("tokenizer") and f != "special_tokens_map.json")

def tensors(d):
    out = {}
    for f in files(d):
        if f.endswith(".safetensors"):
            out.update(load_file(os.path.join(d, f)))
    return out

ok = True
print("transformers", transformers.__version__)
print("files  ref:", files(ref), "\n       ours:", files(ours))
ok &= files(ref) == files(ours)
a, b = tensors(ref), tensors(ours)
print("tensors:", len(a), "ref,", len(b), "ours; names equal:", sorted(a) == sorted(b))
ok &= sorted(a) == sorted(b)
for k in sorted(a):
    if k in b and not (a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k])):
        print("differs:", k, a[k].dtype, b[k].dtype); ok = False
# config.json: the same LlamaConfig when loaded (transformers' file leaves out the keys holding
# PretrainedConfig's defaults; ours keeps the text_config's keys as the LLaVA file has them).
x, y = LlamaConfig.from_pretrained(ref).to_dict(), LlamaConfig.from_pretrained(ours).to_dict()
same = x == y
print("config.json loads to the same LlamaConfig:", same, "" if same else {k: (x.get(k), y.get(k)) for k in set(x) | set(y) if x.get(k) != y.get(k)})
ok &= same
extra = sorted(set(json.load(open(os.path.join(ours, "config.json")))) - set(json.load(open(os.path.join(ref, "config.json")))))
print("config.json keys transformers leaves out (PretrainedConfig defaults):", len(extra))
x, y = open(os.path.join(ref, "generation_config.json")).read(), open(os.path.join(ours, "generation_config.json")).read()
print("generation_config.json", "identical" if x == y else "differs:\n--- ref\n" + x + "--- ours\n" + y)
ok &= x == y
for f in files(ref):
    if f.endswith(".safetensors") or f.endswith(".index.json"):
        print(f, "bytes identical:", open(os.path.join(ref, f), "rb").read() == open(os.path.join(ours, f), "rb").read())
print("RESULT:", "SAME" if ok else "DIFFERENT")
sys.exit(0 if ok else 1)
